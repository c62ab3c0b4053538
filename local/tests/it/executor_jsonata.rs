//! Today's ASL on the executor: workflow variables (`Assign`, `$name`) in
//! both query languages, and JSONata states (`Arguments`, `Output`,
//! `Condition`, `Items`, `$states`, Step Functions' functions, and
//! `States.QueryEvaluationError`). The first cases are the developer guide's
//! worked examples; the rest are the edges the guide's rules decide.

use edba_local::executor::{handler_fn, ExecutionResult, ExecutionStatus, Executor, ExecutorConfig, TaskFailure};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

fn executor() -> Executor {
    Executor::new(ExecutorConfig { time_scale: 0.001, timeout_scale: 0.001, ..ExecutorConfig::default() })
}

async fn run_on(exec: &Executor, def: Value, input: Value) -> ExecutionResult {
    exec.run_definition(&def.to_string(), input).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn run(def: Value, input: Value) -> ExecutionResult {
    run_on(&executor(), def, input).await
}

fn output(r: &ExecutionResult) -> Value {
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}: {:?}", r.error, r.cause);
    r.output.clone().unwrap()
}

fn failure(r: &ExecutionResult) -> (String, String) {
    assert_eq!(r.status, ExecutionStatus::Failed, "{:?}", r.output);
    (r.error.clone().unwrap(), r.cause.clone().unwrap())
}

/// An executor whose resource `echo` returns its input and `boom` fails
/// with `Boom`.
fn with_tasks() -> Executor {
    let exec = executor();
    exec.bind("echo", handler_fn(|input| async move { Ok(input) }));
    exec.bind("boom", handler_fn(|_| async move { Err(TaskFailure::new("Boom", "the task blew up")) }));
    exec
}

// ---------------------------------------------------------------------------
// The developer guide's examples

/// "Passing data between states with variables": step 1 stores data, a later
/// step reads it without the steps between passing it on (JSONPath `Assign`
/// with `.$` paths, `$name` in `Parameters` and in an intrinsic).
#[tokio::test]
async fn guide_variables_carry_data_past_intermediate_states() {
    let def = json!({"StartAt": "Step1", "States": {
        "Step1": {"Type": "Pass", "Result": {"product": {"name": "product1", "count": 42}},
                  "Assign": {"productName.$": "$.product.name", "count.$": "$.product.count", "available": true},
                  "Next": "Step2"},
        "Step2": {"Type": "Pass", "Result": "unrelated", "Next": "Step3"},
        "Step3": {"Type": "Pass", "Parameters": {
            "name.$": "$productName", "more.$": "States.MathAdd($count, 1)", "ok.$": "$available", "in.$": "$"},
            "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({})).await),
        json!({"name": "product1", "more": 43, "ok": true, "in": "unrelated"})
    );
}

/// "Transforming data with JSONata": the JSONPath Task converted to
/// JSONata gives the same result (`{% %}` values, a plain string left as is).
#[tokio::test]
async fn guide_jsonpath_to_jsonata_conversion_gives_the_same_arguments() {
    let exec = with_tasks();
    let jsonpath = json!({"StartAt": "Name", "States": {
        "Name": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "T"},
        "T": {"Type": "Task", "Resource": "echo", "End": true, "Parameters": {
            "static": "Hello", "title.$": "$.title", "name.$": "$customerName", "not-evaluated": "$customerName"}}
    }});
    let jsonata = json!({"QueryLanguage": "JSONata", "StartAt": "Name", "States": {
        "Name": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "T"},
        "T": {"Type": "Task", "Resource": "echo", "End": true, "Arguments": {
            "static": "Hello", "title": "{% $states.input.title %}", "name": "{% $customerName %}",
            "not-evaluated": "$customerName"}}
    }});
    let want = json!({"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"});
    assert_eq!(output(&run_on(&exec, jsonpath, json!({"title": "Doctor"})).await), want);
    assert_eq!(output(&run_on(&exec, jsonata, json!({"title": "Doctor"})).await), want);
}

/// The guide's JSONata Choice: `Condition` rules with their own `Assign` and
/// `Output`; the state's `Assign` applies whichever way it goes (a rule's
/// wins on the same name), and a rule without its own `Output` takes the
/// state's.
#[tokio::test]
async fn jsonata_choice_conditions_assign_and_output() {
    let def = || {
        json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [
                    {"Condition": "{% $states.input.n > 10 %}", "Next": "Done",
                     "Assign": {"size": "big"}, "Output": {"n": "{% $states.input.n %}", "rule": 0}},
                    {"Condition": "{% $states.input.n > 5 %}", "Next": "Done", "Assign": {"size": "medium"}}
                ],
                "Default": "Done", "Assign": {"size": "small", "checked": "{% $states.input.n %}"},
                "Output": {"rule": "default"}},
            "Done": {"Type": "Pass", "Output": {"size": "{% $size %}", "checked": "{% $checked %}",
                                                "saw": "{% $states.input %}"}, "End": true}
        }})
    };
    let out = |n: i64| async move { output(&run(def(), json!({"n": n})).await) };
    assert_eq!(out(20).await, json!({"size": "big", "checked": 20, "saw": {"n": 20, "rule": 0}}));
    // A rule without its own Output takes the state's.
    assert_eq!(out(7).await, json!({"size": "medium", "checked": 7, "saw": {"rule": "default"}}));
    assert_eq!(out(1).await, json!({"size": "small", "checked": 1, "saw": {"rule": "default"}}));
}

