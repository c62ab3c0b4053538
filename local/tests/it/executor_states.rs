//! State by state: Choice, Map, Parallel, Wait, Fail, and the error handling
//! (Retry timing and counting, Catch, timeouts) of AWS Step Functions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edba_local::executor::{
    handler_fn, EventKind, ExecutionResult, ExecutionStatus, Executor, ExecutorConfig, ExecutorError, TaskFailure,
};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

fn executor() -> Executor {
    Executor::new(ExecutorConfig { time_scale: 0.001, timeout_scale: 0.001, ..ExecutorConfig::default() })
}

async fn run(exec: &Executor, def: Value, input: Value) -> ExecutionResult {
    exec.run_definition(&def.to_string(), input).await.unwrap_or_else(|e| panic!("{e}"))
}

/// Binds `resource` to a handler that fails with each error of `script` in
/// turn, then succeeds with `{"calls": n}`; returns the call counter.
fn scripted(exec: &Executor, resource: &str, script: Vec<&'static str>) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    exec.bind(
        resource,
        handler_fn(move |_input| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let outcome = match script.get(n) {
                Some(error) => Err(TaskFailure::new(*error, format!("call {} failed", n + 1))),
                None => Ok(json!({"calls": n + 1})),
            };
            async move { outcome }
        }),
    );
    calls
}

// ---------------------------------------------------------------------------
// Choice

/// A Choice with one rule leading to "Yes", default "No"; returns which ran.
async fn choose(rule: Value, input: Value) -> Result<String, (String, String)> {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
        "Yes": {"Type": "Pass", "Result": "Yes", "End": true},
        "No": {"Type": "Pass", "Result": "No", "End": true}
    }});
    let r = run(&executor(), def, input).await;
    match r.status {
        ExecutionStatus::Succeeded => Ok(r.output.unwrap().as_str().unwrap().to_string()),
        _ => Err((r.error.unwrap(), r.cause.unwrap())),
    }
}

