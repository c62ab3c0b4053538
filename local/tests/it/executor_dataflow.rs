//! Input and output processing, the context object and every intrinsic
//! function, with the inputs and outputs of the AWS Step Functions
//! documentation's worked examples.

use std::sync::{Arc, Mutex};

use edba_local::executor::{handler_fn, ExecutionResult, ExecutionStatus, Executor, ExecutorConfig, TaskFailure};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

fn executor() -> Executor {
    Executor::new(ExecutorConfig { time_scale: 0.001, timeout_scale: 0.001, ..ExecutorConfig::default() })
}

/// Binds `resource` to a handler that records its input and answers `reply`.
fn fixed(exec: &Executor, resource: &str, reply: Value) -> Arc<Mutex<Vec<Value>>> {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    exec.bind(
        resource,
        handler_fn(move |input| {
            let seen = seen.clone();
            let reply = reply.clone();
            async move {
                seen.lock().unwrap().push(input);
                Ok::<_, TaskFailure>(reply)
            }
        }),
    );
    calls
}

async fn run(exec: &Executor, def: Value, input: Value) -> ExecutionResult {
    exec.run_definition(&def.to_string(), input).await.unwrap_or_else(|e| panic!("{e}"))
}

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

/// A Pass state computing `Parameters` from `input`; returns the output.
async fn pass_params(params: Value, input: Value) -> ExecutionResult {
    let exec = executor();
    run(&exec, one_state(json!({"Type": "Pass", "Parameters": params, "End": true})), input).await
}

async fn intrinsic(expr: &str, input: Value) -> Result<Value, (String, String)> {
    let r = pass_params(json!({"v.$": expr}), input).await;
    match r.status {
        ExecutionStatus::Succeeded => Ok(r.output.unwrap()["v"].clone()),
        _ => Err((r.error.unwrap(), r.cause.unwrap())),
    }
}

#[tokio::test]
async fn result_path_puts_the_task_result_into_the_input() {
    // "ResultPath" docs: the greeting is added under $.taskresult.
    let exec = executor();
    let calls = fixed(
        &exec,
        "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        json!("Hello, AWS Step Functions!"),
    );
    let input = json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    });
    let def = one_state(json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        "ResultPath": "$.taskresult",
        "End": true
    }));
    let r = run(&exec, def, input.clone()).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    let mut want = input.clone();
    want["taskresult"] = json!("Hello, AWS Step Functions!");
    assert_eq!(r.output.unwrap(), want);
    assert_eq!(*calls.lock().unwrap(), vec![input]);
}

#[tokio::test]
async fn input_path_result_path_and_output_path_together() {
    // "Example: Manipulating state data with paths".
    let exec = executor();
    let calls = fixed(&exec, "hello", json!("Hello, AWS Step Functions!"));
    let input = json!({
        "comment": "An input comment.",
        "data": {"val1": 23, "val2": 17},
        "extra": "foo",
        "lambda": {"who": "AWS Step Functions"}
    });
    let def = one_state(json!({
        "Type": "Task", "Resource": "hello",
        "InputPath": "$.lambda",
        "ResultPath": "$.data.lambdaresult",
        "OutputPath": "$.data",
        "End": true
    }));
    let r = run(&exec, def, input).await;
    assert_eq!(r.output.unwrap(), json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}));
    assert_eq!(*calls.lock().unwrap(), vec![json!({"who": "AWS Step Functions"})]);
}

#[tokio::test]
async fn parameters_select_what_the_task_receives() {
    // "Parameters" docs example.
    let input = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23"
        }
    });
    let r = pass_params(
        json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {
                "size.$": "$.product.details.size",
                "exists.$": "$.product.availability",
                "StaticValue": "foo"
            }
        }),
        input,
    )
    .await;
    assert_eq!(
        r.output.unwrap(),
        json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
        })
    );
}

