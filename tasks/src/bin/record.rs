//! The record Lambda: marks a run COMPLETED or FAILED in the state store.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::RecordInput;
use edba_tasks::record::record;
use edba_tasks::store::StateStore;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Record logs when a run's first final outcome stands against a later one.
    lambda_runtime::tracing::init_default_subscriber();
    // The credentials come from the Secrets Manager secret, read here and
    // again only when the database refuses them (a rotated password).
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Once per container: warm invocations reuse the pool's connections.
    let store = StateStore::open(edba_tasks::secrets::state_store_login_from_env(&aws)?).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<RecordInput>| {
        let store = store.clone();
        async move { record(&store, &event.payload).await }
    }))
    .await
}