#[tokio::test]
async fn choice_comparison_operators() {
    let input = json!({
        "s": "banana", "other": "cherry", "n": 10, "m": 10.0, "big": 20, "b": true,
        "t": "2024-01-02T00:00:00Z", "t2": "2024-01-02T01:00:00+01:00", "later": "2024-06-01T00:00:00Z",
        "nul": null, "file": "sales_IL_2024.tdf", "star": "a*b"
    });
    let cases: Vec<(Value, bool)> = vec![
        (json!({"Variable": "$.s", "StringEquals": "banana"}), true),
        (json!({"Variable": "$.s", "StringEquals": "apple"}), false),
        (json!({"Variable": "$.s", "StringLessThan": "cherry"}), true),
        (json!({"Variable": "$.s", "StringGreaterThan": "apple"}), true),
        (json!({"Variable": "$.s", "StringLessThanEquals": "banana"}), true),
        (json!({"Variable": "$.s", "StringGreaterThanEquals": "banana"}), true),
        (json!({"Variable": "$.s", "StringEqualsPath": "$.other"}), false),
        (json!({"Variable": "$.s", "StringLessThanPath": "$.other"}), true),
        (json!({"Variable": "$.s", "StringGreaterThanPath": "$.other"}), false),
        (json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.other"}), true),
        (json!({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.other"}), false),
        (json!({"Variable": "$.file", "StringMatches": "sales_*_2024.tdf"}), true),
        (json!({"Variable": "$.file", "StringMatches": "items_*"}), false),
        (json!({"Variable": "$.star", "StringMatches": "a\\*b"}), true),
        (json!({"Variable": "$.s", "StringMatches": "a\\*b"}), false),
        (json!({"Variable": "$.n", "NumericEquals": 10}), true),
        (json!({"Variable": "$.m", "NumericEquals": 10}), true),
        (json!({"Variable": "$.n", "NumericLessThan": 10}), false),
        (json!({"Variable": "$.n", "NumericGreaterThan": 9.5}), true),
        (json!({"Variable": "$.n", "NumericLessThanEquals": 10}), true),
        (json!({"Variable": "$.n", "NumericGreaterThanEquals": 11}), false),
        (json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}), true),
        (json!({"Variable": "$.n", "NumericLessThanPath": "$.big"}), true),
        (json!({"Variable": "$.n", "NumericGreaterThanPath": "$.big"}), false),
        (json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}), true),
        (json!({"Variable": "$.big", "NumericGreaterThanEqualsPath": "$.n"}), true),
        (json!({"Variable": "$.s", "NumericEquals": 10}), false),
        (json!({"Variable": "$.b", "BooleanEquals": true}), true),
        (json!({"Variable": "$.b", "BooleanEquals": false}), false),
        (json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}), true),
        (json!({"Variable": "$.s", "BooleanEquals": true}), false),
        (json!({"Variable": "$.t", "TimestampEquals": "2024-01-02T00:00:00Z"}), true),
        (json!({"Variable": "$.t", "TimestampEqualsPath": "$.t2"}), true),
        (json!({"Variable": "$.t", "TimestampLessThan": "2024-01-03T00:00:00Z"}), true),
        (json!({"Variable": "$.t", "TimestampGreaterThan": "2024-01-03T00:00:00Z"}), false),
        (json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-02T00:00:00Z"}), true),
        (json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2024-01-02T00:00:01Z"}), false),
        (json!({"Variable": "$.t", "TimestampLessThanPath": "$.later"}), true),
        (json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.later"}), false),
        (json!({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.later"}), true),
        (json!({"Variable": "$.later", "TimestampGreaterThanEqualsPath": "$.t"}), true),
        (json!({"Variable": "$.s", "TimestampEquals": "2024-01-02T00:00:00Z"}), false),
        (json!({"Variable": "$.nul", "IsNull": true}), true),
        (json!({"Variable": "$.s", "IsNull": true}), false),
        (json!({"Variable": "$.s", "IsPresent": true}), true),
        (json!({"Variable": "$.missing", "IsPresent": true}), false),
        (json!({"Variable": "$.missing", "IsPresent": false}), true),
        (json!({"Variable": "$.n", "IsNumeric": true}), true),
        (json!({"Variable": "$.s", "IsNumeric": false}), true),
        (json!({"Variable": "$.s", "IsString": true}), true),
        (json!({"Variable": "$.b", "IsBoolean": true}), true),
        (json!({"Variable": "$.t", "IsTimestamp": true}), true),
        (json!({"Variable": "$.s", "IsTimestamp": true}), false),
        (json!({"And": [{"Variable": "$.n", "NumericEquals": 10}, {"Variable": "$.b", "BooleanEquals": true}]}), true),
        (
            json!({"And": [{"Variable": "$.n", "NumericEquals": 10}, {"Variable": "$.b", "BooleanEquals": false}]}),
            false,
        ),
        (json!({"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.b", "BooleanEquals": true}]}), true),
        (json!({"Not": {"Variable": "$.s", "StringEquals": "banana"}}), false),
        (json!({"Variable": "$$.State.Name", "StringEquals": "C"}), true),
    ];
    for (rule, want) in cases {
        let got = choose(rule.clone(), input.clone()).await;
        assert_eq!(got, Ok(if want { "Yes" } else { "No" }.to_string()), "{rule}");
    }
}

#[tokio::test]
async fn choice_without_match_or_default_and_with_missing_variable() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}
    }});
    let r = run(&executor(), def.clone(), json!({"n": 2})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.NoChoiceMatched"));
    let r = run(&executor(), def, json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("$.n"));
}

// ---------------------------------------------------------------------------
// Map and Parallel

