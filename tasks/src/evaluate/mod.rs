//! The evaluate task: reconcile runs whose execution ended, decide for every
//! job whether it fires or waits (and why, in words), and claim each ready job
//! exactly once.
//!
//! Order of work, and why:
//! 1. **Reconcile** RUNNING runs of other executions that ended (Step
//!    Functions `DescribeExecution`), so their jobs can fire again.
//! 2. **Decide** per job with indexed queries: fresh input files, companion
//!    data, the extra criterion (read-only, statement timeout). The first
//!    criterion that fails is the reason the job waits.
//! 3. **Choose clusters** for every ready job *before* claiming any, so EMR
//!    trouble (throttling) fails the task while nothing is claimed yet.
//! 4. **Claim** each ready job in one transaction: a conditional UPDATE only
//!    one overlapping evaluation can win, the run and its exact inputs, and the
//!    manifest written to S3 *before* the commit. A committed run therefore
//!    always has its manifest; a failed commit leaves an orphan manifest
//!    nobody reads; a failed manifest write rolls the claim back (nothing
//!    claimed, the files stay fresh) and the task fails `Edba.Transient`.
//!
//! A retry of the task in the same execution (after `Edba.Transient`) may find
//! runs this execution claimed before the failure; they are returned again as
//! tickets rather than left RUNNING without a step.

mod cluster;
mod reconcile;
mod superseded;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edba_payloads::jobs::{CompanionRule, Freshness, JobConfig, StepConfig};
use edba_payloads::{EvaluateInput, EvaluateOutput, RunTicket, StepSpec, Trigger, WaitingJob};
use futures::StreamExt;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::project::{load_project, shared_cache, LoadedProject, SqlColumn};
use crate::s3::{s3_url, sdk_failure};
use crate::store::{
    ClaimOutcome, CriterionOutcome, FileSelector, JobDecision, JobState, JobStatus, RunClaim, RunInput, StateStore,
};
use crate::TaskError;
pub use reconcile::{EXECUTION_ENDED, EXECUTION_NOT_FOUND};
pub use superseded::{SUPERSEDED_TAG_KEY, SUPERSEDED_TAG_VALUE};

/// Where "now" comes from; tests fix it.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The system's UTC clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always says the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// Object-key layout of the bucket, as deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluateSettings {
    /// Where the repository's code is deployed (SQL job files, the runner).
    pub code_prefix: String,
    /// The PySpark runner of `sql_job` steps, under `code_prefix`.
    pub sql_runner: String,
    pub manifest_prefix: String,
    pub output_prefix: String,
    /// How long the extra criteria of one evaluation may take together
    /// ([`CRITERIA_BUDGET`] unless a test says otherwise).
    pub criteria_budget: Duration,
    /// How many runs one evaluation claims at most ([`MAX_RUNS`]).
    pub max_runs: usize,
}

/// How many runs one evaluation claims at most; a ready job past it waits,
/// saying so, for the next evaluation. With [`RUNS_BUDGET_BYTES`] this keeps
/// the output, which the Map iterates, far under Step Functions' 256 KiB
/// payload limit: the limit is checked before a claim commits, never after.
pub const MAX_RUNS: usize = 40;
/// The most the run tickets of one output may take, as JSON.
pub const RUNS_BUDGET_BYTES: usize = 96 * 1024;
/// How many waiting jobs and reconciled runs the output lists at most.
pub const MAX_LISTED: usize = 50;
/// How long a listed reason or cause may be, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// The longest the extra criteria of one evaluation may take together (four
/// run at a time). The evaluate function's timeout
/// (`edba_payloads::resource::EVALUATE`, 300 s) holds it with room for
/// reconcile, claims and manifests: a criterion gets at most what is left of
/// the budget, and one that would start after it is spent waits, saying so,
/// until the next evaluation. Before, four slow criteria at a time could run
/// the function out of time with claims half made.
pub const CRITERIA_BUDGET: Duration = Duration::from_secs(120);

impl Default for EvaluateSettings {
    fn default() -> Self {
        EvaluateSettings {
            code_prefix: "code/".into(),
            sql_runner: "scripts/emr/run_sql_job.py".into(),
            manifest_prefix: "manifests/".into(),
            output_prefix: "output/".into(),
            criteria_budget: CRITERIA_BUDGET,
            max_runs: MAX_RUNS,
        }
    }
}

