//! Both generated machines pass the independent ASL validators Step Functions
//! users rely on: `asl-validator` and `@wmfs/statelint` (pinned in
//! `scripts/tools/package-lock.json`, installed by `scripts/test.sh`). The
//! `${…}` placeholders are replaced by well-formed example ARNs first, as
//! CloudFormation's `DefinitionSubstitutions` would.

use std::path::PathBuf;
use std::process::Command;

use edba_statemachines::generate::machines;
use edba_statemachines::resources::{placeholders_in, with_example_arns};

fn tool(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/tools/node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "{} is not installed; run `npm ci` in scripts/tools (scripts/test.sh does this)",
        path.display()
    );
    path
}

fn definitions() -> Vec<(&'static str, tempfile::NamedTempFile)> {
    machines()
        .into_iter()
        .map(|m| {
            let text = with_example_arns(&m.definition.to_pretty_json());
            assert!(placeholders_in(&text).is_empty(), "{}: unreplaced placeholders", m.name);
            let file = tempfile::Builder::new().suffix(".asl.json").tempfile().unwrap();
            std::fs::write(file.path(), text).unwrap();
            (m.name, file)
        })
        .collect()
}

#[test]
fn generated_machines_pass_asl_validator() {
    let validator = tool("asl-validator");
    for (name, file) in definitions() {
        let out = Command::new(&validator).arg("--json-path").arg(file.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "asl-validator rejects {name}:\n{stdout}\n{stderr}");
    }
}

#[test]
fn generated_machines_pass_statelint() {
    let statelint = tool("statelint");
    for (name, file) in definitions() {
        let out = Command::new(&statelint).arg(file.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
            "statelint rejects {name}:\n{stdout}\n{stderr}"
        );
    }
}

/// The validators must be able to say no, or passing them proves nothing.
#[test]
fn the_validators_reject_a_broken_definition() {
    let broken = r#"{"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#;
    let file = tempfile::Builder::new().suffix(".asl.json").tempfile().unwrap();
    std::fs::write(file.path(), broken).unwrap();
    let asl = Command::new(tool("asl-validator")).arg("--json-path").arg(file.path()).output().unwrap();
    assert!(!asl.status.success(), "asl-validator accepted a broken definition");
    let lint = Command::new(tool("statelint")).arg(file.path()).output().unwrap();
    let said = String::from_utf8_lossy(&lint.stdout).to_string() + &String::from_utf8_lossy(&lint.stderr);
    assert!(!lint.status.success() || !said.trim().is_empty(), "statelint accepted a broken definition");
}
