//! A model test of run lineage under random interleavings, on SQLite and on
//! MariaDB: several workers (tokio tasks, each with its own store pools, as
//! separate Lambda containers are) track file versions, evaluate (some in
//! executions that die right after their claim), and record outcomes, in an
//! order a seeded PRNG picks. Afterwards the database must say that, per job,
//! no version was aggregated twice, none was skipped, no run read a version
//! that was already superseded when it read, and a dead run's inputs were
//! fired again.
//!
//! The seed fixes every worker's choices (which key, new version or a
//! redelivery, INVALID or not, evaluate or record, which execution dies); the
//! scheduler decides how they interleave, so a failing seed reproduces the
//! mix, not necessarily the exact interleaving. Every failure message names
//! the database, the seed, the job, the file, the version and its sequence,
//! and the whole operation trace is printed before the panic. Run other seeds
//! with `EDBA_LINEAGE_SEEDS=7,8,9`.
//!
//! # The run
//!
//! Jobs: `J-IL` (`IL-*`, min 1), `J-CA` (`CA-*`, min 2, with the item master
//! as companion) and `J-ALL` (`*`, min 3), so one file feeds two jobs. Five
//! workers, each with two store pools, do 80 steps: track (a new version of
//! one of nine sales keys or the item master, 15% INVALID, or a redelivery of
//! one of its versions), evaluate (35% in an execution that dies after its
//! claim: the mocked `DescribeExecution` reports it ABORTED, so a later
//! evaluation reconciles the run and gives its inputs back), two overlapping
//! evaluations, record COMPLETED for a live execution's run, or a short
//! pause. A final drain then evaluates (reconciling every dead run) and
//! completes every live run until no job fires. Each seed prints what it
//! exercised (track outcomes, why jobs waited, lost claims, and how each
//! version fared), so a change that stops exercising a path shows.
//!
//! # Ground truth
//!
//! The test sends every event itself, so it knows each version it sent (key,
//! version number = sequencer order, INVALID or not) and what track answered.
//! The store's sequence of every version it *applied* is logged by two
//! triggers this test adds to its own throwaway database (`AFTER INSERT` and
//! `AFTER UPDATE` of `ingested_files` when `seq` changes, into
//! `lineage_model_versions`): the row is written in track's own transaction,
//! so it commits exactly when the version does, and a superseded version's
//! sequence is known even if no run ever read it. The log is first checked
//! against what the test sent (each applied version once, sequences 1..=N
//! without gaps, per key in sequencer order, the highest sequencer current).
//!
//! # What a claim can see
//!
//! Track takes its sequence under the counter row's lock and keeps it to its
//! commit, so versions commit in sequence order and whatever a claim's
//! snapshot holds is every version up to some sequence `S` (the migration's
//! argument, `sql/state/mysql/0002_freshness_by_sequence.sql`). `S` is not in
//! the database, so the test brackets it per run `R`:
//! - from below, `S(R) >= max(C0, R.seq_claimed)`: `C0` is the committed
//!   counter the test reads just before calling `evaluate` (everything
//!   committed before the evaluation started), and the claim saw its own
//!   newest input, hence everything below it;
//! - from above, `S(R) <= U(R)`: a third trigger (`AFTER INSERT ON job_runs`,
//!   in the claim's transaction, after its input SELECT) logs the committed
//!   counter at that moment into `lineage_model_claims`. It is a plain
//!   consistent read (READ COMMITTED on MySQL; under the write lock on
//!   SQLite, where it is exact), so it changes no locking. The test also
//!   checks `C0 <= U(R) <= C1`, `C1` being the counter read after `evaluate`
//!   returned.
//!
//! A version `v` of key `k` was **superseded before `R`'s claim** iff a later
//! version of `k` was in `R`'s snapshot. The database shows it when `R` read a
//! later version of `k`, or when `R` read nothing of `k` and a later INVALID
//! version of `k` has a sequence `<= U(R)` (then `k`'s row in the snapshot
//! may have been that INVALID version, which is never read). A later version
//! above `U(R)` cannot have been in the snapshot.
//!
//! # Invariants, per job (companion files excluded where said)
//!
//! A run *holds* its inputs unless evaluate reconciled it (FAILED with
//! `Edba.ExecutionEnded`), which gives them back. Before the four invariants
//! the structure is checked: every run ended (COMPLETED for live executions,
//! reconciled FAILED for dead ones, each reported once in some evaluation's
//! `reconciled`); each run input is a version the store applied, usable,
//! with the sequence and version id the log gives it; a run's main inputs
//! lie in `(seq_before, seq_claimed]`, the newest one is `seq_claimed`, there
//! are at least `min_files`; the holding runs' intervals chain from 0 to the
//! job's final watermark without gap or overlap, and a reconciled run started
//! from a watermark a holding run left.
//!
//! 1. **None twice**: no (file, version) is a main input of two holding runs.
//! 2. **None skipped**: every applied usable version `v` of a matching key
//!    with `seq <= watermark` lies in exactly one holding run's interval; that
//!    run read `v`, or `v` was superseded before its claim (above). A version
//!    above the final watermark is either its key's current version (still
//!    fresh) or superseded; and after the final drain, fewer than `min_files`
//!    are still fresh (or the companion is missing), so nothing ready was
//!    left behind.
//! 3. **No superseded input**: for every run and every input (companions
//!    included) of key `k` with sequence `s`, no version of `k` has a sequence
//!    in `(s, max(C0, seq_claimed)]`: such a version was committed before the
//!    claim's snapshot, so the snapshot's row of `k` was not `s`. (A version
//!    committed after the snapshot but before the claim's commit is not a
//!    violation: it is above the new watermark and fresh for the next run.)
//! 4. **Given back, fired again**: every main input of a reconciled run is a
//!    main input of a holding run, or was superseded before the claim of the
//!    holding run whose interval covers it, or lies above the final watermark
//!    (still fresh or superseded).