/// What the evaluate task needs; the Lambda builds it once per container.
#[derive(Debug, Clone)]
pub struct EvaluateDeps {
    pub store: StateStore,
    pub sfn: aws_sdk_sfn::Client,
    pub emr: aws_sdk_emr::Client,
    pub s3: aws_sdk_s3::Client,
    /// The edba bucket (manifests, outputs, code).
    pub bucket: String,
    pub clock: Arc<dyn Clock>,
    pub settings: EvaluateSettings,
}

/// A job whose criteria hold, waiting for its cluster and claim.
struct ReadyJob {
    state: JobState,
    config: JobConfig,
}

enum Decision {
    Wait(String),
    /// The job's configuration.
    Ready(Box<JobConfig>),
}

/// The evaluate task. See the module docs for the order of work.
pub async fn evaluate(deps: &EvaluateDeps, input: &EvaluateInput) -> Result<EvaluateOutput, TaskError> {
    let now = deps.clock.now();
    let reconciled = reconcile::reconcile(deps, &input.execution_arn, now).await?;

    let mut runs = resumed_runs(deps, &input.execution_arn).await?;
    if input.request.trigger == Trigger::Rerun {
        if runs.is_empty() {
            runs.push(rerun(deps, input).await?);
        }
        return Ok(bounded(EvaluateOutput {
            evaluated_at: rfc3339(now),
            runs,
            waiting: Vec::new(),
            waiting_total: 0,
            reconciled,
            reconciled_total: 0,
        }));
    }
    let mut waiting = Vec::new();
    let mut ready = Vec::new();
    let companions = Mutex::new(CompanionCache::new());
    let jobs: Vec<JobState> = deps
        .store
        .evaluation_jobs()
        .await?
        .into_iter()
        .filter(|job| !runs.iter().any(|run| run.job_id == job.job_id))
        .collect();
    // Each decision is a few indexed queries; running several at once keeps
    // the pool's connections busy instead of waiting on one round trip at a time.
    let criteria_deadline = Instant::now() + deps.settings.criteria_budget;
    let mut decisions = futures::stream::iter(jobs.into_iter().map(|job| {
        let companions = &companions;
        async move {
            let decision = decide(deps, &job, now, companions, criteria_deadline).await;
            (job, decision)
        }
    }))
    .buffered(DECIDE_CONCURRENCY);
    while let Some((job, decision)) = decisions.next().await {
        match decision? {
            Decision::Wait(reason) => waiting.push(WaitingJob { job_id: job.job_id, reason }),
            Decision::Ready(config) => ready.push(ReadyJob { state: job, config: *config }),
        }
    }
    drop(decisions);

    let mut clusters = cluster::ClusterChooser::new(&deps.emr);
    let mut placed = Vec::new();
    for job in ready {
        match clusters.choose(&job.config.cluster).await? {
            Ok(cluster_id) => placed.push((job, cluster_id)),
            Err(reason) => waiting.push(WaitingJob { job_id: job.state.job_id.clone(), reason }),
        }
    }

    // The datasets' columns as the project declares them now, read once per
    // evaluation and only when a job may fire: every run claimed here reads
    // its files with these types, whatever is pushed later.
    let project =
        if placed.is_empty() { None } else { Some(load_project(&deps.s3, &deps.bucket, shared_cache()).await?) };
    let mut ticket_bytes: usize = runs.iter().map(ticket_size).sum();
    for (job, cluster_id) in placed {
        let job_id = job.state.job_id.clone();
        if runs.len() >= deps.settings.max_runs || ticket_bytes + estimated_ticket_size(&job) > RUNS_BUDGET_BYTES {
            let reason = format!(
                "ready, but this evaluation claimed as many runs as one execution carries ({}); the next \
                 evaluation claims it",
                runs.len()
            );
            waiting.push(WaitingJob { job_id, reason });
            continue;
        }
        let Some(project) = &project else { break }; // loaded whenever a job is placed
        match claim(deps, input, &job, &cluster_id, project, now).await? {
            Ok(ticket) => {
                ticket_bytes += ticket_size(&ticket);
                runs.push(ticket);
            }
            Err(reason) => waiting.push(WaitingJob { job_id, reason }),
        }
    }

    superseded::tag_superseded(deps).await;

    runs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    waiting.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    note_decisions(deps, input, now, &runs, &waiting).await;
    Ok(bounded(EvaluateOutput {
        evaluated_at: rfc3339(now),
        runs,
        waiting,
        waiting_total: 0,
        reconciled,
        reconciled_total: 0,
    }))
}

