//! The structural rules, one failing definition per rule, and one valid
//! machine per state type.

use edba_asl::integrations::{EmrStep, EMR_ADD_STEP_SYNC};
use edba_asl::validate::{validate, validate_json, ValidationError};
use edba_asl::{ChoiceRule, ComparisonOp, Condition, Pass, State, StateMachine, Succeed, Task};
use serde_json::{json, Value};

/// Parses and validates `doc`; the errors, empty when it passes.
fn check(doc: Value) -> Vec<ValidationError> {
    errors_of(&doc.to_string())
}

fn errors_of(text: &str) -> Vec<ValidationError> {
    match validate_json(text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    }
}

/// A machine starting at the first of `states`.
fn machine(states: Value) -> Value {
    let start = states.as_object().and_then(|m| m.keys().next().cloned()).expect("at least one state");
    json!({ "StartAt": start, "States": states })
}

/// A machine with one state, `state`, named `S` (made terminal with
/// `End: true` unless it says otherwise).
fn one(mut state: Value) -> Value {
    let m = state.as_object_mut().unwrap();
    let ty = m["Type"].as_str().unwrap().to_string();
    let terminal_by_type = ["Succeed", "Fail", "Choice"].contains(&ty.as_str());
    if !terminal_by_type && !m.contains_key("Next") && !m.contains_key("End") {
        m.insert("End".into(), json!(true));
    }
    machine(json!({ "S": state }))
}

/// Asserts that exactly one error has this state and field, and that its
/// message contains `message`.
#[track_caller]
fn assert_error(errors: &[ValidationError], state: Option<&str>, field: &str, message: &str) {
    let all = || errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n");
    let hits: Vec<&ValidationError> =
        errors.iter().filter(|e| e.state.as_deref() == state && e.field == field).collect();
    assert!(hits.len() == 1, "expected one error for {state:?} / {field:?}, got:\n{}", all());
    assert!(hits[0].message.contains(message), "expected {message:?} in:\n{}", all());
}

#[track_caller]
fn assert_only_error(doc: Value, state: Option<&str>, field: &str, message: &str) {
    let errors = check(doc);
    assert_error(&errors, state, field, message);
    assert_eq!(errors.len(), 1, "{errors:#?}");
}

#[track_caller]
fn assert_valid(doc: Value) {
    let errors = check(doc.clone());
    assert!(errors.is_empty(), "{doc:#}\n{}", errors.iter().map(|e| format!("  {e}\n")).collect::<String>());
}

// ---------------------------------------------------------------------------
// Valid machines

#[test]
fn a_valid_machine_of_each_state_type_passes() {
    assert_valid(one(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.job",
        "Parameters": {
            "FunctionName": "${ClaimFn}",
            "Payload": { "run.$": "$$.Execution.Id", "jobs.$": "$.jobs[?(@.status == 'READY')]",
                         "label.$": "States.Format('run {} of {}', $.n, States.ArrayLength($.jobs))",
                         "args": [ { "k.$": "$['odd key'][0]" } ] }
        },
        "ResultSelector": { "claimed.$": "$.Payload" },
        "ResultPath": "$.claim",
        "OutputPath": "$",
        "TimeoutSeconds": 300,
        "HeartbeatSeconds": 60,
        "Retry": [
            { "ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2,
              "MaxDelaySeconds": 60, "JitterStrategy": "FULL" },
            { "ErrorEquals": ["States.ALL"], "MaxAttempts": 0 }
        ],
        "Catch": [
            { "ErrorEquals": ["States.Timeout"], "Next": "S", "ResultPath": "$.error" },
            { "ErrorEquals": ["States.ALL"], "Next": "S", "ResultPath": null }
        ]
    })));
    assert_valid(one(
        json!({ "Type": "Task", "Resource": "arn:x", "TimeoutSecondsPath": "$.t", "HeartbeatSecondsPath": "$.h" }),
    ));
    assert_valid(machine(json!({
        "P": { "Type": "Pass", "Result": { "a": 1 }, "ResultPath": "$.a", "Next": "Q" },
        "Q": { "Type": "Pass", "Parameters": { "x.$": "$.a", "y": [1, 2] }, "InputPath": null, "End": true }
    })));
    assert_valid(machine(json!({
        "C": {
            "Type": "Choice",
            "Choices": [
                { "Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big" },
                { "And": [ { "Variable": "$.s", "StringMatches": "log-\\*-*.txt" },
                           { "Not": { "Variable": "$.t", "IsPresent": false } } ], "Next": "Big" },
                { "Variable": "$.when", "TimestampLessThan": "2016-03-14T01:59:00.5+02:00", "Next": "Big" },
                { "Variable": "$.a", "StringEqualsPath": "$$.Execution.Name", "Next": "Big" }
            ],
            "Default": "Small"
        },
        "Big": { "Type": "Succeed" },
        "Small": { "Type": "Fail", "Error": "TooSmall", "CausePath": "States.Format('n = {}', $.n)" }
    })));
    for wait in [
        json!({ "Seconds": 0 }),
        json!({ "Timestamp": "2016-02-29T23:59:60Z" }),
        json!({ "SecondsPath": "$.delay" }),
        json!({ "TimestampPath": "$.at" }),
    ] {
        let mut state = json!({ "Type": "Wait" });
        state.as_object_mut().unwrap().extend(wait.as_object().unwrap().clone());
        assert_valid(one(state));
    }
    assert_valid(one(json!({ "Type": "Succeed", "OutputPath": "$.result" })));
    assert_valid(one(json!({ "Type": "Fail", "ErrorPath": "$.error", "Cause": "because" })));
    assert_valid(machine(json!({
        "Fork": {
            "Type": "Parallel",
            "Branches": [
                { "StartAt": "A", "States": { "A": { "Type": "Pass", "End": true } } },
                { "StartAt": "B", "States": { "B": { "Type": "Wait", "Seconds": 1, "Next": "B2" }, "B2": { "Type": "Succeed" } } }
            ],
            "ResultSelector": { "first.$": "$[0]" },
            "Catch": [ { "ErrorEquals": ["States.ALL"], "Next": "Failed" } ],
            "Next": "Done"
        },
        "Done": { "Type": "Succeed" },
        "Failed": { "Type": "Fail" }
    })));
    assert_valid(one(json!({
        "Type": "Map",
        "ItemsPath": "$.jobs",
        "ItemSelector": { "job.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index" },
        "MaxConcurrency": 0,
        "ItemProcessor": {
            "ProcessorConfig": { "Mode": "INLINE" },
            "StartAt": "RunStep",
            "States": { "RunStep": { "Type": "Task", "Resource": "arn:x", "End": true } }
        },
        "ResultPath": null
    })));
    // The legacy spelling of a Map.
    assert_valid(one(json!({
        "Type": "Map",
        "Parameters": { "job.$": "$$.Map.Item.Value" },
        "Iterator": { "StartAt": "R", "States": { "R": { "Type": "Pass", "End": true } } }
    })));
}

