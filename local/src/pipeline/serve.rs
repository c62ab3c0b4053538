//! `edba serve`: the deployed system on one machine. Objects created under
//! `incoming/` through the S3 endpoint start the ingest machine, as S3's
//! EventBridge notifications do in AWS (ingest starts the aggregate machine
//! when a job may be ready); a rate schedule starts the aggregate machine, as
//! the template's EventBridge schedule does.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edba_payloads::object_created_event;
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use super::{setup, LocalPipeline, PipelineError, Progress, LOCAL_BUCKET};
use crate::executor::{ExecutionHandle, ExecutionObserver, ExecutionResult};
use crate::s3versions::ObjectCreated;

/// The prefix the deployed EventBridge rule matches.
pub const INCOMING_PREFIX: &str = "incoming/";

/// What `edba serve` runs, besides the pipeline's own options.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// How often the aggregate machine starts as scheduled; `None`: never.
    pub schedule: Option<Duration>,
    /// Deliver events as S3 and EventBridge may: duplicated and late, so
    /// out of order.
    pub chaos: Option<Chaos>,
    /// A project folder to watch: when its `.toml` or `.sql` files change,
    /// it is checked and deployed again (a change that does not check is
    /// reported and not applied; the deployed project stays).
    pub watch: Option<ProjectWatch>,
}

/// A project folder and its files as they were when the watch began: take
/// it before deploying the project, so no change is missed in between.
#[derive(Debug, Clone)]
pub struct ProjectWatch {
    dir: PathBuf,
    seen: Fingerprint,
}

impl ProjectWatch {
    pub fn new(dir: &Path) -> ProjectWatch {
        ProjectWatch { dir: dir.to_owned(), seen: fingerprint(dir) }
    }
}

type Fingerprint = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

/// How often a watched project's files are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// What serving tells its caller.
#[derive(Debug)]
pub enum ServeEvent<'a> {
    Finished(&'a ExecutionResult),
    /// The watched project changed and was deployed; what was applied.
    ProjectApplied(String),
    /// The watched project changed but was not deployed, and why.
    ProjectRejected(String),
}

/// The size and modification time of every `.toml` and `.sql` file below
/// `dir` (hidden folders and `target/` left out): a change of any is a change.
fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if !name.to_string_lossy().starts_with('.') && name != "target" {
                    folders.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "toml" || e == "sql") {
                out.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}

/// At-least-once, any-order delivery, on purpose: S3 may send an event
/// twice and EventBridge promises no order, and the pipeline's result must
/// not depend on either.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chaos {
    /// The share of events delivered twice, in `[0, 1]`.
    pub duplicate: f64,
    /// Each delivery waits a random time up to this, so later events often
    /// overtake earlier ones.
    pub max_delay: Duration,
    /// The same seed gives the same duplicates and delays for the same
    /// sequence of events.
    pub seed: u64,
}

impl Chaos {
    /// The `n`th draw in `[0, 1)`.
    fn draw(&self, n: u64) -> f64 {
        (crate::executor::random::seeded(self.seed.wrapping_add(n.wrapping_mul(0x2545_F491_4F6C_DD1D))) >> 11) as f64
            / (1u64 << 53) as f64
    }

    /// When each delivery of the `n`th event that starts ingest (counting
    /// from 0) happens, after it arrives: one or two delays.
    pub fn deliveries(&self, n: u64) -> Vec<Duration> {
        let copies = if self.draw(3 * n) < self.duplicate { 2 } else { 1 };
        (0..copies).map(|c| self.max_delay.mul_f64(self.draw(3 * n + 1 + c))).collect()
    }
}

/// Whether an object's creation starts the ingest machine (what the deployed
/// EventBridge rule matches).
fn starts_ingest(object: &ObjectCreated) -> bool {
    object.bucket == LOCAL_BUCKET && object.key.starts_with(INCOMING_PREFIX)
}

/// Forwards `created` through `chaos` into a new channel; only the events
/// that start ingest are subject to it (and counted by it).
fn chaotic(mut created: UnboundedReceiver<ObjectCreated>, chaos: Chaos) -> UnboundedReceiver<ObjectCreated> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(object) = created.recv().await {
            if !starts_ingest(&object) {
                let _ = tx.send(object);
                continue;
            }
            for delay in chaos.deliveries(n) {
                let (tx, object) = (tx.clone(), object.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(object);
                });
            }
            n += 1;
        }
    });
    rx
}

/// What serving did, for the closing line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeSummary {
    pub ingest_started: u64,
    pub scheduled_started: u64,
    /// Object-created events not under `incoming/` of the local bucket.
    pub ignored: u64,
}

impl LocalPipeline {
    /// Checks and deploys the project of `dir` (its `edba.toml`, else the
    /// sample project with `dir/jobs.toml` or the sample jobs), as
    /// `edba run` does before it uploads anything.
    pub async fn deploy_dir(&self, dir: &Path, progress: &(dyn Fn(Progress) + Sync)) -> Result<(), PipelineError> {
        let project = self.check_project(dir).await?;
        self.deploy_project(dir, project.as_ref(), progress).await
    }

    /// Deploys the sample project and its jobs (what a new home runs).
    pub async fn deploy_sample(&self, progress: &(dyn Fn(Progress) + Sync)) -> Result<(), PipelineError> {
        self.deploy_project(Path::new(""), None, progress).await
    }

