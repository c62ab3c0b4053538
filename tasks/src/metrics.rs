//! The tasks' CloudWatch metrics, written as Embedded Metric Format (EMF)
//! documents: one JSON object per line on stdout, which Lambda sends to the
//! function's log group and CloudWatch Logs turns into metrics of the
//! [`NAMESPACE`] namespace. No API call, no permission, no latency.
//!
//! Each task's measurements are a [`Document`] built from its output
//! ([`validated`], [`tracked`], [`evaluated`], [`loaded`], [`recorded`]); a
//! [`MetricSink`] writes them. Only the Lambda binaries install a sink
//! ([`EmfWriter::stdout_from_env`], through [`crate::telemetry::observe`]): the
//! local runtime calls the same task functions without one, so `edba run`
//! prints no metrics.
//!
//! Every metric also carries the [`STACK`] dimension (the stack name, from
//! `EDBA_STACK`), so two stacks in one account never add up into one series;
//! the dashboard and alarms of a stack select their own.
//!
//! Written here rather than taken from a crate: the maintained Rust emitter,
//! `metrics_cloudwatch_embedded`, is a backend for the `metrics` facade — a
//! process-global recorder, flushed after each invocation by its own Lambda
//! runtime wrapper — which would add the facade and a second way of running
//! the handlers to every Lambda, and a global that tests must share. The
//! documents here are few and fixed; rendering them is a page of `serde_json`,
//! which the tasks link already.
//!
//! Lambda gives a log line without a `level` the level INFO, so these lines
//! pass the functions' `ApplicationLogLevel: INFO` filter (a WARN filter would
//! drop them).

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use edba_payloads::{
    EvaluateOutput, FileStatus, LoadOutput, RecordOutput, RunOutcome, TrackOutcome, TrackOutput, ValidateOutput,
};
use serde_json::{json, Map, Number, Value};

/// The CloudWatch namespace of every edba metric.
pub const NAMESPACE: &str = "edba";

/// Dimension: the stack that emitted the metric (every metric has it).
pub const STACK: &str = "Stack";
/// Dimension: a validated file's status, `VALIDATED`, `VALIDATED_WITH_REJECTS` or `INVALID`.
pub const STATUS: &str = "Status";
/// Dimension: what track did with a file event (`INSERTED`, `NEW_VERSION`,
/// `DUPLICATE`, `STALE`), or how a run ended (`COMPLETED`, `FAILED`).
pub const OUTCOME: &str = "Outcome";

/// validate: one per validated file version, by [`STATUS`].
pub const FILES_VALIDATED: &str = "FilesValidated";
/// validate: rows written to the validated object.
pub const ROWS_VALID: &str = "RowsValid";
/// validate: rows written to the rejects object.
pub const ROWS_REJECTED: &str = "RowsRejected";
/// track: one per file event tracked, by [`OUTCOME`].
pub const FILES_TRACKED: &str = "FilesTracked";
/// evaluate: jobs that did not fire, per evaluation.
pub const JOBS_WAITING: &str = "JobsWaiting";
/// evaluate: runs claimed, per evaluation.
pub const RUNS_CLAIMED: &str = "RunsClaimed";
/// evaluate: RUNNING runs whose execution had ended, marked FAILED.
pub const RUNS_RECONCILED: &str = "RunsReconciled";
/// load: rows merged into the warehouse, all tables of a run.
pub const ROWS_MERGED: &str = "RowsMerged";
/// record: one per run that reached its final outcome, by [`OUTCOME`]. A
/// retried or contradicting record call changes nothing and counts nothing.
pub const RUNS_RECORDED: &str = "RunsRecorded";
/// record: seconds from a run's claim to its outcome, by [`OUTCOME`].
pub const RUN_DURATION: &str = "RunDuration";

/// Every metric the tasks emit (the dashboard's test checks against it).
pub const ALL_METRICS: [&str; 10] = [
    FILES_VALIDATED,
    ROWS_VALID,
    ROWS_REJECTED,
    FILES_TRACKED,
    JOBS_WAITING,
    RUNS_CLAIMED,
    RUNS_RECONCILED,
    ROWS_MERGED,
    RUNS_RECORDED,
    RUN_DURATION,
];

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One value of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: Number,
}

