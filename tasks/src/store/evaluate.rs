//! The evaluate task's statements: reading jobs and runs, counting fresh
//! inputs (`files.rs`), reconciling dead runs and the atomic claim. The extra
//! criterion is `criterion.rs`.

use std::collections::HashSet;
use std::future::Future;

use time::OffsetDateTime;

use super::dialect::{begin_write, Backend, Param, ReadRow};
use super::pool::{database_error, StorePool};
use super::time::StoreTime;
use super::types::{
    ClaimOutcome, CriterionOutcome, ExecutionRun, FileSelector, JobState, RunClaim, RunInput, RunningRun,
    UnreadableConfig,
};
use super::{criterion, files, Dialect, JobStatus, StateStore, CRITERIA_LOGIN_WARNING};
use crate::TaskError;

/// A run's inputs are inserted this many rows per statement.
const INPUT_ROWS_PER_INSERT: usize = 500;

/// A statement's failure as the task's error (see [`database_error`]).
fn failure(context: &str) -> impl FnOnce(sqlx::Error) -> TaskError + '_ {
    move |e| database_error(context, e)
}

impl StateStore {
    /// Every job with its run state, by job id.
    pub(crate) async fn evaluation_jobs(&self) -> Result<Vec<JobState>, TaskError> {
        dispatch!(&self.pool, pool => jobs(pool).await).map_err(failure("reading job configurations"))
    }

    /// Every run still RUNNING.
    pub(crate) async fn running_runs(&self) -> Result<Vec<RunningRun>, TaskError> {
        dispatch!(&self.pool, pool => running_runs(pool).await).map_err(failure("reading running runs"))
    }

    /// RUNNING runs claimed by this execution (an earlier attempt of the task).
    pub(crate) async fn execution_runs(&self, execution_arn: &str) -> Result<Vec<ExecutionRun>, TaskError> {
        dispatch!(&self.pool, pool => execution_runs(pool, execution_arn).await)
            .map_err(failure("reading this execution's runs"))
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
            .map_err(failure("marking a run FAILED"))
    }

    /// How many usable files the selector matches, counting no further than `limit`.
    pub(crate) async fn count_files(&self, files: &FileSelector<'_>, limit: u64) -> Result<u64, TaskError> {
        dispatch!(&self.pool, pool => count_files(pool, files, limit).await)
            .map_err(failure("counting a job's input files"))
    }

    /// Whether the selector matches at least one usable file.
    pub(crate) async fn any_file(&self, files: &FileSelector<'_>) -> Result<bool, TaskError> {
        dispatch!(&self.pool, pool => any_file(pool, files).await)
            .map_err(failure("looking for a job's companion files"))
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
        dispatch!(&self.pool, pool => claim(pool, request, write_manifest).await).map_err(failure("claiming a job"))?
    }

    /// Runs a job's extra criterion (see `criterion.rs`): on MySQL on the
    /// criteria pool, as the SELECT-only user, when the store has one.
    pub(crate) async fn extra_criterion(&self, sql: &str, timeout_ms: u32) -> Result<CriterionOutcome, TaskError> {
        if let Some(criteria) = &self.criteria {
            return criterion::run(criteria, sql, timeout_ms).await;
        }
        if self.dialect() == Dialect::MySql {
            CRITERIA_LOGIN_WARNING.call_once(|| {
                tracing::warn!(
                    "extra criteria run as the state store's own user, which may read every schema it can: \
                     give the store a SELECT-only criteria login (EDBA_CRITERIA_SECRET_ARN)"
                );
            });
        }
        dispatch!(&self.pool, pool => criterion::run(pool, sql, timeout_ms).await)
    }
}

async fn jobs<B: Backend>(pool: &StorePool<B>) -> Result<Vec<JobState>, sqlx::Error> {
    let sql = format!(
        "SELECT job_id, enabled, config_version, {} AS config_text, last_status, last_run_id, \
         last_fired_at, claimed_seq FROM job_configs ORDER BY job_id",
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
                claimed_seq: row.read("claimed_seq")?,
            })
        })
        .collect()
}

async fn count_files<B: Backend>(
    pool: &StorePool<B>,
    files: &FileSelector<'_>,
    limit: u64,
) -> Result<u64, sqlx::Error> {
    files::count::<B>(&mut *pool.acquire().await?, files, limit).await
}

