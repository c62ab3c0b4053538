//! Exact lineage on the local runtime: a claimed run reads exactly the file
//! versions it claimed, whatever arrives meanwhile; a run whose execution
//! died gives its inputs back; a run whose load failed can be re-run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use edba_local::executor::{handler_fn, ExecutionStatus, TaskFailure};
use edba_local::pipeline::{LocalPipeline, LOCAL_BUCKET};
use edba_local::steprunner::StepRunner;
use edba_tasks::store::ImpactedFiles;
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::pipeline_local::{
    expected_item_days, expected_item_days_of, options, repo, sampledata_with_il_amounts_doubled, warehouse,
};

const ADD_STEP_SYNC: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";

async fn manifest(pipeline: &LocalPipeline, run: &ImpactedFiles) -> Value {
    let key = run.manifest_key.as_deref().expect("a run has a manifest");
    object_json(pipeline, key).await
}

async fn object_json(pipeline: &LocalPipeline, key: &str) -> Value {
    let out = pipeline.s3_client().get_object().bucket(LOCAL_BUCKET).key(key).send().await.unwrap();
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}

/// `(validated_key, validated_etag)` of every input a manifest lists, by file url.
fn validated_objects(manifest: &Value) -> std::collections::BTreeMap<String, (String, String)> {
    manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = |f: &str| i[f].as_str().unwrap_or_else(|| panic!("{f} in {i}")).to_owned();
            (text("file_url"), (text("validated_key"), text("validated_etag")))
        })
        .collect()
}

/// The version id the bucket holds as newest for each `incoming/` key.
async fn newest_versions(pipeline: &LocalPipeline) -> std::collections::BTreeMap<String, String> {
    let out =
        pipeline.s3_client().list_object_versions().bucket(LOCAL_BUCKET).prefix("incoming/").send().await.unwrap();
    out.versions()
        .iter()
        .filter(|v| v.is_latest() == Some(true))
        .map(|v| (format!("s3://{LOCAL_BUCKET}/{}", v.key().unwrap()), v.version_id().unwrap().to_owned()))
        .collect()
}

