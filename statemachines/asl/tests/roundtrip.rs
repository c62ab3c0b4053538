#![recursion_limit = "512"]
//! Any ASL document parses into the model, and model -> JSON -> model is
//! lossless. The fixture uses every state type and every field the model has.

use edba_asl::{ComparisonOp, Condition, State, StateMachine};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

fn every_field() -> Value {
    json!({
        "Comment": "uses every state type and field",
        "StartAt": "Task",
        "TimeoutSeconds": 3600,
        "Version": "1.0",
        "States": {
            "Task": {
                "Type": "Task",
                "Comment": "a task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "InputPath": "$.in",
                "Parameters": {"FunctionName": "f", "Payload.$": "$", "Static": [1, {"a.$": "$.b"}]},
                "ResultSelector": {"body.$": "$.Payload"},
                "ResultPath": "$.result",
                "OutputPath": "$",
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 10,
                "Retry": [
                    {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2},
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.5,
                     "MaxDelaySeconds": 30, "JitterStrategy": "FULL", "Comment": "everything else"}
                ],
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Fail", "ResultPath": "$.error"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Fail", "ResultPath": null, "Comment": "last"}
                ],
                "Next": "TaskWithPaths"
            },
            "TaskWithPaths": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "InputPath": null,
                "OutputPath": null,
                "ResultPath": null,
                "TimeoutSecondsPath": "$.timeout",
                "HeartbeatSecondsPath": "$.heartbeat",
                "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/r"},
                "Next": "Pass"
            },
            "Pass": {
                "Type": "Pass",
                "Comment": "a pass",
                "InputPath": "$",
                "Parameters": {"x.$": "States.Format('{}-{}', $.a, $.b)"},
                "ResultPath": "$.p",
                "OutputPath": "$",
                "Next": "PassResult"
            },
            "PassResult": {"Type": "Pass", "Result": {"n": 1.25, "s": "x", "l": [true, null]}, "Next": "Choice"},
            "Choice": {
                "Type": "Choice",
                "Comment": "every operator",
                "InputPath": "$",
                "OutputPath": "$",
                "Choices": [
                    {"Variable": "$.s", "StringEquals": "a", "Next": "Wait"},
                    {"Variable": "$.s", "StringEqualsPath": "$.t", "Next": "Wait"},
                    {"Variable": "$.s", "StringLessThan": "a", "Next": "Wait"},
                    {"Variable": "$.s", "StringLessThanPath": "$.t", "Next": "Wait"},
                    {"Variable": "$.s", "StringGreaterThan": "a", "Next": "Wait"},
                    {"Variable": "$.s", "StringGreaterThanPath": "$.t", "Next": "Wait"},
                    {"Variable": "$.s", "StringLessThanEquals": "a", "Next": "Wait"},
                    {"Variable": "$.s", "StringLessThanEqualsPath": "$.t", "Next": "Wait"},
                    {"Variable": "$.s", "StringGreaterThanEquals": "a", "Next": "Wait"},
                    {"Variable": "$.s", "StringGreaterThanEqualsPath": "$.t", "Next": "Wait"},
                    {"Variable": "$.s", "StringMatches": "log-*.txt", "Next": "Wait"},
                    {"Variable": "$.n", "NumericEquals": 1, "Next": "Wait"},
                    {"Variable": "$.n", "NumericEqualsPath": "$.m", "Next": "Wait"},
                    {"Variable": "$.n", "NumericLessThan": 1.5, "Next": "Wait"},
                    {"Variable": "$.n", "NumericLessThanPath": "$.m", "Next": "Wait"},
                    {"Variable": "$.n", "NumericGreaterThan": -2, "Next": "Wait"},
                    {"Variable": "$.n", "NumericGreaterThanPath": "$.m", "Next": "Wait"},
                    {"Variable": "$.n", "NumericLessThanEquals": 3, "Next": "Wait"},
                    {"Variable": "$.n", "NumericLessThanEqualsPath": "$.m", "Next": "Wait"},
                    {"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Wait"},
                    {"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.m", "Next": "Wait"},
                    {"Variable": "$.b", "BooleanEquals": true, "Next": "Wait"},
                    {"Variable": "$.b", "BooleanEqualsPath": "$.c", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampEquals": "2026-11-27T00:00:00Z", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampEqualsPath": "$.tt", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampLessThan": "2026-11-27T00:00:00Z", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampLessThanPath": "$.tt", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampGreaterThan": "2026-11-27T00:00:00Z", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampGreaterThanPath": "$.tt", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampLessThanEquals": "2026-11-27T00:00:00Z", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampLessThanEqualsPath": "$.tt", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampGreaterThanEquals": "2026-11-27T00:00:00Z", "Next": "Wait"},
                    {"Variable": "$.ts", "TimestampGreaterThanEqualsPath": "$.tt", "Next": "Wait"},
                    {"Variable": "$.x", "IsNull": false, "Next": "Wait"},
                    {"Variable": "$.x", "IsPresent": true, "Next": "Wait"},
                    {"Variable": "$.x", "IsNumeric": true, "Next": "Wait"},
                    {"Variable": "$.x", "IsString": true, "Next": "Wait"},
                    {"Variable": "$.x", "IsBoolean": false, "Next": "Wait"},
                    {"Variable": "$.x", "IsTimestamp": true, "Next": "Wait"},
                    {"And": [
                        {"Variable": "$.n", "NumericGreaterThan": 0},
                        {"Or": [{"Variable": "$.s", "StringEquals": "a"}, {"Not": {"Variable": "$.b", "BooleanEquals": true}}]}
                    ], "Next": "Wait", "Comment": "nested"}
                ],
                "Default": "WaitTimestamp"
            },
            "Wait": {"Type": "Wait", "Comment": "w", "Seconds": 5, "InputPath": "$", "OutputPath": "$", "Next": "WaitTimestamp"},
            "WaitTimestamp": {"Type": "Wait", "Timestamp": "2026-11-27T00:00:00Z", "Next": "WaitSecondsPath"},
            "WaitSecondsPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "WaitTimestampPath"},
            "WaitTimestampPath": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Parallel"},
            "Parallel": {
                "Type": "Parallel",
                "Comment": "two branches",
                "InputPath": "$",
                "Parameters": {"x.$": "$.x"},
                "ResultSelector": {"first.$": "$[0]"},
                "ResultPath": "$.parallel",
                "OutputPath": "$",
                "Branches": [
                    {"Comment": "b1", "StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
                    {"StartAt": "B2", "States": {"B2": {"Type": "Succeed"}}}
                ],
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail"}],
                "Next": "Map"
            },
            "Map": {
                "Type": "Map",
                "Comment": "inline map",
                "InputPath": "$",
                "ItemsPath": "$.items",
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "Comment": "each item",
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": true}}
                },
                "ResultSelector": {"count.$": "States.ArrayLength($)"},
                "ResultPath": "$.mapped",
                "OutputPath": "$",
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail", "ResultPath": "$.err"}],
                "Next": "Succeed"
            },
            "Succeed": {"Type": "Succeed", "Comment": "done", "InputPath": "$", "OutputPath": "$.out"},
            "Fail": {"Type": "Fail", "Comment": "failed", "Error": "E", "Cause": "c"},
            "FailPaths": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}
        }
    })
}

