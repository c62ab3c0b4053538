//! The evaluate task's AWS side, mocked at the SDK boundary: EMR cluster
//! choice and Step Functions reconciliation, on SQLite and the embedded S3.

use crate::evaluate_support;

use aws_sdk_emr::error::ErrorMetadata;
use aws_sdk_emr::operation::list_clusters::ListClustersError;
use aws_sdk_emr::types::ClusterState;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::{mock, Rule};
use edba_payloads::jobs::ClusterSelector;
use edba_payloads::ReconciledRun;
use edba_tasks::evaluate::evaluate;
use evaluate_support::*;
use pretty_assertions::assert_eq;

struct Env {
    db: StoreDb,
    bucket: Bucket,
}

impl Env {
    /// Jobs (each over its own province, two fresh files) on SQLite.
    async fn with_ready_jobs(jobs: &[edba_payloads::jobs::JobConfig]) -> Env {
        let env = Env { db: StoreDb::sqlite().await, bucket: Bucket::new().await };
        for config in jobs {
            env.db.put_job(config).await;
            let province = config.input.pattern.trim_end_matches('*');
            for n in 1..=2 {
                env.db.track(&sales(&format!("{province}{n}.tdf"), &at("06:00"))).await;
            }
        }
        env
    }

    async fn evaluate(&self, emr: &[Rule], sfn: &[Rule]) -> edba_payloads::EvaluateOutput {
        run(&deps(&self.db.store, &self.bucket.s3, emr_client(emr), sfn_client(sfn), NOW)).await
    }

    async fn run_count(&self) -> usize {
        self.db.rows("SELECT run_id FROM job_runs WHERE run_id <> ?", "").await.len()
    }
}

fn by_id(mut config: edba_payloads::jobs::JobConfig, id: &str) -> edba_payloads::jobs::JobConfig {
    config.cluster = ClusterSelector::Id { id: id.into() };
    config
}

