//! The evaluate Lambda: reconciles ended runs, then claims every ready job.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use std::sync::Arc;

use edba_payloads::EvaluateInput;
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, SystemClock};
use edba_tasks::store::StateStore;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = |name: &'static str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (url, bucket) = (env("EDBA_STATE_STORE_URL")?, env("EDBA_BUCKET")?);
    // Once per container: warm invocations reuse the pool and the clients.
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let deps = EvaluateDeps {
        store: StateStore::connect(&url).await?,
        sfn: aws_sdk_sfn::Client::new(&aws),
        emr: aws_sdk_emr::Client::new(&aws),
        s3: aws_sdk_s3::Client::new(&aws),
        bucket,
        clock: Arc::new(SystemClock),
        settings: EvaluateSettings::default(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<EvaluateInput>| {
        let deps = deps.clone();
        async move { evaluate(&deps, &event.payload).await }
    }))
    .await
}
