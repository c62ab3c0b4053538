//! The record task and `impacted` on real databases. Every case runs on SQLite
//! (a temporary file) and on MariaDB (a fresh database per test at
//! `EDBA_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/`); the MariaDB
//! cases fail, not skip, when the server is unreachable. The original sample's
//! operator queries are checked on MariaDB after record marked the runs.
//!
//! Runs are claimed here with plain SQL, writing what evaluate writes (a
//! RUNNING `job_runs` row, the job's run state and `run_inputs`), so these
//! tests depend on nothing but the schema.

use edba_payloads::{FileStatus, RecordInput, RecordOutput, RunOutcome, TaskFailure};
use edba_tasks::record::{impacted, record, ImpactedFile, ImpactedFiles};
use edba_tasks::store::JobStatus;
use edba_testkit::fixtures::{self, job, FileFixture, BUCKET};
use edba_testkit::{Admin, StoreDb};
use pretty_assertions::assert_eq;
use serde_json::json;
use sqlx::Row;

// ---------------------------------------------------------------- fixtures

fn url(name: &str) -> String {
    format!("s3://{BUCKET}/incoming/{name}")
}

/// A clean sales file, version `version` (sequencer grows with it).
fn sales_file(name: &str, version: u32, validated_minute: u32) -> FileFixture {
    let mut file = fixtures::sales(name, &format!("2024-05-01T09:{validated_minute:02}:00.250000Z"))
        .version(&format!("v{version}"), &format!("{:04X}", version * 0x100));
    file.0.partition = name.split('-').next().map(str::to_owned);
    file.0.validated_key = Some(format!("validated/{name}.csv"));
    file
}

/// An instant on the test day, as SQL text both servers accept.
fn sql_time(minute: u32) -> String {
    format!("2024-05-01 10:{minute:02}:00.123456")
}

fn completed(run_id: &str, job_id: &str, emr: serde_json::Value) -> RecordInput {
    RecordInput {
        run_id: run_id.into(),
        job_id: job_id.into(),
        outcome: RunOutcome::Completed,
        emr: Some(emr),
        load: None,
        failure: None,
    }
}

fn failed(run_id: &str, job_id: &str, error: &str, cause: &str) -> RecordInput {
    RecordInput {
        run_id: run_id.into(),
        job_id: job_id.into(),
        outcome: RunOutcome::Failed,
        emr: None,
        load: None,
        failure: Some(TaskFailure { error: Some(error.into()), cause: Some(cause.into()) }),
    }
}

/// The cause Step Functions gives a Catch when an `addStep.sync` step fails:
/// the DescribeStep document as a string.
fn emr_step_failed_cause(step_id: &str) -> String {
    json!({
        "Step": {
            "ActionOnFailure": "CONTINUE",
            "Config": { "Args": ["spark-submit", "aggregate.py"], "Jar": "command-runner.jar" },
            "Id": step_id,
            "Name": "il-sales",
            "Status": {
                "FailureDetails": { "Reason": "Unknown Error.", "LogFile": "s3://logs/steps/stderr.gz" },
                "State": "FAILED",
                "StateChangeReason": {}
            }
        }
    })
    .to_string()
}

/// A run's row as stored; times as `YYYY-MM-DD HH:MM:SS.ffffff` text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunState {
    status: String,
    step_id: Option<String>,
    finished_at: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

/// A job's run state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct JobState {
    last_status: Option<String>,
    last_run_id: Option<String>,
    last_finished_at: Option<String>,
}

/// What the record tests set up and read back besides the testkit's
/// helpers: claimed runs (what evaluate writes) and rows as stored.
trait RecordDb {
    async fn claim(&self, run_id: &str, job_id: &str, minute: u32, inputs: &[(&str, u32)]);
    async fn record(&self, input: &RecordInput) -> RecordOutput;
    async fn run(&self, run_id: &str) -> RunState;
    async fn job(&self, job_id: &str) -> JobState;
}

