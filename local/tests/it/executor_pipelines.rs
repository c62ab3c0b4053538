//! The committed pipeline machines (`statemachines/*.asl.json`) load and run
//! end to end on the local executor, with fake task handlers that answer
//! payloads of the `edba_payloads` contract types.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use edba_local::executor::{handler_fn, ExecutionStatus, Executor, ExecutorConfig, TaskFailure};
use edba_payloads::aggregate::{
    AggregateInput, EvaluateInput, EvaluateOutput, LoadInput, LoadOutput, RecordInput, RecordOutput, RunOutcome,
    RunTicket, StepSpec, TableLoad, Trigger,
};
use edba_payloads::ingest::{
    FileStatus, IngestInput, RowCounts, TrackInput, TrackOutcome, TrackOutput, ValidateInput, ValidateOutput,
};
use edba_payloads::resource::{self, TaskResource};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

const INGEST: &str = include_str!("../../../statemachines/ingest.asl.json");
const AGGREGATE: &str = include_str!("../../../statemachines/aggregate.asl.json");
const EVENT: &str = include_str!("../../../tests/fixtures/s3-object-created.json");
const ADD_STEP: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";

fn executor() -> Executor {
    let exec = Executor::new(ExecutorConfig { time_scale: 0.0001, ..ExecutorConfig::default() });
    exec.register_definition("ingest", INGEST).expect("ingest.asl.json is valid");
    exec.register_definition("aggregate", AGGREGATE).expect("aggregate.asl.json is valid");
    exec.alias("${AggregateStateMachineArn}", "aggregate");
    exec
}

type Calls = Arc<Mutex<Vec<Value>>>;

/// Binds a task resource to a handler that checks its input against the
/// resource's input type, records it and answers `reply(input)`.
fn bind<I, O, F>(exec: &Executor, task: TaskResource<I, O>, reply: F) -> Calls
where
    I: serde::de::DeserializeOwned,
    F: Fn(&I) -> Result<Value, TaskFailure> + Send + Sync + 'static,
{
    bind_resource(exec, &task.token(), reply)
}

/// Binds a handler that checks its input against the type `I`, records it
/// and answers `reply(input)`.
fn bind_resource<I, F>(exec: &Executor, resource: &str, reply: F) -> Calls
where
    I: serde::de::DeserializeOwned,
    F: Fn(&I) -> Result<Value, TaskFailure> + Send + Sync + 'static,
{
    let calls: Calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let reply = Arc::new(reply);
    let name = resource.to_string();
    exec.bind(
        resource,
        handler_fn(move |input: Value| {
            let typed: Result<I, _> = serde_json::from_value(input.clone());
            seen.lock().unwrap().push(input.clone());
            let out = match typed {
                Ok(i) => reply(&i),
                Err(e) => Err(TaskFailure::new("Edba.InvalidInput", format!("{name} got {input}: {e}"))),
            };
            async move { out }
        }),
    );
    calls
}

fn validated(input: &ValidateInput) -> ValidateOutput {
    let key = input.object.key.clone();
    ValidateOutput {
        file_url: format!("s3://{}/{key}", input.bucket),
        bucket: input.bucket.clone(),
        key,
        version_id: input.object.version_id.clone(),
        etag: input.object.etag.clone(),
        sequencer: input.object.sequencer.clone(),
        dataset: Some("sales".into()),
        partition: Some("IL".into()),
        status: FileStatus::Validated,
        reason: None,
        counts: RowCounts { rows_valid: 3, rows_rejected: 0, lines_skipped: 1 },
        validated_key: Some("validated/IL-101.csv".into()),
        validated_etag: None,
        rejected_key: None,
        validated_at: "2024-05-01T13:45:11.000000Z".into(),
    }
}

fn ticket(run_id: &str) -> RunTicket {
    RunTicket {
        run_id: run_id.into(),
        job_id: format!("job-{run_id}"),
        cluster_id: "j-LOCAL".into(),
        step: StepSpec { name: format!("edba {run_id}"), args: vec!["spark-submit".into(), format!("--run={run_id}")] },
        manifest_key: format!("manifests/job-{run_id}/{run_id}.json"),
        output_prefix: format!("output/job-{run_id}/{run_id}/"),
        input_count: 2,
        tables: vec!["daily_sales".into()],
    }
}

fn evaluation(runs: Vec<RunTicket>) -> Value {
    serde_json::to_value(EvaluateOutput {
        evaluated_at: "2024-05-01T13:46:00Z".into(),
        runs,
        waiting: vec![],
        waiting_total: 0,
        reconciled: vec![],
        reconciled_total: 0,
    })
    .unwrap()
}

/// Binds load and record with well-formed answers.
fn bind_load_and_record(exec: &Executor) -> (Calls, Calls) {
    let loads = bind(exec, resource::LOAD, |i: &LoadInput| {
        Ok(serde_json::to_value(LoadOutput {
            run_id: i.run_id.clone(),
            tables: i.tables.iter().map(|t| TableLoad { table: t.clone(), rows_merged: 42 }).collect(),
        })
        .unwrap())
    });
    let records = bind(exec, resource::RECORD, |i: &RecordInput| {
        Ok(serde_json::to_value(RecordOutput {
            run_id: i.run_id.clone(),
            job_id: i.job_id.clone(),
            status: i.outcome,
            changed: true,
            failed_runs: if i.outcome == RunOutcome::Failed { vec![i.run_id.clone()] } else { vec![] },
        })
        .unwrap())
    });
    (loads, records)
}

