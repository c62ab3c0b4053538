//! `edba run` end to end on `sampledata/`: the committed state machines on the
//! local executor, the real tasks, the embedded S3 server, SQLite state store
//! and warehouse, the DataFusion step runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use edba_local::executor::{handler_fn, ExecutionStatus, TaskFailure};
use edba_local::pipeline::{LocalPipeline, PipelineOptions, RunReport};
use sqlx::Row;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(home: &Path) -> PipelineOptions {
    let mut o = PipelineOptions::new(home);
    o.repo_root = Some(repo());
    // Retry backoffs of seconds become milliseconds; nothing else changes.
    o.time_scale = 0.001;
    o
}

async fn run_sampledata(home: &Path) -> RunReport {
    let pipeline = LocalPipeline::open(options(home)).await.expect("pipeline opens");
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.expect("run completes");
    pipeline.close().await;
    report
}

/// (store, item, day) -> [sale, tax, discount] in cents, computed from the
/// sample files independently of edba.
type ItemDay = BTreeMap<(String, String, String), [i64; 3]>;

fn cents(amount: &str) -> i64 {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    let frac = format!("{frac:0<2}");
    whole.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

fn expected_item_days(province: &str) -> ItemDay {
    let mut out = ItemDay::new();
    let dir = repo().join("sampledata");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        if !(name.starts_with(&format!("{province}-")) && name.ends_with(".tdf")) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('-') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let slot = match f[2] {
                "4" => 0,
                "5" => 1,
                "6" => 2,
                _ => continue,
            };
            let entry = out.entry((f[0].to_owned(), f[3].to_owned(), f[4].to_owned())).or_insert([0; 3]);
            entry[slot] += cents(f[1]);
        }
    }
    out
}