// ---------------------------------------------------------------------------
// Evaluation order and scope

/// All assignments of one `Assign`, and the state's `Output`, see the values
/// from before the state: a swap works, and `Output` reads the old value.
#[tokio::test]
async fn one_assign_sees_the_values_from_before_it() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"a": 1, "b": 2, "x": 10}, "Next": "Swap"},
        "Swap": {"Type": "Pass",
                 "Assign": {"a": "{% $b %}", "b": "{% $a %}", "x": "{% $x + 1 %}", "old": "{% $x %}"},
                 "Output": {"x_in_output": "{% $x %}"}, "Next": "Read"},
        "Read": {"Type": "Pass",
                 "Output": {"a": "{% $a %}", "b": "{% $b %}", "x": "{% $x %}", "old": "{% $old %}",
                            "prev": "{% $states.input %}"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({})).await),
        json!({"a": 2, "b": 1, "x": 11, "old": 10, "prev": {"x_in_output": 10}})
    );
}

/// A Map iteration reads the variables around it; what it assigns stays in
/// the iteration (the outer `$factor` is unchanged afterwards), and each
/// iteration has its own copy.
#[tokio::test]
async fn map_iterations_read_outer_variables_and_keep_their_own() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"factor": 3}, "Next": "Each"},
        "Each": {"Type": "Map", "Items": "{% $states.input.items %}",
                 "ItemSelector": {"value": "{% $states.context.Map.Item.Value %}",
                                  "index": "{% $states.context.Map.Item.Index %}"},
                 "ItemProcessor": {"StartAt": "Scale", "States": {
                     "Scale": {"Type": "Pass", "Assign": {"factor": "{% $factor * 100 %}",
                                                           "mine": "{% $states.input.value %}"},
                               "Output": "{% $states.input.value * $factor %}", "Next": "Check"},
                     "Check": {"Type": "Pass",
                               "Output": {"scaled": "{% $states.input %}", "factor": "{% $factor %}",
                                          "mine": "{% $mine %}"}, "End": true}}},
                 "Assign": {"count": "{% $count($states.result) %}"},
                 "Next": "After"},
        "After": {"Type": "Pass", "Output": {"results": "{% $states.input %}", "factor": "{% $factor %}",
                                             "count": "{% $count %}"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({"items": [1, 2]})).await),
        json!({"results": [{"scaled": 3, "factor": 300, "mine": 1}, {"scaled": 6, "factor": 300, "mine": 2}],
               "factor": 3, "count": 2})
    );
}