use crate::evaluate_support::*;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_emr::types::ClusterState;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_mocks::mock;
use edba_payloads::{EvaluateOutput, RecordInput, RunOutcome, TrackOutcome};
use edba_tasks::evaluate::{evaluate, EXECUTION_ENDED};
use edba_tasks::record::record;
use edba_tasks::store::StateStore;

const WORKERS: usize = 5;
const STEPS: usize = 80;
const DEFAULT_SEEDS: [u64; 3] = [0x5EED_0001, 0x5EED_0002, 0x5EED_0003];
const ARN_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:";
/// Executions whose ARN holds this die right after their claim: Step
/// Functions reports them ABORTED to every other evaluation.
const DOOMED: &str = ":doomed-";
const ITEMS_KEY: &str = "Item-Master-Data.tdf";

/// A job of the model: sales files whose name starts with `prefix`.
struct JobSpec {
    id: &'static str,
    prefix: &'static str,
    min_files: u32,
    /// Also needs the item master (any `Item-*` file validated in 24 h).
    companion: bool,
}

const JOBS: [JobSpec; 3] = [
    JobSpec { id: "J-IL", prefix: "IL-", min_files: 1, companion: false },
    JobSpec { id: "J-CA", prefix: "CA-", min_files: 2, companion: true },
    JobSpec { id: "J-ALL", prefix: "", min_files: 3, companion: false },
];

const SALES_KEYS: [&str; 9] = [
    "IL-101.tdf",
    "IL-102.tdf",
    "IL-103.tdf",
    "IL-104.tdf",
    "CA-201.tdf",
    "CA-202.tdf",
    "CA-203.tdf",
    "NY-301.tdf",
    "NY-302.tdf",
];

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn random_interleavings_keep_lineage() {
        for seed in super::seeds() {
            let started = std::time::Instant::now();
            super::run_model(super::StoreDb::sqlite().await, "sqlite", seed).await;
            eprintln!("lineage_model sqlite seed {seed:#x}: {:.1} s", started.elapsed().as_secs_f64());
        }
    }
}

mod mariadb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn random_interleavings_keep_lineage() {
        for seed in super::seeds() {
            let started = std::time::Instant::now();
            super::run_model(super::StoreDb::mariadb("lineage").await, "mariadb", seed).await;
            eprintln!("lineage_model mariadb seed {seed:#x}: {:.1} s", started.elapsed().as_secs_f64());
        }
    }
}

fn seeds() -> Vec<u64> {
    match std::env::var("EDBA_LINEAGE_SEEDS") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                let s = s.trim();
                s.strip_prefix("0x")
                    .map_or_else(|| s.parse(), |hex| u64::from_str_radix(hex, 16))
                    .unwrap_or_else(|_| panic!("EDBA_LINEAGE_SEEDS: {s:?} is not a number"))
            })
            .collect(),
        Err(_) => DEFAULT_SEEDS.to_vec(),
    }
}

// ------------------------------------------------------------------ PRNG

/// SplitMix64: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

// ----------------------------------------------------------------- model

/// One S3 key and the versions the model has uploaded (`true`: INVALID).
struct KeyModel {
    name: &'static str,
    dataset: &'static str,
    versions: Vec<bool>,
}

impl KeyModel {
    fn url(&self) -> String {
        format!("s3://{BUCKET}/incoming/{}", self.name)
    }
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// Version `n` (from 1) of a key: its id, and a sequencer that grows with `n`.
fn version_id(name: &str, n: usize) -> String {
    format!("{}-v{n}", stem(name))
}

fn version_number(version_id: &str) -> usize {
    version_id.rsplit_once("-v").and_then(|(_, n)| n.parse().ok()).unwrap_or(0)
}

fn fixture(key: &KeyModel, n: usize, invalid: bool) -> FileFixture {
    let validated = at(&format!("06:{:02}", n % 60));
    let file = if key.dataset == "items" { items(key.name, &validated) } else { sales(key.name, &validated) };
    let file = file.version(&version_id(key.name, n), &format!("{:04X}", n * 0x100));
    if invalid {
        file.invalid("the header is not a TDF header")
    } else {
        file
    }
}

/// What the test did and saw, in order.
#[derive(Default)]
struct Model {
    keys: Vec<KeyModel>,
    /// (key index, version number, what track answered).
    events: Vec<(usize, usize, TrackOutcome)>,
    /// Runs of live executions not yet recorded: (run id, job id).
    pending: Vec<(String, String)>,
    evaluations: BTreeMap<String, EvaluationLog>,
    /// Errors a task returned (each was retried, as the machine would).
    errors: Vec<String>,
    /// How often each path was taken, to show what a seed exercised.
    coverage: BTreeMap<String, usize>,
    trace: Vec<String>,
}

#[derive(Debug, Default, Clone)]
struct EvaluationLog {
    /// The committed store sequence right before the evaluation started.
    c0: i64,
    /// … and right after it returned.
    c1: i64,
    runs: Vec<String>,
    reconciled: Vec<String>,
}

struct Ctx {
    label: String,
    url: String,
    /// The test's database (the workers read the counter through it).
    db: Arc<StoreDb>,
    s3: aws_sdk_s3::Client,
    emr: aws_sdk_emr::Client,
    sfn: aws_sdk_sfn::Client,
    model: Mutex<Model>,
    started: Instant,
    start_line: tokio::sync::Barrier,
}

impl Ctx {
    fn trace(&self, line: String) {
        let at = self.started.elapsed().as_secs_f64() * 1000.0;
        self.model.lock().unwrap().trace.push(format!("{at:9.1} ms {line}"));
    }

