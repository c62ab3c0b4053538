//! The whole pipeline on one machine: `edba run DIR`.
//!
//! The *committed* ASL JSON of both machines runs on the local executor. Each
//! Lambda resource is bound to the same library function the Lambda binary
//! calls; `addStep.sync` is bound to the local step runner; the evaluate task's
//! EMR and Step Functions calls go through the real SDK clients, answered in
//! process ([`crate::aws_apis`]); S3 is the embedded server. Nothing here is
//! linked by a Lambda binary.
//!
//! This module opens the pipeline (home, embedded S3, stores, machines);
//! `bind` binds every resource, `run` runs a folder through it
//! ([`LocalPipeline::run_dir`]) or replays parked events
//! ([`LocalPipeline::replay`]), and `report` says what happened.

mod bind;
mod project;
mod report;
mod run;
mod serve;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::operation::put_object::PutObjectOutput;
use edba_payloads::{object_created_event, EvaluateOutput, IngestInput};
use edba_tasks::jobs::{ApplyFileError, ApplyReport, CheckedJobs};
use edba_tasks::load::LocalWarehouse;
use edba_tasks::store::StateStore;
use edba_tasks::TaskError;
use serde_json::Value;

use crate::aws_apis::{ExecutionRecord, LocalAwsApis};
use crate::deadletter::DeadLetterQueue;
use crate::executions::ExecutionLog;
use crate::executor::{ExecutionResult, Executor, ExecutorConfig, ExecutorError};
use crate::s3server::{EmbeddedS3, S3ServerOptions};

pub use report::{first_rejects, warehouse_rows, ExecutionSummary, FileReport, FiredRun, RunReport, TableRows};
pub use serve::{Chaos, ProjectWatch, ServeEvent, ServeOptions, ServeSummary, INCOMING_PREFIX};

/// The bucket of the local pipeline.
pub const LOCAL_BUCKET: &str = "edba-local";

/// The committed machines, exactly as Step Functions runs them.
pub const INGEST_ASL: &str = include_str!("../../../statemachines/ingest.asl.json");
pub const AGGREGATE_ASL: &str = include_str!("../../../statemachines/aggregate.asl.json");
/// The sample jobs, used when a run's folder has no `jobs.toml`.
pub const SAMPLE_JOBS: &str = include_str!("../../../sampledata/jobs.toml");

/// Code the EMR step reads from the bucket (`code/…`), as deployment uploads it.
const CODE: [(&str, &str); 2] = [
    ("sql/jobs/sales_summary.sql", include_str!("../../../sql/jobs/sales_summary.sql")),
    ("scripts/emr/run_sql_job.py", include_str!("../../../scripts/emr/run_sql_job.py")),
];

/// The aggregate machine, as ingest's `states:startExecution` names it.
const AGGREGATE_ALIAS: &str = "${AggregateStateMachineArn}";

/// Where the local pipeline keeps its state, and how it runs.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Embedded S3 data (`s3/`), and unless overridden the SQLite state store
    /// (`state.db`) and warehouse (`warehouse.db`).
    pub home: PathBuf,
    /// `mysql://…` or `sqlite://…` instead of `<home>/state.db`.
    pub state_store_url: Option<String>,
    /// `postgres://…` or `sqlite://…` instead of `<home>/warehouse.db`.
    pub warehouse_url: Option<String>,
    /// A checkout whose `sql/jobs/*.sql` are deployed to `code/` as well
    /// (the built-in sales summary is always there).
    pub repo_root: Option<PathBuf>,
    /// How many ingest executions run at once.
    pub concurrency: usize,
    /// Scales Wait and Retry delays (1.0 = as in AWS).
    pub time_scale: f64,
    /// The embedded S3 server's port, credentials and object-created events.
    pub s3: S3ServerOptions,
    /// Keep every execution and its history in `<home>/executions.db`
    /// (`edba serve`); executions a killed serve left RUNNING become ABORTED.
    pub keep_executions: bool,
    /// Each EMR step takes at least this long (a cluster's steps take
    /// minutes): to watch a running step, or to try stopping serve mid-run.
    pub step_time: std::time::Duration,
}