/// Parallel branches read outer variables; `Arguments` is their input.
#[tokio::test]
async fn parallel_branches_read_outer_variables() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"greeting": "hi"}, "Next": "Both"},
        "Both": {"Type": "Parallel", "Arguments": {"who": "{% $states.input.name %}"},
                 "Branches": [
                     {"StartAt": "A", "States": {"A": {"Type": "Pass",
                        "Output": "{% $greeting & ' ' & $states.input.who %}", "End": true}}},
                     {"StartAt": "B", "States": {"B": {"Type": "Pass",
                        "Output": "{% $uppercase($greeting) %}", "End": true}}}],
                 "Output": {"both": "{% $states.result %}"}, "End": true}
    }});
    assert_eq!(output(&run(def, json!({"name": "ana"})).await), json!({"both": ["hi ana", "HI"]}));
}

// ---------------------------------------------------------------------------
// Errors

/// A catcher's `Assign` and `Output` read `$states.errorOutput`.
#[tokio::test]
async fn a_catch_assigns_from_the_error_output() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "boom", "Next": "Unreached",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle",
                         "Assign": {"err": "{% $states.errorOutput.Error %}", "input": "{% $states.input %}"},
                         "Output": {"cause": "{% $states.errorOutput.Cause %}"}}]},
        "Unreached": {"Type": "Fail", "Error": "Unreached"},
        "Handle": {"Type": "Pass", "Output": {"err": "{% $err %}", "cause": "{% $states.input.cause %}",
                                              "was": "{% $input %}"}, "End": true}
    }});
    assert_eq!(
        output(&run_on(&with_tasks(), def, json!({"k": 1})).await),
        json!({"err": "Boom", "cause": "the task blew up", "was": {"k": 1}})
    );
}

/// A catcher without `Output` passes the error output on.
#[tokio::test]
async fn a_catch_without_output_passes_the_error_output() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "boom", "End": true,
              "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handle"}]},
        "Handle": {"Type": "Succeed"}
    }});
    assert_eq!(
        output(&run_on(&with_tasks(), def, json!({})).await),
        json!({"Error": "Boom", "Cause": "the task blew up"})
    );
}

/// An expression that fails is `States.QueryEvaluationError`: caught by a
/// catcher that names it, and failing the execution where none does.
#[tokio::test]
async fn a_failing_expression_is_a_query_evaluation_error_that_can_be_caught() {
    let state = |catch: Value| {
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "echo", "Arguments": {"n": "{% 1 + $states.input.s %}"},
                  "End": true, "Catch": catch},
            "Handle": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": true}
        }})
    };
    let exec = with_tasks();
    let caught = state(json!([{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Handle"}]));
    assert_eq!(output(&run_on(&exec, caught, json!({"s": "text"})).await), json!("States.QueryEvaluationError"));
    let uncaught = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "echo", "Arguments": {"n": "{% 1 + $states.input.s %}"}, "End": true}}});
    let (error, cause) = failure(&run_on(&exec, uncaught, json!({"s": "text"})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("Arguments.n"), "{cause}");
    // A field that evaluates to nothing is an error too, named by its field.
    let nothing = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {"x": "{% $states.input.missing %}"}, "End": true}}});
    let (error, cause) = failure(&run(nothing, json!({})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("'Output.x' returned nothing"), "{cause}");
}

/// A `Condition` that is not a boolean fails the state.
#[tokio::test]
async fn a_condition_that_is_not_a_boolean_fails() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "Yes"}], "Default": "Yes"},
        "Yes": {"Type": "Succeed"}}});
    let (error, cause) = failure(&run(def, json!({"n": 5})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("Choices[0].Condition") && cause.contains("boolean"), "{cause}");
}

