//! The committed JSON is exactly what the generator produces, it parses back
//! into the same model, and every placeholder it uses is one the deployment
//! provides.

use std::path::{Path, PathBuf};

use edba_asl::StateMachine;
use edba_statemachines::generate::{self, machines};
use edba_statemachines::resources::{self, placeholders_in};
use pretty_assertions::assert_eq;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn committed_files_match_the_generator() {
    if let Err(drift) = generate::check(&repo_root()).expect("generator runs") {
        panic!("{drift}");
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(generate::generate().unwrap(), generate::generate().unwrap());
}

#[test]
fn check_reports_a_stale_file_with_a_diff_and_write_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("statemachines/schemas")).unwrap();
    let missing = generate::check(dir.path()).unwrap().expect_err("nothing is committed yet");
    assert!(missing.to_string().contains("missing"), "{missing}");

    generate::write(dir.path()).unwrap();
    generate::check(dir.path()).unwrap().expect("fresh files are up to date");

    let ingest = dir.path().join("statemachines/ingest.asl.json");
    let edited = std::fs::read_to_string(&ingest).unwrap().replace("\"TimeoutSeconds\": 12", "\"TimeoutSeconds\": 61");
    std::fs::write(&ingest, edited).unwrap();
    std::fs::write(dir.path().join("statemachines/schemas/gone-output.json"), "{}").unwrap();
    let drift = generate::check(dir.path()).unwrap().expect_err("an edited file is stale");
    let text = drift.to_string();
    assert!(text.contains("statemachines/ingest.asl.json"), "{text}");
    assert!(
        text.contains("-      \"TimeoutSeconds\": 61,") && text.contains("+      \"TimeoutSeconds\": 12,"),
        "{text}"
    );
    assert!(text.contains("gone-output.json") && text.contains("extra"), "{text}");

    generate::write(dir.path()).unwrap();
    generate::check(dir.path()).unwrap().expect("write repairs drift and removes extra schema files");
}

#[test]
fn committed_machines_round_trip_through_the_model() {
    for m in machines() {
        let path = repo_root().join(format!("statemachines/{}.asl.json", m.name));
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = StateMachine::from_json(&text).unwrap();
        assert_eq!(parsed, m.definition, "{}", m.name);
        assert_eq!(parsed.to_pretty_json(), text, "{}", m.name);
    }
}

#[test]
fn every_placeholder_is_known_and_every_known_placeholder_is_used() {
    let mut used = Vec::new();
    for m in machines() {
        for name in placeholders_in(&m.definition.to_pretty_json()) {
            assert!(
                resources::ALL.iter().any(|p| p.name == name),
                "{} uses ${{{name}}}, which resources::ALL does not define",
                m.name
            );
            used.push(name);
        }
    }
    for p in resources::ALL {
        assert!(used.iter().any(|u| u == p.name), "${{{}}} is defined but no machine uses it", p.name);
    }
}

#[test]
fn every_task_state_retries_transient_errors() {
    fn walk(states: &edba_asl::States, machine: &str) {
        for (name, state) in states {
            if let edba_asl::State::Task(t) = state {
                assert!(!t.retry.is_empty(), "{machine}: task {name:?} has no Retry");
                assert!(t.comment.is_some(), "{machine}: task {name:?} has no Comment for the console");
            }
            for (_, nested) in state.nested() {
                walk(nested, machine);
            }
        }
    }
    for m in machines() {
        walk(&m.definition.states, m.name);
    }
}

#[test]
fn no_lambda_polls_emr() {
    let text = machines().into_iter().map(|m| m.definition.to_pretty_json()).collect::<String>();
    assert!(text.contains("arn:aws:states:::elasticmapreduce:addStep.sync"));
    assert!(
        !text.contains("describeStep") && !text.contains("\"Wait\""),
        "the EMR wait is addStep.sync, not a poll loop"
    );
}

#[test]
fn readme_shows_the_current_graphs() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for m in machines() {
        let marker = format!("<!-- graph:{} -->\n```mermaid\n", m.name);
        let start = readme.find(&marker).unwrap_or_else(|| panic!("README lacks the {} graph", m.name)) + marker.len();
        let len = readme[start..].find("```").unwrap();
        assert_eq!(
            &readme[start..start + len],
            edba_asl::graph::mermaid(&m.definition),
            "README's {} graph is stale: paste `edba graph {}`",
            m.name,
            m.name
        );
    }
}

