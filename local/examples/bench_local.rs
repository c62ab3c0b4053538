//! Benchmarks of the local runtime; `scripts/bench_local.sh` runs them and
//! prints the table. Each subcommand prints `key=value` lines.
//!
//!   bench_local ingest  --data DIR --backend sqlite|mysql --files N --lines L --concurrency C
//!       N generated sales files through the ingest machine, next to the same
//!       files through the validate function alone and `store.track` alone.
//!   bench_local trigger --data DIR --reps R
//!       J101: from the 13th IL file's upload to the `addStep.sync` call.
//!   bench_local serve-ingest --data DIR --edba BIN --files N --lines L --concurrency C
//!       The same N files uploaded through `edba serve`'s S3 endpoint by an S3
//!       client; each created object starts ingest as its S3 event does.
//!   bench_local serve-trigger --data DIR --edba BIN --reps R
//!       J101 through `edba serve`: the 13th IL file's PUT to the step's
//!       TaskScheduled in the aggregate execution's history.
//!   bench_local transitions --states N --reps R
//!       The executor's own cost per state transition: an N-state Pass/Choice
//!       counting loop (no tasks) in JSONPath, in JSONata over `$states.input`,
//!       and in JSONata over a workflow variable, side by side.
//!   bench_local job-gen --data DIR --rows R --stores S --items I
//!   bench_local job-run --data DIR
//!       The SQL job on the step runner over the generated validated CSVs.
//!
//! Homes stay under `--data` after their measurement (the script removes the
//! folder when it ends), and each measurement takes a home no run used
//! ([`fresh_dir`]), so none deletes another's: deleting thousands of files
//! slows creating files for about a minute on a filesystem without a journal
//! (ext4 then skips recently freed inodes one by one, as on the CI machine),
//! which would charge a phase for an earlier one's cleanup (and a repeated
//! run, or another build's run after this one, for this one's).
//!
//! A measurement tool, not a test: nothing here asserts a timing. It fails
//! when the pipeline does not do what is measured (an execution that does not
//! succeed, a job that does not fire).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use edba_local::executor::{handler_fn, EventKind, ExecutionStatus, TaskFailure};
use edba_local::pipeline::{LocalPipeline, PipelineOptions, LOCAL_BUCKET, SAMPLE_JOBS};
use edba_local::steprunner::{read_output_table, StepRunner};
use edba_local::EmbeddedS3;
use edba_payloads::{IngestInput, TrackInput, ValidateInput, ValidateOutput};
use edba_tasks::dataset::parquet::csv_to_parquet;
use edba_tasks::dataset::sample_dataset;
use edba_tasks::jobs::{apply_jobs, parse_jobs_file};
use edba_tasks::load::{SummaryRows, SummaryTable};
use edba_tasks::store::StateStore;
use edba_tasks::validate::{validate_object, ValidateOptions};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use sqlx::Connection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

const ADD_STEP_SYNC: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";
/// Provinces no sample job reads: ingest tracks the files and starts nothing.
const PROVINCES: [&str; 5] = ["NY", "TX", "OH", "WA", "FL"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("local/ is in the workspace").to_path_buf()
}