#[test]
fn machines_built_with_the_builders_pass() {
    let step = EmrStep {
        name: "$.step.name".into(),
        name_is_path: true,
        action_on_failure: "CONTINUE".into(),
        jar: "command-runner.jar".into(),
        args_path: "$.step.args".into(),
    };
    let m = StateMachine::new("Check")
        .state(
            "Check",
            edba_asl::Choice::new()
                .when(Condition::compare("$.ready", ComparisonOp::BooleanEquals, true), "Run")
                .otherwise("Done"),
        )
        .state("Run", Task::emr_add_step_sync("$.cluster", step).next("Notify"))
        .state("Notify", Task::lambda("${NotifyFn}").result_path(None).next("Done"))
        .state("Done", Succeed::new());
    assert_eq!(validate(&m), Ok(()));
    assert!(m.to_pretty_json().contains(EMR_ADD_STEP_SYNC));
}

#[test]
fn errors_display_the_state_and_the_field() {
    let e = ValidationError {
        state: Some("RunReadyJobs/RunStep".into()),
        field: "Retry[0].ErrorEquals".into(),
        message: "States.ALL must be the only error name and in the last retrier".into(),
    };
    assert_eq!(
        e.to_string(),
        "state \"RunReadyJobs/RunStep\", field \"Retry[0].ErrorEquals\": \
         States.ALL must be the only error name and in the last retrier"
    );
    let e = ValidationError { state: None, field: "StartAt".into(), message: "m".into() };
    assert_eq!(e.to_string(), "field \"StartAt\": m");
    let e = ValidationError { state: Some("S".into()), field: String::new(), message: "m".into() };
    assert_eq!(e.to_string(), "state \"S\": m");
}

#[test]
fn all_errors_are_collected() {
    let errors = check(machine(json!({
        "A": { "Type": "Pass", "Next": "Nowhere", "InputPath": "$..", "ResultPath": "$.a[*]" },
        "B": { "Type": "Task", "Resource": "arn:x" }
    })));
    assert_error(&errors, Some("A"), "Next", "`Next` \"Nowhere\" does not name any state");
    assert_error(&errors, Some("A"), "InputPath", "\"$..\" is not a valid JSONPath");
    assert_error(&errors, Some("A"), "ResultPath", "is not a reference path");
    assert_error(&errors, Some("B"), "Next", "a Task state needs `Next` or `End: true`");
    assert_error(&errors, Some("B"), "", "not reachable");
    assert_error(&errors, None, "States", "there is no terminal state");
}

// ---------------------------------------------------------------------------
// Rule 1: names

const RUN_READY_JOBS: &str = r#"{
  "StartAt": "RunReadyJobs",
  "States": {
    "RunReadyJobs": {
      "Type": "Map",
      "ItemProcessor": {
        "StartAt": "RunStep",
        "States": {
          "RunStep": { "Type": "Pass", "Parameters": { "a.$": "$.x", "a.$": "$.y" }, "End": true },
          "RunStep": { "Type": "Succeed" }
        }
      },
      "End": true
    }
  }
}"#;