fn placements(output: &edba_payloads::EvaluateOutput) -> Vec<(String, String)> {
    output.runs.iter().map(|r| (r.job_id.clone(), r.cluster_id.clone())).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn waiting_clusters_first_then_the_fewest_active_steps() {
    let env = Env::with_ready_jobs(&[job("J1", "CA-*", 2), job("J2", "IL-*", 2), job("J3", "NY-*", 2)]).await;
    let rules = emr_rules(&[
        cluster("j-BUSY", ClusterState::Running).steps(3),
        cluster("j-CALM", ClusterState::Running).steps(1),
        cluster("j-WAIT", ClusterState::Waiting),
        cluster("j-OTHER", ClusterState::Waiting).tags(&[("team", "x")]),
        cluster("j-DEAD", ClusterState::Terminated),
    ]);
    let output = env.evaluate(&rules, &[]).await;
    // J1 takes the idle cluster; then j-CALM (1 step) and j-WAIT (1 assigned)
    // tie and the id decides; then the other of the two.
    assert_eq!(placements(&output), pairs(&[("J1", "j-WAIT"), ("J2", "j-CALM"), ("J3", "j-WAIT")]));
    assert_eq!(output.waiting, vec![]);
    // Listed once per evaluation, not once per job.
    assert_eq!(rules[0].num_calls(), 1);
}

#[tokio::test]
async fn a_running_cluster_with_fewer_steps_wins_when_none_waits() {
    let env = Env::with_ready_jobs(&[job("J1", "CA-*", 2)]).await;
    let rules = emr_rules(&[
        cluster("j-A", ClusterState::Running).steps(4),
        cluster("j-B", ClusterState::Running).steps(2),
        cluster("j-C", ClusterState::Running).steps(3),
    ]);
    let output = env.evaluate(&rules, &[]).await;
    assert_eq!(placements(&output), pairs(&[("J1", "j-B")]));
}

#[tokio::test]
async fn a_cluster_chosen_by_id_must_be_waiting_or_running() {
    let env = Env::with_ready_jobs(&[
        by_id(job("J1", "CA-*", 2), "j-FIXED"),
        by_id(job("J2", "IL-*", 2), "j-DEAD"),
        by_id(job("J3", "NY-*", 2), "j-NOPE"),
    ])
    .await;
    let mut rules =
        emr_rules(&[cluster("j-FIXED", ClusterState::Running).steps(9), cluster("j-DEAD", ClusterState::Terminated)]);
    rules.push(
        mock!(aws_sdk_emr::Client::describe_cluster)
            .match_requests(|req| req.cluster_id() == Some("j-NOPE"))
            .then_error(|| {
                aws_sdk_emr::operation::describe_cluster::DescribeClusterError::InvalidRequestException(
                    aws_sdk_emr::types::error::InvalidRequestException::builder()
                        .message("Cluster id 'j-NOPE' is not valid.")
                        .build(),
                )
            }),
    );
    let output = env.evaluate(&rules, &[]).await;
    assert_eq!(placements(&output), pairs(&[("J1", "j-FIXED")]));
    assert_eq!(
        waiting(&output),
        pairs(&[
            ("J2", "EMR cluster j-DEAD is TERMINATED, not WAITING or RUNNING"),
            ("J3", "EMR cluster j-NOPE does not exist"),
        ])
    );
    assert_eq!(env.run_count().await, 1);
}

#[tokio::test]
async fn no_cluster_means_waiting_and_nothing_claimed() {
    let env = Env::with_ready_jobs(&[job("J1", "CA-*", 2)]).await;
    let rules = emr_rules(&[cluster("j-OTHER", ClusterState::Waiting).tags(&[("edba", "false")])]);
    let output = env.evaluate(&rules, &[]).await;
    assert_eq!(output.runs, vec![]);
    assert_eq!(waiting(&output), pairs(&[("J1", "no EMR cluster tagged edba=true is WAITING or RUNNING")]));
    assert_eq!(env.run_count().await, 0);
    assert_eq!(env.bucket.keys("manifests/").await, Vec::<String>::new());
    let state = env.db.rows("SELECT last_status, last_fired_at FROM job_configs WHERE job_id = ?", "J1").await;
    assert_eq!(state, vec![vec!["NULL".to_owned(), "NULL".to_owned()]]);
}

#[tokio::test]
async fn emr_throttling_fails_the_task_as_transient_before_any_claim() {
    let env = Env::with_ready_jobs(&[job("J1", "CA-*", 2)]).await;
    let throttled = mock!(aws_sdk_emr::Client::list_clusters).then_error(|| {
        ListClustersError::generic(
            ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build(),
        )
    });
    let deps = deps(&env.db.store, &env.bucket.s3, emr_client(&[throttled]), sfn_client(&[]), NOW);
    let err = evaluate(&deps, &input(EXECUTION)).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient");
    assert!(err.to_string().contains("ListClusters"), "{err}");
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    assert_eq!(env.run_count().await, 0);
}

#[tokio::test]
async fn runs_of_ended_executions_are_marked_failed_and_running_ones_left_alone() {
    let env = Env { db: StoreDb::sqlite().await, bucket: Bucket::new().await };
    let arn = |name: &str| format!("arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:{name}");
    let cases = [
        ("J-SUCC", "succeeded"),
        ("J-FAIL", "failed"),
        ("J-TIME", "timed-out"),
        ("J-ABRT", "aborted"),
        ("J-GONE", "gone"),
        ("J-RUN", "running"),
    ];
    for (job_id, execution) in cases {
        running_run(&env, job_id, &arn(execution)).await;
    }
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let sfn = sfn_rules(&[
        (leak(arn("succeeded")), Some(ExecutionStatus::Succeeded)),
        (leak(arn("failed")), Some(ExecutionStatus::Failed)),
        (leak(arn("timed-out")), Some(ExecutionStatus::TimedOut)),
        (leak(arn("aborted")), Some(ExecutionStatus::Aborted)),
        (leak(arn("gone")), None),
        (leak(arn("running")), Some(ExecutionStatus::Running)),
    ]);
    let output = env.evaluate(&emr_rules(&[]), &sfn).await;

    let ended = |job_id: &str, status: &str, execution: &str, detail: &str| ReconciledRun {
        run_id: format!("{job_id}-20261127T060000Z-000000"),
        job_id: job_id.into(),
        execution_status: status.into(),
        cause: format!(
            "execution {} ended {status} without recording the run's outcome{detail} (its inputs are fresh again)",
            arn(execution)
        ),
    };
    let expected = vec![
        ended("J-ABRT", "ABORTED", "aborted", ""),
        ended("J-FAIL", "FAILED", "failed", ": States.TaskFailed: the Map state failed"),
        ReconciledRun {
            run_id: "J-GONE-20261127T060000Z-000000".into(),
            job_id: "J-GONE".into(),
            execution_status: "NOT_FOUND".into(),
            cause: format!(
                "execution {} does not exist (expired from Step Functions' history?) and the \
                 run recorded no outcome (its inputs are fresh again)",
                arn("gone")
            ),
        },
        ended("J-SUCC", "SUCCEEDED", "succeeded", ""),
        ended("J-TIME", "TIMED_OUT", "timed-out", ""),
    ];
    assert_eq!(output.reconciled, expected);

    for run in &expected {
        let stored = env
            .db
            .rows(
                "SELECT r.status, r.error, r.cause, j.last_status FROM job_runs r \
                 JOIN job_configs j ON j.job_id = r.job_id WHERE r.run_id = ?",
                &run.run_id,
            )
            .await;
        assert_eq!(
            stored,
            vec![vec!["FAILED".to_owned(), "Edba.ExecutionEnded".into(), run.cause.clone(), "FAILED".into(),]]
        );
    }
    let running = env
        .db
        .rows(
            "SELECT r.status, j.last_status FROM job_runs r JOIN job_configs j \
             ON j.job_id = r.job_id WHERE r.run_id = ?",
            "J-RUN-20261127T060000Z-000000",
        )
        .await;
    assert_eq!(running, vec![vec!["RUNNING".to_owned(), "RUNNING".into()]]);
    // Reconciled jobs are evaluated again at once; the running one waits.
    let reasons = waiting(&output);
    assert_eq!(reasons.len(), 6);
    assert_eq!(
        reasons.iter().find(|(j, _)| j == "J-RUN").unwrap().1,
        "RUNNING: run J-RUN-20261127T060000Z-000000 has not finished"
    );
    assert_eq!(
        reasons.iter().find(|(j, _)| j == "J-FAIL").unwrap().1,
        "0 of 5 ZZ-* files fresh since 2026-11-27T06:00:00Z"
    );

    // A second evaluation finds nothing more to reconcile.
    let again = env.evaluate(&emr_rules(&[]), &sfn).await;
    assert_eq!(again.reconciled, vec![]);
}

/// A RUNNING run of job `job_id` (over `ZZ-*`, nothing fresh: after
/// reconciliation it waits), fired at 06:00, whose execution is `arn`.
async fn running_run(env: &Env, job_id: &str, arn: &str) -> String {
    env.db.put_job(&job(job_id, "ZZ-*", 5)).await;
    let run_id = format!("{job_id}-20261127T060000Z-000000");
    env.db
        .exec(
            "INSERT INTO job_runs (run_id, job_id, config_version, status, execution_arn, \
             started_at) VALUES (?, ?, 1, 'RUNNING', ?, '2026-11-27 06:00:00.000000')",
            &[&run_id, job_id, arn],
        )
        .await;
    env.db
        .exec(
            "UPDATE job_configs SET last_status = 'RUNNING', last_run_id = ?, \
             last_fired_at = '2026-11-27 06:00:00.000000' WHERE job_id = ?",
            &[&run_id, job_id],
        )
        .await;
    run_id
}

fn describe_error(arn: &'static str, code: &'static str) -> Rule {
    mock!(aws_sdk_sfn::Client::describe_execution)
        .match_requests(move |req| req.execution_arn() == Some(arn))
        .then_error(move || {
            aws_sdk_sfn::operation::describe_execution::DescribeExecutionError::generic(
                aws_sdk_sfn::error::ErrorMetadata::builder().code(code).message("no").build(),
            )
        })
}

#[tokio::test]
async fn a_run_step_functions_will_not_describe_is_noted_and_every_other_job_goes_on() {
    let env = Env::with_ready_jobs(&[job("J1", "CA-*", 2)]).await;
    const DENIED: &str = "arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:denied";
    const ABORTED: &str = "arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:aborted";
    let denied = running_run(&env, "J-DENY", DENIED).await;
    let aborted = running_run(&env, "J-ABRT", ABORTED).await;
    let mut sfn = sfn_rules(&[(ABORTED, Some(ExecutionStatus::Aborted))]);
    sfn.push(describe_error(DENIED, "AccessDeniedException"));
    let output = env.evaluate(&emr_rules(&[cluster("j-WAIT", ClusterState::Waiting)]), &sfn).await;

    assert_eq!(output.reconciled.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), [aborted.as_str()]);
    assert_eq!(placements(&output), pairs(&[("J1", "j-WAIT")]), "the other jobs go on");
    let stored = env.db.rows("SELECT status, cause FROM job_runs WHERE run_id = ?", &denied).await;
    assert_eq!(stored[0][0], "RUNNING", "not failed on a guess");
    assert!(stored[0][1].contains("cannot tell whether the run's execution ended"), "{stored:?}");
    assert!(stored[0][1].contains("AccessDeniedException"), "{stored:?}");

    // Throttling is the task's transient error, retried by the machine.
    let env = Env::with_ready_jobs(&[job("J1", "CA-*", 2)]).await;
    running_run(&env, "J-DENY", DENIED).await;
    let sfn = [describe_error(DENIED, "ThrottlingException")];
    let deps = deps(&env.db.store, &env.bucket.s3, emr_client(&[]), sfn_client(&sfn), NOW);
    let err = evaluate(&deps, &input(EXECUTION)).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient", "{err}");
}