impl PipelineOptions {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        PipelineOptions {
            home: home.into(),
            state_store_url: None,
            warehouse_url: None,
            repo_root: None,
            concurrency: 4,
            time_scale: 1.0,
            s3: S3ServerOptions::default(),
            keep_executions: false,
            step_time: std::time::Duration::ZERO,
        }
    }
}

/// Why the local pipeline could not run (bad input or a broken home), as
/// opposed to an execution that failed, which is part of the report.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Setup(String),
    #[error("{0}")]
    Task(#[from] TaskError),
    #[error("{0}")]
    Executor(#[from] ExecutorError),
    #[error("jobs file {path}: {message}")]
    Jobs { path: String, message: String },
    #[error("project {path}: {message}")]
    Project { path: String, message: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

fn setup(context: &str, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Setup(format!("{context}: {e}"))
}

/// An I/O error about `path`.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io { path: path.display().to_string(), source }
}

/// `url`, or a SQLite file of the home created when missing.
fn database_url(url: Option<&str>, home: &Path, file: &str) -> String {
    url.map_or_else(|| format!("sqlite://{}?mode=rwc", home.join(file).display()), str::to_owned)
}

/// Something the pipeline did, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    JobsApplied {
        source: String,
        summary: String,
    },
    /// `files` were sent to `incoming/`; `unchanged` already were there as they are.
    Uploaded {
        files: usize,
        unchanged: usize,
    },
    FileIngested {
        done: usize,
        total: usize,
        file: String,
        outcome: String,
    },
    AggregateStarted {
        trigger: String,
    },
    /// `edba replay` found `parked` events in the dead-letter queue.
    Replaying {
        parked: usize,
    },
    /// A parked message `edba replay` cannot ingest, and why.
    NotReplayed {
        message_id: String,
        reason: String,
    },
    AggregateFinished {
        name: String,
        status: String,
        detail: String,
    },
}

/// The local pipeline: the embedded S3 server, the state store, the
/// warehouse and the executor with every resource bound.
#[derive(Debug)]
pub struct LocalPipeline {
    options: PipelineOptions,
    s3: EmbeddedS3,
    s3_client: aws_sdk_s3::Client,
    store: StateStore,
    warehouse: LocalWarehouse,
    executor: Executor,
    apis: LocalAwsApis,
    dead_letter: DeadLetterQueue,
    evaluations: Arc<Mutex<Vec<EvaluateOutput>>>,
    executions: Option<ExecutionLog>,
}