#[test]
fn duplicate_keys_in_the_document_are_errors() {
    let errors = errors_of(RUN_READY_JOBS);
    assert_error(&errors, Some("RunReadyJobs/RunStep"), "", "defined twice in the same `States` object");
    assert_error(&errors, Some("RunReadyJobs/RunStep"), "Parameters.a.$", "the key appears twice");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let errors = errors_of(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Succeed"}}}"#);
    assert_error(&errors, Some("A"), "", "defined twice");
}

#[test]
fn a_document_that_does_not_parse_is_one_error() {
    let errors = errors_of(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "B"}}}"#);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].message.starts_with("not a valid ASL document: "), "{}", errors[0]);
    let errors = errors_of("{\"StartAt\": ");
    assert!(errors[0].message.contains("EOF"), "{}", errors[0]);
}

#[test]
fn state_names_are_unique_across_branches() {
    assert_only_error(
        machine(json!({
            "Work": { "Type": "Parallel", "Branches": [
                { "StartAt": "Work", "States": { "Work": { "Type": "Succeed" } } }
            ], "End": true }
        })),
        Some("Work/Work"),
        "",
        "the state name \"Work\" is also used by \"Work\"",
    );
}

#[test]
fn state_names_are_at_most_80_characters() {
    let long = "N".repeat(81);
    assert_only_error(
        machine(json!({ long.clone(): { "Type": "Succeed" } })),
        Some(long.as_str()),
        "",
        "81 characters long; at most 80",
    );
    assert_valid(machine(json!({ "N".repeat(80): { "Type": "Succeed" } })));
}

// ---------------------------------------------------------------------------
// Rule 2: transitions stay in their scope

fn map_with_inner(inner: Value) -> Value {
    machine(json!({
        "RunReadyJobs": {
            "Type": "Map",
            "ItemProcessor": { "StartAt": "RunStep", "States": inner },
            "Next": "Done"
        },
        "Done": { "Type": "Succeed" }
    }))
}

#[test]
fn start_at_names_a_state_of_its_scope() {
    assert_only_error(
        json!({ "StartAt": "Missing", "States": { "A": { "Type": "Succeed" } } }),
        None,
        "StartAt",
        "`StartAt` \"Missing\" does not name any state",
    );
    let errors = check(machine(json!({
        "P": { "Type": "Parallel", "End": true, "Branches": [
            { "StartAt": "P", "States": { "B": { "Type": "Succeed" } } }
        ] }
    })));
    assert_error(&errors, Some("P"), "Branches[0].StartAt", "`StartAt` \"P\" leaves the branch of Parallel \"P\"");
}

