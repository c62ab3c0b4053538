//! The record task's statements and the run-inputs report (`edba impacted`).
//!
//! Recording uses the store's one write transaction (`begin_write`), like
//! track, claim and apply. Every statement in it is a locking read or a write
//! of an existing row by primary key, which takes the same record locks under
//! READ COMMITTED as under MySQL's default REPEATABLE READ; READ COMMITTED only
//! spares the gap lock an unknown run id would otherwise take.

use time::format_description::well_known::Rfc3339;

use super::dialect::{begin_write, Backend, ReadRow};
use super::pool::{database_error, StorePool};
use super::time::StoreTime;
use super::types::{FinalOutcome, ImpactedFile, ImpactedFiles, JobFailures, Recorded};
use super::{lost_a_race, JobStatus, StateStore};
use crate::TaskError;

/// Attempts at a record transaction that deadlocked with a concurrent
/// evaluation of the same job.
const RECORD_ATTEMPTS: usize = 5;

/// What a record transaction found.
#[derive(Debug)]
enum Recording {
    Done(Recorded),
    UnknownRun,
    OtherJob(String),
}

/// A run's row as stored (`RUN_COLUMNS`), before its inputs are attached.
#[derive(Debug)]
pub(super) struct RunRow {
    pub(super) run_id: String,
    pub(super) job_id: String,
    pub(super) status: String,
    pub(super) cluster_id: Option<String>,
    pub(super) step_id: Option<String>,
    pub(super) execution_arn: Option<String>,
    pub(super) manifest_key: Option<String>,
    pub(super) started_at: StoreTime,
    pub(super) finished_at: Option<StoreTime>,
    pub(super) error: Option<String>,
    pub(super) cause: Option<String>,
    /// The project version the run was claimed under (`None`: the sample).
    pub(super) project_version: Option<String>,
}

impl RunRow {
    /// The columns [`RunRow::read`] reads, of `job_runs r`.
    pub(super) const COLUMNS: &'static str = "r.run_id, r.job_id, r.status, r.cluster_id, r.step_id, \
         r.execution_arn, r.manifest_key, r.started_at, r.finished_at, r.error, r.cause, r.project_version";

    pub(super) fn read<B: Backend>(row: &B::Row) -> Result<RunRow, sqlx::Error> {
        Ok(RunRow {
            run_id: row.read("run_id")?,
            job_id: row.read("job_id")?,
            status: row.read("status")?,
            cluster_id: row.read("cluster_id")?,
            step_id: row.read("step_id")?,
            execution_arn: row.read("execution_arn")?,
            manifest_key: row.read("manifest_key")?,
            started_at: row.read("started_at")?,
            finished_at: row.read("finished_at")?,
            error: row.read("error")?,
            cause: row.read("cause")?,
            project_version: row.read("project_version")?,
        })
    }
}

/// A run input joined with the current row of its key (`None`s when untracked).
#[derive(Debug)]
struct InputRow {
    file_url: String,
    version_id: Option<String>,
    etag: Option<String>,
    tracked: bool,
    dataset: Option<String>,
    status: Option<String>,
    last_validated_at: Option<StoreTime>,
    current_version_id: Option<String>,
    current_etag: Option<String>,
}

impl StateStore {
    /// Writes a run's final outcome (the rules are the record task's).
    pub(crate) async fn record_outcome(&self, outcome: &FinalOutcome<'_>) -> Result<Recorded, TaskError> {
        let mut attempt = 1;
        let recording = loop {
            match dispatch!(&self.pool, pool => record(pool, outcome).await) {
                Ok(recording) => break recording,
                Err(e) if attempt < RECORD_ATTEMPTS && lost_a_race(&e) => attempt += 1,
                Err(e) => return Err(database_error("recording a run's outcome", e)),
            }
        };
        match recording {
            Recording::Done(recorded) => Ok(recorded),
            Recording::UnknownRun => {
                Err(TaskError::InvalidInput(format!("record: no run {:?} in the state store", outcome.run_id)))
            }
            Recording::OtherJob(job_id) => Err(TaskError::InvalidInput(format!(
                "record: run {:?} belongs to job {job_id:?}, not {:?}",
                outcome.run_id, outcome.job_id
            ))),
        }
    }

