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
    let edited = std::fs::read_to_string(&ingest).unwrap().replace("\"TimeoutSeconds\": 60", "\"TimeoutSeconds\": 61");
    std::fs::write(&ingest, edited).unwrap();
    std::fs::write(dir.path().join("statemachines/schemas/gone-output.json"), "{}").unwrap();
    let drift = generate::check(dir.path()).unwrap().expect_err("an edited file is stale");
    let text = drift.to_string();
    assert!(text.contains("statemachines/ingest.asl.json"), "{text}");
    assert!(
        text.contains("-      \"TimeoutSeconds\": 61,") && text.contains("+      \"TimeoutSeconds\": 60,"),
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