/// Records every job's decision in the state store, the full detail the
/// bounded output leaves out. The claims have committed by now, so a
/// failure here is logged and the evaluation goes on.
async fn note_decisions(
    deps: &EvaluateDeps,
    input: &EvaluateInput,
    now: OffsetDateTime,
    runs: &[RunTicket],
    waiting: &[WaitingJob],
) {
    let fired: Vec<String> = runs.iter().map(|r| format!("fired run {}", r.run_id)).collect();
    let decisions: Vec<JobDecision<'_>> = runs
        .iter()
        .zip(&fired)
        .map(|(r, reason)| JobDecision { job_id: &r.job_id, fired: true, reason })
        .chain(waiting.iter().map(|w| JobDecision { job_id: &w.job_id, fired: false, reason: &w.reason }))
        .collect();
    if let Err(e) = deps.store.note_decisions(&decisions, now, &input.execution_arn).await {
        tracing::warn!(error = %e, "the jobs' decisions were not recorded; `edba status` shows older ones");
    }
}

/// The serialized size of a ticket.
fn ticket_size(ticket: &RunTicket) -> usize {
    serde_json::to_vec(ticket).map_or(usize::MAX / 2, |v| v.len())
}

/// A ticket's size before its claim: what its configuration puts in it,
/// plus the ids, keys and prefixes the claim adds (bounded by the store's limits).
fn estimated_ticket_size(job: &ReadyJob) -> usize {
    const IDS_AND_KEYS: usize = 4 * 1024;
    let config = serde_json::to_vec(&(&job.config.step, &job.config.load)).map_or(usize::MAX / 2, |v| v.len());
    config + IDS_AND_KEYS
}

/// The output as an execution carries it: at most [`MAX_LISTED`] waiting
/// jobs and reconciled runs, each reason at most [`MAX_REASON_CHARS`], with
/// the totals. The runs are never cut: the claims bounded them.
fn bounded(mut output: EvaluateOutput) -> EvaluateOutput {
    output.waiting_total = output.waiting.len() as u64;
    output.reconciled_total = output.reconciled.len() as u64;
    output.waiting.truncate(MAX_LISTED);
    output.reconciled.truncate(MAX_LISTED);
    for job in &mut output.waiting {
        shorten(&mut job.reason);
    }
    for run in &mut output.reconciled {
        shorten(&mut run.cause);
    }
    output
}

