//! The whole pipeline on one machine: `edba run DIR`.
//!
//! The *committed* ASL JSON of both machines runs on the local executor. Each
//! Lambda resource is bound to the same library function the Lambda binary
//! calls; `addStep.sync` is bound to the local step runner; the evaluate task's
//! EMR and Step Functions calls go through the real SDK clients, answered in
//! process ([`crate::aws_apis`]); S3 is the embedded server. Nothing here is
//! linked by a Lambda binary.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use edba_payloads::{
    EvaluateInput, EvaluateOutput, IngestInput, LoadInput, RecordInput, TrackInput, ValidateInput, WaitingJob,
};
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, SystemClock};
use edba_tasks::jobs::{apply_jobs, check_jobs, parse_jobs_file, ApplyError, ApplyReport};
use edba_tasks::load::{load, LocalWarehouse, SummaryTable, Warehouse};
use edba_tasks::store::status::{FileSummary, RunSummary};
use edba_tasks::store::StateStore;
use edba_tasks::validate::{validate_object, ValidateOptions};
use edba_tasks::TaskError;
use serde::Serialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use crate::aws_apis::{ExecutionRecord, LocalAwsApis};
use crate::executor::{
    handler_fn, ExecutionResult, ExecutionStatus, Executor, ExecutorConfig, ExecutorError, TaskFailure, TaskHandler,
};
use crate::s3server::EmbeddedS3;
use crate::steprunner::{S3RunOutput, StepRunner};

/// The bucket of the local pipeline.
pub const LOCAL_BUCKET: &str = "edba-local";

/// The committed machines, exactly as Step Functions runs them.
pub const INGEST_ASL: &str = include_str!("../../statemachines/ingest.asl.json");
pub const AGGREGATE_ASL: &str = include_str!("../../statemachines/aggregate.asl.json");
/// The sample jobs, used when a run's folder has no `jobs.toml`.
pub const SAMPLE_JOBS: &str = include_str!("../../sampledata/jobs.toml");

/// Code the EMR step reads from the bucket (`code/…`), as deployment uploads it.
const CODE: [(&str, &str); 2] = [
    ("sql/jobs/sales_summary.sql", include_str!("../../sql/jobs/sales_summary.sql")),
    ("scripts/emr/run_sql_job.py", include_str!("../../scripts/emr/run_sql_job.py")),
];

/// The resources of the generated machines and what they stand for locally.
const VALIDATE: &str = "${ValidateFunctionArn}";
const TRACK: &str = "${TrackFunctionArn}";
const EVALUATE: &str = "${EvaluateFunctionArn}";
const LOAD: &str = "${LoadFunctionArn}";
const RECORD: &str = "${RecordFunctionArn}";
const AGGREGATE_ALIAS: &str = "${AggregateStateMachineArn}";
const ADD_STEP_SYNC: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";

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
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

fn setup(context: &str, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Setup(format!("{context}: {e}"))
}

/// Something the pipeline did, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    JobsApplied { source: String, summary: String },
    Uploaded { files: usize },
    FileIngested { done: usize, total: usize, file: String, outcome: String },
    AggregateStarted { trigger: String },
    AggregateFinished { name: String, status: String, detail: String },
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
    evaluations: Arc<Mutex<Vec<EvaluateOutput>>>,
    executor_slot: Arc<Mutex<Option<Executor>>>,
}

fn failure(e: TaskError) -> TaskFailure {
    TaskFailure::new(e.name().as_str(), e.to_string())
}

