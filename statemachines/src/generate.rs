//! Builds the pipeline machines, checks them, and writes or compares the
//! generated files: `statemachines/<name>.asl.json` and
//! `statemachines/schemas/<payload>.json`. Output is deterministic.

use std::fmt;
use std::path::{Path, PathBuf};

use edba_asl::StateMachine;
use serde_json::Value;

use crate::resources::PipelineResources;

/// A pipeline machine and what the deployment needs to know about it.
#[derive(Debug, Clone)]
pub struct PipelineMachine {
    /// `ingest` or `aggregate`: the file stem and the CLI name.
    pub name: &'static str,
    /// `EXPRESS` or `STANDARD`.
    pub kind: &'static str,
    pub definition: StateMachine,
    /// JSON Schema of the execution input.
    pub input_schema: Value,
}

/// Both pipeline machines.
pub fn machines() -> Vec<PipelineMachine> {
    vec![
        PipelineMachine {
            name: "ingest",
            kind: "EXPRESS",
            definition: crate::ingest::machine(),
            input_schema: edba_payloads::schema_of::<edba_payloads::IngestInput>(),
        },
        PipelineMachine {
            name: "aggregate",
            kind: "STANDARD",
            definition: crate::aggregate::machine(),
            input_schema: edba_payloads::schema_of::<edba_payloads::AggregateInput>(),
        },
    ]
}

/// One generated file, relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Why a machine could not be generated: every problem, each naming the
/// machine, the state and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateError {
    pub problems: Vec<String>,
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the state machines are not valid:")?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GenerateError {}

/// Checks one machine: the structural rules and the typed data paths.
pub fn check_machine(m: &PipelineMachine) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if let Err(errors) = edba_asl::validate::validate(&m.definition) {
        problems.extend(errors.into_iter().map(|e| format!("{}: {e}", m.name)));
    }
    if let Err(errors) = edba_asl::dataflow::check_paths(&m.definition, &m.input_schema, &PipelineResources) {
        problems.extend(errors.into_iter().map(|e| format!("{}: {e}", m.name)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Every generated file, in a fixed order, after checking the machines.
pub fn generate() -> Result<Vec<GeneratedFile>, GenerateError> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for m in machines() {
        if let Err(p) = check_machine(&m) {
            problems.extend(p);
        }
        files.push(GeneratedFile {
            path: PathBuf::from("statemachines").join(format!("{}.asl.json", m.name)),
            contents: m.definition.to_pretty_json(),
        });
    }
    if !problems.is_empty() {
        return Err(GenerateError { problems });
    }
    for (stem, schema) in edba_payloads::task_schemas() {
        let mut contents = serde_json::to_string_pretty(&schema).expect("schemas serialize");
        contents.push('\n');
        files.push(GeneratedFile {
            path: PathBuf::from("statemachines/schemas").join(format!("{stem}.json")),
            contents,
        });
    }
    Ok(files)
}

/// Writes every generated file under `root`, and removes schema files that
/// are no longer generated. Returns the paths written.
pub fn write(root: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let files = generate()?;
    let schemas_dir = root.join("statemachines/schemas");
    std::fs::create_dir_all(&schemas_dir)?;
    for stale in stale_schema_files(root, &files)? {
        std::fs::remove_file(root.join(stale))?;
    }
    let mut written = Vec::new();
    for f in files {
        let path = root.join(&f.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.contents.as_str()) {
            std::fs::write(&path, &f.contents)?;
        }
        written.push(f.path);
    }
    Ok(written)
}

fn stale_schema_files(root: &Path, files: &[GeneratedFile]) -> std::io::Result<Vec<PathBuf>> {
    let dir = root.join("statemachines/schemas");
    let mut stale = Vec::new();
    if dir.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let rel = PathBuf::from("statemachines/schemas").join(e.file_name());
            if rel.extension().is_some_and(|x| x == "json") && !files.iter().any(|f| f.path == rel) {
                stale.push(rel);
            }
        }
    }
    Ok(stale)
}

/// How committed files differ from what the generator produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// One entry per stale, missing or extra file, with a unified diff.
    pub files: Vec<(PathBuf, String)>,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} generated file(s) are stale; run `edba generate` and commit the result:", self.files.len())?;
        for (path, diff) in &self.files {
            writeln!(f, "\n--- {}", path.display())?;
            f.write_str(diff)?;
        }
        Ok(())
    }
}

/// Compares the committed files under `root` with the generator's output.
pub fn check(root: &Path) -> Result<Result<(), Drift>, Box<dyn std::error::Error>> {
    let files = generate()?;
    let mut drift = Vec::new();
    for f in &files {
        let path = root.join(&f.path);
        match std::fs::read_to_string(&path) {
            Ok(current) if current == f.contents => {}
            Ok(current) => {
                let diff = similar::TextDiff::from_lines(&current, &f.contents)
                    .unified_diff()
                    .context_radius(3)
                    .header("committed", "generated")
                    .to_string();
                drift.push((f.path.clone(), diff));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                drift.push((f.path.clone(), "missing: the file is not committed\n".into()));
            }
            Err(e) => return Err(Box::new(e)),
        }
    }
    for stale in stale_schema_files(root, &files)? {
        drift.push((stale, "extra: the generator no longer writes this file\n".into()));
    }
    Ok(if drift.is_empty() { Ok(()) } else { Err(Drift { files: drift }) })
}
