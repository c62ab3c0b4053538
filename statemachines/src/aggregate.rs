//! The aggregate machine (STANDARD): evaluate every job, then for each job that
//! fired run its EMR step (the `addStep.sync` wait, no poller), merge its output
//! into the warehouse and record the outcome. A failing run is recorded as
//! FAILED with error and cause while the other runs go on; the execution fails
//! at the end, naming the failed runs.

use edba_asl::integrations::EmrStep;
use edba_asl::{
    Catcher, Choice, ChoiceRule, ComparisonOp, Condition, Fail, JitterStrategy, MapState, Pass, Retrier, StateMachine,
    States, Succeed, Task,
};
use edba_payloads::{resource, ErrorName};
use serde_json::json;

use crate::{lambda_task, transient_retry};

pub const EVALUATE: &str = "Evaluate job criteria";
pub const RUN_JOBS: &str = "Run ready jobs";
pub const RUN_STEP: &str = "Run EMR step";
pub const LOAD: &str = "Load into warehouse";
pub const MARK_COMPLETED: &str = "Mark run completed";
pub const MARK_FAILED: &str = "Mark run failed";
pub const OUTCOME_UNRECORDED: &str = "Outcome not recorded";
pub const SUMMARIZE: &str = "Summarize runs";
pub const ANY_FAILED: &str = "Did any run fail?";
pub const EXPLAIN_FAILURE: &str = "Explain failed runs";
pub const RUNS_FAILED: &str = "Runs failed";
pub const DONE: &str = "All runs completed";

/// How many runs' EMR steps one execution submits at once.
pub const MAX_CONCURRENT_RUNS: u64 = 4;

/// The aggregate state machine.
pub fn machine() -> StateMachine {
    StateMachine::new(EVALUATE)
        .comment(
            "edba aggregate: evaluates every job's criteria, claims each ready job exactly once, runs \
             its aggregation step on EMR over exactly the files in its manifest, merges the result into \
             the warehouse and records the outcome. Started by the schedule, by ingest and by `edba rerun`.",
        )
        .state(
            EVALUATE,
            lambda_task(resource::EVALUATE)
                .comment(
                    "Mark runs whose execution ended without an outcome as FAILED (their inputs are \
                     fresh again), then fire every enabled job whose criteria hold: claim it atomically, \
                     record its input versions, write manifests/<job>/<run>.json and pick an EMR cluster. \
                     Jobs that wait are listed with the reason. With trigger 'rerun', re-run one run from \
                     its recorded manifest instead.",
                )
                .parameters(json!({
                    "request.$": "$",
                    "execution_arn.$": "$$.Execution.Id",
                }))
                .result_path(Some("$.evaluation"))
                .retry(transient_retry())
                .next(RUN_JOBS),
        )
        .state(RUN_JOBS, run_jobs())
        .state(
            SUMMARIZE,
            Pass::new()
                .comment("Collect the ids of the runs that failed.")
                .parameters(json!({
                    "failed_runs.$": "$.outcomes[*].failed_runs[*]",
                    "run_count.$": "States.ArrayLength($.outcomes)",
                }))
                .result_path(Some("$.summary"))
                .next(ANY_FAILED),
        )
        .state(
            ANY_FAILED,
            Choice {
                comment: Some("Every run has been recorded; fail the execution if any run failed.".into()),
                choices: vec![ChoiceRule::new(
                    Condition::compare("$.summary.failed_runs[0]", ComparisonOp::IsPresent, true),
                    EXPLAIN_FAILURE,
                )],
                default: Some(DONE.into()),
                ..Choice::new()
            },
        )
        .state(
            EXPLAIN_FAILURE,
            Pass::new()
                .comment("Name the failed runs in the execution's cause.")
                .parameters(json!({
                    "cause.$": "States.Format('{} of {} runs failed: {}. List their input files with: edba impacted <run id>', States.ArrayLength($.summary.failed_runs), $.summary.run_count, States.JsonToString($.summary.failed_runs))",
                }))
                .result_path(Some("$.failure"))
                .next(RUNS_FAILED),
        )
        .state(
            RUNS_FAILED,
            Fail::new()
                .comment("One or more runs failed; each is recorded as FAILED with its error and cause.")
                .error(ErrorName::RunsFailed.as_str())
                .cause_path("$.failure.cause"),
        )
        .state(DONE, Succeed::new().comment("Every fired job completed (or none was ready)."))
}