#[tokio::test]
async fn map_concurrency_is_bounded_and_results_keep_item_order() {
    let exec = executor();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p) = (in_flight.clone(), peak.clone());
    exec.bind(
        "work",
        handler_fn(move |input: Value| {
            let (f, p) = (f.clone(), p.clone());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                // Later items finish first, so order must come from the index.
                let n = input["n"].as_u64().unwrap();
                tokio::time::sleep(Duration::from_millis(30 - 2 * n)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, TaskFailure>(json!(n * 10))
            }
        }),
    );
    let def = |max: u64| {
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": max,
            "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "work", "End": true}}},
            "End": true
        }}})
    };
    let items: Vec<Value> = (0..10).map(|n| json!({"n": n})).collect();
    let r = run(&exec, def(3), json!({"items": items})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    assert_eq!(r.output.unwrap(), json!([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]));
    assert_eq!(peak.load(Ordering::SeqCst), 3, "MaxConcurrency 3 is reached and never exceeded");
    assert_eq!(r.history.of_type("MapIterationStarted").count(), 10);

    peak.store(0, Ordering::SeqCst);
    let r = run(&exec, def(0), json!({"items": items})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(peak.load(Ordering::SeqCst), 10, "MaxConcurrency 0 runs every item at once");
}

#[tokio::test]
async fn map_with_a_failing_iteration_fails_and_can_be_caught() {
    let exec = executor();
    exec.bind(
        "check",
        handler_fn(|v: Value| async move {
            if v == json!(2) {
                Err(TaskFailure::new("Bad.Item", "item 2 is bad"))
            } else {
                Ok(v)
            }
        }),
    );
    let def = json!({"StartAt": "M", "States": {
        "M": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "check", "End": true}}},
            "Catch": [{"ErrorEquals": ["Bad.Item"], "ResultPath": "$.error", "Next": "Handled"}],
            "ResultPath": "$.out",
            "Next": "Done"
        },
        "Handled": {"Type": "Pass", "End": true},
        "Done": {"Type": "Succeed"}
    }});
    let r = run(&exec, def, json!([1, 2, 3])).await;
    // The input is an array, so ResultPath "$.error" cannot be applied: Runtime.
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let def2 = json!({"StartAt": "M", "States": {
        "M": {
            "Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "check", "End": true}}},
            "Catch": [{"ErrorEquals": ["Bad.Item"], "ResultPath": "$.error", "Next": "Handled"}],
            "End": true
        },
        "Handled": {"Type": "Pass", "End": true}
    }});
    let r = run(&exec, def2, json!({"items": [1, 2, 3]})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.unwrap(),
        json!({"items": [1, 2, 3], "error": {"Error": "Bad.Item", "Cause": "item 2 is bad"}})
    );
}

#[tokio::test]
async fn parallel_runs_branches_concurrently_in_branch_order() {
    let exec = executor();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p) = (in_flight.clone(), peak.clone());
    exec.bind(
        "slow",
        handler_fn(move |v: Value| {
            let (f, p) = (f.clone(), p.clone());
            async move {
                p.fetch_max(f.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(v["ms"].as_u64().unwrap())).await;
                f.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, TaskFailure>(v["tag"].clone())
            }
        }),
    );
    let branch = |ms: u64, tag: &str| {
        json!({"StartAt": tag, "States": {tag: {"Type": "Task", "Resource": "slow",
            "Parameters": {"ms": ms, "tag": tag}, "End": true}}})
    };
    // The first branch finishes last: the results still follow branch order.
    let def = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel",
        "Branches": [branch(60, "first"), branch(5, "second"), branch(30, "third")],
        "ResultSelector": {"all.$": "$", "first.$": "$[0]"},
        "ResultPath": "$.results",
        "End": true
    }}});
    let r = run(&exec, def, json!({"in": 1})).await;
    assert_eq!(r.output.unwrap(), json!({"in": 1, "results": {"all": ["first", "second", "third"], "first": "first"}}));
    assert_eq!(peak.load(Ordering::SeqCst), 3, "the three branches ran at the same time");
}

#[tokio::test]
async fn a_failing_branch_fails_the_parallel_state_with_its_error() {
    let def = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": true}}},
            {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "second branch"}}}
        ],
        "End": true
    }}});
    let r = run(&executor(), def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("Branch.Broke"));
    assert_eq!(r.cause.as_deref(), Some("second branch"));
}

// ---------------------------------------------------------------------------
// Wait, Pass, Fail