    async fn counter(&self) -> i64 {
        let rows =
            self.db.rows("SELECT CAST(value AS CHAR) FROM store_sequences WHERE name = ?", "file_versions").await;
        rows[0][0].parse().unwrap()
    }
}

fn sfn_mock() -> aws_sdk_sfn::Client {
    sfn_client(&[mock!(aws_sdk_sfn::Client::describe_execution).then_compute_output(|req| {
        let arn = req.execution_arn().unwrap_or_default().to_owned();
        let status = if arn.contains(DOOMED) { ExecutionStatus::Aborted } else { ExecutionStatus::Running };
        DescribeExecutionOutput::builder()
            .execution_arn(arn)
            .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:edba-aggregate")
            .status(status)
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
            .build()
            .unwrap()
    })])
}

// ------------------------------------------------------------- the run

async fn run_model(db: StoreDb, database: &str, seed: u64) {
    let db = Arc::new(db);
    let label = format!("{database} seed {seed:#x}");
    add_version_log(&db).await;
    for spec in &JOBS {
        let config = job(spec.id, &format!("{}*", spec.prefix), spec.min_files);
        db.put_job(&if spec.companion { with_items(config, "Item-*", 24) } else { config }).await;
    }
    let mut keys: Vec<KeyModel> =
        SALES_KEYS.iter().map(|name| KeyModel { name, dataset: "sales", versions: Vec::new() }).collect();
    keys.push(KeyModel { name: ITEMS_KEY, dataset: "items", versions: vec![false] });
    let items_first = fixture(keys.last().unwrap(), 1, false);
    let outcome = db.track(&items_first).await.outcome;

    let bucket = Bucket::new().await;
    let ctx = Arc::new(Ctx {
        label: label.clone(),
        url: db.url.clone(),
        db: db.clone(),
        s3: bucket.s3.clone(),
        emr: emr_client(&emr_rules(&[cluster("j-WAIT", ClusterState::Waiting)])),
        sfn: sfn_mock(),
        model: Mutex::new(Model { keys, ..Model::default() }),
        started: Instant::now(),
        start_line: tokio::sync::Barrier::new(WORKERS),
    });
    ctx.model.lock().unwrap().events.push((SALES_KEYS.len(), 1, outcome));

    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let ctx = ctx.clone();
        workers.push(tokio::spawn(async move { worker(ctx, w, seed).await }));
    }
    for worker in workers {
        worker.await.expect("a worker panicked");
    }
    drain(&ctx).await;

    let observed = Observed::read(&db).await;
    let model = ctx.model.lock().unwrap();
    let (violations, coverage) = check(&model, &observed, &label);
    let runs = observed.runs.len();
    let given_back = observed.runs.iter().filter(|r| r.given_back()).count();
    let events = model.events.len();
    eprintln!(
        "lineage_model {label}: {events} events, {} versions applied, {} evaluations, {runs} runs \
         ({given_back} reconciled), {} task errors retried",
        observed.versions.len(),
        model.evaluations.len(),
        model.errors.len()
    );
    for e in &model.errors {
        eprintln!("  retried error: {e}");
    }
    eprintln!("  exercised: {coverage:?}");
    if !violations.is_empty() {
        eprintln!("---- trace of {label} ----");
        for line in &model.trace {
            eprintln!("{line}");
        }
        eprintln!("---- violations of {label} ----");
        for v in &violations {
            eprintln!("{v}");
        }
        panic!("{} lineage violation(s), first: {}", violations.len(), violations[0]);
    }
}

/// The ground-truth log of applied versions: two triggers write every
/// version's sequence in track's own transaction (see the module docs).
async fn add_version_log(db: &StoreDb) {
    match &db.admin {
        Admin::MySql(pool) => {
            for sql in [
                "CREATE TABLE lineage_model_versions (file_url VARCHAR(1024) NOT NULL, \
                 version_id VARCHAR(255) NULL, seq BIGINT NOT NULL, status VARCHAR(32) NOT NULL) \
                 ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
                "CREATE TRIGGER lineage_model_inserted AFTER INSERT ON ingested_files FOR EACH ROW \
                 INSERT INTO lineage_model_versions (file_url, version_id, seq, status) \
                 VALUES (NEW.file_url, NEW.version_id, NEW.seq, NEW.status)",
                "CREATE TRIGGER lineage_model_updated AFTER UPDATE ON ingested_files FOR EACH ROW \
                 INSERT INTO lineage_model_versions (file_url, version_id, seq, status) \
                 SELECT NEW.file_url, NEW.version_id, NEW.seq, NEW.status FROM DUAL WHERE NEW.seq <> OLD.seq",
                "CREATE TABLE lineage_model_claims (run_id VARCHAR(64) NOT NULL, counter BIGINT NOT NULL) \
                 ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
                "CREATE TRIGGER lineage_model_claimed AFTER INSERT ON job_runs FOR EACH ROW \
                 INSERT INTO lineage_model_claims (run_id, counter) \
                 SELECT NEW.run_id, value FROM store_sequences WHERE name = 'file_versions'",
            ] {
                sqlx::raw_sql(sql).execute(pool).await.unwrap();
            }
        }
        Admin::Sqlite(pool) => {
            for sql in [
                "CREATE TABLE lineage_model_versions (file_url TEXT NOT NULL, version_id TEXT NULL, \
                 seq INTEGER NOT NULL, status TEXT NOT NULL)",
                "CREATE TRIGGER lineage_model_inserted AFTER INSERT ON ingested_files BEGIN \
                 INSERT INTO lineage_model_versions (file_url, version_id, seq, status) \
                 VALUES (NEW.file_url, NEW.version_id, NEW.seq, NEW.status); END",
                "CREATE TRIGGER lineage_model_updated AFTER UPDATE ON ingested_files WHEN NEW.seq <> OLD.seq BEGIN \
                 INSERT INTO lineage_model_versions (file_url, version_id, seq, status) \
                 VALUES (NEW.file_url, NEW.version_id, NEW.seq, NEW.status); END",
                "CREATE TABLE lineage_model_claims (run_id TEXT NOT NULL, counter INTEGER NOT NULL)",
                "CREATE TRIGGER lineage_model_claimed AFTER INSERT ON job_runs BEGIN \
                 INSERT INTO lineage_model_claims (run_id, counter) \
                 SELECT NEW.run_id, value FROM store_sequences WHERE name = 'file_versions'; END",
            ] {
                sqlx::raw_sql(sql).execute(pool).await.unwrap();
            }
        }
    }
}

