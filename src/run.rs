//! `edba run` and `edba exec`: the pipeline on one machine.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use edba_local::pipeline::{LocalPipeline, PipelineOptions, Progress, RunReport};

use crate::home::StoreArgs;

fn options(store: &StoreArgs, warehouse: Option<String>) -> PipelineOptions {
    let mut options = PipelineOptions::new(&store.home);
    options.state_store_url = store.state_store.clone();
    options.warehouse_url = warehouse;
    options.repo_root = crate::find_root().ok();
    options
}

/// Prints progress to stderr: one line per event, and a live counter while
/// files are ingested when stderr is a terminal.
pub(crate) fn show_progress(event: Progress) {
    let tty = std::io::stderr().is_terminal();
    match event {
        Progress::JobsApplied { source, summary } => eprintln!("jobs: applied {source}: {summary}"),
        Progress::Uploaded { files, unchanged: 0 } => eprintln!("uploaded {files} files to incoming/"),
        Progress::Uploaded { files, unchanged } => {
            eprintln!("uploaded {files} files to incoming/ ({unchanged} unchanged since the last run, not sent again)")
        }
        Progress::FileIngested { done, total, file, outcome } => {
            if tty {
                eprintln!("\r[{done:>3}/{total}] {file}: {outcome}");
            } else {
                eprintln!("[{done:>3}/{total}] {file}: {outcome}");
            }
        }
        Progress::AggregateStarted { trigger } => eprintln!("aggregate: evaluating jobs ({trigger})"),
        Progress::Replaying { parked: 0 } => eprintln!("replay: no event is parked in the dead-letter queue"),
        Progress::Replaying { parked } => eprintln!("replay: ingesting {parked} parked events again"),
        Progress::NotReplayed { message_id, reason } => eprintln!("replay: message {message_id}: {reason}"),
        Progress::AggregateFinished { name, status, detail } => {
            if detail.is_empty() {
                eprintln!("aggregate {name}: {status}");
            } else {
                eprintln!("aggregate {name}: {status}: {detail}");
            }
        }
    }
}

pub async fn run(
    dir: &Path,
    store: &StoreArgs,
    warehouse: Option<String>,
    concurrency: usize,
    time_scale: f64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{} is not a folder; give the folder of files to ingest (for example sampledata/)", dir.display());
    }
    if time_scale.is_nan() || time_scale <= 0.0 {
        bail!("--time-scale must be above 0");
    }
    let mut options = options(store, warehouse);
    options.concurrency = concurrency.max(1);
    options.time_scale = time_scale;
    eprintln!("edba run: home {} (embedded S3, state store, warehouse)", store.home.display());
    let pipeline = LocalPipeline::open(options).await?;
    let report = pipeline.run_dir(dir, &show_progress).await;
    pipeline.close().await;
    print_report(&report?, json)
}

/// Prints a run's report; exit 1 unless it is ok.
fn print_report(report: &RunReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        crate::print_text(report);
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `edba replay`: ingests the home's parked events again; exits 1 unless
/// every one was ingested and every execution succeeded.
pub async fn replay(store: &StoreArgs, warehouse: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    eprintln!("edba replay: home {}", store.home.display());
    let pipeline = LocalPipeline::open(options(store, warehouse)).await?;
    let report = pipeline.replay(&show_progress).await;
    pipeline.close().await;
    print_report(&report?, json)
}

pub async fn exec(definition: &Path, input: &str, history: bool, store: &StoreArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(definition).with_context(|| format!("cannot read {}", definition.display()))?;
    let input_text = match input.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read the input file {path}"))?,
        None => input.to_owned(),
    };
    let input: serde_json::Value = serde_json::from_str(&input_text).context("--input is not JSON")?;
    let pipeline = LocalPipeline::open(options(store, None)).await?;
    let result = pipeline.exec(&text, input).await;
    pipeline.close().await;
    let result = match result {
        Ok(r) => r,
        Err(e) => bail!("{}: {e}", definition.display()),
    };
    if history {
        eprintln!("{}", result.history);
    }
    match &result.output {
        Some(output) if result.status == edba_local::executor::ExecutionStatus::Succeeded => {
            println!("{}", serde_json::to_string_pretty(output)?);
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!(
                "execution {}: {}: {}",
                result.status,
                result.error.as_deref().unwrap_or("(no error)"),
                result.cause.as_deref().unwrap_or("(no cause)")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn rerun(run_id: &str, store: &StoreArgs, warehouse: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    eprintln!("edba rerun: home {}", store.home.display());
    let pipeline = LocalPipeline::open(options(store, warehouse)).await?;
    let result = pipeline.rerun(run_id, &show_progress).await;
    let run = match &result {
        Ok(_) => edba_tasks::record::impacted(pipeline.store(), run_id).await.map_err(crate::home::task_error),
        Err(_) => Err(anyhow::anyhow!("no run")),
    };
    pipeline.close().await;
    let result = result?;
    // A run that failed again is shown like a completed one; anything else
    // (the run cannot be re-run, the evaluation failed) is the error.
    let run_failed = result.error.as_deref() == Some(edba_payloads::ErrorName::RunsFailed.as_str());
    if result.status != edba_local::executor::ExecutionStatus::Succeeded && !run_failed {
        bail!(
            "the rerun's execution {}: {}: {}",
            result.status,
            result.error.as_deref().unwrap_or("(no error)"),
            result.cause.as_deref().unwrap_or("(no cause)")
        );
    }
    let run = run?;
    if json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        crate::print_text(&run);
    }
    Ok(if run.status == edba_tasks::store::JobStatus::Completed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `edba check DIR`: every problem of the project, or a summary of it.
pub async fn check(dir: &Path, json: bool, tables: bool) -> anyhow::Result<ExitCode> {
    if !dir.join(edba_tasks::project::PROJECT_FILE).is_file() {
        bail!(
            "{} has no edba.toml; a project folder holds one (see README.md, \"Bring your own data\")",
            dir.display()
        );
    }
    let checked = edba_local::check::check_project_dir(dir, crate::find_root().ok().as_deref()).await;
    match checked {
        Ok(project) => {
            if tables {
                print!("{}", project.tables.to_json());
            } else if json {
                let outputs: Vec<_> = project
                    .outputs
                    .iter()
                    .map(|(job, table, columns)| serde_json::json!({"job": job, "table": table, "columns": columns}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "ok": true, "problems": [], "outputs": outputs, "tables": project.tables.tables
                    }))?
                );
            } else {
                crate::print_text(&project);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({"ok": false, "problems": failure.0}))?);
            } else {
                eprintln!("{}: {failure}", dir.join(edba_tasks::project::PROJECT_FILE).display());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
