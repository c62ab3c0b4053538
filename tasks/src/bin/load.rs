// The handler future nests the plan read inside the load: its layout needs
// a deeper query limit than the default in release builds.
#![recursion_limit = "256"]

//! The load Lambda: merges a run's output into Amazon Redshift, into the
//! tables the deployed project plans (`code/edba.tables.json`, the sample's
//! when the bucket has none). Errors reach Step Functions under their stable names (`Edba.Transient`, …).

use edba_payloads::LoadInput;
use edba_tasks::load::{load, load_tables, RedshiftConfig, RedshiftWarehouse, Warehouse};
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
    let bucket = config.bucket.clone();
    let warehouse = RedshiftWarehouse::new(aws_sdk_redshiftdata::Client::new(&aws), config)?;
    let s3 = aws_sdk_s3::Client::new(&aws);
    lambda_runtime::run(service_fn(|event: LambdaEvent<LoadInput>| {
        let (warehouse, metrics, s3, bucket) = (&warehouse, &metrics, &s3, &bucket);
        async move {
            let input = &event.payload;
            let task = async {
                let planned = load_tables(s3, bucket).await?;
                load(Warehouse::Redshift(warehouse), input, &planned).await
            };
            observe(load_span(input), metrics, task).await
        }
    }))
    .await
}
