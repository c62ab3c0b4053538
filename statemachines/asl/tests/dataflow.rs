//! Typed data paths: each test is a small machine over small payload types, and
//! says which paths must be accepted and which reported, with state and field.

use edba_asl::dataflow::{check_paths, render_errors, PathError, ResourceTable};
use edba_asl::StateMachine;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

// --- payload types, as a pipeline crate would define them -------------------

#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
struct JobRequest {
    job_id: u64,
    /// Optional: absent for the first attempt.
    previous_run: Option<String>,
    runs: Vec<Run>,
    label: String,
}

#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
struct Run {
    run_id: String,
    status: RunStatus,
    attempt: u32,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
enum RunStatus {
    Running,
    Failed,
    Succeeded,
}

#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
struct RunTicket {
    run_id: String,
    job_id: u64,
    cluster: Option<Cluster>,
}

/// `RunTicket` after a data engineer renamed `run_id`.
#[derive(Serialize, JsonSchema)]
#[serde(rename = "RunTicket")]
#[allow(dead_code)]
struct RunTicketRenamed {
    run_key: String,
    job_id: u64,
    cluster: Option<Cluster>,
}

#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
struct Cluster {
    id: String,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LoadInput {
    run_id: String,
    job_id: u64,
    #[serde(default)]
    dry_run: Option<bool>,
}

#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
struct LoadOutput {
    rows: u64,
}

fn schema_of<T: JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    serde_json::to_value(settings.into_generator().into_root_schema_for::<T>()).unwrap()
}

// --- helpers -----------------------------------------------------------------

const CLAIM: &str = "${ClaimFunctionArn}";
const LOAD: &str = "${LoadFunctionArn}";

fn resources() -> ResourceTable {
    ResourceTable::new().with(CLAIM, None, schema_of::<RunTicket>()).with(
        LOAD,
        Some(schema_of::<LoadInput>()),
        schema_of::<LoadOutput>(),
    )
}

fn machine(states: Value, start: &str) -> StateMachine {
    serde_json::from_value(json!({ "StartAt": start, "States": states })).expect("a valid machine")
}

fn errors_with(m: &StateMachine, r: &ResourceTable) -> Vec<PathError> {
    match check_paths(m, &schema_of::<JobRequest>(), r) {
        Ok(()) => Vec::new(),
        Err(es) => es,
    }
}

fn errors(m: &StateMachine) -> Vec<PathError> {
    errors_with(m, &resources())
}

#[track_caller]
fn assert_ok(m: &StateMachine) {
    let es = errors(m);
    assert!(es.is_empty(), "unexpected errors:\n{}", render_errors(&es));
}

/// Exactly one error, at `state` / `field` / `path`, whose message contains
/// every one of `words`.
#[track_caller]
fn assert_one(es: &[PathError], state: &str, field: &str, path: &str, words: &[&str]) {
    assert_eq!(es.len(), 1, "expected one error, got:\n{}", render_errors(es));
    assert_error(&es[0], state, field, path, words);
}

#[track_caller]
fn assert_error(e: &PathError, state: &str, field: &str, path: &str, words: &[&str]) {
    assert_eq!((e.state.as_str(), e.field.as_str(), e.path.as_str()), (state, field, path), "{e}");
    for w in words {
        assert!(e.message.contains(w), "message lacks {w:?}: {e}");
    }
}

/// Claim (returns a RunTicket) then `next`.
fn after_claim(next: Value) -> StateMachine {
    machine(
        json!({
            "Claim": { "Type": "Task", "Resource": CLAIM, "Next": "Next" },
            "Next": next,
        }),
        "Claim",
    )
}

fn pass_reading(params: Value) -> Value {
    json!({ "Type": "Pass", "Parameters": params, "End": true })
}

// --- Parameters ----------------------------------------------------------------

#[test]
fn a_typo_in_parameters_is_reported_with_state_field_and_available_fields() {
    let m = machine(json!({ "Start": pass_reading(json!({ "id.$": "$.job_idd", "label.$": "$.label" })) }), "Start");
    assert_one(
        &errors(&m),
        "Start",
        "Parameters.id.$",
        "$.job_idd",
        &["field \"job_idd\" does not exist in JobRequest", "it has: job_id, previous_run, runs, label"],
    );
}

#[test]
fn nested_templates_and_static_values_are_typed() {
    let m = machine(
        json!({
            "Start": { "Type": "Pass", "Parameters": { "outer": { "id.$": "$.job_id", "kind": "full" } }, "Next": "Read" },
            "Read": pass_reading(json!({ "a.$": "$.outer.id", "b.$": "$.outer.kind", "c.$": "$.outer.nope" })),
        }),
        "Start",
    );
    assert_one(&errors(&m), "Read", "Parameters.c.$", "$.outer.nope", &["\"nope\" does not exist", "it has: id, kind"]);
}

#[test]
fn a_renamed_task_output_field_is_caught_in_the_next_parameters_and_choice() {
    let params = after_claim(json!({
        "Type": "Task", "Resource": LOAD, "Parameters": { "run_id.$": "$.run_id", "job_id.$": "$.job_id" }, "End": true
    }));
    let choice = after_claim(json!({
        "Type": "Choice",
        "Choices": [{ "Variable": "$.run_id", "StringEquals": "x", "Next": "Done" }],
        "Default": "Done"
    }));
    let choice = {
        let mut c = choice;
        c.states.insert("Done".into(), serde_json::from_value(json!({ "Type": "Succeed" })).unwrap());
        c
    };
    assert_ok(&params);
    assert_ok(&choice);

    let renamed = ResourceTable::new().with(CLAIM, None, schema_of::<RunTicketRenamed>()).with(
        LOAD,
        Some(schema_of::<LoadInput>()),
        schema_of::<LoadOutput>(),
    );
    assert_one(
        &errors_with(&params, &renamed),
        "Next",
        "Parameters.run_id.$",
        "$.run_id",
        &["\"run_id\" does not exist in RunTicket", "run_key"],
    );
    assert_one(
        &errors_with(&choice, &renamed),
        "Next",
        "Choices[0].Variable",
        "$.run_id",
        &["\"run_id\" does not exist"],
    );
}

#[test]
fn a_task_with_an_unknown_result_type_is_an_error_unless_opted_out() {
    let m = machine(json!({ "T": { "Type": "Task", "Resource": "${Mystery}", "End": true } }), "T");
    assert_one(&errors(&m), "T", "Resource", "", &["${Mystery}", "unknown"]);
    let opted_out = resources().with("${Mystery}", None, json!(true));
    assert!(errors_with(&m, &opted_out).is_empty());
}

// --- task input types -------------------------------------------------------------

#[test]
fn parameters_must_produce_the_task_input_type() {
    let load =
        |params: Value| after_claim(json!({ "Type": "Task", "Resource": LOAD, "Parameters": params, "End": true }));
    // Missing a required field.
    assert_one(
        &errors(&load(json!({ "run_id.$": "$.run_id" }))),
        "Next",
        "Parameters",
        "",
        &["does not produce \"job_id\", which LoadInput requires"],
    );
    // A field the type does not have.
    assert_one(
        &errors(&load(json!({ "run_id.$": "$.run_id", "job_id.$": "$.job_id", "runid": "x" }))),
        "Next",
        "Parameters",
        "",
        &["Parameters produces \"runid\" which LoadInput does not have"],
    );
    // A field of the wrong type.
    assert_one(
        &errors(&load(json!({ "run_id.$": "$.job_id", "job_id.$": "$.job_id" }))),
        "Next",
        "Parameters",
        "",
        &["Parameters.run_id is an integer", "expects a string"],
    );
    // Optional fields may be given, as constants too.
    assert!(errors(&load(json!({ "run_id.$": "$.run_id", "job_id.$": "$.job_id", "dry_run": true }))).is_empty());
}

#[test]
fn without_parameters_the_state_input_is_checked_against_the_task_input_type() {
    // Claim's RunTicket has `cluster`, which LoadInput (deny_unknown_fields) does not.
    let m = after_claim(json!({ "Type": "Task", "Resource": LOAD, "End": true }));
    assert_one(&errors(&m), "Next", "InputPath", "", &["produces \"cluster\" which LoadInput does not have"]);
}

// --- ResultPath, OutputPath, InputPath ------------------------------------------------

#[test]
fn result_path_merges_the_result_into_the_input() {
    let m = machine(
        json!({
            "Claim": { "Type": "Task", "Resource": CLAIM, "ResultPath": "$.ticket.current", "Next": "Read" },
            "Read": pass_reading(json!({
                "run.$": "$.ticket.current.run_id",
                "job.$": "$.job_id",
                "bad.$": "$.ticket.current.runid"
            })),
        }),
        "Claim",
    );
    assert_one(
        &errors(&m),
        "Read",
        "Parameters.bad.$",
        "$.ticket.current.runid",
        &["at `$.ticket.current`", "\"runid\" does not exist in RunTicket"],
    );
}

#[test]
fn result_path_null_keeps_the_input_and_discards_the_result() {
    let m = machine(
        json!({
            "Claim": { "Type": "Task", "Resource": CLAIM, "ResultPath": null, "Next": "Read" },
            "Read": pass_reading(json!({ "job.$": "$.job_id", "run.$": "$.run_id" })),
        }),
        "Claim",
    );
    assert_one(&errors(&m), "Read", "Parameters.run.$", "$.run_id", &["\"run_id\" does not exist in JobRequest"]);
}

#[test]
fn result_path_into_a_non_object_is_reported() {
    let m = machine(
        json!({ "Claim": { "Type": "Task", "Resource": CLAIM, "ResultPath": "$.label.ticket", "End": true } }),
        "Claim",
    );
    assert_one(&errors(&m), "Claim", "ResultPath", "$.label.ticket", &["not an object"]);
}

#[test]
fn output_path_selects_what_the_next_state_receives() {
    let m = machine(
        json!({
            "Claim": { "Type": "Task", "Resource": CLAIM, "ResultPath": "$.ticket", "OutputPath": "$.ticket", "Next": "Read" },
            "Read": pass_reading(json!({ "run.$": "$.run_id", "job.$": "$.label" })),
        }),
        "Claim",
    );
    assert_one(&errors(&m), "Read", "Parameters.job.$", "$.label", &["\"label\" does not exist in RunTicket"]);

    let m = machine(
        json!({
            "P": { "Type": "Pass", "OutputPath": "$.nope", "End": true },
        }),
        "P",
    );
    assert_one(&errors(&m), "P", "OutputPath", "$.nope", &["does not exist in JobRequest"]);
}

#[test]
fn input_path_null_gives_an_empty_object() {
    let m = machine(
        json!({ "P": { "Type": "Pass", "InputPath": null, "Parameters": { "id.$": "$.job_id", "t.$": "$$.Execution.StartTime" }, "End": true } }),
        "P",
    );
    assert_one(&errors(&m), "P", "Parameters.id.$", "$.job_id", &["\"job_id\" does not exist", "no fields"]);
}

#[test]
fn input_path_narrows_what_parameters_read() {
    let m = machine(
        json!({ "P": { "Type": "Pass", "InputPath": "$.runs[0]", "Parameters": { "r.$": "$.run_id", "j.$": "$.job_id" }, "End": true } }),
        "P",
    );
    assert_one(&errors(&m), "P", "Parameters.j.$", "$.job_id", &["does not exist in Run"]);
}

#[test]
fn result_selector_reads_the_task_result() {
    let m = after_claim(json!({
        "Type": "Task", "Resource": LOAD,
        "Parameters": { "run_id.$": "$.run_id", "job_id.$": "$.job_id" },
        "ResultSelector": { "loaded.$": "$.rows", "oops.$": "$.row_count" },
        "ResultPath": "$.load",
        "Next": "Read"
    }));
    let mut m = m;
    m.states.insert("Read".into(), serde_json::from_value(pass_reading(json!({ "n.$": "$.load.loaded" }))).unwrap());
    assert_one(
        &errors(&m),
        "Next",
        "ResultSelector.oops.$",
        "$.row_count",
        &["does not exist in LoadOutput", "it has: rows"],
    );
}

// --- Catch ----------------------------------------------------------------------------

#[test]
fn a_catcher_puts_the_error_output_at_its_result_path() {
    let m = machine(
        json!({
            "Claim": {
                "Type": "Task", "Resource": CLAIM, "Next": "Done",
                "Catch": [
                    { "ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Report" },
                    { "ErrorEquals": ["Edba.NoCluster"], "Next": "Replaced" }
                ]
            },
            "Done": { "Type": "Succeed" },
            "Report": pass_reading(json!({ "e.$": "$.failure.Error", "job.$": "$.job_id", "bad.$": "$.failure.Oops" })),
            "Replaced": pass_reading(json!({ "e.$": "$.Error", "job.$": "$.job_id" })),
        }),
        "Claim",
    );
    let es = errors(&m);
    assert_eq!(es.len(), 2, "{}", render_errors(&es));
    assert_error(
        &es[0],
        "Report",
        "Parameters.bad.$",
        "$.failure.Oops",
        &["\"Oops\" does not exist in the error output", "Error, Cause"],
    );
    assert_error(
        &es[1],
        "Replaced",
        "Parameters.job.$",
        "$.job_id",
        &["\"job_id\" does not exist in the error output"],
    );
}

#[test]
fn the_cause_of_an_error_may_be_absent() {
    let m = machine(
        json!({
            "Claim": {
                "Type": "Task", "Resource": CLAIM, "End": true,
                "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed" }]
            },
            "Failed": { "Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause" },
        }),
        "Claim",
    );
    assert_one(&errors(&m), "Failed", "CausePath", "$.failure.Cause", &["optional", "IsPresent"]);
}

