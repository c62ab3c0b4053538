//! The validate Lambda: `ValidateInput` in, `ValidateOutput` out. All logic is
//! in [`edba_tasks::validate`]; this only wires the S3 client and the runtime.

use edba_payloads::ValidateInput;
use edba_tasks::metrics::EmfWriter;
use edba_tasks::telemetry::{observe, validate_span};
use edba_tasks::validate::{validate_object, ValidateOptions};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logs reach CloudWatch as JSON where the function's log format is JSON
    // (AWS_LAMBDA_LOG_FORMAT); metrics as EMF lines on stdout.
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = EmfWriter::stdout_from_env();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let opts = ValidateOptions::default();
    lambda_runtime::run(service_fn(|event: LambdaEvent<ValidateInput>| {
        let (s3, metrics) = (&s3, &metrics);
        async move {
            // TaskError converts to a Lambda Diagnostic whose error type is
            // the stable name (`Edba.Transient`, ...) Retry and Catch match.
            let input = &event.payload;
            observe(validate_span(input), metrics, validate_object(s3, input, &opts)).await
        }
    }))
    .await
}
