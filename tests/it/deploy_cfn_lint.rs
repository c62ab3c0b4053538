//! `cfn-lint` (pinned in scripts/tools/requirements.txt) accepts the
//! deployment template, and rejects broken copies of it, so a pass means
//! something.

use crate::deploy_support;

use deploy_support::*;
use std::path::PathBuf;
use std::process::{Command, Output};

fn cfn_lint() -> PathBuf {
    let bin = repo().join("scripts/.venv/bin/cfn-lint");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/tools/install.sh (installs the pinned cfn-lint into scripts/.venv)",
        bin.display()
    );
    bin
}

fn lint(template: &std::path::Path) -> Output {
    Command::new(cfn_lint()).arg(template).output().unwrap_or_else(|e| panic!("running cfn-lint: {e}"))
}

fn report(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_installed_cfn_lint_is_the_pinned_version() {
    let pins = std::fs::read_to_string(repo().join("scripts/tools/requirements.txt")).expect("requirements.txt");
    let pinned = pins.lines().find_map(|l| l.trim().strip_prefix("cfn-lint==")).expect("cfn-lint is pinned with ==");
    let out = Command::new(cfn_lint()).arg("--version").output().expect("cfn-lint --version");
    let version = report(&out);
    assert!(
        version.split_whitespace().any(|w| w == pinned),
        "scripts/.venv has {version:?}, requirements.txt pins {pinned}: run scripts/tools/install.sh"
    );
}

#[test]
fn cfn_lint_accepts_the_template() {
    let out = lint(&template_path());
    assert!(out.status.success(), "cfn-lint scripts/template.yaml failed:\n{}", report(&out));
}

/// Each edit breaks the template in a way CloudFormation would reject at
/// deploy time; cfn-lint must say so.
#[test]
fn cfn_lint_rejects_broken_copies_of_the_template() {
    let original = std::fs::read_to_string(template_path()).expect("template");
    let breaks = [
        ("unknown machine type", "Type: EXPRESS", "Type: EXPRES"),
        ("unknown attribute", "!GetAtt ValidateLogGroup.Arn", "!GetAtt ValidateLogGroup.Nope"),
        ("reference to nothing", "!Ref OutputExpirationDays", "!Ref OutputRetentionDays"),
        ("lambda memory out of range", "MemorySize: 512", "MemorySize: 64"),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (what, from, to) in breaks {
        assert!(original.contains(from), "{what}: the template no longer contains {from:?}");
        let broken = dir.path().join("template.yaml");
        std::fs::write(&broken, original.replacen(from, to, 1)).expect("write broken copy");
        let out = lint(&broken);
        assert!(!out.status.success(), "cfn-lint accepted a template with {what} ({to:?})");
        let text = report(&out);
        let is_error = |l: &str| l.starts_with('E') && l[1..].starts_with(|c: char| c.is_ascii_digit());
        assert!(text.lines().any(is_error), "{what}: expected an error (E….) from cfn-lint, got:\n{text}");
    }
}