// --------------------------------------------------------------- workers

async fn worker(ctx: Arc<Ctx>, w: usize, seed: u64) {
    // Two containers: a worker sometimes runs two evaluations at once.
    let stores = [StateStore::connect(&ctx.url).await.unwrap(), StateStore::connect(&ctx.url).await.unwrap()];
    let mut rng = Rng::new(seed ^ (w as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    ctx.start_line.wait().await;
    for step in 0..STEPS {
        match rng.below(100) {
            0..=44 => track_op(&ctx, &stores[0], &mut rng, w).await,
            45..=66 => {
                let doomed = rng.percent(35);
                evaluate_op(&ctx, &stores[0], &execution(w, step, 0, doomed)).await;
            }
            67..=74 => {
                // Overlapping evaluations from two containers.
                let (a, b) = (rng.percent(35), rng.percent(35));
                let (arn_a, arn_b) = (execution(w, step, 0, a), execution(w, step, 1, b));
                tokio::join!(evaluate_op(&ctx, &stores[0], &arn_a), evaluate_op(&ctx, &stores[1], &arn_b));
            }
            75..=94 => complete_op(&ctx, &stores[0], &mut rng, w).await,
            _ => tokio::time::sleep(Duration::from_millis(rng.below(4) as u64)).await,
        }
    }
    for store in &stores {
        store.close().await;
    }
}

fn execution(w: usize, step: usize, n: usize, doomed: bool) -> String {
    let kind = if doomed { &DOOMED[1..] } else { "ok-" };
    format!("{ARN_PREFIX}{kind}w{w}-{step}-{n}")
}

/// Tracks a new version of a key, or delivers one of its versions again (a
/// duplicate, or a stale event when a newer one is stored). Racing new
/// versions of one key also arrive out of sequencer order.
async fn track_op(ctx: &Ctx, store: &StateStore, rng: &mut Rng, w: usize) {
    let (k, n, file) = {
        let mut model = ctx.model.lock().unwrap();
        // The item master changes less often than sales files.
        let k = if rng.percent(8) { SALES_KEYS.len() } else { rng.below(SALES_KEYS.len()) };
        let key = &mut model.keys[k];
        let existing = key.versions.len();
        let (n, invalid) = if existing == 0 || rng.percent(60) {
            let invalid = rng.percent(if key.dataset == "items" { 10 } else { 15 });
            key.versions.push(invalid);
            (existing + 1, invalid)
        } else {
            let n = 1 + rng.below(existing);
            (n, key.versions[n - 1])
        };
        (k, n, fixture(key, n, invalid))
    };
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match store.track(&file.input()).await {
            Ok(out) => break out.outcome,
            Err(e) if attempt < 5 => {
                ctx.model.lock().unwrap().errors.push(format!("w{w} track {}: {e}", file.0.key));
            }
            Err(e) => panic!("[{}] track of {} failed 5 times: {e}", ctx.label, file.0.key),
        }
    };
    let status = if file.0.status.is_usable() { "" } else { " INVALID" };
    ctx.trace(format!("w{w} track {} {}{status} -> {outcome:?}", file.0.key, version_id(file.0.key.as_str(), n)));
    let mut model = ctx.model.lock().unwrap();
    model.events.push((k, n, outcome));
    *model.coverage.entry(format!("track: {outcome:?}")).or_default() += 1;
}

/// One evaluation (retried in the same execution on an error, as the
/// machine retries `Edba.Transient`), bracketed by counter reads.
async fn evaluate_op(ctx: &Ctx, store: &StateStore, arn: &str) -> EvaluateOutput {
    let c0 = ctx.counter().await;
    let deps = deps(store, &ctx.s3, ctx.emr.clone(), ctx.sfn.clone(), NOW);
    let mut attempt = 0;
    let output = loop {
        attempt += 1;
        match evaluate(&deps, &input(arn)).await {
            Ok(output) => break output,
            Err(e) if attempt < 5 => ctx.model.lock().unwrap().errors.push(format!("evaluate {arn}: {e}")),
            Err(e) => panic!("[{}] evaluation {arn} failed 5 times: {e}", ctx.label),
        }
    };
    let c1 = ctx.counter().await;
    let runs: Vec<String> = output.runs.iter().map(|r| r.run_id.clone()).collect();
    let reconciled: Vec<String> = output.reconciled.iter().map(|r| r.run_id.clone()).collect();
    ctx.trace(format!(
        "evaluate {} c0={c0} c1={c1} runs={runs:?} reconciled={reconciled:?}",
        arn.trim_start_matches(ARN_PREFIX)
    ));
    let mut model = ctx.model.lock().unwrap();
    for waiting in &output.waiting {
        let reason = waiting.reason.split(':').next().unwrap_or_default();
        let reason =
            if reason.starts_with("never run") || reason.contains(" fresh since ") { "too few fresh" } else { reason };
        *model.coverage.entry(format!("wait: {reason}")).or_default() += 1;
    }
    if !arn.contains(DOOMED) {
        model.pending.extend(output.runs.iter().map(|r| (r.run_id.clone(), r.job_id.clone())));
    }
    let log = model.evaluations.entry(arn.to_owned()).or_default();
    *log = EvaluationLog { c0, c1, runs, reconciled };
    output
}

fn completed(run_id: &str, job_id: &str) -> RecordInput {
    RecordInput {
        run_id: run_id.into(),
        job_id: job_id.into(),
        outcome: RunOutcome::Completed,
        emr: None,
        load: None,
        failure: None,
    }
}

/// Records COMPLETED for one run of a live execution, as its "Mark run
/// completed" state would.
async fn complete_op(ctx: &Ctx, store: &StateStore, rng: &mut Rng, w: usize) {
    let picked = {
        let mut model = ctx.model.lock().unwrap();
        let len = model.pending.len();
        (len > 0).then(|| model.pending.swap_remove(rng.below(len)))
    };
    if let Some((run_id, job_id)) = picked {
        complete(ctx, store, &run_id, &job_id, &format!("w{w}")).await;
    }
}

async fn complete(ctx: &Ctx, store: &StateStore, run_id: &str, job_id: &str, who: &str) {
    let mut attempt = 0;
    let out = loop {
        attempt += 1;
        match record(store, &completed(run_id, job_id)).await {
            Ok(out) => break out,
            Err(e) if attempt < 5 => ctx.model.lock().unwrap().errors.push(format!("{who} record {run_id}: {e}")),
            Err(e) => panic!("[{}] record COMPLETED of {run_id} failed 5 times: {e}", ctx.label),
        }
    };
    assert!(
        // A retried call may find its own earlier attempt's outcome.
        out.status == RunOutcome::Completed && (out.changed || attempt > 1),
        "[{}] run {run_id} of job {job_id} (a live execution) could not be recorded COMPLETED: {out:?}",
        ctx.label
    );
    ctx.trace(format!("{who} record {run_id} COMPLETED"));
}

/// After the workers: evaluate (reconciling every dead run) and complete
/// every live run until no job fires any more.
async fn drain(ctx: &Ctx) {
    let store = StateStore::connect(&ctx.url).await.unwrap();
    for round in 0.. {
        assert!(round < 50, "[{}] the final drain does not end", ctx.label);
        let output = evaluate_op(ctx, &store, &format!("{ARN_PREFIX}ok-final-{round}")).await;
        let running =
            ctx.db.rows("SELECT run_id, job_id, execution_arn FROM job_runs WHERE status = ?", "RUNNING").await;
        for row in &running {
            assert!(!row[2].contains(DOOMED), "[{}] run {} of a dead execution is still RUNNING", ctx.label, row[0]);
            complete(ctx, &store, &row[0], &row[1], "drain").await;
        }
        ctx.model.lock().unwrap().pending.clear();
        if output.runs.is_empty() && output.reconciled.is_empty() && running.is_empty() {
            break;
        }
    }
    store.close().await;
}

// ---------------------------------------------------------- what is stored

#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    url: String,
    version_id: String,
    seq: i64,
    usable: bool,
}