    /// A run with its input files, or `None` for an unknown run id.
    pub(crate) async fn run_inputs(&self, run_id: &str) -> Result<Option<ImpactedFiles>, TaskError> {
        let (run, inputs) = match dispatch!(&self.pool, pool => run_inputs(pool, run_id).await) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(e) => return Err(database_error("reading a run's inputs", e)),
        };
        impacted_files(run, inputs).map(Some)
    }

    /// A job's last run and its most recent FAILED run, or `None` for an
    /// unknown job id.
    pub(crate) async fn job_failures(&self, job_id: &str) -> Result<Option<JobFailures>, TaskError> {
        let Some((last_run_id, last_status, last_failed_run)) =
            dispatch!(&self.pool, pool => job_failures(pool, job_id).await)
                .map_err(|e| database_error("reading a job's runs", e))?
        else {
            return Ok(None);
        };
        let last_status =
            last_status.map(|s| parse_job_status(&s).ok_or_else(|| corrupt("job status", &s))).transpose()?;
        Ok(Some(JobFailures { last_run_id, last_status, last_failed_run }))
    }
}

fn impacted_files(run: RunRow, inputs: Vec<InputRow>) -> Result<ImpactedFiles, TaskError> {
    let files = inputs
        .into_iter()
        .map(|input| {
            let status = input
                .status
                .map(|s| super::parse_file_status(&s).ok_or_else(|| corrupt("file status", &s)))
                .transpose()?;
            // Versioned buckets name each version; unversioned ones only have the etag.
            let superseded = input.tracked
                && match &input.version_id {
                    Some(_) => input.current_version_id != input.version_id,
                    None => input.current_etag != input.etag,
                };
            Ok(ImpactedFile {
                file_url: input.file_url,
                version_id: input.version_id,
                etag: input.etag,
                dataset: input.dataset,
                status,
                last_validated_at: input.last_validated_at.map(rfc3339),
                superseded,
            })
        })
        .collect::<Result<Vec<_>, TaskError>>()?;
    Ok(ImpactedFiles {
        status: parse_job_status(&run.status).ok_or_else(|| corrupt("run status", &run.status))?,
        run_id: run.run_id,
        job_id: run.job_id,
        cluster_id: run.cluster_id,
        step_id: run.step_id,
        execution_arn: run.execution_arn,
        manifest_key: run.manifest_key,
        started_at: rfc3339(run.started_at),
        finished_at: run.finished_at.map(rfc3339),
        error: run.error,
        cause: run.cause,
        files,
    })
}

fn rfc3339(at: StoreTime) -> String {
    at.get().format(&Rfc3339).expect("a UTC instant formats")
}

fn corrupt(what: &str, value: &str) -> TaskError {
    TaskError::Transient(format!("the state store holds an unknown {what} {value:?}"))
}

fn parse_job_status(s: &str) -> Option<JobStatus> {
    [JobStatus::Running, JobStatus::Completed, JobStatus::Failed].into_iter().find(|status| status.as_str() == s)
}

