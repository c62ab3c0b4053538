//! The evaluate Lambda: reconciles ended runs, then claims every ready job.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use std::sync::Arc;

use edba_payloads::EvaluateInput;
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, SystemClock};
use edba_tasks::metrics::EmfWriter;
use edba_tasks::secrets;
use edba_tasks::store::StateStore;
use edba_tasks::telemetry::{evaluate_span, observe};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Logs reach CloudWatch as JSON where the function's log format is JSON
    // (AWS_LAMBDA_LOG_FORMAT); metrics as EMF lines on stdout.
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = EmfWriter::stdout_from_env();
    let bucket = std::env::var("EDBA_BUCKET").map_err(|_| "EDBA_BUCKET is not set")?;
    // Once per container: warm invocations reuse the pool and the clients.
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Secrets are read here and again only when the database refuses them.
    let mut store = StateStore::open(secrets::state_store_login_from_env(&aws)?).await?;
    // Extra criteria run as the SELECT-only user when the template gives one.
    if let Some(criteria) = secrets::criteria_login_from_env(&aws)? {
        store = store.with_criteria_login(criteria).await?;
    }
    let deps = EvaluateDeps {
        store,
        sfn: aws_sdk_sfn::Client::new(&aws),
        emr: aws_sdk_emr::Client::new(&aws),
        s3: aws_sdk_s3::Client::new(&aws),
        bucket,
        clock: Arc::new(SystemClock),
        settings: EvaluateSettings::default(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<EvaluateInput>| {
        let (deps, metrics) = (deps.clone(), &metrics);
        async move { observe(evaluate_span(&event.payload), metrics, evaluate(&deps, &event.payload)).await }
    }))
    .await
}
