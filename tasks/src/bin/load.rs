//! The load Lambda: merges a run's output into Amazon Redshift.
//! Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::LoadInput;
use edba_tasks::load::{load, RedshiftConfig, RedshiftWarehouse, Warehouse};
use edba_tasks::metrics::EmfWriter;
use edba_tasks::telemetry::{load_span, observe};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Logs reach CloudWatch as JSON where the function's log format is JSON
    // (AWS_LAMBDA_LOG_FORMAT); metrics as EMF lines on stdout.
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = EmfWriter::stdout_from_env();
    // EDBA_REDSHIFT_WORKGROUP or EDBA_REDSHIFT_CLUSTER_ID, EDBA_REDSHIFT_DATABASE,
    // EDBA_REDSHIFT_SECRET_ARN, EDBA_REDSHIFT_COPY_ROLE_ARN, EDBA_BUCKET.
    let config = RedshiftConfig::from_vars(|name| std::env::var(name).ok())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let warehouse = RedshiftWarehouse::new(aws_sdk_redshiftdata::Client::new(&aws), config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<LoadInput>| {
        let (warehouse, metrics) = (&warehouse, &metrics);
        async move {
            let input = &event.payload;
            observe(load_span(input), metrics, load(Warehouse::Redshift(warehouse), input)).await
        }
    }))
    .await
}