impl RecordDb for StoreDb {
    /// What evaluate writes when it claims a run of `job_id` at `minute` over
    /// `inputs` (file name, version).
    async fn claim(&self, run_id: &str, job_id: &str, minute: u32, inputs: &[(&str, u32)]) {
        self.claim_run(run_id, job_id, &sql_time(minute)).await;
        for (name, version) in inputs {
            self.exec(
                "INSERT INTO run_inputs (run_id, file_url, version_id, etag) VALUES (?, ?, ?, ?)",
                &[run_id, &url(name), &format!("v{version}"), &format!("etag-v{version}")],
            )
            .await;
        }
    }

    async fn record(&self, input: &RecordInput) -> RecordOutput {
        record(&self.store, input).await.unwrap()
    }

    async fn run(&self, run_id: &str) -> RunState {
        match &self.admin {
            Admin::MySql(pool) => {
                let row = sqlx::query(
                    "SELECT status, step_id, error, cause, \
                     DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s.%f') AS finished_at \
                     FROM job_runs WHERE run_id = ?",
                )
                .bind(run_id)
                .fetch_one(pool)
                .await
                .unwrap();
                RunState {
                    status: row.get("status"),
                    step_id: row.get("step_id"),
                    finished_at: row.get("finished_at"),
                    error: row.get("error"),
                    cause: row.get("cause"),
                }
            }
            Admin::Sqlite(pool) => {
                let row = sqlx::query(
                    "SELECT status, step_id, error, cause, finished_at \
                     FROM job_runs WHERE run_id = ?",
                )
                .bind(run_id)
                .fetch_one(pool)
                .await
                .unwrap();
                RunState {
                    status: row.get("status"),
                    step_id: row.get("step_id"),
                    finished_at: row.get("finished_at"),
                    error: row.get("error"),
                    cause: row.get("cause"),
                }
            }
        }
    }

    async fn job(&self, job_id: &str) -> JobState {
        match &self.admin {
            Admin::MySql(pool) => {
                let row = sqlx::query(
                    "SELECT last_status, last_run_id, \
                     DATE_FORMAT(last_finished_at, '%Y-%m-%d %H:%i:%s.%f') AS last_finished_at \
                     FROM job_configs WHERE job_id = ?",
                )
                .bind(job_id)
                .fetch_one(pool)
                .await
                .unwrap();
                JobState {
                    last_status: row.get("last_status"),
                    last_run_id: row.get("last_run_id"),
                    last_finished_at: row.get("last_finished_at"),
                }
            }
            Admin::Sqlite(pool) => {
                let row = sqlx::query(
                    "SELECT last_status, last_run_id, last_finished_at \
                     FROM job_configs WHERE job_id = ?",
                )
                .bind(job_id)
                .fetch_one(pool)
                .await
                .unwrap();
                JobState {
                    last_status: row.get("last_status"),
                    last_run_id: row.get("last_run_id"),
                    last_finished_at: row.get("last_finished_at"),
                }
            }
        }
    }
}

fn output(run_id: &str, job_id: &str, status: RunOutcome, changed: bool) -> RecordOutput {
    RecordOutput {
        run_id: run_id.into(),
        job_id: job_id.into(),
        status,
        changed,
        failed_runs: match status {
            RunOutcome::Failed => vec![run_id.to_owned()],
            RunOutcome::Completed => Vec::new(),
        },
    }
}

/// A recorded run's finish time, which the job row must repeat.
fn finished(run: &RunState) -> Option<String> {
    assert!(run.finished_at.is_some(), "{run:?} has no finish time");
    run.finished_at.clone()
}

// ------------------------------------------------------------------- cases