#[tokio::test]
async fn wait_is_scaled_by_the_time_scale() {
    let def = json!({"StartAt": "W1", "States": {
        "W1": {"Type": "Wait", "Seconds": 100, "Next": "W2"},
        "W2": {"Type": "Wait", "SecondsPath": "$.secs", "Next": "W3"},
        "W3": {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "Next": "W4"},
        "W4": {"Type": "Wait", "TimestampPath": "$.when", "End": true}
    }});
    let started = Instant::now();
    let r = run(&executor(), def, json!({"secs": 50, "when": "2001-01-01T00:00:00Z"})).await;
    let took = started.elapsed();
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output.unwrap(), json!({"secs": 50, "when": "2001-01-01T00:00:00Z"}));
    assert!(took >= Duration::from_millis(150), "100 s + 50 s at 0.001 is 150 ms: {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    let waits: Vec<f64> = r
        .history
        .of_type("WaitStarted")
        .map(|e| match e {
            EventKind::WaitStarted { seconds, .. } => *seconds,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(waits, [100.0, 50.0, 0.0, 0.0]);

    let bad = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.secs", "End": true}}});
    let r = run(&executor(), bad, json!({"secs": "soon"})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn fail_state_with_literal_and_path_error_and_intrinsic_cause() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Job.Failed", "Cause": "fixed cause"}}});
    let r = run(&executor(), def, json!({})).await;
    assert_eq!(
        (r.status, r.error.as_deref(), r.cause.as_deref()),
        (ExecutionStatus::Failed, Some("Job.Failed"), Some("fixed cause"))
    );
    let def = json!({"StartAt": "F", "States": {"F": {
        "Type": "Fail",
        "ErrorPath": "$.code",
        "CausePath": "States.Format('{} of {} runs failed', $.failed, $.total)"
    }}});
    let r = run(&executor(), def, json!({"code": "Edba.RunsFailed", "failed": 2, "total": 5})).await;
    assert_eq!(r.error.as_deref(), Some("Edba.RunsFailed"));
    assert_eq!(r.cause.as_deref(), Some("2 of 5 runs failed"));
    assert!(matches!(r.history.events.last().unwrap().kind, EventKind::ExecutionFailed { .. }));
}

// ---------------------------------------------------------------------------
// Retry

fn task_with(retry: Value, catch: Value) -> Value {
    let mut def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "flaky", "Retry": retry, "Catch": catch, "ResultPath": "$.result", "End": true}
    }});
    if catch != json!([]) {
        def["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    }
    def
}

#[tokio::test]
async fn retry_counts_attempts_and_backs_off() {
    let exec = executor();
    let calls = scripted(&exec, "flaky", vec!["Edba.Transient", "Edba.Transient", "Edba.Transient"]);
    let def = task_with(
        json!([{"ErrorEquals": ["Edba.Transient"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]),
        json!([]),
    );
    let started = Instant::now();
    let r = run(&exec, def, json!({"x": 1})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    assert_eq!(r.output.unwrap(), json!({"x": 1, "result": {"calls": 4}}));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(r.history.retries("T"), [(1, 2.0), (2, 6.0), (3, 18.0)]);
    assert!(started.elapsed() >= Duration::from_millis(26), "2+6+18 s at 0.001 is 26 ms");
    assert_eq!(r.history.of_type("TaskFailed").count(), 3);
}

#[tokio::test]
async fn retry_gives_up_after_max_attempts_and_caps_the_delay() {
    let exec = executor();
    let calls = scripted(&exec, "flaky", vec!["E"; 10]);
    let def = task_with(
        json!([{"ErrorEquals": ["E"], "IntervalSeconds": 10, "BackoffRate": 2, "MaxAttempts": 4, "MaxDelaySeconds": 25}]),
        json!([]),
    );
    let r = run(&exec, def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("E"));
    assert_eq!(r.cause.as_deref(), Some("call 5 failed"));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(r.history.retries("T"), [(1, 10.0), (2, 20.0), (3, 25.0), (4, 25.0)]);
}

#[tokio::test]
async fn retry_defaults_and_max_attempts_zero() {
    let exec = executor();
    let calls = scripted(&exec, "flaky", vec!["E"; 10]);
    let r = run(&exec, task_with(json!([{"ErrorEquals": ["States.ALL"]}]), json!([])), json!({})).await;
    // Defaults: 3 retries, 1 s interval, backoff 2.
    assert_eq!(r.history.retries("T"), [(1, 1.0), (2, 2.0), (3, 4.0)]);
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    let exec = executor();
    let calls = scripted(&exec, "flaky", vec!["E"; 10]);
    let r = run(&exec, task_with(json!([{"ErrorEquals": ["E"], "MaxAttempts": 0}]), json!([])), json!({})).await;
    assert_eq!(r.error.as_deref(), Some("E"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "MaxAttempts 0 never retries");
    assert!(r.history.retries("T").is_empty());
}

#[tokio::test]
async fn each_retrier_counts_its_own_attempts_and_the_first_match_decides() {
    let exec = executor();
    let calls = scripted(&exec, "flaky", vec!["A", "B", "A", "B", "A"]);
    let def = task_with(
        json!([
            {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 1},
            {"ErrorEquals": ["B", "A"], "MaxAttempts": 5, "IntervalSeconds": 7}
        ]),
        json!([]),
    );
    let r = run(&exec, def, json!({})).await;
    // A, B, A, B retried (A twice by the first retrier, B twice by the second);
    // the third A matches the first retrier, which is exhausted: the state
    // fails even though the second retrier also lists A.
    assert_eq!(r.error.as_deref(), Some("A"));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(r.history.retries("T"), [(1, 1.0), (1, 7.0), (2, 2.0), (2, 14.0)]);
}

#[tokio::test]
async fn full_jitter_stays_within_the_delay() {
    let exec = executor();
    scripted(&exec, "flaky", vec!["E"; 10]);
    let def = task_with(
        json!([{"ErrorEquals": ["E"], "IntervalSeconds": 4, "MaxAttempts": 5, "JitterStrategy": "FULL"}]),
        json!([]),
    );
    let r = run(&exec, def, json!({})).await;
    let retries = r.history.retries("T");
    assert_eq!(retries.len(), 5);
    for (attempt, delay) in retries {
        let ceiling = 4.0 * 2f64.powi(attempt as i32 - 1);
        assert!((0.0..=ceiling).contains(&delay), "attempt {attempt}: {delay} > {ceiling}");
    }
}

#[tokio::test]
async fn retry_count_is_visible_in_the_context_object() {
    let exec = executor();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    exec.bind(
        "flaky",
        handler_fn(move |v: Value| {
            let s = s.clone();
            async move {
                let n = v["retry"].as_u64().unwrap();
                s.lock().unwrap().push(n);
                if n < 2 {
                    Err(TaskFailure::new("E", "again"))
                } else {
                    Ok(json!("done"))
                }
            }
        }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky",
        "Parameters": {"retry.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["E"]}], "End": true}}});
    let r = run(&exec, def, json!({})).await;
    assert_eq!(r.output.unwrap(), json!("done"));
    assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
}

// ---------------------------------------------------------------------------
// Catch and timeouts

#[tokio::test]
async fn catch_result_path_applies_to_the_raw_state_input() {
    let exec = executor();
    scripted(&exec, "flaky", vec!["Edba.LoadFailed"]);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "flaky", "InputPath": "$.inner",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}
    }});
    let r = run(&exec, def, json!({"inner": {"a": 1}, "keep": "me"})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.unwrap(),
        json!({"inner": {"a": 1}, "keep": "me", "error": {"Error": "Edba.LoadFailed", "Cause": "call 1 failed"}})
    );
    assert_eq!(r.history.states_entered(), ["T", "Caught"]);

    // Without ResultPath the error output replaces the input.
    let exec = executor();
    scripted(&exec, "flaky", vec!["X"]);
    let r = run(&exec, task_with(json!([]), json!([{"ErrorEquals": ["X"], "Next": "Caught"}])), json!({"gone": true}))
        .await;
    assert_eq!(r.output.unwrap(), json!({"Error": "X", "Cause": "call 1 failed"}));
}

#[tokio::test]
async fn states_all_does_not_catch_states_runtime() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel",
              "Branches": [{"StartAt": "Bad", "States": {"Bad": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}],
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
              "End": true},
        "Caught": {"Type": "Succeed"}
    }});
    let r = run(&executor(), def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.history.retries("P").is_empty(), "States.Runtime is not retried");
}