// --- Map ------------------------------------------------------------------------------

fn map_over(items_path: &str, selector: Option<Value>, processor: Value) -> StateMachine {
    let mut map = json!({
        "Type": "Map",
        "ItemsPath": items_path,
        "ItemProcessor": { "StartAt": "Check", "States": { "Check": processor } },
        "ResultPath": "$.checked",
        "Next": "After"
    });
    if let Some(s) = selector {
        map["ItemSelector"] = s;
    }
    machine(json!({ "RunAll": map, "After": pass_reading(json!({ "first.$": "$.checked[0]" })) }), "RunAll")
}

#[test]
fn map_items_path_must_be_an_array_and_item_fields_are_checked_inside() {
    assert_ok(&map_over("$.runs", None, pass_reading(json!({ "id.$": "$.run_id", "s.$": "$.status" }))));
    assert_one(
        &errors(&map_over("$.runs", None, pass_reading(json!({ "s.$": "$.statuss" })))),
        "RunAll/Check",
        "Parameters.s.$",
        "$.statuss",
        &["\"statuss\" does not exist in Run", "it has: run_id, status, attempt"],
    );
    assert_one(
        &errors(&map_over("$.label", None, pass_reading(json!({})))),
        "RunAll",
        "ItemsPath",
        "$.label",
        &["must point to an array", "a string"],
    );
}