impl Metric {
    pub fn count(name: &'static str, value: u64) -> Metric {
        Metric { name, unit: Unit::Count, value: value.into() }
    }

    /// A duration; a negative one (clocks of two machines) counts as zero.
    pub fn seconds(name: &'static str, duration: time::Duration) -> Metric {
        let seconds = duration.as_seconds_f64().max(0.0);
        Metric { name, unit: Unit::Seconds, value: Number::from_f64(seconds).unwrap_or_else(|| 0.into()) }
    }
}

/// Metrics aggregated by the same dimensions: one `MetricDirective`.
#[derive(Debug, Clone, PartialEq)]
struct Directive {
    dimensions: Vec<&'static str>,
    metrics: Vec<Metric>,
}

/// What one invocation measured: one EMF document. A dimension has one value
/// per document; each group of metrics names the dimensions it is kept by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    dimensions: Vec<(&'static str, String)>,
    directives: Vec<Directive>,
}

impl Document {
    pub fn new() -> Document {
        Document::default()
    }

    /// Sets a dimension's value (replacing an earlier one).
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Document {
        let value = value.into();
        match self.dimensions.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.dimensions.push((name, value)),
        }
        self
    }

    /// Adds metrics kept by `dimensions` (besides [`STACK`]), each of which
    /// must have a value ([`Document::dimension`]).
    pub fn metrics(mut self, dimensions: &[&'static str], metrics: impl IntoIterator<Item = Metric>) -> Document {
        let metrics: Vec<Metric> = metrics.into_iter().collect();
        if !metrics.is_empty() {
            self.directives.push(Directive { dimensions: dimensions.to_vec(), metrics });
        }
        self
    }

    /// The metrics of the document, in order.
    pub fn all_metrics(&self) -> impl Iterator<Item = &Metric> {
        self.directives.iter().flat_map(|d| &d.metrics)
    }

    pub fn is_empty(&self) -> bool {
        self.directives.is_empty()
    }

    /// The EMF document, at `timestamp_ms` (milliseconds since the Unix
    /// epoch), with `common` dimensions (the stack) added to every metric.
    ///
    /// A dimension some metric is kept by but that has no value is an error
    /// in the code that built the document; it is rendered as `"unknown"`
    /// rather than losing the metrics (CloudWatch drops a document whose
    /// dimension is missing).
    pub fn render(&self, common: &[(&'static str, String)], timestamp_ms: u64) -> Value {
        let mut root = Map::new();
        let directives: Vec<Value> = self
            .directives
            .iter()
            .map(|d| {
                let keys: Vec<&str> = common.iter().map(|(n, _)| *n).chain(d.dimensions.iter().copied()).collect();
                let metrics: Vec<Value> =
                    d.metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()})).collect();
                json!({"Namespace": NAMESPACE, "Dimensions": [keys], "Metrics": metrics})
            })
            .collect();
        root.insert("_aws".into(), json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}));
        for (name, value) in common.iter().chain(&self.dimensions) {
            root.insert((*name).into(), Value::String(value.clone()));
        }
        for name in self.directives.iter().flat_map(|d| &d.dimensions) {
            root.entry(*name).or_insert_with(|| Value::String("unknown".into()));
        }
        for metric in self.all_metrics() {
            root.insert(metric.name.into(), Value::Number(metric.value.clone()));
        }
        Value::Object(root)
    }
}

/// Where documents go. The Lambda binaries write EMF to stdout
/// ([`EmfWriter`]); tests capture them.
pub trait MetricSink: Send + Sync {
    fn emit(&self, document: &Document);
}