/// A small xorshift generator: the data is the same on every run.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Command-line flags as `--name value` pairs.
#[derive(Debug)]
struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: &[String]) -> Result<Args> {
        let mut map = HashMap::new();
        let mut it = raw.iter();
        while let Some(flag) = it.next() {
            let name = flag.strip_prefix("--").ok_or_else(|| format!("expected --flag, got {flag}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Args(map))
    }

    fn str(&self, name: &str) -> Result<String> {
        self.0.get(name).cloned().ok_or_else(|| format!("--{name} is required").into())
    }

    fn num(&self, name: &str, default: usize) -> Result<usize> {
        match self.0.get(name) {
            Some(v) => Ok(v.parse().map_err(|e| format!("--{name} {v}: {e}"))?),
            None => Ok(default),
        }
    }
}

/// MariaDB databases this process created, dropped on exit whatever happens.
#[derive(Debug, Clone, Default)]
struct Databases {
    server_url: String,
    names: Arc<Mutex<Vec<String>>>,
}

impl Databases {
    fn new() -> Databases {
        let server_url =
            std::env::var("EDBA_BENCH_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/".to_owned());
        Databases { server_url, names: Arc::default() }
    }

    /// A fresh, empty database `edba_bench_<random>`; its URL.
    async fn create(&self) -> Result<String> {
        let mut server = sqlx::MySqlConnection::connect(&self.server_url).await.map_err(|e| {
            format!(
                "MariaDB is required and is unreachable at {}: {e} (scripts/services.sh starts it, \
                 EDBA_BENCH_MYSQL_URL points elsewhere)",
                self.server_url
            )
        })?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
        let mut rng = Rng(nanos ^ u64::from(std::process::id()).rotate_left(32) | 1);
        let name = format!("edba_bench_{:012x}", rng.next() & 0xffff_ffff_ffff);
        // The name is made here of hex digits only, never taken from input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`"))).execute(&mut server).await?;
        server.close().await?;
        self.names.lock().expect("not poisoned").push(name.clone());
        let authority = self.server_url.find("://").map_or(0, |i| i + 3);
        let path = self.server_url[authority..].find('/').map_or(self.server_url.len(), |i| authority + i);
        Ok(format!("{}/{name}", &self.server_url[..path]))
    }

    async fn drop_all(&self) {
        let names: Vec<String> = std::mem::take(&mut *self.names.lock().expect("not poisoned"));
        if names.is_empty() {
            return;
        }
        let Ok(mut server) = sqlx::MySqlConnection::connect(&self.server_url).await else {
            eprintln!("could not drop the benchmark databases {names:?}");
            return;
        };
        for name in names {
            let dropped = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
                .execute(&mut server)
                .await;
            if dropped.is_err() {
                eprintln!("could not drop the benchmark database {name}");
            }
        }
        let _ = server.close().await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let databases = Databases::new();
    let outcome = match argv.first().map(String::as_str) {
        Some(cmd) => match Args::parse(&argv[1..]) {
            Ok(args) => match cmd {
                "ingest" => ingest(&args, &databases).await,
                "trigger" => trigger(&args).await,
                "job-gen" => job_gen(&args),
                "job-run" => job_run(&args).await,
                "serve-ingest" => serve_ingest(&args).await,
                "serve-trigger" => serve_trigger(&args).await,
                "transitions" => transitions(&args).await,
                other => Err(format!("unknown subcommand {other}").into()),
            },
            Err(e) => Err(e),
        },
        None => Err("usage: bench_local ingest|trigger|job-gen|job-run --flag value …".into()),
    };
    databases.drop_all().await;
    if let Err(e) = outcome {
        eprintln!("bench_local: {e}");
        std::process::exit(1);
    }
}

// ----------------------------------------------------------- transitions --

/// An N-state counting loop (`Inc` then `Loop`, N/2 times) in one flavour.
fn loop_machine(flavour: &str, rounds: usize) -> Value {
    match flavour {
        "jsonpath" => json!({"StartAt": "Inc", "States": {
            "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Loop"},
            "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": rounds, "Next": "Inc"}],
                     "Default": "Done"},
            "Done": {"Type": "Succeed"}}}),
        "jsonata" => json!({"QueryLanguage": "JSONata", "StartAt": "Inc", "States": {
            "Inc": {"Type": "Pass", "Output": {"i": "{% $states.input.i + 1 %}"}, "Next": "Loop"},
            "Loop": {"Type": "Choice", "Choices": [{"Condition": format!("{{% $states.input.i < {rounds} %}}"),
                                                    "Next": "Inc"}], "Default": "Done"},
            "Done": {"Type": "Succeed"}}}),
        _ => json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Assign": {"i": 0}, "Next": "Inc"},
            "Inc": {"Type": "Pass", "Assign": {"i": "{% $i + 1 %}"}, "Next": "Loop"},
            "Loop": {"Type": "Choice", "Choices": [{"Condition": format!("{{% $i < {rounds} %}}"), "Next": "Inc"}],
                     "Default": "Done"},
            "Done": {"Type": "Succeed", "Output": {"i": "{% $i %}"}}}}),
    }
}

async fn transitions(args: &Args) -> Result<()> {
    let states = args.num("states", 1000)?;
    let reps = args.num("reps", 5)?;
    let rounds = states / 2;
    let exec = edba_local::executor::Executor::new(edba_local::executor::ExecutorConfig::default());
    for flavour in ["jsonpath", "jsonata", "jsonata-vars"] {
        let def = loop_machine(flavour, rounds).to_string();
        let mut per_transition = Vec::new();
        for _ in 0..=reps {
            let started = Instant::now();
            let r = exec.run_definition(&def, json!({"i": 0})).await?;
            let elapsed = started.elapsed();
            if r.status != ExecutionStatus::Succeeded
                || r.output.as_ref().and_then(|o| o["i"].as_u64()) != Some(rounds as u64)
            {
                return Err(
                    format!("{flavour}: the loop did not count to {rounds}: {:?} {:?}", r.error, r.cause).into()
                );
            }
            let entered = r.history.events.iter().filter(|e| matches!(e.kind, EventKind::StateEntered { .. })).count();
            per_transition.push(elapsed.as_secs_f64() * 1e6 / entered as f64);
        }
        // The first run warms caches (parsed expressions); it is not counted.
        per_transition.remove(0);
        per_transition.sort_by(f64::total_cmp);
        let median = per_transition[per_transition.len() / 2];
        println!("transition_us_{}={median:.2}", flavour.replace('-', "_"));
    }
    println!("transition_states={states}");
    Ok(())
}

