//! The track Lambda: records a validated file in the state store.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::TrackInput;
use edba_tasks::metrics::EmfWriter;
use edba_tasks::store::StateStore;
use edba_tasks::telemetry::{observe, track_span};
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
    lambda_runtime::run(service_fn(|event: LambdaEvent<TrackInput>| {
        let (store, metrics) = (store.clone(), &metrics);
        async move { observe(track_span(&event.payload), metrics, store.track(&event.payload)).await }
    }))
    .await
}