async fn completed_run_keeps_the_step_id_of_either_emr_result_shape(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.put_job(&job("ca-sales", "CA-*", 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[]).await;
    db.claim("run-ca-1", "ca-sales", 10, &[]).await;

    // AddJobFlowSteps' shape, and the DescribeStep shape `.sync` returns.
    let il = completed("run-il-1", "il-sales", json!({ "StepId": "s-2V7X5X1XQ7ZTZ" }));
    let ca = completed(
        "run-ca-1",
        "ca-sales",
        json!({ "Step": { "Id": "s-1K5YJ2BDSF8OO", "Status": { "State": "COMPLETED" } } }),
    );
    assert_eq!(db.record(&il).await, output("run-il-1", "il-sales", RunOutcome::Completed, true));
    assert_eq!(db.record(&ca).await, output("run-ca-1", "ca-sales", RunOutcome::Completed, true));

    for (run_id, job_id, step_id) in
        [("run-il-1", "il-sales", "s-2V7X5X1XQ7ZTZ"), ("run-ca-1", "ca-sales", "s-1K5YJ2BDSF8OO")]
    {
        let run = db.run(run_id).await;
        assert_eq!(
            run,
            RunState {
                status: "COMPLETED".into(),
                step_id: Some(step_id.into()),
                finished_at: finished(&run),
                error: None,
                cause: None,
            }
        );
        assert_eq!(
            db.job(job_id).await,
            JobState {
                last_status: Some("COMPLETED".into()),
                last_run_id: Some(run_id.into()),
                last_finished_at: run.finished_at.clone(),
            }
        );
    }

    // An unrecognised result records the outcome without a step id.
    db.put_job(&job("oh-sales", "OH-*", 1)).await;
    db.claim("run-oh-1", "oh-sales", 11, &[]).await;
    db.record(&completed("run-oh-1", "oh-sales", json!({ "Output": "?" }))).await;
    let run = db.run("run-oh-1").await;
    assert_eq!((run.status.as_str(), run.step_id), ("COMPLETED", None));
}

async fn failed_run_keeps_error_cause_and_the_step_id_from_the_cause(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[]).await;
    let cause = emr_step_failed_cause("s-1K5YJ2BDSF8OO");
    let out = db.record(&failed("run-il-1", "il-sales", "States.TaskFailed", &cause)).await;
    assert_eq!(out, output("run-il-1", "il-sales", RunOutcome::Failed, true));
    assert_eq!(out.failed_runs, ["run-il-1"]);

    let run = db.run("run-il-1").await;
    assert_eq!(
        run,
        RunState {
            status: "FAILED".into(),
            step_id: Some("s-1K5YJ2BDSF8OO".into()),
            finished_at: finished(&run),
            error: Some("States.TaskFailed".into()),
            cause: Some(cause),
        }
    );
    assert_eq!(
        db.job("il-sales").await,
        JobState {
            last_status: Some("FAILED".into()),
            last_run_id: Some("run-il-1".into()),
            last_finished_at: run.finished_at.clone(),
        }
    );

    // A load failure's cause names no step; an oversized cause is cut.
    db.put_job(&job("ca-sales", "CA-*", 1)).await;
    db.claim("run-ca-1", "ca-sales", 11, &[]).await;
    let huge = "x".repeat(100_000);
    db.record(&failed("run-ca-1", "ca-sales", "Edba.LoadFailed", &huge)).await;
    let run = db.run("run-ca-1").await;
    assert_eq!(run.step_id, None);
    assert_eq!(run.error.as_deref(), Some("Edba.LoadFailed"));
    let stored = run.cause.unwrap();
    assert!(stored.len() < 33 * 1024, "cause of {} bytes", stored.len());
    assert!(stored.starts_with(&"x".repeat(32 * 1024)));
    assert!(stored.ends_with("[cause truncated: 100000 bytes in total]"));
}