/// Writes each document as one EMF line, with the stack dimension.
#[derive(Debug)]
pub struct EmfWriter<W> {
    out: Mutex<W>,
    common: Vec<(&'static str, String)>,
}

impl<W: Write> EmfWriter<W> {
    /// `stack` is the [`STACK`] dimension's value; `None` leaves it out.
    pub fn new(out: W, stack: Option<String>) -> EmfWriter<W> {
        let common = stack.into_iter().map(|s| (STACK, s)).collect();
        EmfWriter { out: Mutex::new(out), common }
    }

    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl EmfWriter<std::io::Stdout> {
    /// Stdout, with the stack named by `EDBA_STACK` (the template sets it).
    pub fn stdout_from_env() -> EmfWriter<std::io::Stdout> {
        let stack = std::env::var("EDBA_STACK").ok().filter(|s| !s.is_empty());
        if stack.is_none() {
            tracing::warn!("EDBA_STACK is not set: metrics carry no Stack dimension, and the stack's dashboard and alarms do not see them");
        }
        EmfWriter::new(std::io::stdout(), stack)
    }
}

impl<W: Write + Send> MetricSink for EmfWriter<W> {
    fn emit(&self, document: &Document) {
        if document.is_empty() {
            return;
        }
        let mut line = document.render(&self.common, now_ms()).to_string();
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // One write per line, so concurrent invocations never interleave
        // within a document. A metric that cannot be written is lost, never
        // the invocation.
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            tracing::warn!("writing metrics: {e}");
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// validate: the file by status, and its rows.
pub fn validated(output: &ValidateOutput) -> Document {
    Document::new()
        .dimension(STATUS, file_status(output.status))
        .metrics(&[STATUS], [Metric::count(FILES_VALIDATED, 1)])
        .metrics(
            &[],
            [
                Metric::count(ROWS_VALID, output.counts.rows_valid),
                Metric::count(ROWS_REJECTED, output.counts.rows_rejected),
            ],
        )
}

/// track: the file event by outcome.
pub fn tracked(output: &TrackOutput) -> Document {
    Document::new()
        .dimension(OUTCOME, track_outcome(output.outcome))
        .metrics(&[OUTCOME], [Metric::count(FILES_TRACKED, 1)])
}

/// evaluate: what one evaluation claimed, left waiting and reconciled.
pub fn evaluated(output: &EvaluateOutput) -> Document {
    let (waiting, reconciled) = evaluate_totals(output);
    Document::new().metrics(
        &[],
        [
            Metric::count(JOBS_WAITING, waiting),
            Metric::count(RUNS_CLAIMED, output.runs.len() as u64),
            Metric::count(RUNS_RECONCILED, reconciled),
        ],
    )
}

/// How many jobs wait and how many runs were reconciled: the output lists
/// only the first ones (a payload is capped) and counts them all.
pub fn evaluate_totals(output: &EvaluateOutput) -> (u64, u64) {
    (output.waiting_total.max(output.waiting.len() as u64), output.reconciled_total.max(output.reconciled.len() as u64))
}

/// load: the rows merged for one run.
pub fn loaded(output: &LoadOutput) -> Document {
    let rows = output.tables.iter().map(|t| t.rows_merged).sum();
    Document::new().metrics(&[], [Metric::count(ROWS_MERGED, rows)])
}

/// record: a run that has just reached its final outcome, and how long it
/// ran when known. Nothing when the call changed nothing (a retry, or an
/// outcome that came after another), so each run counts once.
pub fn recorded(output: &RecordOutput, ran_for: Option<time::Duration>) -> Document {
    if !output.changed {
        return Document::new();
    }
    let metrics = std::iter::once(Metric::count(RUNS_RECORDED, 1))
        .chain(ran_for.map(|duration| Metric::seconds(RUN_DURATION, duration)));
    Document::new().dimension(OUTCOME, run_outcome(output.status)).metrics(&[OUTCOME], metrics)
}

/// The [`STATUS`] dimension's value.
pub fn file_status(status: FileStatus) -> &'static str {
    status.as_str()
}

/// The [`OUTCOME`] dimension's value for track (the payload's spelling).
pub fn track_outcome(outcome: TrackOutcome) -> &'static str {
    match outcome {
        TrackOutcome::Inserted => "INSERTED",
        TrackOutcome::NewVersion => "NEW_VERSION",
        TrackOutcome::Duplicate => "DUPLICATE",
        TrackOutcome::Stale => "STALE",
    }
}

/// The [`OUTCOME`] dimension's value for record (the payload's spelling).
pub fn run_outcome(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Completed => "COMPLETED",
        RunOutcome::Failed => "FAILED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edba_payloads::{ReconciledRun, RowCounts, RunTicket, StepSpec, TableLoad, WaitingJob};

    /// A metric as a document states it: name, unit, dimension keys, value.
    type Stated = (String, String, Vec<String>, f64);

    /// Checks what CloudWatch requires of an EMF document, and returns each
    /// metric it states.
    fn check_emf(doc: &Value) -> Vec<Stated> {
        let root = doc.as_object().expect("an EMF document is a JSON object");
        let aws = root["_aws"].as_object().expect("_aws is an object");
        assert!(aws["Timestamp"].as_u64().is_some(), "Timestamp is a number of milliseconds: {doc}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics is an array");
        assert!(!directives.is_empty(), "{doc}");
        let mut found = Vec::new();
        for directive in directives {
            assert_eq!(directive["Namespace"], NAMESPACE);
            let sets = directive["Dimensions"].as_array().expect("Dimensions is an array of dimension sets");
            assert!(!sets.is_empty());
            let mut keys = Vec::new();
            for set in sets {
                for key in set.as_array().expect("a dimension set is an array") {
                    let key = key.as_str().expect("a dimension key is a string");
                    let value = root.get(key).and_then(Value::as_str);
                    assert!(value.is_some_and(|v| !v.is_empty()), "dimension {key} is a top-level string: {doc}");
                    keys.push(key.to_owned());
                }
            }
            for metric in directive["Metrics"].as_array().expect("Metrics is an array") {
                let name = metric["Name"].as_str().expect("Name").to_owned();
                let unit = metric["Unit"].as_str().expect("Unit").to_owned();
                let value = root.get(&name).and_then(Value::as_f64);
                let value = value.unwrap_or_else(|| panic!("metric {name} has a numeric top-level value: {doc}"));
                found.push((name, unit, keys.clone(), value));
            }
        }
        found
    }

    fn emitted(document: &Document) -> Vec<Value> {
        let writer = EmfWriter::new(Vec::new(), Some("edba-test".into()));
        writer.emit(document);
        let text = String::from_utf8(writer.into_inner()).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "whole lines: {text:?}");
        text.lines().map(|line| serde_json::from_str(line).expect("each line is one JSON document")).collect()
    }