// ---------------------------------------------------------------- ingest --

/// One sales file as stores send it: tab-separated, no header, one line in
/// 200 with an amount that is not a number (so rejects are written too).
fn sales_tdf(store: usize, lines: usize, rng: &mut Rng, items: u64) -> String {
    let mut text = String::with_capacity(lines * 40);
    for n in 0..lines {
        let r = rng.next();
        let cents = (r >> 32) % 100_000;
        let trans_type = [4, 4, 4, 5, 6, 7][(r >> 20) as usize % 6];
        let day = n % 28 + 1;
        let item = r % items + 1;
        if n % 200 == 199 {
            writeln!(text, "{store}\tNaN\t{trans_type}\tITEM-{item:05}\t2024-02-{day:02}").expect("a String");
        } else {
            writeln!(
                text,
                "{store}\t{}.{:02}\t{trans_type}\tITEM-{item:05}\t2024-02-{day:02}",
                cents / 100,
                cents % 100
            )
            .expect("a String");
        }
    }
    text
}

fn item_master_tdf(items: u64) -> String {
    let mut text = String::from("item_id\titem_name\teffective_date\n");
    for item in 1..=items {
        writeln!(text, "ITEM-{item:05}\tItem {item}\t2024-01-01").expect("a String");
    }
    text
}

/// Writes the N ingest files once (kept for every backend and concurrency).
fn ingest_files(dir: &Path, files: usize, lines: usize) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut paths = Vec::with_capacity(files);
    for n in 0..files {
        let province = PROVINCES[n % PROVINCES.len()];
        let store = 1000 + n;
        let path = dir.join(format!("{province}-{store}.tdf"));
        if !path.exists() {
            std::fs::write(&path, sales_tdf(store, lines, &mut rng, 2000))?;
        }
        paths.push(path);
    }
    Ok(paths)
}