/// Step Functions' functions are there and `$eval` is not.
#[tokio::test]
async fn step_functions_functions_and_no_eval() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {
            "parts": "{% $partition($states.input.xs, 2) %}",
            "range": "{% $range(1, 7, 3) %}",
            "sha": "{% $hash('edba', 'SHA-256') %}",
            "parsed": "{% $parse($states.input.json).a %}",
            "uuid": "{% $length($uuid()) %}",
            "same": "{% $random(42) = $random(42) %}",
            "unit": "{% $random() < 1 %}"}, "End": true}}});
    let out = output(&run(def, json!({"xs": [1, 2, 3], "json": "{\"a\": [true]}"})).await);
    assert_eq!(
        out,
        json!({"parts": [[1, 2], [3]], "range": [1, 4, 7],
               "sha": "d666ef703ac8c5a08f5fd5deee9b74fbcc2b6b8c953a2f5e3588fdf44cc411ee",
               "parsed": [true], "uuid": 36, "same": true, "unit": true})
    );
    let eval = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $eval('1 + 1') %}", "End": true}}});
    let (error, cause) = failure(&run(eval, json!({})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("$parse"), "{cause}");
}

// ---------------------------------------------------------------------------
// The other state types, and the two languages in one machine

#[tokio::test]
async fn wait_fail_and_integer_expressions() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Assign": {"waited": true}, "Next": "F"},
        "F": {"Type": "Fail", "Error": "{% 'Custom.' & $states.input.kind %}",
              "Cause": "{% 'waited=' & $string($waited) %}"}}});
    let (error, cause) = failure(&run(def, json!({"delay": 1, "kind": "Stop"})).await);
    assert_eq!((error.as_str(), cause.as_str()), ("Custom.Stop", "waited=true"));
}

/// A JSONPath machine with one JSONata state: variables cross the boundary
/// both ways, and a JSONPath Choice reads a variable as `Variable`.
#[tokio::test]
async fn languages_mix_per_state_and_share_variables() {
    let def = json!({"StartAt": "Path", "States": {
        "Path": {"Type": "Pass", "Parameters": {"v.$": "$.v"}, "Assign": {"fromPath.$": "$.v"}, "Next": "Ata"},
        "Ata": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"fromAta": "{% $fromPath * 2 %}"},
                "Output": {"seen": "{% $fromPath %}"}, "Next": "Decide"},
        "Decide": {"Type": "Choice", "Choices": [
            {"Variable": "$fromAta", "NumericGreaterThan": 5, "Next": "Big"}], "Default": "Small"},
        "Big": {"Type": "Pass", "Parameters": {"ata.$": "$fromAta", "seen.$": "$.seen"}, "End": true},
        "Small": {"Type": "Fail", "Error": "TooSmall"}
    }});
    assert_eq!(output(&run(def, json!({"v": 4})).await), json!({"ata": 8, "seen": 4}));
}

/// JSONPath `Assign` on a Task reads the result after `ResultSelector`, and
/// a catcher's `Assign` the error output.
#[tokio::test]
async fn jsonpath_assign_reads_the_selected_result() {
    let exec = with_tasks();
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "echo", "Parameters": {"a": 1, "b": 2},
              "ResultSelector": {"sum.$": "States.MathAdd($.a, $.b)"}, "Assign": {"total.$": "$.sum"},
              "ResultPath": "$.r", "Next": "U"},
        "U": {"Type": "Task", "Resource": "boom", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Cause"}, "ResultPath": null,
                         "Next": "Out"}]},
        "Out": {"Type": "Pass", "Parameters": {"total.$": "$total", "why.$": "$why", "r.$": "$.r"}, "End": true}
    }});
    assert_eq!(
        output(&run_on(&exec, def, json!({})).await),
        json!({"total": 3, "why": "the task blew up", "r": {"sum": 3}})
    );
}

/// An invalid JSONata machine is refused before it runs, naming the state
/// and the field.
#[tokio::test]
async fn an_invalid_jsonata_machine_is_refused() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "InputPath": "$.x", "Output": "{% $states.input + %}", "Next": "Q"},
        "Q": {"Type": "Pass", "Output": "{% $never %}", "End": true}}});
    let err = executor().run_definition(&def.to_string(), json!({})).await.unwrap_err().to_string();
    assert!(err.contains("state \"P\", field \"InputPath\": `InputPath` is a JSONPath field"), "{err}");
    assert!(err.contains("state \"P\", field \"Output\": JSONata syntax error at column"), "{err}");
    assert!(err.contains("state \"Q\", field \"Output\": reads `$never`"), "{err}");
}
