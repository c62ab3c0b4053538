//! Overlapping evaluations on real MariaDB: each ready job is claimed by
//! exactly one of them; the others report it RUNNING or claimed elsewhere.

use crate::evaluate_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_emr::types::ClusterState;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::mock;
use edba_tasks::evaluate::evaluate;
use edba_tasks::store::StateStore;
use evaluate_support::*;
use pretty_assertions::assert_eq;

const EVALUATIONS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_overlapping_evaluations_fire_each_ready_job_once() {
    let db = StoreDb::mariadb("evaluate").await;
    let bucket = Bucket::new().await;
    let ready = ["J-CA", "J-IL", "J-NY", "J-TX"];
    for (job_id, province) in ready.iter().zip(["CA", "IL", "NY", "TX"]) {
        db.put_job(&with_items(job(job_id, &format!("{province}-*"), 2), "*", 24)).await;
        for n in 1..=3 {
            db.track(&sales(&format!("{province}-10{n}.tdf"), &at(&format!("06:0{n}")))).await;
        }
    }
    db.put_job(&job("J-WA", "WA-*", 2)).await;
    db.track(&items("Item-Master-Data.tdf", &at("05:00"))).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(EVALUATIONS));
    let mut tasks = Vec::new();
    for i in 0..EVALUATIONS {
        // Each evaluation has its own pool, as separate Lambda containers do.
        let store = StateStore::connect(&db.url).await.unwrap();
        let emr = emr_client(&emr_rules(&[cluster("j-WAIT", ClusterState::Waiting)]));
        // Any other execution is still running.
        let sfn = sfn_client(&[mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn("arn")
                .state_machine_arn("arn")
                .status(ExecutionStatus::Running)
                .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                .build()
                .unwrap()
        })]);
        let deps = deps(&store, &bucket.s3, emr, sfn, NOW);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            evaluate(&deps, &input(&format!("{EXECUTION}-{i}"))).await
        }));
    }
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap().expect("no evaluation fails"));
    }

    let mut claimed: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, output) in outputs.iter().enumerate() {
        for run in &output.runs {
            claimed.entry(run.job_id.clone()).or_default().push(i);
        }
    }
    assert_eq!(claimed.keys().cloned().collect::<Vec<_>>(), ready.map(String::from).to_vec());
    for (job_id, by) in &claimed {
        assert_eq!(by.len(), 1, "{job_id} claimed by evaluations {by:?}");
    }
    for (i, output) in outputs.iter().enumerate() {
        for job_id in ready {
            if claimed[job_id] == [i] {
                continue;
            }
            let reason = output
                .waiting
                .iter()
                .find(|w| w.job_id == job_id)
                .map(|w| w.reason.as_str())
                .unwrap_or_else(|| panic!("evaluation {i} does not list {job_id}: {output:?}"));
            assert!(
                reason.starts_with("RUNNING: run ") || reason == "claimed by another evaluation (now RUNNING)",
                "{reason}"
            );
        }
        let wa = output.waiting.iter().find(|w| w.job_id == "J-WA").unwrap();
        assert_eq!(wa.reason, "never run: 0 of 2 WA-* files fresh");
    }

    for job_id in ready {
        let runs = db.rows("SELECT run_id, status FROM job_runs WHERE job_id = ?", job_id).await;
        assert_eq!(runs.len(), 1, "{job_id}: {runs:?}");
        let inputs = db.rows("SELECT file_url FROM run_inputs WHERE run_id = ?", &runs[0][0]).await;
        assert_eq!(inputs.len(), 4, "{job_id}: three sales files and the items file");
    }
    assert_eq!(bucket.keys("manifests/").await.len(), ready.len());
}
