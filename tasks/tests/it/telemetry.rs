//! What an invocation logs and measures (`edba_tasks::telemetry::observe`, as
//! the Lambda binaries call it): every log line carries what the invocation
//! is about (run and job, or file) through its span, under the JSON format
//! Lambda's default subscriber writes; the outcome is logged; the metrics are
//! EMF documents CloudWatch accepts.
//!
//! Logs are captured with a subscriber set for the test's thread: the task
//! futures are polled there (`block_on`), whatever the runtime's flavour.

use std::io::Write;
use std::sync::{Arc, Mutex};

use edba_payloads::{
    AggregateInput, EvaluateInput, EvaluateOutput, LoadInput, LoadOutput, ReconciledRun, RecordInput, RunOutcome,
    RunTicket, S3ObjectRef, StepSpec, TableLoad, TaskFailure, Trigger, ValidateInput, WaitingJob,
};
use edba_tasks::metrics::{self, EmfWriter};
use edba_tasks::record::record_run;
use edba_tasks::telemetry::{evaluate_span, load_span, observe, record_span, track_span, validate_span};
use edba_tasks::validate::{validate_object, ValidateOptions};
use edba_testkit::fixtures::{self, job, BUCKET};
use edba_testkit::{sql_time, StoreDb};
use lambda_runtime::tracing::subscriber;
use serde_json::Value;
use time::OffsetDateTime;

// ---------------------------------------------------------------- capture

/// Log lines written to memory.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Every line, parsed: each must be one JSON object.
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
            .collect()
    }
}

/// Sends this thread's logs, formatted as `lambda_runtime`'s default
/// subscriber formats them where `AWS_LAMBDA_LOG_FORMAT=JSON` (at INFO, no
/// target, no time), to the returned buffer until the guard is dropped.
fn capture_json_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let json = subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(json))
}

/// The fields of the span named `name` among a line's spans.
fn span<'a>(line: &'a Value, name: &str) -> &'a Value {
    line["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("the line is inside the {name} span: {line}"))
}

/// The EMF documents a writer got, each checked as CloudWatch requires.
fn emf_documents(writer: EmfWriter<Vec<u8>>) -> Vec<Value> {
    let text = String::from_utf8(writer.into_inner()).unwrap();
    text.lines()
        .map(|line| {
            let doc: Value = serde_json::from_str(line).expect("an EMF line is JSON");
            let directives = doc["_aws"]["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
            assert!(doc["_aws"]["Timestamp"].is_u64(), "{doc}");
            for directive in directives {
                assert_eq!(directive["Namespace"], metrics::NAMESPACE);
                for set in directive["Dimensions"].as_array().expect("Dimensions") {
                    for key in set.as_array().expect("a dimension set") {
                        assert!(doc[key.as_str().unwrap()].is_string(), "dimension {key}: {doc}");
                    }
                }
                for metric in directive["Metrics"].as_array().expect("Metrics") {
                    assert!(doc[metric["Name"].as_str().unwrap()].is_number(), "{metric}: {doc}");
                }
            }
            doc
        })
        .collect()
}

fn emf() -> EmfWriter<Vec<u8>> {
    EmfWriter::new(Vec::new(), Some("edba-test".into()))
}

// ---------------------------------------------------------------- record

/// What evaluate writes when it claims `run_id` of `job_id`, started at `started_at`.
async fn claim(db: &StoreDb, run_id: &str, job_id: &str, started_at: OffsetDateTime) {
    db.claim_run(run_id, job_id, &sql_time(started_at)).await;
}

fn record_input(run_id: &str, job_id: &str, outcome: RunOutcome) -> RecordInput {
    let failure = match outcome {
        RunOutcome::Failed => Some(TaskFailure { error: Some("Edba.LoadFailed".into()), cause: Some("boom".into()) }),
        RunOutcome::Completed => None,
    };
    RecordInput { run_id: run_id.into(), job_id: job_id.into(), outcome, emr: None, load: None, failure }
}

async fn every_record_line_names_the_run_and_job_and_the_outcome_is_measured_once(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    claim(db, "run-1", "il-sales", OffsetDateTime::now_utc() - time::Duration::HOUR).await;
    let (logs, _guard) = capture_json_logs();
    let sink = emf();

    let failed = record_input("run-1", "il-sales", RunOutcome::Failed);
    let recorded = observe(record_span(&failed), &sink, record_run(&db.store, &failed)).await.unwrap();
    assert!(recorded.output.changed);
    // A contradicting outcome afterwards: record warns, the first one stands.
    let late = record_input("run-1", "il-sales", RunOutcome::Completed);
    let again = observe(record_span(&late), &sink, record_run(&db.store, &late)).await.unwrap();
    assert!(!again.output.changed);
    assert_eq!(again.ran_for, None);

    let lines = logs.lines();
    assert!(lines.len() >= 3, "an outcome line per call and the warning: {lines:#?}");
    for line in &lines {
        let record = span(line, "record");
        assert_eq!(record["run_id"], "run-1", "{line}");
        assert_eq!(record["job_id"], "il-sales", "{line}");
    }
    let outcomes: Vec<&Value> = lines.iter().filter(|l| l["fields"]["message"] == "run outcome recorded").collect();
    assert_eq!(outcomes.len(), 2, "{lines:#?}");
    assert_eq!(outcomes[0]["level"], "INFO");
    assert_eq!(outcomes[0]["fields"]["status"], "FAILED");
    assert_eq!(outcomes[0]["fields"]["changed"], true);
    assert_eq!(outcomes[1]["fields"]["changed"], false);
    assert!(lines.iter().any(|l| l["level"] == "WARN" && span(l, "record")["outcome"] == "COMPLETED"));

    // One run, one count: the retried call adds no document.
    let docs = emf_documents(sink);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0][metrics::OUTCOME], "FAILED");
    assert_eq!(docs[0][metrics::STACK], "edba-test");
    assert_eq!(docs[0][metrics::RUNS_RECORDED], 1);
    // Claimed an hour before: the duration is at least that (and not days).
    let seconds = docs[0][metrics::RUN_DURATION].as_f64().expect("a duration");
    assert!((3600.0..86_400.0).contains(&seconds), "{seconds}");
}

