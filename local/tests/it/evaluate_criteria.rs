//! The evaluate task's decisions on real state stores: every case runs on
//! SQLite and on MariaDB (failing, not skipping, when MariaDB is unreachable),
//! with the embedded S3 server for manifests. EMR is mocked at the SDK
//! boundary with one idle cluster, so a job waits only for its criteria.

use crate::evaluate_support;

use aws_sdk_emr::types::ClusterState;
use evaluate_support::*;
use pretty_assertions::assert_eq;

struct Env<'a> {
    db: &'a StoreDb,
    bucket: Bucket,
}

impl<'a> Env<'a> {
    async fn new(db: &'a StoreDb) -> Env<'a> {
        Env { db, bucket: Bucket::new().await }
    }

    fn deps(&self) -> edba_tasks::evaluate::EvaluateDeps {
        let emr = emr_client(&emr_rules(&[cluster("j-WAIT", ClusterState::Waiting)]));
        // The execution of runs claimed here is still going.
        let sfn = sfn_client(&sfn_rules(&[(EXECUTION, Some(aws_sdk_sfn::types::ExecutionStatus::Running))]));
        deps(&self.db.store, &self.bucket.s3, emr, sfn, NOW)
    }

    async fn evaluate(&self) -> edba_payloads::EvaluateOutput {
        run(&self.deps()).await
    }

    /// An evaluation by a later execution than the one `evaluate` runs as.
    async fn evaluate_later(&self) -> edba_payloads::EvaluateOutput {
        edba_tasks::evaluate::evaluate(&self.deps(), &input(&format!("{EXECUTION}-later"))).await.unwrap()
    }
}

fn reasons(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(j, r)| (j.to_string(), r.to_string())).collect()
}

// ------------------------------------------------------------------- cases

async fn below_minimum_waits_and_says_how_many(db: &StoreDb) {
    let env = Env::new(db).await;
    env.db.put_job(&job("J101", "IL-*", 3)).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    env.db.track(&sales("IL-102.tdf", &at("06:30"))).await;
    // Neither another province nor an unusable file counts.
    env.db.track(&sales("CA-201.tdf", &at("06:30"))).await;
    env.db.track(&sales("IL-103.tdf", &at("06:40")).invalid("binary content")).await;

    let output = env.evaluate().await;
    assert_eq!(output.runs, vec![]);
    assert_eq!(waiting(&output), reasons(&[("J101", "never run: 2 of 3 IL-* files fresh")]));
    assert_eq!(output.evaluated_at, NOW);
    assert_eq!(env.bucket.keys("manifests/").await, Vec::<String>::new());
}

async fn files_validated_before_the_last_fire_are_stale(db: &StoreDb) {
    let env = Env::new(db).await;
    env.db.put_job(&job("J101", "IL-*", 2)).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    env.db.track(&sales("IL-102.tdf", &at("06:30"))).await;
    env.db.set_job_state("J101", "COMPLETED", instant(&at("06:10"))).await;

    let output = env.evaluate().await;
    assert_eq!(waiting(&output), reasons(&[("J101", "1 of 2 IL-* files fresh since 2026-11-27T06:10:00Z")]));

    // A new version of the stale file makes it fresh again.
    let mut newer = sales("IL-101.tdf", &at("07:00"));
    newer.0.version_id = Some("v-IL-101-b".into());
    newer.0.sequencer = "0200".into();
    env.db.track(&newer).await;
    let output = env.evaluate().await;
    assert_eq!(output.waiting, vec![]);
    assert_eq!(output.runs.len(), 1);
    let inputs = env
        .db
        .rows("SELECT file_url, version_id FROM run_inputs WHERE run_id = ? ORDER BY file_url", &output.runs[0].run_id)
        .await;
    assert_eq!(
        inputs,
        vec![
            vec![sales("IL-101.tdf", "").url(), "v-IL-101-b".to_owned()],
            vec![sales("IL-102.tdf", "").url(), "v-IL-102".to_owned()],
        ]
    );
}