    /// Serves until `shutdown` resolves: each object `created` under
    /// `incoming/` of the local bucket starts the ingest machine (at most
    /// `concurrency` at a time; later events wait their turn, none is
    /// dropped), and the schedule starts the aggregate machine. Every
    /// execution that starts meanwhile (those, and the aggregate executions
    /// ingest starts) is told to `events` when it ends. On shutdown no new
    /// execution starts; those running finish before this returns.
    pub async fn serve(
        &self,
        created: UnboundedReceiver<ObjectCreated>,
        options: &ServeOptions,
        shutdown: impl Future<Output = ()>,
        events: &(dyn Fn(ServeEvent<'_>) + Sync),
    ) -> Result<ServeSummary, PipelineError> {
        let finished = |result: &ExecutionResult| events(ServeEvent::Finished(result));
        let mut watched = options.watch.clone();
        let mut watch_ticker = tokio::time::interval(WATCH_EVERY);
        watch_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut created = match options.chaos {
            Some(chaos) => chaotic(created, chaos),
            None => created,
        };
        let mut summary = ServeSummary::default();
        let concurrency = self.options.concurrency.max(1);
        // The ingest executions serve started and that have not ended (at
        // most `concurrency`; scheduled aggregate ones take no ingest slot).
        let mut running: JoinSet<()> = JoinSet::new();
        // Every execution started from here on, whoever started it, until it
        // ends and is told.
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        self.executor.observe(std::sync::Arc::new(Started(started_tx)));
        let mut ending: JoinSet<ExecutionResult> = JoinSet::new();
        let mut schedule = options.schedule.map(|every| {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker
        });
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = running.join_next(), if !running.is_empty() => {}
                Some(handle) = started.recv() => {
                    ending.spawn(async move { handle.wait().await });
                }
                Some(done) = ending.join_next(), if !ending.is_empty() => {
                    if let Ok(result) = done {
                        finished(&result);
                    }
                }
                Some(object) = created.recv(), if running.len() < concurrency => {
                    if !starts_ingest(&object) {
                        summary.ignored += 1;
                        continue;
                    }
                    let event = object_created_event(
                        &object.bucket,
                        &object.key,
                        object.size,
                        object.etag,
                        Some(object.version_id),
                    );
                    let input = serde_json::to_value(&event).map_err(|e| setup("event", e))?;
                    let handle = self.executor.start("ingest", input, None)?;
                    summary.ingest_started += 1;
                    running.spawn(async move {
                        handle.wait().await;
                    });
                }
                _ = watch_ticker.tick(), if watched.is_some() => {
                    let Some(watch) = watched.as_mut() else { continue };
                    let now = fingerprint(&watch.dir);
                    if now == watch.seen {
                        continue;
                    }
                    watch.seen = now;
                    let dir = watch.dir.clone();
                    let applied = std::sync::Mutex::new(Vec::new());
                    let progress = |p: Progress| {
                        if let Progress::JobsApplied { source, summary } = p {
                            applied.lock().expect("not poisoned").push(format!("{source}: {summary}"));
                        }
                    };
                    match self.deploy_dir(&dir, &progress).await {
                        Ok(()) => {
                            let applied = applied.lock().expect("not poisoned").join("; ");
                            events(ServeEvent::ProjectApplied(applied));
                        }
                        Err(e) => events(ServeEvent::ProjectRejected(e.to_string())),
                    }
                }
                _ = tick(schedule.as_mut()) => {
                    self.executor.start("aggregate", json!({"trigger": "schedule"}), None)?;
                    summary.scheduled_started += 1;
                }
            }
        }
        // No new execution starts; those running (and the aggregate
        // executions they start) finish, and each is told.
        self.executor.wait_all().await;
        while let Ok(handle) = started.try_recv() {
            ending.spawn(async move { handle.wait().await });
        }
        while let Some(done) = ending.join_next().await {
            if let Ok(result) = done {
                finished(&result);
            }
        }
        Ok(summary)
    }
}

/// Hands serve each execution that starts.
struct Started(tokio::sync::mpsc::UnboundedSender<ExecutionHandle>);

impl ExecutionObserver for Started {
    fn started(&self, handle: &ExecutionHandle) {
        // After serve has returned nobody listens; nothing is lost by that.
        let _ = self.0.send(handle.clone());
    }

    fn finished(&self, _: &ExecutionResult) {}
}

async fn tick(schedule: Option<&mut tokio::time::Interval>) {
    match schedule {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaos_duplicates_about_its_share_delays_within_its_bound_and_repeats_with_its_seed() {
        let chaos = Chaos { duplicate: 0.3, max_delay: Duration::from_millis(500), seed: 7 };
        let plans: Vec<Vec<Duration>> = (0..1000).map(|n| chaos.deliveries(n)).collect();
        let twice = plans.iter().filter(|p| p.len() == 2).count();
        assert!((200..400).contains(&twice), "{twice} of 1000 delivered twice");
        assert!(plans.iter().flatten().all(|d| *d <= chaos.max_delay));
        let distinct: std::collections::BTreeSet<Duration> = plans.iter().flatten().copied().collect();
        assert!(distinct.len() > 900, "delays vary, so events reorder");
        assert_eq!(plans, (0..1000).map(|n| chaos.deliveries(n)).collect::<Vec<_>>());
        let none = Chaos { duplicate: 0.0, ..chaos };
        assert!((0..1000).all(|n| none.deliveries(n).len() == 1));
    }
}