/// Every Task state of `states`, nested ones included, with its name.
fn tasks_of(states: &edba_asl::States, out: &mut Vec<(String, edba_asl::Task)>) {
    for (name, state) in states {
        if let edba_asl::State::Task(t) = state {
            out.push((name.clone(), t.clone()));
        }
        for (_, nested) in state.nested() {
            tasks_of(nested, out);
        }
    }
}

#[test]
fn every_function_resource_is_a_task_resource_of_the_contract_and_each_is_used() {
    let mut used = Vec::new();
    for m in machines() {
        let mut tasks = Vec::new();
        tasks_of(&m.definition.states, &mut tasks);
        for (name, task) in tasks {
            if task.resource.ends_with("FunctionArn}") {
                let found = edba_payloads::resource::task_resource(&task.resource);
                assert!(found.is_some(), "{}: {name:?} runs {}, which is no task resource", m.name, task.resource);
                used.extend(found.map(|r| r.task));
            }
        }
    }
    for r in edba_payloads::TASK_RESOURCES {
        assert!(used.contains(&r.task), "the {} task resource is in no machine", r.task);
        assert!(resources::ALL.iter().any(|p| p.name == r.placeholder), "{} is deployed", r.placeholder);
    }
}

#[test]
fn the_ingest_output_type_is_where_the_ingest_machine_writes_its_results() {
    let ingest = machines().into_iter().find(|m| m.name == "ingest").unwrap();
    let mut tasks = Vec::new();
    tasks_of(&ingest.definition.states, &mut tasks);
    let result_path = |resource: String| {
        let (_, task) = tasks.iter().find(|(_, t)| t.resource == resource).expect("the ingest machine runs it");
        task.result_path.clone().flatten()
    };
    assert_eq!(result_path(edba_payloads::resource::VALIDATE.token()).as_deref(), Some("$.validation"));
    assert_eq!(result_path(edba_payloads::resource::TRACK.token()).as_deref(), Some("$.tracking"));
    let schema = edba_payloads::schema_of::<edba_payloads::IngestOutput>();
    for field in ["validation", "tracking", "detail"] {
        assert!(schema["properties"].get(field).is_some(), "IngestOutput has {field}: {schema}");
    }
}

/// Every Task state of a committed machine's JSON: (name, state).
fn task_states(states: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    for (name, state) in states.as_object().expect("States") {
        if state["Type"] == "Task" {
            out.push((name.clone(), state.clone()));
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            task_states(&branch["States"], out);
        }
        if let Some(processor) = state.get("ItemProcessor").or_else(|| state.get("Iterator")) {
            task_states(&processor["States"], out);
        }
    }
}