#[tokio::test]
async fn task_timeout_is_states_timeout_which_task_failed_does_not_match() {
    let exec = executor();
    exec.bind(
        "hang",
        handler_fn(|_v: Value| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskFailure>(json!("late"))
        }),
    );
    let def = |errors: Value| {
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "hang", "TimeoutSeconds": 20,
                  "Catch": [{"ErrorEquals": errors, "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}
        }})
    };
    let started = Instant::now();
    let r = run(&exec, def(json!(["States.TaskFailed"])), json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(5), "20 s at timeout scale 0.001");
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    let r = run(&exec, def(json!(["States.Timeout"])), json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output.unwrap()["Error"], json!("States.Timeout"));

    // States.TaskFailed matches any other task error.
    let exec = executor();
    scripted(&exec, "flaky", vec!["Anything.Else"]);
    let r =
        run(&exec, task_with(json!([]), json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}])), json!({}))
            .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn timeout_seconds_path_reads_the_input() {
    let exec = executor();
    exec.bind(
        "hang",
        handler_fn(|_v: Value| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskFailure>(json!("late"))
        }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "hang", "TimeoutSecondsPath": "$.limit", "End": true}}});
    let r = run(&exec, def, json!({"limit": 5})).await;
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test]
async fn execution_timeout_ends_with_timed_out() {
    let def = json!({"TimeoutSeconds": 50, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": true}}});
    let exec = Executor::new(ExecutorConfig { time_scale: 1.0, timeout_scale: 0.001, ..ExecutorConfig::default() });
    let started = Instant::now();
    let r = run(&exec, def, json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(r.status, ExecutionStatus::TimedOut);
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    assert!(matches!(r.history.events.last().unwrap().kind, EventKind::ExecutionTimedOut { .. }));
}

#[tokio::test]
async fn an_unbound_resource_fails_naming_it_and_is_not_caught() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "${MissingFunctionArn}",
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}
    }});
    let r = run(&executor(), def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("Local.UnboundResource"));
    assert_eq!(r.cause.as_deref(), Some("no local binding for resource \"${MissingFunctionArn}\""));
}

