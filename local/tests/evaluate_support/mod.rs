//! Shared fixtures of the evaluate tests: a migrated state store on SQLite or
//! on a fresh MariaDB database (which fails, not skips, when the server is
//! unreachable), the embedded S3 server, tracked files, job configurations,
//! and EMR / Step Functions clients mocked at the SDK boundary.
#![allow(dead_code)]

use std::sync::Arc;

use aws_sdk_emr::operation::describe_cluster::DescribeClusterOutput;
use aws_sdk_emr::operation::list_clusters::ListClustersOutput;
use aws_sdk_emr::operation::list_steps::ListStepsOutput;
use aws_sdk_emr::types::{Cluster, ClusterState, ClusterStatus, ClusterSummary, StepSummary, Tag};
use aws_sdk_sfn::operation::describe_execution::{DescribeExecutionError, DescribeExecutionOutput};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use edba_local::EmbeddedS3;
use edba_payloads::jobs::{
    ClusterSelector, CompanionRule, ExtraCriterion, Freshness, InputRule, JobConfig, LoadConfig, StepConfig,
};
use edba_payloads::{EvaluateInput, EvaluateOutput, FileStatus, RowCounts, Trigger, ValidateOutput};
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, FixedClock};
use edba_tasks::store::{JobRow, StateStore};
use edba_testkit::StoreDb;
use sqlx::Row;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const BUCKET: &str = "edba-test";
/// "Now" of every evaluation unless a test says otherwise.
pub const NOW: &str = "2026-11-27T07:15:00Z";
pub const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:now";

pub fn instant(rfc3339: &str) -> OffsetDateTime {
    OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap()
}

/// `hh:mm` on the test day, as RFC 3339.
pub fn at(hhmm: &str) -> String {
    format!("2026-11-27T{hhmm}:00Z")
}

// ------------------------------------------------------------------ files

/// A validated file event; defaults describe a clean sales file.
#[derive(Debug, Clone)]
pub struct FileFixture(pub ValidateOutput);

pub fn sales(name: &str, validated: &str) -> FileFixture {
    file(name, "sales", validated)
}

pub fn items(name: &str, validated: &str) -> FileFixture {
    file(name, "items", validated)
}

pub fn file(name: &str, dataset: &str, validated: &str) -> FileFixture {
    let key = format!("incoming/{name}");
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    FileFixture(ValidateOutput {
        file_url: format!("s3://{BUCKET}/{key}"),
        bucket: BUCKET.into(),
        key,
        version_id: Some(format!("v-{stem}")),
        etag: Some(format!("etag-{stem}")),
        sequencer: "0100".into(),
        dataset: Some(dataset.into()),
        partition: None,
        status: FileStatus::Validated,
        reason: None,
        counts: RowCounts { rows_valid: 10, rows_rejected: 0, lines_skipped: 0 },
        validated_key: Some(format!("validated/{stem}.csv")),
        rejected_key: None,
        validated_at: validated.to_owned(),
    })
}

impl FileFixture {
    pub fn invalid(mut self) -> Self {
        self.0.status = FileStatus::Invalid;
        self.0.reason = Some("binary content".into());
        self.0.validated_key = None;
        self
    }

    pub fn url(&self) -> String {
        self.0.file_url.clone()
    }
}

// ------------------------------------------------------------------- jobs

/// Job `id` over sales files matching `pattern`, `sql_job` step, tag selector
/// edba=true, no companions.
pub fn job(id: &str, pattern: &str, min_files: u32) -> JobConfig {
    JobConfig {
        id: id.into(),
        description: None,
        enabled: true,
        version: 1,
        input: InputRule {
            dataset: "sales".into(),
            pattern: pattern.into(),
            min_files,
            freshness: Freshness::SinceLastRun,
        },
        companions: Vec::new(),
        extra_criterion: None,
        cluster: ClusterSelector::Tag { key: "edba".into(), value: "true".into() },
        step: StepConfig::SqlJob { sql: "sql/jobs/sales_aggregate.sql".into() },
        load: LoadConfig { tables: vec!["sales_summary".into()] },
    }
}

pub fn with_items(mut job: JobConfig, pattern: &str, max_age_hours: u32) -> JobConfig {
    job.companions.push(CompanionRule { dataset: "items".into(), pattern: pattern.into(), max_age_hours });
    job
}

