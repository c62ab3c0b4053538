//! `edba`: generate the state machines, draw them, and (as the pipeline grows)
//! run it locally and operate it.

mod deployed;
mod home;
mod init;
mod run;
mod serve;

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
    /// Print a Mermaid flowchart of a machine (Catch edges dashed): a
    /// pipeline machine (`ingest`, `aggregate`) or any ASL JSON file,
    /// JSONPath or JSONata, checked first.
    Graph {
        /// `ingest`, `aggregate`, or the path of an ASL JSON file.
        machine: String,
    },
    /// Check files before sending them: the same conversion the validate
    /// task runs, on local files. Exits 1 when a file is INVALID.
    Validate {
        /// Files to check; the dataset is chosen by the file's path under
        /// --project (by its name for the sample: IL-101.tdf, Item-Master-Data.tdf).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The project folder (with edba.toml) whose datasets the files belong to; default: the sample.
        #[arg(long)]
        project: Option<PathBuf>,
        /// Write validated/<name>.csv and rejected/<name>.rejects.csv under this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// A file whose share of rejected rows is above this is INVALID
        /// (default: the dataset's `max_reject_share`, 0.5 unless declared).
        #[arg(long)]
        max_reject_share: Option<f64>,
    },
    /// Write a small, working project into DIR (new or empty): one dataset,
    /// one warehouse table, one job and sample files that `edba run DIR`
    /// completes.
    Init { dir: PathBuf },
    /// Check a project before anything runs: edba.toml (datasets, file
    /// patterns, tables), its jobs (and DIR/jobs.toml), and every job's SQL
    /// planned against the declared datasets and checked against the tables
    /// it loads. Exits 1 with every problem (file:line) when there is one.
    Check {
        /// The project folder (holding edba.toml).
        dir: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        /// Print only the warehouse tables as planned (the document `edba
        /// project push` deploys as code/edba.tables.json).
        #[arg(long, conflicts_with = "json")]
        tables: bool,
    },
    /// The deployed project.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Run the whole pipeline on one machine over the files of DIR: embedded S3,
    /// SQLite state store and warehouse, the generated state machines on the
    /// local executor. Exits 1 when an execution failed (a waiting job is fine).
    Run {
        /// A folder of files to ingest; DIR/jobs.toml, when present, replaces the sample jobs.
        dir: PathBuf,
        #[command(flatten)]
        store: home::StoreArgs,
        /// The warehouse (`postgres://…` or `sqlite://…`) instead of <home>/warehouse.db.
        #[arg(long, env = "EDBA_WAREHOUSE_URL")]
        warehouse: Option<String>,
        /// Ingest executions run at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Scales Wait and Retry delays (1 = as in AWS).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Print the report as one JSON document (progress still goes to stderr).
        #[arg(long)]
        json: bool,
    },
    /// Serve the deployed system on one machine until SIGINT/SIGTERM: an S3
    /// endpoint any S3 client can use (objects created under incoming/ start
    /// the ingest machine, as S3 events do through EventBridge), the
    /// aggregate machine on a schedule, a web console of the executions (graph
    /// and event history), files, jobs and runs, and the same as a JSON API.
    Serve(serve::ServeArgs),
    /// Run any ASL definition (JSONPath or JSONata, with variables) on the
    /// local executor and print its output JSON.
    /// Lambda resources of the pipeline resolve to edba's tasks.
    Exec {
        /// The ASL JSON file.
        definition: PathBuf,
        /// The execution input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Print the execution history to stderr.
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        store: home::StoreArgs,
    },
    /// Files, jobs and recent runs in the state store.
    Status {
        #[command(flatten)]
        store: home::StoreArgs,
        /// How many recent runs to list.
        #[arg(long, default_value_t = 20)]
        runs: u32,
        #[arg(long)]
        json: bool,
    },
    /// Start an execution of a deployed machine (AWS credentials and region
    /// from the environment).
    Start {
        #[command(subcommand)]
        machine: StartCommand,
        /// The CloudFormation stack edba was deployed as.
        #[arg(long, env = "EDBA_STACK", default_value = "edba", global = true)]
        stack: String,
    },
    /// List recent executions of the deployed aggregate machine.
    Executions {
        #[arg(value_enum, default_value = "aggregate")]
        machine: MachineName,
        #[arg(long, env = "EDBA_STACK", default_value = "edba")]
        stack: String,
        /// Only executions in this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        max: i32,
    },
    /// Job configurations in the state store.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Finish a FAILED run (say its step succeeded but its load failed): run it
    /// again from its recorded manifest — the same input versions, the same
    /// output prefix, merged idempotently — and record the outcome on the same
    /// run. Only a job's latest run can be re-run. Exits 1 unless it completes.
    Rerun {
        /// The run id (`edba status` lists runs; `edba impacted JOB` names the last failed one).
        run_id: String,
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
    /// Ingest again the events the ingest machine parked in the home's
    /// dead-letter queue (validate or track kept failing, say the state store
    /// was down), then evaluate the jobs. A replayed event that fails again
    /// is parked again. Exits 1 unless every parked event was ingested.
    Replay {
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
    /// List the input files of a failed run (by run id, or a job's last failed run).
    Impacted {
        /// A run id, or a job id for its most recent FAILED run.
        run_or_job: String,
        #[command(flatten)]
        store: home::StoreArgs,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Where the local pipeline keeps its state, and how to print what it did.
#[derive(Debug, clap::Args)]
struct PipelineArgs {
    #[command(flatten)]
    store: home::StoreArgs,
    /// The warehouse (`postgres://…` or `sqlite://…`) instead of <home>/warehouse.db.
    #[arg(long, env = "EDBA_WAREHOUSE_URL")]
    warehouse: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum StartCommand {
    /// Evaluate every job now (as the schedule does).
    Aggregate,
    /// Re-run one FAILED run from its recorded manifest (`trigger: rerun`).
    Rerun {
        /// The run id.
        run_id: String,
    },
    /// Ingest again the events parked in the stack's ingest dead-letter
    /// queue (`<stack>-ingest-dlq`), one synchronous ingest execution each.
    Replay {
        /// At most this many messages.
        #[arg(long, default_value_t = 1000)]
        max: usize,
    },
    /// Re-drive one object through validation and tracking.
    Ingest {
        /// s3://bucket/incoming/<file>
        object: String,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Check the project in DIR and upload its edba.toml and job SQL to the
    /// bucket's code/, where the tasks read it: a new dataset or table
    /// needs no redeploy. AWS credentials and region from the environment
    /// (AWS_ENDPOINT_URL, when set, is used path-style).
    Push {
        dir: PathBuf,
        /// The stack's data bucket (the stack output BucketName).
        #[arg(long, env = "EDBA_BUCKET")]
        bucket: String,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Check a jobs file (TOML, see sampledata/jobs.toml) and write it to the
    /// state store, all jobs or none.
    Apply {
        file: PathBuf,
        /// The project (folder with edba.toml) whose datasets and tables the
        /// jobs use, and where their SQL files are; default: the sample.
        #[arg(long)]
        project: Option<PathBuf>,
        #[command(flatten)]
        store: home::StoreArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
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
            if let Some(m) = edba_statemachines::generate::machines().into_iter().find(|m| m.name == machine) {
                print!("{}", edba_asl::graph::mermaid(&m.definition));
                return Ok(ExitCode::SUCCESS);
            }
            let text = std::fs::read_to_string(&machine)
                .with_context(|| format!("\"{machine}\" is neither ingest, aggregate nor a readable ASL file"))?;
            match edba_asl::validate::validate_json(&text) {
                Ok(definition) => {
                    print!("{}", edba_asl::graph::mermaid(&definition));
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    eprintln!("{machine} is not valid ASL:");
                    for e in errors {
                        eprintln!("  - {e}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Validate { files, project, out, json, max_reject_share } => {
            validate_files(&files, project.as_deref(), out.as_deref(), json, max_reject_share)
        }
        Command::Init { dir } => init::init(&dir).map(|()| ExitCode::SUCCESS),
        Command::Check { dir, json, tables } => home::runtime()?.block_on(run::check(&dir, json, tables)),
        Command::Project { command: ProjectCommand::Push { dir, bucket } } => {
            home::runtime()?.block_on(deployed::push_project(&dir, &bucket))
        }
        Command::Start { machine, stack } => home::runtime()?.block_on(async {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let sfn = aws_sdk_sfn::Client::new(&config);
            if let StartCommand::Replay { max } = machine {
                let sqs = aws_sdk_sqs::Client::new(&config);
                let done = deployed::replay(&sqs, &sfn, &stack, max).await?;
                for r in &done {
                    println!("{r}");
                }
                let kept = done.iter().filter(|r| !r.deleted).count();
                eprintln!("replayed {} parked events; {kept} kept in the queue", done.len());
                return Ok(if kept == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
            }
            let arn = match machine {
                StartCommand::Replay { .. } => unreachable!("handled above"),
                StartCommand::Aggregate => deployed::start_aggregate(&sfn, &stack, None).await?,
                StartCommand::Rerun { run_id } => deployed::start_aggregate(&sfn, &stack, Some(&run_id)).await?,
                StartCommand::Ingest { object } => {
                    let s3 = aws_sdk_s3::Client::new(&config);
                    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
                    let event = deployed::object_event(&s3, &object, &region).await?;
                    deployed::start_ingest(&sfn, &stack, event).await?
                }
            };
            println!("{arn}");
            Ok(ExitCode::SUCCESS)
        }),
        Command::Executions { machine, stack, status, max } => home::runtime()?.block_on(async {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let sfn = aws_sdk_sfn::Client::new(&config);
            let name = match machine {
                MachineName::Ingest => "ingest",
                MachineName::Aggregate => "aggregate",
            };
            for line in deployed::list_executions(&sfn, &stack, name, status.as_deref(), max).await? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Jobs { command: JobsCommand::Apply { file, project, store, json } } => {
            home::runtime()?.block_on(async {
                let report = jobs_apply(&file, project.as_deref(), &store).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print_text(&report);
                }
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Run { dir, store, warehouse, concurrency, time_scale, json } => {
            home::runtime()?.block_on(run::run(&dir, &store, warehouse, concurrency, time_scale, json))
        }
        Command::Serve(args) => home::runtime()?.block_on(serve::serve(args)),
        Command::Replay { pipeline: PipelineArgs { store, warehouse, json } } => {
            home::runtime()?.block_on(run::replay(&store, warehouse, json))
        }
        Command::Rerun { run_id, pipeline: PipelineArgs { store, warehouse, json } } => {
            home::runtime()?.block_on(run::rerun(&run_id, &store, warehouse, json))
        }
        Command::Exec { definition, input, history, store } => {
            home::runtime()?.block_on(run::exec(&definition, &input, history, &store))
        }
        Command::Status { store, runs, json } => home::runtime()?.block_on(async {
            let store = store.open().await?;
            let status = store.status(runs).await.map_err(home::task_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_text(&status);
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Impacted { run_or_job, store, json } => home::runtime()?.block_on(async {
            let store = store.open().await?;
            let files = edba_tasks::record::impacted(&store, &run_or_job).await.map_err(home::task_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&files)?);
            } else {
                print_text(&files);
            }
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// Prints a report, ending with exactly one newline.
pub(crate) fn print_text(report: &dyn std::fmt::Display) {
    let text = report.to_string();
    println!("{}", text.trim_end_matches('\n'));
}

/// Parses and checks a jobs file (SQL files are looked up relative to the
/// checkout when there is one), then applies it.
async fn jobs_apply(
    file: &Path,
    project_dir: Option<&Path>,
    store: &home::StoreArgs,
) -> anyhow::Result<edba_tasks::jobs::ApplyReport> {
    use edba_tasks::jobs::{parse_jobs_file, ApplyFileError, CheckedJobs};
    let said = |e: ApplyFileError| match e {
        ApplyFileError::Read(e) => anyhow::Error::new(e).context(format!("cannot read {}", file.display())),
        ApplyFileError::Parse(e) => anyhow::anyhow!("{}: {e}", file.display()),
        e @ ApplyFileError::Invalid(_) => anyhow::anyhow!("{} is {e}", file.display()),
        ApplyFileError::Store(e) => home::task_error(e),
    };
    let root = find_root().ok();
    let jobs = match project_dir {
        None => CheckedJobs::read(file, root.as_deref()).map_err(said)?,
        Some(dir) => {
            let project = read_project(dir)?;
            let text = std::fs::read_to_string(file).map_err(|e| said(ApplyFileError::Read(e)))?;
            let parsed = parse_jobs_file(&text).map_err(|e| said(ApplyFileError::Parse(e)))?;
            let dirs: Vec<&Path> = std::iter::once(dir).chain(root.as_deref()).collect();
            CheckedJobs::in_project(parsed, project, &dirs).map_err(said)?
        }
    };
    let store = store.open().await?;
    jobs.apply(&store).await.map_err(said)
}

fn validate_files(
    files: &[PathBuf],
    project_dir: Option<&Path>,
    out: Option<&Path>,
    json: bool,
    max_reject_share: Option<f64>,
) -> anyhow::Result<ExitCode> {
    use edba_tasks::dataset::{validate_project_file, ConvertOptions};
    use edba_tasks::project::Project;
    if let Some(share) = max_reject_share {
        if !(0.0..=1.0).contains(&share) {
            bail!("--max-reject-share must be between 0 and 1, not {share}");
        }
    }
    let opts = ConvertOptions { max_reject_share, ..ConvertOptions::default() };
    let project = match project_dir {
        Some(dir) => read_project(dir)?,
        None => Project::sample(),
    };
    let mut all_usable = true;
    let mut documents = Vec::new();
    for (i, path) in files.iter().enumerate() {
        match validate_project_file(&project, project_dir, path, out, opts) {
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

/// The project of `dir` (its `edba.toml`), parsed and checked.
fn read_project(dir: &Path) -> anyhow::Result<std::sync::Arc<edba_tasks::project::Project>> {
    let path = dir.join(edba_tasks::project::PROJECT_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let project = edba_tasks::project::Project::parse(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid:\n{e}", path.display()))?;
    Ok(std::sync::Arc::new(project))
}

/// The nearest directory, from the current one upwards, that holds
/// `statemachines/` and a `Cargo.toml`: the edba checkout.
pub(crate) fn find_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let mut dir: &Path = &cwd;
    loop {
        if dir.join("statemachines").is_dir() && dir.join("Cargo.toml").is_file() {
            return Ok(dir.to_path_buf());
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => bail!("no edba checkout found above {}; run inside the repository or pass --root", cwd.display()),
        }
    }
}
