//! What the store exchanges with the tasks that call it: job state, claims,
//! run inputs and outcomes (evaluate), final outcomes and run reports
//! (record, `edba impacted`). The store owns these types; `evaluate` and
//! `record` import them from here, never the other way round.

use edba_payloads::jobs::JobConfig;
use edba_payloads::FileStatus;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use super::JobStatus;

/// A job's stored configuration and run state, as one evaluation reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobState {
    pub job_id: String,
    pub enabled: bool,
    pub config_version: i32,
    /// The stored configuration, parsed once as the store reads it.
    pub config: Result<JobConfig, UnreadableConfig>,
    pub last_status: Option<String>,
    pub last_run_id: Option<String>,
    pub last_fired_at: Option<OffsetDateTime>,
    /// The job's watermark: the highest store sequence its latest holding
    /// claim read. Versions above it are fresh.
    pub claimed_seq: i64,
}

/// A run the store still holds RUNNING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunningRun {
    pub run_id: String,
    pub job_id: String,
    pub execution_arn: Option<String>,
}

/// Usable (not INVALID) files of `dataset` whose name matches `glob`, whose
/// current version's store sequence is above `seq_above` (0: any) and, when
/// given, that were validated strictly after `validated_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileSelector<'a> {
    pub dataset: &'a str,
    pub glob: &'a str,
    pub seq_above: i64,
    pub validated_after: Option<OffsetDateTime>,
}

/// One file a run reads, as its manifest and `run_inputs` record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunInput {
    pub dataset: String,
    pub file_url: String,
    pub key: String,
    pub validated_key: Option<String>,
    /// The ETag of the validated object, as validate wrote it.
    pub validated_etag: Option<String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    /// The store sequence of this version.
    pub seq: i64,
}

/// Everything the claim transaction writes, and the state it expects to find.
#[derive(Debug, Clone)]
pub(crate) struct RunClaim<'a> {
    pub job_id: &'a str,
    pub config_version: i32,
    /// The watermark as the decision read it; the claim fails when another
    /// evaluation (or a reconcile giving inputs back) changed it in between.
    pub claimed_seq: i64,
    /// The claim needs at least one input above the watermark
    /// (`within_hours`: an identical input set never fires twice).
    pub require_new_input: bool,
    pub now: OffsetDateTime,
    pub run_id: &'a str,
    pub execution_arn: &'a str,
    pub cluster_id: &'a str,
    pub manifest_key: &'a str,
    pub output_prefix: &'a str,
    /// The project version the run is claimed under (`None`: the sample).
    pub project_version: Option<&'a str>,
    pub inputs: FileSelector<'a>,
    pub min_files: u32,
    pub companions: Vec<FileSelector<'a>>,
}

/// How a claim ended when the database answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimOutcome {
    /// The run is committed with these inputs (fresh files, then companions).
    Claimed { inputs: Vec<RunInput> },
    /// Another evaluation claimed the job first (or its configuration changed).
    Lost,
    /// Between decision and claim the fresh inputs dropped to this many.
    TooFewInputs(u64),
    /// Between decision and claim this companion rule stopped holding.
    NoCompanion(usize),
    /// Every input was already read by the job's latest run.
    NothingNew,
}

/// The result of a job's extra criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CriterionOutcome {
    Holds,
    NoRow,
    Failed(String),
    TimedOut,
}

/// A RUNNING run of one execution, with what its ticket needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExecutionRun {
    pub run_id: String,
    pub job_id: String,
    pub cluster_id: String,
    pub manifest_key: String,
    pub output_prefix: String,
    pub input_count: u64,
    /// The job's configuration now (its step and tables).
    pub config: Result<JobConfig, UnreadableConfig>,
}

/// A stored job configuration that does not parse as a [`JobConfig`] (written
/// by another version of edba, or by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job {job_id:?}: the stored configuration does not parse: {reason}")]
pub struct UnreadableConfig {
    pub job_id: String,
    pub reason: String,
}

impl UnreadableConfig {
    pub(crate) fn parse(job_id: &str, text: &str) -> Result<JobConfig, UnreadableConfig> {
        serde_json::from_str(text).map_err(|e| UnreadableConfig { job_id: job_id.to_owned(), reason: e.to_string() })
    }
}

/// A run's final outcome as the store writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinalOutcome<'a> {
    pub(crate) run_id: &'a str,
    pub(crate) job_id: &'a str,
    pub(crate) status: JobStatus,
    pub(crate) step_id: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
}

/// What the store holds for a run after recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// The run's final status: the one just written, or the one it already had.
    pub(crate) status: JobStatus,
    pub(crate) changed: bool,
    /// From the claim to this outcome, when this call ended the run.
    pub(crate) ran_for: Option<time::Duration>,
}

/// A job's run history as far as `impacted` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobFailures {
    pub(crate) last_run_id: Option<String>,
    pub(crate) last_status: Option<JobStatus>,
    pub(crate) last_failed_run: Option<String>,
}

/// A run and its input files (`edba impacted`). Times are RFC 3339, UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactedFiles {
    pub run_id: String,
    pub job_id: String,
    #[serde(serialize_with = "job_status")]
    pub status: JobStatus,
    pub cluster_id: Option<String>,
    pub step_id: Option<String>,
    pub execution_arn: Option<String>,
    pub manifest_key: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The Step Functions error name of a FAILED run (`States.TaskFailed`).
    pub error: Option<String>,
    pub cause: Option<String>,
    /// In file URL order.
    pub files: Vec<ImpactedFile>,
}

/// One input of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactedFile {
    pub file_url: String,
    /// The object version the run read (from its manifest).
    pub version_id: Option<String>,
    pub etag: Option<String>,
    /// The rest describes the key as tracked now; all empty when the store no
    /// longer tracks it.
    pub dataset: Option<String>,
    pub status: Option<FileStatus>,
    pub last_validated_at: Option<String>,
    /// The store now tracks another version of the key than the run read: a
    /// corrected file may already have arrived.
    pub superseded: bool,
}

fn job_status<S: Serializer>(status: &JobStatus, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(status.as_str())
}