#[test]
fn next_cannot_leave_a_map_branch() {
    // The branch has a terminal state, but the only path skips it.
    let errors = check(map_with_inner(json!({
        "RunStep": { "Type": "Pass", "Next": "Done" },
        "Elsewhere": { "Type": "Succeed" }
    })));
    assert_error(
        &errors,
        Some("RunReadyJobs/RunStep"),
        "Next",
        "`Next` \"Done\" leaves the branch of Map \"RunReadyJobs\"",
    );
    assert_error(&errors, Some("RunReadyJobs/Elsewhere"), "", "not reachable");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn catch_choice_and_default_cannot_cross_scopes() {
    let errors = check(map_with_inner(json!({
        "RunStep": { "Type": "Task", "Resource": "arn:x", "End": true,
                     "Catch": [ { "ErrorEquals": ["States.ALL"], "Next": "Done" } ] }
    })));
    assert_error(&errors, Some("RunReadyJobs/RunStep"), "Catch[0].Next", "`Next` \"Done\" leaves the branch of Map");

    // From the top level into a branch, and from one branch into another.
    let errors = check(machine(json!({
        "C": { "Type": "Choice", "Choices": [ { "Variable": "$.a", "IsNull": true, "Next": "A" } ], "Default": "B" },
        "P": { "Type": "Parallel", "End": true, "Branches": [
            { "StartAt": "A", "States": { "A": { "Type": "Pass", "Next": "B" } } },
            { "StartAt": "B", "States": { "B": { "Type": "Succeed" } } }
        ] }
    })));
    assert_error(&errors, Some("C"), "Choices[0].Next", "`Next` \"A\" enters the branch of Parallel \"P\"");
    assert_error(&errors, Some("C"), "Default", "`Default` \"B\" enters the branch of Parallel \"P\"");
    assert_error(&errors, Some("P/A"), "Next", "`Next` \"B\" leaves the branch of Parallel \"P\"");
}

// ---------------------------------------------------------------------------
// Rules 3 and 4: terminal and reachable states

#[test]
fn every_scope_has_a_terminal_state() {
    let errors = check(machine(json!({
        "A": { "Type": "Pass", "Next": "B" },
        "B": { "Type": "Pass", "Next": "A" }
    })));
    assert_error(&errors, None, "States", "there is no terminal state");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let errors = check(map_with_inner(json!({ "RunStep": { "Type": "Wait", "Seconds": 1, "Next": "RunStep" } })));
    assert_error(&errors, Some("RunReadyJobs"), "ItemProcessor.States", "there is no terminal state");
    let errors = check(json!({ "StartAt": "A", "States": {} }));
    assert_error(&errors, None, "States", "there are no states");
}

#[test]
fn every_state_is_reachable_from_start_at() {
    assert_only_error(
        machine(json!({
            "A": { "Type": "Pass", "Next": "C" },
            "Orphan": { "Type": "Pass", "Next": "C" },
            "C": { "Type": "Succeed" }
        })),
        Some("Orphan"),
        "",
        "not reachable from `StartAt` \"A\"",
    );
    // Choice, Default and Catch edges count.
    assert_valid(machine(json!({
        "T": { "Type": "Task", "Resource": "arn:x", "Next": "C",
               "Catch": [ { "ErrorEquals": ["States.ALL"], "Next": "ByCatch" } ] },
        "C": { "Type": "Choice", "Choices": [ { "Variable": "$.a", "IsNull": true, "Next": "ByChoice" } ], "Default": "ByDefault" },
        "ByCatch": { "Type": "Fail" },
        "ByChoice": { "Type": "Succeed" },
        "ByDefault": { "Type": "Succeed" }
    })));
}

// ---------------------------------------------------------------------------
// Rule 5: Next and End

#[test]
fn next_and_end_are_exclusive_and_one_is_required() {
    assert_only_error(
        machine(json!({ "A": { "Type": "Pass", "Next": "B", "End": true }, "B": { "Type": "Succeed" } })),
        Some("A"),
        "End",
        "`Next` and `End: true` are exclusive",
    );
    // `End: false` counts as absent.
    let errors = check(one(json!({ "Type": "Wait", "Seconds": 1, "End": false })));
    assert_error(&errors, Some("S"), "Next", "a Wait state needs `Next` or `End: true`");
    assert_valid(machine(json!({ "A": { "Type": "Pass", "Next": "B", "End": false }, "B": { "Type": "Succeed" } })));
}

#[test]
fn a_choice_has_at_least_one_rule() {
    let errors = check(machine(json!({
        "C": { "Type": "Choice", "Choices": [], "Default": "D" }, "D": { "Type": "Succeed" }
    })));
    assert_error(&errors, Some("C"), "Choices", "a Choice state needs at least one rule");
}

// ---------------------------------------------------------------------------
// Rule 6: retriers, catchers and ranges

fn task_with(extra: Value) -> Value {
    let mut t = json!({ "Type": "Task", "Resource": "arn:x", "End": true });
    let extra = extra.as_object().unwrap().clone();
    let catches = extra.contains_key("Catch");
    t.as_object_mut().unwrap().extend(extra);
    if catches {
        machine(json!({ "S": t, "Handler": { "Type": "Fail" } }))
    } else {
        machine(json!({ "S": t }))
    }
}

#[test]
fn states_all_is_alone_and_last() {
    let errors = check(task_with(json!({
        "Retry": [ { "ErrorEquals": ["States.ALL"] }, { "ErrorEquals": ["States.Timeout", "States.ALL"] } ],
        "Catch": [ { "ErrorEquals": ["States.ALL"], "Next": "Handler" }, { "ErrorEquals": [], "Next": "Handler" } ]
    })));
    assert_error(
        &errors,
        Some("S"),
        "Retry[0].ErrorEquals",
        "States.ALL must be the only error name and in the last retrier",
    );
    assert_error(&errors, Some("S"), "Retry[1].ErrorEquals", "States.ALL must be the only error name");
    assert_error(&errors, Some("S"), "Catch[0].ErrorEquals", "in the last catcher");
    assert_error(&errors, Some("S"), "Catch[1].ErrorEquals", "needs at least one error name");
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn retrier_numbers_are_in_range() {
    let errors = check(task_with(json!({
        "Retry": [ { "ErrorEquals": ["E"], "IntervalSeconds": 0, "MaxAttempts": 100000000,
                     "BackoffRate": 0.5, "MaxDelaySeconds": 31622401 } ]
    })));
    assert_error(&errors, Some("S"), "Retry[0].IntervalSeconds", "between 1 and 99999999, not 0");
    assert_error(&errors, Some("S"), "Retry[0].MaxAttempts", "between 0 and 99999999, not 100000000");
    assert_error(&errors, Some("S"), "Retry[0].BackoffRate", "at least 1.0, not 0.5");
    assert_error(&errors, Some("S"), "Retry[0].MaxDelaySeconds", "between 1 and 31622400");
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn task_timeouts_are_consistent() {
    let errors = check(task_with(json!({ "TimeoutSeconds": 0, "HeartbeatSeconds": 100000000 })));
    assert_error(&errors, Some("S"), "TimeoutSeconds", "between 1 and 99999999, not 0");
    let errors = errors_of(&task_with(json!({ "TimeoutSeconds": 60, "HeartbeatSeconds": 60 })).to_string());
    assert_error(&errors, Some("S"), "HeartbeatSeconds", "must be smaller than `TimeoutSeconds` (60), not 60");
    let errors = check(task_with(json!({
        "TimeoutSeconds": 60, "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.h[*]"
    })));
    assert_error(&errors, Some("S"), "TimeoutSecondsPath", "`TimeoutSeconds` and `TimeoutSecondsPath` are exclusive");
    assert_eq!(
        errors.iter().filter(|e| e.field == "HeartbeatSecondsPath").count(),
        2,
        "exclusive and not a reference path: {errors:#?}"
    );
    let errors = check(json!({ "StartAt": "A", "TimeoutSeconds": 0, "States": { "A": { "Type": "Succeed" } } }));
    assert_error(&errors, None, "TimeoutSeconds", "between 1 and 99999999");
}

#[test]
fn wait_has_exactly_one_duration() {
    assert_only_error(one(json!({ "Type": "Wait" })), Some("S"), "Seconds", "needs exactly one of Seconds, Timestamp");
    assert_only_error(
        one(json!({ "Type": "Wait", "Seconds": 5, "TimestampPath": "$.at" })),
        Some("S"),
        "TimestampPath",
        "not Seconds and TimestampPath",
    );
    assert_only_error(
        one(json!({ "Type": "Wait", "Timestamp": "2016-03-14 01:59:00Z" })),
        Some("S"),
        "Timestamp",
        "\"2016-03-14 01:59:00Z\" is not an RFC 3339 timestamp",
    );
    assert_only_error(
        one(json!({ "Type": "Wait", "SecondsPath": "$.a..b" })),
        Some("S"),
        "SecondsPath",
        "not a reference path",
    );
}

#[test]
fn timestamps_are_rfc_3339() {
    for bad in [
        "2016-03-14",
        "2016-03-14t01:59:00Z",
        "2016-03-14T01:59:00",
        "2016-13-01T00:00:00Z",
        "2015-02-29T00:00:00Z",
        "2016-03-14T24:00:00Z",
        "2016-03-14T01:59:00.Z",
        "2016-03-14T01:59:00+0200",
        "2016-03-14T01:59:00z",
        "２016-03-14T01:59:00Z",
    ] {
        let errors = check(one(json!({ "Type": "Wait", "Timestamp": bad })));
        assert_error(&errors, Some("S"), "Timestamp", "is not an RFC 3339 timestamp");
    }
    for good in
        ["2016-03-14T01:59:00Z", "2016-03-14T01:59:00.123456Z", "2016-03-14T01:59:00-05:30", "2000-02-29T00:00:00Z"]
    {
        assert_valid(one(json!({ "Type": "Wait", "Timestamp": good })));
    }
    let errors = check(machine(json!({
        "C": { "Type": "Choice", "Default": "D", "Choices": [
            { "Variable": "$.t", "TimestampGreaterThanEquals": "yesterday", "Next": "D" } ] },
        "D": { "Type": "Succeed" }
    })));
    assert_error(
        &errors,
        Some("C"),
        "Choices[0].TimestampGreaterThanEquals",
        "\"yesterday\" is not an RFC 3339 timestamp",
    );
}

#[test]
fn fail_error_and_cause_fields_are_exclusive() {
    let errors =
        check(one(json!({ "Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": "c", "CausePath": "$.c" })));
    assert_error(&errors, Some("S"), "ErrorPath", "`Error` and `ErrorPath` are exclusive");
    assert_error(&errors, Some("S"), "CausePath", "`Cause` and `CausePath` are exclusive");
    assert_only_error(
        one(json!({ "Type": "Fail", "CausePath": "States.Format('{}', $.a" })),
        Some("S"),
        "CausePath",
        "\"States.Format('{}', $.a\" is not a valid intrinsic function call: expected `,` or `)`",
    );
}

#[test]
fn map_fields_are_well_formed() {
    let errors = check(one(json!({
        "Type": "Map",
        "ItemsPath": "$.jobs[*]",
        "ItemSelector": { "a.$": "$$.Map.Item.Value" },
        "Parameters": { "a.$": "$$.Map.Item.Value" },
        "ItemProcessor": { "ProcessorConfig": { "Mode": "inline" }, "StartAt": "R", "States": { "R": { "Type": "Succeed" } } }
    })));
    assert_error(&errors, Some("S"), "ItemsPath", "\"$.jobs[*]\" is not a reference path");
    assert_error(&errors, Some("S"), "Parameters", "`ItemSelector` and `Parameters` (its legacy name) are exclusive");
    assert_error(&errors, Some("S"), "ItemProcessor.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

// ---------------------------------------------------------------------------
// Rule 7: paths

#[test]
fn every_path_field_is_valid_jsonpath() {
    let errors = check(machine(json!({
        "S": { "Type": "Pass", "InputPath": "input", "OutputPath": "$.a.", "Next": "C" },
        "C": { "Type": "Choice", "Choices": [
            { "Variable": "$.a[", "NumericEqualsPath": "$.b]", "Next": "D" },
            { "Not": { "Variable": "$.x", "StringEqualsPath": "$.y[?(@.z = 1)]" }, "Next": "D" } ], "Default": "D" },
        "D": { "Type": "Succeed" }
    })));
    assert_error(&errors, Some("S"), "InputPath", "\"input\" is not a valid JSONPath: a path starts with `$` or `$$`");
    assert_error(&errors, Some("S"), "OutputPath", "expected a field name after `.`");
    assert_error(&errors, Some("C"), "Choices[0].Variable", "\"$.a[\" is not a valid JSONPath");
    assert_error(&errors, Some("C"), "Choices[0].NumericEqualsPath", "unexpected `]`");
    assert_error(&errors, Some("C"), "Choices[1].Not.StringEqualsPath", "use `==`");
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn payload_templates_hold_paths_and_intrinsics() {
    let errors = check(task_with(json!({
        "Parameters": {
            "Step": { "Args.$": "$.step..", "Name": "n", "Name.$": "$.name" },
            "List": [ { "x.$": 3 }, { "y.$": "States.Nope($.a)" } ],
            "Fmt.$": "States.Format('{}', $.a[?(@.b === 1)])"
        },
        "ResultSelector": { "r.$": "Payload" },
        "ResultPath": "$$.Execution"
    })));
    assert_error(
        &errors,
        Some("S"),
        "Parameters.Step.Args.$",
        "\"$.step..\" is not a valid JSONPath: expected a field name after `..`",
    );
    assert_error(&errors, Some("S"), "Parameters.Step.Name.$", "`Name` and `Name.$` both set the field `Name`");
    assert_error(
        &errors,
        Some("S"),
        "Parameters.List[0].x.$",
        "a `.$` field takes a path or an intrinsic function call as a string, not 3",
    );
    assert_error(&errors, Some("S"), "Parameters.List[1].y.$", "unknown intrinsic function `States.Nope`");
    assert_error(&errors, Some("S"), "Parameters.Fmt.$", "is not a valid intrinsic function call");
    assert_error(&errors, Some("S"), "ResultSelector.r.$", "\"Payload\" is not a valid JSONPath");
    assert_error(&errors, Some("S"), "ResultPath", "cannot be written to the context object");
    assert_eq!(errors.len(), 7, "{errors:#?}");
}

#[test]
fn result_paths_are_reference_paths() {
    let errors = check(task_with(json!({
        "ResultPath": "$.results[0:2]",
        "Catch": [ { "ErrorEquals": ["States.ALL"], "Next": "Handler", "ResultPath": "$..error" } ]
    })));
    assert_error(&errors, Some("S"), "ResultPath", "\"$.results[0:2]\" is not a reference path");
    assert_error(&errors, Some("S"), "Catch[0].ResultPath", "\"$..error\" is not a reference path");
}

#[test]
fn nested_paths_name_the_full_scope() {
    let errors = check(map_with_inner(json!({
        "RunStep": { "Type": "Task", "Resource": "arn:x", "End": true,
                     "Retry": [ { "ErrorEquals": ["States.ALL"] }, { "ErrorEquals": ["E"] } ],
                     "Parameters": { "Payload.$": "$.a b" } }
    })));
    assert_error(
        &errors,
        Some("RunReadyJobs/RunStep"),
        "Retry[0].ErrorEquals",
        "States.ALL must be the only error name",
    );
    assert_error(&errors, Some("RunReadyJobs/RunStep"), "Parameters.Payload.$", "unexpected ` `");
    assert_eq!(
        errors[0].to_string(),
        "state \"RunReadyJobs/RunStep\", field \"Retry[0].ErrorEquals\": \
         States.ALL must be the only error name and in the last retrier"
    );
}

// ---------------------------------------------------------------------------
// Rule 8: Choice operands

fn choice_on(rule: Value) -> Vec<ValidationError> {
    let mut rule = rule;
    rule.as_object_mut().unwrap().insert("Next".into(), json!("D"));
    check(machine(json!({
        "C": { "Type": "Choice", "Choices": [ rule ], "Default": "D" },
        "D": { "Type": "Succeed" }
    })))
}

#[test]
fn string_matches_patterns_escape_only_star_and_backslash() {
    assert!(choice_on(json!({ "Variable": "$.f", "StringMatches": "a\\*b\\\\c*" })).is_empty());
    let errors = choice_on(json!({ "Variable": "$.f", "StringMatches": "a\\.txt" }));
    assert_error(&errors, Some("C"), "Choices[0].StringMatches", "`\\.` is not an escape");
    let errors = choice_on(json!({ "Variable": "$.f", "StringMatches": "a\\" }));
    assert_error(&errors, Some("C"), "Choices[0].StringMatches", "ends with a lone `\\`");
}

#[test]
fn type_tests_take_booleans() {
    // A parsed document cannot hold a wrong operand...
    let errors = errors_of(
        &machine(json!({
            "C": { "Type": "Choice", "Choices": [ { "Variable": "$.a", "IsNull": "yes", "Next": "D" } ] },
            "D": { "Type": "Succeed" }
        }))
        .to_string(),
    );
    assert!(errors[0].message.contains("`IsNull` takes a boolean operand"), "{errors:#?}");
    // ...but a rule built by hand can.
    let rule = Condition::Compare(edba_asl::Comparison {
        variable: "$.a".into(),
        op: ComparisonOp::IsPresent,
        operand: edba_asl::Operand::String("yes".into()),
    });
    let m = StateMachine::new("C")
        .state("C", edba_asl::Choice { choices: vec![ChoiceRule::new(rule, "D")], ..Default::default() })
        .state("D", State::Pass(Pass { end: Some(true), ..Default::default() }));
    let errors = validate(&m).unwrap_err();
    assert_error(&errors, Some("C"), "Choices[0].IsPresent", "`IsPresent` takes a boolean operand");
    assert_eq!(errors.len(), 1, "{errors:#?}");
}

#[test]
fn and_or_need_rules() {
    let errors = choice_on(json!({ "And": [] }));
    assert_error(&errors, Some("C"), "Choices[0].And", "`And` needs at least one rule");
    let errors =
        choice_on(json!({ "Or": [ { "Variable": "$.a", "IsNull": true }, { "Variable": "$..", "IsNull": true } ] }));
    assert_error(&errors, Some("C"), "Choices[0].Or[1].Variable", "is not a valid JSONPath");
}

// ---------------------------------------------------------------------------
// Rule 9: query languages

/// A JSONata machine using every JSONata field, variables in every scope,
/// and a JSONPath machine with variables: both pass.
#[test]
fn machines_in_todays_asl_pass() {
    assert_valid(json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"limit": 2, "_seen": []}, "Next": "Fetch"},
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "f", "Payload": {"n": "{% $states.input.n %}"}},
                  "TimeoutSeconds": "{% $limit * 30 %}",
                  "Output": "{% $states.result.Payload %}", "Assign": {"fetched": "{% $states.result.Payload %}"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed",
                             "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                             "Output": "{% $states.errorOutput %}"}],
                  "Next": "Decide"},
        "Decide": {"Type": "Choice", "Choices": [
                       {"Condition": "{% $count($fetched.items) > $limit %}", "Next": "Each",
                        "Assign": {"mode": "many"}}],
                   "Default": "Wait", "Assign": {"mode": "few"}},
        "Wait": {"Type": "Wait", "Seconds": "{% $limit %}", "Next": "Each"},
        "Each": {"Type": "Map", "Items": "{% $fetched.items %}", "MaxConcurrency": "{% $limit %}",
                 "ItemSelector": {"item": "{% $states.context.Map.Item.Value %}", "mode": "{% $mode %}"},
                 "ItemProcessor": {"StartAt": "One", "States": {
                     "One": {"Type": "Pass", "Assign": {"inner": "{% $states.input.item %}"}, "Next": "Two"},
                     "Two": {"Type": "Pass", "Output": "{% [$inner, $limit] %}", "End": true}}},
                 "Output": {"all": "{% $states.result %}"}, "Next": "Both"},
        "Both": {"Type": "Parallel", "Arguments": "{% $states.input %}", "Branches": [
                     {"StartAt": "B1", "States": {"B1": {"Type": "Succeed", "Output": "{% $mode %}"}}}],
                 "End": true},
        "Failed": {"Type": "Fail", "Error": "Fetch.Failed", "Cause": "{% $why %}"}
    }}));
    assert_valid(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "Assign": {"x.$": "$.x", "fixed": "yes"}, "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$x", "NumericEquals": 1, "Next": "C",
                                             "Assign": {"y.$": "States.MathAdd($x, 1)"}}], "Default": "C"},
        "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "f.$": "States.Format('{}', $fixed)"}, "End": true}
    }}));
}

