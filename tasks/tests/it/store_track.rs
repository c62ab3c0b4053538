//! The state store's track task on real databases. Every case runs twice, on
//! SQLite (a temporary file) and on MariaDB (a fresh database per test at
//! `EDBA_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/`); the MariaDB
//! cases fail, not skip, when the server is unreachable.

use edba_payloads::{FileStatus, RowCounts, TrackOutcome, TrackOutput};
use edba_tasks::store::{IngestedFileRow, StateStore};
use edba_testkit::fixtures::{self, disabled, job, FileFixture, BUCKET};
use edba_testkit::{Admin, StoreDb};
use pretty_assertions::assert_eq;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

// ---------------------------------------------------------------- fixtures

fn sales(name: &str) -> FileFixture {
    let province = name.split('-').next().unwrap_or_default().to_owned();
    file(name, "sales").partition(&province)
}

fn items(name: &str) -> FileFixture {
    file(name, "items")
}

/// A clean file: version v1, one skipped line, validated a minute in.
fn file(name: &str, dataset: &str) -> FileFixture {
    fixtures::file(name, dataset, &at(1)).version("v1", "0100").counts(10, 0, 1)
}

/// RFC 3339 validation time `minute` minutes into the test day.
fn at(minute: u32) -> String {
    format!("2024-05-01T10:{minute:02}:00.123456Z")
}

/// The same instant as the store writes it, for rows set up with SQL.
fn sql_time(minute: u32) -> String {
    format!("2024-05-01 10:{minute:02}:00.123456")
}

fn instant(rfc3339: &str) -> OffsetDateTime {
    OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap()
}

fn with_companion(job: edba_payloads::jobs::JobConfig, dataset: &str) -> edba_payloads::jobs::JobConfig {
    fixtures::with_companion(job, dataset, "*", 24)
}

/// What the track tests read back besides the testkit's helpers.
trait TrackDb {
    async fn row(&self, file: &FileFixture) -> IngestedFileRow;
}

impl TrackDb for StoreDb {
    async fn row(&self, file: &FileFixture) -> IngestedFileRow {
        self.store.file(&file.url()).await.unwrap().expect("the file is tracked")
    }
}

fn outcome(outcome: TrackOutcome, ready: bool, jobs: &[&str]) -> (TrackOutcome, bool, Vec<String>) {
    (outcome, ready, jobs.iter().map(|j| j.to_string()).collect())
}

fn summary(output: TrackOutput) -> (TrackOutcome, bool, Vec<String>) {
    (output.outcome, output.job_may_be_ready, output.candidate_jobs)
}

// ------------------------------------------------------------------- cases

async fn first_event_inserts_the_file(db: &StoreDb) {
    let before = OffsetDateTime::now_utc();
    let il = sales("IL-101.tdf").counts(7, 2, 3);
    let output = db.track(&il).await;
    assert_eq!(output.file_url, "s3://edba-test/incoming/IL-101.tdf");
    assert_eq!(summary(output), outcome(TrackOutcome::Inserted, false, &[]));

    let row = db.row(&il).await;
    assert!(row.first_seen_at >= before - time::Duration::seconds(1));
    assert_eq!(row.updated_at, row.first_seen_at);
    let expected = IngestedFileRow {
        file_url: "s3://edba-test/incoming/IL-101.tdf".into(),
        bucket: BUCKET.into(),
        object_key: "incoming/IL-101.tdf".into(),
        file_name: "IL-101.tdf".into(),
        dataset: Some("sales".into()),
        partition: Some("IL".into()),
        version_id: Some("v1".into()),
        etag: Some("etag-v1".into()),
        sequencer: "0100".into(),
        status: FileStatus::Validated,
        reason: None,
        counts: RowCounts { rows_valid: 7, rows_rejected: 2, lines_skipped: 3 },
        validated_key: Some("validated/IL-101.csv".into()),
        rejected_key: None,
        last_validated_at: instant("2024-05-01T10:01:00.123456Z"),
        first_seen_at: row.first_seen_at,
        updated_at: row.updated_at,
    };
    assert_eq!(row, expected);
    assert_eq!(db.store.file("s3://edba-test/incoming/CA-1.tdf").await.unwrap(), None);
}

async fn redelivered_event_changes_nothing(db: &StoreDb) {
    let il = sales("IL-101.tdf");
    db.track(&il).await;
    let before = db.row(&il).await;
    for redelivery in [il.clone(), il.clone().validated_at(&at(9)).counts(1, 1, 1)] {
        assert_eq!(db.track(&redelivery).await.outcome, TrackOutcome::Duplicate);
        assert_eq!(db.row(&il).await, before, "the row, updated_at included, is untouched");
    }
}

