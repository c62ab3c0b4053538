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
    let url = std::env::var("EDBA_STATE_STORE_URL").map_err(|_| "EDBA_STATE_STORE_URL is not set")?;
    // Once per container: warm invocations reuse the pool's connections.
    let store = StateStore::connect(&url).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<RecordInput>| {
        let store = store.clone();
        async move { record(&store, &event.payload).await }
    }))
    .await
}
