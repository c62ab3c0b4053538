//! What a Lambda binary logs and measures around each invocation.
//!
//! - A `tracing` span per invocation that names what it is about — the file
//!   (bucket, key, version) for validate and track, the execution and its
//!   trigger for evaluate, the run and job for load and record — so every line
//!   the task logs while handling the event carries them (the JSON formatter
//!   puts a line's spans under `span` and `spans`).
//! - One INFO line with the outcome (evaluate adds one per run it claimed or
//!   reconciled, with `run_id` and `job_id`), or one line with the error's
//!   stable name: WARN for `Edba.Transient` (the machine retries it), ERROR
//!   for the others.
//! - The task's metrics ([`crate::metrics`]), written to the sink given.
//!
//! [`observe`] does all three; the binaries call it with the span of their
//! input and [`crate::metrics::EmfWriter::stdout_from_env`]. The local runtime
//! calls the task functions directly: `edba run` logs and measures none of this.

use std::future::Future;

use edba_payloads::{
    decode_event_key, EvaluateInput, EvaluateOutput, LoadInput, LoadOutput, RecordInput, TrackInput, TrackOutput,
    Trigger, ValidateInput, ValidateOutput,
};
use tracing::{Instrument, Span};

use crate::metrics::{self, Document, MetricSink};
use crate::record::RecordedRun;
use crate::TaskError;

/// The validate invocation of one object version: `bucket`, `key` (decoded),
/// `version_id` and `etag` (where the event has them).
pub fn validate_span(input: &ValidateInput) -> Span {
    // The span names the object even when its key breaks the contract; the
    // task reports that as its error.
    let key = decode_event_key(&input.object.key).unwrap_or_else(|_| input.object.key.clone());
    tracing::info_span!(
        "validate",
        bucket = %input.bucket,
        key = %key,
        version_id = input.object.version_id.as_deref(),
        etag = input.object.etag.as_deref(),
    )
}

/// The track invocation of one validated version: `bucket`, `key`,
/// `version_id`, `etag` and the file's `status`.
pub fn track_span(input: &TrackInput) -> Span {
    let file = &input.file;
    tracing::info_span!(
        "track",
        bucket = %file.bucket,
        key = %file.key,
        version_id = file.version_id.as_deref(),
        etag = file.etag.as_deref(),
        status = file.status.as_str(),
    )
}

/// The evaluate invocation of one aggregate execution: `execution_arn`,
/// `trigger`, and the `file_url` that started it (ingest) or the `run_id` to
/// re-run (rerun).
pub fn evaluate_span(input: &EvaluateInput) -> Span {
    let request = &input.request;
    tracing::info_span!(
        "evaluate",
        execution_arn = %input.execution_arn,
        trigger = trigger(request.trigger),
        file_url = request.file_url.as_deref(),
        run_id = request.run_id.as_deref(),
    )
}

/// The load invocation of one run: `run_id`, `job_id`.
pub fn load_span(input: &LoadInput) -> Span {
    tracing::info_span!("load", run_id = %input.run_id, job_id = %input.job_id)
}

/// The record invocation of one run: `run_id`, `job_id` and the `outcome` asked for.
pub fn record_span(input: &RecordInput) -> Span {
    tracing::info_span!(
        "record",
        run_id = %input.run_id,
        job_id = %input.job_id,
        outcome = metrics::run_outcome(input.outcome),
    )
}

fn trigger(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Schedule => "schedule",
        Trigger::Ingest => "ingest",
        Trigger::Manual => "manual",
        Trigger::Rerun => "rerun",
    }
}

/// A task's result as an operator sees it: its log lines and its metrics.
pub trait Outcome {
    /// Logs the outcome, inside the invocation's span.
    fn log(&self);
    /// The invocation's metrics.
    fn measure(&self) -> Document;
}

/// Runs one invocation of a task inside `span`, then logs its outcome and
/// writes its metrics to `sink` (or logs its error).
pub async fn observe<O: Outcome>(
    span: Span,
    sink: &dyn MetricSink,
    task: impl Future<Output = Result<O, TaskError>>,
) -> Result<O, TaskError> {
    async move {
        match task.await {
            Ok(outcome) => {
                outcome.log();
                sink.emit(&outcome.measure());
                Ok(outcome)
            }
            Err(e) => {
                let error = e.name().as_str();
                match e {
                    TaskError::Transient(_) => tracing::warn!(error, "{e}; the machine retries"),
                    _ => tracing::error!(error, "{e}"),
                }
                Err(e)
            }
        }
    }
    .instrument(span)
    .await
}

