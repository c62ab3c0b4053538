//! The track Lambda: records a validated file in the state store.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::TrackInput;
use edba_tasks::store::StateStore;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url =
        std::env::var("EDBA_STATE_STORE_URL").map_err(|_| "EDBA_STATE_STORE_URL is not set")?;
    // Once per container: warm invocations reuse the pool's connections.
    let store = StateStore::connect(&url).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<TrackInput>| {
        let store = store.clone();
        async move { store.track(&event.payload).await }
    }))
    .await
}
