//! The evaluate task's statements: reading jobs and runs, counting fresh
//! inputs (`files.rs`), reconciling dead runs and the atomic claim. The extra
//! criterion is `criterion.rs`.

use std::collections::HashSet;
use std::future::Future;

use time::OffsetDateTime;

use super::dialect::{begin_write, Backend, Param, ReadRow};
use super::time::StoreTime;
use super::types::{
    ClaimOutcome, CriterionOutcome, ExecutionRun, FileSelector, JobState, RunClaim, RunInput, RunningRun,
    UnreadableConfig,
};
use super::{criterion, files, JobStatus, StateStore};
use crate::TaskError;

/// A run's inputs are inserted this many rows per statement.
const INPUT_ROWS_PER_INSERT: usize = 500;

fn transient(context: &str) -> impl FnOnce(sqlx::Error) -> TaskError + '_ {
    move |e| TaskError::transient(context, e)
}

impl StateStore {
    /// Every job with its run state, by job id.
    pub(crate) async fn evaluation_jobs(&self) -> Result<Vec<JobState>, TaskError> {
        dispatch!(&self.pool, pool => jobs(pool).await).map_err(transient("reading job configurations"))
    }

    /// Every run still RUNNING.
    pub(crate) async fn running_runs(&self) -> Result<Vec<RunningRun>, TaskError> {
        dispatch!(&self.pool, pool => running_runs(pool).await).map_err(transient("reading running runs"))
    }

    /// RUNNING runs claimed by this execution (an earlier attempt of the task).
    pub(crate) async fn execution_runs(&self, execution_arn: &str) -> Result<Vec<ExecutionRun>, TaskError> {
        dispatch!(&self.pool, pool => execution_runs(pool, execution_arn).await)
            .map_err(transient("reading this execution's runs"))
    }

    /// Marks a RUNNING run (and its job) FAILED; false if it had already ended.
    pub(crate) async fn fail_run(
        &self,
        run: &RunningRun,
        error: &str,
        cause: &str,
        at: OffsetDateTime,
    ) -> Result<bool, TaskError> {
        let at = StoreTime::new(at);
        dispatch!(&self.pool, pool => fail_run(pool, run, error, cause, at).await)
            .map_err(transient("marking a run FAILED"))
    }

    /// How many usable files the selector matches, counting no further than `limit`.
    pub(crate) async fn count_files(&self, files: &FileSelector<'_>, limit: u64) -> Result<u64, TaskError> {
        dispatch!(&self.pool, pool => count_files(pool, files, limit).await)
            .map_err(transient("counting a job's input files"))
    }

    /// Whether the selector matches at least one usable file.
    pub(crate) async fn any_file(&self, files: &FileSelector<'_>) -> Result<bool, TaskError> {
        dispatch!(&self.pool, pool => any_file(pool, files).await)
            .map_err(transient("looking for a job's companion files"))
    }

    /// Claims a job (see [`claim`]). A lost race is `Ok(ClaimOutcome::Lost)`;
    /// database trouble and a manifest that could not be written are errors,
    /// after rollback.
    pub(crate) async fn claim_run<F, Fut>(
        &self,
        request: &RunClaim<'_>,
        write_manifest: F,
    ) -> Result<ClaimOutcome, TaskError>
    where
        F: FnOnce(&[RunInput]) -> Fut,
        Fut: Future<Output = Result<(), TaskError>>,
    {
        dispatch!(&self.pool, pool => claim(pool, request, write_manifest).await)
            .map_err(transient("claiming a job"))?
    }

    /// Runs a job's extra criterion (see `criterion.rs`).
    pub(crate) async fn extra_criterion(&self, sql: &str, timeout_ms: u32) -> Result<CriterionOutcome, TaskError> {
        dispatch!(&self.pool, pool => criterion::run(pool, sql, timeout_ms).await)
    }
}

