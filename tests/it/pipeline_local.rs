//! `edba run` end to end on `sampledata/`: the committed state machines on the
//! local executor, the real tasks, the embedded S3 server, SQLite state store
//! and warehouse, the DataFusion step runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use edba_local::executor::{handler_fn, ExecutionStatus, TaskFailure};
use edba_local::pipeline::{LocalPipeline, PipelineOptions, Progress, RunReport, LOCAL_BUCKET};
use sqlx::Row;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn options(home: &Path) -> PipelineOptions {
    let mut o = PipelineOptions::new(home);
    o.repo_root = Some(repo());
    // Retry backoffs of seconds become milliseconds; nothing else changes.
    o.time_scale = 0.001;
    o
}

pub(crate) async fn run_sampledata(home: &Path) -> RunReport {
    let pipeline = LocalPipeline::open(options(home)).await.expect("pipeline opens");
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.expect("run completes");
    pipeline.close().await;
    report
}

/// (store, item, day) -> [sale, tax, discount] in cents, computed from the
/// sample files independently of edba.
pub(crate) type ItemDay = BTreeMap<(String, String, String), [i64; 3]>;

fn cents(amount: &str) -> i64 {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    let frac = format!("{frac:0<2}");
    whole.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

pub(crate) fn expected_item_days(province: &str) -> ItemDay {
    expected_item_days_in(&repo().join("sampledata"), province)
}

fn expected_item_days_in(dir: &Path, province: &str) -> ItemDay {
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    let files: Vec<PathBuf> = names
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&format!("{province}-")) && name.ends_with(".tdf"))
        .map(|name| dir.join(name))
        .collect();
    expected_item_days_of(&files)
}

pub(crate) fn expected_item_days_of(files: &[PathBuf]) -> ItemDay {
    let mut out = ItemDay::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
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

pub(crate) async fn warehouse(
    home: &Path,
) -> (ItemDay, BTreeMap<(String, String), (i64, [i64; 3])>, BTreeMap<String, String>) {
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

/// `sampledata/` copied to `dir` with every amount of every IL file doubled.
pub(crate) fn sampledata_with_il_amounts_doubled(dir: &Path) {
    for entry in std::fs::read_dir(repo().join("sampledata")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let bytes = if name.starts_with("IL-") {
            let text = String::from_utf8(bytes).unwrap();
            let lines: Vec<String> = text
                .split_inclusive('\n')
                .map(|line| {
                    let mut f: Vec<String> = line.split('\t').map(str::to_owned).collect();
                    match f.get(1).and_then(|a| a.parse::<f64>().ok()) {
                        Some(amount) if f.len() >= 5 => {
                            f[1] = format!("{:.2}", amount * 2.0);
                            f.join("\t")
                        }
                        _ => line.to_owned(),
                    }
                })
                .collect();
            lines.concat().into_bytes()
        } else {
            bytes
        };
        std::fs::write(dir.join(&name), bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changed_files_arrive_as_new_versions_and_the_job_aggregates_them() {
    let home = tempfile::tempdir().unwrap();
    let first = run_sampledata(home.path()).await;
    assert!(first.ok, "{first}");

    let changed = tempfile::tempdir().unwrap();
    sampledata_with_il_amounts_doubled(changed.path());
    let pipeline = LocalPipeline::open(options(home.path())).await.expect("pipeline opens");
    let uploaded = Mutex::new(None);
    let report = pipeline
        .run_dir(changed.path(), &|p| {
            if let Progress::Uploaded { files, unchanged } = p {
                *uploaded.lock().unwrap() = Some((files, unchanged));
            }
        })
        .await
        .expect("run completes");
    let versions = pipeline.s3_client().list_object_versions().bucket(LOCAL_BUCKET).prefix("incoming/").send().await;
    assert!(report.ok, "{report}");
    assert_eq!(report.fired.iter().map(|f| f.job_id.as_str()).collect::<Vec<_>>(), ["J101"], "{report}");
    assert!(report.runs.iter().all(|r| r.status == "COMPLETED"), "{report}");
    let run = edba_tasks::record::impacted(pipeline.store(), &report.fired[0].run_id).await.unwrap();
    pipeline.close().await;

    // The 14 IL files with sales lines changed (IL-199 is empty); the 10
    // other files are as they were and are not sent again.
    assert_eq!(*uploaded.lock().unwrap(), Some((14, 10)));
    let mut newest: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for v in versions.unwrap().versions() {
        let entry = newest.entry(format!("s3://{LOCAL_BUCKET}/{}", v.key().unwrap())).or_default();
        entry.0 += 1;
        if v.is_latest() == Some(true) {
            entry.1 = v.version_id().unwrap().to_owned();
        }
    }
    assert_eq!(newest["s3://edba-local/incoming/IL-101.tdf"].0, 2, "{newest:?}");
    assert_eq!(newest["s3://edba-local/incoming/IL-199.tdf"].0, 1);
    assert_eq!(newest["s3://edba-local/incoming/CA-201.tdf"].0, 1);

    // J101 fired again as soon as 13 new IL versions were fresh: the run
    // read new versions only (a 14th may have come in before the claim or
    // stays fresh for the next run).
    let il_in_run: Vec<&str> = run
        .files
        .iter()
        .filter(|f| f.file_url.contains("/incoming/IL-"))
        .map(|f| {
            assert_eq!(
                f.version_id.as_deref(),
                Some(newest[&f.file_url].1.as_str()),
                "{} read its new version",
                f.file_url
            );
            f.file_url.rsplit('/').next().unwrap()
        })
        .collect();
    assert!((13..=14).contains(&il_in_run.len()), "{il_in_run:?}");
    if il_in_run.len() == 13 {
        let j101 = report.waiting.iter().find(|w| w.job_id == "J101").expect("J101 waits for one more file");
        assert!(j101.reason.starts_with("1 of 13 IL-* files fresh since"), "{}", j101.reason);
    }

    // The warehouse holds, per store, exactly the version the run read:
    // doubled amounts for the files in the run, the first run's for the rest.
    let files: Vec<PathBuf> = (101..=114)
        .map(|n| format!("IL-{n}.tdf"))
        .map(|name| match il_in_run.contains(&name.as_str()) {
            true => changed.path().join(&name),
            false => repo().join("sampledata").join(&name),
        })
        .collect();
    let (items, _, _) = warehouse(home.path()).await;
    assert_eq!(items, expected_item_days_of(&files));
    assert_ne!(items, expected_item_days("IL"));
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