    fn one(document: &Document) -> (Value, Vec<Stated>) {
        let docs = emitted(document);
        assert_eq!(docs.len(), 1, "one line per document: {docs:?}");
        let metrics = check_emf(&docs[0]);
        for (name, ..) in &metrics {
            assert!(ALL_METRICS.contains(&name.as_str()), "{name} is listed in ALL_METRICS");
        }
        (docs.into_iter().next().unwrap(), metrics)
    }

    fn metric(name: &str, unit: &str, dims: &[&str], value: f64) -> Stated {
        (name.into(), unit.into(), dims.iter().map(|d| d.to_string()).collect(), value)
    }

    fn validate_output(status: FileStatus, valid: u64, rejected: u64) -> ValidateOutput {
        ValidateOutput {
            file_url: "s3://b/incoming/IL-101.tdf".into(),
            bucket: "b".into(),
            key: "incoming/IL-101.tdf".into(),
            version_id: Some("v1".into()),
            etag: None,
            sequencer: "01".into(),
            dataset: Some("sales".into()),
            partition: Some("IL".into()),
            status,
            reason: None,
            counts: RowCounts { rows_valid: valid, rows_rejected: rejected, lines_skipped: 1 },
            validated_key: None,
            validated_etag: None,
            rejected_key: None,
            validated_at: "2024-05-01T00:00:00.000000Z".into(),
        }
    }