async fn jobs<B: Backend>(pool: &sqlx::Pool<B>) -> Result<Vec<JobState>, sqlx::Error> {
    let sql = format!(
        "SELECT job_id, enabled, config_version, {} AS config_text, last_status, last_run_id, \
         last_fired_at FROM job_configs ORDER BY job_id",
        B::json_text("config")
    );
    let rows = B::fetch_all(&mut *pool.acquire().await?, &sql, &[]).await?;
    rows.iter()
        .map(|row| {
            let job_id: String = row.read("job_id")?;
            Ok(JobState {
                config: UnreadableConfig::parse(&job_id, &row.read::<String>("config_text")?),
                job_id,
                enabled: row.read("enabled")?,
                config_version: row.read("config_version")?,
                last_status: row.read("last_status")?,
                last_run_id: row.read("last_run_id")?,
                last_fired_at: row.read::<Option<StoreTime>>("last_fired_at")?.map(StoreTime::get),
            })
        })
        .collect()
}

async fn count_files<B: Backend>(
    pool: &sqlx::Pool<B>,
    files: &FileSelector<'_>,
    limit: u64,
) -> Result<u64, sqlx::Error> {
    files::count::<B>(&mut *pool.acquire().await?, files, limit).await
}

async fn any_file<B: Backend>(pool: &sqlx::Pool<B>, files: &FileSelector<'_>) -> Result<bool, sqlx::Error> {
    files::any::<B>(&mut *pool.acquire().await?, files).await
}

async fn running_runs<B: Backend>(pool: &sqlx::Pool<B>) -> Result<Vec<RunningRun>, sqlx::Error> {
    let sql = "SELECT run_id, job_id, execution_arn FROM job_runs WHERE status = ? ORDER BY run_id";
    let rows = B::fetch_all(&mut *pool.acquire().await?, sql, &[JobStatus::Running.as_str().into()]).await?;
    rows.iter()
        .map(|row| {
            Ok(RunningRun {
                run_id: row.read("run_id")?,
                job_id: row.read("job_id")?,
                execution_arn: row.read("execution_arn")?,
            })
        })
        .collect()
}

async fn execution_runs<B: Backend>(
    pool: &sqlx::Pool<B>,
    execution_arn: &str,
) -> Result<Vec<ExecutionRun>, sqlx::Error> {
    let sql = format!(
        "SELECT r.run_id, r.job_id, r.cluster_id, r.manifest_key, r.output_prefix, \
         {} AS config_text, (SELECT COUNT(*) FROM run_inputs i WHERE i.run_id = r.run_id) \
         AS input_count FROM job_runs r JOIN job_configs j ON j.job_id = r.job_id \
         WHERE r.status = ? AND r.execution_arn = ? ORDER BY r.run_id",
        B::json_text("j.config")
    );
    let params = [JobStatus::Running.as_str().into(), execution_arn.into()];
    let rows = B::fetch_all(&mut *pool.acquire().await?, &sql, &params).await?;
    rows.iter()
        .map(|row| {
            let text = |column: &str| -> Result<String, sqlx::Error> {
                Ok(row.read::<Option<String>>(column)?.unwrap_or_default())
            };
            let job_id: String = row.read("job_id")?;
            Ok(ExecutionRun {
                run_id: row.read("run_id")?,
                config: UnreadableConfig::parse(&job_id, &row.read::<String>("config_text")?),
                job_id,
                cluster_id: text("cluster_id")?,
                manifest_key: text("manifest_key")?,
                output_prefix: text("output_prefix")?,
                input_count: u64::try_from(row.read::<i64>("input_count")?).unwrap_or(0),
            })
        })
        .collect()
}