async fn older_event_is_ignored(db: &StoreDb) {
    let v2 = sales("IL-101.tdf").version("v2", "0100").validated_at(&at(5));
    db.track(&v2).await;
    let before = db.row(&v2).await;
    // "FF" is lexically greater than "0100" but older once left-padded.
    let v1 = sales("IL-101.tdf").version("v1", "FF").validated_at(&at(6));
    assert_eq!(summary(db.track(&v1).await), outcome(TrackOutcome::Stale, false, &[]));
    assert_eq!(db.row(&v2).await, before);
}

async fn new_version_replaces_the_row_and_resets_freshness(db: &StoreDb) {
    let v1 = sales("IL-101.tdf").validated_at(&at(1));
    db.track(&v1).await;
    let first = db.row(&v1).await;
    let v2 = sales("IL-101.tdf").version("v2", "0000200").validated_at(&at(30)).counts(20, 1, 0);
    assert_eq!(db.track(&v2).await.outcome, TrackOutcome::NewVersion);

    let row = db.row(&v2).await;
    assert_eq!(row.version_id.as_deref(), Some("v2"));
    assert_eq!(row.etag.as_deref(), Some("etag-v2"));
    assert_eq!(row.sequencer, "0000200");
    assert_eq!(row.counts, RowCounts { rows_valid: 20, rows_rejected: 1, lines_skipped: 0 });
    assert_eq!(row.last_validated_at, instant(&at(30)));
    assert_eq!(row.first_seen_at, first.first_seen_at);
    assert!(row.updated_at >= first.updated_at);

    // On an unversioned bucket a new etag is a new version, the same etag is not.
    let unversioned = |etag: &str, sequencer: &str| {
        let mut f = sales("IL-102.tdf");
        f.0.version_id = None;
        f.0.etag = Some(etag.into());
        f.0.sequencer = sequencer.into();
        f
    };
    assert_eq!(db.track(&unversioned("a", "10")).await.outcome, TrackOutcome::Inserted);
    assert_eq!(db.track(&unversioned("a", "11")).await.outcome, TrackOutcome::Duplicate);
    assert_eq!(db.track(&unversioned("b", "12")).await.outcome, TrackOutcome::NewVersion);
}

async fn invalid_file_is_recorded_and_never_makes_a_job_ready(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 2)).await;
    let bad = sales("IL-1.tdf").invalid("not UTF-8 at byte 17");
    assert_eq!(summary(db.track(&bad).await), outcome(TrackOutcome::Inserted, false, &[]));
    let row = db.row(&bad).await;
    assert_eq!(row.status, FileStatus::Invalid);
    assert_eq!(row.reason.as_deref(), Some("not UTF-8 at byte 17"));
    assert_eq!(row.validated_key, None);

    // The invalid file does not count towards the two files the job needs.
    let ready = |ready| outcome(TrackOutcome::Inserted, ready, &["il-sales"]);
    assert_eq!(summary(db.track(&sales("IL-2.tdf")).await), ready(false));
    assert_eq!(summary(db.track(&sales("IL-3.tdf")).await), ready(true));

    // A usable file replaced by an invalid version stops counting.
    let broken = sales("IL-3.tdf").version("v2", "0200").invalid("no valid rows");
    assert_eq!(summary(db.track(&broken).await), outcome(TrackOutcome::NewVersion, false, &[]));
    db.track(&sales("IL-4.tdf")).await;
    let bad_unknown = file("notes.txt", "sales").invalid("unknown dataset");
    let mut bad_unknown = bad_unknown;
    bad_unknown.0.dataset = None;
    assert_eq!(summary(db.track(&bad_unknown).await), outcome(TrackOutcome::Inserted, false, &[]));
    assert_eq!(db.row(&bad_unknown).await.dataset, None);
}

async fn job_is_ready_exactly_when_its_min_count_is_reached(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 3)).await;
    db.put_job(&job("ca-sales", "CA-*", 1)).await;
    let il = |ready| outcome(TrackOutcome::Inserted, ready, &["il-sales"]);
    assert_eq!(summary(db.track(&sales("IL-1.tdf")).await), il(false));
    assert_eq!(summary(db.track(&sales("IL-2.tdf")).await), il(false));
    assert_eq!(summary(db.track(&sales("IL-3.tdf")).await), il(true));
    // No new data, no new readiness.
    assert_eq!(summary(db.track(&sales("IL-3.tdf")).await), outcome(TrackOutcome::Duplicate, false, &["il-sales"]));
    // A file of another province belongs only to its own job.
    assert_eq!(summary(db.track(&sales("OH-1.tdf")).await), outcome(TrackOutcome::Inserted, false, &[]));
}

