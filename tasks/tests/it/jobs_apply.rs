//! Job configurations: `jobs.toml` is read with errors that name the job and
//! field, checked against the rules, and applied to the state store all or
//! nothing. Store cases run twice, on SQLite (a temporary file) and on MariaDB
//! (a fresh database per test at `EDBA_TEST_MYSQL_URL`, default
//! `mysql://root@127.0.0.1:3306/`); the MariaDB cases fail, not skip, when the
//! server is unreachable.

use std::path::{Path, PathBuf};

use edba_payloads::jobs::{ClusterSelector, CompanionRule, ExtraCriterion, Freshness, JobConfig, JobsFile, StepConfig};
use edba_tasks::jobs::{
    apply_jobs, check_extra_criterion_sql, check_jobs, job_row, parse_jobs_file, AppliedJob, ApplyError,
    JobConfigChange, JobConfigError, JobRef,
};
use edba_tasks::store::jobs::StoredJobConfig;
use edba_testkit::{Admin, StoreDb};
use pretty_assertions::assert_eq;
use sqlx::Executor;

// ---------------------------------------------------------------- fixtures

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sample_text() -> String {
    std::fs::read_to_string(repo_root().join("sampledata/jobs.toml")).unwrap()
}

fn sample() -> JobsFile {
    parse_jobs_file(&sample_text()).unwrap()
}

/// The sample with one more valid job.
fn sample_plus(ids: &[&str]) -> JobsFile {
    let mut file = sample();
    for id in ids {
        let mut job = file.jobs[0].clone();
        job.id = (*id).to_owned();
        job.input.pattern = format!("{id}-*");
        file.jobs.push(job);
    }
    file
}

fn job_ref(index: usize, id: &str) -> JobRef {
    JobRef { index, id: Some(id.to_owned()) }
}

// ------------------------------------------------------------ the sample