#[test]
fn map_item_selector_reads_the_item_from_the_context_object() {
    let selector = json!({
        "run.$": "$$.Map.Item.Value.run_id",
        "index.$": "$$.Map.Item.Index",
        "job.$": "$.job_id",
        "bad.$": "$$.Map.Item.Value.runid"
    });
    let m = map_over(
        "$.runs",
        Some(selector),
        pass_reading(json!({ "r.$": "$.run", "i.$": "$.index", "x.$": "$.run_id" })),
    );
    let es = errors(&m);
    assert_eq!(es.len(), 2, "{}", render_errors(&es));
    assert_error(
        &es[0],
        "RunAll",
        "ItemSelector.bad.$",
        "$$.Map.Item.Value.runid",
        &["\"runid\" does not exist in Run"],
    );
    // The processor receives the selector's output, not the item.
    assert_error(
        &es[1],
        "RunAll/Check",
        "Parameters.x.$",
        "$.run_id",
        &["\"run_id\" does not exist", "run, index, job, bad"],
    );
}

#[test]
fn the_map_item_is_not_in_the_context_object_outside_a_map() {
    let m = machine(json!({ "P": pass_reading(json!({ "v.$": "$$.Map.Item.Value" })) }), "P");
    assert_one(
        &errors(&m),
        "P",
        "Parameters.v.$",
        "$$.Map.Item.Value",
        &["\"Map\" does not exist in the context object"],
    );
}