async fn at_minimum_fires_with_exactly_its_fresh_files_and_companion(db: &StoreDb) {
    let env = Env::new(db).await;
    let config = with_items(job("J101", "IL-*", 3), "Item-Master-Data*", 24);
    env.db.put_job(&config).await;
    for (name, time) in [("IL-101.tdf", "06:00"), ("IL-102.tdf", "06:30"), ("IL-103.tdf", "07:00")] {
        env.db.track(&sales(name, &at(time))).await;
    }
    env.db.track(&sales("IL-104.tdf", &at("07:01")).invalid("binary content")).await;
    env.db.track(&sales("CA-201.tdf", &at("06:30"))).await;
    env.db.track(&items("Item-Master-Data.tdf", &at("05:00"))).await;
    // Too old to be the companion this run uses.
    env.db.track(&items("Item-Master-Data-old.tdf", "2026-11-26T07:00:00Z")).await;

    let output = env.evaluate().await;
    assert_eq!(output.waiting, vec![]);
    assert_eq!(output.reconciled, vec![]);
    let [ticket] = output.runs.as_slice() else { panic!("one run expected: {output:?}") };
    let run = ticket.run_id.clone();
    assert!(run.starts_with("J101-20261127T071500Z-"), "{run}");
    let manifest_key = format!("manifests/J101/{run}.json");
    let output_prefix = format!("output/J101/{run}/");
    assert_eq!(ticket.job_id, "J101");
    assert_eq!(ticket.cluster_id, "j-WAIT");
    assert_eq!(ticket.manifest_key, manifest_key);
    assert_eq!(ticket.output_prefix, output_prefix);
    assert_eq!(ticket.input_count, 4);
    assert_eq!(ticket.tables, vec!["sales_summary".to_owned()]);
    assert_eq!(ticket.step.name, format!("edba J101 {run}"));
    assert_eq!(
        ticket.step.args,
        vec![
            "spark-submit".to_owned(),
            "--deploy-mode".into(),
            "cluster".into(),
            "s3://edba-test/code/scripts/emr/run_sql_job.py".into(),
            "--manifest".into(),
            format!("s3://edba-test/{manifest_key}"),
            "--sql".into(),
            "s3://edba-test/code/sql/jobs/sales_aggregate.sql".into(),
            "--output".into(),
            format!("s3://edba-test/{output_prefix}"),
        ]
    );

    let runs = env
        .db
        .rows(
            "SELECT job_id, status, cluster_id, execution_arn, manifest_key, output_prefix, \
             CAST(config_version AS CHAR) FROM job_runs WHERE run_id = ?",
            &run,
        )
        .await;
    assert_eq!(
        runs,
        vec![vec![
            "J101".to_owned(),
            "RUNNING".into(),
            "j-WAIT".into(),
            EXECUTION.into(),
            manifest_key.clone(),
            output_prefix.clone(),
            "1".into(),
        ]]
    );
    let inputs = env
        .db
        .rows(
            "SELECT file_url, version_id, etag, object_key, validated_key, validated_etag FROM run_inputs \
             WHERE run_id = ? ORDER BY file_url",
            &run,
        )
        .await;
    let expected: Vec<Vec<String>> = ["IL-101", "IL-102", "IL-103", "Item-Master-Data"]
        .iter()
        .map(|stem| {
            vec![
                format!("s3://edba-test/incoming/{stem}.tdf"),
                format!("v-{stem}"),
                format!("etag-{stem}"),
                format!("incoming/{stem}.tdf"),
                format!("validated/{stem}.csv"),
                format!("vetag-{stem}"),
            ]
        })
        .collect();
    assert_eq!(inputs, expected);
    let job_state = env.db.rows("SELECT last_status, last_run_id FROM job_configs WHERE job_id = ?", "J101").await;
    assert_eq!(job_state, vec![vec!["RUNNING".to_owned(), run.clone()]]);

    let manifest = env.bucket.json(&manifest_key).await.expect("manifest written");
    let input = |dataset: &str, stem: &str| {
        serde_json::json!({
            "dataset": dataset,
            "file_url": format!("s3://edba-test/incoming/{stem}.tdf"),
            "key": format!("incoming/{stem}.tdf"),
            "version_id": format!("v-{stem}"),
            "etag": format!("etag-{stem}"),
            "validated_key": format!("validated/{stem}.csv"),
            "validated_etag": format!("vetag-{stem}"),
        })
    };
    assert_eq!(
        manifest,
        serde_json::json!({
            "bucket": "edba-test",
            "job_id": "J101",
            "run_id": run,
            "inputs": [
                input("sales", "IL-101"),
                input("sales", "IL-102"),
                input("sales", "IL-103"),
                input("items", "Item-Master-Data"),
            ],
            "created_at": NOW,
            // The bucket has no project: the built-in sample's datasets.
            "project_version": null,
            "datasets": {
                "items": [
                    {"name": "item_id", "type": "STRING", "nullable": false},
                    {"name": "item_name", "type": "STRING", "nullable": false},
                    {"name": "effective_date", "type": "DATE", "nullable": false},
                ],
                "sales": [
                    {"name": "store_id", "type": "STRING", "nullable": false},
                    {"name": "amount", "type": "DECIMAL(14,2)", "nullable": false},
                    {"name": "trans_type", "type": "INT", "nullable": false},
                    {"name": "item_id", "type": "STRING", "nullable": false},
                    {"name": "trans_date", "type": "DATE", "nullable": false},
                ],
            },
        })
    );

    // A retry of the task in the same execution gets the same ticket back
    // instead of leaving the run without a step.
    let retry = env.evaluate().await;
    assert_eq!(retry.runs, output.runs);
    assert_eq!(retry.waiting, vec![]);

    // Fires once: a later execution sees it RUNNING.
    let again = env.evaluate_later().await;
    assert_eq!(again.runs, vec![]);
    assert_eq!(waiting(&again), reasons(&[("J101", &format!("RUNNING: run {run} has not finished"))]));
    assert_eq!(env.bucket.keys("manifests/").await, vec![manifest_key]);
}

