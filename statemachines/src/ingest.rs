//! The ingest machine: one EXPRESS execution per S3 "Object Created" event
//! under `incoming/`.
//!
//! Validate -> Track -> (a job may be ready?) -> start the aggregate machine.
//! A file with bad *content* is a result (tracked as INVALID), not a failure;
//! S3 or database trouble is retried and then fails the execution.

use edba_asl::{Choice, ChoiceRule, ComparisonOp, Condition, Retrier, StateMachine, Succeed, Task};
use serde_json::json;

use crate::resources::{AGGREGATE_STATE_MACHINE, TRACK_FUNCTION, VALIDATE_FUNCTION};
use crate::transient_retry;

pub const VALIDATE: &str = "Validate file";
pub const TRACK: &str = "Track file in state store";
pub const JOB_READY: &str = "Could a job be ready?";
pub const START_AGGREGATE: &str = "Start aggregate machine";
pub const NO_JOB_READY: &str = "No job ready";

/// The ingest state machine.
pub fn machine() -> StateMachine {
    StateMachine::new(VALIDATE)
        .comment(
            "edba ingest: validates one file that landed under incoming/, records it in the state \
             store, and starts the aggregate machine when a job that reads the file may now be ready. \
             Bad rows are quarantined under rejected/; a file with bad content is tracked as INVALID, \
             it does not fail the execution.",
        )
        .timeout_seconds(1800)
        .state(
            VALIDATE,
            Task::lambda(VALIDATE_FUNCTION.token())
                .comment(
                    "Convert the raw TDF object to validated/<name>.csv and write rejected rows with \
                     line number and reason to rejected/<name>.rejects.csv. Content problems are \
                     reported in the result; S3 trouble raises Edba.Transient and is retried.",
                )
                .parameters(json!({
                    "bucket.$": "$.detail.bucket.name",
                    "object.$": "$.detail.object",
                    "event_time.$": "$.time",
                }))
                .result_path(Some("$.validation"))
                .timeout_seconds(900)
                .retry(transient_retry())
                .next(TRACK),
        )
        .state(
            TRACK,
            Task::lambda(TRACK_FUNCTION.token())
                .comment(
                    "Upsert the file's status, version and row counts. Redelivered and out-of-order \
                     events change nothing. Says whether a job reading this file may now be ready.",
                )
                .parameters(json!({ "file.$": "$.validation" }))
                .result_path(Some("$.tracking"))
                .timeout_seconds(60)
                .retry(transient_retry())
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
                 atomically, so overlapping starts cannot run a job twice.",
            )
            .result_path(None)
            .retry(
                Retrier::on([
                    "StepFunctions.ExecutionLimitExceededException",
                    "StepFunctions.SdkClientException",
                    "StepFunctions.AWSStepFunctionsException",
                ])
                .interval_seconds(2)
                .max_attempts(5)
                .backoff_rate(2.0),
            )
            .end(),
        )
        .state(NO_JOB_READY, Succeed::new().comment("The file is tracked; no job that reads it can be ready yet."))
}
