//! The local step runner: what `arn:aws:states:::elasticmapreduce:addStep.sync`
//! does on one machine.
//!
//! [`StepRunner::run_step`] takes the Task's Parameters exactly as the
//! aggregate machine builds them (`{"ClusterId", "Step": {"Name",
//! "ActionOnFailure", "HadoopJarStep": {"Jar", "Args"}}}`) and:
//!
//! - runs a **SQL job** step — one whose `spark-submit` program is
//!   `run_sql_job.py` — itself, on DataFusion ([`sqljob`]), with the semantics of
//!   `scripts/emr/run_sql_job.py`: the manifest's validated CSVs only, read with
//!   the runner's explicit typed schema, each `-- table: <name>` section run in
//!   order and written as Parquet under `<output>/<name>/`;
//! - hands **any other step** to `spark-submit` when one is on `PATH`, with the
//!   `s3://` locations pointed at the embedded S3 server (the endpoint given
//!   by [`StepRunner::with_s3_endpoint`]); without Spark the step fails and
//!   says so.
//!
//! Success returns the DescribeStep shape `.sync` returns
//! (`{"StepId", "Step": {"Id", "Name", "Status": {"State": "COMPLETED"}}}`);
//! failure is `States.TaskFailed` with a Cause JSON shaped like EMR's step
//! (`Status.FailureDetails.{Reason, Message}`), so the record task finds the
//! step id in either. A `StepRunner` is also an executor
//! [`TaskHandler`], to bind to the `addStep.sync` resource.
//!
//! Code locations: the local runtime uploads the repository's `sql/jobs/*.sql`
//! and `scripts/emr/run_sql_job.py` under `code/` in the local bucket, and the
//! `--sql` object is read from there. When that object is missing and the URL
//! is `s3://<bucket>/code/<path>`, the runner falls back to `<repo_root>/<path>`
//! so a step works before (or without) the upload.
//!
//! [`load_run_output`] is the local side of the load task: it reads the
//! Parquet a run wrote back into typed rows and merges them into a
//! [`LocalWarehouse`](edba_tasks::load::LocalWarehouse).

mod output;
mod parquet_out;
mod request;
pub mod schema;
mod spark;
pub mod sqljob;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::executor::{TaskContext, TaskFailure, TaskHandler};

pub use output::{load_run_output, load_run_output_with, read_output_table, S3RunOutput};
pub use request::{S3Location, SqlJobStep, StepRequest};
pub use sqljob::{parse_sections, Manifest, ManifestInput, SqlJobReport, TableQuery};

/// The Step Functions error of a failed `.sync` step.
pub const TASK_FAILED: &str = "States.TaskFailed";

/// The message of a non-SQL step when Spark is not installed.
pub const NO_SPARK_SUBMIT: &str = "spark-submit is not on PATH; the local runtime runs SQL jobs \
     (run_sql_job.py) itself and needs Spark for any other step";

/// A step that did not complete: the `Error` and `Cause` Step Functions gives a Catch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    pub error: String,
    /// A JSON document shaped like EMR's DescribeStep `Step`, with
    /// `Status.FailureDetails.Message` saying what went wrong.
    pub cause: String,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StepFailure {}

impl StepFailure {
    /// The failure's message (`Status.FailureDetails.Message` of the cause).
    pub fn message(&self) -> Option<String> {
        let cause: Value = serde_json::from_str(&self.cause).ok()?;
        cause.pointer("/Status/FailureDetails/Message")?.as_str().map(str::to_owned)
    }
}

impl From<StepFailure> for TaskFailure {
    fn from(failure: StepFailure) -> TaskFailure {
        TaskFailure::new(failure.error, failure.cause)
    }
}

/// Why a step failed, before it is dressed as EMR's FailureDetails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// EMR's short reason (`FailureDetails.Reason`).
    pub reason: &'static str,
    pub message: String,
}

