//! Shared fixtures of the evaluate tests: the embedded S3 server and EMR /
//! Step Functions clients mocked at the SDK boundary. Stores, file events and
//! job configurations are the testkit's (re-exported here).
#![allow(dead_code, unused_imports)]

use std::sync::Arc;

use aws_sdk_emr::operation::describe_cluster::DescribeClusterOutput;
use aws_sdk_emr::operation::list_clusters::ListClustersOutput;
use aws_sdk_emr::operation::list_steps::ListStepsOutput;
use aws_sdk_emr::types::{Cluster, ClusterState, ClusterStatus, ClusterSummary, StepSummary, Tag};
use aws_sdk_sfn::operation::describe_execution::{DescribeExecutionError, DescribeExecutionOutput};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use edba_local::EmbeddedS3;
use edba_payloads::{AggregateInput, EvaluateInput, EvaluateOutput, Trigger};
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, FixedClock};
use edba_tasks::store::StateStore;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use edba_testkit::fixtures::{file, items, job, sales, with_extra, with_items, FileFixture, BUCKET};
pub use edba_testkit::{Admin, StoreDb};
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
    EvaluateInput { request: aggregate_input(Trigger::Schedule), execution_arn: execution_arn.into() }
}

/// An aggregate execution's input with this trigger.
pub fn aggregate_input(trigger: Trigger) -> AggregateInput {
    AggregateInput { trigger, file_url: None, run_id: None, started_by: None }
}

pub async fn run(deps: &EvaluateDeps) -> EvaluateOutput {
    evaluate(deps, &input(EXECUTION)).await.unwrap()
}

/// `(job_id, reason)` of every waiting job.
pub fn waiting(output: &EvaluateOutput) -> Vec<(String, String)> {
    output.waiting.iter().map(|w| (w.job_id.clone(), w.reason.clone())).collect()
}