#[tokio::test]
async fn result_selector_picks_from_the_result_before_result_path() {
    // "ResultSelector" docs example (EMR createCluster.sync).
    let exec = executor();
    fixed(
        &exec,
        "arn:aws:states:::elasticmapreduce:createCluster.sync",
        json!({
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {
                "SdkHttpMetadata": {"HttpStatusCode": 200},
                "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
                "ClusterId": "AKIAIOSFODNN7EXAMPLE"
            }
        }),
    );
    let def = one_state(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput",
        "End": true
    }));
    let r = run(&exec, def, json!({"job": "x"})).await;
    assert_eq!(
        r.output.unwrap(),
        json!({"job": "x", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
}

#[tokio::test]
async fn null_paths_discard() {
    let exec = executor();
    let calls = fixed(&exec, "t", json!({"r": 1}));
    // InputPath null: the task gets {}; ResultPath null: the input passes on.
    let def = one_state(json!({"Type": "Task", "Resource": "t", "InputPath": null, "ResultPath": null, "End": true}));
    let r = run(&exec, def, json!({"keep": true})).await;
    assert_eq!(r.output.unwrap(), json!({"keep": true}));
    assert_eq!(*calls.lock().unwrap(), vec![json!({})]);
    // OutputPath null: the output is {}.
    let def = one_state(json!({"Type": "Task", "Resource": "t", "OutputPath": null, "End": true}));
    let r = run(&exec, def, json!({"keep": true})).await;
    assert_eq!(r.output.unwrap(), json!({}));
}

#[tokio::test]
async fn result_path_creates_missing_objects_and_replaces_by_default() {
    let r = run(
        &executor(),
        one_state(json!({"Type": "Pass", "Result": 7, "ResultPath": "$.a.b.c", "End": true})),
        json!({"a": {"x": 1}}),
    )
    .await;
    assert_eq!(r.output.unwrap(), json!({"a": {"x": 1, "b": {"c": 7}}}));
    let r =
        run(&executor(), one_state(json!({"Type": "Pass", "Result": {"only": 1}, "End": true})), json!({"a": 1})).await;
    assert_eq!(r.output.unwrap(), json!({"only": 1}));
    // A ResultPath through a non-object is a runtime error.
    let r = run(
        &executor(),
        one_state(json!({"Type": "Pass", "Result": 7, "ResultPath": "$.a.b", "End": true})),
        json!({"a": "text"}),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn jsonpath_selectors_in_parameters() {
    let input = json!({
        "a": {"b": [10, 20, 30, 40]},
        "orders": [
            {"id": "o1", "status": "READY", "total": 5},
            {"id": "o2", "status": "HELD", "total": 50},
            {"id": "o3", "status": "READY", "total": 500}
        ],
        "odd key": "quoted"
    });
    let r = pass_params(
        json!({
            "dot.$": "$.a.b[0]",
            "bracket.$": "$['odd key']",
            "last.$": "$.a.b[-1]",
            "all.$": "$.a.b[*]",
            "slice.$": "$.a.b[1:3]",
            "union.$": "$.a.b[0,3]",
            "deep.$": "$..id",
            "ready.$": "$.orders[?(@.status == 'READY')].id",
            "big.$": "$.orders[?(@.total > 10 && @.status == 'HELD')].id",
            "none.$": "$.orders[?(@.status == 'GONE')]",
            "whole.$": "$.a"
        }),
        input,
    )
    .await;
    assert_eq!(
        r.output.unwrap(),
        json!({
            "dot": 10,
            "bracket": "quoted",
            "last": 40,
            "all": [10, 20, 30, 40],
            "slice": [20, 30],
            "union": [10, 40],
            "deep": ["o1", "o2", "o3"],
            "ready": ["o1", "o3"],
            "big": ["o2"],
            "none": [],
            "whole": {"b": [10, 20, 30, 40]}
        })
    );
}

#[tokio::test]
async fn a_path_that_matches_nothing_fails_with_states_runtime_naming_it() {
    let r = pass_params(json!({"x.$": "$.missing.field"}), json!({"a": 1})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let cause = r.cause.unwrap();
    assert!(cause.contains("$.missing.field") && cause.contains("x.$"), "{cause}");
    let r = run(&executor(), one_state(json!({"Type": "Pass", "InputPath": "$.nope", "End": true})), json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("$.nope"));
    let r = run(&executor(), one_state(json!({"Type": "Pass", "OutputPath": "$.nope", "End": true})), json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn context_object_fields() {
    let exec = executor();
    let def = json!({"StartAt": "Look", "States": {"Look": {"Type": "Pass", "Parameters": {
        "id.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input",
        "start.$": "$$.Execution.StartTime",
        "role.$": "$$.Execution.RoleArn",
        "machine.$": "$$.StateMachine.Id",
        "machine_name.$": "$$.StateMachine.Name",
        "state.$": "$$.State.Name",
        "entered.$": "$$.State.EnteredTime",
        "retries.$": "$$.State.RetryCount"
    }, "End": true}}});
    exec.register_definition("inspect", &def.to_string()).unwrap();
    let h = exec.start("inspect", json!({"k": 1}), Some("run-1".into())).unwrap();
    let r = h.wait().await;
    let out = r.output.unwrap();
    assert_eq!(out["id"], json!("arn:aws:states:local:000000000000:execution:inspect:run-1"));
    assert_eq!(r.execution_arn, "arn:aws:states:local:000000000000:execution:inspect:run-1");
    assert_eq!(out["name"], json!("run-1"));
    assert_eq!(out["input"], json!({"k": 1}));
    assert_eq!(out["machine"], json!("arn:aws:states:local:000000000000:stateMachine:inspect"));
    assert_eq!(out["machine_name"], json!("inspect"));
    assert_eq!(out["state"], json!("Look"));
    assert_eq!(out["retries"], json!(0));
    assert_eq!(out["role"], json!(ExecutorConfig::default().role_arn));
    for field in ["start", "entered"] {
        let t = out[field].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{field}: {t}");
    }
    // Execution names are unique per machine.
    assert!(exec.start("inspect", json!({}), Some("run-1".into())).is_err());
}

#[tokio::test]
async fn map_item_selector_reads_the_context_item() {
    // "ItemSelector" docs example (ship-date / delivery-partner).
    let exec = executor();
    let input = json!({
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": "R31", "dest-code": 9511, "quantity": 1344},
                {"prod": "S39", "dest-code": 9511, "quantity": 40}
            ]
        }
    });
    let def = one_state(json!({
        "Type": "Map",
        "ItemsPath": "$.detail.shipped",
        "ItemSelector": {
            "parcel.$": "$$.Map.Item.Value",
            "courier.$": "$.detail.delivery-partner",
            "index.$": "$$.Map.Item.Index"
        },
        "ItemProcessor": {"StartAt": "Ship", "States": {"Ship": {"Type": "Pass", "End": true}}},
        "ResultPath": "$.shipments",
        "End": true
    }));
    let r = run(&exec, def, input.clone()).await;
    let out = r.output.unwrap();
    assert_eq!(
        out["shipments"],
        json!([
            {"parcel": {"prod": "R31", "dest-code": 9511, "quantity": 1344}, "courier": "UQS", "index": 0},
            {"parcel": {"prod": "S39", "dest-code": 9511, "quantity": 40}, "courier": "UQS", "index": 1}
        ])
    );
    assert_eq!(out["ship-date"], input["ship-date"]);
}

#[tokio::test]
async fn intrinsic_functions_as_documented() {
    let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5, "index": 5});
    let cases: Vec<(&str, Value, Value)> = vec![
        ("States.Format('Hello, my name is {}.', $.name)", json!({"name": "Arnav"}), json!("Hello, my name is Arnav.")),
        ("States.Format('{} is {} and {}', $.s, $.n, $.b)", json!({"s": "x", "n": 1.5, "b": true}), json!("x is 1.5 and true")),
        (r"States.Format('literal \{\} and {}', $.s)", json!({"s": "value"}), json!("literal {} and value")),
        (r"States.Format('a\\b \'q\' {}', $.s)", json!({"s": "v"}), json!(r"a\b 'q' v")),
        ("States.StringToJson($.someString)", json!({"someString": "{\"number\": 20}"}), json!({"number": 20})),
        ("States.JsonToString($.someJson)", json!({"someJson": {"name": "Foo", "year": 2020}}), json!("{\"name\":\"Foo\",\"year\":2020}")),
        (
            "States.Array('Foo', 2020, $.someJson, null)",
            json!({"someJson": {"random": "abcdefghijklmnopqrstuvwxyz"}}),
            json!(["Foo", 2020, {"random": "abcdefghijklmnopqrstuvwxyz"}, null]),
        ),
        ("States.ArrayPartition($.inputArray, 4)", nine.clone(), json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
        ("States.ArrayContains($.inputArray, $.lookingFor)", nine.clone(), json!(true)),
        ("States.ArrayContains($.inputArray, 42)", nine.clone(), json!(false)),
        ("States.ArrayRange(1, 9, 2)", json!({}), json!([1, 3, 5, 7, 9])),
        ("States.ArrayRange(5, 1, -2)", json!({}), json!([5, 3, 1])),
        ("States.ArrayGetItem($.inputArray, $.index)", nine.clone(), json!(6)),
        ("States.ArrayLength($.inputArray)", nine.clone(), json!(9)),
        ("States.ArrayUnique($.a)", json!({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}), json!([1, 2, 3, 4])),
        ("States.Base64Encode($.input)", json!({"input": "Data to encode"}), json!("RGF0YSB0byBlbmNvZGU=")),
        ("States.Base64Decode($.base64)", json!({"base64": "RGF0YSB0byBlbmNvZGU="}), json!("Data to encode")),
        ("States.Hash($.Data, $.Algorithm)", json!({"Data": "input data", "Algorithm": "SHA-1"}), json!("aaff4a450a104cd177d28d18d74485e8cae074b7")),
        ("States.Hash('input data', 'MD5')", json!({}), json!("812f45842bc6d66ee14572ce20db8e86")),
        (
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ),
        ("States.MathAdd($.value1, $.step)", json!({"value1": 111, "step": -1}), json!(110)),
        // "If you specify a non-integer value for one or both the arguments,
        // Step Functions will round it off to the nearest integer."
        ("States.MathAdd($.a, 1)", json!({"a": 1.5}), json!(3)),
        ("States.MathAdd($.a, $.b)", json!({"a": 2.4, "b": -0.6}), json!(1)),
        ("States.MathRandom(1.6, 2.4)", json!({}), json!(2)),
        ("States.StringSplit($.inputString, $.splitter)", json!({"inputString": "1,2,3,4,5", "splitter": ","}), json!(["1", "2", "3", "4", "5"])),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
            json!(["This", "is", "a", "test", "string"]),
        ),
        (
            "States.Format('{}-{}', States.ArrayGetItem(States.StringSplit($.arn, ':'), 3), States.ArrayLength(States.Array(1, 2)))",
            json!({"arn": "arn:aws:s3:eu-west-1:bucket"}),
            json!("eu-west-1-2"),
        ),
    ];
    for (expr, input, want) in cases {
        assert_eq!(intrinsic(expr, input).await, Ok(want), "{expr}");
    }
    for algorithm in ["SHA-256", "SHA-384", "SHA-512"] {
        let h = intrinsic(&format!("States.Hash('input data', '{algorithm}')"), json!({})).await.unwrap();
        let hex = h.as_str().unwrap();
        let bits: usize = algorithm[4..].parse().unwrap();
        assert_eq!(hex.len(), bits / 4, "{algorithm}");
    }
    let sha256 = intrinsic("States.Hash('input data', 'SHA-256')", json!({})).await.unwrap();
    assert!(sha256.as_str().unwrap().starts_with("b4a697a057313163"));
}

#[tokio::test]
async fn random_and_uuid_intrinsics() {
    for _ in 0..20 {
        let n = intrinsic("States.MathRandom($.start, $.end)", json!({"start": 1, "end": 999})).await.unwrap();
        let n = n.as_i64().unwrap();
        assert!((1..=999).contains(&n), "{n}");
    }
    let a = intrinsic("States.MathRandom(1, 1000000, 42)", json!({})).await.unwrap();
    let b = intrinsic("States.MathRandom(1, 1000000, 42)", json!({})).await.unwrap();
    assert_eq!(a, b, "a seed repeats its value");
    let u1 = intrinsic("States.UUID()", json!({})).await.unwrap();
    let u2 = intrinsic("States.UUID()", json!({})).await.unwrap();
    let s = u1.as_str().unwrap();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "4", "version 4: {s}");
    assert!("89ab".contains(&s[19..20]), "variant: {s}");
    assert_ne!(u1, u2);
}

/// Step Functions reports a failed intrinsic call as `States.Runtime` with
/// the cause "Invalid arguments in States.…" (found by the differential test
/// against moto/LocalStack, whose intrinsic errors were recorded against AWS).
#[tokio::test]
async fn intrinsic_errors_are_states_runtime() {
    let cases = [
        ("States.Format('{} and {}', $.a)", json!({"a": 1}), "placeholder"),
        ("States.Format('{}', $.o)", json!({"o": {"x": 1}}), "only strings"),
        ("States.StringToJson($.s)", json!({"s": "{not json"}), "not JSON"),
        ("States.ArrayPartition($.a, 0)", json!({"a": [1]}), "greater than 0"),
        ("States.ArrayGetItem($.a, 5)", json!({"a": [1]}), "out of bounds"),
        ("States.ArrayRange(1, 5000, 1)", json!({}), "1000"),
        ("States.ArrayRange(1, 5, 0)", json!({}), "cannot be 0"),
        ("States.ArrayLength($.a)", json!({"a": "no"}), "must be an array"),
        ("States.Base64Decode($.s)", json!({"s": "%%%"}), "not base64"),
        ("States.Hash('x', 'CRC32')", json!({}), "unknown algorithm"),
        ("States.JsonMerge($.a, $.b, true)", json!({"a": {}, "b": {}}), "shallow"),
        ("States.MathAdd($.a, 1)", json!({"a": "1"}), "must be a number"),
        ("States.MathRandom(10, 1)", json!({}), "less than"),
        ("States.ArrayLength($.missing)", json!({}), "$.missing"),
    ];
    for (expr, input, needle) in cases {
        let (error, cause) = intrinsic(expr, input).await.expect_err(expr);
        assert_eq!(error, "States.Runtime", "{expr}: {cause}");
        assert!(cause.starts_with("Invalid arguments in States."), "{expr}: {cause}");
        assert!(cause.contains(needle), "{expr}: {cause}");
    }
}

/// `$$` in InputPath and OutputPath reads the context object, as in Step
/// Functions (it used to be read from the state's input and fail).
#[tokio::test]
async fn context_paths_in_input_path_and_output_path_read_the_context_object() {
    let exec = executor();
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$$.Execution.Input.cfg", "ResultPath": "$.seen", "Next": "B"},
        "B": {"Type": "Pass", "OutputPath": "$$.State", "Next": "C"},
        "C": {"Type": "Succeed", "InputPath": "$$.Execution.Input.cfg.mode"}}});
    let r = run(&exec, def, json!({"cfg": {"mode": "fast"}, "other": 1})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?} {:?}", r.error, r.cause);
    assert_eq!(r.output, Some(json!("fast")));

    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$$.Execution.Input.cfg", "OutputPath": "$$.State.Name", "End": true}}});
    let r = run(&exec, def, json!({"cfg": 1})).await;
    assert_eq!(r.output, Some(json!("A")));

    let missing = one_state(json!({"Type": "Pass", "InputPath": "$$.Execution.Input.nothing", "End": true}));
    let r = run(&exec, missing, json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.as_deref().unwrap().contains("Execution"), "names the context object: {:?}", r.cause);
}