pub fn with_extra(mut job: JobConfig, sql: &str, timeout_ms: u32) -> JobConfig {
    job.extra_criterion = Some(ExtraCriterion { sql: sql.into(), timeout_ms });
    job
}

pub fn job_row(config: &JobConfig) -> JobRow {
    JobRow {
        job_id: config.id.clone(),
        enabled: config.enabled,
        input_dataset: config.input.dataset.clone(),
        input_glob: config.input.pattern.clone(),
        min_files: config.input.min_files,
        companion_datasets: config.companions.iter().map(|c| c.dataset.clone()).collect(),
        config: serde_json::to_value(config).unwrap(),
    }
}

// -------------------------------------------------------------- databases

pub use edba_testkit::Admin;

/// A migrated store, its URL (for more stores on the same database) and an
/// admin pool for what evaluate does not write.
pub struct Db(StoreDb);

impl std::ops::Deref for Db {
    type Target = StoreDb;
    fn deref(&self) -> &StoreDb {
        &self.0
    }
}

impl Db {
    pub async fn sqlite() -> Db {
        Db(StoreDb::sqlite().await)
    }

    pub async fn mariadb() -> Db {
        Db(StoreDb::mariadb("evaluate").await)
    }

    pub async fn track(&self, file: &FileFixture) {
        self.store.track(&edba_payloads::TrackInput { file: file.0.clone() }).await.unwrap();
    }

    pub async fn put_job(&self, config: &JobConfig) {
        self.store.put_job_config(&job_row(config)).await.unwrap();
    }

    /// Rows of a query with one string parameter, every column read as text
    /// (NULL as "NULL").
    pub async fn rows(&self, sql: &'static str, param: &str) -> Vec<Vec<String>> {
        fn text<R: Row>(row: &R, i: usize) -> String
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            row.try_get::<Option<String>, _>(i).unwrap().unwrap_or_else(|| "NULL".into())
        }
        match &self.admin {
            Admin::MySql(pool) => sqlx::query(sql)
                .bind(param)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| text(r, i)).collect())
                .collect(),
            Admin::Sqlite(pool) => sqlx::query(sql)
                .bind(param)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| text(r, i)).collect())
                .collect(),
        }
    }

    /// Sets a job's run state as a finished earlier run leaves it.
    pub async fn set_fired(&self, job_id: &str, status: &str, fired: &str) {
        let fired = instant(fired);
        let text = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.000000",
            fired.year(),
            u8::from(fired.month()),
            fired.day(),
            fired.hour(),
            fired.minute(),
            fired.second()
        );
        self.exec(
            "UPDATE job_configs SET last_status = ?, last_fired_at = ? WHERE job_id = ?",
            &[status, &text, job_id],
        )
        .await;
    }
}

// --------------------------------------------------------------------- S3

pub struct Bucket {
    _dir: tempfile::TempDir,
    pub server: EmbeddedS3,
    pub s3: aws_sdk_s3::Client,
}

impl Bucket {
    pub async fn new() -> Bucket {
        let dir = tempfile::tempdir().unwrap();
        let server = EmbeddedS3::start(dir.path()).unwrap();
        server.create_bucket(BUCKET).await.unwrap();
        let s3 = server.client().await;
        Bucket { _dir: dir, server, s3 }
    }

    pub async fn json(&self, key: &str) -> Option<serde_json::Value> {
        let out = self.s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
        let bytes = out.body.collect().await.unwrap().into_bytes();
        Some(serde_json::from_slice(&bytes).unwrap())
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self.s3.list_objects_v2().bucket(BUCKET).prefix(prefix).send().await.unwrap();
        out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
    }
}

// -------------------------------------------------------------------- EMR

/// An EMR cluster as ListClusters, DescribeCluster and ListSteps show it.
#[derive(Debug, Clone)]
pub struct FakeCluster {
    pub id: &'static str,
    pub state: ClusterState,
    pub tags: Vec<(&'static str, &'static str)>,
    pub active_steps: usize,
}

pub fn cluster(id: &'static str, state: ClusterState) -> FakeCluster {
    FakeCluster { id, state, tags: vec![("edba", "true")], active_steps: 0 }
}

impl FakeCluster {
    pub fn tags(mut self, tags: &[(&'static str, &'static str)]) -> Self {
        self.tags = tags.to_vec();
        self
    }
    pub fn steps(mut self, n: usize) -> Self {
        self.active_steps = n;
        self
    }
}

fn status(state: &ClusterState) -> ClusterStatus {
    ClusterStatus::builder().state(state.clone()).build()
}