async fn any_file<B: Backend>(pool: &StorePool<B>, files: &FileSelector<'_>) -> Result<bool, sqlx::Error> {
    files::any::<B>(&mut *pool.acquire().await?, files).await
}

async fn running_runs<B: Backend>(pool: &StorePool<B>) -> Result<Vec<RunningRun>, sqlx::Error> {
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
    pool: &StorePool<B>,
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
/// false when the run was no longer RUNNING. The run gives its inputs back:
/// when it is still the job's latest run, the job's watermark returns to what
/// it was before the claim, so the next evaluation finds them fresh again.
async fn fail_run<B: Backend>(
    pool: &StorePool<B>,
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
    let seq_before: Option<i64> =
        B::fetch_optional(&mut tx, "SELECT seq_before FROM job_runs WHERE run_id = ?", &[(&run.run_id).into()])
            .await?
            .map(|row| row.read("seq_before"))
            .transpose()?
            .flatten();
    B::execute(
        &mut tx,
        "UPDATE job_configs SET last_status = ?, last_finished_at = ?, claimed_seq = COALESCE(?, claimed_seq) \
         WHERE job_id = ? AND last_run_id = ? AND last_status = ?",
        &[failed.into(), at.into(), seq_before.into(), (&run.job_id).into(), (&run.run_id).into(), running.into()],
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
    pool: &StorePool<B>,
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
    let sql = "UPDATE job_configs SET last_status = ?, last_run_id = ?, last_fired_at = ? \
         WHERE job_id = ? AND enabled = ? AND config_version = ? \
         AND (last_status IS NULL OR last_status <> ?) AND claimed_seq = ?";
    let params = [
        running.into(),
        claim.run_id.into(),
        now.into(),
        claim.job_id.into(),
        true.into(),
        claim.config_version.into(),
        running.into(),
        claim.claimed_seq.into(),
    ];
    if B::execute(&mut tx, sql, &params).await? != 1 {
        tx.rollback().await?;
        return Ok(Ok(ClaimOutcome::Lost));
    }

    // Read again under the claim, in one statement: what the run reads is
    // what is there now, not what the decision counted a moment ago. Track
    // commits sequences in order, so this one snapshot holds every usable
    // version up to the highest sequence it returns; that becomes the job's
    // watermark, and nothing at or below it is left unread.
    let mut inputs = files::list::<B>(&mut tx, &claim.inputs).await?;
    let fresh = inputs.len() as u64;
    if fresh < u64::from(claim.min_files) {
        tx.rollback().await?;
        return Ok(Ok(ClaimOutcome::TooFewInputs(fresh)));
    }
    let newest = inputs.iter().map(|input| input.seq).max().unwrap_or(0);
    if claim.require_new_input && newest <= claim.claimed_seq {
        tx.rollback().await?;
        return Ok(Ok(ClaimOutcome::NothingNew));
    }
    let seq_claimed = newest.max(claim.claimed_seq);
    B::execute(
        &mut tx,
        "UPDATE job_configs SET claimed_seq = ? WHERE job_id = ?",
        &[seq_claimed.into(), claim.job_id.into()],
    )
    .await?;
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
         execution_arn, manifest_key, output_prefix, started_at, seq_before, seq_claimed, project_version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            claim.claimed_seq.into(),
            seq_claimed.into(),
            claim.project_version.into(),
        ],
    )
    .await?;
    for chunk in inputs.chunks(INPUT_ROWS_PER_INSERT) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO run_inputs (run_id, file_url, version_id, etag, seq, object_key, \
             validated_key, validated_etag) VALUES {rows}"
        );
        let params: Vec<Param<'_>> = chunk
            .iter()
            .flat_map(|input| {
                [
                    claim.run_id.into(),
                    (&input.file_url).into(),
                    (&input.version_id).into(),
                    (&input.etag).into(),
                    input.seq.into(),
                    (&input.key).into(),
                    (&input.validated_key).into(),
                    (&input.validated_etag).into(),
                ]
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

impl StateStore {
    /// Sets a FAILED run RUNNING again under `execution_arn`, to be re-run
    /// from its recorded manifest (`edba rerun`). Only the job's latest run
    /// can be re-run: an older one would merge older inputs over newer
    /// results. A refusal is `Ok(Err(reason))`.
    pub(crate) async fn restart_run(
        &self,
        run_id: &str,
        execution_arn: &str,
        cluster_id: &str,
    ) -> Result<Result<(), String>, TaskError> {
        dispatch!(&self.pool, pool => restart_run(pool, run_id, execution_arn, cluster_id).await)
            .map_err(failure("restarting a run"))
    }

    /// Notes why a RUNNING run could not be reconciled, in its `cause`; the
    /// run stays RUNNING.
    pub(crate) async fn note_run_cause(&self, run_id: &str, cause: &str) -> Result<(), TaskError> {
        dispatch!(&self.pool, pool => note_run_cause(pool, run_id, cause).await)
            .map_err(failure("noting a run's cause"))
    }

    /// The job a run belongs to, or `None` for an unknown run id.
    pub(crate) async fn job_of_run(&self, run_id: &str) -> Result<Option<String>, TaskError> {
        dispatch!(&self.pool, pool => job_of_run(pool, run_id).await).map_err(failure("reading a run"))
    }
}

async fn note_run_cause<B: Backend>(pool: &StorePool<B>, run_id: &str, cause: &str) -> Result<(), sqlx::Error> {
    B::execute(
        &mut *pool.acquire().await?,
        "UPDATE job_runs SET cause = ? WHERE run_id = ? AND status = ?",
        &[cause.into(), run_id.into(), JobStatus::Running.as_str().into()],
    )
    .await?;
    Ok(())
}

async fn job_of_run<B: Backend>(pool: &StorePool<B>, run_id: &str) -> Result<Option<String>, sqlx::Error> {
    let row = B::fetch_optional(
        &mut *pool.acquire().await?,
        "SELECT job_id FROM job_runs WHERE run_id = ?",
        &[run_id.into()],
    )
    .await?;
    row.map(|row| row.read("job_id")).transpose()
}

async fn restart_run<B: Backend>(
    pool: &StorePool<B>,
    run_id: &str,
    execution_arn: &str,
    cluster_id: &str,
) -> Result<Result<(), String>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    let sql = format!(
        "SELECT r.job_id, r.status, r.seq_claimed, j.last_run_id, j.last_status FROM job_runs r \
         JOIN job_configs j ON j.job_id = r.job_id WHERE r.run_id = ?{}",
        B::LOCK_ROW
    );
    let Some(row) = B::fetch_optional(&mut tx, &sql, &[run_id.into()]).await? else {
        tx.rollback().await?;
        return Ok(Err(format!("there is no run {run_id:?} in the state store")));
    };
    let job_id: String = row.read("job_id")?;
    let status: String = row.read("status")?;
    let seq_claimed: Option<i64> = row.read("seq_claimed")?;
    let last_run_id: Option<String> = row.read("last_run_id")?;
    let last_status: Option<String> = row.read("last_status")?;
    let refusal = if status == JobStatus::Running.as_str() {
        Some(format!("run {run_id} is still RUNNING; only a FAILED run can be re-run"))
    } else if status == JobStatus::Completed.as_str() {
        Some(format!("run {run_id} already COMPLETED; there is nothing to finish"))
    } else if last_run_id.as_deref() != Some(run_id) {
        Some(format!(
            "run {run_id} is not job {job_id}'s latest run ({}): re-running it would merge older inputs over \
             newer results",
            last_run_id.as_deref().unwrap_or("none")
        ))
    } else if last_status.as_deref() == Some(JobStatus::Running.as_str()) {
        Some(format!("job {job_id} is RUNNING"))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        tx.rollback().await?;
        return Ok(Err(refusal));
    }
    let (running, failed) = (JobStatus::Running.as_str(), JobStatus::Failed.as_str());
    B::execute(
        &mut tx,
        "UPDATE job_runs SET status = ?, execution_arn = ?, cluster_id = ?, step_id = NULL, finished_at = NULL, \
         error = NULL, cause = NULL, attempts = attempts + 1 WHERE run_id = ? AND status = ?",
        &[running.into(), execution_arn.into(), cluster_id.into(), run_id.into(), failed.into()],
    )
    .await?;
    // A run that gave its inputs back when its execution died takes them
    // again: the watermark returns to what its claim set.
    B::execute(
        &mut tx,
        "UPDATE job_configs SET last_status = ?, claimed_seq = COALESCE(?, claimed_seq) \
         WHERE job_id = ? AND last_run_id = ?",
        &[running.into(), seq_claimed.into(), (&job_id).into(), run_id.into()],
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
