//! `edba exec` on today's ASL, as a user runs it: a JSONata machine with
//! variables runs end to end and prints its output; an invalid one is refused
//! before it runs, naming the state and the field.

use std::process::{Command, Output};

use serde_json::{json, Value};

fn exec(definition: &Value, input: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("machine.asl.json");
    std::fs::write(&file, serde_json::to_string_pretty(definition).unwrap()).unwrap();
    let home = dir.path().join("home");
    Command::new(env!("CARGO_BIN_EXE_edba"))
        .args(["exec", file.to_str().unwrap(), "--input", input, "--home", home.to_str().unwrap()])
        .output()
        .expect("edba runs")
}

#[test]
fn exec_runs_a_jsonata_machine_and_prints_its_output() {
    let machine = json!({
        "Comment": "Orders over a threshold, counted with variables",
        "QueryLanguage": "JSONata",
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass", "Assign": {"threshold": "{% $states.input.threshold %}"}, "Next": "Each"},
            "Each": {"Type": "Map", "Items": "{% $states.input.orders %}",
                     "ItemProcessor": {"StartAt": "Flag", "States": {
                         "Flag": {"Type": "Pass", "End": true,
                                  "Output": {"id": "{% $states.input.id %}",
                                             "big": "{% $states.input.total > $threshold %}"}}}},
                     "Assign": {"big": "{% $count($states.result[big]) %}"},
                     "Next": "Decide"},
            "Decide": {"Type": "Choice", "Default": "Quiet",
                       "Choices": [{"Condition": "{% $big > 0 %}", "Next": "Report"}]},
            "Report": {"Type": "Succeed",
                       "Output": {"big_orders": "{% $big %}", "ids": "{% $states.input[big].id %}"}},
            "Quiet": {"Type": "Succeed", "Output": {"big_orders": 0}}
        }
    });
    let input = r#"{"threshold": 100, "orders": [{"id": "a", "total": 50}, {"id": "b", "total": 150}, {"id": "c", "total": 300}]}"#;
    let out = exec(&machine, input);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let printed: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(printed, json!({"big_orders": 2, "ids": ["b", "c"]}));
}

#[test]
fn exec_refuses_an_invalid_jsonata_machine_naming_state_and_field() {
    let machine = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"x": 1},
              "Arguments": {"n": "{% $states.input.n * %}"}, "End": true}}});
    let out = exec(&machine, "{}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("state \"A\", field \"Parameters\": `Parameters` is a JSONPath field"), "{stderr}");
    assert!(stderr.contains("state \"A\", field \"Arguments.n\": JSONata syntax error at column"), "{stderr}");
}

#[test]
fn graph_draws_a_jsonata_machine_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.asl.json");
    let machine = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Default": "Small",
              "Choices": [{"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Assign": {"size": "big"}}]},
        "Big": {"Type": "Succeed", "Output": "{% $size %}"},
        "Small": {"Type": "Fail", "Error": "{% 'Too.Small' %}"}}});
    std::fs::write(&file, machine.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edba")).args(["graph", file.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("C -->|\"$states.input.n > 10\"| Big"), "{stdout}");
    assert!(stdout.contains("C -->|otherwise| Small"), "{stdout}");
    // An invalid file is refused with its errors, not drawn.
    std::fs::write(
        &file,
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": "{% $nowhere %}", "End": true}}})
        .to_string(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edba")).args(["graph", file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reads `$nowhere`"));
}