#[derive(Debug, Clone)]
struct Input {
    url: String,
    version_id: String,
    seq: i64,
}

#[derive(Debug, Clone)]
struct Run {
    run_id: String,
    job_id: String,
    status: String,
    error: String,
    seq_before: i64,
    seq_claimed: i64,
    arn: String,
    inputs: Vec<Input>,
    /// `U`: the committed counter when the claim inserted the run.
    counter_at_claim: Option<i64>,
}

impl Run {
    /// Reconciled: FAILED because its execution ended, inputs given back.
    fn given_back(&self) -> bool {
        self.status == "FAILED" && self.error == EXECUTION_ENDED
    }
    fn holds(&self) -> bool {
        self.status == "COMPLETED"
    }
}

struct Observed {
    /// The trigger log, by sequence.
    versions: Vec<Version>,
    runs: Vec<Run>,
    /// job id -> (watermark, last status).
    jobs: BTreeMap<String, (i64, String)>,
    /// file url -> (version id, seq).
    files: BTreeMap<String, (String, i64)>,
    counter: i64,
}

fn int(text: &str) -> i64 {
    text.parse().unwrap_or_else(|_| panic!("{text:?} is not an integer"))
}

impl Observed {
    async fn read(db: &StoreDb) -> Observed {
        let all = "all";
        let versions = db
            .rows(
                "SELECT file_url, version_id, CAST(seq AS CHAR), status FROM lineage_model_versions \
                 WHERE ? IS NOT NULL ORDER BY seq",
                all,
            )
            .await
            .into_iter()
            .map(|r| Version {
                url: r[0].clone(),
                version_id: r[1].clone(),
                seq: int(&r[2]),
                usable: r[3] != "INVALID",
            })
            .collect();
        let mut inputs: BTreeMap<String, Vec<Input>> = BTreeMap::new();
        for r in db
            .rows("SELECT run_id, file_url, version_id, CAST(seq AS CHAR) FROM run_inputs WHERE ? IS NOT NULL", all)
            .await
        {
            inputs.entry(r[0].clone()).or_default().push(Input {
                url: r[1].clone(),
                version_id: r[2].clone(),
                seq: if r[3] == "NULL" { -1 } else { int(&r[3]) },
            });
        }
        let mut counters: BTreeMap<String, i64> = db
            .rows("SELECT run_id, CAST(counter AS CHAR) FROM lineage_model_claims WHERE ? IS NOT NULL", all)
            .await
            .into_iter()
            .map(|r| (r[0].clone(), int(&r[1])))
            .collect();
        let runs = db
            .rows(
                "SELECT run_id, job_id, status, error, CAST(seq_before AS CHAR), CAST(seq_claimed AS CHAR), \
                 execution_arn FROM job_runs WHERE ? IS NOT NULL ORDER BY run_id",
                all,
            )
            .await
            .into_iter()
            .map(|r| Run {
                inputs: inputs.remove(&r[0]).unwrap_or_default(),
                run_id: r[0].clone(),
                job_id: r[1].clone(),
                status: r[2].clone(),
                error: r[3].clone(),
                seq_before: if r[4] == "NULL" { -1 } else { int(&r[4]) },
                seq_claimed: if r[5] == "NULL" { -1 } else { int(&r[5]) },
                arn: r[6].clone(),
                counter_at_claim: counters.remove(&r[0]),
            })
            .collect();
        let jobs = db
            .rows("SELECT job_id, CAST(claimed_seq AS CHAR), last_status FROM job_configs WHERE ? IS NOT NULL", all)
            .await
            .into_iter()
            .map(|r| (r[0].clone(), (int(&r[1]), r[2].clone())))
            .collect();
        let files = db
            .rows("SELECT file_url, version_id, CAST(seq AS CHAR) FROM ingested_files WHERE ? IS NOT NULL", all)
            .await
            .into_iter()
            .map(|r| (r[0].clone(), (r[1].clone(), int(&r[2]))))
            .collect();
        let counter = db.rows("SELECT CAST(value AS CHAR) FROM store_sequences WHERE name = ?", "file_versions").await;
        Observed { versions, runs, jobs, files, counter: int(&counter[0][0]) }
    }
}