/// One attempt at recording `outcome`, in one transaction.
async fn record<B: Backend>(pool: &StorePool<B>, outcome: &FinalOutcome<'_>) -> Result<Recording, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    let sql = format!("SELECT job_id, status, started_at FROM job_runs WHERE run_id = ?{}", B::LOCK_ROW);
    let Some(row) = B::fetch_optional(&mut tx, &sql, &[outcome.run_id.into()]).await? else {
        return Ok(Recording::UnknownRun);
    };
    let job_id: String = row.read("job_id")?;
    if job_id != outcome.job_id {
        return Ok(Recording::OtherJob(job_id));
    }
    let stored: String = row.read("status")?;
    let stored = parse_job_status(&stored)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown run status {stored:?}").into()))?;
    if stored != JobStatus::Running {
        // Final already: the first final outcome stands, untouched.
        return Ok(Recording::Done(Recorded { status: stored, changed: false, ran_for: None }));
    }

    let started_at: StoreTime = row.read("started_at")?;
    let now = StoreTime::now();
    let status = outcome.status.as_str();
    B::execute(
        &mut tx,
        "UPDATE job_runs SET status = ?, step_id = COALESCE(?, step_id), \
         finished_at = ?, error = ?, cause = ? WHERE run_id = ? AND status = ?",
        &[
            status.into(),
            (&outcome.step_id).into(),
            now.into(),
            (&outcome.error).into(),
            (&outcome.cause).into(),
            outcome.run_id.into(),
            JobStatus::Running.as_str().into(),
        ],
    )
    .await?;
    // A newer run of the job may have been claimed meanwhile: its status is
    // the job's, not this one's.
    B::execute(
        &mut tx,
        "UPDATE job_configs SET last_status = ?, last_finished_at = ? WHERE job_id = ? AND last_run_id = ?",
        &[status.into(), now.into(), outcome.job_id.into(), outcome.run_id.into()],
    )
    .await?;
    tx.commit().await?;
    // Evaluate's clock started the run, this one ends it: for the run
    // duration metric only, never for a decision.
    let ran_for = Some(now.get() - started_at.get());
    Ok(Recording::Done(Recorded { status: outcome.status, changed: true, ran_for }))
}

async fn run_inputs<B: Backend>(
    pool: &StorePool<B>,
    run_id: &str,
) -> Result<Option<(RunRow, Vec<InputRow>)>, sqlx::Error> {
    // One snapshot for the run and its inputs; nothing is written.
    let mut conn = pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let sql = format!("SELECT {} FROM job_runs r WHERE r.run_id = ?", RunRow::COLUMNS);
    let Some(row) = B::fetch_optional(&mut tx, &sql, &[run_id.into()]).await? else {
        return Ok(None);
    };
    let run = RunRow::read::<B>(&row)?;
    let inputs = B::fetch_all(
        &mut tx,
        "SELECT ri.file_url, ri.version_id, ri.etag, f.file_url AS tracked_url, \
         f.dataset, f.status, f.last_validated_at, \
         f.version_id AS current_version_id, f.etag AS current_etag \
         FROM run_inputs ri LEFT JOIN ingested_files f ON f.file_url = ri.file_url \
         WHERE ri.run_id = ? ORDER BY ri.file_url",
        &[run_id.into()],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(InputRow {
            file_url: row.read("file_url")?,
            version_id: row.read("version_id")?,
            etag: row.read("etag")?,
            tracked: row.read::<Option<String>>("tracked_url")?.is_some(),
            dataset: row.read("dataset")?,
            status: row.read("status")?,
            last_validated_at: row.read("last_validated_at")?,
            current_version_id: row.read("current_version_id")?,
            current_etag: row.read("current_etag")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    tx.commit().await?;
    Ok(Some((run, inputs)))
}

/// `(last_run_id, last_status, most recent FAILED run)` of a job.
async fn job_failures<B: Backend>(
    pool: &StorePool<B>,
    job_id: &str,
) -> Result<Option<(Option<String>, Option<String>, Option<String>)>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let sql = "SELECT last_run_id, last_status FROM job_configs WHERE job_id = ?";
    let Some(job) = B::fetch_optional(&mut conn, sql, &[job_id.into()]).await? else {
        return Ok(None);
    };
    let last_failed = B::fetch_optional(
        &mut conn,
        "SELECT run_id FROM job_runs WHERE job_id = ? AND status = ? \
         ORDER BY started_at DESC, run_id DESC LIMIT 1",
        &[job_id.into(), JobStatus::Failed.as_str().into()],
    )
    .await?
    .map(|row| row.read::<String>("run_id"))
    .transpose()?;
    Ok(Some((job.read("last_run_id")?, job.read("last_status")?, last_failed)))
}