#[test]
fn the_map_result_is_an_array_of_the_processor_outputs() {
    let m = map_over("$.runs", None, pass_reading(json!({ "id.$": "$.run_id" })));
    let mut m = m;
    m.states.insert(
        "After".into(),
        serde_json::from_value(pass_reading(json!({ "a.$": "$.checked[0].id", "b.$": "$.checked[1].run_id" })))
            .unwrap(),
    );
    assert_one(
        &errors(&m),
        "After",
        "Parameters.b.$",
        "$.checked[1].run_id",
        &["at `$.checked[1]`", "\"run_id\" does not exist"],
    );
}

// --- Parallel -------------------------------------------------------------------------

#[test]
fn parallel_results_are_a_tuple_of_branch_outputs() {
    let m = machine(
        json!({
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    { "StartAt": "A", "States": { "A": { "Type": "Task", "Resource": CLAIM, "End": true } } },
                    { "StartAt": "B", "States": { "B": pass_reading(json!({ "label.$": "$.label" })) } }
                ],
                "Next": "Read"
            },
            "Read": pass_reading(json!({ "run.$": "$[0].run_id", "label.$": "$[1].label", "bad.$": "$[1].run_id", "far.$": "$[2]" })),
        }),
        "Both",
    );
    let es = errors(&m);
    assert_eq!(es.len(), 2, "{}", render_errors(&es));
    assert_error(&es[0], "Read", "Parameters.bad.$", "$[1].run_id", &["\"run_id\" does not exist"]);
    assert_error(&es[1], "Read", "Parameters.far.$", "$[2]", &["out of range"]);
}