/// Record's retrier: long enough to outlast a database failover (RDS
/// Multi-AZ takes one to two minutes), 5 + 10 + 20 + 40 + 4 × 60 = 315 s of
/// waiting at most, before the iteration gives up on recording.
pub fn record_retry() -> Retrier {
    Retrier::on([ErrorName::Transient.as_str()])
        .interval_seconds(5)
        .max_attempts(8)
        .backoff_rate(2.0)
        .max_delay_seconds(60)
        .jitter(JitterStrategy::Full)
}

fn run_jobs() -> MapState {
    let mut body = States::new();
    body.insert(
        RUN_STEP.into(),
        Task::emr_add_step_sync(
            "$.cluster_id",
            EmrStep {
                name: "$.step.name".into(),
                name_is_path: true,
                action_on_failure: "CONTINUE".into(),
                jar: "command-runner.jar".into(),
                args_path: "$.step.args".into(),
            },
        )
        .comment(
            "Submit the job's aggregation step to the chosen EMR cluster and wait until it finishes \
             (Step Functions polls EMR). The step reads exactly the files in the run's manifest.",
        )
        .result_path(Some("$.emr"))
        .timeout_seconds(6 * 3600)
        // EMR API throttling and service errors; a step that ran and failed
        // (States.TaskFailed) is not retried: its run is marked FAILED.
        .retry(
            Retrier::on([
                "ElasticMapReduce.AmazonElasticMapReduceException",
                "ElasticMapReduce.InternalServerException",
                "ElasticMapReduce.ThrottlingException",
            ])
            .interval_seconds(10)
            .max_attempts(5)
            .backoff_rate(2.0)
            .max_delay_seconds(300)
            .jitter(JitterStrategy::Full),
        )
        .catch(Catcher::on(["States.ALL"], MARK_FAILED).result_path("$.failure"))
        .next(LOAD)
        .into(),
    );
    body.insert(
        LOAD.into(),
        lambda_task(resource::LOAD)
            .comment(
                "Merge the step's output tables into the warehouse by (store, item, day), in one \
                 transaction: re-running a job never duplicates a row.",
            )
            .parameters(json!({
                "run_id.$": "$.run_id",
                "job_id.$": "$.job_id",
                "output_prefix.$": "$.output_prefix",
                "tables.$": "$.tables",
            }))
            .result_path(Some("$.load"))
            .retry(transient_retry())
            .catch(Catcher::on(["States.ALL"], MARK_FAILED).result_path("$.failure"))
            .next(MARK_COMPLETED)
            .into(),
    );
    body.insert(
        MARK_COMPLETED.into(),
        lambda_task(resource::RECORD)
            .comment("Record the run as COMPLETED with its EMR step id and rows loaded.")
            .parameters(json!({
                "run_id.$": "$.run_id",
                "job_id.$": "$.job_id",
                "outcome": "COMPLETED",
                "emr.$": "$.emr",
                "load.$": "$.load",
            }))
            .retry(record_retry())
            .catch(Catcher::on(["States.ALL"], OUTCOME_UNRECORDED).result_path("$.record_failure"))
            .end()
            .into(),
    );
    body.insert(
        MARK_FAILED.into(),
        lambda_task(resource::RECORD)
            .comment(
                "Record the run as FAILED with the error and cause of the step that failed, so an \
                 operator can list exactly its input files (edba impacted <run id>).",
            )
            .parameters(json!({
                "run_id.$": "$.run_id",
                "job_id.$": "$.job_id",
                "outcome": "FAILED",
                "failure.$": "$.failure",
            }))
            .retry(record_retry())
            .catch(Catcher::on(["States.ALL"], OUTCOME_UNRECORDED).result_path("$.record_failure"))
            .end()
            .into(),
    );
    body.insert(
        OUTCOME_UNRECORDED.into(),
        Pass::new()
            .comment(
                "The state store stayed unreachable past Record's retries: end this iteration as a \
                 failed run so the other runs go on (Step Functions would stop them all if an \
                 iteration failed). The run stays RUNNING in the store; the next evaluation finds its \
                 execution ended, marks it FAILED and gives its inputs back (merging by the table key \
                 makes running them again harmless).",
            )
            .parameters(json!({
                "run_id.$": "$.run_id",
                "job_id.$": "$.job_id",
                "failed_runs.$": "States.Array($.run_id)",
                "record_failure.$": "$.record_failure",
            }))
            .end()
            .into(),
    );
    MapState::inline("$.evaluation.runs", RUN_STEP, body)
        .comment(
            "One iteration per job that fired. A failing run is caught and recorded as FAILED; \
             no iteration fails (not even when its outcome cannot be recorded), so the other runs \
             always go on.",
        )
        .max_concurrency(MAX_CONCURRENT_RUNS)
        .result_path(Some("$.outcomes"))
        .next(SUMMARIZE)
}