/// Cuts `text` to [`MAX_REASON_CHARS`] characters, ending with an ellipsis.
fn shorten(text: &mut String) {
    if let Some((cut, _)) = text.char_indices().nth(MAX_REASON_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
}

/// Companion answers within one evaluation: (dataset, pattern, max age) -> found.
type CompanionCache = HashMap<(String, String, u32), bool>;

/// Jobs decided at once; at most the store pool's connection count helps.
const DECIDE_CONCURRENCY: usize = 4;

async fn decide(
    deps: &EvaluateDeps,
    job: &JobState,
    now: OffsetDateTime,
    companions: &Mutex<CompanionCache>,
    criteria_deadline: Instant,
) -> Result<Decision, TaskError> {
    if !job.enabled {
        return Ok(Decision::Wait("disabled".into()));
    }
    if job.last_status.as_deref() == Some(JobStatus::Running.as_str()) {
        let run = job.last_run_id.as_deref().unwrap_or("?");
        return Ok(Decision::Wait(format!("RUNNING: run {run} has not finished")));
    }
    let config = match &job.config {
        Ok(config) => config,
        Err(e) => return Ok(Decision::Wait(format!("the stored configuration is unusable: {}", e.reason))),
    };

    let selector = input_selector(config, job, now);
    let fresh = deps.store.count_files(&selector, u64::from(config.input.min_files)).await?;
    if fresh < u64::from(config.input.min_files) {
        return Ok(Decision::Wait(too_few_inputs(config, job, fresh)));
    }
    if requires_new_input(config) {
        let newer = FileSelector { seq_above: job.claimed_seq, ..selector };
        if !deps.store.any_file(&newer).await? {
            return Ok(Decision::Wait(nothing_new(config)));
        }
    }

    for (index, rule) in config.companions.iter().enumerate() {
        let selector = companion_selector(rule, now);
        // Jobs usually share their companion rule (the item master).
        let key = (rule.dataset.clone(), rule.pattern.clone(), rule.max_age_hours);
        let cached = companions.lock().expect("not poisoned").get(&key).copied();
        let found = match cached {
            Some(found) => found,
            None => {
                let found = deps.store.any_file(&selector).await?;
                companions.lock().expect("not poisoned").insert(key, found);
                found
            }
        };
        if !found {
            return Ok(Decision::Wait(no_companion(config, index)));
        }
    }

    if let Some(extra) = &config.extra_criterion {
        let budget = deps.settings.criteria_budget.as_secs_f64();
        let left = criteria_deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Decision::Wait(format!(
                "extra criterion not run: this evaluation's {budget} s for criteria is spent; the next evaluation runs it"
            )));
        }
        let timeout_ms = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).clamp(1, extra.timeout_ms.max(1));
        let outcome = match deps.store.extra_criterion(&extra.sql, timeout_ms).await {
            Ok(outcome) => outcome,
            // The criteria user's login is refused (its secret was rotated
            // and bootstrap not run again): this job waits, the others go on.
            Err(TaskError::InvalidInput(why)) => {
                return Ok(Decision::Wait(format!("extra criterion not run: {why}")));
            }
            Err(e) => return Err(e),
        };
        let reason = match outcome {
            CriterionOutcome::Holds => None,
            CriterionOutcome::NoRow => Some("extra criterion returned no row".to_owned()),
            CriterionOutcome::Failed(e) => Some(format!("extra criterion failed: {e}")),
            CriterionOutcome::TimedOut if timeout_ms < extra.timeout_ms => Some(format!(
                "extra criterion stopped after {timeout_ms} ms, when this evaluation's {budget} s for criteria \
                 ran out; the next evaluation runs it again"
            )),
            CriterionOutcome::TimedOut => Some(format!("extra criterion timed out after {} ms", extra.timeout_ms)),
        };
        if let Some(reason) = reason {
            return Ok(Decision::Wait(reason));
        }
    }

    Ok(Decision::Ready(Box::new(config.clone())))
}

/// `h` hours before `now`, or the epoch when that is before any date the
/// clock can show (a stored configuration is not trusted to be in range).
fn hours_before(now: OffsetDateTime, h: u32) -> OffsetDateTime {
    now.checked_sub(time::Duration::hours(i64::from(h))).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The files a run of the job would read now. `since_last_run`: every
/// usable version above the job's watermark (the store's sequence, never a
/// clock). `within_hours`: every usable file validated in the window.
fn input_selector<'a>(config: &'a JobConfig, job: &JobState, now: OffsetDateTime) -> FileSelector<'a> {
    let (seq_above, validated_after) = match config.input.freshness {
        Freshness::SinceLastRun => (job.claimed_seq, None),
        Freshness::WithinHours { hours: h } => (0, Some(hours_before(now, h))),
    };
    FileSelector { dataset: &config.input.dataset, glob: &config.input.pattern, seq_above, validated_after }
}

/// A `within_hours` job fires only when one of its inputs is new since its
/// latest run: an identical input set never fires twice.
fn requires_new_input(config: &JobConfig) -> bool {
    matches!(config.input.freshness, Freshness::WithinHours { .. })
}

fn companion_selector(rule: &CompanionRule, now: OffsetDateTime) -> FileSelector<'_> {
    FileSelector {
        dataset: &rule.dataset,
        glob: &rule.pattern,
        seq_above: 0,
        validated_after: Some(hours_before(now, rule.max_age_hours)),
    }
}

fn nothing_new(config: &JobConfig) -> String {
    format!("no {} file is new since the job's latest run read them", config.input.pattern)
}

fn too_few_inputs(config: &JobConfig, job: &JobState, fresh: u64) -> String {
    let counted = format!("{fresh} of {} {} files", config.input.min_files, config.input.pattern);
    match (config.input.freshness, job.last_fired_at) {
        (Freshness::WithinHours { hours }, _) => {
            format!("{counted} validated in the last {hours} h")
        }
        (Freshness::SinceLastRun, Some(fired)) => {
            format!("{counted} fresh since {}", reason_time(fired))
        }
        (Freshness::SinceLastRun, None) => format!("never run: {counted} fresh"),
    }
}

fn no_companion(config: &JobConfig, index: usize) -> String {
    let rule = &config.companions[index];
    format!("no {} file matching {} validated in the last {} h", rule.dataset, rule.pattern, rule.max_age_hours)
}