// --- Choice, optional fields ------------------------------------------------------------

fn choice_then(rule: Value, then: Value) -> StateMachine {
    machine(
        json!({
            "Decide": { "Type": "Choice", "Choices": [rule], "Default": "Done" },
            "Then": then,
            "Done": { "Type": "Succeed" },
        }),
        "Decide",
    )
}

#[test]
fn reading_an_optional_field_is_an_error_but_is_present_is_not() {
    let m = machine(json!({ "P": pass_reading(json!({ "prev.$": "$.previous_run" })) }), "P");
    assert_one(&errors(&m), "P", "Parameters.prev.$", "$.previous_run", &["optional", "States.Runtime", "IsPresent"]);

    // Tested with IsPresent first: the Then branch knows it is there.
    let m = choice_then(
        json!({ "Variable": "$.previous_run", "IsPresent": true, "Next": "Then" }),
        pass_reading(json!({ "prev.$": "$.previous_run" })),
    );
    assert_ok(&m);

    // IsPresent on a field the type does not have is still a typo.
    let m = choice_then(
        json!({ "Variable": "$.previous_runn", "IsPresent": true, "Next": "Then" }),
        json!({ "Type": "Succeed" }),
    );
    assert_one(&errors(&m), "Decide", "Choices[0].Variable", "$.previous_runn", &["does not exist"]);

    // Comparing an optional field without IsPresent fails at run time.
    let m = choice_then(
        json!({ "Variable": "$.previous_run", "StringEquals": "x", "Next": "Then" }),
        json!({ "Type": "Succeed" }),
    );
    assert_one(&errors(&m), "Decide", "Choices[0].Variable", "$.previous_run", &["optional"]);

    // Combined in an And: the comparison reads a field tested in the same rule.
    let m = choice_then(
        json!({ "And": [
            { "Variable": "$.label", "IsPresent": true },
            { "Variable": "$.labell", "StringEquals": "x" }
        ], "Next": "Then" }),
        json!({ "Type": "Succeed" }),
    );
    assert_one(&errors(&m), "Decide", "Choices[0].And[1].Variable", "$.labell", &["does not exist"]);
}

#[test]
fn choice_operators_need_a_variable_of_their_type() {
    let m = choice_then(
        json!({ "Variable": "$.label", "NumericGreaterThan": 3, "Next": "Then" }),
        json!({ "Type": "Succeed" }),
    );
    assert_one(
        &errors(&m),
        "Decide",
        "Choices[0].Variable",
        "$.label",
        &["NumericGreaterThan compares a number", "a string"],
    );
    let m = choice_then(
        json!({ "Variable": "$.runs[0].attempt", "NumericLessThanPath": "$.job_idd", "Next": "Then" }),
        json!({ "Type": "Succeed" }),
    );
    assert_one(&errors(&m), "Decide", "Choices[0].NumericLessThanPath", "$.job_idd", &["does not exist"]);
    // An enum field compares as a string.
    let m = choice_then(
        json!({ "Variable": "$.runs[0].status", "StringEquals": "FAILED", "Next": "Then" }),
        json!({ "Type": "Succeed" }),
    );
    assert_ok(&m);
}

// --- context object, intrinsics, filters ---------------------------------------------------

#[test]
fn the_context_object_has_a_fixed_shape() {
    let m = machine(
        json!({ "P": pass_reading(json!({
            "id.$": "$$.Execution.Id",
            "input.$": "$$.Execution.Input.job_id",
            "name.$": "$$.State.Name",
            "bad.$": "$$.Execution.Idd"
        })) }),
        "P",
    );
    assert_one(
        &errors(&m),
        "P",
        "Parameters.bad.$",
        "$$.Execution.Idd",
        &["\"Idd\" does not exist", "Id, Name, StartTime, Input, RoleArn"],
    );
}