#[tokio::test]
async fn an_invalid_definition_is_refused_with_the_validator_messages() {
    let exec = executor();
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}});
    let err = exec.register_definition("broken", &def.to_string()).unwrap_err();
    let ExecutorError::InvalidDefinition { name, errors } = &err else { panic!("{err}") };
    assert_eq!(name, "broken");
    assert!(errors.iter().any(|e| e.state.as_deref() == Some("A") && e.field == "Next"), "{err}");
    assert!(err.to_string().contains("state \"A\", field \"Next\""), "{err}");
    assert!(matches!(exec.start("broken", json!({}), None), Err(ExecutorError::UnknownStateMachine(_))));
}

#[tokio::test]
async fn start_execution_starts_a_registered_machine_fire_and_forget() {
    let exec = executor();
    let child = json!({"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}});
    exec.register_definition("child", &child.to_string()).unwrap();
    exec.alias("${ChildStateMachineArn}", "child");
    let parent = json!({"StartAt": "Start", "States": {"Start": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
        "Parameters": {"StateMachineArn": "${ChildStateMachineArn}",
                       "Input": {"from.$": "$$.Execution.Id", "v.$": "$.v"}},
        "ResultPath": "$.started", "End": true}}});
    exec.register_definition("parent", &parent.to_string()).unwrap();
    let h = exec.start("parent", json!({"v": 7}), Some("p1".into())).unwrap();
    let r = h.wait().await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    let started = &r.output.unwrap()["started"];
    let child_arn = started["ExecutionArn"].as_str().unwrap().to_string();
    assert!(child_arn.starts_with("arn:aws:states:local:000000000000:execution:child:"), "{child_arn}");
    assert!(started["StartDate"].is_number());
    let all = exec.wait_all().await;
    assert_eq!(all.len(), 2);
    let child_run = all.iter().find(|r| r.execution_arn == child_arn).unwrap();
    assert_eq!(
        child_run.output.clone().unwrap(),
        json!({"from": "arn:aws:states:local:000000000000:execution:parent:p1", "v": 7})
    );
}

/// A process that runs on (`edba serve`) keeps only running executions: an
/// ended one is let go, however many have run, while `wait_all` still waits
/// for every running one, those they start included.
#[tokio::test]
async fn an_executor_that_does_not_keep_finished_executions_holds_only_running_ones() {
    let exec = Executor::new(ExecutorConfig { time_scale: 0.001, keep_finished: false, ..ExecutorConfig::default() });
    let child = json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 100, "End": true}}});
    exec.register_definition("child", &child.to_string()).unwrap();
    exec.alias("${ChildStateMachineArn}", "child");
    let parent = json!({"StartAt": "Start", "States": {"Start": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
        "Parameters": {"StateMachineArn": "${ChildStateMachineArn}", "Input": {}},
        "End": true}}});
    exec.register_definition("parent", &parent.to_string()).unwrap();

    for n in 0..200 {
        let r = exec.start("parent", json!({}), Some(format!("p{n}"))).unwrap().wait().await;
        assert_eq!(r.status, ExecutionStatus::Succeeded);
    }
    // The parents have ended; their children (a 100 ms wait) may still run.
    assert!(exec.executions().iter().all(|h| h.state_machine == "child"));
    let rest = exec.wait_all().await;
    assert!(rest.iter().all(|r| r.state_machine == "child" && r.status == ExecutionStatus::Succeeded));
    assert!(exec.executions().is_empty(), "{} handles kept", exec.executions().len());

    // The default keeps them all, for a batch's report.
    let keeping = executor();
    keeping.register_definition("child", &child.to_string()).unwrap();
    keeping.start("child", json!({}), None).unwrap().wait().await;
    assert_eq!(keeping.executions().len(), 1);
    assert_eq!(keeping.wait_all().await.len(), 1);
}