async fn companion_too_old_or_missing_waits(db: &StoreDb) {
    let env = Env::new(db).await;
    env.db.put_job(&with_items(job("J101", "IL-*", 1), "Item-Master-Data*", 24)).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    let expected = reasons(&[("J101", "no items file matching Item-Master-Data* validated in the last 24 h")]);
    assert_eq!(waiting(&env.evaluate().await), expected, "missing");

    env.db.track(&items("Item-Master-Data.tdf", "2026-11-26T07:14:59Z")).await;
    // An invalid recent one does not count either.
    env.db.track(&items("Item-Master-Data-2.tdf", &at("07:00")).invalid("binary content")).await;
    assert_eq!(waiting(&env.evaluate().await), expected, "too old");
}

async fn extra_criterion_decides(db: &StoreDb) {
    let env = Env::new(db).await;
    let holds = "SELECT 1 FROM ingested_files WHERE dataset = 'sales'";
    let no_row = "SELECT 1 FROM ingested_files WHERE dataset = 'nothing'";
    let broken = "SELECT no_such_column FROM ingested_files";
    let writes = "DELETE FROM job_configs";
    // MariaDB caps recursion (max_recursive_iterations), so it sleeps instead.
    let slow = match env.db.admin {
        Admin::MySql(_) => "SELECT 1 FROM (SELECT SLEEP(5) AS s) t WHERE s = 5",
        Admin::Sqlite(_) => {
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c \
             WHERE n < 1000000000) SELECT 1 FROM c WHERE n = 0"
        }
    };
    // The server's error message would carry what the criterion read:
    // MySQL's XPath error quotes the value, SQLite names the table.
    let leaks = match env.db.admin {
        Admin::MySql(_) => "SELECT extractvalue(1, concat('~', (SELECT MAX(object_key) FROM ingested_files)))",
        Admin::Sqlite(_) => "SELECT * FROM \"IL-101\"",
    };
    for (id, sql, timeout) in [
        ("J1", holds, 2000),
        ("J2", no_row, 2000),
        ("J3", broken, 2000),
        ("J4", writes, 2000),
        ("J5", slow, 300),
        ("J6", leaks, 2000),
    ] {
        env.db.put_job(&with_extra(job(id, "IL-*", 1), sql, timeout)).await;
    }
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;

    let started = std::time::Instant::now();
    let output = env.evaluate().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(output.runs.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>(), vec!["J1"]);
    let waiting = waiting(&output);
    assert_eq!(waiting[0], ("J2".into(), "extra criterion returned no row".into()));
    assert_eq!(waiting[1].0, "J3");
    // The class and code of a database error, never its message.
    let class = match env.db.admin {
        Admin::MySql(_) => "extra criterion failed: the database rejected it (Other; SQLSTATE 42S22, MySQL error 1054)",
        Admin::Sqlite(_) => "extra criterion failed: the database rejected it (Other; SQLite result code 1)",
    };
    assert_eq!(waiting[1], ("J3".into(), class.into()));
    assert_eq!(waiting[2], ("J4".into(), "extra criterion failed: is not a single SELECT".into()));
    assert_eq!(waiting[3], ("J5".into(), "extra criterion timed out after 300 ms".into()));
    assert_eq!(waiting[4].0, "J6");
    assert!(waiting[4].1.starts_with("extra criterion failed: the database rejected it ("), "{}", waiting[4].1);
    assert!(!waiting[4].1.contains("IL-101"), "no data leaks through the reason: {}", waiting[4].1);
    assert_eq!(waiting.len(), 5);
    // The rejected statement did not run, and the store is writable after.
    let jobs = env.db.rows("SELECT job_id FROM job_configs WHERE job_id <> ?", "").await;
    assert_eq!(jobs.len(), 6);
    env.db.put_job(&job("J7", "CA-*", 9)).await;
}