/// A task handler as the Lambda runtime wraps a task: the JSON input is
/// deserialized into the task's input type (a mismatch is
/// `Edba.InvalidInput`), and a `TaskError` becomes its stable error name.
fn task<I, O, F, Fut>(name: &'static str, run: F) -> Arc<dyn TaskHandler>
where
    I: serde::de::DeserializeOwned,
    O: Serialize,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
{
    handler_fn(move |input| {
        let call = serde_json::from_value(input).map(&run).map_err(|e| {
            TaskFailure::new("Edba.InvalidInput", format!("{name}: the input does not fit its type: {e}"))
        });
        async move {
            let output = call?.await.map_err(failure)?;
            serde_json::to_value(&output).map_err(|e| TaskFailure::new("Edba.InvalidInput", e.to_string()))
        }
    })
}

impl LocalPipeline {
    /// Opens (or creates) the home, starts the embedded S3 server and binds
    /// every resource of both machines.
    pub async fn open(options: PipelineOptions) -> Result<LocalPipeline, PipelineError> {
        std::fs::create_dir_all(&options.home)
            .map_err(|e| PipelineError::Io { path: options.home.display().to_string(), source: e })?;
        let s3_root = options.home.join("s3");
        std::fs::create_dir_all(&s3_root)
            .map_err(|e| PipelineError::Io { path: s3_root.display().to_string(), source: e })?;
        let s3 = EmbeddedS3::start(&s3_root).map_err(|e| setup("cannot start the embedded S3 server", e))?;
        s3.create_bucket(LOCAL_BUCKET).await.map_err(|e| setup("cannot create the local bucket", e))?;
        let s3_client = s3.client().await;

        let store_url = options
            .state_store_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", options.home.join("state.db").display()));
        let store = StateStore::connect(&store_url).await?;
        store.migrate().await?;
        let warehouse_url = options
            .warehouse_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", options.home.join("warehouse.db").display()));
        let warehouse = LocalWarehouse::connect(&warehouse_url).await?;
        warehouse.ensure_schema().await?;

        let executor = Executor::new(ExecutorConfig { time_scale: options.time_scale, ..ExecutorConfig::default() });
        let pipeline = LocalPipeline {
            options,
            s3,
            s3_client,
            store,
            warehouse,
            executor,
            apis: LocalAwsApis::default(),
            evaluations: Arc::default(),
            executor_slot: Arc::default(),
        };
        *pipeline.executor_slot.lock().expect("not poisoned") = Some(pipeline.executor.clone());
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

    pub fn warehouse(&self) -> &LocalWarehouse {
        &self.warehouse
    }

    pub fn s3_client(&self) -> &aws_sdk_s3::Client {
        &self.s3_client
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
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let bytes = std::fs::read(&path)
                            .map_err(|e| PipelineError::Io { path: path.display().to_string(), source: e })?;
                        files.retain(|(k, _)| k != &format!("code/sql/jobs/{name}"));
                        files.push((format!("code/sql/jobs/{name}"), bytes));
                    }
                }
            }
        }
        for (key, bytes) in files {
            self.s3_client.put_object().bucket(LOCAL_BUCKET).key(&key).body(bytes.into()).send().await.map_err(
                |e| {
                    setup(
                        &format!("cannot upload s3://{LOCAL_BUCKET}/{key}"),
                        aws_sdk_s3::error::DisplayErrorContext(e),
                    )
                },
            )?;
        }
        Ok(())
    }

    fn bind_resources(&self) {
        let s3 = self.s3_client.clone();
        self.executor.bind(
            VALIDATE,
            task("validate", move |input: ValidateInput| {
                let s3 = s3.clone();
                async move { validate_object(&s3, &input, &ValidateOptions::default()).await }
            }),
        );

        let store = self.store.clone();
        self.executor.bind(
            TRACK,
            task("track", move |input: TrackInput| {
                let store = store.clone();
                async move { store.track(&input).await }
            }),
        );

        let deps = Arc::new(EvaluateDeps {
            store: self.store.clone(),
            sfn: self.apis.sfn_client(),
            emr: self.apis.emr_client(),
            s3: self.s3_client.clone(),
            bucket: LOCAL_BUCKET.into(),
            clock: Arc::new(SystemClock),
            settings: EvaluateSettings::default(),
        });
        // The executor owns this handler; holding it through a slot that
        // `close` empties avoids a reference cycle.
        let executor_slot = self.executor_slot.clone();
        let apis = self.apis.clone();
        let evaluations = self.evaluations.clone();
        self.executor.bind(
            EVALUATE,
            task("evaluate", move |input: EvaluateInput| {
                let deps = deps.clone();
                let apis = apis.clone();
                let executor = executor_slot.lock().expect("not poisoned").clone();
                let evaluations = evaluations.clone();
                async move {
                    if let Some(executor) = executor {
                        publish_executions(&executor, &apis).await;
                    }
                    let out = evaluate(&deps, &input).await?;
                    evaluations.lock().expect("not poisoned").push(out.clone());
                    Ok(out)
                }
            }),
        );

        let warehouse = self.warehouse.clone();
        let reader = Arc::new(S3RunOutput { s3: self.s3_client.clone(), bucket: LOCAL_BUCKET.into() });
        self.executor.bind(
            LOAD,
            task("load", move |input: LoadInput| {
                let warehouse = warehouse.clone();
                let reader = reader.clone();
                async move { load(Warehouse::Local { warehouse: &warehouse, output: reader.as_ref() }, &input).await }
            }),
        );

        let store = self.store.clone();
        self.executor.bind(
            RECORD,
            task("record", move |input: RecordInput| {
                let store = store.clone();
                async move { edba_tasks::record::record(&store, &input).await }
            }),
        );

        let runner = StepRunner::new(
            self.s3_client.clone(),
            LOCAL_BUCKET,
            self.options.repo_root.clone().unwrap_or_else(|| PathBuf::from(".")),
        )
        .with_s3_endpoint(self.s3.endpoint_url());
        self.executor.bind(
            ADD_STEP_SYNC,
            handler_fn(move |input| {
                let runner = runner.clone();
                async move { runner.run_step(&input).await.map_err(TaskFailure::from) }
            }),
        );
    }

    /// Applies `path` (or the sample jobs) to the state store, all or nothing.
    pub async fn apply_jobs(&self, path: Option<&Path>) -> Result<ApplyReport, PipelineError> {
        let (source, text) = match path {
            Some(p) => (
                p.display().to_string(),
                std::fs::read_to_string(p)
                    .map_err(|e| PipelineError::Io { path: p.display().to_string(), source: e })?,
            ),
            None => ("the sample jobs (sampledata/jobs.toml)".to_owned(), SAMPLE_JOBS.to_owned()),
        };
        let jobs_error = |message: String| PipelineError::Jobs { path: source.clone(), message };
        let jobs = parse_jobs_file(&text).map_err(|e| jobs_error(e.to_string()))?;
        if let Err(errors) = check_jobs(&jobs, self.options.repo_root.as_deref()) {
            let list: Vec<String> = errors.iter().map(|e| format!("\n  - {e}")).collect();
            return Err(jobs_error(format!("not valid; nothing was applied:{}", list.concat())));
        }
        apply_jobs(&self.store, &jobs).await.map_err(|e| match e {
            ApplyError::Invalid(errors) => {
                let list: Vec<String> = errors.iter().map(|e| format!("\n  - {e}")).collect();
                jobs_error(format!("not valid; nothing was applied:{}", list.concat()))
            }
            ApplyError::Store(e) => PipelineError::Task(e),
        })
    }

    /// Uploads a local file to `incoming/<name>` and returns the EventBridge
    /// "Object Created" event S3 would send for it.
    pub async fn upload(&self, path: &Path) -> Result<IngestInput, PipelineError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| setup("not a file", path.display()))?;
        let bytes =
            std::fs::read(path).map_err(|e| PipelineError::Io { path: path.display().to_string(), source: e })?;
        let size = bytes.len() as u64;
        let key = format!("incoming/{name}");
        let put = self.s3_client.put_object().bucket(LOCAL_BUCKET).key(&key).body(bytes.into()).send().await.map_err(
            |e| setup(&format!("cannot upload {}", path.display()), aws_sdk_s3::error::DisplayErrorContext(e)),
        )?;
        let etag = put.e_tag().map(|t| t.trim_matches('"').to_owned());
        Ok(object_created_event(LOCAL_BUCKET, &key, size, etag, put.version_id().map(str::to_owned)))
    }

    /// Runs the pipeline over every file of `dir`: applies `dir/jobs.toml`
    /// (or the sample jobs), uploads each other file to `incoming/`, runs the
    /// ingest machine once per file (several at a time; ingest starts the
    /// aggregate machine when a job may be ready, as in AWS), then runs the
    /// aggregate machine once more as the schedule would.
    pub async fn run_dir(&self, dir: &Path, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunReport, PipelineError> {
        let mut files = Vec::new();
        let entries =
            std::fs::read_dir(dir).map_err(|e| PipelineError::Io { path: dir.display().to_string(), source: e })?;
        for entry in entries {
            let entry = entry.map_err(|e| PipelineError::Io { path: dir.display().to_string(), source: e })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_file() && !name.starts_with('.') && name != "jobs.toml" {
                files.push(path);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(setup("nothing to run", format!("{} has no files", dir.display())));
        }

        let jobs_file = dir.join("jobs.toml");
        let jobs_path = jobs_file.is_file().then_some(jobs_file.as_path());
        let applied = self.apply_jobs(jobs_path).await?;
        progress(Progress::JobsApplied {
            source: jobs_path.map_or_else(|| "sample jobs".to_owned(), |p| p.display().to_string()),
            summary: applied.to_string().lines().last().unwrap_or_default().to_owned(),
        });

        let mut events = Vec::with_capacity(files.len());
        for path in &files {
            events.push(self.upload(path).await?);
        }
        progress(Progress::Uploaded { files: events.len() });

        let total = events.len();
        let mut results: Vec<ExecutionResult> = Vec::new();
        let mut done = 0;
        for chunk in events.chunks(self.options.concurrency.max(1)) {
            let mut handles = Vec::new();
            for event in chunk {
                let input = serde_json::to_value(event).map_err(|e| setup("event", e))?;
                handles.push((event.detail.object.key.clone(), self.executor.start("ingest", input, None)?));
            }
            for (key, handle) in handles {
                let result = handle.wait().await;
                done += 1;
                progress(Progress::FileIngested {
                    done,
                    total,
                    file: key.trim_start_matches("incoming/").to_owned(),
                    outcome: ingest_outcome(&result),
                });
                results.push(result);
            }
        }
        // Aggregate executions ingest started, fire and forget.
        for r in self.executor.wait_all().await {
            if !results.iter().any(|x| x.execution_arn == r.execution_arn) {
                progress(aggregate_finished(&r));
                results.push(r);
            }
        }

        progress(Progress::AggregateStarted { trigger: "schedule".into() });
        let scheduled = self.executor.start("aggregate", json!({"trigger": "schedule"}), None)?.wait().await;
        progress(aggregate_finished(&scheduled));
        results.push(scheduled);
        for r in self.executor.wait_all().await {
            if !results.iter().any(|x| x.execution_arn == r.execution_arn) {
                results.push(r);
            }
        }
        publish_executions(&self.executor, &self.apis).await;

        let urls: Vec<String> = events.iter().map(|e| format!("s3://{LOCAL_BUCKET}/{}", e.detail.object.key)).collect();
        self.report(&urls, &results).await
    }

    async fn report(&self, file_urls: &[String], executions: &[ExecutionResult]) -> Result<RunReport, PipelineError> {
        let status = self.store.status(1000).await?;
        let mut files = Vec::new();
        for url in file_urls {
            if let Some(f) = status.files.iter().find(|f| &f.file_url == url) {
                let first_rejects = match &f.rejected_key {
                    Some(key) if f.rows_rejected > 0 => self.first_rejects(key, 3).await,
                    _ => Vec::new(),
                };
                files.push(FileReport { file: f.clone(), first_rejects });
            }
        }
        let evaluations = self.evaluations.lock().expect("not poisoned").clone();
        let fired: Vec<FiredRun> = evaluations
            .iter()
            .flat_map(|e| e.runs.iter())
            .map(|t| FiredRun { run_id: t.run_id.clone(), job_id: t.job_id.clone(), inputs: t.input_count })
            .collect();
        let waiting = evaluations.last().map(|e| e.waiting.clone()).unwrap_or_default();
        let runs: Vec<RunSummary> =
            status.runs.iter().filter(|r| fired.iter().any(|f| f.run_id == r.run_id)).cloned().collect();
        let mut warehouse = Vec::new();
        for table in SummaryTable::ALL {
            warehouse.push(TableRows { table: table.name().to_owned(), rows: self.warehouse.row_count(table).await? });
        }
        let executions: Vec<ExecutionSummary> = executions
            .iter()
            .map(|r| ExecutionSummary {
                machine: r.state_machine.clone(),
                name: r.name.clone(),
                status: r.status.to_string(),
                error: r.error.clone(),
                cause: r.cause.clone(),
            })
            .collect();
        let ok = executions.iter().all(|e| e.status == "SUCCEEDED");
        Ok(RunReport { ok, files, fired, waiting, runs, warehouse, executions })
    }

    /// The first `n` rejects of a rejects CSV, as `line N [column]: reason`.
    async fn first_rejects(&self, key: &str, n: usize) -> Vec<String> {
        let Ok(out) = self.s3_client.get_object().bucket(LOCAL_BUCKET).key(key).send().await else {
            return Vec::new();
        };
        let Ok(bytes) = out.body.collect().await else { return Vec::new() };
        let text = String::from_utf8_lossy(&bytes.into_bytes()).into_owned();
        let mut reader = csv_lines(&text);
        reader.next(); // header
        reader
            .take(n)
            .map(|fields| {
                let line = fields.first().cloned().unwrap_or_default();
                let column = fields.get(1).cloned().unwrap_or_default();
                let reason = fields.get(2).cloned().unwrap_or_default();
                if column.is_empty() {
                    format!("line {line}: {reason}")
                } else {
                    format!("line {line} [{column}]: {reason}")
                }
            })
            .collect()
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
        self.executor_slot.lock().expect("not poisoned").take();
        self.s3.shutdown().await;
    }
}

/// Tells the local Step Functions API about every execution the executor
/// has, so evaluate's reconciliation sees the truth.
async fn publish_executions(executor: &Executor, apis: &LocalAwsApis) {
    for handle in executor.executions() {
        let machine_arn = crate::executor::state_machine_arn(&handle.state_machine);
        let record = if handle.is_finished() {
            let r = handle.wait().await;
            ExecutionRecord {
                state_machine_arn: machine_arn,
                status: match r.status {
                    ExecutionStatus::Succeeded => "SUCCEEDED",
                    ExecutionStatus::Failed => "FAILED",
                    ExecutionStatus::TimedOut => "TIMED_OUT",
                }
                .into(),
                start_date_epoch: 0.0,
                error: r.error.clone(),
                cause: r.cause.clone(),
            }
        } else {
            ExecutionRecord {
                state_machine_arn: machine_arn,
                status: "RUNNING".into(),
                start_date_epoch: 0.0,
                error: None,
                cause: None,
            }
        };
        apis.set_execution(&handle.execution_arn, record);
    }
}

fn ingest_outcome(r: &ExecutionResult) -> String {
    match r.status {
        ExecutionStatus::Succeeded => {
            let output = r.output.clone().unwrap_or(Value::Null);
            let status = output.pointer("/validation/status").and_then(Value::as_str).unwrap_or("?");
            let valid = output.pointer("/validation/counts/rows_valid").and_then(Value::as_u64).unwrap_or(0);
            let rejected = output.pointer("/validation/counts/rows_rejected").and_then(Value::as_u64).unwrap_or(0);
            let ready = output.pointer("/tracking/job_may_be_ready").and_then(Value::as_bool).unwrap_or(false);
            format!(
                "{status} ({valid} valid, {rejected} rejected){}",
                if ready { "; a job may be ready: aggregate started" } else { "" }
            )
        }
        other => format!(
            "execution {other}: {} {}",
            r.error.as_deref().unwrap_or_default(),
            r.cause.as_deref().unwrap_or_default()
        ),
    }
}

fn aggregate_finished(r: &ExecutionResult) -> Progress {
    let detail = match (&r.error, &r.cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e.clone(),
        _ => String::new(),
    };
    Progress::AggregateFinished { name: r.name.clone(), status: r.status.to_string(), detail }
}

/// S3's event key encoding: form-encoded, `+` for a space.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A sequencer that grows with time, as S3's do for one key.
fn sequencer() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:020X}")
}

