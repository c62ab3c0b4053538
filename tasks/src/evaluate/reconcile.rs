//! Runs left RUNNING by an execution that ended (aborted, timed out, failed
//! outside the Map's Catch, or succeeded without recording) are marked FAILED,
//! so no job stays RUNNING forever. Replaces the original sample's EMR poller.

use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::types::ExecutionStatus;
use edba_payloads::ReconciledRun;
use time::OffsetDateTime;

use super::EvaluateDeps;
use crate::store::RunningRun;
use crate::TaskError;

/// The error recorded on a run whose execution ended without an outcome.
pub const EXECUTION_ENDED: &str = "Edba.ExecutionEnded";
/// `execution_status` of a run whose execution Step Functions does not know.
pub const EXECUTION_NOT_FOUND: &str = "NOT_FOUND";
/// Said of every reconciled run: its claim is undone, so its inputs are
/// fresh again and the job fires over them (and anything newer) next time.
/// Nothing of the run is known to have reached the warehouse; if its load did
/// run, merging by the table key makes the next run's merge harmless.
const GIVEN_BACK: &str = " (its inputs are fresh again)";
/// Longest cause kept from Step Functions (its own causes can be 32 KiB).
const MAX_CAUSE_CHARS: usize = 2000;

/// Marks every RUNNING run of another, ended execution FAILED.
pub(crate) async fn reconcile(
    deps: &EvaluateDeps,
    current_execution: &str,
    now: OffsetDateTime,
) -> Result<Vec<ReconciledRun>, TaskError> {
    let mut reconciled = Vec::new();
    for run in deps.store.running_runs().await? {
        let Some((status, cause)) = ended(deps, &run, current_execution).await? else {
            continue;
        };
        if deps.store.fail_run(&run, EXECUTION_ENDED, &cause, now).await? {
            reconciled.push(ReconciledRun { run_id: run.run_id, job_id: run.job_id, execution_status: status, cause });
        }
    }
    Ok(reconciled)
}

/// `(status, cause)` when the run's execution has ended, `None` while it runs.
async fn ended(
    deps: &EvaluateDeps,
    run: &RunningRun,
    current_execution: &str,
) -> Result<Option<(String, String)>, TaskError> {
    let Some(arn) = run.execution_arn.as_deref() else {
        return Ok(Some((
            EXECUTION_NOT_FOUND.to_owned(),
            format!("run {} has no execution recorded{GIVEN_BACK}", run.run_id),
        )));
    };
    if arn == current_execution {
        return Ok(None);
    }
    let out = match deps.sfn.describe_execution().execution_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_execution_does_not_exist()) => {
            return Ok(Some((
                EXECUTION_NOT_FOUND.to_owned(),
                format!(
                    "execution {arn} does not exist (expired from Step Functions' history?) \
                     and the run recorded no outcome{GIVEN_BACK}"
                ),
            )));
        }
        Err(e) => {
            return Err(TaskError::Transient(format!(
                "Step Functions DescribeExecution {arn}: {}",
                DisplayErrorContext(&e)
            )))
        }
    };
    // PENDING_REDRIVE: a redrive is starting; the run may still record.
    if matches!(out.status(), ExecutionStatus::Running | ExecutionStatus::PendingRedrive) {
        return Ok(None);
    }
    let status = out.status().as_str().to_owned();
    let mut cause = format!("execution {arn} ended {status} without recording the run's outcome");
    match (out.error(), out.cause()) {
        (Some(error), Some(detail)) => cause.push_str(&format!(": {error}: {detail}")),
        (Some(error), None) => cause.push_str(&format!(": {error}")),
        (None, Some(detail)) => cause.push_str(&format!(": {detail}")),
        (None, None) => {}
    }
    let keep = MAX_CAUSE_CHARS - GIVEN_BACK.chars().count();
    if cause.chars().count() > keep {
        cause = cause.chars().take(keep - 1).collect::<String>() + "…";
    }
    cause.push_str(GIVEN_BACK);
    Ok(Some((status, cause)))
}