#[tokio::test]
async fn ingest_validates_tracks_and_starts_aggregate() {
    let exec = executor();
    let event: IngestInput = serde_json::from_str(EVENT).unwrap();
    let validates =
        bind(&exec, resource::VALIDATE, |i: &ValidateInput| Ok(serde_json::to_value(validated(i)).unwrap()));
    let tracks = bind(&exec, resource::TRACK, |i: &TrackInput| {
        Ok(serde_json::to_value(TrackOutput {
            file_url: i.file.file_url.clone(),
            outcome: TrackOutcome::Inserted,
            job_may_be_ready: true,
            candidate_jobs: vec!["daily-sales".into()],
        })
        .unwrap())
    });
    let evaluations = bind(&exec, resource::EVALUATE, |_: &EvaluateInput| Ok(evaluation(vec![])));
    bind_load_and_record(&exec);

    let h = exec.start("ingest", serde_json::to_value(&event).unwrap(), Some("file-1".into())).unwrap();
    let r = h.wait().await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{}", r.history);
    assert_eq!(
        r.history.states_entered(),
        ["Validate file", "Track file in state store", "Could a job be ready?", "Start aggregate machine"]
    );
    // ResultPath null on the start: the output is the input plus the task results.
    let out = r.output.unwrap();
    assert_eq!(out["detail"], serde_json::to_value(&event.detail).unwrap());
    assert_eq!(out["tracking"]["job_may_be_ready"], json!(true));

    assert_eq!(
        *validates.lock().unwrap(),
        vec![json!({
            "bucket": "edba-example-bucket",
            "object": serde_json::to_value(&event.detail.object).unwrap(),
            "event_time": "2024-05-01T13:45:10Z"
        })]
    );
    assert_eq!(tracks.lock().unwrap()[0]["file"]["file_url"], json!("s3://edba-example-bucket/incoming/IL-101.tdf"));

    let all = exec.wait_all().await;
    assert_eq!(all.len(), 2, "ingest started one aggregate execution");
    let aggregate = &all[1];
    assert_eq!(aggregate.state_machine, "aggregate");
    assert_eq!(aggregate.status, ExecutionStatus::Succeeded, "{}", aggregate.history);
    let started_with: AggregateInput = serde_json::from_value(aggregate.history.to_json()[0]["input"].clone()).unwrap();
    assert_eq!(started_with.trigger, Trigger::Ingest);
    assert_eq!(started_with.file_url.as_deref(), Some("s3://edba-example-bucket/incoming/IL-101.tdf"));
    assert_eq!(started_with.started_by.as_deref(), Some("arn:aws:states:local:000000000000:execution:ingest:file-1"));
    let evaluated: Vec<EvaluateInput> =
        evaluations.lock().unwrap().iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
    assert_eq!(
        evaluated,
        vec![EvaluateInput { request: started_with.clone(), execution_arn: aggregate.execution_arn.clone() }]
    );
}

#[tokio::test]
async fn ingest_stops_when_no_job_can_be_ready() {
    let exec = executor();
    let event: Value = serde_json::from_str(EVENT).unwrap();
    bind(&exec, resource::VALIDATE, |i: &ValidateInput| Ok(serde_json::to_value(validated(i)).unwrap()));
    bind(&exec, resource::TRACK, |i: &TrackInput| {
        Ok(serde_json::to_value(TrackOutput {
            file_url: i.file.file_url.clone(),
            outcome: TrackOutcome::Duplicate,
            job_may_be_ready: false,
            candidate_jobs: vec![],
        })
        .unwrap())
    });
    let r = exec.start("ingest", event, None).unwrap().wait().await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.history.states_entered().last(), Some(&"No job ready"));
    assert_eq!(exec.wait_all().await.len(), 1, "no aggregate execution was started");
}

