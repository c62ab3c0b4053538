//! `edba`: generate the state machines, draw them, and (as the pipeline grows)
//! run it locally and operate it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "edba", version, about = "Event-driven batch analytics on AWS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write statemachines/*.asl.json and statemachines/schemas/*.json from the Rust definitions.
    Generate {
        /// Do not write; exit 1 with a diff when a committed file is stale.
        #[arg(long)]
        check: bool,
        /// The repository root (default: the nearest parent with a statemachines/ folder).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Print a Mermaid flowchart of a pipeline machine (Catch edges dashed).
    Graph {
        #[arg(value_enum)]
        machine: MachineName,
    },
    /// Check franchise files before sending them: the same conversion the
    /// validate task runs, on local files. Exits 1 when a file is INVALID.
    Validate {
        /// Files to check; the dataset is chosen by file name (IL-101.tdf, Item-Master-Data.tdf).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write validated/<name>.csv and rejected/<name>.rejects.csv under this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// A file whose share of rejected rows is above this is INVALID.
        #[arg(long, default_value_t = edba_tasks::dataset::ConvertOptions::default().max_reject_share)]
        max_reject_share: f64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MachineName {
    Ingest,
    Aggregate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("edba: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Generate { check, root } => {
            let root = match root {
                Some(r) => r,
                None => find_root()?,
            };
            if check {
                match edba_statemachines::generate::check(&root).map_err(|e| anyhow::anyhow!("{e}"))? {
                    Ok(()) => {
                        println!("generated files are up to date");
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(drift) => {
                        eprint!("{drift}");
                        Ok(ExitCode::FAILURE)
                    }
                }
            } else {
                let written = edba_statemachines::generate::write(&root).map_err(|e| anyhow::anyhow!("{e}"))?;
                for p in written {
                    println!("{}", p.display());
                }
                Ok(ExitCode::SUCCESS)
            }
        }
        Command::Graph { machine } => {
            let name = match machine {
                MachineName::Ingest => "ingest",
                MachineName::Aggregate => "aggregate",
            };
            let m = edba_statemachines::generate::machines()
                .into_iter()
                .find(|m| m.name == name)
                .context("unknown machine")?;
            print!("{}", edba_asl::graph::mermaid(&m.definition));
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { files, out, json, max_reject_share } => {
            validate_files(&files, out.as_deref(), json, max_reject_share)
        }
    }
}

fn validate_files(files: &[PathBuf], out: Option<&Path>, json: bool, max_reject_share: f64) -> anyhow::Result<ExitCode> {
    use edba_tasks::dataset::{validate_local_file, ConvertOptions};
    if !(0.0..=1.0).contains(&max_reject_share) {
        bail!("--max-reject-share must be between 0 and 1, not {max_reject_share}");
    }
    let opts = ConvertOptions { max_reject_share, ..ConvertOptions::default() };
    let mut all_usable = true;
    let mut documents = Vec::new();
    for (i, path) in files.iter().enumerate() {
        match validate_local_file(path, out, opts.clone()) {
            Ok(v) => {
                all_usable &= v.report.status.is_usable();
                if json {
                    documents.push(serde_json::to_value(&v)?);
                } else {
                    if i > 0 {
                        println!();
                    }
                    print!("{v}");
                }
            }
            Err(e) => {
                all_usable = false;
                if json {
                    documents.push(serde_json::json!({ "path": path.to_string_lossy(), "error": e.to_string() }));
                } else {
                    if i > 0 {
                        println!();
                    }
                    println!("{e}");
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&documents)?);
    }
    Ok(if all_usable { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The nearest directory, from the current one upwards, that holds
/// `statemachines/` and a `Cargo.toml`: the edba checkout.
fn find_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let mut dir: &Path = &cwd;
    loop {
        if dir.join("statemachines").is_dir() && dir.join("Cargo.toml").is_file() {
            return Ok(dir.to_path_buf());
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => bail!(
                "no edba checkout found above {}; run inside the repository or pass --root",
                cwd.display()
            ),
        }
    }
}
