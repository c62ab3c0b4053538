//! Runs left RUNNING by an execution that ended (aborted, timed out, failed
//! outside the Map's Catch, or succeeded without recording) are marked FAILED,
//! so no job stays RUNNING forever. Replaces the original sample's EMR poller.

use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
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
        let (status, cause) = match ended(deps, &run, current_execution).await {
            Ok(Some(ended)) => ended,
            Ok(None) => continue,
            // Step Functions will not say (access denied, a malformed ARN):
            // this run stays RUNNING with the reason noted, every other run
            // and job goes on. Transient trouble fails the task instead.
            Err(EndedError::Run(reason)) => {
                tracing::warn!(run_id = %run.run_id, job_id = %run.job_id, "{reason}");
                deps.store.note_run_cause(&run.run_id, &reason).await?;
                continue;
            }
            Err(EndedError::Task(e)) => return Err(e),
        };
        if deps.store.fail_run(&run, EXECUTION_ENDED, &cause, now).await? {
            reconciled.push(ReconciledRun { run_id: run.run_id, job_id: run.job_id, execution_status: status, cause });
        }
    }
    Ok(reconciled)
}

/// Why a run's execution could not be described.
enum EndedError {
    /// Trouble that a retry of the task may mend (throttling, a timeout, a 5xx).
    Task(TaskError),
    /// Asking again will not help (access denied, a malformed ARN): the run's.
    Run(String),
}

/// Throttling, timeouts, connection trouble and server errors.
fn is_transient(e: &SdkError<DescribeExecutionError, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let throttled = matches!(
                service.err().code(),
                Some("ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded")
            );
            throttled || service.raw().status().is_server_error()
        }
        _ => false,
    }
}

/// `(status, cause)` when the run's execution has ended, `None` while it runs.
/// A transient failure is the task's error; any other is per run.
async fn ended(
    deps: &EvaluateDeps,
    run: &RunningRun,
    current_execution: &str,
) -> Result<Option<(String, String)>, EndedError> {
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
            let message = format!("Step Functions DescribeExecution {arn}: {}", DisplayErrorContext(&e));
            return Err(if is_transient(&e) {
                EndedError::Task(TaskError::Transient(message))
            } else {
                EndedError::Run(format!("cannot tell whether the run's execution ended: {message}"))
            });
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