async fn only_files_validated_after_the_last_fire_count(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 2)).await;
    db.track(&sales("IL-1.tdf").validated_at(&at(1))).await;
    db.track(&sales("IL-2.tdf").validated_at(&at(2))).await;
    db.set_job_state("il-sales", "COMPLETED", instant(&at(3))).await;
    assert!(!db.track(&sales("IL-3.tdf").validated_at(&at(4))).await.job_may_be_ready);
    // A new version of an old file is fresh again.
    assert!(db.track(&sales("IL-1.tdf").version("v2", "0200").validated_at(&at(5))).await.job_may_be_ready);
}

async fn running_or_disabled_jobs_are_not_ready(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    db.put_job(&disabled(job("il-audit", "IL-*", 1))).await;
    db.set_job_state("il-sales", "RUNNING", instant(&at(0))).await;
    assert_eq!(summary(db.track(&sales("IL-1.tdf")).await), outcome(TrackOutcome::Inserted, false, &["il-sales"]));
    db.set_job_state("il-sales", "FAILED", instant(&at(0))).await;
    assert_eq!(summary(db.track(&sales("IL-2.tdf")).await), outcome(TrackOutcome::Inserted, true, &["il-sales"]));
}

async fn companion_dataset_file_may_make_a_job_ready(db: &StoreDb) {
    db.put_job(&with_companion(job("il-sales", "IL-*", 13), "items")).await;
    db.put_job(&with_companion(job("ca-sales", "CA-*", 25), "items")).await;
    let master = items("Item-Master-Data.tdf");
    assert_eq!(summary(db.track(&master).await), outcome(TrackOutcome::Inserted, true, &["ca-sales", "il-sales"]));
    db.set_job_state("il-sales", "RUNNING", instant(&at(0))).await;
    db.set_job_state("ca-sales", "RUNNING", instant(&at(0))).await;
    let next_day = master.version("v2", "0200").validated_at(&at(50));
    assert_eq!(summary(db.track(&next_day).await), outcome(TrackOutcome::NewVersion, false, &["ca-sales", "il-sales"]));
}

async fn glob_characters_are_literal_and_case_sensitive(db: &StoreDb) {
    // `_` and `%` are SQL wildcards and SQLite's LIKE ignores case: none of
    // that may leak into the count. The wildcards sit after the literal
    // prefix, where the index range does not already exclude the look-alikes.
    db.put_job(&job("underscore", "IL-*_1.tdf", 2)).await;
    db.put_job(&job("percent", "*%.tdf", 2)).await;
    db.put_job(&job("case", "*-X.tdf", 2)).await;
    for (look_alike, first, second, job_id) in [
        ("IL-ab1.tdf", "IL-a_1.tdf", "IL-b_1.tdf", "underscore"),
        ("ab.tdf", "a%.tdf", "b%.tdf", "percent"),
        ("a-x.tdf", "a-X.tdf", "b-X.tdf", "case"),
    ] {
        assert_eq!(summary(db.track(&sales(look_alike)).await), outcome(TrackOutcome::Inserted, false, &[]));
        assert_eq!(summary(db.track(&sales(first)).await), outcome(TrackOutcome::Inserted, false, &[job_id]));
        assert_eq!(summary(db.track(&sales(second)).await), outcome(TrackOutcome::Inserted, true, &[job_id]));
    }
}

async fn a_job_without_a_literal_prefix_counts_the_whole_dataset(db: &StoreDb) {
    db.put_job(&job("all-tdf", "*.tdf", 2)).await;
    db.track(&sales("IL-1.csv")).await;
    assert!(!db.track(&sales("IL-1.tdf")).await.job_may_be_ready);
    assert!(db.track(&sales("CA-1.tdf")).await.job_may_be_ready);
}

async fn job_config_rewrite_keeps_run_state(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 5)).await;
    db.set_job_state("il-sales", "RUNNING", instant(&at(0))).await;
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    // Still RUNNING after the rewrite, so not ready despite min_files = 1.
    assert_eq!(summary(db.track(&sales("IL-1.tdf")).await), outcome(TrackOutcome::Inserted, false, &["il-sales"]));
}