impl Outcome for ValidateOutput {
    fn log(&self) {
        tracing::info!(
            status = self.status.as_str(),
            dataset = self.dataset.as_deref(),
            rows_valid = self.counts.rows_valid,
            rows_rejected = self.counts.rows_rejected,
            lines_skipped = self.counts.lines_skipped,
            reason = self.reason.as_deref(),
            "file validated"
        );
    }

    fn measure(&self) -> Document {
        metrics::validated(self)
    }
}

impl Outcome for TrackOutput {
    fn log(&self) {
        tracing::info!(
            outcome = metrics::track_outcome(self.outcome),
            job_may_be_ready = self.job_may_be_ready,
            candidate_jobs = ?self.candidate_jobs,
            "file tracked"
        );
    }

    fn measure(&self) -> Document {
        metrics::tracked(self)
    }
}

impl Outcome for EvaluateOutput {
    fn log(&self) {
        for run in &self.reconciled {
            tracing::warn!(
                run_id = %run.run_id,
                job_id = %run.job_id,
                execution_status = %run.execution_status,
                cause = %run.cause,
                "run marked FAILED: its execution ended without an outcome; its inputs are fresh again"
            );
        }
        for run in &self.runs {
            tracing::info!(
                run_id = %run.run_id,
                job_id = %run.job_id,
                cluster_id = %run.cluster_id,
                inputs = run.input_count,
                manifest_key = %run.manifest_key,
                "run claimed"
            );
        }
        for job in &self.waiting {
            tracing::debug!(job_id = %job.job_id, reason = %job.reason, "job waiting");
        }
        let (waiting, reconciled) = metrics::evaluate_totals(self);
        tracing::info!(
            runs_claimed = self.runs.len(),
            jobs_waiting = waiting,
            runs_reconciled = reconciled,
            "evaluation finished"
        );
    }

    fn measure(&self) -> Document {
        metrics::evaluated(self)
    }
}

impl Outcome for LoadOutput {
    fn log(&self) {
        for table in &self.tables {
            tracing::info!(table = %table.table, rows_merged = table.rows_merged, "table merged");
        }
        let rows: u64 = self.tables.iter().map(|t| t.rows_merged).sum();
        tracing::info!(tables = self.tables.len(), rows_merged = rows, "run loaded");
    }

    fn measure(&self) -> Document {
        metrics::loaded(self)
    }
}

impl Outcome for RecordedRun {
    fn log(&self) {
        tracing::info!(
            status = metrics::run_outcome(self.output.status),
            changed = self.output.changed,
            duration_seconds = self.ran_for.map(|d| d.as_seconds_f64()),
            "run outcome recorded"
        );
    }

    fn measure(&self) -> Document {
        metrics::recorded(&self.output, self.ran_for)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edba_payloads::AggregateInput;

    fn field_names(span: &Span) -> Vec<String> {
        span.metadata().expect("an enabled span").fields().iter().map(|f| f.name().to_owned()).collect()
    }

    /// Spans are built without a subscriber too (disabled, then, so the
    /// metadata check needs one that enables them).
    fn with_subscriber<T>(f: impl FnOnce() -> T) -> T {
        let subscriber = lambda_runtime::tracing::subscriber::fmt().with_writer(std::io::sink).finish();
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn each_span_names_what_its_invocation_is_about() {
        with_subscriber(|| {
            let load = load_span(&LoadInput {
                run_id: "R1".into(),
                job_id: "J101".into(),
                output_prefix: "o/".into(),
                tables: vec![],
            });
            assert_eq!(load.metadata().unwrap().name(), "load");
            assert_eq!(field_names(&load), ["run_id", "job_id"]);

            let evaluate = evaluate_span(&EvaluateInput {
                request: AggregateInput {
                    trigger: Trigger::Rerun,
                    file_url: None,
                    run_id: Some("R1".into()),
                    started_by: None,
                },
                execution_arn: "arn:aws:states:us-east-1:1:execution:a:e".into(),
            });
            assert_eq!(field_names(&evaluate), ["execution_arn", "trigger", "file_url", "run_id"]);
        });
    }

    #[test]
    fn trigger_names_are_the_payloads_own() {
        for t in [Trigger::Schedule, Trigger::Ingest, Trigger::Manual, Trigger::Rerun] {
            assert_eq!(serde_json::to_value(t).unwrap(), trigger(t));
        }
    }
}
