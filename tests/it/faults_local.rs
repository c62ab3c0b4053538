//! Faults injected into the local runtime: whatever fails, no file is lost
//! and no run stays RUNNING. An ingest that still fails after its retries
//! parks its event in the home's dead-letter queue; `edba replay` ingests it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use edba_local::executor::TaskFailure;
use edba_local::pipeline::{LocalPipeline, RunReport, LOCAL_BUCKET};
use edba_payloads::resource;
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::pipeline_local::{options, repo};

const PARKED: &str = "Edba.IngestParked";

/// Makes every call of `task` about `file` fail with `error`; counts them.
fn fail_for_file(pipeline: &LocalPipeline, task: &str, file: &'static str, error: &'static str) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let injected = pipeline.executor().inject_fault(task, move |input: &Value| {
        input.to_string().contains(file).then(|| {
            counted.fetch_add(1, Ordering::SeqCst);
            TaskFailure::new(error, format!("injected for {file}"))
        })
    });
    assert!(injected, "{task} is bound");
    calls
}

async fn run_sampledata_with<T>(home: &Path, inject: impl FnOnce(&LocalPipeline) -> T) -> (RunReport, T) {
    let pipeline = LocalPipeline::open(options(home)).await.unwrap();
    let injected = inject(&pipeline);
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    pipeline.close().await;
    (report, injected)
}

async fn replay(home: &Path) -> RunReport {
    let pipeline = LocalPipeline::open(options(home)).await.unwrap();
    let report = pipeline.replay(&|_| {}).await.unwrap();
    pipeline.close().await;
    report
}

fn tracked<'a>(report: &'a RunReport, name: &str) -> Option<&'a str> {
    report.files.iter().find(|f| f.file.file_name == name).map(|f| f.file.status.as_str())
}

fn assert_nothing_running(report: &RunReport) {
    let running: Vec<&str> = report.runs.iter().filter(|r| r.status == "RUNNING").map(|r| r.run_id.as_str()).collect();
    assert!(running.is_empty(), "runs left RUNNING: {running:?}");
}

/// Asserts the one parked event is `file`'s, parked for `error`, and that
/// its ingest execution failed saying so.
fn assert_parked(report: &RunReport, file: &str, error: &str) {
    assert!(!report.ok, "a parked event makes the run not ok");
    let parked: Vec<(Option<String>, Option<&str>)> =
        report.parked.iter().map(|p| (p.object_key(), p.error.as_deref())).collect();
    assert_eq!(parked, [(Some(format!("incoming/{file}")), Some(error))]);
    let failed: Vec<(&str, Option<&str>)> = report
        .executions
        .iter()
        .filter(|e| e.status != "SUCCEEDED")
        .map(|e| (e.machine.as_str(), e.error.as_deref()))
        .collect();
    assert_eq!(failed, [("ingest", Some(PARKED))], "only the parked file's ingest failed");
    let cause = report.executions.iter().find_map(|e| e.cause.as_deref().filter(|c| c.contains(file))).unwrap();
    assert!(cause.contains("edba replay"), "the cause says how to recover: {cause}");
    assert_eq!(tracked(report, file), None, "{file} is not tracked yet");
    assert_nothing_running(report);
}