async fn concurrent_redeliveries_insert_once(db: &StoreDb) {
    db.put_job(&job("il-sales", "IL-*", 1)).await;
    // Several rounds: the pool opens connections lazily, so the first round's
    // calls may not all reach the database at the same time.
    for round in 0..10 {
        let event = sales(&format!("IL-{round}.tdf")).input();
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (store, event) = (db.store.clone(), event.clone());
                tokio::spawn(async move { store.track(&event).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for call in calls {
            let output = call.await.unwrap().expect("every delivery succeeds");
            outcomes.push((output.outcome, output.job_may_be_ready));
        }
        outcomes.sort_by_key(|(o, _)| *o != TrackOutcome::Inserted);
        let mut expected = vec![(TrackOutcome::Duplicate, false); 8];
        expected[0] = (TrackOutcome::Inserted, true);
        assert_eq!(outcomes, expected, "round {round}");
    }
}

async fn database_trouble_is_transient(db: &StoreDb) {
    db.store.close().await;
    let err = db.store.track(&sales("IL-1.tdf").input()).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Edba.Transient");
}

async fn malformed_event_is_invalid_input_and_stores_nothing(db: &StoreDb) {
    let mut bad = sales("IL-1.tdf");
    bad.0.validated_at = "2024-05-01 10:00".into();
    let err = db.store.track(&bad.input()).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert_eq!(db.store.file(&bad.url()).await.unwrap(), None);
}

/// A version with its own derived objects, as validate names them.
fn derived(file: FileFixture, version: &str, sequencer: &str, rejects: bool) -> FileFixture {
    let mut file = file.version(version, sequencer);
    file.0.validated_key = Some(format!("validated/IL-101/{version}.csv"));
    file.0.rejected_key = rejects.then(|| format!("rejected/IL-101/{version}.rejects.csv"));
    file
}

async fn each_new_version_gets_the_next_sequence_and_superseded_objects_wait_for_their_tag(db: &StoreDb) {
    async fn seq(db: &StoreDb) -> Vec<Vec<String>> {
        db.rows("SELECT CAST(seq AS CHAR) FROM ingested_files WHERE file_url = ?", &sales("IL-101.tdf").url()).await
    }
    async fn waiting(db: &StoreDb) -> Vec<String> {
        let rows = db.rows("SELECT object_key FROM superseded_objects WHERE bucket = ? ORDER BY id", BUCKET).await;
        rows.into_iter().map(|row| row[0].clone()).collect()
    }
    db.track(&sales("CA-1.tdf")).await;
    db.track(&derived(sales("IL-101.tdf"), "v1", "0100", true)).await;
    assert_eq!(seq(db).await, [["2"]]);
    assert_eq!(waiting(db).await, Vec::<String>::new());

    let v3 = derived(sales("IL-101.tdf"), "v3", "0300", false);
    assert_eq!(db.track(&v3).await.outcome, TrackOutcome::NewVersion);
    assert_eq!(seq(db).await, [["3"]], "a new version takes the next sequence");
    // v2 arrives after v3: stale, its own objects are never read by a new run.
    let v2 = derived(sales("IL-101.tdf"), "v2", "0200", false);
    assert_eq!(db.track(&v2).await.outcome, TrackOutcome::Stale);
    assert_eq!(db.track(&v3).await.outcome, TrackOutcome::Duplicate);
    assert_eq!(seq(db).await, [["3"]], "stale and duplicate events take no sequence");
    assert_eq!(
        waiting(db).await,
        ["validated/IL-101/v1.csv", "rejected/IL-101/v1.rejects.csv", "validated/IL-101/v2.csv"]
    );
}

async fn migrations_can_run_again(db: &StoreDb) {
    db.store.migrate().await.unwrap();
    db.track(&sales("IL-1.tdf")).await;
}

edba_testkit::on_both_databases!("store";
    first_event_inserts_the_file,
    redelivered_event_changes_nothing,
    older_event_is_ignored,
    new_version_replaces_the_row_and_resets_freshness,
    invalid_file_is_recorded_and_never_makes_a_job_ready,
    job_is_ready_exactly_when_its_min_count_is_reached,
    only_files_validated_after_the_last_fire_count,
    running_or_disabled_jobs_are_not_ready,
    companion_dataset_file_may_make_a_job_ready,
    glob_characters_are_literal_and_case_sensitive,
    a_job_without_a_literal_prefix_counts_the_whole_dataset,
    job_config_rewrite_keeps_run_state,
    concurrent_redeliveries_insert_once,
    database_trouble_is_transient,
    malformed_event_is_invalid_input_and_stores_nothing,
    each_new_version_gets_the_next_sequence_and_superseded_objects_wait_for_their_tag,
    migrations_can_run_again,
);

// ------------------------------------------------- operator queries (MySQL)

/// The original sample's operator queries run unchanged on the compatibility views.
#[tokio::test]
async fn mariadb_operator_queries_see_running_jobs_and_the_files_of_failed_runs() {
    let db = StoreDb::mariadb("store").await;
    for (job_id, glob) in [("il-sales", "IL-*"), ("ca-sales", "CA-*"), ("oh-sales", "OH-*")] {
        db.put_job(&job(job_id, glob, 1)).await;
    }
    for name in ["IL-1.tdf", "IL-2.tdf", "IL-3.tdf", "CA-1.tdf", "OH-1.tdf"] {
        db.track(&sales(name).validated_at(&at(2))).await;
    }
    let url = |name: &str| format!("s3://{BUCKET}/incoming/{name}");
    // il-sales: an earlier completed run read IL-1; its last run read IL-2, IL-3 and failed.
    let runs: [(&str, &str, &str, &[&str]); 4] = [
        ("run-il-1", "il-sales", "COMPLETED", &["IL-1.tdf"]),
        ("run-il-2", "il-sales", "FAILED", &["IL-2.tdf", "IL-3.tdf"]),
        ("run-ca-1", "ca-sales", "RUNNING", &["CA-1.tdf"]),
        ("run-oh-1", "oh-sales", "COMPLETED", &["OH-1.tdf"]),
    ];
    for (minute, (run_id, job_id, status, inputs)) in (10..).zip(runs) {
        db.exec(
            "INSERT INTO job_runs (run_id, job_id, config_version, status, step_id, started_at) \
             VALUES (?, ?, 1, ?, ?, ?)",
            &[run_id, job_id, status, &format!("s-{run_id}"), &sql_time(minute)],
        )
        .await;
        for input in inputs {
            db.exec(
                "INSERT INTO run_inputs (run_id, file_url, version_id, etag) VALUES (?, ?, 'v1', 'etag-v1')",
                &[run_id, &url(input)],
            )
            .await;
        }
        db.exec(
            "UPDATE job_configs SET last_status = ?, last_run_id = ?, last_fired_at = ? WHERE job_id = ?",
            &[status, run_id, &sql_time(minute), job_id],
        )
        .await;
    }
    let Admin::MySql(pool) = &db.admin else { unreachable!() };

    let running: Vec<String> =
        sqlx::query_scalar("select job_config_id from aggrjobconfiguration where last_exec_status = 'RUNNING'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(running, ["ca-sales"]);

    let failed_inputs: Vec<(String, String, time::PrimitiveDateTime)> = sqlx::query_as(
        "select t1.job_config_id, t2.file_url, t2.last_validated_timestamp \
         from aggrjobconfiguration t1 join ingestedfilestatus t2 \
         on json_contains(t2.submitted_jobs, json_array(t1.job_config_id)) = 1 \
         where t1.last_exec_status = 'FAILED' order by t2.file_url",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let validated = time::PrimitiveDateTime::parse(
        &sql_time(2),
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]"),
    )
    .unwrap();
    assert_eq!(
        failed_inputs,
        [("il-sales".to_owned(), url("IL-2.tdf"), validated), ("il-sales".to_owned(), url("IL-3.tdf"), validated),]
    );
}

/// The embedded default: one in-memory database that outlives each call.
#[tokio::test]
async fn sqlite_in_memory_store_keeps_its_data_between_calls() {
    let store = StateStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let il = sales("IL-1.tdf");
    assert_eq!(store.track(&il.input()).await.unwrap().outcome, TrackOutcome::Inserted);
    assert_eq!(store.track(&il.input()).await.unwrap().outcome, TrackOutcome::Duplicate);
    assert_eq!(store.file(&il.url()).await.unwrap().map(|row| row.status), Some(FileStatus::Validated));
}

#[tokio::test]
async fn an_unknown_url_scheme_is_invalid_input() {
    let err = StateStore::connect("postgres://localhost/edba").await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
}

// ------------------------------------------------------- state store URLs

#[tokio::test]
async fn a_new_sqlite_state_store_file_is_created_and_a_bad_one_is_a_clear_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("new.db");
    let store = StateStore::connect(&format!("sqlite://{}", fresh.display())).await.unwrap();
    store.migrate().await.expect("a new file is created, as the home's is");
    assert!(fresh.is_file());

    let missing = dir.path().join("no-such-folder/state.db");
    let err = StateStore::connect(&format!("sqlite://{}", missing.display())).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("no-such-folder") && err.to_string().contains("does not exist"), "{err}");

    let not_a_database = dir.path().join("notes.txt");
    std::fs::write(&not_a_database, "these are not the tables you are looking for\n".repeat(100)).unwrap();
    let store = StateStore::connect(&format!("sqlite://{}", not_a_database.display())).await.unwrap();
    let err = store.migrate().await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput", "never reported as transient: {err}");
    assert!(err.to_string().contains("not a database"), "{err}");
}