#[tokio::test]
async fn a_failed_intrinsic_in_task_parameters_is_not_caught() {
    // States.Runtime is terminal: States.ALL neither retries nor catches it,
    // so the task is never called and the execution fails.
    let exec = executor();
    let calls = fixed(&exec, "t", json!({"ok": true}));
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "t", "Parameters": {"n.$": "States.MathAdd($.a, 1)"},
              "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let r = run(&exec, def, json!({"a": "not a number"})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.as_deref().unwrap().contains("Invalid arguments in States.MathAdd"), "{:?}", r.cause);
    assert!(calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn history_serializes_and_prints() {
    let exec = executor();
    fixed(&exec, "t", json!({"ok": true}));
    let r = run(&exec, one_state(json!({"Type": "Task", "Resource": "t", "End": true})), json!({"in": 1})).await;
    let types: Vec<String> =
        r.history.to_json().as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        types,
        ["ExecutionStarted", "StateEntered", "TaskScheduled", "TaskSucceeded", "StateExited", "ExecutionSucceeded"]
    );
    let first = &r.history.to_json()[0];
    assert_eq!(first["id"], json!(1));
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
    let text = r.history.to_string();
    assert!(text.contains("TaskScheduled") && text.contains("\"S\" t parameters={\"in\":1}"), "{text}");
    assert_eq!(text.lines().count(), 6);
}