/// The parked event was ingested: `file` is tracked, the queue is empty.
fn assert_replayed(report: &RunReport, file: &str) {
    assert!(report.parked.is_empty(), "the queue is empty: {:?}", report.parked);
    assert_eq!(tracked(report, file), Some("VALIDATED"), "{file} is tracked");
    assert!(report.ok, "{report}");
    assert_nothing_running(report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttling_beyond_the_retry_budget_parks_the_event_and_replay_tracks_the_file() {
    let home = tempfile::tempdir().unwrap();
    let (report, throttled) = run_sampledata_with(home.path(), |p| {
        fail_for_file(p, &resource::VALIDATE.token(), "IL-101.tdf", "Lambda.TooManyRequestsException")
    })
    .await;
    assert_eq!(throttled.load(Ordering::SeqCst), 3, "validate was tried three times: once and two retries");
    assert_parked(&report, "IL-101.tdf", "Lambda.TooManyRequestsException");

    let replayed = replay(home.path()).await;
    assert_replayed(&replayed, "IL-101.tdf");
    // The tracked version is the one uploaded before the fault.
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    let head = pipeline.s3_client().head_object().bucket(LOCAL_BUCKET).key("incoming/IL-101.tdf").send().await.unwrap();
    let row = pipeline.store().file(&format!("s3://{LOCAL_BUCKET}/incoming/IL-101.tdf")).await.unwrap().unwrap();
    pipeline.close().await;
    assert_eq!(row.version_id.as_deref(), head.version_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_state_store_down_during_track_parks_the_event_and_replay_tracks_the_file() {
    let home = tempfile::tempdir().unwrap();
    let (report, failed) = run_sampledata_with(home.path(), |p| {
        fail_for_file(p, &resource::TRACK.token(), "IL-102.tdf", "Edba.Transient")
    })
    .await;
    assert_eq!(failed.load(Ordering::SeqCst), 3);
    assert_parked(&report, "IL-102.tdf", "Edba.Transient");
    assert_replayed(&replay(home.path()).await, "IL-102.tdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_that_fails_again_on_replay_is_parked_again_not_lost() {
    let home = tempfile::tempdir().unwrap();
    let (first, _) = run_sampledata_with(home.path(), |p| {
        fail_for_file(p, &resource::VALIDATE.token(), "CA-201.tdf", "Edba.Transient")
    })
    .await;
    assert_parked(&first, "CA-201.tdf", "Edba.Transient");
    let message = first.parked[0].message_id.clone();

    // Still failing: the old message is replaced by a new one for the same event.
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    fail_for_file(&pipeline, &resource::VALIDATE.token(), "CA-201.tdf", "Edba.Transient");
    let again = pipeline.replay(&|_| {}).await.unwrap();
    pipeline.close().await;
    assert_eq!(again.parked.len(), 1, "{:?}", again.parked);
    assert_ne!(again.parked[0].message_id, message, "parked anew");
    assert_eq!(again.parked[0].body, first.parked[0].body, "the same event");
    assert!(!again.ok);

    assert_replayed(&replay(home.path()).await, "CA-201.tdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_s3_error_within_the_retry_budget_is_retried_and_nothing_is_parked() {
    let home = tempfile::tempdir().unwrap();
    let (report, failed) = run_sampledata_with(home.path(), |p| {
        // The first two calls of validate for CA-202 fail (an S3 write
        // refused, say); the third, the last attempt, goes through.
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        p.executor().inject_fault(&resource::VALIDATE.token(), move |input| {
            (input.to_string().contains("CA-202.tdf") && counted.fetch_add(1, Ordering::SeqCst) < 2)
                .then(|| TaskFailure::new("Edba.Transient", "injected: PutObject refused (SlowDown)"))
        });
        calls
    })
    .await;
    assert_eq!(failed.load(Ordering::SeqCst), 3, "two failures, then the attempt that went through");
    assert!(report.parked.is_empty(), "{:?}", report.parked);
    assert_eq!(tracked(&report, "CA-202.tdf"), Some("VALIDATED"));
    assert!(report.ok, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_emr_step_is_recorded_with_its_cause_and_rerun_completes_the_run() {
    const ADD_STEP_SYNC: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let is_broken = broken.clone();
    pipeline.executor().inject_fault(ADD_STEP_SYNC, move |_| {
        is_broken
            .load(Ordering::SeqCst)
            .then(|| TaskFailure::new("States.TaskFailed", "injected: Step failed: the cluster lost its core nodes"))
    });
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    assert!(!report.ok);
    assert_nothing_running(&report);
    assert_eq!(report.runs.len(), 1, "{report}");
    let run = &report.runs[0];
    assert_eq!((run.status.as_str(), run.error.as_deref()), ("FAILED", Some("States.TaskFailed")));
    assert!(run.cause.as_deref().unwrap_or_default().contains("core nodes"), "{run:?}");
    assert!(report.parked.is_empty(), "ingest was not affected");

    broken.store(false, Ordering::SeqCst);
    let result = pipeline.rerun(&run.run_id, &|_| {}).await.unwrap();
    assert_eq!(result.status, edba_local::executor::ExecutionStatus::Succeeded, "{:?}", result.cause);
    let done = edba_tasks::record::impacted(pipeline.store(), &run.run_id).await.unwrap();
    assert_eq!(done.status.as_str(), "COMPLETED");
    pipeline.close().await;
    assert_eq!(crate::pipeline_local::warehouse(home.path()).await.0, crate::pipeline_local::expected_item_days("IL"));
}

/// Real S3 errors, from the embedded server through the real S3 client: S3
/// refuses to store validated objects (503 SlowDown) until it recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_refusing_writes_parks_the_event_and_replay_ingests_it_once_s3_recovers() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    pipeline.s3_server().inject_fault(|r| {
        r.key.starts_with("validated/IL-103")
            && matches!(r.operation, "PutObject" | "CreateMultipartUpload" | "UploadPart")
    });
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    assert_parked(&report, "IL-103.tdf", "Edba.Transient");

    pipeline.s3_server().clear_faults();
    let replayed = pipeline.replay(&|_| {}).await.unwrap();
    pipeline.close().await;
    assert_replayed(&replayed, "IL-103.tdf");
}

/// S3 refuses the step's reads of validated objects: the run fails with the
/// cause, nothing stays RUNNING, and `edba rerun` completes it once S3 is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_refusing_the_steps_reads_fails_the_run_and_rerun_completes_it() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    pipeline.s3_server().inject_fault(|r| r.operation == "GetObject" && r.key.starts_with("validated/"));
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    assert!(!report.ok);
    assert_nothing_running(&report);
    assert!(report.parked.is_empty(), "ingest never reads validated objects");
    assert_eq!(report.runs.len(), 1, "{report}");
    let run = &report.runs[0];
    assert_eq!(run.status, "FAILED", "{run:?}");
    assert!(run.cause.as_deref().unwrap_or_default().contains("SlowDown"), "the cause names S3's error: {run:?}");

    pipeline.s3_server().clear_faults();
    let result = pipeline.rerun(&run.run_id, &|_| {}).await.unwrap();
    assert_eq!(result.status, edba_local::executor::ExecutionStatus::Succeeded, "{:?}", result.cause);
    pipeline.close().await;
    assert_eq!(crate::pipeline_local::warehouse(home.path()).await.0, crate::pipeline_local::expected_item_days("IL"));
}

/// The state store is unreachable when the run's outcome is recorded (past
/// Record's retries): the iteration ends without stopping the execution's
/// other work, the run stays RUNNING only until the next evaluation, which
/// marks it FAILED and gives its inputs back; the job then fires again over
/// the same inputs and completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_state_store_down_during_record_is_reconciled_and_the_job_fires_again() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let is_down = down.clone();
    pipeline.executor().inject_fault(&resource::RECORD.token(), move |_| {
        is_down.load(Ordering::SeqCst).then(|| TaskFailure::new("Edba.Transient", "injected: the state store is down"))
    });
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    assert!(!report.ok);
    let j101 = |status: &edba_tasks::store::status::StoreStatus| -> Vec<(String, String, u64)> {
        let mut runs: Vec<_> = status
            .runs
            .iter()
            .filter(|r| r.job_id == "J101")
            .map(|r| (r.status.clone(), r.cause.clone().unwrap_or_default(), r.inputs))
            .collect();
        runs.reverse(); // oldest first
        runs
    };
    // The ingest-started evaluation fired J101; its outcome was not recorded.
    // The scheduled evaluation after it found that execution ended, gave the
    // inputs back and fired J101 again, whose outcome was not recorded either.
    let before = j101(&pipeline.store().status(10).await.unwrap());
    let (last, earlier) = before.split_last().expect("J101 fired");
    assert_eq!(last.0, "RUNNING", "the latest outcome could not be recorded: {before:?}");
    for run in earlier {
        assert_eq!(run.0, "FAILED", "{before:?}");
        assert!(run.1.contains("inputs are fresh again"), "{before:?}");
    }

    // The store is back; the next evaluation reconciles the run, and the job
    // fires again over the same inputs and completes.
    down.store(false, Ordering::SeqCst);
    let again = pipeline.replay(&|_| {}).await.unwrap();
    assert_nothing_running(&again);
    let after = j101(&pipeline.store().status(10).await.unwrap());
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(after[before.len() - 1].0, "FAILED", "reconciled: {after:?}");
    let done = after.last().unwrap();
    assert_eq!((done.0.as_str(), done.2), ("COMPLETED", before[0].2), "over the same inputs: {after:?}");
    pipeline.close().await;
    assert_eq!(crate::pipeline_local::warehouse(home.path()).await.0, crate::pipeline_local::expected_item_days("IL"));
}