#[tokio::test]
async fn aggregate_records_every_run_and_fails_naming_the_failed_one() {
    let exec = executor();
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    bind(&exec, resource::EVALUATE, move |_: &EvaluateInput| {
        // The first call hits a transient fault, which the machine retries.
        if a.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(TaskFailure::new("Edba.Transient", "database is restarting"))
        } else {
            Ok(evaluation(vec![ticket("r1"), ticket("r2")]))
        }
    });
    let steps = bind_resource(&exec, ADD_STEP, |p: &Value| {
        if p["Step"]["Name"] == json!("edba r2") {
            Err(TaskFailure::new("States.TaskFailed", "Step s-2 failed: spark-submit exited with 1"))
        } else {
            Ok(json!({"Step": {"Id": "s-1", "Status": {"State": "COMPLETED"}}}))
        }
    });
    let (loads, records) = bind_load_and_record(&exec);

    let r = exec.start("aggregate", json!({"trigger": "schedule"}), None).unwrap().wait().await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{}", r.history);
    assert_eq!(r.error.as_deref(), Some("Edba.RunsFailed"));
    assert_eq!(
        r.cause.as_deref(),
        Some("1 of 2 runs failed: [\"r2\"]. List their input files with: edba impacted <run id>")
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(r.history.retries("Evaluate job criteria").len(), 1);

    // The EMR step got the cluster and the step of each ticket.
    let mut step_calls = steps.lock().unwrap().clone();
    step_calls.sort_by_key(|v| v["Step"]["Name"].to_string());
    assert_eq!(
        step_calls[0],
        json!({"ClusterId": "j-LOCAL", "Step": {"Name": "edba r1", "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "--run=r1"]}}})
    );
    // Only the run whose step succeeded was loaded.
    let loaded: Vec<LoadInput> =
        loads.lock().unwrap().iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].run_id, "r1");
    assert_eq!(loaded[0].output_prefix, "output/job-r1/r1/");

    let mut recorded: Vec<RecordInput> =
        records.lock().unwrap().iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
    recorded.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    assert_eq!(recorded.len(), 2);
    assert_eq!((recorded[0].run_id.as_str(), recorded[0].outcome), ("r1", RunOutcome::Completed));
    assert_eq!(recorded[0].load.as_ref().unwrap().tables[0].rows_merged, 42);
    assert_eq!(recorded[0].emr.as_ref().unwrap()["Step"]["Id"], json!("s-1"));
    assert_eq!((recorded[1].run_id.as_str(), recorded[1].outcome), ("r2", RunOutcome::Failed));
    let failure = recorded[1].failure.as_ref().unwrap();
    assert_eq!(failure.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(failure.cause.as_deref(), Some("Step s-2 failed: spark-submit exited with 1"));
}

#[tokio::test]
async fn aggregate_succeeds_when_every_run_completes_or_none_is_ready() {
    for runs in [vec![ticket("r1"), ticket("r2"), ticket("r3")], vec![]] {
        let exec = executor();
        let n = runs.len();
        bind(&exec, resource::EVALUATE, move |_: &EvaluateInput| Ok(evaluation(runs.clone())));
        bind_resource(&exec, ADD_STEP, |_: &Value| Ok(json!({"Step": {"Id": "s"}})));
        let (_, records) = bind_load_and_record(&exec);
        let r = exec.start("aggregate", json!({"trigger": "manual"}), None).unwrap().wait().await;
        assert_eq!(r.status, ExecutionStatus::Succeeded, "{}", r.history);
        let out = r.output.unwrap();
        assert_eq!(out["summary"], json!({"failed_runs": [], "run_count": n}));
        assert_eq!(records.lock().unwrap().len(), n);
        assert_eq!(r.history.states_entered().last(), Some(&"All runs completed"));
    }
}

#[tokio::test]
async fn a_run_whose_outcome_cannot_be_recorded_never_stops_the_other_runs() {
    let exec = executor();
    bind(&exec, resource::EVALUATE, |_: &EvaluateInput| Ok(evaluation(vec![ticket("r1"), ticket("r2")])));
    bind_resource(&exec, ADD_STEP, |_: &Value| Ok(json!({"Step": {"Id": "s", "Status": {"State": "COMPLETED"}}})));
    let loads = bind(&exec, resource::LOAD, |i: &LoadInput| {
        Ok(serde_json::to_value(LoadOutput { run_id: i.run_id.clone(), tables: vec![] }).unwrap())
    });
    // The state store is unreachable for r1 past every retry.
    let records = bind(&exec, resource::RECORD, |i: &RecordInput| {
        if i.run_id == "r1" {
            return Err(TaskFailure::new("Edba.Transient", "connection refused"));
        }
        Ok(serde_json::to_value(RecordOutput {
            run_id: i.run_id.clone(),
            job_id: i.job_id.clone(),
            status: i.outcome,
            changed: true,
            failed_runs: vec![],
        })
        .unwrap())
    });

    let r = exec.start("aggregate", json!({"trigger": "schedule"}), None).unwrap().wait().await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{}", r.history);
    assert_eq!(r.error.as_deref(), Some("Edba.RunsFailed"), "the Map itself did not fail");
    assert_eq!(
        r.cause.as_deref(),
        Some("1 of 2 runs failed: [\"r1\"]. List their input files with: edba impacted <run id>")
    );
    // r2 ran to its outcome; r1 was retried as long as a failover lasts, then given up on.
    assert_eq!(loads.lock().unwrap().len(), 2);
    let recorded: Vec<RecordInput> =
        records.lock().unwrap().iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
    let r2: Vec<_> = recorded.iter().filter(|i| i.run_id == "r2").collect();
    assert_eq!(r2.len(), 1);
    assert_eq!(r2[0].outcome, RunOutcome::Completed);
    let r1_attempts = recorded.iter().filter(|i| i.run_id == "r1").count();
    assert_eq!(r1_attempts, 9, "one call and 8 retries of Mark run completed");
    assert!(r.history.states_entered().contains(&"Outcome not recorded"), "{}", r.history);
}