async fn warehouse(home: &Path) -> (ItemDay, BTreeMap<(String, String), (i64, [i64; 3])>, BTreeMap<String, String>) {
    let url = format!("sqlite://{}", home.join("warehouse.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut items = ItemDay::new();
    let mut names = BTreeMap::new();
    for row in sqlx::query(
        "SELECT store_id, item_id, trans_date, item_name, \
         CAST(ROUND(sale_amount * 100) AS INTEGER) AS s, CAST(ROUND(tax_amount * 100) AS INTEGER) AS t, \
         CAST(ROUND(discount_amount * 100) AS INTEGER) AS d FROM saleitemsummary",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let key = (row.get::<String, _>(0), row.get::<String, _>(1), row.get::<String, _>(2));
        if let Some(name) = row.get::<Option<String>, _>(3) {
            names.insert(key.1.clone(), name);
        }
        items.insert(key, [row.get(4), row.get(5), row.get(6)]);
    }
    let mut days = BTreeMap::new();
    for row in sqlx::query(
        "SELECT store_id, trans_date, item_count, CAST(ROUND(sale_amount * 100) AS INTEGER), \
         CAST(ROUND(tax_amount * 100) AS INTEGER), CAST(ROUND(discount_amount * 100) AS INTEGER) FROM salessummary",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        days.insert(
            (row.get::<String, _>(0), row.get::<String, _>(1)),
            (row.get::<i64, _>(2), [row.get(3), row.get(4), row.get(5)]),
        );
    }
    pool.close().await;
    (items, days, names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sampledata_runs_end_to_end_and_a_second_run_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let report = run_sampledata(home.path()).await;
    assert!(report.ok, "every execution should succeed:\n{report}");

    // J101 fired once, over the 14 usable IL files and the item master, and completed.
    assert_eq!(report.fired.len(), 1, "{report}");
    assert_eq!(report.fired[0].job_id, "J101");
    assert_eq!(report.fired[0].inputs, 15);
    assert_eq!(report.runs.len(), 1);
    assert_eq!(report.runs[0].status, "COMPLETED");
    assert_eq!(report.runs[0].inputs, 15);

    // J102 waits, and says why.
    let j102 = report.waiting.iter().find(|w| w.job_id == "J102").expect("J102 waits");
    assert_eq!(j102.reason, "never run: 6 of 25 CA-* files fresh");

    // Every sample file has the right status and counts.
    let files: BTreeMap<&str, (&str, u64, u64, u64)> = report
        .files
        .iter()
        .map(|f| {
            (
                f.file.file_name.as_str(),
                (f.file.status.as_str(), f.file.rows_valid, f.file.rows_rejected, f.file.lines_skipped),
            )
        })
        .collect();
    assert_eq!(files.len(), 24);
    assert_eq!(files["IL-101.tdf"], ("VALIDATED", 24, 0, 0));
    assert_eq!(files["IL-103.tdf"], ("VALIDATED", 24, 0, 3), "junk trailer lines are skipped and counted");
    assert_eq!(files["CA-203.tdf"], ("VALIDATED_WITH_REJECTS", 20, 4, 0));
    assert_eq!(files["CA-204.tdf"], ("VALIDATED_WITH_REJECTS", 22, 2, 0));
    assert_eq!(files["CA-205.tdf"], ("VALIDATED", 24, 0, 0), "CRLF line ends");
    assert_eq!(files["TX-401.tdf"], ("VALIDATED_WITH_REJECTS", 10, 2, 0), "Latin-1 lines are rejected");
    assert_eq!(files["IL-199.tdf"], ("INVALID", 0, 0, 0));
    assert_eq!(files["Item-Master-Data.tdf"], ("VALIDATED", 20, 0, 1), "the header line is skipped");
    assert_eq!(files["notes.txt"], ("INVALID", 0, 0, 0));
    let ca203 = report.files.iter().find(|f| f.file.file_name == "CA-203.tdf").unwrap();
    assert!(ca203.first_rejects[0].contains("NaN"), "{:?}", ca203.first_rejects);
    let notes = report.files.iter().find(|f| f.file.file_name == "notes.txt").unwrap();
    assert!(notes.file.reason.as_deref().unwrap_or_default().contains("unknown dataset"));

    // The warehouse holds exactly the IL aggregation, computed here by hand.
    let expected = expected_item_days("IL");
    let (items, days, names) = warehouse(home.path()).await;
    assert_eq!(items, expected);
    let mut expected_days: BTreeMap<(String, String), (i64, [i64; 3])> = BTreeMap::new();
    for ((store, _item, day), sums) in &expected {
        let e = expected_days.entry((store.clone(), day.clone())).or_insert((0, [0; 3]));
        e.0 += 1;
        for (total, add) in e.1.iter_mut().zip(sums) {
            *total += add;
        }
    }
    assert_eq!(days, expected_days);
    assert_eq!(names.get("ITEM-001").map(String::as_str), Some("Sample item 1"));
    let rows: u64 = report.warehouse.iter().map(|t| t.rows).sum();
    assert_eq!(rows, (items.len() + days.len()) as u64);

    // Run it again: nothing fires, nothing changes, no row is duplicated.
    let again = run_sampledata(home.path()).await;
    assert!(again.ok, "{again}");
    assert!(again.fired.is_empty(), "nothing is fresh the second time:\n{again}");
    assert_eq!(warehouse(home.path()).await, (items, days, names));
    let j101 = again.waiting.iter().find(|w| w.job_id == "J101").unwrap();
    assert!(j101.reason.starts_with("0 of 13 IL-* files fresh since"), "{}", j101.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_step_marks_the_run_failed_and_impacted_lists_its_files() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    pipeline.executor().bind(
        "arn:aws:states:::elasticmapreduce:addStep.sync",
        handler_fn(|_| async {
            Err(TaskFailure::new(
                "States.TaskFailed",
                r#"{"Step":{"Id":"s-FAILINJECTED1","Status":{"State":"FAILED","FailureDetails":{"Message":"disk full"}}}}"#,
            ))
        }),
    );
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    assert!(!report.ok, "a failed run fails the report");
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    assert_eq!(run.status, "FAILED");
    assert_eq!(run.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(run.step_id.as_deref(), Some("s-FAILINJECTED1"));
    assert!(run.cause.as_deref().unwrap_or_default().contains("disk full"));

    let failed: Vec<_> = report.executions.iter().filter(|e| e.status == "FAILED").collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0].error.as_deref(), Some("Edba.RunsFailed"));
    assert!(failed[0].cause.as_deref().unwrap_or_default().contains(&run.run_id), "the cause names the run");

    let impacted = edba_tasks::record::impacted(pipeline.store(), &run.run_id).await.unwrap();
    assert_eq!(impacted.files.len(), 15);
    assert!(impacted.files.iter().any(|f| f.file_url.ends_with("incoming/IL-114.tdf")));
    assert!(impacted.files.iter().any(|f| f.file_url.ends_with("incoming/Item-Master-Data.tdf")));
    let by_job = edba_tasks::record::impacted(pipeline.store(), "J101").await.unwrap();
    assert_eq!(by_job.files.len(), 15);
    pipeline.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transient_task_error_is_retried_and_the_next_attempt_succeeds() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    pipeline.apply_jobs(None).await.unwrap();
    let store = pipeline.store().clone();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = attempts.clone();
    pipeline.executor().bind(
        &edba_payloads::resource::TRACK.token(),
        handler_fn(move |input| {
            let store = store.clone();
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return Err(TaskFailure::new("Edba.Transient", "database connection reset"));
                }
                let input: edba_payloads::TrackInput = serde_json::from_value(input).unwrap();
                Ok(serde_json::to_value(store.track(&input).await.unwrap()).unwrap())
            }
        }),
    );
    let event = pipeline.upload(&repo().join("sampledata/IL-101.tdf")).await.unwrap();
    let result = pipeline.executor().start("ingest", serde_json::to_value(&event).unwrap(), None).unwrap().wait().await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?} {:?}", result.error, result.cause);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(result.history.retries("Track file in state store").len(), 1, "{}", result.history);
    let tracked = pipeline.store().file("s3://edba-local/incoming/IL-101.tdf").await.unwrap().unwrap();
    assert_eq!(tracked.counts.rows_valid, 24);
    pipeline.close().await;
}