    fn record_output(status: RunOutcome, changed: bool) -> RecordOutput {
        RecordOutput { run_id: "R1".into(), job_id: "J101".into(), status, changed, failed_runs: Vec::new() }
    }

    #[test]
    fn validate_counts_the_file_by_status_and_its_rows() {
        let (doc, metrics) = one(&validated(&validate_output(FileStatus::ValidatedWithRejects, 40, 2)));
        assert_eq!(
            metrics,
            [
                metric(FILES_VALIDATED, "Count", &[STACK, STATUS], 1.0),
                metric(ROWS_VALID, "Count", &[STACK], 40.0),
                metric(ROWS_REJECTED, "Count", &[STACK], 2.0),
            ]
        );
        assert_eq!(doc[STATUS], "VALIDATED_WITH_REJECTS");
        assert_eq!(doc[STACK], "edba-test");
    }

    #[test]
    fn track_counts_the_event_by_outcome() {
        for (outcome, text) in [
            (TrackOutcome::Inserted, "INSERTED"),
            (TrackOutcome::NewVersion, "NEW_VERSION"),
            (TrackOutcome::Duplicate, "DUPLICATE"),
            (TrackOutcome::Stale, "STALE"),
        ] {
            // The dimension's value is the payload's own spelling.
            assert_eq!(serde_json::to_value(outcome).unwrap(), text);
            let output =
                TrackOutput { file_url: "s3://b/k".into(), outcome, job_may_be_ready: false, candidate_jobs: vec![] };
            let (doc, metrics) = one(&tracked(&output));
            assert_eq!(metrics, [metric(FILES_TRACKED, "Count", &[STACK, OUTCOME], 1.0)]);
            assert_eq!(doc[OUTCOME], text);
        }
    }

    #[test]
    fn evaluate_counts_claimed_waiting_and_reconciled() {
        let ticket = |run: &str| RunTicket {
            run_id: run.into(),
            job_id: "J101".into(),
            cluster_id: "j-1".into(),
            step: StepSpec { name: "s".into(), args: vec![] },
            manifest_key: "m".into(),
            output_prefix: "o".into(),
            input_count: 2,
            tables: vec![],
        };
        let output = EvaluateOutput {
            evaluated_at: "2024-05-01T00:00:00Z".into(),
            runs: vec![ticket("R1"), ticket("R2")],
            waiting: vec![WaitingJob { job_id: "J102".into(), reason: "1 of 3 files".into() }],
            waiting_total: 1,
            reconciled: vec![ReconciledRun {
                run_id: "R0".into(),
                job_id: "J101".into(),
                execution_status: "ABORTED".into(),
                cause: "c".into(),
            }],
            reconciled_total: 1,
        };
        let (_, metrics) = one(&evaluated(&output));
        assert_eq!(
            metrics,
            [
                metric(JOBS_WAITING, "Count", &[STACK], 1.0),
                metric(RUNS_CLAIMED, "Count", &[STACK], 2.0),
                metric(RUNS_RECONCILED, "Count", &[STACK], 1.0),
            ]
        );
        // An evaluation that found nothing still reports zeros: a gap in the
        // graph means no evaluation ran.
        let idle = EvaluateOutput {
            runs: vec![],
            waiting: vec![],
            waiting_total: 0,
            reconciled: vec![],
            reconciled_total: 0,
            ..output.clone()
        };
        let (_, metrics) = one(&evaluated(&idle));
        assert!(metrics.iter().all(|(_, _, _, v)| *v == 0.0), "{metrics:?}");
        // The output lists the first jobs and runs only; the totals count.
        let cut = EvaluateOutput { waiting_total: 5000, reconciled_total: 300, ..output };
        let (_, metrics) = one(&evaluated(&cut));
        assert_eq!(metrics[0], metric(JOBS_WAITING, "Count", &[STACK], 5000.0));
        assert_eq!(metrics[2], metric(RUNS_RECONCILED, "Count", &[STACK], 300.0));
    }

