//! The record task (a run's final outcome) and the operator's view of a run's
//! inputs (`edba impacted`).
//!
//! Record is the last task of a run in the aggregate machine: "Mark run
//! completed" after the step and the load succeeded, "Mark run failed" from
//! the Catch of either. Step Functions retries it on `Edba.Transient` and on
//! Lambda service errors, so it must be idempotent:
//!
//! - A RUNNING run becomes COMPLETED or FAILED with its EMR step id, error,
//!   cause and finish time, in one transaction with its job's `last_status` and
//!   `last_finished_at` — but the job is only touched while its `last_run_id`
//!   is this run, so an older run finishing late never hides a newer run.
//! - A run that already has a final outcome is left exactly as it is: the
//!   first final outcome wins. A retried call with the same outcome reports
//!   `changed: false`. A contradicting call (FAILED after COMPLETED, or a
//!   COMPLETED arriving after evaluate reconciled the run as FAILED) is
//!   logged and also reports `changed: false`, with the stored outcome as its
//!   `status`: the output always tells what the store says, and the machine
//!   fails the execution exactly for runs the store holds as FAILED.
//!
//! This module knows nothing about Lambda; `src/bin/record.rs` wires it.

mod failure;
mod impacted;

use edba_payloads::{RecordInput, RecordOutput, RunOutcome};

use crate::store::{FinalOutcome, JobStatus, StateStore};
use crate::TaskError;

pub use impacted::{ImpactedFile, ImpactedFiles};

/// The record task: marks the run COMPLETED or FAILED (see the module docs for
/// retries and late or contradicting calls).
///
/// An unknown run id, or a job id that is not the run's, is `Edba.InvalidInput`.
pub async fn record(store: &StateStore, input: &RecordInput) -> Result<RecordOutput, TaskError> {
    record_run(store, input).await.map(|recorded| recorded.output)
}

/// What a record call did: its output, and how long the run ran when this
/// call is the one that ended it (for the run duration metric).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRun {
    pub output: RecordOutput,
    /// From the claim (evaluate's clock) to this outcome (record's clock);
    /// `None` when the run already had a final outcome.
    pub ran_for: Option<time::Duration>,
}

/// [`record`], also saying how long the run ran.
pub async fn record_run(store: &StateStore, input: &RecordInput) -> Result<RecordedRun, TaskError> {
    if input.run_id.is_empty() || input.job_id.is_empty() {
        return Err(TaskError::InvalidInput("record: run_id and job_id must not be empty".into()));
    }
    let status = match input.outcome {
        RunOutcome::Completed => JobStatus::Completed,
        RunOutcome::Failed => JobStatus::Failed,
    };
    // A completed run has no error, even if a caller passed one along.
    let failure = match input.outcome {
        RunOutcome::Completed => None,
        RunOutcome::Failed => input.failure.as_ref(),
    };
    let outcome = FinalOutcome {
        run_id: &input.run_id,
        job_id: &input.job_id,
        status,
        step_id: failure::step_id(input.emr.as_ref(), failure),
        error: failure::error_name(failure),
        cause: failure::cause(failure),
    };
    let recorded = store.record_outcome(&outcome).await?;
    if recorded.status != status {
        tracing::warn!(
            run_id = %input.run_id,
            job_id = %input.job_id,
            stored = recorded.status.as_str(),
            requested = status.as_str(),
            "the run already has a final outcome; the first one stands"
        );
    }
    // The store only answers with a final status, never RUNNING.
    let stored = match recorded.status {
        JobStatus::Failed => RunOutcome::Failed,
        JobStatus::Completed | JobStatus::Running => RunOutcome::Completed,
    };
    let output = RecordOutput {
        run_id: input.run_id.clone(),
        job_id: input.job_id.clone(),
        status: stored,
        changed: recorded.changed,
        failed_runs: match stored {
            RunOutcome::Failed => vec![input.run_id.clone()],
            RunOutcome::Completed => Vec::new(),
        },
    };
    Ok(RecordedRun { output, ran_for: recorded.ran_for })
}

/// The input files of a run, with the run's status, error and cause, for an
/// operator deciding what to fix and re-send.
///
/// `run_or_job` is a run id, or a job id standing for the job's most recent
/// FAILED run (a job that never failed is an error that names its last run,
/// rather than a list that could be mistaken for the failed inputs). Run ids
/// are looked up first. An id that is neither is `Edba.InvalidInput`.
pub async fn impacted(store: &StateStore, run_or_job: &str) -> Result<ImpactedFiles, TaskError> {
    if run_or_job.is_empty() {
        return Err(TaskError::InvalidInput("impacted: give a run id or a job id".into()));
    }
    if let Some(report) = store.run_inputs(run_or_job).await? {
        return Ok(report);
    }
    let Some(job) = store.job_failures(run_or_job).await? else {
        return Err(TaskError::InvalidInput(format!("{run_or_job:?} is neither a run id nor a job id")));
    };
    let Some(failed_run) = job.last_failed_run else {
        let last = match (job.last_run_id, job.last_status) {
            (Some(run), Some(status)) => format!("its last run {run} is {}", status.as_str()),
            _ => "it has never run".to_owned(),
        };
        return Err(TaskError::InvalidInput(format!(
            "job {run_or_job:?} has no failed run ({last}); give a run id to list a run's inputs"
        )));
    };
    store.run_inputs(&failed_run).await?.ok_or_else(|| {
        TaskError::Transient(format!("run {failed_run} of job {run_or_job:?} disappeared while being read"))
    })
}