async fn a_failed_invocation_logs_its_stable_error_name_inside_its_span(db: &StoreDb) {
    let (logs, _guard) = capture_json_logs();
    let sink = emf();
    let unknown = record_input("no-such-run", "il-sales", RunOutcome::Completed);
    let err = observe(record_span(&unknown), &sink, record_run(&db.store, &unknown)).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");

    let lines = logs.lines();
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{lines:#?}");
    assert_eq!(errors[0]["fields"]["error"], "Edba.InvalidInput");
    assert_eq!(span(errors[0], "record")["run_id"], "no-such-run");
    assert!(emf_documents(sink).is_empty(), "a failed invocation measures nothing; Lambda counts its Errors");
}

// ---------------------------------------------------------------- track

async fn every_track_line_names_the_file_version(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    let file = fixtures::sales("IL-101.tdf", "2024-05-01T09:00:00.250000Z").partition("IL");
    let (logs, _guard) = capture_json_logs();
    let sink = emf();
    let input = file.input();
    let output = observe(track_span(&input), &sink, db.store.track(&input)).await.unwrap();
    assert!(output.job_may_be_ready);

    let lines = logs.lines();
    assert!(!lines.is_empty());
    for line in &lines {
        let track = span(line, "track");
        assert_eq!(track["bucket"], BUCKET, "{line}");
        assert_eq!(track["key"], "incoming/IL-101.tdf", "{line}");
        assert_eq!(track["version_id"], "v-IL-101", "{line}");
        assert_eq!(track["status"], "VALIDATED", "{line}");
    }
    let tracked = lines.iter().find(|l| l["fields"]["message"] == "file tracked").expect("the outcome line");
    assert_eq!(tracked["fields"]["outcome"], "INSERTED");
    assert_eq!(tracked["fields"]["job_may_be_ready"], true);

    let docs = emf_documents(sink);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0][metrics::FILES_TRACKED], 1);
    assert_eq!(docs[0][metrics::OUTCOME], "INSERTED");
}

edba_testkit::on_both_databases!("telemetry";
    every_record_line_names_the_run_and_job_and_the_outcome_is_measured_once,
    a_failed_invocation_logs_its_stable_error_name_inside_its_span,
    every_track_line_names_the_file_version,
);

// ---------------------------------------------------------------- validate

/// An S3 endpoint that answers every request `404 NoSuchKey`: a bucket
/// without a project (`code/edba.toml`), so the sample's datasets apply.
async fn s3_without_a_project() -> aws_sdk_s3::Client {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>";
                let response = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A key no dataset claims is INVALID before validate reads the object: the
/// only request is for the bucket's project, which it has none of.
#[tokio::test]
async fn validate_lines_name_the_decoded_key_and_version_and_count_the_file_by_status() {
    let s3 = s3_without_a_project().await;
    let input = ValidateInput {
        bucket: BUCKET.into(),
        object: S3ObjectRef {
            // As S3 encodes "incoming/notes 2024.txt" in an event.
            key: "incoming/notes+2024.txt".into(),
            size: Some(12),
            etag: Some("etag-1".into()),
            version_id: Some("v-1".into()),
            sequencer: "0100".into(),
        },
        event_time: "2024-05-01T09:00:00Z".into(),
    };
    let (logs, _guard) = capture_json_logs();
    let sink = emf();
    let output =
        observe(validate_span(&input), &sink, validate_object(&s3, &input, &ValidateOptions::default())).await.unwrap();
    assert_eq!(output.status.as_str(), "INVALID");

    let lines = logs.lines();
    let validated = lines.iter().find(|l| l["fields"]["message"] == "file validated").expect("the outcome line");
    assert_eq!(validated["fields"]["status"], "INVALID");
    assert_eq!(validated["fields"]["rows_valid"], 0);
    for line in &lines {
        let validate = span(line, "validate");
        assert_eq!(validate["bucket"], BUCKET, "{line}");
        assert_eq!(validate["key"], "incoming/notes 2024.txt", "{line}");
        assert_eq!(validate["version_id"], "v-1", "{line}");
    }

    let docs = emf_documents(sink);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0][metrics::STATUS], "INVALID");
    assert_eq!(docs[0][metrics::FILES_VALIDATED], 1);
    assert_eq!(docs[0][metrics::ROWS_REJECTED], 0);
}