async fn retried_record_changes_nothing(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.put_job(&job("ca-sales", "CA-*", 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[]).await;
    db.claim("run-ca-1", "ca-sales", 10, &[]).await;
    let done = completed("run-il-1", "il-sales", json!({ "StepId": "s-2V7X5X1XQ7ZTZ" }));
    let fail = failed("run-ca-1", "ca-sales", "States.TaskFailed", &emr_step_failed_cause("s-1K5YJ2BDSF8OO"));
    db.record(&done).await;
    db.record(&fail).await;
    let (il_run, il_job) = (db.run("run-il-1").await, db.job("il-sales").await);
    let (ca_run, ca_job) = (db.run("run-ca-1").await, db.job("ca-sales").await);

    assert_eq!(db.record(&done).await, output("run-il-1", "il-sales", RunOutcome::Completed, false));
    assert_eq!(db.record(&fail).await, output("run-ca-1", "ca-sales", RunOutcome::Failed, false));
    // A retry carrying other details (another attempt's cause) changes nothing either.
    let mut fail_again = fail.clone();
    fail_again.failure.as_mut().unwrap().cause = Some("another attempt".into());
    assert!(!db.record(&fail_again).await.changed);

    // The first final outcome stands against a contradicting one, and the
    // output says what the store holds.
    let contradiction = failed("run-il-1", "il-sales", "States.Timeout", "late");
    assert_eq!(db.record(&contradiction).await, output("run-il-1", "il-sales", RunOutcome::Completed, false));
    assert_eq!(
        db.record(&completed("run-ca-1", "ca-sales", json!({}))).await,
        output("run-ca-1", "ca-sales", RunOutcome::Failed, false)
    );

    assert_eq!(db.run("run-il-1").await, il_run, "the run row is identical");
    assert_eq!(db.job("il-sales").await, il_job, "the job row is identical");
    assert_eq!(db.run("run-ca-1").await, ca_run);
    assert_eq!(db.job("ca-sales").await, ca_job);
}

async fn a_late_older_run_does_not_overwrite_the_newer_runs_status(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[]).await;
    db.claim("run-il-2", "il-sales", 20, &[]).await;

    let late = failed("run-il-1", "il-sales", "States.TaskFailed", "boom");
    assert_eq!(db.record(&late).await, output("run-il-1", "il-sales", RunOutcome::Failed, true));
    assert_eq!(db.run("run-il-1").await.status, "FAILED");
    assert_eq!(
        db.job("il-sales").await,
        JobState { last_status: Some("RUNNING".into()), last_run_id: Some("run-il-2".into()), last_finished_at: None },
        "the newer run still runs"
    );

    db.record(&completed("run-il-2", "il-sales", json!({ "StepId": "s-2V7X5X1XQ7ZTZ" }))).await;
    let newer = db.run("run-il-2").await;
    assert_eq!(
        db.job("il-sales").await,
        JobState {
            last_status: Some("COMPLETED".into()),
            last_run_id: Some("run-il-2".into()),
            last_finished_at: finished(&newer),
        }
    );
}

async fn unknown_run_or_wrong_job_is_invalid_input(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.put_job(&job("ca-sales", "CA-*", 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[]).await;
    let before = (db.run("run-il-1").await, db.job("il-sales").await);

    let unknown = completed("run-nope", "il-sales", json!({}));
    let err = record(&db.store, &unknown).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("run-nope"), "{err}");

    let wrong_job = completed("run-il-1", "ca-sales", json!({}));
    let err = record(&db.store, &wrong_job).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("il-sales"), "{err}");

    let empty = completed("", "il-sales", json!({}));
    let err = record(&db.store, &empty).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");

    assert_eq!((db.run("run-il-1").await, db.job("il-sales").await), before);
    assert_eq!(db.job("ca-sales").await.last_status, None);
}

async fn database_trouble_is_transient(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[]).await;
    db.store.close().await;
    let err = record(&db.store, &completed("run-il-1", "il-sales", json!({}))).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient");
    let err = impacted(&db.store, "run-il-1").await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient");
}