/// Claims a ready job on its cluster (the manifest is written inside the
/// claim transaction) and builds its ticket, or says why it did not fire.
async fn claim(
    deps: &EvaluateDeps,
    input: &EvaluateInput,
    job: &ReadyJob,
    cluster_id: &str,
    project: &LoadedProject,
    now: OffsetDateTime,
) -> Result<Result<RunTicket, String>, TaskError> {
    let config = &job.config;
    let job_id = job.state.job_id.as_str();
    let run_id = new_run_id(job_id, now);
    let settings = &deps.settings;
    let manifest_key = format!("{}{job_id}/{run_id}.json", settings.manifest_prefix);
    let output_prefix = format!("{}{job_id}/{run_id}/", settings.output_prefix);
    let companions = config.companions.iter().map(|rule| companion_selector(rule, now)).collect();
    let request = RunClaim {
        job_id,
        config_version: job.state.config_version,
        claimed_seq: job.state.claimed_seq,
        require_new_input: requires_new_input(config),
        now,
        run_id: &run_id,
        execution_arn: &input.execution_arn,
        cluster_id,
        manifest_key: &manifest_key,
        output_prefix: &output_prefix,
        project_version: project.version.as_deref(),
        inputs: input_selector(config, &job.state, now),
        min_files: config.input.min_files,
        companions,
    };
    let write_manifest = |inputs: &[RunInput]| {
        let body = manifest_json(&deps.bucket, job_id, &run_id, inputs, project, now);
        let (s3, bucket, key) = (deps.s3.clone(), deps.bucket.clone(), manifest_key.clone());
        async move {
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .content_type("application/json")
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(|e| sdk_failure("PutObject", &s3_url(&bucket, &key), e))?;
            Ok(())
        }
    };
    let inputs = match deps.store.claim_run(&request, write_manifest).await? {
        ClaimOutcome::Claimed { inputs } => inputs,
        ClaimOutcome::Lost => return Ok(Err("claimed by another evaluation (now RUNNING)".to_owned())),
        ClaimOutcome::TooFewInputs(fresh) => return Ok(Err(too_few_inputs(config, &job.state, fresh))),
        ClaimOutcome::NoCompanion(index) => return Ok(Err(no_companion(config, index))),
        ClaimOutcome::NothingNew => return Ok(Err(nothing_new(config))),
    };
    Ok(Ok(RunTicket {
        step: step_spec(deps, config, job_id, &run_id, &manifest_key, &output_prefix),
        run_id,
        job_id: job_id.to_owned(),
        cluster_id: cluster_id.to_owned(),
        manifest_key,
        output_prefix,
        input_count: inputs.len() as u64,
        tables: config.load.tables.clone(),
    }))
}

/// Re-runs one FAILED run from its recorded manifest (`trigger: rerun`): the
/// same input versions and output prefix, on a cluster chosen now; its
/// outcome is recorded on the same run. Nothing new is claimed.
async fn rerun(deps: &EvaluateDeps, input: &EvaluateInput) -> Result<RunTicket, TaskError> {
    let refused = |reason: String| TaskError::InvalidInput(format!("rerun: {reason}"));
    let run_id = input.request.run_id.as_deref().ok_or_else(|| refused("the input names no run_id".into()))?;
    let job_id = deps
        .store
        .job_of_run(run_id)
        .await?
        .ok_or_else(|| refused(format!("there is no run {run_id:?} in the state store")))?;
    let job = deps.store.evaluation_jobs().await?.into_iter().find(|job| job.job_id == job_id);
    let config = match job.map(|job| job.config) {
        Some(Ok(config)) => config,
        Some(Err(e)) => return Err(refused(format!("the stored configuration is unusable: {}", e.reason))),
        None => return Err(refused(format!("job {job_id} no longer exists"))),
    };
    let cluster_id = match cluster::ClusterChooser::new(&deps.emr).choose(&config.cluster).await? {
        Ok(cluster_id) => cluster_id,
        Err(reason) => return Err(TaskError::Transient(format!("rerun of {run_id}: {reason}"))),
    };
    deps.store.restart_run(run_id, &input.execution_arn, &cluster_id).await?.map_err(refused)?;
    resumed_runs(deps, &input.execution_arn)
        .await?
        .into_iter()
        .find(|ticket| ticket.run_id == run_id)
        .ok_or_else(|| TaskError::Transient(format!("rerun of {run_id}: the restarted run was not found")))
}