#[test]
fn paths_inside_intrinsic_arguments_are_checked() {
    let m = machine(
        json!({ "P": pass_reading(json!({
            "msg.$": "States.Format('job {} has {} runs', $.job_id, States.ArrayLength($.runs))",
            "bad.$": "States.Format('run {}', States.JsonToString($.run_idd))",
            "count.$": "States.Format('{} {}', $.label)"
        })) }),
        "P",
    );
    let es = errors(&m);
    assert_eq!(es.len(), 2, "{}", render_errors(&es));
    assert_error(
        &es[0],
        "P",
        "Parameters.bad.$",
        "States.Format('run {}', States.JsonToString($.run_idd))",
        &["$.run_idd", "\"run_idd\" does not exist"],
    );
    assert_error(
        &es[1],
        "P",
        "Parameters.count.$",
        "States.Format('{} {}', $.label)",
        &["2 `{}` placeholders but 1 arguments"],
    );
}

#[test]
fn intrinsic_results_are_typed() {
    let m = machine(
        json!({
            "P": { "Type": "Pass", "Parameters": {
                "n.$": "States.ArrayLength($.runs)",
                "s.$": "States.Format('{}', $.job_id)",
                "parts.$": "States.StringSplit($.label, ',')",
                "any.$": "States.StringToJson($.label)"
            }, "Next": "Read" },
            "Read": pass_reading(json!({ "a.$": "$.parts[0]", "b.$": "$.any.whatever", "c.$": "$.n.x" })),
        }),
        "P",
    );
    assert_one(&errors(&m), "Read", "Parameters.c.$", "$.n.x", &["not an object"]);
}

#[test]
fn filter_expressions_are_typed() {
    let m = machine(
        json!({
            "P": { "Type": "Pass", "Parameters": {
                "failed.$": "$.runs[?(@.status == 'FAILED')].run_id",
                "retried.$": "$.runs[?(@.attempt > 1 && @.status != 'RUNNING')]"
            }, "Next": "Read" },
            "Read": pass_reading(json!({ "first.$": "$.failed[0]", "r.$": "$.retried[0].run_id" })),
        }),
        "P",
    );
    assert_ok(&m);

    let m = machine(json!({ "P": pass_reading(json!({ "f.$": "$.runs[?(@.statuss == 'FAILED')].run_id" })) }), "P");
    assert_one(
        &errors(&m),
        "P",
        "Parameters.f.$",
        "$.runs[?(@.statuss == 'FAILED')].run_id",
        &["in the filter", "\"statuss\" does not exist in Run"],
    );

    let m = machine(json!({ "P": pass_reading(json!({ "f.$": "$.runs[?(@.attempt == 'two')]" })) }), "P");
    assert_one(&errors(&m), "P", "Parameters.f.$", "$.runs[?(@.attempt == 'two')]", &["never holds"]);

    let m = machine(json!({ "P": pass_reading(json!({ "f.$": "$.runs[*].runid" })) }), "P");
    assert_one(&errors(&m), "P", "Parameters.f.$", "$.runs[*].runid", &["at `$.runs[*]`", "does not exist in Run"]);
}

#[test]
fn wait_and_fail_paths_are_checked() {
    let m = machine(
        json!({
            "W": { "Type": "Wait", "SecondsPath": "$.label", "Next": "W2" },
            "W2": { "Type": "Wait", "TimestampPath": "$.stamp", "Next": "F" },
            "F": { "Type": "Fail", "ErrorPath": "$.label", "CausePath": "$.runs" },
        }),
        "W",
    );
    let formatted = machine(
        json!({ "F": { "Type": "Fail", "ErrorPath": "States.Format('E{}', $.job_id)", "CausePath": "States.Format('{}', $.labell)" } }),
        "F",
    );
    assert_one(&errors(&formatted), "F", "CausePath", "States.Format('{}', $.labell)", &["\"labell\" does not exist"]);
    let es = errors(&m);
    assert_eq!(es.len(), 3, "{}", render_errors(&es));
    assert_error(&es[0], "W", "SecondsPath", "$.label", &["a number of seconds", "a string"]);
    assert_error(&es[1], "W2", "TimestampPath", "$.stamp", &["does not exist"]);
    assert_error(&es[2], "F", "CausePath", "$.runs", &["needs a string"]);
}