/// Slow criteria share one time budget per evaluation: each is stopped when
/// it runs out, and those that would start after it wait until the next
/// evaluation, so the function never runs out of time mid-claim.
async fn criteria_share_one_time_budget(db: &StoreDb) {
    let env = Env::new(db).await;
    let slow = match env.db.admin {
        Admin::MySql(_) => "SELECT 1 FROM (SELECT SLEEP(30) AS s) t WHERE s = 30",
        Admin::Sqlite(_) => {
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c \
             WHERE n < 100000000000) SELECT 1 FROM c WHERE n = 0"
        }
    };
    for id in ["J1", "J2", "J3", "J4", "J5", "J6"] {
        env.db.put_job(&with_extra(job(id, "IL-*", 1), slow, 60_000)).await;
    }
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    let mut deps = env.deps();
    deps.settings.criteria_budget = std::time::Duration::from_secs(2);

    let output = edba_tasks::evaluate::evaluate(&deps, &input(EXECUTION)).await.unwrap();
    assert_eq!(output.runs, vec![]);
    let waiting = waiting(&output);
    assert_eq!(waiting.len(), 6, "{waiting:?}");
    let stopped = waiting.iter().filter(|(_, r)| r.starts_with("extra criterion stopped after ")).count();
    let not_run = waiting
        .iter()
        .filter(|(_, r)| {
            r == "extra criterion not run: this evaluation's 2 s for criteria is spent; the next evaluation runs it"
        })
        .count();
    assert_eq!(stopped + not_run, 6, "each was stopped by the budget or not run: {waiting:?}");
    assert!(stopped >= 1 && not_run >= 2, "at most four run at once, within the budget: {waiting:?}");
    for (job, reason) in &waiting {
        if let Some(ms) = reason.strip_prefix("extra criterion stopped after ").and_then(|r| r.split(' ').next()) {
            let ms: u64 = ms.parse().unwrap();
            assert!(ms <= 2000, "{job}: clipped to what was left of the budget, not its own 60 s: {reason}");
        }
    }
}

