//! edba's two pipeline state machines, built from the typed ASL model, and the
//! generator that writes them (and the task payload schemas) as JSON.
//!
//! - [`ingest`]: one execution per S3 "Object Created" event (EXPRESS).
//! - [`aggregate`]: evaluate jobs, run each ready job's EMR step, load, record (STANDARD).
//! - [`resources`]: the `${…}` placeholders the machines use, and which payload
//!   type each task resource takes and returns (for the typed path checks).
//! - [`generate`]: writes and checks `statemachines/*.asl.json` and `schemas/`.

pub mod aggregate;
pub mod generate;
pub mod ingest;
pub mod resources;

use edba_asl::integrations::{LAMBDA_SERVICE_ERRORS, LAMBDA_TIMED_OUT};
use edba_asl::{JitterStrategy, Retrier, Task};
use edba_payloads::resource::TaskResource;
use edba_payloads::ErrorName;

/// A Task invoking one of edba's functions, for the STANDARD aggregate
/// machine: its `TimeoutSeconds` a little above the function's own timeout,
/// Lambda's service errors and throttling retried (the default retrier), and
/// a function that ran out of time retried once. Every edba task is
/// idempotent, so running one again is safe: validate writes per-version
/// objects, track ignores redelivered versions, evaluate returns its own
/// execution's claims again, load merges by key, record keeps the first
/// final outcome.
pub(crate) fn lambda_task<I, O>(resource: TaskResource<I, O>) -> Task {
    Task::lambda(resource.token())
        .timeout_seconds(resource.state_timeout_seconds())
        .retry(Retrier::on([LAMBDA_TIMED_OUT]).interval_seconds(5).max_attempts(1).jitter(JitterStrategy::Full))
}

/// A Task invoking one of edba's functions in the EXPRESS ingest machine,
/// which AWS ends after 5 minutes: one retrier for every retryable error
/// (Lambda's service errors and throttling, a timed-out function, edba's own
/// transient errors), so the attempts of a state are three at most, whatever
/// fails. An event whose ingest still fails is parked for `edba replay`.
pub(crate) fn ingest_lambda_task<I, O>(resource: TaskResource<I, O>) -> Task {
    let errors = LAMBDA_SERVICE_ERRORS.into_iter().chain([LAMBDA_TIMED_OUT, ErrorName::Transient.as_str()]);
    Task::lambda(resource.token()).timeout_seconds(resource.state_timeout_seconds()).replace_retry(vec![Retrier::on(
        errors,
    )
    .interval_seconds(2)
    .max_attempts(2)
    .backoff_rate(2.0)
    .max_delay_seconds(10)
    .jitter(JitterStrategy::Full)])
}

/// The retrier every Lambda task of edba carries for its own transient errors
/// (S3, network, database), after the Lambda service retrier.
pub(crate) fn transient_retry() -> Retrier {
    Retrier::on([ErrorName::Transient.as_str()])
        .interval_seconds(2)
        .max_attempts(5)
        .backoff_rate(2.0)
        .max_delay_seconds(60)
        .jitter(JitterStrategy::Full)
}