// ---------------------------------------------------------------- evaluate, load

#[tokio::test]
async fn evaluate_lines_name_the_execution_and_each_claimed_or_reconciled_run() {
    let input = EvaluateInput {
        request: AggregateInput {
            trigger: Trigger::Ingest,
            file_url: Some(format!("s3://{BUCKET}/incoming/IL-101.tdf")),
            run_id: None,
            started_by: None,
        },
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:aggregate:e-1".into(),
    };
    let output = EvaluateOutput {
        evaluated_at: "2024-05-01T09:00:00.000000Z".into(),
        runs: vec![RunTicket {
            run_id: "run-2".into(),
            job_id: "il-sales".into(),
            cluster_id: "j-TESTCLUSTER1".into(),
            step: StepSpec { name: "il-sales".into(), args: vec![] },
            manifest_key: "manifests/il-sales/run-2.json".into(),
            output_prefix: "output/il-sales/run-2/".into(),
            input_count: 3,
            tables: vec!["sales_summary".into()],
        }],
        waiting: vec![WaitingJob { job_id: "ca-sales".into(), reason: "0 of 1 CA-* files".into() }],
        waiting_total: 1,
        reconciled: vec![ReconciledRun {
            run_id: "run-1".into(),
            job_id: "il-sales".into(),
            execution_status: "ABORTED".into(),
            cause: "aborted by hand".into(),
        }],
        reconciled_total: 1,
    };
    let (logs, _guard) = capture_json_logs();
    let sink = emf();
    observe(evaluate_span(&input), &sink, async { Ok(output) }).await.unwrap();

    let lines = logs.lines();
    for line in &lines {
        let evaluate = span(line, "evaluate");
        assert_eq!(evaluate["execution_arn"], input.execution_arn, "{line}");
        assert_eq!(evaluate["trigger"], "ingest", "{line}");
    }
    let about = |message: &str| -> Vec<(Value, Value)> {
        lines
            .iter()
            .filter(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with(message)))
            .map(|l| (l["fields"]["run_id"].clone(), l["fields"]["job_id"].clone()))
            .collect()
    };
    assert_eq!(about("run claimed"), [("run-2".into(), "il-sales".into())]);
    assert_eq!(about("run marked FAILED"), [("run-1".into(), "il-sales".into())]);
    let summary = lines.iter().find(|l| l["fields"]["message"] == "evaluation finished").expect("summary");
    assert_eq!(
        (&summary["fields"]["runs_claimed"], &summary["fields"]["jobs_waiting"], &summary["fields"]["runs_reconciled"]),
        (&Value::from(1), &Value::from(1), &Value::from(1))
    );

    let docs = emf_documents(sink);
    assert_eq!(docs.len(), 1);
    for name in [metrics::RUNS_CLAIMED, metrics::JOBS_WAITING, metrics::RUNS_RECONCILED] {
        assert_eq!(docs[0][name], 1, "{name}");
    }
}

#[tokio::test]
async fn load_lines_name_the_run_and_job() {
    let input = LoadInput {
        run_id: "run-2".into(),
        job_id: "il-sales".into(),
        output_prefix: "output/il-sales/run-2/".into(),
        tables: vec!["sales_summary".into()],
    };
    let output = LoadOutput {
        run_id: "run-2".into(),
        tables: vec![TableLoad { table: "sales_summary".into(), rows_merged: 42 }],
    };
    let (logs, _guard) = capture_json_logs();
    let sink = emf();
    observe(load_span(&input), &sink, async { Ok(output) }).await.unwrap();

    let lines = logs.lines();
    assert_eq!(lines.len(), 2, "a line per table and one per run: {lines:#?}");
    for line in &lines {
        assert_eq!(span(line, "load")["run_id"], "run-2", "{line}");
        assert_eq!(span(line, "load")["job_id"], "il-sales", "{line}");
    }
    assert_eq!(lines[1]["fields"]["rows_merged"], 42);
    assert_eq!(emf_documents(sink)[0][metrics::ROWS_MERGED], 42);
}
