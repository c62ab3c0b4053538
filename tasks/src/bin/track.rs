//! The track Lambda: records a validated file in the state store.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::TrackInput;
use edba_tasks::store::StateStore;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The task's warnings (tracing) reach CloudWatch, as JSON where the
    // function's log format is JSON (AWS_LAMBDA_LOG_FORMAT).
    lambda_runtime::tracing::init_default_subscriber();
    // The credentials come from the Secrets Manager secret, read here and
    // again only when the database refuses them (a rotated password).
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Once per container: warm invocations reuse the pool's connections.
    let store = StateStore::open(edba_tasks::secrets::state_store_login_from_env(&aws)?).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<TrackInput>| {
        let store = store.clone();
        async move { store.track(&event.payload).await }
    }))
    .await
}