    #[test]
    fn load_counts_the_rows_merged_into_every_table() {
        let output = LoadOutput {
            run_id: "R1".into(),
            tables: vec![
                TableLoad { table: "a".into(), rows_merged: 5 },
                TableLoad { table: "b".into(), rows_merged: 7 },
            ],
        };
        let (_, metrics) = one(&loaded(&output));
        assert_eq!(metrics, [metric(ROWS_MERGED, "Count", &[STACK], 12.0)]);
    }

    #[test]
    fn record_counts_a_run_once_by_outcome_with_its_duration_when_known() {
        let (doc, metrics) =
            one(&recorded(&record_output(RunOutcome::Failed, true), Some(time::Duration::milliseconds(90_500))));
        assert_eq!(
            metrics,
            [
                metric(RUNS_RECORDED, "Count", &[STACK, OUTCOME], 1.0),
                metric(RUN_DURATION, "Seconds", &[STACK, OUTCOME], 90.5)
            ]
        );
        assert_eq!(doc[OUTCOME], "FAILED");

        let (doc, metrics) = one(&recorded(&record_output(RunOutcome::Completed, true), None));
        assert_eq!(metrics, [metric(RUNS_RECORDED, "Count", &[STACK, OUTCOME], 1.0)]);
        assert_eq!(doc[OUTCOME], "COMPLETED");
        assert_eq!(serde_json::to_value(RunOutcome::Completed).unwrap(), "COMPLETED");

        // A retried call, or one that came after another outcome: no line.
        assert!(emitted(&recorded(&record_output(RunOutcome::Failed, false), Some(time::Duration::SECOND))).is_empty());
    }

    #[test]
    fn a_negative_duration_counts_as_zero() {
        let m = Metric::seconds(RUN_DURATION, time::Duration::seconds(-3));
        assert_eq!(m.value.as_f64(), Some(0.0));
    }

    #[test]
    fn the_document_has_the_documented_shape() {
        let doc = Document::new()
            .dimension(STATUS, "INVALID")
            .metrics(&[STATUS], [Metric::count(FILES_VALIDATED, 1)])
            .render(&[(STACK, "s".into())], 1_714_521_600_000);
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_714_521_600_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "edba",
                        "Dimensions": [["Stack", "Status"]],
                        "Metrics": [{"Name": "FilesValidated", "Unit": "Count"}]
                    }]
                },
                "Stack": "s",
                "Status": "INVALID",
                "FilesValidated": 1
            })
        );
    }

    #[test]
    fn without_a_stack_a_document_is_still_valid() {
        let writer = EmfWriter::new(Vec::new(), None);
        writer.emit(&validated(&validate_output(FileStatus::Invalid, 0, 0)));
        let text = String::from_utf8(writer.into_inner()).unwrap();
        let doc: Value = serde_json::from_str(text.trim_end()).unwrap();
        let metrics = check_emf(&doc);
        assert_eq!(metrics[0], metric(FILES_VALIDATED, "Count", &[STATUS], 1.0));
        assert_eq!(metrics[1].2, Vec::<String>::new(), "an empty dimension set: the metric over all");
    }

    #[test]
    fn a_dimension_without_a_value_still_renders_a_valid_document() {
        let doc = Document::new().metrics(&[OUTCOME], [Metric::count(RUNS_RECORDED, 1)]).render(&[], 0);
        check_emf(&doc);
        assert_eq!(doc[OUTCOME], "unknown");
    }

    #[test]
    fn documents_written_together_stay_one_per_line() {
        let writer = std::sync::Arc::new(EmfWriter::new(Vec::new(), Some("s".into())));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let writer = writer.clone();
                scope.spawn(move || {
                    for _ in 0..50 {
                        writer.emit(&loaded(&LoadOutput { run_id: "R".into(), tables: vec![] }));
                    }
                });
            }
        });
        let writer = std::sync::Arc::into_inner(writer).unwrap();
        let text = String::from_utf8(writer.into_inner()).unwrap();
        assert_eq!(text.lines().count(), 200);
        for line in text.lines() {
            check_emf(&serde_json::from_str(line).unwrap());
        }
    }
}