fn committed(machine: &str) -> serde_json::Value {
    let path = repo_root().join(format!("statemachines/{machine}.asl.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The errors each retrier of `state` retries.
fn retried(state: &serde_json::Value) -> Vec<String> {
    state["Retry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["ErrorEquals"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn every_lambda_task_retries_throttling_and_a_timed_out_function_and_waits_just_past_its_timeout() {
    for machine in ["ingest", "aggregate"] {
        let mut tasks = Vec::new();
        task_states(&committed(machine)["States"], &mut tasks);
        let mut lambdas = 0;
        for (name, state) in tasks {
            let Some(resource) = edba_payloads::resource::task_resource(state["Resource"].as_str().unwrap()) else {
                continue;
            };
            lambdas += 1;
            let errors = retried(&state);
            for error in ["Lambda.TooManyRequestsException", "Sandbox.Timedout", "Lambda.ServiceException"] {
                assert!(errors.iter().any(|e| e == error), "{machine}: {name:?} does not retry {error}: {errors:?}");
            }
            // Just past the function's own timeout: the function's
            // Sandbox.Timedout (retried) fires first; a hung invocation still ends.
            assert_eq!(
                state["TimeoutSeconds"].as_u64(),
                Some(resource.timeout_seconds + edba_payloads::resource::LAMBDA_TIMEOUT_GRACE_SECONDS),
                "{machine}: {name:?} TimeoutSeconds vs the {} function's timeout",
                resource.task
            );
        }
        assert!(lambdas >= 2, "{machine}: its Lambda tasks were found");
    }
}

/// The longest a state can take before it moves on, every attempt running
/// into its `TimeoutSeconds` and every back-off at its longest (no jitter):
/// attempts are one plus each retrier's `MaxAttempts`, as Step Functions
/// counts each retrier apart.
fn worst_case_seconds(name: &str, state: &serde_json::Value) -> u64 {
    if state["Type"] != "Task" {
        return 0;
    }
    let timeout = state["TimeoutSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name:?} has no TimeoutSeconds: in an EXPRESS machine it could outlive the cap"));
    let mut attempts = 1;
    let mut waits = 0.0;
    for r in state["Retry"].as_array().into_iter().flatten() {
        let max = r["MaxAttempts"].as_u64().unwrap_or(3);
        let interval = r["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = r["BackoffRate"].as_f64().unwrap_or(2.0);
        let cap = r["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
        attempts += max;
        waits += (0..max).map(|i| (interval * rate.powi(i as i32)).min(cap)).sum::<f64>();
    }
    attempts * timeout + waits.ceil() as u64
}

/// The longest time from `from` to the end of the machine, over every path
/// (Next, Choice branches and Default, Catch).
fn longest_path_seconds(states: &serde_json::Value, from: &str, seen: &mut Vec<String>) -> u64 {
    assert!(!seen.iter().any(|s| s == from), "the ingest machine has a cycle through {from:?}");
    seen.push(from.to_owned());
    let state = &states[from];
    let mut next: Vec<&str> = Vec::new();
    next.extend(state["Next"].as_str());
    next.extend(state["Default"].as_str());
    for key in ["Choices", "Catch"] {
        next.extend(state[key].as_array().into_iter().flatten().filter_map(|c| c["Next"].as_str()));
    }
    let rest = next.into_iter().map(|n| longest_path_seconds(states, n, seen)).max().unwrap_or(0);
    seen.pop();
    worst_case_seconds(from, state) + rest
}

#[test]
fn the_express_ingest_machine_fails_and_parks_its_event_well_before_aws_ends_it() {
    use edba_statemachines::ingest::{MACHINE_TIMEOUT_SECONDS, RETRY_BUDGET_SECONDS};
    const EXPRESS_CAP_SECONDS: u64 = 300;
    let ingest = committed("ingest");
    let start = ingest["StartAt"].as_str().unwrap();
    let worst = longest_path_seconds(&ingest["States"], start, &mut Vec::new());
    assert!(
        worst <= RETRY_BUDGET_SECONDS,
        "every attempt timing out and every back-off at its longest takes {worst}s, over the {RETRY_BUDGET_SECONDS}s budget"
    );
    // A margin between the budget and the machine's timeout, which is under AWS's cap.
    const { assert!(RETRY_BUDGET_SECONDS + 30 <= MACHINE_TIMEOUT_SECONDS) };
    const { assert!(MACHINE_TIMEOUT_SECONDS < EXPRESS_CAP_SECONDS) };
    assert_eq!(ingest["TimeoutSeconds"].as_u64(), Some(MACHINE_TIMEOUT_SECONDS));

    // The worst path is the one that parks: validate and track exhausted.
    let states = &ingest["States"];
    let validate = worst_case_seconds("validate", &states[edba_statemachines::ingest::VALIDATE]);
    assert!(validate >= 3 * edba_payloads::resource::VALIDATE.timeout_seconds, "validate is tried three times");
}

#[test]
fn an_ingest_that_still_fails_parks_the_event_as_delivered_and_fails_with_a_replayable_error() {
    use edba_statemachines::ingest::{PARKED, PARK_EVENT, TRACK, VALIDATE};
    let ingest = committed("ingest");
    let states = &ingest["States"];
    for task in [VALIDATE, TRACK] {
        let catch = &states[task]["Catch"];
        assert_eq!(catch[0]["ErrorEquals"], serde_json::json!(["States.ALL"]), "{task}");
        assert_eq!(catch[0]["Next"], PARK_EVENT, "{task}");
    }
    let park = &states[PARK_EVENT];
    assert_eq!(park["Resource"], "arn:aws:states:::sqs:sendMessage");
    assert_eq!(park["Parameters"]["QueueUrl"], resources::INGEST_DEAD_LETTER_QUEUE.token());
    // The body is the execution's input: the S3 event exactly as EventBridge
    // delivered it, which is also what EventBridge's own dead-letter queue holds.
    assert_eq!(park["Parameters"]["MessageBody.$"], "$$.Execution.Input");
    let mut after = park["Next"].as_str().unwrap();
    while states[after]["Type"] == "Pass" {
        after = states[after]["Next"].as_str().unwrap();
    }
    assert_eq!(after, PARKED);
    assert_eq!(states[PARKED]["Type"], "Fail");
    assert_eq!(states[PARKED]["Error"], edba_payloads::ErrorName::IngestParked.as_str());
}
