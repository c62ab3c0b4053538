//! The record Lambda: marks a run COMPLETED or FAILED in the state store.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::{RecordInput, RecordOutput};
use edba_tasks::metrics::EmfWriter;
use edba_tasks::record::record_run;
use edba_tasks::store::StateStore;
use edba_tasks::telemetry::{observe, record_span};
use edba_tasks::TaskError;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Logs reach CloudWatch as JSON where the function's log format is JSON
    // (AWS_LAMBDA_LOG_FORMAT); metrics as EMF lines on stdout.
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = EmfWriter::stdout_from_env();
    // The credentials come from the Secrets Manager secret, read here and
    // again only when the database refuses them (a rotated password).
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Once per container: warm invocations reuse the pool's connections.
    let store = StateStore::open(edba_tasks::secrets::state_store_login_from_env(&aws)?).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<RecordInput>| {
        let (store, metrics) = (store.clone(), &metrics);
        async move {
            let input = &event.payload;
            let recorded = observe(record_span(input), metrics, record_run(&store, input)).await?;
            Ok::<RecordOutput, TaskError>(recorded.output)
        }
    }))
    .await
}