// ---------------------------------------------------------------- checks

fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

fn dataset_of(url: &str) -> &'static str {
    if name_of(url).starts_with("Item-") {
        "items"
    } else {
        "sales"
    }
}

impl JobSpec {
    /// A main input of the job: a sales file its pattern matches.
    fn reads(&self, url: &str) -> bool {
        dataset_of(url) == "sales" && name_of(url).starts_with(self.prefix)
    }
    /// A companion file of the job.
    fn companion_of(&self, url: &str) -> bool {
        self.companion && dataset_of(url) == "items" && name_of(url).starts_with("Item-")
    }
}

/// Every check of the module docs; each violation is one line naming the
/// database and seed, the job, the file, the version and its sequence.
fn check(model: &Model, observed: &Observed, label: &str) -> (Vec<String>, BTreeMap<String, usize>) {
    let mut violations = Vec::new();
    let mut coverage = model.coverage.clone();
    let mut count = |what: String| *coverage.entry(what).or_default() += 1;
    let mut fail = |line: String| violations.push(format!("[{label}] {line}"));

    // ---- the ground truth: what track applied, against what was sent.
    let by_seq: BTreeMap<i64, &Version> = observed.versions.iter().map(|v| (v.seq, v)).collect();
    let mut by_key: BTreeMap<&str, Vec<&Version>> = BTreeMap::new();
    for v in &observed.versions {
        by_key.entry(v.url.as_str()).or_default().push(v);
    }
    let expected_seqs: Vec<i64> = (1..=observed.counter).collect();
    let seqs: Vec<i64> = observed.versions.iter().map(|v| v.seq).collect();
    if seqs != expected_seqs {
        fail(format!("track: applied sequences {seqs:?} are not 1..={} without gaps or repeats", observed.counter));
    }
    let logged: BTreeSet<(&str, &str)> =
        observed.versions.iter().map(|v| (v.url.as_str(), v.version_id.as_str())).collect();
    if logged.len() != observed.versions.len() {
        fail("track: some version was applied twice (two sequences)".into());
    }
    let mut applied: BTreeSet<(String, String)> = BTreeSet::new();
    for &(k, n, outcome) in &model.events {
        let key = &model.keys[k];
        let (url, version) = (key.url(), version_id(key.name, n));
        let is_logged = logged.contains(&(url.as_str(), version.as_str()));
        let versions = by_key.get(url.as_str()).cloned().unwrap_or_default();
        match outcome {
            TrackOutcome::Inserted | TrackOutcome::NewVersion => {
                if !applied.insert((url.clone(), version.clone())) {
                    fail(format!("track: {url} {version} was answered {outcome:?} twice"));
                }
                if !is_logged {
                    fail(format!("track: {url} {version} answered {outcome:?} but has no sequence"));
                }
                let first = versions.first().map(|v| v.version_id == version);
                if (outcome == TrackOutcome::Inserted) != (first == Some(true)) {
                    fail(format!("track: {url} {version} answered {outcome:?}; the key's first version is {first:?}"));
                }
            }
            TrackOutcome::Duplicate if !is_logged => {
                fail(format!("track: {url} {version} answered Duplicate but was never applied"))
            }
            TrackOutcome::Stale if !versions.iter().any(|v| version_number(&v.version_id) > n) => {
                fail(format!("track: {url} {version} answered Stale but no newer version was applied"))
            }
            _ => {}
        }
    }
    if applied.len() != observed.versions.len() {
        fail(format!(
            "track: {} versions answered Inserted/NewVersion, {} have a sequence",
            applied.len(),
            logged.len()
        ));
    }
    for key in &model.keys {
        let url = key.url();
        let versions = by_key.get(url.as_str()).cloned().unwrap_or_default();
        let numbers: Vec<usize> = versions.iter().map(|v| version_number(&v.version_id)).collect();
        if numbers.windows(2).any(|w| w[0] >= w[1]) {
            fail(format!("track: {url}: versions applied out of sequencer order: {numbers:?} by sequence"));
        }
        for v in &versions {
            if v.usable == key.versions[version_number(&v.version_id) - 1] {
                fail(format!("track: {url} {} stored with the wrong status", v.version_id));
            }
        }
        if key.versions.is_empty() {
            continue;
        }
        let newest = version_id(key.name, key.versions.len());
        match (observed.files.get(&url), versions.last()) {
            (Some((current, seq)), Some(last))
                if *current == newest && last.version_id == newest && *seq == last.seq => {}
            (stored, last) => fail(format!(
                "track: {url}: the newest version sent is {newest}; stored {stored:?}, last applied {last:?}"
            )),
        }
    }

    // ---- runs: ended, attributed, their inputs real versions.
    let mut reported_reconciled: BTreeMap<&str, usize> = BTreeMap::new();
    for log in model.evaluations.values() {
        for run_id in &log.reconciled {
            *reported_reconciled.entry(run_id.as_str()).or_default() += 1;
        }
    }
    let bounds = |run: &Run| model.evaluations.get(&run.arn).map(|log| (log.c0, log.c1));
    for run in &observed.runs {
        let doomed = run.arn.contains(DOOMED);
        let id = format!("job {} run {} ({})", run.job_id, run.run_id, run.arn.trim_start_matches(ARN_PREFIX));
        match (doomed, run.status.as_str()) {
            (false, "COMPLETED") => {}
            (true, "FAILED") if run.given_back() => {}
            (_, status) => fail(format!("{id}: ended {status} {}", run.error)),
        }
        let reported = reported_reconciled.get(run.run_id.as_str()).copied().unwrap_or(0);
        if reported != usize::from(run.given_back()) {
            fail(format!("{id}: reported reconciled {reported} times"));
        }
        match (bounds(run), run.counter_at_claim) {
            (Some((c0, c1)), Some(u)) if c0 <= u && u <= c1 && run.seq_claimed <= u => {}
            (b, u) => fail(format!(
                "{id}: counter at claim {u:?} is not within (counter before, after) {b:?} or below seq_claimed {}",
                run.seq_claimed
            )),
        }
        match model.evaluations.get(&run.arn) {
            None => fail(format!("{id}: claimed by an execution the test never ran")),
            Some(log) if !log.runs.contains(&run.run_id) => {
                fail(format!("{id}: committed, but its evaluation returned no ticket for it"))
            }
            Some(_) => {}
        }
        for input in &run.inputs {
            match by_seq.get(&input.seq) {
                Some(v) if v.url == input.url && v.version_id == input.version_id && v.usable => {}
                found => fail(format!(
                    "{id}: input {} {} (seq {}) is not that usable applied version (the log has {found:?} at that seq)",
                    input.url, input.version_id, input.seq
                )),
            }
        }
    }

    // ---- per job.
    for spec in &JOBS {
        let job = spec.id;
        let Some(&(watermark, ref last_status)) = observed.jobs.get(job) else {
            fail(format!("job {job} is missing"));
            continue;
        };
        if last_status == "RUNNING" {
            fail(format!("job {job} is still RUNNING after the drain"));
        }
        let runs: Vec<&Run> = observed.runs.iter().filter(|r| r.job_id == job).collect();
        let main = |run: &Run| -> Vec<Input> { run.inputs.iter().filter(|i| spec.reads(&i.url)).cloned().collect() };
        let mut holding: Vec<&Run> = runs.iter().copied().filter(|r| r.holds()).collect();
        holding.sort_by_key(|r| r.seq_claimed);
        let given_back: Vec<&Run> = runs.iter().copied().filter(|r| r.given_back()).collect();

        // Structure of each run.
        for run in &runs {
            let inputs = main(run);
            for input in &run.inputs {
                if !spec.reads(&input.url) && !spec.companion_of(&input.url) {
                    fail(format!("job {job} run {}: input {} is not the job's file", run.run_id, input.url));
                }
            }
            if spec.companion && !run.inputs.iter().any(|i| spec.companion_of(&i.url)) {
                fail(format!("job {job} run {}: no companion input", run.run_id));
            }
            if (inputs.len() as u64) < u64::from(spec.min_files) {
                fail(format!("job {job} run {}: {} inputs, fewer than min_files", run.run_id, inputs.len()));
            }
            for input in &inputs {
                if !(run.seq_before < input.seq && input.seq <= run.seq_claimed) {
                    fail(format!(
                        "job {job} run {}: input {} {} (seq {}) is outside the claim's ({}, {}]",
                        run.run_id, input.url, input.version_id, input.seq, run.seq_before, run.seq_claimed
                    ));
                }
            }
            let newest = inputs.iter().map(|i| i.seq).max().unwrap_or(run.seq_before);
            if newest != run.seq_claimed {
                fail(format!(
                    "job {job} run {}: seq_claimed {} but newest input {newest}",
                    run.run_id, run.seq_claimed
                ));
            }
        }

        // The holding runs' intervals chain from 0 to the watermark.
        let mut previous = 0;
        for run in &holding {
            if run.seq_before != previous {
                fail(format!(
                    "job {job}: holding run {} claimed from watermark {} but the previous holding run left {previous}",
                    run.run_id, run.seq_before
                ));
            }
            previous = run.seq_claimed;
        }
        if previous != watermark {
            fail(format!("job {job}: watermark {watermark} but the last holding run claimed up to {previous}"));
        }
        let left: BTreeSet<i64> = std::iter::once(0).chain(holding.iter().map(|r| r.seq_claimed)).collect();
        for run in &given_back {
            if !left.contains(&run.seq_before) {
                fail(format!(
                    "job {job}: reconciled run {} claimed from watermark {}, which no holding run left",
                    run.run_id, run.seq_before
                ));
            }
        }

        // 1. None twice.
        let mut holder: BTreeMap<(String, String), &str> = BTreeMap::new();
        for run in &holding {
            for input in main(run) {
                let file = (input.url.clone(), input.version_id.clone());
                if let Some(first) = holder.insert(file, &run.run_id) {
                    fail(format!(
                        "job {job}: NONE TWICE: {} {} (seq {}) is an input of runs {first} and {}",
                        input.url, input.version_id, input.seq, run.run_id
                    ));
                }
            }
        }

        // The fate of a version under this job: read by a holding run,
        // superseded before the covering run's claim, or above the
        // watermark; Err(why) when it was skipped.
        let fate = |v: &Version| -> Result<String, String> {
            if let Some(run) = holder.get(&(v.url.clone(), v.version_id.clone())) {
                return Ok(format!("read by {run}"));
            }
            let later = by_key[v.url.as_str()].iter().filter(|x| x.seq > v.seq).copied().collect::<Vec<_>>();
            if v.seq > watermark {
                return Ok(if later.is_empty() { "still fresh".into() } else { "superseded".into() });
            }
            let Some(run) = holding.iter().find(|r| r.seq_before < v.seq && v.seq <= r.seq_claimed) else {
                return Err(format!("no holding run's interval covers seq {}", v.seq));
            };
            let u = run.counter_at_claim.unwrap_or(i64::MAX);
            match run.inputs.iter().find(|i| i.url == v.url) {
                Some(read) if read.seq > v.seq => {
                    Ok(format!("superseded before {} read {}", run.run_id, read.version_id))
                }
                Some(read) => Err(format!("{} read the older {} (seq {})", run.run_id, read.version_id, read.seq)),
                None if later.iter().any(|x| !x.usable && x.seq <= u) => {
                    Ok(format!("superseded by an INVALID version before {}", run.run_id))
                }
                None => Err(format!(
                    "run {} (claim ({}, {}], counter at claim {u}) read nothing of the key and no INVALID version \
                     of it was committed by then",
                    run.run_id, run.seq_before, run.seq_claimed
                )),
            }
        };

        // 2. None skipped.
        for (url, versions) in &by_key {
            if !spec.reads(url) {
                continue;
            }
            for v in versions.iter().filter(|v| v.usable) {
                let outcome = fate(v);
                let kind = match &outcome {
                    Ok(how) if how.starts_with("read by") => "read by one holding run",
                    Ok(how) if how.starts_with("superseded before") => "superseded before the covering claim",
                    Ok(how) if how.starts_with("superseded by an INVALID") => {
                        "superseded by an INVALID version before the covering claim"
                    }
                    Ok(how) => how.as_str(),
                    Err(_) => "skipped",
                };
                count(format!("fate: {kind}"));
                if let Err(why) = outcome {
                    fail(format!(
                        "job {job}: NONE SKIPPED: {url} {} (seq {}), watermark {watermark}: {why}",
                        v.version_id, v.seq
                    ));
                }
            }
        }
        let fresh: Vec<&Version> = by_key
            .iter()
            .filter(|(url, _)| spec.reads(url))
            .filter_map(|(_, versions)| versions.last().copied())
            .filter(|v| v.usable && v.seq > watermark)
            .collect();
        let companion_ok = !spec.companion
            || by_key.iter().any(|(url, versions)| spec.companion_of(url) && versions.last().is_some_and(|v| v.usable));
        if fresh.len() as u64 >= u64::from(spec.min_files) && companion_ok {
            fail(format!(
                "job {job}: NONE SKIPPED: {} files still fresh above watermark {watermark} after the drain \
                 (min_files {}): {:?}",
                fresh.len(),
                spec.min_files,
                fresh.iter().map(|v| format!("{} {} seq {}", v.url, v.version_id, v.seq)).collect::<Vec<_>>()
            ));
        }

        // 3. No superseded input (companions included).
        for run in &runs {
            let Some((c0, _)) = bounds(run) else { continue };
            if run.seq_claimed > c0 {
                count("claim: read a version committed during its evaluation".into());
            }
            let seen = run.seq_claimed.max(c0);
            for input in &run.inputs {
                let newer: Vec<String> = by_key
                    .get(input.url.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|x| x.seq > input.seq && x.seq <= seen)
                    .map(|x| format!("{} (seq {})", x.version_id, x.seq))
                    .collect();
                if !newer.is_empty() {
                    fail(format!(
                        "job {job}: NO SUPERSEDED INPUT: run {} read {} {} (seq {}) though {newer:?} was committed \
                         before its claim read (claim saw at least seq {seen}: seq_claimed {}, counter before {c0})",
                        run.run_id, input.url, input.version_id, input.seq, run.seq_claimed
                    ));
                }
            }
        }

        // 4. Given back, fired again.
        for run in &given_back {
            for input in main(run) {
                let v = by_seq.get(&input.seq).copied();
                match v.map(&fate) {
                    Some(Ok(_)) => {}
                    Some(Err(why)) => fail(format!(
                        "job {job}: GIVEN BACK: reconciled run {} read {} {} (seq {}), never fired again: {why}",
                        run.run_id, input.url, input.version_id, input.seq
                    )),
                    None => {} // reported above: not an applied version
                }
            }
        }
    }
    (violations, coverage)
}