fn il_files(dir: &Path, numbers: impl IntoIterator<Item = u32>) -> Vec<PathBuf> {
    numbers.into_iter().map(|n| dir.join(format!("IL-{n}.tdf"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_arriving_while_a_claimed_step_waits_change_nothing_it_reads() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();

    // Hold the first step until new versions of its inputs have been ingested.
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
    let held_tx = std::sync::Mutex::new(Some(held_tx));
    let release = Arc::new(tokio::sync::Notify::new());
    let runner = StepRunner::new(pipeline.s3_client().clone(), LOCAL_BUCKET, repo());
    let gate = release.clone();
    pipeline.executor().bind(
        ADD_STEP_SYNC,
        handler_fn(move |input| {
            let first = held_tx.lock().unwrap().take();
            let (runner, gate) = (runner.clone(), gate.clone());
            async move {
                if let Some(held) = first {
                    held.send(()).unwrap();
                    gate.notified().await;
                }
                runner.run_step(&input).await.map_err(TaskFailure::from)
            }
        }),
    );

    // IL amounts doubled in IL-101 and IL-102; IL-103 sent again empty (INVALID).
    let changed = tempfile::tempdir().unwrap();
    sampledata_with_il_amounts_doubled(changed.path());
    std::fs::write(changed.path().join("IL-103.tdf"), b"").unwrap();
    let meddle = async {
        held_rx.await.expect("J101's step starts");
        for path in il_files(changed.path(), [101, 102, 103]) {
            let event = pipeline.upload(&path).await.unwrap();
            let input = serde_json::to_value(&event).unwrap();
            let ingest = pipeline.executor().start("ingest", input, None).unwrap().wait().await;
            assert_eq!(ingest.status, ExecutionStatus::Succeeded, "{:?}", ingest.cause);
        }
        release.notify_one();
    };
    let sampledata = repo().join("sampledata");
    let (report, ()) = tokio::join!(pipeline.run_dir(&sampledata, &|_| {}), meddle);
    let report = report.unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(
        report.runs.iter().map(|r| (r.job_id.as_str(), r.status.as_str())).collect::<Vec<_>>(),
        [("J101", "COMPLETED")]
    );
    let first = edba_tasks::record::impacted(pipeline.store(), &report.runs[0].run_id).await.unwrap();
    let first_manifest = manifest(&pipeline, &first).await;

    // The run read the versions it claimed (the three now superseded), and
    // the warehouse holds exactly the sample's IL sums.
    assert_eq!(first.files.len(), 15);
    let superseded: Vec<&str> =
        first.files.iter().filter(|f| f.superseded).map(|f| f.file_url.rsplit('/').next().unwrap()).collect();
    assert_eq!(superseded, ["IL-101.tdf", "IL-102.tdf", "IL-103.tdf"]);
    assert_eq!(warehouse(home.path()).await.0, expected_item_days("IL"));

    // The next evaluation (the run's schedule) counts the two new usable
    // versions as fresh, and not the INVALID one.
    let j101 = report.waiting.iter().find(|w| w.job_id == "J101").expect("J101 waits");
    assert!(j101.reason.starts_with("2 of 13 IL-* files fresh since"), "{}", j101.reason);

    // The rest of the IL files change too: 11 new versions make 13 fresh.
    let newest_before = newest_versions(&pipeline).await;
    let second_report = pipeline.run_dir(changed.path(), &|_| {}).await.unwrap();
    assert!(second_report.ok, "{second_report}");
    // (A pipeline's report covers every run it made.)
    let fired: Vec<&str> = second_report.fired.iter().map(|f| f.run_id.as_str()).collect();
    assert_eq!(fired.len(), 2, "{second_report}");
    assert_eq!(fired[0], first.run_id);
    let second = edba_tasks::record::impacted(pipeline.store(), fired[1]).await.unwrap();
    let newest = newest_versions(&pipeline).await;
    let mut read: Vec<&str> = second.files.iter().map(|f| f.file_url.rsplit('/').next().unwrap()).collect();
    read.sort();
    let mut expected_read: Vec<String> =
        [101, 102].into_iter().chain(104..=114).map(|n| format!("IL-{n}.tdf")).collect();
    expected_read.push("Item-Master-Data.tdf".into());
    assert_eq!(read, expected_read, "the new usable versions, never the INVALID IL-103");
    for file in &second.files {
        assert_eq!(file.version_id.as_ref(), newest.get(&file.file_url), "{} at its newest version", file.file_url);
    }
    // IL-101 and IL-102 were read at the versions uploaded while the first step waited.
    for url in ["s3://edba-local/incoming/IL-101.tdf", "s3://edba-local/incoming/IL-102.tdf"] {
        assert_eq!(newest_before[url], newest[url]);
    }

    // Warehouse: doubled amounts for every store but IL-103's, which keeps
    // what the first run merged.
    let mut files = il_files(changed.path(), [101, 102].into_iter().chain(104..=114));
    files.push(repo().join("sampledata/IL-103.tdf"));
    assert_eq!(warehouse(home.path()).await.0, expected_item_days_of(&files));

    // The two manifests name different validated objects for the keys that
    // changed; the first run's objects are still there, unchanged.
    let second_manifest = manifest(&pipeline, &second).await;
    let (before, after) = (validated_objects(&first_manifest), validated_objects(&second_manifest));
    for (url, (key, _)) in &after {
        if url.contains("/IL-") {
            assert_ne!(Some(key), before.get(url).map(|(k, _)| k), "{url}: a new version, a new validated object");
        }
    }
    for (url, (key, etag)) in &before {
        let head = pipeline.s3_client().head_object().bucket(LOCAL_BUCKET).key(key).send().await;
        let head = head.unwrap_or_else(|e| panic!("{key} of {url} is gone: {e}"));
        assert_eq!(head.e_tag().map(|t| t.trim_matches('"')), Some(etag.as_str()), "{key} unchanged");
    }
    // The superseded versions' validated objects are tagged for the
    // bucket's lifecycle rule (by the evaluations after they were
    // superseded); the current versions' are not.
    for (url, (key, _)) in before.iter().chain(&after) {
        let tags = pipeline.s3_client().get_object_tagging().bucket(LOCAL_BUCKET).key(key).send().await.unwrap();
        let tagged = tags.tag_set().iter().any(|t| t.key() == "edba-superseded" && t.value() == "true");
        // Every IL file of the first run has a newer version now (IL-103's is INVALID).
        let superseded = url.contains("/incoming/IL-") && before.get(url).map(|(k, _)| k) == Some(key);
        assert_eq!(tagged, superseded, "{key} of {url}: tagged {tagged}");
    }
    // `edba impacted` of either run lists the raw versions it read, as its manifest does.
    for (run, manifest) in [(&first, &first_manifest), (&second, &second_manifest)] {
        for file in &run.files {
            let listed =
                manifest["inputs"].as_array().unwrap().iter().find(|i| i["file_url"] == file.file_url.as_str());
            assert_eq!(listed.unwrap()["version_id"].as_str(), file.version_id.as_deref());
        }
    }
    pipeline.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_whose_execution_died_gives_its_inputs_back_and_the_job_fires_again() {
    let home = tempfile::tempdir().unwrap();
    let first = LocalPipeline::open(options(home.path())).await.unwrap();
    // The step never returns: the executor is then "killed" (this pipeline
    // goes away with the execution still running, as a crashed process would).
    let (claimed_tx, claimed_rx) = tokio::sync::oneshot::channel::<()>();
    let claimed_tx = std::sync::Mutex::new(Some(claimed_tx));
    first.executor().bind(
        ADD_STEP_SYNC,
        handler_fn(move |_| {
            if let Some(tx) = claimed_tx.lock().unwrap().take() {
                tx.send(()).unwrap();
            }
            std::future::pending::<Result<Value, TaskFailure>>()
        }),
    );
    let sampledata = repo().join("sampledata");
    tokio::select! {
        _ = first.run_dir(&sampledata, &|_| {}) => panic!("the run cannot finish while its step hangs"),
        claimed = claimed_rx => claimed.unwrap(),
    }
    let dead = edba_tasks::record::impacted(first.store(), "J101").await;
    assert!(dead.is_err(), "J101 has no FAILED run yet");
    first.close().await;

    // A new process on the same home: the schedule's evaluation finds the
    // run's execution gone, marks it FAILED and fires J101 again over the
    // same inputs.
    let second = LocalPipeline::open(options(home.path())).await.unwrap();
    let scheduled = second.executor().start("aggregate", serde_json::json!({"trigger": "schedule"}), None).unwrap();
    let result = scheduled.wait().await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?} {:?}", result.error, result.cause);
    second.executor().wait_all().await;

    let failed = edba_tasks::record::impacted(second.store(), "J101").await.unwrap();
    assert_eq!(failed.error.as_deref(), Some("Edba.ExecutionEnded"));
    let cause = failed.cause.as_deref().unwrap_or_default();
    assert!(cause.ends_with("(its inputs are fresh again)"), "{cause}");
    let status = second.store().status(10).await.unwrap();
    let runs: Vec<(&str, &str)> = status.runs.iter().map(|r| (r.run_id.as_str(), r.status.as_str())).collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let again = runs.iter().find(|(id, _)| *id != failed.run_id).unwrap();
    assert_eq!(again.1, "COMPLETED");
    let again = edba_tasks::record::impacted(second.store(), again.0).await.unwrap();
    let versions = |run: &ImpactedFiles| {
        let mut v: Vec<(String, Option<String>)> =
            run.files.iter().map(|f| (f.file_url.clone(), f.version_id.clone())).collect();
        v.sort();
        v
    };
    assert_eq!(versions(&again), versions(&failed), "the same inputs, at the same versions");
    assert_eq!(warehouse(home.path()).await.0, expected_item_days("IL"));
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_whose_load_failed_is_finished_by_rerun() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    // A trigger makes every merge into one warehouse table fail.
    let url = format!("sqlite://{}", home.path().join("warehouse.db").display());
    let admin = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER under_maintenance BEFORE INSERT ON salessummary \
         BEGIN SELECT RAISE(ABORT, 'salessummary is under maintenance'); END",
    )
    .execute(&admin)
    .await
    .unwrap();
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.runs.len(), 1, "{report}");
    let run_id = report.runs[0].run_id.clone();
    let failed = edba_tasks::record::impacted(pipeline.store(), &run_id).await.unwrap();
    assert_eq!(failed.status.as_str(), "FAILED");
    assert!(failed.cause.as_deref().unwrap_or_default().contains("under maintenance"), "{failed:?}");
    assert_eq!(warehouse(home.path()).await.1.len(), 0, "nothing merged");
    let step_output = failed.manifest_key.clone();

    // Fixed; re-run it from its manifest.
    sqlx::query("DROP TRIGGER under_maintenance").execute(&admin).await.unwrap();
    admin.close().await;
    let result = pipeline.rerun(&run_id, &|_| {}).await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?} {:?}", result.error, result.cause);
    let done = edba_tasks::record::impacted(pipeline.store(), &run_id).await.unwrap();
    assert_eq!(done.status.as_str(), "COMPLETED");
    assert_eq!((done.error.as_deref(), done.cause.as_deref()), (None, None));
    assert_eq!(done.manifest_key, step_output, "the same manifest");
    assert_eq!(done.files, failed.files, "the same input versions");
    assert_eq!(warehouse(home.path()).await.0, expected_item_days("IL"));
    let status = pipeline.store().status(10).await.unwrap();
    assert_eq!(status.runs.len(), 1, "the outcome is recorded on the same run");

    // A COMPLETED run, or an unknown one, is refused with the reason.
    let again = pipeline.rerun(&run_id, &|_| {}).await.unwrap();
    assert_eq!(again.status, ExecutionStatus::Failed);
    assert_eq!(again.error.as_deref(), Some("Edba.InvalidInput"));
    assert!(again.cause.as_deref().unwrap_or_default().contains("already COMPLETED"), "{:?}", again.cause);
    let unknown = pipeline.rerun("J101-nope", &|_| {}).await.unwrap();
    assert!(unknown.cause.as_deref().unwrap_or_default().contains("no run \"J101-nope\""), "{:?}", unknown.cause);
    pipeline.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_run_cannot_be_rerun_over_a_newer_one() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.unwrap();
    let failing = Arc::new(AtomicBool::new(true));
    let runner = StepRunner::new(pipeline.s3_client().clone(), LOCAL_BUCKET, repo());
    let fail = failing.clone();
    pipeline.executor().bind(
        ADD_STEP_SYNC,
        handler_fn(move |input| {
            let (runner, fail) = (runner.clone(), fail.load(Ordering::SeqCst));
            async move {
                if fail {
                    return Err(TaskFailure::new("States.TaskFailed", "injected"));
                }
                runner.run_step(&input).await.map_err(TaskFailure::from)
            }
        }),
    );
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.unwrap();
    let old = report.runs[0].run_id.clone();
    failing.store(false, Ordering::SeqCst);
    let changed = tempfile::tempdir().unwrap();
    sampledata_with_il_amounts_doubled(changed.path());
    let newer = pipeline.run_dir(changed.path(), &|_| {}).await.unwrap();
    let statuses: Vec<&str> = newer.runs.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "COMPLETED").count(), 1, "{newer}");
    let refused = pipeline.rerun(&old, &|_| {}).await.unwrap();
    let cause = refused.cause.unwrap_or_default();
    assert!(cause.contains("is not job J101's latest run"), "{cause}");
    pipeline.close().await;
}