#[test]
fn a_jsonpath_field_in_a_jsonata_state_names_the_state_and_field() {
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "Parameters": {"a": 1}, "ResultPath": "$.r", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "F"}]},
        "F": {"Type": "Fail", "ErrorPath": "$.e"}}});
    let errors = check(doc);
    assert_error(
        &errors,
        Some("T"),
        "Parameters",
        "`Parameters` is a JSONPath field; a JSONata state uses `Arguments`",
    );
    assert_error(&errors, Some("T"), "ResultPath", "is a JSONPath field");
    assert_error(&errors, Some("T"), "Catch[0].ResultPath", "is a JSONPath field");
    assert_error(&errors, Some("F"), "ErrorPath", "a JSONata state uses `Error` with an expression");
    assert_eq!(errors.len(), 4, "{errors:#?}");
    // …and a Variable rule in a JSONata Choice.
    assert_only_error(
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "QueryLanguage": "JSONata", "Default": "D",
                  "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "D"}]},
            "D": {"Type": "Succeed"}}}),
        Some("C"),
        "Choices[0].Variable",
        "a JSONata state uses `Condition`",
    );
}

#[test]
fn a_jsonata_field_in_a_jsonpath_state_is_an_error() {
    let doc = one(json!({"Type": "Task", "Resource": "r", "Arguments": {"a": 1}, "Output": "{% 1 %}",
                          "TimeoutSeconds": "{% 5 %}"}));
    let errors = check(doc);
    assert_error(
        &errors,
        Some("S"),
        "Arguments",
        "`Arguments` is a JSONata field; set `\"QueryLanguage\": \"JSONata\"`",
    );
    assert_error(&errors, Some("S"), "Output", "is a JSONata field");
    assert_error(&errors, Some("S"), "TimeoutSeconds", "is a JSONata field");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn a_state_cannot_go_back_to_jsonpath_under_a_jsonata_machine() {
    assert_only_error(
        json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
            "S": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}}),
        Some("S"),
        "QueryLanguage",
        "a state cannot use JSONPath when the machine's `QueryLanguage` is JSONata",
    );
    // The other way round is how machines migrate one state at a time.
    assert_valid(json!({"QueryLanguage": "JSONPath", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": true}}}));
}

#[test]
fn a_jsonata_syntax_error_names_the_field_and_column() {
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Pass", "Output": {"deep": ["ok", "{% $states.input.a + ) %}"]}, "End": true}}});
    assert_only_error(doc, Some("S"), "Output.deep[1]", "JSONata syntax error at column 22");
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {
        "S": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.a = %}", "Next": "T"},
                                            {"Condition": "yes", "Next": "T"}]},
        "T": {"Type": "Pass", "Output": "{% $states.input", "End": true}}});
    let errors = check(doc);
    assert_error(&errors, Some("S"), "Choices[0].Condition", "JSONata syntax error at column");
    assert_error(&errors, Some("S"), "Choices[1].Condition", "must be a `{% … %}` expression or a boolean");
    assert_error(&errors, Some("T"), "Output", "must start with `{%` and end with `%}`");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