/// Marks a RUNNING run FAILED, and its job when the run is the job's latest;
/// false when the run was no longer RUNNING.
async fn fail_run<B: Backend>(
    pool: &sqlx::Pool<B>,
    run: &RunningRun,
    error: &str,
    cause: &str,
    at: StoreTime,
) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    let (running, failed) = (JobStatus::Running.as_str(), JobStatus::Failed.as_str());
    let changed = B::execute(
        &mut tx,
        "UPDATE job_runs SET status = ?, finished_at = ?, error = ?, cause = ? WHERE run_id = ? AND status = ?",
        &[failed.into(), at.into(), error.into(), cause.into(), (&run.run_id).into(), running.into()],
    )
    .await?;
    if changed != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    B::execute(
        &mut tx,
        "UPDATE job_configs SET last_status = ?, last_finished_at = ? \
         WHERE job_id = ? AND last_run_id = ? AND last_status = ?",
        &[failed.into(), at.into(), (&run.job_id).into(), (&run.run_id).into(), running.into()],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Claims a job for one run, in one transaction: the conditional UPDATE that
/// only one evaluation can win, the run and its exact inputs, and
/// `write_manifest` before the commit, so a committed run always has its
/// manifest (a manifest whose commit then failed names a run that does not
/// exist and is never read).
async fn claim<B: Backend, F, Fut>(
    pool: &sqlx::Pool<B>,
    claim: &RunClaim<'_>,
    write_manifest: F,
) -> Result<Result<ClaimOutcome, TaskError>, sqlx::Error>
where
    F: FnOnce(&[RunInput]) -> Fut,
    Fut: Future<Output = Result<(), TaskError>>,
{
    let mut conn = pool.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    let now = StoreTime::new(claim.now);
    let running = JobStatus::Running.as_str();
    let sql = format!(
        "UPDATE job_configs SET last_status = ?, last_run_id = ?, last_fired_at = ? \
         WHERE job_id = ? AND enabled = ? AND config_version = ? \
         AND (last_status IS NULL OR last_status <> ?) AND last_fired_at {} ?",
        B::NULL_SAFE_EQ
    );
    let params = [
        running.into(),
        claim.run_id.into(),
        now.into(),
        claim.job_id.into(),
        true.into(),
        claim.config_version.into(),
        running.into(),
        claim.last_fired_at.map(StoreTime::new).into(),
    ];
    if B::execute(&mut tx, &sql, &params).await? != 1 {
        tx.rollback().await?;
        return Ok(Ok(ClaimOutcome::Lost));
    }

    // Read again under the claim: what the run reads is what is there now,
    // not what the decision counted a moment ago.
    let mut inputs = files::list::<B>(&mut tx, &claim.inputs).await?;
    let fresh = inputs.len() as u64;
    if fresh < u64::from(claim.min_files) {
        tx.rollback().await?;
        return Ok(Ok(ClaimOutcome::TooFewInputs(fresh)));
    }
    for (index, companion) in claim.companions.iter().enumerate() {
        let files = files::list::<B>(&mut tx, companion).await?;
        if files.is_empty() {
            tx.rollback().await?;
            return Ok(Ok(ClaimOutcome::NoCompanion(index)));
        }
        inputs.extend(files);
    }
    // A companion selector may overlap the input selector.
    let mut seen = HashSet::new();
    inputs.retain(|input| seen.insert(input.file_url.clone()));

    B::execute(
        &mut tx,
        "INSERT INTO job_runs (run_id, job_id, config_version, status, cluster_id, \
         execution_arn, manifest_key, output_prefix, started_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            claim.run_id.into(),
            claim.job_id.into(),
            claim.config_version.into(),
            running.into(),
            claim.cluster_id.into(),
            claim.execution_arn.into(),
            claim.manifest_key.into(),
            claim.output_prefix.into(),
            now.into(),
        ],
    )
    .await?;
    for chunk in inputs.chunks(INPUT_ROWS_PER_INSERT) {
        let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO run_inputs (run_id, file_url, version_id, etag) VALUES {rows}");
        let params: Vec<Param<'_>> = chunk
            .iter()
            .flat_map(|input| {
                [claim.run_id.into(), (&input.file_url).into(), (&input.version_id).into(), (&input.etag).into()]
            })
            .collect();
        B::execute(&mut tx, &sql, &params).await?;
    }

    if let Err(e) = write_manifest(&inputs).await {
        tx.rollback().await?;
        return Ok(Err(e));
    }
    tx.commit().await?;
    Ok(Ok(ClaimOutcome::Claimed { inputs }))
}