/// il-sales: run 1 read IL-1 and completed; run 2 read IL-2 v1, IL-3 v1 and
/// IL-9 (never tracked) and failed; then IL-3 v2 arrived.
async fn failed_il_history(db: &StoreDb) -> String {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.track(&sales_file("IL-1.tdf", 1, 1)).await;
    db.track(&sales_file("IL-2.tdf", 1, 1)).await;
    db.track(&sales_file("IL-3.tdf", 1, 1)).await;
    db.claim("run-il-1", "il-sales", 10, &[("IL-1.tdf", 1)]).await;
    db.record(&completed("run-il-1", "il-sales", json!({ "StepId": "s-2V7X5X1XQ7ZTZ" }))).await;
    db.claim("run-il-2", "il-sales", 20, &[("IL-2.tdf", 1), ("IL-3.tdf", 1), ("IL-9.tdf", 1)]).await;
    let cause = emr_step_failed_cause("s-1K5YJ2BDSF8OO");
    db.record(&failed("run-il-2", "il-sales", "States.TaskFailed", &cause)).await;
    db.track(&sales_file("IL-3.tdf", 2, 2)).await;
    cause
}

async fn impacted_lists_a_runs_inputs_by_run_id(db: &StoreDb) {
    let cause = failed_il_history(db).await;
    let report = impacted(&db.store, "run-il-2").await.unwrap();
    let finished_at = report.finished_at.clone();
    assert!(finished_at.as_deref().is_some_and(|t| t.ends_with('Z')));
    let input = |name: &str, validated: &str, superseded: bool| ImpactedFile {
        file_url: url(name),
        version_id: Some("v1".into()),
        etag: Some("etag-v1".into()),
        dataset: Some("sales".into()),
        status: Some(FileStatus::Validated),
        last_validated_at: Some(validated.into()),
        superseded,
    };
    assert_eq!(
        report,
        ImpactedFiles {
            run_id: "run-il-2".into(),
            job_id: "il-sales".into(),
            status: JobStatus::Failed,
            cluster_id: Some("j-TESTCLUSTER1".into()),
            step_id: Some("s-1K5YJ2BDSF8OO".into()),
            execution_arn: Some("arn:aws:states:us-east-1:123456789012:execution:aggregate:run-il-2".into()),
            manifest_key: Some("manifests/il-sales/run-il-2.json".into()),
            started_at: "2024-05-01T10:20:00.123456Z".into(),
            finished_at,
            error: Some("States.TaskFailed".into()),
            cause: Some(cause),
            files: vec![
                input("IL-2.tdf", "2024-05-01T09:01:00.25Z", false),
                // IL-3's v2 arrived after the run: the run read v1.
                input("IL-3.tdf", "2024-05-01T09:02:00.25Z", true),
                ImpactedFile {
                    file_url: url("IL-9.tdf"),
                    version_id: Some("v1".into()),
                    etag: Some("etag-v1".into()),
                    dataset: None,
                    status: None,
                    last_validated_at: None,
                    superseded: false,
                },
            ],
        }
    );

    let completed_run = impacted(&db.store, "run-il-1").await.unwrap();
    assert_eq!(completed_run.status, JobStatus::Completed);
    assert_eq!(completed_run.error, None);
    assert_eq!(completed_run.files.iter().map(|f| f.file_url.as_str()).collect::<Vec<_>>(), [url("IL-1.tdf")]);
}

async fn impacted_by_job_id_lists_its_last_failed_run(db: &StoreDb) {
    failed_il_history(db).await;
    // A later run completed: the job id still names the run that failed.
    db.claim("run-il-3", "il-sales", 30, &[("IL-3.tdf", 2)]).await;
    db.record(&completed("run-il-3", "il-sales", json!({}))).await;

    let by_job = impacted(&db.store, "il-sales").await.unwrap();
    assert_eq!(by_job, impacted(&db.store, "run-il-2").await.unwrap());

    // A job that never failed: a clear error naming its last run.
    db.put_job(&job("ca-sales", "CA-*", 1)).await;
    db.claim("run-ca-1", "ca-sales", 10, &[]).await;
    db.record(&completed("run-ca-1", "ca-sales", json!({}))).await;
    let err = impacted(&db.store, "ca-sales").await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("no failed run"), "{err}");
    assert!(err.to_string().contains("run-ca-1 is COMPLETED"), "{err}");

    db.put_job(&job("oh-sales", "OH-*", 1)).await;
    let err = impacted(&db.store, "oh-sales").await.unwrap_err();
    assert!(err.to_string().contains("never run"), "{err}");

    let err = impacted(&db.store, "nothing-by-that-name").await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("neither a run id nor a job id"), "{err}");
}