impl StepError {
    pub fn failed(message: impl Into<String>) -> StepError {
        StepError { reason: "The step failed.", message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> StepError {
        StepError { reason: "The step is invalid.", message: message.into() }
    }
}

/// Runs `addStep.sync` steps locally; see the module docs.
#[derive(Debug, Clone)]
pub struct StepRunner {
    s3: aws_sdk_s3::Client,
    bucket: String,
    repo_root: PathBuf,
    /// Where `spark-submit` is looked for; `None` means the process's `PATH`.
    search_path: Option<OsString>,
    /// The embedded server's endpoint, for `spark-submit`'s S3A settings.
    s3_endpoint: Option<String>,
}

impl StepRunner {
    /// `s3` is a client of the embedded S3 server, `bucket` the local bucket
    /// (the one holding `code/`), `repo_root` the checkout used as the
    /// fallback for `s3://<bucket>/code/<path>`.
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>, repo_root: impl Into<PathBuf>) -> StepRunner {
        StepRunner { s3, bucket: bucket.into(), repo_root: repo_root.into(), search_path: None, s3_endpoint: None }
    }

    /// Looks for `spark-submit` in these directories (a `PATH`-style list)
    /// instead of the process's `PATH`.
    pub fn with_search_path(mut self, path: impl Into<OsString>) -> StepRunner {
        self.search_path = Some(path.into());
        self
    }

    /// The S3 endpoint `spark-submit` steps are pointed at
    /// ([`EmbeddedS3::endpoint_url`](crate::EmbeddedS3::endpoint_url)); the
    /// SDK client does not expose the endpoint it was built with.
    pub fn with_s3_endpoint(mut self, endpoint_url: impl Into<String>) -> StepRunner {
        self.s3_endpoint = Some(endpoint_url.into());
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn repo_root(&self) -> &Path {
        &self.repo_root
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// Runs one step to its end; see the module docs for what each kind does.
    pub async fn run_step(&self, params: &Value) -> Result<Value, StepFailure> {
        let step_id = new_step_id();
        let request = match StepRequest::from_params(params) {
            Ok(request) => request,
            Err(err) => return Err(failure(&step_id, params_step(params), err)),
        };
        let outcome = match request.sql_job() {
            Some(job) => match job {
                Ok(job) => sqljob::run(self, &job).await.map(drop),
                Err(err) => Err(err),
            },
            None => spark::run(self, &request).await,
        };
        match outcome {
            Ok(()) => Ok(json!({
                "StepId": step_id,
                "Step": {
                    "Id": step_id,
                    "Name": request.name,
                    "ActionOnFailure": request.action_on_failure,
                    "Config": {"Jar": request.jar, "Args": request.args},
                    "Status": {"State": "COMPLETED"},
                },
            })),
            Err(err) => Err(failure(&step_id, request.describe(), err)),
        }
    }
}

#[async_trait]
impl TaskHandler for StepRunner {
    async fn invoke(&self, _resource: &str, input: Value, _ctx: &TaskContext) -> Result<Value, TaskFailure> {
        self.run_step(&input).await.map_err(TaskFailure::from)
    }
}

/// The step part of EMR's DescribeStep, from parameters too broken to parse.
fn params_step(params: &Value) -> Value {
    let step = params.get("Step");
    json!({
        "Name": step.and_then(|s| s.get("Name")).cloned().unwrap_or(Value::Null),
        "Config": step.and_then(|s| s.get("HadoopJarStep")).cloned().unwrap_or(Value::Null),
    })
}

fn failure(step_id: &str, mut step: Value, err: StepError) -> StepFailure {
    if let Value::Object(fields) = &mut step {
        fields.insert("Id".into(), json!(step_id));
        fields.insert(
            "Status".into(),
            json!({
                "State": "FAILED",
                "FailureDetails": {"Reason": err.reason, "Message": err.message},
            }),
        );
    }
    StepFailure { error: TASK_FAILED.into(), cause: step.to_string() }
}

/// `s-LOCAL` and 13 upper-case base-32 digits: unique within the process and
/// shaped like an EMR step id (the record task recognises `s-[A-Z0-9]{8,}`).
fn new_step_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut n = nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    let mut id = String::from("s-LOCAL");
    for _ in 0..13 {
        id.push(DIGITS[(n % 32) as usize] as char);
        n /= 32;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_look_like_emr_step_ids_and_differ() {
        let a = new_step_id();
        let b = new_step_id();
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.len(), 20, "{id}");
            assert!(id[2..].bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{id}");
        }
    }
}
