//! The load Lambda: merges a run's output into Amazon Redshift.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::LoadInput;
use edba_tasks::load::{load, RedshiftConfig, RedshiftWarehouse, Warehouse};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The task's warnings (tracing) reach CloudWatch, as JSON where the
    // function's log format is JSON (AWS_LAMBDA_LOG_FORMAT).
    lambda_runtime::tracing::init_default_subscriber();
    // EDBA_REDSHIFT_WORKGROUP or EDBA_REDSHIFT_CLUSTER_ID, EDBA_REDSHIFT_DATABASE,
    // EDBA_REDSHIFT_SECRET_ARN, EDBA_REDSHIFT_COPY_ROLE_ARN, EDBA_BUCKET.
    let config = RedshiftConfig::from_vars(|name| std::env::var(name).ok())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let warehouse = RedshiftWarehouse::new(aws_sdk_redshiftdata::Client::new(&aws), config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<LoadInput>| {
        let warehouse = &warehouse;
        async move { load(Warehouse::Redshift(warehouse), &event.payload).await }
    }))
    .await
}