impl LocalPipeline {
    /// Opens (or creates) the home, starts the embedded S3 server and binds
    /// every resource of both machines.
    pub async fn open(options: PipelineOptions) -> Result<LocalPipeline, PipelineError> {
        let s3_root = options.home.join("s3");
        for dir in [&options.home, &s3_root] {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let s3 = EmbeddedS3::start_with(&s3_root, options.s3.clone())
            .map_err(|e| setup("cannot start the embedded S3 server", e))?;
        s3.create_bucket(LOCAL_BUCKET).await.map_err(|e| setup("cannot create the local bucket", e))?;
        let s3_client = s3.client().await;

        let store =
            StateStore::connect(&database_url(options.state_store_url.as_deref(), &options.home, "state.db")).await?;
        store.migrate().await?;
        // The tables the bucket's project plans (the sample's in a new home);
        // a load creates those of a project pushed later.
        let warehouse =
            LocalWarehouse::connect(&database_url(options.warehouse_url.as_deref(), &options.home, "warehouse.db"))
                .await?;
        warehouse.ensure_tables(&edba_tasks::load::load_tables(&s3_client, LOCAL_BUCKET).await?.tables).await?;

        // A serve keeps its executions in the log, not in memory.
        let executor = Executor::new(ExecutorConfig {
            time_scale: options.time_scale,
            keep_finished: !options.keep_executions,
            ..ExecutorConfig::default()
        });
        let apis = LocalAwsApis::default();
        executor.observe(apis.observer());
        let executions = if options.keep_executions {
            let path = options.home.join("executions.db");
            let log = ExecutionLog::open(&path)
                .await
                .map_err(|e| setup(&format!("cannot open the execution log {}", path.display()), e))?;
            executor.observe(log.observer());
            // As Step Functions would answer about them: evaluate reconciles
            // their runs.
            for aborted in log.aborted() {
                apis.set_execution(
                    &aborted.execution_arn,
                    ExecutionRecord {
                        state_machine_arn: crate::executor::state_machine_arn(&aborted.state_machine),
                        status: aborted.status.clone(),
                        start_date_epoch: 0.0,
                        error: aborted.error.clone(),
                        cause: aborted.cause.clone(),
                    },
                );
            }
            Some(log)
        } else {
            None
        };
        let pipeline = LocalPipeline {
            dead_letter: DeadLetterQueue::new(&options.home),
            options,
            s3,
            s3_client,
            store,
            warehouse,
            executor,
            apis,
            evaluations: Arc::default(),
            executions,
        };
        pipeline.deploy_code().await?;
        pipeline.executor.register_definition("ingest", INGEST_ASL)?;
        pipeline.executor.register_definition("aggregate", AGGREGATE_ASL)?;
        pipeline.executor.alias(AGGREGATE_ALIAS, "aggregate");
        pipeline.bind_resources();
        Ok(pipeline)
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// The home's execution log, when [`PipelineOptions::keep_executions`].
    pub fn execution_log(&self) -> Option<&ExecutionLog> {
        self.executions.as_ref()
    }

    /// The home's ingest dead-letter queue.
    pub fn dead_letter(&self) -> &DeadLetterQueue {
        &self.dead_letter
    }

    pub fn warehouse(&self) -> &LocalWarehouse {
        &self.warehouse
    }

    pub fn s3_client(&self) -> &aws_sdk_s3::Client {
        &self.s3_client
    }

    /// The embedded S3 server (to inject faults into, say).
    pub fn s3_server(&self) -> &EmbeddedS3 {
        &self.s3
    }

    pub fn s3_endpoint(&self) -> String {
        self.s3.endpoint_url()
    }

    /// Uploads the job code as deployment does: `code/sql/jobs/*.sql` and the
    /// PySpark runner.
    async fn deploy_code(&self) -> Result<(), PipelineError> {
        let mut files: Vec<(String, Vec<u8>)> =
            CODE.iter().map(|(k, text)| (format!("code/{k}"), text.as_bytes().to_vec())).collect();
        if let Some(root) = &self.options.repo_root {
            if let Ok(entries) = std::fs::read_dir(root.join("sql/jobs")) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "sql") {
                        let key = format!("code/sql/jobs/{}", entry.file_name().to_string_lossy());
                        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
                        files.retain(|(k, _)| k != &key);
                        files.push((key, bytes));
                    }
                }
            }
        }
        for (key, bytes) in files {
            self.put(&key, bytes, &format!("s3://{LOCAL_BUCKET}/{key}")).await?;
        }
        Ok(())
    }

    /// Puts `bytes` at `key` of the local bucket; `what` names them in an error.
    async fn put(&self, key: &str, bytes: Vec<u8>, what: &str) -> Result<PutObjectOutput, PipelineError> {
        self.s3_client
            .put_object()
            .bucket(LOCAL_BUCKET)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| setup(&format!("cannot upload {what}"), aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    /// Applies `path` (or the sample jobs) to the state store, all or nothing.
    pub async fn apply_jobs(&self, path: Option<&Path>) -> Result<ApplyReport, PipelineError> {
        let sql_root = self.options.repo_root.as_deref();
        let (source, checked) = match path {
            Some(p) => (p.display().to_string(), CheckedJobs::read(p, sql_root)),
            None => {
                ("the sample jobs (sampledata/jobs.toml)".to_owned(), CheckedJobs::from_text(SAMPLE_JOBS, sql_root))
            }
        };
        let applied = match checked {
            Ok(jobs) => jobs.apply(&self.store).await,
            Err(e) => Err(e),
        };
        applied.map_err(|e| match e {
            ApplyFileError::Read(e) => PipelineError::Io { path: source, source: e },
            ApplyFileError::Store(e) => PipelineError::Task(e),
            e @ (ApplyFileError::Parse(_) | ApplyFileError::Invalid(_)) => {
                PipelineError::Jobs { path: source, message: e.to_string() }
            }
        })
    }

    /// Uploads a local file to `incoming/<name>` and returns the EventBridge
    /// "Object Created" event S3 would send for it.
    pub async fn upload(&self, path: &Path) -> Result<IngestInput, PipelineError> {
        let (key, bytes) = read_incoming(path, None)?;
        self.upload_bytes(path, key, bytes).await
    }

    /// Like [`LocalPipeline::upload`], unless `incoming/<name>` already holds
    /// the same bytes (as `aws s3 sync` decides): the bucket is versioned,
    /// so an identical upload would be a new version of unchanged data, and
    /// running a folder again would feed it through the pipeline again.
    pub async fn upload_if_changed(&self, path: &Path) -> Result<Upload, PipelineError> {
        self.upload_if_changed_as(path, None).await
    }

    /// [`LocalPipeline::upload_if_changed`] to `incoming/<relative>` (a path
    /// with `/` separators) instead of `incoming/<name>`.
    pub async fn upload_if_changed_as(&self, path: &Path, relative: Option<&str>) -> Result<Upload, PipelineError> {
        let (key, bytes) = read_incoming(path, relative)?;
        let current = self.s3_client.head_object().bucket(LOCAL_BUCKET).key(&key).send().await;
        let local_etag = md5_hex(&bytes);
        // A multipart ETag (`<md5>-<parts>`) never equals a plain MD5: such a
        // file is sent again, which is always safe.
        if current.ok().and_then(|head| head.e_tag().map(|t| t.trim_matches('"') == local_etag)) == Some(true) {
            return Ok(Upload::Unchanged { key });
        }
        Ok(Upload::Sent(Box::new(self.upload_bytes(path, key, bytes).await?)))
    }

    async fn upload_bytes(&self, path: &Path, key: String, bytes: Vec<u8>) -> Result<IngestInput, PipelineError> {
        let size = bytes.len() as u64;
        let put = self.put(&key, bytes, &path.display().to_string()).await?;
        let etag = put.e_tag().map(|t| t.trim_matches('"').to_owned());
        Ok(object_created_event(LOCAL_BUCKET, &key, size, etag, put.version_id().map(str::to_owned)))
    }

    /// Runs any ASL document on this pipeline's executor (every edba resource
    /// bound), for `edba exec`.
    pub async fn exec(&self, definition: &str, input: Value) -> Result<ExecutionResult, PipelineError> {
        let handle = self.executor.start(definition, input, None)?;
        let result = handle.wait().await;
        self.executor.wait_all().await;
        Ok(result)
    }

    /// Stops the embedded S3 server and releases the executor.
    pub async fn close(self) {
        if let Some(log) = &self.executions {
            log.flush().await;
        }
        self.s3.shutdown().await;
    }
}

/// What [`LocalPipeline::upload_if_changed`] did with a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    /// Sent as a new version; the event S3 would send for it.
    Sent(Box<IngestInput>),
    /// `key` already holds the file's bytes: nothing was sent.
    Unchanged { key: String },
}

/// The `incoming/` key of a local file (`incoming/<relative>`, else
/// `incoming/<name>`) and its bytes.
fn read_incoming(path: &Path, relative: Option<&str>) -> Result<(String, Vec<u8>), PipelineError> {
    let name = match relative {
        Some(relative) => relative.to_owned(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| setup("not a file", path.display()))?,
    };
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    Ok((format!("incoming/{name}"), bytes))
}

/// The ETag S3 gives a single-part upload of `bytes`.
fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    crate::hex(&md5::Md5::digest(bytes))
}
