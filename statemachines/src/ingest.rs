//! The ingest machine: one EXPRESS execution per S3 "Object Created" event
//! under `incoming/`.
//!
//! Validate -> Track -> (a job may be ready?) -> start the aggregate machine.
//! A file with bad *content* is a result (tracked as INVALID), not a failure;
//! S3 or database trouble and Lambda throttling are retried, and an event
//! whose validate or track still fails is *parked*: sent to the dead-letter
//! queue, from which `edba replay` ingests it again. Nothing else would: an
//! EventBridge target's retries cover only a failed StartExecution.
//!
//! AWS ends an EXPRESS execution after 5 minutes whatever the definition
//! says, and a state that is still running then cannot catch it. So every
//! Task here has a short timeout and few attempts, and the worst case of the
//! whole machine, every attempt timing out and every back-off at its longest,
//! stays under [`RETRY_BUDGET_SECONDS`] (computed from the generated JSON by
//! a test) with the park still inside it.

use edba_asl::integrations::SQS_SERVICE_ERRORS;
use edba_asl::{
    Catcher, Choice, ChoiceRule, ComparisonOp, Condition, Fail, JitterStrategy, Pass, Retrier, StateMachine, Succeed,
    Task,
};
use edba_payloads::{resource, ErrorName};
use serde_json::json;

use crate::ingest_lambda_task;
use crate::resources::{AGGREGATE_STATE_MACHINE, INGEST_DEAD_LETTER_QUEUE};

pub const VALIDATE: &str = "Validate file";
pub const TRACK: &str = "Track file in state store";
pub const JOB_READY: &str = "Could a job be ready?";
pub const START_AGGREGATE: &str = "Start aggregate machine";
pub const NO_JOB_READY: &str = "No job ready";
pub const PARK_EVENT: &str = "Park the event for edba replay";
pub const EXPLAIN_PARKED: &str = "Explain the parked event";
pub const PARKED: &str = "Ingest failed; event parked";

/// The longest an ingest execution may take, retries and back-off included,
/// with a minute's margin under the 5 minutes AWS gives an EXPRESS execution.
pub const RETRY_BUDGET_SECONDS: u64 = 240;
/// The machine's own `TimeoutSeconds`: past the budget, under AWS's cap.
pub const MACHINE_TIMEOUT_SECONDS: u64 = 270;

/// Where a failing task's error goes before the event is parked.
const FAILURE: &str = "$.ingest_failure";

/// The ingest state machine.
pub fn machine() -> StateMachine {
    StateMachine::new(VALIDATE)
        .comment(
            "edba ingest: validates one file that landed under incoming/, records it in the state \
             store, and starts the aggregate machine when a job that reads the file may now be ready. \
             Bad rows are quarantined under rejected/; a file with bad content is tracked as INVALID, \
             it does not fail the execution.",
        )
        .timeout_seconds(MACHINE_TIMEOUT_SECONDS)
        .state(
            VALIDATE,
            ingest_lambda_task(resource::VALIDATE)
                .comment(
                    "Convert the raw TDF object to validated/<name>.csv and write rejected rows with \
                     line number and reason to rejected/<name>.rejects.csv. Content problems are \
                     reported in the result; S3 trouble raises Edba.Transient and is retried; what \
                     still fails parks the event.",
                )
                .parameters(json!({
                    "bucket.$": "$.detail.bucket.name",
                    "object.$": "$.detail.object",
                    "event_time.$": "$.time",
                }))
                .result_path(Some("$.validation"))
                .catch(Catcher::on(["States.ALL"], PARK_EVENT).result_path(FAILURE))
                .next(TRACK),
        )
        .state(
            TRACK,
            ingest_lambda_task(resource::TRACK)
                .comment(
                    "Upsert the file's status, version and row counts. Redelivered and out-of-order \
                     events change nothing. Says whether a job reading this file may now be ready.",
                )
                .parameters(json!({ "file.$": "$.validation" }))
                .result_path(Some("$.tracking"))
                .catch(Catcher::on(["States.ALL"], PARK_EVENT).result_path(FAILURE))
                .next(JOB_READY),
        )
        .state(
            JOB_READY,
            Choice {
                comment: Some(
                    "Track's cheap check (not an evaluation): start an aggregate execution only \
                     when a job that reads this file may have all it needs."
                        .into(),
                ),
                choices: vec![ChoiceRule::new(
                    Condition::compare("$.tracking.job_may_be_ready", ComparisonOp::BooleanEquals, true),
                    START_AGGREGATE,
                )],
                default: Some(NO_JOB_READY.into()),
                ..Choice::new()
            },
        )
        .state(
            START_AGGREGATE,
            Task::start_execution(
                AGGREGATE_STATE_MACHINE.token(),
                json!({
                    "trigger": "ingest",
                    "file_url.$": "$.tracking.file_url",
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                }),
            )
            .comment(
                "Fire and forget: the aggregate machine evaluates every job and claims ready ones \
                 atomically, so overlapping starts cannot run a job twice. The file is tracked \
                 already: if this fails, the schedule's next evaluation still sees it.",
            )
            .result_path(None)
            .timeout_seconds(10)
            .retry(
                Retrier::on([
                    "StepFunctions.ExecutionLimitExceededException",
                    "StepFunctions.SdkClientException",
                    "StepFunctions.AWSStepFunctionsException",
                ])
                .interval_seconds(1)
                .max_attempts(2)
                .backoff_rate(2.0)
                .jitter(JitterStrategy::Full),
            )
            .end(),
        )
        .state(NO_JOB_READY, Succeed::new().comment("The file is tracked; no job that reads it can be ready yet."))
        .state(
            PARK_EVENT,
            Task::sqs_send_message(
                INGEST_DEAD_LETTER_QUEUE.token(),
                "$$.Execution.Input",
                &[("error", "$.ingest_failure.Error"), ("execution", "$$.Execution.Id")],
            )
            .comment(
                "Validate or track still failed after its retries: send the S3 event, exactly as \
                 EventBridge delivered it, to the ingest dead-letter queue (its depth raises an \
                 alarm). `edba replay` ingests parked events again; nothing is lost.",
            )
            .result_path(Some("$.parked"))
            .timeout_seconds(10)
            .retry(Retrier::on(SQS_SERVICE_ERRORS).interval_seconds(1).max_attempts(1).jitter(JitterStrategy::Full))
            .next(EXPLAIN_PARKED),
        )
        .state(
            EXPLAIN_PARKED,
            Pass::new()
                .comment("Say what failed and that the event waits for edba replay.")
                .parameters(json!({
                    "cause.$": "States.Format('{} failed ({}); the event is parked in the ingest dead-letter queue: ingest it again with edba replay (its cause is in this execution history)', $.detail.object.key, $.ingest_failure.Error)",
                }))
                .result_path(Some("$.failure"))
                .next(PARKED),
        )
        .state(
            PARKED,
            Fail::new()
                .comment("The file is not tracked yet; its event is parked for edba replay.")
                .error(ErrorName::IngestParked.as_str())
                .cause_path("$.failure.cause"),
        )
}