/// One evaluation claims at most as many runs as one execution carries; the
/// rest wait, saying so, and the next evaluation claims them. Every job's
/// decision is in the state store, whatever the output lists.
async fn one_evaluation_claims_a_bounded_number_of_runs(db: &StoreDb) {
    let env = Env::new(db).await;
    for id in ["J1", "J2", "J3"] {
        env.db.put_job(&job(id, "IL-*", 1)).await;
    }
    env.db.put_job(&job("J4", "CA-*", 5)).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    let mut deps = env.deps();
    deps.settings.max_runs = 2;

    let first = edba_tasks::evaluate::evaluate(&deps, &input(EXECUTION)).await.unwrap();
    assert_eq!(first.runs.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>(), ["J1", "J2"]);
    let limit = "ready, but this evaluation claimed as many runs as one execution carries (2); the next evaluation \
                 claims it";
    assert_eq!(waiting(&first), reasons(&[("J3", limit), ("J4", "never run: 0 of 5 CA-* files fresh")]));
    assert_eq!(first.waiting_total, 2);

    let status = env.db.store.status(10).await.unwrap();
    let decisions: Vec<(&str, Option<&str>, Option<&str>)> =
        status.jobs.iter().map(|j| (j.job_id.as_str(), j.decision.as_deref(), j.decision_reason.as_deref())).collect();
    let fired = |r: &edba_payloads::RunTicket| format!("fired run {}", r.run_id);
    let (f1, f2) = (fired(&first.runs[0]), fired(&first.runs[1]));
    assert_eq!(
        decisions,
        [
            ("J1", Some("FIRED"), Some(f1.as_str())),
            ("J2", Some("FIRED"), Some(f2.as_str())),
            ("J3", Some("WAITING"), Some(limit)),
            ("J4", Some("WAITING"), Some("never run: 0 of 5 CA-* files fresh")),
        ]
    );
    assert!(status.to_string().contains(&format!("waiting: {limit}")), "{status}");

    let later = edba_tasks::evaluate::evaluate(&deps, &input(&format!("{EXECUTION}-later"))).await.unwrap();
    assert_eq!(later.runs.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>(), ["J3"]);
}

async fn disabled_and_running_jobs_do_not_fire(db: &StoreDb) {
    let env = Env::new(db).await;
    let mut off = job("J1", "IL-*", 1);
    off.enabled = false;
    env.db.put_job(&off).await;
    env.db.put_job(&job("J2", "IL-*", 1)).await;
    env.db
        .exec(
            "UPDATE job_configs SET last_status = 'RUNNING', last_run_id = ? WHERE job_id = 'J2'",
            &["J2-20261127T060000Z-abcdef"],
        )
        .await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;

    let output = env.evaluate().await;
    assert_eq!(output.runs, vec![]);
    assert_eq!(
        waiting(&output),
        reasons(&[("J1", "disabled"), ("J2", "RUNNING: run J2-20261127T060000Z-abcdef has not finished"),])
    );
}

async fn within_hours_counts_a_window(db: &StoreDb) {
    let env = Env::new(db).await;
    let mut config = job("J101", "IL-*", 2);
    config.input.freshness = edba_payloads::jobs::Freshness::WithinHours { hours: 1 };
    env.db.put_job(&config).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    env.db.track(&sales("IL-102.tdf", &at("06:30"))).await;
    assert_eq!(waiting(&env.evaluate().await), reasons(&[("J101", "1 of 2 IL-* files validated in the last 1 h")]));
}

/// Records a run COMPLETED, as the aggregate machine's last state does.
async fn complete(env: &Env<'_>, run: &edba_payloads::RunTicket) {
    let input = edba_payloads::RecordInput {
        run_id: run.run_id.clone(),
        job_id: run.job_id.clone(),
        outcome: edba_payloads::RunOutcome::Completed,
        emr: None,
        load: None,
        failure: None,
    };
    edba_tasks::record::record(&env.db.store, &input).await.unwrap();
}

async fn inputs_of(env: &Env<'_>, run: &edba_payloads::RunTicket) -> Vec<String> {
    let rows = env.db.rows("SELECT file_url FROM run_inputs WHERE run_id = ? ORDER BY file_url", &run.run_id).await;
    rows.into_iter().map(|row| row[0].rsplit('/').next().unwrap().to_owned()).collect()
}