#[test]
fn json_to_model_to_json_is_identical() {
    let original = every_field();
    let model: StateMachine = serde_json::from_value(original.clone()).expect("parses");
    let back = serde_json::to_value(&model).unwrap();
    assert_eq!(back, original);
}

#[test]
fn model_to_json_to_model_is_lossless() {
    let model: StateMachine = serde_json::from_value(every_field()).unwrap();
    let text = model.to_pretty_json();
    let again = StateMachine::from_json(&text).unwrap();
    assert_eq!(again, model);
    assert_eq!(again.to_pretty_json(), text);
}

#[test]
fn null_paths_are_distinct_from_absent_paths() {
    let model: StateMachine = serde_json::from_value(every_field()).unwrap();
    let State::Task(with_nulls) = &model.states["TaskWithPaths"] else { panic!() };
    assert_eq!(with_nulls.input_path, Some(None));
    assert_eq!(with_nulls.result_path, Some(None));
    assert_eq!(with_nulls.output_path, Some(None));
    let State::Task(plain) = &model.states["Task"] else { panic!() };
    assert_eq!(plain.input_path, Some(Some("$.in".to_owned())));
    let State::Pass(pass) = &model.states["PassResult"] else { panic!() };
    assert_eq!(pass.input_path, None, "absent stays absent");
}

