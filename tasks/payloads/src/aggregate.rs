//! Payloads of the aggregate machine: its input, and the evaluate, load and
//! record tasks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What started an aggregate execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The EventBridge Scheduler schedule.
    Schedule,
    /// The ingest machine, after a file made a job possibly ready.
    Ingest,
    /// A person (`edba start aggregate`).
    Manual,
    /// A person re-running one run from its manifest (`edba rerun RUN`):
    /// nothing new is claimed.
    Rerun,
}

/// The aggregate machine's execution input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AggregateInput {
    pub trigger: Trigger,
    /// The file whose arrival started this execution, when ingest started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// The run to re-run, with `trigger: rerun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Set by Step Functions' startExecution integration to link the executions.
    #[serde(rename = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID", default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// Input of the evaluate task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluateInput {
    /// The execution's input, as it was started.
    pub request: AggregateInput,
    /// The ARN of the aggregate execution that evaluates; recorded on every run
    /// it claims, so a later evaluation can reconcile runs whose execution died.
    pub execution_arn: String,
}

/// The step an EMR cluster runs for a run (`HadoopJarStep` of `command-runner.jar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StepSpec {
    /// The step's name as EMR and the console show it.
    pub name: String,
    /// `command-runner.jar` arguments, for example `spark-submit ... --manifest s3://...`.
    pub args: Vec<String>,
}

/// A claimed run, ready for its EMR step. File lists stay in the manifest on
/// S3, never in the execution payload (Step Functions caps payloads at 256 KiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunTicket {
    pub run_id: String,
    pub job_id: String,
    pub cluster_id: String,
    pub step: StepSpec,
    /// `manifests/<job>/<run>.json`: the exact object keys and versions the run reads.
    pub manifest_key: String,
    /// `output/<job>/<run>/`: where the step writes one folder per table.
    pub output_prefix: String,
    /// How many files the manifest lists.
    pub input_count: u64,
    /// The warehouse tables the run's output is merged into.
    pub tables: Vec<String>,
}

/// A job that did not fire, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaitingJob {
    pub job_id: String,
    /// For example "8 of 13 IL files fresh since 2026-11-27T06:00:00Z".
    pub reason: String,
}

/// A run found RUNNING whose execution had ended, marked FAILED by evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReconciledRun {
    pub run_id: String,
    pub job_id: String,
    /// The execution's status: SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub execution_status: String,
    pub cause: String,
}

/// Output of the evaluate task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluateOutput {
    pub evaluated_at: String,
    pub runs: Vec<RunTicket>,
    /// The first waiting jobs by id (Step Functions caps a payload at
    /// 256 KiB): `waiting_total` says how many wait; every job's decision
    /// is in the state store (`edba status`).
    pub waiting: Vec<WaitingJob>,
    #[serde(default)]
    pub waiting_total: u64,
    /// The first runs reconciled; `reconciled_total` says how many were.
    pub reconciled: Vec<ReconciledRun>,
    #[serde(default)]
    pub reconciled_total: u64,
}

/// Input of the load task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LoadInput {
    pub run_id: String,
    pub job_id: String,
    pub output_prefix: String,
    pub tables: Vec<String>,
}

/// Rows merged into one warehouse table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TableLoad {
    pub table: String,
    pub rows_merged: u64,
}

/// Output of the load task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LoadOutput {
    pub run_id: String,
    pub tables: Vec<TableLoad>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunOutcome {
    Completed,
    Failed,
}

/// The error output Step Functions gives a Catch (`{"Error", "Cause"}`).
/// Either field may be missing for some errors, so both are optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct TaskFailure {
    #[serde(rename = "Error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(rename = "Cause", default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Input of the record task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordInput {
    pub run_id: String,
    pub job_id: String,
    pub outcome: RunOutcome,
    /// The `addStep.sync` result (the EMR step), when the step ran; record takes
    /// the step id from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emr: Option<serde_json::Value>,
    /// What load merged, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadOutput>,
    /// The caught error, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<TaskFailure>,
}

/// Output of the record task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordOutput {
    pub run_id: String,
    pub job_id: String,
    pub status: RunOutcome,
    /// False when the run already had this outcome (a retried call).
    pub changed: bool,
    /// `[run_id]` when the run failed, else empty. The machine lists the failed
    /// runs of a Map with the wildcard path `$.outcomes[*].failed_runs[*]`;
    /// filter expressions would be shorter, but `@wmfs/statelint` rejects them.
    pub failed_runs: Vec<String>,
}
