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

use edba_asl::{JitterStrategy, Retrier};
use edba_payloads::ErrorName;

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