async fn within_hours_never_fires_twice_on_the_same_inputs(db: &StoreDb) {
    let env = Env::new(db).await;
    let mut config = job("J101", "IL-*", 2);
    config.input.freshness = edba_payloads::jobs::Freshness::WithinHours { hours: 2 };
    env.db.put_job(&config).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    env.db.track(&sales("IL-102.tdf", &at("06:30"))).await;
    let first = env.evaluate().await;
    assert_eq!(first.runs.len(), 1, "{first:?}");
    complete(&env, &first.runs[0]).await;

    // The same two files are still in the window: nothing new, no run.
    let again = env.evaluate_later().await;
    assert_eq!(again.runs, vec![]);
    assert_eq!(waiting(&again), reasons(&[("J101", "no IL-* file is new since the job's latest run read them")]));

    // A new version of one of them: the job fires over the window again.
    env.db.track(&sales("IL-102.tdf", &at("07:00")).version("v2", "0200")).await;
    let third = edba_tasks::evaluate::evaluate(&env.deps(), &input(&format!("{EXECUTION}-third"))).await.unwrap();
    assert_eq!(third.runs.len(), 1, "{third:?}");
    assert_eq!(inputs_of(&env, &third.runs[0]).await, ["IL-101.tdf", "IL-102.tdf"]);
}

/// Freshness is the store's order, not validate's clock: a file validated
/// before the job fired but tracked after its claim is fresh for the next
/// run, and a file in a run is never fresh again.
async fn a_file_tracked_after_a_claim_is_fresh_whatever_its_validation_time(db: &StoreDb) {
    let env = Env::new(db).await;
    env.db.put_job(&job("J101", "IL-*", 2)).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    env.db.track(&sales("IL-102.tdf", &at("06:30"))).await;
    let first = env.evaluate().await;
    assert_eq!(inputs_of(&env, &first.runs[0]).await, ["IL-101.tdf", "IL-102.tdf"]);
    complete(&env, &first.runs[0]).await;

    // Validated at 06:45, before the claim at 07:15, but tracked after it.
    env.db.track(&sales("IL-103.tdf", &at("06:45"))).await;
    let later = env.evaluate_later().await;
    assert_eq!(later.runs, vec![]);
    let reason = &waiting(&later)[0].1;
    assert!(reason.starts_with("1 of 2 IL-* files fresh since"), "{reason}");
    env.db.track(&sales("IL-104.tdf", &at("06:50"))).await;
    let second = edba_tasks::evaluate::evaluate(&env.deps(), &input(&format!("{EXECUTION}-second"))).await.unwrap();
    assert_eq!(inputs_of(&env, &second.runs[0]).await, ["IL-103.tdf", "IL-104.tdf"], "none twice, none skipped");
}

edba_testkit::on_both_databases!("evaluate";
    within_hours_never_fires_twice_on_the_same_inputs,
    a_file_tracked_after_a_claim_is_fresh_whatever_its_validation_time,
    below_minimum_waits_and_says_how_many,
    files_validated_before_the_last_fire_are_stale,
    at_minimum_fires_with_exactly_its_fresh_files_and_companion,
    companion_too_old_or_missing_waits,
    extra_criterion_decides,
    criteria_share_one_time_budget,
    one_evaluation_claims_a_bounded_number_of_runs,
    disabled_and_running_jobs_do_not_fire,
    within_hours_counts_a_window,
);

/// A criterion's session state dies with its connection: a named lock it
/// took is free afterwards, for every other connection of the pool.
#[tokio::test]
async fn mariadb_a_lock_a_criterion_takes_is_released_after_it() {
    let db = StoreDb::mariadb("evaluate").await;
    let env = Env::new(&db).await;
    env.db.put_job(&with_extra(job("J1", "IL-*", 1), "SELECT GET_LOCK('edba-criterion-lock', 0)", 2000)).await;
    env.db.track(&sales("IL-101.tdf", &at("06:00"))).await;
    assert_eq!(env.evaluate().await.runs.len(), 1, "the criterion returned a row");
    let free = env.db.rows("SELECT CAST(IS_FREE_LOCK(?) AS CHAR)", "edba-criterion-lock").await;
    assert_eq!(free, [["1"]], "no pooled connection holds the lock");
}