/// `<data>/<name>-<pid>-<n>`: a home no run has used, in this process or
/// another (a baseline build's, a repeated invocation's), so nothing is
/// deleted before a measurement (see the module doc).
fn fresh_dir(data: &Path, name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    data.join(format!("{name}-{}-{n}", std::process::id()))
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

async fn ingest(args: &Args, databases: &Databases) -> Result<()> {
    let data = PathBuf::from(args.str("data")?);
    let backend = args.str("backend")?;
    let files = args.num("files", 500)?;
    let lines = args.num("lines", 200)?;
    let concurrency = args.num("concurrency", 1)?.max(1);
    let paths = ingest_files(&data.join("ingest-files"), files, lines)?;

    let home = fresh_dir(&data, &format!("ingest-{backend}-c{concurrency}"));
    let (pipeline_store_url, baseline_store_url) = match backend.as_str() {
        "sqlite" => (None, format!("sqlite://{}?mode=rwc", home.join("track-baseline.db").display())),
        "mysql" => (Some(databases.create().await?), databases.create().await?),
        other => return Err(format!("unknown backend {other}").into()),
    };
    let mut options = PipelineOptions::new(&home);
    options.state_store_url = pipeline_store_url;
    options.concurrency = concurrency;
    options.repo_root = Some(repo_root());
    let pipeline = LocalPipeline::open(options).await?;
    pipeline.apply_jobs(None).await?;

    let started = Instant::now();
    let mut events: Vec<IngestInput> = Vec::with_capacity(paths.len());
    for path in &paths {
        events.push(pipeline.upload(path).await?);
    }
    let upload = started.elapsed();

    // Baseline 1: the validate function alone, as many at once. Each call is
    // a task of its own, as each execution is, so both use every core.
    let s3 = pipeline.s3_client().clone();
    let started = Instant::now();
    let validated: Vec<ValidateOutput> = stream::iter(events.iter().map(|event| {
        let input = ValidateInput {
            bucket: event.detail.bucket.name.clone(),
            object: event.detail.object.clone(),
            event_time: event.time.clone(),
        };
        let s3 = s3.clone();
        tokio::spawn(async move { validate_object(&s3, &input, &ValidateOptions::default()).await })
    }))
    .buffered(concurrency)
    .map(|joined| Ok::<_, BoxError>(joined??))
    .try_collect()
    .await?;
    let validate_only = started.elapsed();

    // Baseline 2: `store.track` alone on a fresh store with the same jobs.
    let baseline = StateStore::connect(&baseline_store_url).await?;
    baseline.migrate().await?;
    apply_jobs(&baseline, &parse_jobs_file(SAMPLE_JOBS)?).await.map_err(|e| format!("{e:?}"))?;
    let started = Instant::now();
    let tracked: Vec<_> = stream::iter(validated.iter().map(|file| {
        let input = TrackInput { file: file.clone() };
        let store = baseline.clone();
        tokio::spawn(async move { store.track(&input).await })
    }))
    .buffered(concurrency)
    .map(|joined| Ok::<_, BoxError>(joined??))
    .try_collect()
    .await?;
    let track_only = started.elapsed();
    baseline.close().await;

    // The pipeline: each file through the ingest machine, C executions at once.
    let executor = pipeline.executor().clone();
    let started = Instant::now();
    let results: Vec<_> = stream::iter(events.iter().map(|event| {
        let executor = &executor;
        async move {
            let input = serde_json::to_value(event)?;
            Ok::<_, BoxError>(executor.start("ingest", input, None)?.wait().await)
        }
    }))
    .buffered(concurrency)
    .try_collect()
    .await?;
    let pipeline_time = started.elapsed();
    let not_succeeded = results.iter().filter(|r| r.status != ExecutionStatus::Succeeded).count();
    let aggregates = executor.executions().len() - results.len();
    let rows_valid: u64 = validated.iter().map(|v| v.counts.rows_valid).sum();
    let rows_rejected: u64 = validated.iter().map(|v| v.counts.rows_rejected).sum();
    pipeline.close().await;

    if not_succeeded > 0 || aggregates > 0 || tracked.len() != files {
        return Err(format!(
            "ingest did not behave as measured: {not_succeeded} executions not succeeded, \
             {aggregates} aggregate executions started, {} tracked",
            tracked.len()
        )
        .into());
    }
    println!(
        "ingest backend={backend} concurrency={concurrency} files={files} lines={lines} rows_valid={rows_valid} \
         rows_rejected={rows_rejected} upload_fps={:.1} validate_fps={:.1} track_fps={:.1} pipeline_fps={:.1} \
         pipeline_s={:.3} validate_s={:.3} track_s={:.3}",
        per_second(files, upload),
        per_second(files, validate_only),
        per_second(files, track_only),
        per_second(files, pipeline_time),
        pipeline_time.as_secs_f64(),
        validate_only.as_secs_f64(),
        track_only.as_secs_f64(),
    );
    Ok(())
}

// --------------------------------------------------------------- trigger --

/// J101's files: the item master and 13 IL files of `lines` lines.
fn trigger_files(data: &Path, lines: usize) -> Result<(PathBuf, Vec<PathBuf>)> {
    let files_dir = data.join("trigger-files");
    std::fs::create_dir_all(&files_dir)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut il_files = Vec::new();
    for store in 101..=113 {
        let path = files_dir.join(format!("IL-{store}.tdf"));
        std::fs::write(&path, sales_tdf(store, lines, &mut rng, 2000))?;
        il_files.push(path);
    }
    let items = files_dir.join("Item-Master-Data.tdf");
    std::fs::write(&items, item_master_tdf(2000))?;
    Ok((items, il_files))
}

async fn trigger(args: &Args) -> Result<()> {
    let data = PathBuf::from(args.str("data")?);
    let reps = args.num("reps", 10)?.max(1);
    let lines = args.num("lines", 200)?;
    let (items, il_files) = trigger_files(&data, lines)?;
    let (last, first_twelve) = il_files.split_last().expect("13 files");

    let mut from_upload = Vec::new();
    let mut from_start = Vec::new();
    let mut to_done = Vec::new();
    // Per task state on the 13th file's path: how long each task took (ms).
    let mut tasks: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for rep in 0..reps {
        let home = fresh_dir(&data, &format!("trigger-{rep}"));
        let mut options = PipelineOptions::new(&home);
        options.repo_root = Some(repo_root());
        let pipeline = LocalPipeline::open(options).await?;
        pipeline.apply_jobs(None).await?;

        // The step handler notes when it is called, then runs the step as
        // the pipeline's own binding does.
        let called: Arc<Mutex<Option<Instant>>> = Arc::default();
        let runner = StepRunner::new(pipeline.s3_client().clone(), LOCAL_BUCKET, repo_root())
            .with_s3_endpoint(pipeline.s3_endpoint());
        let note = called.clone();
        pipeline.executor().bind(
            ADD_STEP_SYNC,
            handler_fn(move |input: Value| {
                note.lock().expect("not poisoned").get_or_insert_with(Instant::now);
                let runner = runner.clone();
                async move { runner.run_step(&input).await.map_err(TaskFailure::from) }
            }),
        );

        let executor = pipeline.executor().clone();
        for path in std::iter::once(&items).chain(first_twelve) {
            let event = pipeline.upload(path).await?;
            executor.start("ingest", serde_json::to_value(&event)?, None)?.wait().await;
        }
        executor.wait_all().await;
        if called.lock().expect("not poisoned").is_some() {
            return Err("J101 fired before its 13th file".into());
        }

        let upload_started = Instant::now();
        let event = pipeline.upload(last).await?;
        let ingest_started = Instant::now();
        let before = executor.executions().len();
        executor.start("ingest", serde_json::to_value(&event)?, None)?;
        let results = executor.wait_all().await;
        for result in &results[before..] {
            let mut scheduled = HashMap::new();
            for event in &result.history.events {
                match &event.kind {
                    EventKind::TaskScheduled { state, .. } => {
                        scheduled.insert(state.clone(), event.elapsed_ms);
                    }
                    EventKind::TaskSucceeded { state, .. } => {
                        if let Some(start) = scheduled.remove(state) {
                            let key = format!("{}/{}", result.state_machine, state.replace(' ', "_"));
                            tasks.entry(key).or_default().push(event.elapsed_ms - start);
                        }
                    }
                    _ => {}
                }
            }
        }
        let done = upload_started.elapsed();
        let Some(step_called) = *called.lock().expect("not poisoned") else {
            return Err("J101 did not fire after its 13th file".into());
        };
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.status != ExecutionStatus::Succeeded)
            .map(|r| format!("{} {}: {:?} {:?}", r.state_machine, r.status, r.error, r.cause))
            .collect();
        if !failed.is_empty() {
            return Err(format!("executions did not succeed: {failed:?}").into());
        }
        let salessummary = pipeline.warehouse().row_count("salessummary").await?;
        if salessummary == 0 {
            return Err("J101 loaded nothing into the warehouse".into());
        }
        from_upload.push(step_called.duration_since(upload_started));
        from_start.push(step_called.duration_since(ingest_started));
        to_done.push(done);
        pipeline.close().await;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let quantiles = |mut v: Vec<Duration>| {
        v.sort();
        // Nearest rank.
        let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        (ms(rank(0.5)), ms(rank(0.9)))
    };
    let all: Vec<String> = from_upload.iter().map(|d| format!("{:.1}", ms(*d))).collect();
    let (up50, up90) = quantiles(from_upload);
    let (st50, st90) = quantiles(from_start);
    let (dn50, dn90) = quantiles(to_done);
    println!(
        "trigger reps={reps} upload_to_step_p50_ms={up50:.1} upload_to_step_p90_ms={up90:.1} \
         start_to_step_p50_ms={st50:.1} start_to_step_p90_ms={st90:.1} upload_to_done_p50_ms={dn50:.1} \
         upload_to_done_p90_ms={dn90:.1} upload_to_step_all_ms={}",
        all.join(",")
    );
    let medians: Vec<String> = tasks
        .into_iter()
        .map(|(task, mut ms)| {
            ms.sort_unstable();
            format!("{task}={}", ms[(ms.len() - 1) / 2])
        })
        .collect();
    println!("trigger-tasks median_ms {}", medians.join(" "));
    Ok(())
}

// ------------------------------------------------------------------- job --

const SALES_HEADER: &str = "store_id,amount,trans_type,item_id,trans_date\n";

/// Validated CSVs as the validate task writes them: `<data>/job/csv/`.
fn job_gen(args: &Args) -> Result<()> {
    let data = PathBuf::from(args.str("data")?);
    let rows = args.num("rows", 5_000_000)?;
    let stores = args.num("stores", 50)?.max(1);
    let items = args.num("items", 10_000)? as u64;
    let dir = data.join("job").join("csv");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sales"))?;
    std::fs::create_dir_all(dir.join("items"))?;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let per_store = rows.div_ceil(stores);
    let mut written = 0;
    for store in 0..stores {
        let n = per_store.min(rows - written);
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(dir.join("sales").join(format!("IL-{}.csv", 1000 + store)))?);
        out.write_all(SALES_HEADER.as_bytes())?;
        let mut line = String::with_capacity(64);
        for i in 0..n {
            let r = rng.next();
            let cents = (r >> 32) % 100_000;
            let trans_type = [4, 4, 4, 5, 6, 7][(r >> 20) as usize % 6];
            // A few ids beyond the item master: those rows have no item name.
            let item = r % (items + items / 20) + 1;
            let day = i % 28 + 1;
            line.clear();
            writeln!(
                line,
                "{},{}.{:02},{trans_type},ITEM-{item:05},2024-02-{day:02}",
                1000 + store,
                cents / 100,
                cents % 100
            )?;
            out.write_all(line.as_bytes())?;
        }
        out.flush()?;
        written += n;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("items").join("Item-Master-Data.csv"))?);
    out.write_all(b"item_id,item_name,effective_date\n")?;
    for item in 1..=items {
        writeln!(out, "ITEM-{item:05},Item {item},2024-01-01")?;
        // One item in ten has a later version: the job takes its name.
        if item % 10 == 0 {
            writeln!(out, "ITEM-{item:05},Item {item} v2,2024-02-01")?;
        }
    }
    out.flush()?;
    // The same rows as the validate task stores them: typed Parquet, written
    // by its own writer from these (already normalised) CSVs.
    let typed = data.join("job").join("parquet");
    let _ = std::fs::remove_dir_all(&typed);
    for dataset in ["sales", "items"] {
        std::fs::create_dir_all(typed.join(dataset))?;
        for path in sorted_files(&dir.join(dataset), "csv")? {
            let parquet = csv_to_parquet(&sample_dataset(dataset), &std::fs::read(&path)?)?;
            let name = path.with_extension("parquet").file_name().expect("a file").to_owned();
            std::fs::write(typed.join(dataset).join(name), parquet)?;
        }
    }
    println!("job-gen rows={written} stores={stores} items={items} dir={}", dir.display());
    Ok(())
}