#[test]
fn every_comparison_operator_is_covered_by_the_fixture() {
    let text = every_field().to_string();
    for op in ComparisonOp::ALL {
        assert!(text.contains(&format!("\"{}\"", op.name())), "fixture lacks {}", op.name());
    }
    let model: StateMachine = serde_json::from_value(every_field()).unwrap();
    let State::Choice(choice) = &model.states["Choice"] else { panic!() };
    let ops: Vec<ComparisonOp> = choice.choices.iter().flat_map(|r| r.condition.comparisons()).map(|c| c.op).collect();
    for op in ComparisonOp::ALL {
        assert!(ops.contains(op), "{} did not parse into the model", op.name());
    }
    assert!(matches!(choice.choices.last().unwrap().condition, Condition::And(_)));
}

#[test]
fn legacy_iterator_parses_as_item_processor() {
    let m: StateMachine = serde_json::from_value(json!({
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true}}
    }))
    .unwrap();
    let State::Map(map) = &m.states["M"] else { panic!() };
    assert_eq!(map.item_processor.start_at, "I");
}

#[test]
fn malformed_documents_are_refused_with_the_reason() {
    let cases = [
        (json!({"StartAt": "A", "States": {"A": {"Type": "Nope"}}}), "Nope"),
        (json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Bogus": 1}}}), "Bogus"),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "A"}]}}}),
            "NumericEquals",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "IsNull": true, "Next": "A"}]}}}),
            "more than one comparison operator",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a"}]}}}),
            "Next",
        ),
    ];
    for (doc, expected) in cases {
        let err = serde_json::from_value::<StateMachine>(doc.clone()).expect_err(&doc.to_string()).to_string();
        assert!(err.contains(expected), "{doc}: error `{err}` should mention `{expected}`");
    }
}

/// Today's ASL: a JSONata machine with every JSONata field and `Assign` in
/// every place that takes it parses into the model and writes back the same
/// document; so does a JSONPath machine using variables.
#[test]
fn jsonata_and_variables_round_trip() {
    let doc = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                  "Output": "{% $states.result.Payload %}", "Assign": {"r": "{% $states.result %}"},
                  "TimeoutSeconds": "{% $t %}", "HeartbeatSeconds": 5,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F",
                             "Output": "{% $states.errorOutput %}", "Assign": {"e": "{% $states.errorOutput %}"}}],
                  "Next": "C"},
            "C": {"Type": "Choice", "Choices": [
                      {"Condition": "{% $r > 1 %}", "Next": "W", "Assign": {"big": true}, "Output": {"x": 1},
                       "Comment": "big"},
                      {"Condition": true, "Next": "M"}],
                  "Default": "W", "Assign": {"big": false}, "Output": "{% $states.input %}"},
            "W": {"Type": "Wait", "Seconds": "{% $r %}", "Assign": {"waited": 1}, "Output": {}, "Next": "M"},
            "M": {"Type": "Map", "Items": "{% $states.input.xs %}", "MaxConcurrency": "{% 2 %}",
                  "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
                  "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Output": "{% 1 %}", "End": true}}},
                  "Output": "{% $states.result %}", "Assign": {"n": "{% $count($states.result) %}"}, "Next": "P"},
            "P": {"Type": "Parallel", "Arguments": {"a": 1}, "Output": "{% $states.result[0] %}",
                  "Assign": {"p": 1},
                  "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed", "Output": "{% 1 %}"}}}],
                  "Next": "S"},
            "S": {"Type": "Pass", "Output": "{% $n %}", "Assign": {"done": true}, "Next": "OK"},
            "OK": {"Type": "Succeed", "QueryLanguage": "JSONata", "Output": "{% $done %}"},
            "F": {"Type": "Fail", "QueryLanguage": "JSONata", "Error": "{% $e.Error %}", "Cause": "{% $e.Cause %}"}
        }
    });
    let jsonpath = json!({
        "QueryLanguage": "JSONPath",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x.$": "$.x", "y": {"z.$": "$$.Execution.Id"}}, "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$x", "IsPresent": true, "Next": "C",
                                                 "Assign": {"seen": true}}], "Default": "C"},
            "C": {"Type": "Pass", "Parameters": {"v.$": "$x.y[0]"}, "End": true}
        }
    });
    for doc in [doc, jsonpath] {
        let model: StateMachine = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(serde_json::to_value(&model).unwrap(), doc);
        assert_eq!(StateMachine::from_json(&model.to_pretty_json()).unwrap(), model);
    }
}