// --- graphs ---------------------------------------------------------------------------------

#[test]
fn a_state_reached_from_several_predecessors_is_checked_against_each_input() {
    // `Read` is reached with JobRequest (Default) and with a RunTicket (via Claim).
    let m = machine(
        json!({
            "Decide": { "Type": "Choice", "Choices": [{ "Variable": "$.job_id", "NumericEquals": 1, "Next": "Claim" }], "Default": "Read" },
            "Claim": { "Type": "Task", "Resource": CLAIM, "Next": "Read" },
            "Read": pass_reading(json!({ "l.$": "$.label" })),
        }),
        "Decide",
    );
    assert_one(&errors(&m), "Read", "Parameters.l.$", "$.label", &["\"label\" does not exist in RunTicket"]);
}

#[test]
fn a_machine_with_loops_terminates() {
    let m = machine(
        json!({
            // Nests its input one level deeper at every turn: never a fixed point.
            "Grow": { "Type": "Pass", "Parameters": { "prev.$": "$", "job_id": 1 }, "Next": "Wait" },
            "Wait": { "Type": "Wait", "Seconds": 5, "Next": "Again" },
            "Again": { "Type": "Choice", "Choices": [{ "Variable": "$.job_id", "NumericEquals": 1, "Next": "Grow" }], "Default": "Poll" },
            // Same schema at each turn: a fixed point.
            "Poll": { "Type": "Task", "Resource": CLAIM, "ResultPath": "$.ticket", "Next": "Done?" },
            "Done?": { "Type": "Choice", "Choices": [{ "Variable": "$.ticket.run_id", "StringEquals": "x", "Next": "End" }], "Default": "Poll" },
            "End": { "Type": "Succeed" },
        }),
        "Grow",
    );
    assert_ok(&m);
}

#[test]
fn nested_map_states_name_the_full_scope() {
    let inner = json!({
        "Type": "Map", "ItemsPath": "$.runs",
        "ItemProcessor": { "StartAt": "Leaf", "States": { "Leaf": pass_reading(json!({ "x.$": "$.nope" })) } },
        "End": true
    });
    let m = machine(
        json!({
            "Outer": {
                "Type": "Map", "ItemsPath": "$.batches",
                "ItemProcessor": { "StartAt": "Inner", "States": { "Inner": inner } },
                "End": true
            }
        }),
        "Outer",
    );
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Batches {
        batches: Vec<JobRequest>,
    }
    let es = check_paths(&m, &schema_of::<Batches>(), &resources()).unwrap_err();
    assert_one(&es, "Outer/Inner/Leaf", "Parameters.x.$", "$.nope", &["does not exist in Run"]);
}

#[test]
fn optional_structs_and_maps_are_navigated() {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Input {
        ticket: Option<RunTicket>,
        tags: std::collections::BTreeMap<String, String>,
        pair: (String, u32),
        anything: Value,
    }
    let m = machine(
        json!({
            "Decide": { "Type": "Choice", "Choices": [{ "Variable": "$.ticket", "IsPresent": true, "Next": "Use" }], "Default": "Done" },
            "Use": pass_reading(json!({
                "run.$": "$.ticket.run_id",
                "tag.$": "$.tags.owner",
                "n.$": "$.pair[1]",
                "x.$": "$.anything.deep.down",
                "cluster.$": "$.ticket.cluster.id",
                "bad.$": "$.ticket.run"
            })),
            "Done": { "Type": "Succeed" },
        }),
        "Decide",
    );
    let es = check_paths(&m, &schema_of::<Input>(), &resources()).unwrap_err();
    assert_eq!(es.len(), 2, "{}", render_errors(&es));
    assert_error(
        &es[0],
        "Use",
        "Parameters.cluster.$",
        "$.ticket.cluster.id",
        &["\"cluster\" of RunTicket is optional"],
    );
    assert_error(&es[1], "Use", "Parameters.bad.$", "$.ticket.run", &["\"run\" does not exist in RunTicket"]);
}

#[test]
fn errors_render_with_state_field_and_path() {
    let m = machine(json!({ "Start": pass_reading(json!({ "id.$": "$.job_idd" })) }), "Start");
    let text = render_errors(&errors(&m));
    assert!(
        text.starts_with(
            "state `Start`, Parameters.id.$ = `$.job_idd`: field \"job_idd\" does not exist in JobRequest"
        ),
        "{text}"
    );
}