/// Tickets of runs this execution claimed in an earlier attempt of the task.
async fn resumed_runs(deps: &EvaluateDeps, execution_arn: &str) -> Result<Vec<RunTicket>, TaskError> {
    let mut tickets = Vec::new();
    for run in deps.store.execution_runs(execution_arn).await? {
        let config = match run.config {
            Ok(config) => config,
            Err(e) => {
                // Its ticket cannot be built; reconciliation fails the run
                // once this execution has ended.
                tracing::warn!(run_id = %run.run_id, job_id = %run.job_id, "{e}");
                continue;
            }
        };
        tickets.push(RunTicket {
            step: step_spec(deps, &config, &run.job_id, &run.run_id, &run.manifest_key, &run.output_prefix),
            run_id: run.run_id,
            job_id: run.job_id,
            cluster_id: run.cluster_id,
            manifest_key: run.manifest_key,
            output_prefix: run.output_prefix,
            input_count: run.input_count,
            tables: config.load.tables,
        });
    }
    Ok(tickets)
}

/// The `command-runner.jar` step of a run.
fn step_spec(
    deps: &EvaluateDeps,
    config: &JobConfig,
    job_id: &str,
    run_id: &str,
    manifest_key: &str,
    output_prefix: &str,
) -> StepSpec {
    let bucket = &deps.bucket;
    let code = &deps.settings.code_prefix;
    let manifest = s3_url(bucket, manifest_key);
    let output = s3_url(bucket, output_prefix);
    let args = match &config.step {
        StepConfig::SqlJob { sql } => vec![
            "spark-submit".to_owned(),
            "--deploy-mode".to_owned(),
            "cluster".to_owned(),
            s3_url(bucket, &format!("{code}{}", deps.settings.sql_runner)),
            "--manifest".to_owned(),
            manifest,
            "--sql".to_owned(),
            s3_url(bucket, &format!("{code}{sql}")),
            "--output".to_owned(),
            output,
        ],
        StepConfig::SparkSubmit { args } => {
            args.iter().map(|arg| arg.replace("{manifest}", &manifest).replace("{output}", &output)).collect()
        }
    };
    StepSpec { name: format!("edba {job_id} {run_id}"), args }
}

#[derive(Serialize)]
struct Manifest<'a> {
    bucket: &'a str,
    job_id: &'a str,
    run_id: &'a str,
    inputs: Vec<ManifestInput<'a>>,
    created_at: String,
    /// Which `code/edba.toml` the run was claimed under (S3 version id, else
    /// ETag); `None` for the built-in sample.
    project_version: Option<&'a str>,
    /// Each input dataset's columns, typed: the step reads the validated
    /// files with exactly these.
    datasets: BTreeMap<&'a str, Vec<SqlColumn>>,
}

#[derive(Serialize)]
struct ManifestInput<'a> {
    dataset: &'a str,
    file_url: &'a str,
    key: &'a str,
    version_id: Option<&'a str>,
    etag: Option<&'a str>,
    validated_key: Option<&'a str>,
    validated_etag: Option<&'a str>,
}

fn manifest_json(
    bucket: &str,
    job_id: &str,
    run_id: &str,
    inputs: &[RunInput],
    project: &LoadedProject,
    now: OffsetDateTime,
) -> String {
    let datasets = inputs
        .iter()
        .filter_map(|input| project.project.dataset(&input.dataset))
        .map(|dataset| (dataset.name.as_str(), dataset.sql_columns()))
        .collect();
    let manifest = Manifest {
        project_version: project.version.as_deref(),
        datasets,
        bucket,
        job_id,
        run_id,
        inputs: inputs
            .iter()
            .map(|input| ManifestInput {
                dataset: &input.dataset,
                file_url: &input.file_url,
                key: &input.key,
                version_id: input.version_id.as_deref(),
                etag: input.etag.as_deref(),
                validated_key: input.validated_key.as_deref(),
                validated_etag: input.validated_etag.as_deref(),
            })
            .collect(),
        created_at: rfc3339(now),
    };
    serde_json::to_string_pretty(&manifest).expect("a manifest serializes")
}

/// Longest job-id part of a run id: `job_runs.run_id` holds 64 characters and
/// the rest (`-20261127T071500Z-abcdef`) takes 24.
const RUN_ID_JOB_CHARS: usize = 40;