fn sorted_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == extension));
    paths.sort();
    Ok(paths)
}

/// The job over the generated rows as validated objects: `--format parquet`
/// (what validate stores: typed Parquet) or `csv` (the untyped CSVs of runs
/// claimed before).
async fn job_run(args: &Args) -> Result<()> {
    let data = PathBuf::from(args.str("data")?);
    let format = args.0.get("format").map_or("parquet", String::as_str);
    if !matches!(format, "parquet" | "csv") {
        return Err(format!("--format {format}: parquet or csv").into());
    }
    let csv = data.join("job").join(format);
    let s3_root = data.join("job").join("s3");
    let _ = std::fs::remove_dir_all(&s3_root);
    std::fs::create_dir_all(&s3_root)?;
    let server = EmbeddedS3::start(&s3_root)?;
    server.create_bucket(LOCAL_BUCKET).await?;
    let s3 = server.client().await;

    let started = Instant::now();
    let mut inputs = Vec::new();
    for (dataset, folder) in [("sales", "sales"), ("items", "items")] {
        for path in sorted_files(&csv.join(folder), format)? {
            let name = path.file_name().expect("a file").to_string_lossy().into_owned();
            let key = format!("validated/{dataset}/{name}");
            s3.put_object().bucket(LOCAL_BUCKET).key(&key).body(ByteStream::from_path(&path).await?).send().await?;
            inputs.push(json!({
                "dataset": dataset, "file_url": format!("s3://{LOCAL_BUCKET}/incoming/{name}"), "key": format!("incoming/{name}"),
                "validated_key": key, "version_id": null, "etag": null,
            }));
        }
    }
    let sql = std::fs::read(repo_root().join("sql/jobs/sales_summary.sql"))?;
    s3.put_object().bucket(LOCAL_BUCKET).key("code/sql/jobs/sales_summary.sql").body(sql.into()).send().await?;
    let manifest = json!({
        "bucket": LOCAL_BUCKET, "job_id": "BENCH", "run_id": "run-1", "created_at": "2024-03-01T00:00:00Z",
        "inputs": inputs,
    });
    s3.put_object()
        .bucket(LOCAL_BUCKET)
        .key("manifests/BENCH/run-1.json")
        .body(manifest.to_string().into_bytes().into())
        .send()
        .await?;
    let upload = started.elapsed();

    let runner = StepRunner::new(s3.clone(), LOCAL_BUCKET, repo_root());
    let step = json!({
        "ClusterId": "j-LOCAL",
        "Step": {"Name": "bench", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
            "spark-submit", format!("s3://{LOCAL_BUCKET}/code/scripts/emr/run_sql_job.py"),
            "--manifest", format!("s3://{LOCAL_BUCKET}/manifests/BENCH/run-1.json"),
            "--sql", format!("s3://{LOCAL_BUCKET}/code/sql/jobs/sales_summary.sql"),
            "--output", format!("s3://{LOCAL_BUCKET}/output/BENCH/run-1/"),
        ]}},
    });
    let started = Instant::now();
    runner.run_step(&step).await?;
    let step_time = started.elapsed();

    let out = "output/BENCH/run-1/";
    let SummaryRows::SaleItemSummary(items) = SummaryRows::from_table_rows(
        &read_output_table(&s3, LOCAL_BUCKET, out, &SummaryTable::SaleItemSummary.schema()).await?,
    )?
    else {
        return Err("saleitemsummary has other rows".into());
    };
    let SummaryRows::SalesSummary(sales) = SummaryRows::from_table_rows(
        &read_output_table(&s3, LOCAL_BUCKET, out, &SummaryTable::SalesSummary.schema()).await?,
    )?
    else {
        return Err("salessummary has other rows".into());
    };
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&s3_root);
    println!(
        "job-run format={format} upload_s={:.3} step_s={:.3} saleitemsummary_rows={} salessummary_rows={} \
         sale_cents={} tax_cents={} discount_cents={} item_count_sum={} named_rows={}",
        upload.as_secs_f64(),
        step_time.as_secs_f64(),
        items.len(),
        sales.len(),
        sales.iter().map(|r| i128::from(r.sale_amount_cents)).sum::<i128>(),
        sales.iter().map(|r| i128::from(r.tax_amount_cents)).sum::<i128>(),
        sales.iter().map(|r| i128::from(r.discount_amount_cents)).sum::<i128>(),
        sales.iter().map(|r| r.item_count).sum::<i64>(),
        items.iter().filter(|r| r.item_name.is_some()).count(),
    );
    Ok(())
}