// ---------------------------------------------------------------------------
// Rule 10: variables

#[test]
fn variable_names_follow_the_rules() {
    let errors = check(one(json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Assign": {"states": 1, "1st": 2, "has-dash": 3, "ok_name": 4}})));
    assert_error(&errors, Some("S"), "Assign.states", "`states` is reserved");
    assert_error(&errors, Some("S"), "Assign.1st", "is not a valid variable name");
    assert_error(&errors, Some("S"), "Assign.has-dash", "is not a valid variable name");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let long = "v".repeat(81);
    let mut assign = serde_json::Map::new();
    assign.insert(long.clone(), json!(1));
    assert_only_error(
        one(json!({"Type": "Pass", "Assign": assign})),
        Some("S"),
        &format!("Assign.{long}"),
        "at most 80",
    );
    assert_only_error(
        one(json!({"Type": "Pass", "Assign": {"x.$": "$..[bad"}})),
        Some("S"),
        "Assign.x.$",
        "is not a valid JSONPath",
    );
}

#[test]
fn a_read_before_any_assignment_is_an_error() {
    // Assigned only on the other branch of the Choice: there is a path, so
    // it passes; assigned nowhere before: an error naming the read.
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.a %}", "Next": "Use",
                                             "Assign": {"x": 1}}], "Default": "Use"},
        "Use": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}",
                                          "local": "{% ($z := 1; $z) %}"}, "Assign": {"y": 2}, "Next": "Later"},
        "Later": {"Type": "Pass", "Output": "{% $y %}", "End": true}}});
    assert_only_error(
        doc,
        Some("Use"),
        "Output.y",
        "reads `$y`, which no path from `StartAt` assigns before this state",
    );
    // In JSONPath: a Parameters path and a Choice Variable.
    let doc = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$flag", "BooleanEquals": true, "Next": "P"}],
              "Default": "P"},
        "P": {"Type": "Pass", "Parameters": {"v.$": "States.Format('{}', $name)"}, "End": true}}});
    let errors = check(doc);
    assert_error(&errors, Some("C"), "Choices[0].Variable", "reads `$flag`");
    assert_error(&errors, Some("P"), "Parameters.v.$", "reads `$name`");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn a_variable_assigned_in_a_branch_is_not_visible_outside_it() {
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "Outer", "States": {
        "Outer": {"Type": "Pass", "Assign": {"outer": 1}, "Next": "M"},
        "M": {"Type": "Map", "Items": [1, 2], "ItemProcessor": {"StartAt": "In", "States": {
                  "In": {"Type": "Pass", "Assign": {"inner": "{% $outer + $states.input %}"}, "Next": "In2"},
                  "In2": {"Type": "Pass", "Output": "{% $inner %}", "End": true}}},
              "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [
                  {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"branch": 1}, "End": true}}}],
              "Next": "After"},
        "After": {"Type": "Pass", "Output": {"i": "{% $inner %}", "b": "{% $branch %}", "o": "{% $outer %}"},
                  "End": true}}});
    let errors = check(doc);
    assert_error(&errors, Some("After"), "Output.i", "assigned only inside Map \"M\"");
    assert_error(&errors, Some("After"), "Output.b", "assigned only inside Parallel \"P\"");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}