/// Rules for these clusters; ListClusters answers only WAITING and RUNNING
/// ones, as EMR does for the states edba asks for.
pub fn emr_rules(clusters: &[FakeCluster]) -> Vec<Rule> {
    let listed: Vec<ClusterSummary> = clusters
        .iter()
        .filter(|c| matches!(c.state, ClusterState::Waiting | ClusterState::Running))
        .map(|c| ClusterSummary::builder().id(c.id).status(status(&c.state)).build())
        .collect();
    let mut rules = vec![mock!(aws_sdk_emr::Client::list_clusters)
        .match_requests(|req| {
            let states = req.cluster_states();
            states.contains(&ClusterState::Waiting) && states.contains(&ClusterState::Running)
        })
        .then_output(move || ListClustersOutput::builder().set_clusters(Some(listed.clone())).build())];
    for c in clusters {
        let (id, state, tags) = (c.id, c.state.clone(), c.tags.clone());
        rules.push(
            mock!(aws_sdk_emr::Client::describe_cluster)
                .match_requests(move |req| req.cluster_id() == Some(id))
                .then_output(move || {
                    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
                    DescribeClusterOutput::builder()
                        .cluster(Cluster::builder().id(id).status(status(&state)).set_tags(Some(tags)).build())
                        .build()
                }),
        );
        let steps = c.active_steps;
        rules.push(
            mock!(aws_sdk_emr::Client::list_steps).match_requests(move |req| req.cluster_id() == Some(id)).then_output(
                move || {
                    ListStepsOutput::builder()
                        .set_steps(Some(
                            (0..steps).map(|i| StepSummary::builder().id(format!("s-{i}")).build()).collect(),
                        ))
                        .build()
                },
            ),
        );
    }
    rules
}

pub fn emr_client(rules: &[Rule]) -> aws_sdk_emr::Client {
    mock_client!(aws_sdk_emr, RuleMode::MatchAny, rules)
}

// ---------------------------------------------------------- Step Functions

/// DescribeExecution answers: `Some(status)` or `None` for "does not exist".
pub fn sfn_rules(executions: &[(&'static str, Option<ExecutionStatus>)]) -> Vec<Rule> {
    executions
        .iter()
        .map(|(arn, status)| {
            let (arn, status) = (*arn, status.clone());
            match status {
                Some(status) => mock!(aws_sdk_sfn::Client::describe_execution)
                    .match_requests(move |req| req.execution_arn() == Some(arn))
                    .then_output(move || {
                        let mut out = DescribeExecutionOutput::builder()
                            .execution_arn(arn)
                            .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:edba-aggregate")
                            .status(status.clone())
                            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0));
                        if status == ExecutionStatus::Failed {
                            out = out.error("States.TaskFailed").cause("the Map state failed");
                        }
                        out.build().unwrap()
                    }),
                None => mock!(aws_sdk_sfn::Client::describe_execution)
                    .match_requests(move |req| req.execution_arn() == Some(arn))
                    .then_error(|| {
                        DescribeExecutionError::ExecutionDoesNotExist(
                            aws_sdk_sfn::types::error::ExecutionDoesNotExist::builder()
                                .message("Execution Does Not Exist")
                                .build(),
                        )
                    }),
            }
        })
        .collect()
}

pub fn sfn_client(rules: &[Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules)
}

// ------------------------------------------------------------- evaluation

pub fn deps(
    store: &StateStore,
    s3: &aws_sdk_s3::Client,
    emr: aws_sdk_emr::Client,
    sfn: aws_sdk_sfn::Client,
    now: &str,
) -> EvaluateDeps {
    EvaluateDeps {
        store: store.clone(),
        sfn,
        emr,
        s3: s3.clone(),
        bucket: BUCKET.into(),
        clock: Arc::new(FixedClock(instant(now))),
        settings: EvaluateSettings::default(),
    }
}

pub fn input(execution_arn: &str) -> EvaluateInput {
    EvaluateInput { trigger: Trigger::Schedule, execution_arn: execution_arn.into() }
}

pub async fn run(deps: &EvaluateDeps) -> EvaluateOutput {
    evaluate(deps, &input(EXECUTION)).await.unwrap()
}

/// `(job_id, reason)` of every waiting job.
pub fn waiting(output: &EvaluateOutput) -> Vec<(String, String)> {
    output.waiting.iter().map(|w| (w.job_id.clone(), w.reason.clone())).collect()
}