#[derive(Serialize, JsonSchema)]
#[serde(tag = "kind")]
#[allow(dead_code)]
enum LoadResult {
    Loaded { rows: u64 },
    Skipped { reason: String },
}

#[test]
fn a_choice_on_the_tag_of_an_enum_selects_its_variant() {
    let r = resources().with("${Tagged}", None, schema_of::<LoadResult>());
    let m = |then: Value| {
        machine(
            json!({
                "Load": { "Type": "Task", "Resource": "${Tagged}", "Next": "Decide" },
                "Decide": { "Type": "Choice", "Choices": [{ "Variable": "$.kind", "StringEquals": "Loaded", "Next": "Then" }], "Default": "Done" },
                "Then": then,
                "Done": { "Type": "Succeed" },
            }),
            "Load",
        )
    };
    let es = errors_with(&m(pass_reading(json!({ "rows.$": "$.rows", "why.$": "$.reason" }))), &r);
    assert_one(&es, "Then", "Parameters.why.$", "$.reason", &["\"reason\" does not exist", "it has: kind, rows"]);

    // Without the Choice, a field of one variant may be absent.
    let m = machine(
        json!({
            "Load": { "Type": "Task", "Resource": "${Tagged}", "Next": "Then" },
            "Then": pass_reading(json!({ "rows.$": "$.rows", "kind.$": "$.kind" })),
        }),
        "Load",
    );
    assert_one(&errors_with(&m, &r), "Then", "Parameters.rows.$", "$.rows", &["exists only in some of the shapes"]);
}

#[test]
fn recursive_and_self_referencing_schemas_terminate() {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Tree {
        name: String,
        children: Vec<Tree>,
    }
    let m = machine(
        json!({ "P": pass_reading(json!({ "n.$": "$.children[0].children[1].name", "bad.$": "$.children[0].nam" })) }),
        "P",
    );
    let es = check_paths(&m, &schema_of::<Tree>(), &resources()).unwrap_err();
    assert_one(&es, "P", "Parameters.bad.$", "$.children[0].nam", &["\"nam\" does not exist in Tree"]);

    // A `$ref` to itself describes nothing; it must not hang.
    let m = machine(json!({ "P": pass_reading(json!({ "x.$": "$.a.b" })) }), "P");
    assert!(check_paths(&m, &json!({ "$ref": "#" }), &resources()).is_ok());
}

#[test]
fn all_of_merges_the_fields_of_its_parts() {
    let schema = json!({
        "title": "Both",
        "allOf": [
            { "type": "object", "properties": { "a": { "type": "string" } }, "required": ["a"] },
            { "$ref": "#/$defs/B" }
        ],
        "$defs": { "B": { "type": "object", "properties": { "b": { "type": "integer" } }, "required": ["b"] } }
    });
    let m = machine(json!({ "P": pass_reading(json!({ "a.$": "$.a", "b.$": "$.b", "c.$": "$.c" })) }), "P");
    let es = check_paths(&m, &schema, &resources()).unwrap_err();
    assert_one(&es, "P", "Parameters.c.$", "$.c", &["\"c\" does not exist in Both", "it has: a, b"]);
}

/// A JSONata state's plain reads of its input (`$states.input.a.b`) are
/// checked against the payload schema like JSONPath reads; what it outputs is
/// untyped, so the states after it are not checked against a guess.
#[test]
fn jsonata_plain_input_reads_are_checked_against_the_schema() {
    let mut m = machine(
        json!({
            "Read": {"Type": "Pass", "QueryLanguage": "JSONata",
                     "Output": {"id": "{% $states.input.job_id %}", "label": "{% $states.input.lable %}",
                                "computed": "{% $states.input.nope + 1 %}"},
                     "Next": "After"},
            "After": {"Type": "Pass", "Parameters": {"anything.$": "$.whatever"}, "End": true}
        }),
        "Read",
    );
    let es = errors(&m);
    assert_one(&es, "Read", "Output.label", "$.lable", &["lable"]);
    // The machine-level language applies to every state.
    m.query_language = Some(edba_asl::QueryLanguage::Jsonata);
    m.states.shift_remove("After");
    if let edba_asl::State::Pass(p) = m.states.get_mut("Read").unwrap() {
        p.query_language = None;
        p.next = None;
        p.end = Some(true);
    }
    assert_one(&errors(&m), "Read", "Output.label", "$.lable", &["lable"]);
}