/// The EventBridge "Object Created" event S3 sends for a new object.
pub fn object_created_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: Option<String>,
    version_id: Option<String>,
) -> IngestInput {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let seq = sequencer();
    serde_json::from_value(json!({
        "version": "0",
        "id": format!("edba-local-{seq}"),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": now.format(&Rfc3339).unwrap_or_default(),
        "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": encode_key(key),
                "size": size,
                "etag": etag,
                "version-id": version_id,
                "sequencer": seq,
            },
            "request-id": format!("LOCAL{seq}"),
            "requester": "000000000000",
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        }
    }))
    .expect("the event matches IngestInput")
}

/// Splits a small RFC 4180 CSV into rows of fields.
fn csv_lines(text: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.into_iter()
}

/// A file of the run, with its first rejects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    #[serde(flatten)]
    pub file: FileSummary,
    pub first_rejects: Vec<String>,
}

/// A job that fired in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredRun {
    pub run_id: String,
    pub job_id: String,
    pub inputs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRows {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionSummary {
    pub machine: String,
    pub name: String,
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// What `edba run` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Every execution behaved as designed (a waiting job is fine; a failed
    /// run fails its aggregate execution, and so the report).
    pub ok: bool,
    pub files: Vec<FileReport>,
    pub fired: Vec<FiredRun>,
    /// Jobs that did not fire at the last evaluation, with the reason.
    pub waiting: Vec<WaitingJob>,
    /// The runs fired in this invocation, with their outcome.
    pub runs: Vec<RunSummary>,
    pub warehouse: Vec<TableRows>,
    pub executions: Vec<ExecutionSummary>,
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Files ({}):", self.files.len())?;
        for r in &self.files {
            let file = &r.file;
            write!(
                f,
                "  {:<22} {:<22} {:>5} valid {:>4} rejected {:>3} skipped",
                file.file_name, file.status, file.rows_valid, file.rows_rejected, file.lines_skipped
            )?;
            if file.status == "INVALID" {
                if let Some(reason) = &file.reason {
                    write!(f, "  ({reason})")?;
                }
            }
            writeln!(f)?;
            for reject in &r.first_rejects {
                writeln!(f, "      {reject}")?;
            }
        }
        writeln!(f, "Jobs fired ({}):", self.fired.len())?;
        for run in &self.fired {
            let outcome = self.runs.iter().find(|r| r.run_id == run.run_id);
            write!(f, "  {:<6} run {}  {} input files", run.job_id, run.run_id, run.inputs)?;
            if let Some(o) = outcome {
                write!(f, "  -> {}", o.status)?;
                if let Some(e) = &o.error {
                    write!(f, " ({e})")?;
                }
            }
            writeln!(f)?;
        }
        writeln!(f, "Jobs waiting ({}):", self.waiting.len())?;
        for job in &self.waiting {
            writeln!(f, "  {:<6} {}", job.job_id, job.reason)?;
        }
        writeln!(f, "Warehouse:")?;
        for t in &self.warehouse {
            writeln!(f, "  {:<16} {} rows", t.table, t.rows)?;
        }
        let failed: Vec<&ExecutionSummary> = self.executions.iter().filter(|e| e.status != "SUCCEEDED").collect();
        writeln!(f, "Executions: {} run, {} not succeeded", self.executions.len(), failed.len())?;
        for e in failed {
            writeln!(
                f,
                "  {} {} {}: {} {}",
                e.machine,
                e.name,
                e.status,
                e.error.as_deref().unwrap_or_default(),
                e.cause.as_deref().unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_encodes_them() {
        assert_eq!(encode_key("incoming/IL-101.tdf"), "incoming/IL-101.tdf");
        assert_eq!(encode_key("incoming/red flower (1).tdf"), "incoming/red+flower+%281%29.tdf");
    }

    #[test]
    fn sequencers_grow() {
        let a = sequencer();
        let b = sequencer();
        assert!(b >= a && a.len() == b.len());
    }

    #[test]
    fn rejects_csv_is_split_with_quotes() {
        let rows: Vec<Vec<String>> =
            csv_lines("line,column,reason,raw_line\n3,amount,\"a \"\"b\"\", c\",x\n").collect();
        assert_eq!(rows[1], ["3", "amount", "a \"b\", c", "x"]);
    }
}