// ---------------------------------------------------------- edba serve --

/// A running `edba serve` process (SIGTERM, then a wait, when dropped).
struct ServeProcess {
    child: std::process::Child,
    endpoint: String,
    api: String,
}

impl ServeProcess {
    /// Serves `home`, a directory no run has used ([`fresh_dir`]).
    fn start(edba: &str, home: &Path, concurrency: usize) -> Result<ServeProcess> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(edba)
            .args(["serve", "--port", "0", "--schedule", "off", "--concurrency"])
            .arg(concurrency.to_string())
            .arg("--home")
            .arg(home)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {edba} serve: {e}"))?;
        let mut lines = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let (mut endpoint, mut api) = (String::new(), String::new());
        for line in lines.by_ref() {
            let line = line?;
            if let Some(url) = line.strip_prefix("S3 endpoint: ") {
                endpoint = url.to_owned();
            } else if let Some(url) = line.strip_prefix("API: ") {
                api = url.trim_end_matches("/api/executions").to_owned();
            } else if line == "ready" {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        if endpoint.is_empty() || api.is_empty() {
            return Err("edba serve did not print its endpoint and API".into());
        }
        Ok(ServeProcess { child, endpoint, api })
    }

    /// An S3 client of its endpoint, with the default local credentials.
    fn s3(&self) -> aws_sdk_s3::Client {
        let credentials = aws_sdk_s3::config::Credentials::new(
            edba_local::s3server::ACCESS_KEY_ID,
            edba_local::s3server::SECRET_ACCESS_KEY,
            None,
            None,
            "bench",
        );
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(edba_local::s3server::REGION))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(credentials)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// GET a JSON document of the API (plain HTTP/1.1 on loopback).
    fn get(&self, path: &str) -> Result<Value> {
        use std::io::{Read, Write};
        let host = self.api.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host)?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b).ok_or("no HTTP body")?;
        Ok(serde_json::from_str(body)?)
    }

    /// Its resident memory now (Linux), in MiB.
    fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: f64 =
            status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024.0)
    }

    /// The executions of `machine`, newest first.
    fn executions(&self, machine: &str) -> Result<Vec<Value>> {
        let list = self.get(&format!("/api/executions?machine={machine}&max=100000"))?;
        Ok(list["executions"].as_array().cloned().unwrap_or_default())
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// Polls `probe` every 10 ms until it returns `Some`, for at most `limit`.
async fn poll<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let started = Instant::now();
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if started.elapsed() > limit {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// N generated files uploaded through `edba serve`'s endpoint by an S3
/// client, 8 PUTs at a time, each starting the ingest machine as its S3 event
/// does: files/s from the first PUT to the last ingest's end.
async fn serve_ingest(args: &Args) -> Result<()> {
    let data = PathBuf::from(args.str("data")?);
    let edba = args.str("edba")?;
    let files = args.num("files", 500)?;
    let lines = args.num("lines", 200)?;
    let concurrency = args.num("concurrency", 4)?.max(1);
    let paths = ingest_files(&data.join("ingest-files"), files, lines)?;
    let serve = ServeProcess::start(&edba, &fresh_dir(&data, &format!("serve-ingest-c{concurrency}")), concurrency)?;
    let s3 = serve.s3();

    let started = Instant::now();
    stream::iter(paths.iter().map(|path| {
        let s3 = s3.clone();
        let key = format!("incoming/{}", path.file_name().expect("a file").to_string_lossy());
        async move {
            let body = ByteStream::from_path(path).await?;
            s3.put_object().bucket(LOCAL_BUCKET).key(key).body(body).send().await?;
            Ok::<_, BoxError>(())
        }
    }))
    .buffer_unordered(8)
    .try_collect::<Vec<()>>()
    .await?;
    let uploaded = started.elapsed();
    // A cheap probe (is any ingest running?) most of the time; the full
    // list only when none is, so the polling does not slow serve down.
    let executions = poll("every ingest execution to end", Duration::from_secs(600), || {
        let running = serve.get("/api/executions?machine=ingest&status=RUNNING&max=1")?;
        if running["executions"].as_array().is_some_and(|r| !r.is_empty()) {
            return Ok(None);
        }
        let executions = serve.executions("ingest")?;
        Ok((executions.len() == files && executions.iter().all(|e| e["status"] != "RUNNING")).then_some(executions))
    })
    .await?;
    let total = started.elapsed();
    if let Some(bad) = executions.iter().find(|e| e["status"] != "SUCCEEDED") {
        return Err(format!("an ingest execution did not succeed: {bad}").into());
    }
    println!(
        "serve-ingest backend=sqlite concurrency={concurrency} files={files} lines={lines} upload_s={:.3} total_s={:.3} \
         files_per_s={:.1} serve_rss_mib={:.1}",
        uploaded.as_secs_f64(),
        total.as_secs_f64(),
        files as f64 / total.as_secs_f64(),
        serve.rss_mib().unwrap_or(f64::NAN),
    );
    Ok(())
}

/// When an aggregate execution of `serve` scheduled its EMR step, if one has.
fn step_scheduled(serve: &ServeProcess) -> Result<Option<time::OffsetDateTime>> {
    for execution in serve.executions("aggregate")? {
        let name = execution["name"].as_str().unwrap_or_default();
        let detail = serve.get(&format!("/api/executions/{name}"))?;
        let step = detail["history"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["type"] == "TaskScheduled" && e["resource"].as_str().is_some_and(|r| r == ADD_STEP_SYNC));
        if let Some(at) = step.and_then(|e| e["timestamp"].as_str()) {
            return Ok(Some(time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)?));
        }
    }
    Ok(None)
}

/// J101 through `edba serve`, R fresh homes: from the 13th IL file's PUT to
/// the aggregate execution's `TaskScheduled` of its EMR step (the history's
/// timestamp; one clock, this machine's).
async fn serve_trigger(args: &Args) -> Result<()> {
    let data = PathBuf::from(args.str("data")?);
    let edba = args.str("edba")?;
    let reps = args.num("reps", 10)?.max(1);
    let lines = args.num("lines", 200)?;
    let (items, il_files) = trigger_files(&data, lines)?;
    let (last, first_twelve) = il_files.split_last().expect("13 files");

    let mut latencies = Vec::new();
    for rep in 0..reps {
        let serve = ServeProcess::start(&edba, &fresh_dir(&data, &format!("serve-trigger-{rep}")), 4)?;
        let s3 = serve.s3();
        for path in std::iter::once(&items).chain(first_twelve) {
            let key = format!("incoming/{}", path.file_name().expect("a file").to_string_lossy());
            s3.put_object().bucket(LOCAL_BUCKET).key(key).body(ByteStream::from_path(path).await?).send().await?;
        }
        poll("the first 13 ingests", Duration::from_secs(120), || {
            let executions = serve.executions("ingest")?;
            Ok((executions.len() == 13 && executions.iter().all(|e| e["status"] != "RUNNING")).then_some(()))
        })
        .await?;
        if step_scheduled(&serve)?.is_some() {
            return Err("J101 fired before its 13th file".into());
        }
        let key = format!("incoming/{}", last.file_name().expect("a file").to_string_lossy());
        let body = ByteStream::from_path(last).await?;
        let put_at = time::OffsetDateTime::now_utc();
        s3.put_object().bucket(LOCAL_BUCKET).key(key).body(body).send().await?;
        let scheduled = poll("J101's EMR step", Duration::from_secs(120), || step_scheduled(&serve)).await?;
        latencies.push((scheduled - put_at).whole_microseconds() as f64 / 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "serve-trigger reps={reps} upload_to_step_ms_p50={:.1} upload_to_step_ms_p90={:.1} max_ms={:.1}",
        at(0.5),
        at(0.9),
        latencies.last().copied().unwrap_or_default()
    );
    Ok(())
}