edba_testkit::on_both_databases!("record";
    completed_run_keeps_the_step_id_of_either_emr_result_shape,
    failed_run_keeps_error_cause_and_the_step_id_from_the_cause,
    retried_record_changes_nothing,
    a_late_older_run_does_not_overwrite_the_newer_runs_status,
    unknown_run_or_wrong_job_is_invalid_input,
    database_trouble_is_transient,
    impacted_lists_a_runs_inputs_by_run_id,
    impacted_by_job_id_lists_its_last_failed_run,
);

// ------------------------------------------------- operator queries (MySQL)

const RUNNING_JOBS: &str = "select job_config_id from aggrjobconfiguration where last_exec_status = 'RUNNING'";
const FILES_OF_FAILED_JOBS: &str = "select t1.job_config_id, t2.file_url, \
     t2.last_validated_timestamp from aggrjobconfiguration t1 join ingestedfilestatus t2 \
     on json_contains(t2.submitted_jobs, json_array(t1.job_config_id)) = 1 \
     where t1.last_exec_status = 'FAILED'";

/// The original sample's two operator queries, unchanged, see what record
/// wrote: the failed job's last-run files, nothing of a completed job.
#[tokio::test]
async fn mariadb_operator_queries_list_the_files_of_the_run_record_marked_failed() {
    let db = StoreDb::mariadb("record").await;
    let Admin::MySql(pool) = &db.admin else { unreachable!() };
    let running = || async {
        let mut jobs: Vec<String> = sqlx::query_scalar(RUNNING_JOBS).fetch_all(pool).await.unwrap();
        jobs.sort();
        jobs
    };
    let failed_files = || async {
        let mut rows: Vec<(String, String, time::PrimitiveDateTime)> =
            sqlx::query_as(FILES_OF_FAILED_JOBS).fetch_all(pool).await.unwrap();
        rows.sort();
        rows
    };

    db.put_job(&job("oh-sales", "OH-*", 1)).await;
    db.track(&sales_file("OH-1.tdf", 1, 1)).await;
    db.claim("run-oh-1", "oh-sales", 5, &[("OH-1.tdf", 1)]).await;
    failed_il_history(&db).await;
    // IL-3 v2 arrives after the failure; IL-4 is read by nobody.
    db.track(&sales_file("IL-4.tdf", 1, 1)).await;
    assert_eq!(running().await, ["oh-sales"]);

    db.record(&completed("run-oh-1", "oh-sales", json!({ "StepId": "s-OHSTEP000001" }))).await;
    assert_eq!(running().await, Vec::<String>::new());

    let validated = |minute: u32| {
        time::PrimitiveDateTime::new(
            time::Date::from_calendar_date(2024, time::Month::May, 1).unwrap(),
            time::Time::from_hms_micro(9, minute as u8, 0, 250_000).unwrap(),
        )
    };
    // Exactly the failed run's inputs that are tracked: not IL-1 (an earlier,
    // completed run), not OH-1 (a completed job), not the untracked IL-9.
    assert_eq!(
        failed_files().await,
        [
            ("il-sales".to_owned(), url("IL-2.tdf"), validated(1)),
            ("il-sales".to_owned(), url("IL-3.tdf"), validated(2)),
        ]
    );

    // A new run of the job: RUNNING again, and no longer listed as failed.
    db.claim("run-il-3", "il-sales", 30, &[("IL-3.tdf", 2), ("IL-4.tdf", 1)]).await;
    assert_eq!(running().await, ["il-sales"]);
    assert_eq!(failed_files().await, []);
    db.record(&completed("run-il-3", "il-sales", json!({}))).await;
    assert_eq!(running().await, Vec::<String>::new());
    assert_eq!(failed_files().await, []);
}