#[test]
fn the_sample_file_holds_the_two_jobs_of_the_original_sample() {
    let file = sample();
    assert_eq!(check_jobs(&file, Some(&repo_root())), Ok(()));
    let summary: Vec<_> = file
        .jobs
        .iter()
        .map(|j| {
            (
                j.id.as_str(),
                j.enabled,
                j.input.dataset.as_str(),
                j.input.pattern.as_str(),
                j.input.min_files,
                j.input.freshness,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("J101", true, "sales", "IL-*", 13, Freshness::SinceLastRun),
            ("J102", true, "sales", "CA-*", 25, Freshness::SinceLastRun),
        ]
    );
    for job in &file.jobs {
        assert_eq!(
            job.companions,
            [CompanionRule { dataset: "items".into(), pattern: "Item-Master-Data*".into(), max_age_hours: 24 }]
        );
        assert_eq!(job.cluster, ClusterSelector::Tag { key: "edba".into(), value: "true".into() });
        assert_eq!(job.step, StepConfig::SqlJob { sql: "sql/jobs/sales_summary.sql".into() });
        assert_eq!(job.load.tables, ["saleitemsummary", "salessummary"]);
        assert_eq!(job.extra_criterion, None);
    }
}

#[test]
fn a_job_becomes_the_row_the_store_indexes() {
    let mut job = sample().jobs[0].clone();
    job.companions.push(job.companions[0].clone());
    let row = job_row(&job);
    assert_eq!(row.job_id, "J101");
    assert!(row.enabled);
    assert_eq!(row.input_dataset, "sales");
    assert_eq!(row.input_glob, "IL-*");
    assert_eq!(row.min_files, 13);
    assert_eq!(row.companion_datasets, ["items"]);
    let back: JobConfig = row.config;
    assert_eq!(back, job);
}

// ------------------------------------------------------------ parse errors

/// The sample with `from` replaced by `to` in the second job (J102) only.
fn second_job_edited(from: &str, to: &str) -> String {
    let text = sample_text();
    let second = text.find("id = \"J102\"").unwrap();
    let at = second + text[second..].find(from).unwrap();
    format!("{}{to}{}", &text[..at], &text[at + from.len()..])
}

fn line_of(text: &str, needle: &str) -> usize {
    let second = text.find("id = \"J102\"").unwrap();
    let at = second + text[second..].find(needle).unwrap();
    text[..at].matches('\n').count() + 1
}

#[test]
fn a_mistyped_value_names_job_field_and_position() {
    let text = second_job_edited("min_files = 25", "min_files = \"25\"");
    let err = parse_jobs_file(&text).unwrap_err();
    assert_eq!(err.job, Some(job_ref(1, "J102")));
    assert_eq!(err.field.as_deref(), Some("input.min_files"));
    assert_eq!(err.line, Some(line_of(&text, "min_files = \"25\"")));
    assert_eq!(err.column, Some(13));
    assert!(err.message.contains("expected u32"), "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("line {}, column 13: job #2 (J102): field `input.min_files`: ", err.line.unwrap())),
        "{shown}"
    );
}

#[test]
fn an_unknown_field_is_named() {
    let text = second_job_edited("min_files = 25", "min_file = 25");
    let err = parse_jobs_file(&text).unwrap_err();
    assert_eq!(err.job, Some(job_ref(1, "J102")));
    assert_eq!(err.field.as_deref(), Some("input.min_file"));
    assert_eq!(err.line, Some(line_of(&text, "min_file = 25")));
    assert!(err.message.contains("unknown field `min_file`"), "{err}");
}

#[test]
fn a_missing_field_is_named_even_without_an_id() {
    let text = second_job_edited("id = \"J102\"\n", "");
    let err = parse_jobs_file(&text).unwrap_err();
    assert_eq!(err.job, Some(JobRef { index: 1, id: None }));
    assert_eq!(err.field.as_deref(), Some("id"));
    assert!(err.line.is_some(), "{err}");
    let text = second_job_edited("min_files = 25\n", "");
    let err = parse_jobs_file(&text).unwrap_err();
    assert_eq!(err.job, Some(job_ref(1, "J102")));
    assert_eq!(err.field.as_deref(), Some("input.min_files"));
}

#[test]
fn an_unknown_variant_names_its_field() {
    let text = second_job_edited("kind = \"sql_job\"", "kind = \"sql_jobs\"");
    let err = parse_jobs_file(&text).unwrap_err();
    assert_eq!(err.job, Some(job_ref(1, "J102")));
    assert_eq!(err.field.as_deref(), Some("step.kind"));
    assert!(err.message.contains("unknown variant `sql_jobs`"), "{err}");
}

#[test]
fn a_syntax_error_gives_its_position_and_job() {
    let text = second_job_edited("min_files = 25", "min_files = 25 26");
    let err = parse_jobs_file(&text).unwrap_err();
    assert_eq!(err.job, Some(JobRef { index: 1, id: None }));
    assert_eq!(err.line, Some(line_of(&text, "min_files = 25 26")));
    assert_eq!(err.column, Some(13), "{err}");
    assert!(err.message.contains("must be quoted"), "{err}");
    assert_eq!(err.field, None);
}

#[test]
fn a_file_without_jobs_is_refused() {
    let err = parse_jobs_file("# nothing yet\n").unwrap_err();
    assert_eq!(err.job, None);
    assert_eq!(err.field.as_deref(), Some("job"));
    let file = JobsFile { jobs: Vec::new() };
    let errors = check_jobs(&file, None).unwrap_err();
    assert_eq!(errors[0].field, "job");
}

// ------------------------------------------------------------ check rules

/// Breaks one rule in the second job and returns the single error it gives.
fn broken(edit: impl FnOnce(&mut JobConfig)) -> JobConfigError {
    let mut file = sample();
    edit(&mut file.jobs[1]);
    let mut errors = check_jobs(&file, None).expect_err("the rule is broken");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = errors.remove(0);
    assert_eq!(error.job.index, 1, "{error}");
    error
}

#[track_caller]
fn assert_rule(error: JobConfigError, id: &str, field: &str, why: &str) {
    assert_eq!(error.job, job_ref(1, id));
    assert_eq!(error.field, field, "{error}");
    assert!(error.message.contains(why), "{error}");
    let shown = error.to_string();
    assert!(shown.starts_with(&format!("job #2 ({id}): field `{field}`: ")), "{shown}");
}

#[test]
fn ids_are_unique_and_well_formed() {
    assert_rule(broken(|j| j.id = "J101".into()), "J101", "id", "job #1");
    assert_rule(broken(|j| j.id = String::new()), "", "id", "empty");
    assert_rule(broken(|j| j.id = "J 102".into()), "J 102", "id", "letters, digits");
    assert_rule(broken(|j| j.id = "J102/x".into()), "J102/x", "id", "letters, digits");
    let long = "J".repeat(65);
    assert_rule(broken(|j| j.id = long.clone()), &long, "id", "at most 64");
    let mut file = sample();
    file.jobs[1].id = "a-Z_09".repeat(10) + "abcd";
    assert_eq!(check_jobs(&file, None), Ok(()));
}

#[test]
fn datasets_are_known_to_the_registry() {
    assert_rule(
        broken(|j| j.input.dataset = "sale".into()),
        "J102",
        "input.dataset",
        "\"sale\" is not a known dataset (known: sales, items)",
    );
    assert_rule(
        broken(|j| j.companions[0].dataset = "Items".into()),
        "J102",
        "companions[0].dataset",
        "not a known dataset",
    );
}

#[test]
fn patterns_are_file_name_globs() {
    assert_rule(broken(|j| j.input.pattern = String::new()), "J102", "input.pattern", "empty");
    assert_rule(broken(|j| j.input.pattern = "incoming/CA-*".into()), "J102", "input.pattern", "`/`");
    assert_rule(
        broken(|j| j.input.pattern = "CA-[12]*".into()),
        "J102",
        "input.pattern",
        "only wildcards are `*` and `?`",
    );
    assert_rule(broken(|j| j.companions[0].pattern = "a/b".into()), "J102", "companions[0].pattern", "`/`");
    let mut file = sample();
    file.jobs[1].input.pattern = "CA-?0*.tdf".into();
    assert_eq!(check_jobs(&file, None), Ok(()));
}

#[test]
fn counts_and_ages_are_at_least_one() {
    assert_rule(broken(|j| j.input.min_files = 0), "J102", "input.min_files", "at least 1");
    assert_rule(broken(|j| j.companions[0].max_age_hours = 0), "J102", "companions[0].max_age_hours", "at least 1");
    assert_rule(
        broken(|j| j.input.freshness = Freshness::WithinHours { hours: 0 }),
        "J102",
        "input.freshness.hours",
        "at least 1",
    );
    assert_rule(broken(|j| j.version = 0), "J102", "version", "at least 1");
}

#[test]
fn time_windows_are_bounded() {
    assert_rule(
        broken(|j| j.companions[0].max_age_hours = 200_000_000),
        "J102",
        "companions[0].max_age_hours",
        "at most 87840",
    );
    assert_rule(
        broken(|j| j.input.freshness = Freshness::WithinHours { hours: u32::MAX }),
        "J102",
        "input.freshness.hours",
        "at most 87840",
    );
}

#[test]
fn criteria_with_executable_comments_or_sql_the_parser_chokes_on_are_rejected_without_panicking() {
    let criterion = |sql: &str| {
        let sql = sql.to_owned();
        broken(move |j| j.extra_criterion = Some(ExtraCriterion { sql: sql.clone(), timeout_ms: 1000 }))
    };
    // MySQL runs the text of these comments; the parser skips it.
    for sql in
        ["SELECT id FROM t /*! INTO OUTFILE '/tmp/x' */", "SELECT 1 /*M!100000 , SLEEP(5) */", "select 1 /*!50000 x*/"]
    {
        assert_rule(criterion(sql), "J102", "extra_criterion.sql", "executable comment");
    }
    // Inputs that make sqlparser panic in one dialect or the other.
    for sql in ["SELECT 1 DIV", "SELECT 'a' REGEXP"] {
        assert_rule(criterion(sql), "J102", "extra_criterion.sql", "does not parse");
    }
}

#[test]
fn cluster_selectors_are_complete() {
    let tag = |key: &str, value: &str| ClusterSelector::Tag { key: key.into(), value: value.into() };
    assert_rule(broken(|j| j.cluster = tag("", "true")), "J102", "cluster.key", "empty");
    assert_rule(broken(|j| j.cluster = tag("edba", " ")), "J102", "cluster.value", "empty");
    let id = |id: &str| ClusterSelector::Id { id: id.into() };
    assert_rule(broken(|j| j.cluster = id("")), "J102", "cluster.id", "EMR cluster id");
    assert_rule(broken(|j| j.cluster = id("j-")), "J102", "cluster.id", "EMR cluster id");
    assert_rule(broken(|j| j.cluster = id("cluster-1")), "J102", "cluster.id", "EMR cluster id");
    let mut file = sample();
    file.jobs[1].cluster = id("j-2AXXXXXXGAPLF");
    assert_eq!(check_jobs(&file, None), Ok(()));
}

#[test]
fn sql_job_steps_name_an_existing_sql_file_inside_the_project() {
    let sql = |path: &str| StepConfig::SqlJob { sql: path.into() };
    assert_rule(broken(|j| j.step = sql("/etc/x.sql")), "J102", "step.sql", "..");
    assert_rule(broken(|j| j.step = sql("sql/jobs/x.txt")), "J102", "step.sql", ".sql");
    assert_rule(broken(|j| j.step = sql("sql/jobs/../state/x.sql")), "J102", "step.sql", "..");
    // Without a root the file is not looked for; with one it must be there.
    let mut file = sample();
    file.jobs[1].step = sql("sql/jobs/missing.sql");
    assert_eq!(check_jobs(&file, None), Ok(()));
    let root = tempfile::tempdir().unwrap();
    let errors = check_jobs(&sample(), Some(root.path())).unwrap_err();
    let found: Vec<_> = errors.iter().map(|e| (e.job.index, e.field.as_str())).collect();
    assert_eq!(found, [(0, "step.sql"), (1, "step.sql")]);
    assert!(errors[1].message.contains("does not exist"), "{}", errors[1]);
    std::fs::create_dir_all(root.path().join("sql/jobs")).unwrap();
    std::fs::write(root.path().join("sql/jobs/sales_summary.sql"), "SELECT 1").unwrap();
    assert_eq!(check_jobs(&sample(), Some(root.path())), Ok(()));
}

#[test]
fn spark_submit_steps_have_arguments() {
    let submit = |args: &[&str]| StepConfig::SparkSubmit { args: args.iter().map(|a| a.to_string()).collect() };
    assert_rule(broken(|j| j.step = submit(&[])), "J102", "step.args", "empty");
    assert_rule(broken(|j| j.step = submit(&["spark-submit", ""])), "J102", "step.args[1]", "empty");
    let mut file = sample();
    file.jobs[1].step = submit(&["spark-submit", "s3://b/code/job.py", "{manifest}", "{output}"]);
    assert_eq!(check_jobs(&file, None), Ok(()));
}

#[test]
fn load_tables_are_known_warehouse_tables() {
    assert_rule(
        broken(|j| j.load.tables = vec!["sales".into()]),
        "J102",
        "load.tables[0]",
        "\"sales\" is not a known table (known: saleitemsummary, salessummary)",
    );
    assert_rule(broken(|j| j.load.tables.clear()), "J102", "load.tables", "at least one");
    assert_rule(broken(|j| j.load.tables.push("salessummary".into())), "J102", "load.tables[2]", "twice");
}

fn with_criterion(sql: &str, timeout_ms: u32) -> impl FnOnce(&mut JobConfig) {
    let criterion = ExtraCriterion { sql: sql.into(), timeout_ms };
    move |j| j.extra_criterion = Some(criterion)
}

#[test]
fn the_extra_criterion_is_one_read_only_select() {
    for sql in ["SELECT 1", "select count(*) from ingested_files having count(*) > 3"] {
        assert_eq!(check_extra_criterion_sql(sql), Ok(()), "{sql}");
        let mut file = sample();
        with_criterion(sql, 2000)(&mut file.jobs[1]);
        assert_eq!(check_jobs(&file, None), Ok(()), "{sql}");
    }
    for (sql, why) in [
        ("DELETE FROM job_configs", "not a SELECT"),
        ("SELECT 1; DROP TABLE x", "2 statements"),
        ("SELECT * FROM t FOR UPDATE", ""),
        ("SELECT 1 INTO @x", ""),
        ("INSERT INTO job_configs SELECT * FROM job_configs", "not a SELECT"),
        ("DROP TABLE job_runs", "not a SELECT"),
        ("SELECT * INTO copy FROM job_runs", "INTO"),
    ] {
        assert!(check_extra_criterion_sql(sql).is_err(), "{sql}");
        assert_rule(broken(with_criterion(sql, 2000)), "J102", "extra_criterion.sql", why);
    }
}

#[test]
fn the_extra_criterion_timeout_is_bounded() {
    for timeout_ms in [0, 60_001] {
        assert_rule(
            broken(with_criterion("SELECT 1", timeout_ms)),
            "J102",
            "extra_criterion.timeout_ms",
            "between 1 and 60000",
        );
    }
    for timeout_ms in [1, 60_000] {
        let mut file = sample();
        with_criterion("SELECT 1", timeout_ms)(&mut file.jobs[1]);
        assert_eq!(check_jobs(&file, None), Ok(()));
    }
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let mut file = sample();
    file.jobs[0].input.min_files = 0;
    file.jobs[1].input.dataset = "nope".into();
    file.jobs[1].load.tables = vec!["x".into()];
    let errors = check_jobs(&file, None).unwrap_err();
    let found: Vec<_> = errors.iter().map(|e| (e.job.index, e.field.as_str())).collect();
    assert_eq!(found, [(0, "input.min_files"), (1, "input.dataset"), (1, "load.tables[0]")]);
}

// ------------------------------------------------------------ the store

/// What the apply tests read back and set up besides the testkit's helpers
/// (run state, a trigger that refuses a row).
trait JobsDb {
    async fn stored(&self) -> Vec<StoredJobConfig>;
    async fn version_of(&self, job_id: &str) -> u32;
    async fn refuse_insert_of(&self, job_id: &'static str);
    async fn mark_running(&self, job_id: &str);
    async fn last_status(&self, job_id: &str) -> Option<String>;
}

impl JobsDb for StoreDb {
    async fn stored(&self) -> Vec<StoredJobConfig> {
        self.store.job_configs().await.unwrap()
    }

    async fn version_of(&self, job_id: &str) -> u32 {
        self.stored()
            .await
            .into_iter()
            .find(|j| j.row.job_id == job_id)
            .unwrap_or_else(|| panic!("{job_id} is stored"))
            .config_version
    }

    /// Makes the database refuse to insert `job_id`, as a constraint
    /// violation or a lost connection would, midway through a transaction.
    async fn refuse_insert_of(&self, job_id: &'static str) {
        match &self.admin {
            Admin::MySql(pool) => {
                let sql = format!(
                    "CREATE TRIGGER refuse_job BEFORE INSERT ON job_configs FOR EACH ROW \
                     BEGIN IF NEW.job_id = '{job_id}' THEN \
                     SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; \
                     END IF; END"
                );
                pool.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
            Admin::Sqlite(pool) => {
                let sql = format!(
                    "CREATE TRIGGER refuse_job BEFORE INSERT ON job_configs \
                     WHEN NEW.job_id = '{job_id}' \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                );
                pool.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
        }
    }

    /// Marks a job as running, as the evaluator does when it fires.
    async fn mark_running(&self, job_id: &str) {
        let sql = "UPDATE job_configs SET last_status = 'RUNNING', last_run_id = 'run-1' \
                   WHERE job_id = ?";
        match &self.admin {
            Admin::MySql(pool) => sqlx::query(sql).bind(job_id).execute(pool).await.map(drop),
            Admin::Sqlite(pool) => sqlx::query(sql).bind(job_id).execute(pool).await.map(drop),
        }
        .unwrap();
    }

    async fn last_status(&self, job_id: &str) -> Option<String> {
        let sql = "SELECT last_status FROM job_configs WHERE job_id = ?";
        match &self.admin {
            Admin::MySql(pool) => sqlx::query_scalar(sql).bind(job_id).fetch_one(pool).await,
            Admin::Sqlite(pool) => sqlx::query_scalar(sql).bind(job_id).fetch_one(pool).await,
        }
        .unwrap()
    }
}

fn applied(job_id: &str, change: JobConfigChange, config_version: u32) -> AppliedJob {
    AppliedJob { job_id: job_id.into(), change, config_version }
}

use JobConfigChange::{Created, Unchanged, Updated};

async fn applying_the_sample_creates_its_jobs_then_changes_nothing(db: &StoreDb) {
    let file = sample();
    let first = apply_jobs(&db.store, &file).await.unwrap();
    assert_eq!(first.jobs, [applied("J101", Created, 1), applied("J102", Created, 1)]);
    assert_eq!(first.not_in_file, Vec::<String>::new());

    let stored = db.stored().await;
    let rows: Vec<_> = stored.iter().map(|s| (s.row.clone(), s.config_version)).collect();
    assert_eq!(rows, [(job_row(&file.jobs[0]), 1), (job_row(&file.jobs[1]), 1)]);

    let again = apply_jobs(&db.store, &file).await.unwrap();
    assert_eq!(again.jobs, [applied("J101", Unchanged, 1), applied("J102", Unchanged, 1)]);
    assert_eq!(db.stored().await, stored);
}

async fn changing_min_files_bumps_the_config_version_and_keeps_run_state(db: &StoreDb) {
    apply_jobs(&db.store, &sample()).await.unwrap();
    db.mark_running("J101").await;
    let mut file = sample();
    file.jobs[0].input.min_files = 14;

    let report = apply_jobs(&db.store, &file).await.unwrap();
    assert_eq!(report.jobs, [applied("J101", Updated, 2), applied("J102", Unchanged, 1)]);
    let stored = db.stored().await;
    assert_eq!(stored[0].row, job_row(&file.jobs[0]));
    assert_eq!(stored[0].row.min_files, 14);
    assert_eq!(stored[0].config_version, 2);
    assert_eq!(db.last_status("J101").await.as_deref(), Some("RUNNING"));

    // Each later change bumps once more; reapplying does not.
    file.jobs[0].companions.clear();
    let report = apply_jobs(&db.store, &file).await.unwrap();
    assert_eq!(report.jobs[0], applied("J101", Updated, 3));
    assert_eq!(db.stored().await[0].row.companion_datasets, Vec::<String>::new());
    let report = apply_jobs(&db.store, &file).await.unwrap();
    assert_eq!(report.jobs[0], applied("J101", Unchanged, 3));
}

async fn a_file_with_one_bad_job_applies_nothing(db: &StoreDb) {
    apply_jobs(&db.store, &sample()).await.unwrap();
    let before = db.stored().await;

    let mut file = sample_plus(&["J103", "J104"]);
    file.jobs[0].input.min_files = 99;
    file.jobs[3].input.dataset = "nope".into();
    let Err(ApplyError::Invalid(errors)) = apply_jobs(&db.store, &file).await else {
        panic!("a bad job must refuse the file");
    };
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].job, job_ref(3, "J104"));
    assert_eq!(errors[0].field, "input.dataset");
    assert_eq!(db.stored().await, before);
}

async fn a_store_failure_midway_applies_nothing(db: &StoreDb) {
    apply_jobs(&db.store, &sample()).await.unwrap();
    let before = db.stored().await;
    db.refuse_insert_of("J199").await;

    // J101 is updated and J150 created before J199 fails: both roll back.
    let mut file = sample_plus(&["J150", "J199"]);
    file.jobs[0].input.min_files = 99;
    let err = apply_jobs(&db.store, &file).await.unwrap_err();
    assert!(matches!(err, ApplyError::Store(_)), "{err}");
    assert!(err.to_string().contains("refused by the test"), "{err}");
    assert_eq!(db.stored().await, before);
    assert_eq!(db.version_of("J101").await, 1);
}

async fn stored_jobs_missing_from_the_file_are_listed_and_kept(db: &StoreDb) {
    apply_jobs(&db.store, &sample_plus(&["J900"])).await.unwrap();
    let report = apply_jobs(&db.store, &sample()).await.unwrap();
    assert_eq!(report.not_in_file, ["J900"]);
    assert_eq!(db.version_of("J900").await, 1);
    let shown = report.to_string();
    assert!(shown.contains("J900  not in file (kept as stored; apply never deletes a job)"), "{shown}");
    assert!(shown.ends_with("2 jobs: 0 created, 0 updated, 2 unchanged; 1 stored job not in the file"), "{shown}");
}

async fn the_report_reads_and_serializes(db: &StoreDb) {
    apply_jobs(&db.store, &sample_plus(&["J900"])).await.unwrap();
    let mut file = sample_plus(&["J103"]);
    file.jobs[1].enabled = false;
    let report = apply_jobs(&db.store, &file).await.unwrap();
    assert_eq!(
        report.to_string(),
        "J101  unchanged  config version 1\n\
         J102  updated    config version 1 -> 2\n\
         J103  created    config version 1\n\
         J900  not in file (kept as stored; apply never deletes a job)\n\
         3 jobs: 1 created, 1 updated, 1 unchanged; 1 stored job not in the file"
    );
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        serde_json::json!({
            "jobs": [
                { "job_id": "J101", "change": "unchanged", "config_version": 1 },
                { "job_id": "J102", "change": "updated", "config_version": 2 },
                { "job_id": "J103", "change": "created", "config_version": 1 },
            ],
            "not_in_file": ["J900"],
        })
    );
}

edba_testkit::on_both_databases!("jobs";
    applying_the_sample_creates_its_jobs_then_changes_nothing,
    changing_min_files_bumps_the_config_version_and_keeps_run_state,
    a_file_with_one_bad_job_applies_nothing,
    a_store_failure_midway_applies_nothing,
    stored_jobs_missing_from_the_file_are_listed_and_kept,
    the_report_reads_and_serializes,
);