/// `J101-20261127T071500Z-3f9a0c`: sorts by job, then time; the random
/// suffix separates runs claimed in the same second.
fn new_run_id(job_id: &str, now: OffsetDateTime) -> String {
    use std::hash::{BuildHasher, Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded randomly per process; the sequence and the clock
    // make successive ids within a process differ.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    SEQ.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    OffsetDateTime::now_utc().unix_timestamp_nanos().hash(&mut hasher);
    job_id.hash(&mut hasher);
    let suffix = hasher.finish() & 0xff_ffff;
    let job: String = job_id.chars().take(RUN_ID_JOB_CHARS).collect();
    let stamp =
        now.format(format_description!("[year][month][day]T[hour][minute][second]Z")).expect("a UTC instant formats");
    format!("{job}-{stamp}-{suffix:06x}")
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("a UTC instant formats")
}

/// Whole seconds, as people read them in a reason.
fn reason_time(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).expect("a UTC instant formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_criteria_budget_leaves_half_the_evaluate_functions_time_for_the_rest() {
        // A criterion is clipped to what is left of the budget, so all of
        // them end within it (plus the client's grace for one round trip).
        let function = Duration::from_secs(edba_payloads::resource::EVALUATE.timeout_seconds);
        assert!(CRITERIA_BUDGET * 2 <= function, "{CRITERIA_BUDGET:?} of {function:?}");
        assert_eq!(EvaluateSettings::default().criteria_budget, CRITERIA_BUDGET);
    }

    #[test]
    fn an_output_after_an_outage_fits_a_step_functions_payload_with_room_to_spare() {
        // Tickets at their budget, and far more waiting jobs and reconciled
        // runs, with long reasons, than any evaluation lists.
        let ticket = RunTicket {
            run_id: "J".repeat(64),
            job_id: "J".repeat(64),
            cluster_id: "j-1234567890ABC".into(),
            step: StepSpec { name: "s".repeat(200), args: vec!["a".repeat(1000); 2] },
            manifest_key: "m".repeat(300),
            output_prefix: "o".repeat(300),
            input_count: 1_000_000,
            tables: vec!["t".repeat(63); 4],
        };
        let per_ticket = serde_json::to_vec(&ticket).unwrap().len();
        let runs = vec![ticket; (RUNS_BUDGET_BYTES / per_ticket).min(MAX_RUNS)];
        let reason = "é".repeat(5000);
        let output = bounded(EvaluateOutput {
            evaluated_at: "2026-12-06T00:00:00Z".into(),
            runs,
            waiting: (0..5000).map(|i| WaitingJob { job_id: format!("J{i:05}"), reason: reason.clone() }).collect(),
            waiting_total: 0,
            reconciled: (0..5000)
                .map(|i| edba_payloads::ReconciledRun {
                    run_id: format!("R{i}"),
                    job_id: "J".repeat(64),
                    execution_status: "ABORTED".into(),
                    cause: reason.clone(),
                })
                .collect(),
            reconciled_total: 0,
        });
        let size = serde_json::to_vec(&output).unwrap().len();
        assert!(size < 256 * 1024 - 32 * 1024, "{size} bytes, with the machine's own fields still to fit");
        assert_eq!((output.waiting_total, output.reconciled_total), (5000, 5000));
        assert_eq!((output.waiting.len(), output.reconciled.len()), (MAX_LISTED, MAX_LISTED));
        assert_eq!(output.waiting[0].job_id, "J00000", "the first by id are listed");
        assert_eq!(output.waiting[0].reason.chars().count(), MAX_REASON_CHARS + 1, "cut, with an ellipsis");
        assert!(output.waiting[0].reason.ends_with('…'));
    }

    #[test]
    fn run_ids_sort_by_job_then_time_and_fit_the_column() {
        let a = new_run_id("J101", datetime!(2026-11-27 07:15:00 UTC));
        let b = new_run_id("J101", datetime!(2026-11-27 07:15:00 UTC));
        assert!(a.starts_with("J101-20261127T071500Z-"), "{a}");
        assert_eq!(a.len(), "J101-20261127T071500Z-".len() + 6);
        assert_ne!(a, b);
        let long = new_run_id(&"J".repeat(64), datetime!(2026-11-27 07:15:00 UTC));
        assert_eq!(long.chars().count(), 64);
    }

    #[test]
    fn reasons_show_whole_seconds() {
        assert_eq!(reason_time(datetime!(2026-11-27 06:00:00.123456 UTC)), "2026-11-27T06:00:00Z");
    }
}
