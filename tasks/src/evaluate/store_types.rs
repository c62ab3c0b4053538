//! What the evaluate task exchanges with the state store
//! (`store/evaluate.rs`). Crate-internal: the task's contract is
//! [`edba_payloads::EvaluateOutput`].

use time::OffsetDateTime;

/// A job's stored configuration and run state, as one evaluation reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobState {
    pub job_id: String,
    pub enabled: bool,
    pub config_version: i32,
    /// The JSON of an `edba_payloads::jobs::JobConfig`.
    pub config: String,
    pub last_status: Option<String>,
    pub last_run_id: Option<String>,
    pub last_fired_at: Option<OffsetDateTime>,
}

/// A run the store still holds RUNNING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunningRun {
    pub run_id: String,
    pub job_id: String,
    pub execution_arn: Option<String>,
}

/// Usable (not INVALID) files of `dataset` whose name matches `glob`,
/// validated strictly after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileSelector<'a> {
    pub dataset: &'a str,
    pub glob: &'a str,
    pub after: OffsetDateTime,
}

/// One file a run reads, as its manifest and `run_inputs` record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunInput {
    pub dataset: String,
    pub file_url: String,
    pub key: String,
    pub validated_key: Option<String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// Everything the claim transaction writes, and the state it expects to find.
#[derive(Debug, Clone)]
pub(crate) struct RunClaim<'a> {
    pub job_id: &'a str,
    pub config_version: i32,
    /// `last_fired_at` as the decision read it; the claim fails when another
    /// evaluation changed it in between.
    pub last_fired_at: Option<OffsetDateTime>,
    pub now: OffsetDateTime,
    pub run_id: &'a str,
    pub execution_arn: &'a str,
    pub cluster_id: &'a str,
    pub manifest_key: &'a str,
    pub output_prefix: &'a str,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecutionRun {
    pub run_id: String,
    pub job_id: String,
    pub cluster_id: String,
    pub manifest_key: String,
    pub output_prefix: String,
    pub input_count: u64,
    /// The job's configuration now (its step and tables).
    pub config: String,
}
