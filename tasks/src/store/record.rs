//! The record task's statements and the run-inputs report (`edba impacted`),
//! written once and instantiated per backend like `backend.rs`.

use time::format_description::well_known::Rfc3339;

use super::time::StoreTime;
use super::{lost_a_race, JobStatus, Pool, StateStore};
use crate::record::{FinalOutcome, JobFailures, Recorded};
use crate::record::{ImpactedFile, ImpactedFiles};
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

/// A run's row before its inputs are attached.
#[derive(Debug)]
struct RunRow {
    run_id: String,
    job_id: String,
    status: String,
    cluster_id: Option<String>,
    step_id: Option<String>,
    execution_arn: Option<String>,
    manifest_key: Option<String>,
    started_at: StoreTime,
    finished_at: Option<StoreTime>,
    error: Option<String>,
    cause: Option<String>,
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
    /// Writes a run's final outcome (see [`crate::record`] for the rules).
    pub(crate) async fn record_outcome(&self, outcome: &FinalOutcome<'_>) -> Result<Recorded, TaskError> {
        let mut attempt = 1;
        let recording = loop {
            let result = match &self.pool {
                Pool::MySql(pool) => mysql::record(pool, outcome).await,
                Pool::Sqlite(pool) => sqlite::record(pool, outcome).await,
            };
            match result {
                Ok(recording) => break recording,
                Err(e) if attempt < RECORD_ATTEMPTS && lost_a_race(&e) => attempt += 1,
                Err(e) => return Err(TaskError::transient("recording a run's outcome", e)),
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
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::run_inputs(pool, run_id).await,
            Pool::Sqlite(pool) => sqlite::run_inputs(pool, run_id).await,
        };
        let (run, inputs) = match result {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(e) => return Err(TaskError::transient("reading a run's inputs", e)),
        };
        impacted_files(run, inputs).map(Some)
    }

    /// A job's last run and its most recent FAILED run, or `None` for an
    /// unknown job id.
    pub(crate) async fn job_failures(&self, job_id: &str) -> Result<Option<JobFailures>, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::job_failures(pool, job_id).await,
            Pool::Sqlite(pool) => sqlite::job_failures(pool, job_id).await,
        };
        let Some((last_run_id, last_status, last_failed_run)) =
            result.map_err(|e| TaskError::transient("reading a job's runs", e))?
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

macro_rules! record_backend {
    (
        mod $module:ident,
        db = $db:ty,
        begin = $begin:literal,
        // Appended to the SELECT of the run being recorded.
        lock_row = $lock_row:literal,
    ) => {
        mod $module {
            use sqlx::{Connection, Row};

            use super::{parse_job_status, InputRow, Recording, RunRow};
            use crate::record::{FinalOutcome, Recorded};
            use crate::store::time::StoreTime;
            use crate::store::JobStatus;

            type Db = $db;
            type Pool = sqlx::Pool<Db>;

            /// One attempt at recording `outcome`, in one transaction.
            pub(super) async fn record(pool: &Pool, outcome: &FinalOutcome<'_>) -> Result<Recording, sqlx::Error> {
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with($begin).await?;
                let Some(row) = sqlx::query(concat!("SELECT job_id, status FROM job_runs WHERE run_id = ?", $lock_row))
                    .bind(outcome.run_id)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(Recording::UnknownRun);
                };
                let job_id: String = row.try_get("job_id")?;
                if job_id != outcome.job_id {
                    return Ok(Recording::OtherJob(job_id));
                }
                let stored: String = row.try_get("status")?;
                let stored = parse_job_status(&stored)
                    .ok_or_else(|| sqlx::Error::Decode(format!("unknown run status {stored:?}").into()))?;
                if stored != JobStatus::Running {
                    // Final already: the first final outcome stands, untouched.
                    return Ok(Recording::Done(Recorded { status: stored, changed: false }));
                }

                let now = StoreTime::now();
                sqlx::query(
                    "UPDATE job_runs SET status = ?, step_id = COALESCE(?, step_id), \
                     finished_at = ?, error = ?, cause = ? WHERE run_id = ? AND status = ?",
                )
                .bind(outcome.status.as_str())
                .bind(&outcome.step_id)
                .bind(now)
                .bind(&outcome.error)
                .bind(&outcome.cause)
                .bind(outcome.run_id)
                .bind(JobStatus::Running.as_str())
                .execute(&mut *tx)
                .await?;
                // A newer run of the job may have been claimed meanwhile: its
                // status is the job's, not this one's.
                sqlx::query(
                    "UPDATE job_configs SET last_status = ?, last_finished_at = ? \
                     WHERE job_id = ? AND last_run_id = ?",
                )
                .bind(outcome.status.as_str())
                .bind(now)
                .bind(outcome.job_id)
                .bind(outcome.run_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Recording::Done(Recorded { status: outcome.status, changed: true }))
            }

            pub(super) async fn run_inputs(
                pool: &Pool,
                run_id: &str,
            ) -> Result<Option<(RunRow, Vec<InputRow>)>, sqlx::Error> {
                // One snapshot for the run and its inputs.
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin().await?;
                let Some(row) = sqlx::query(
                    "SELECT run_id, job_id, status, cluster_id, step_id, execution_arn, \
                     manifest_key, started_at, finished_at, error, cause \
                     FROM job_runs WHERE run_id = ?",
                )
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                let run = RunRow {
                    run_id: row.try_get("run_id")?,
                    job_id: row.try_get("job_id")?,
                    status: row.try_get("status")?,
                    cluster_id: row.try_get("cluster_id")?,
                    step_id: row.try_get("step_id")?,
                    execution_arn: row.try_get("execution_arn")?,
                    manifest_key: row.try_get("manifest_key")?,
                    started_at: row.try_get("started_at")?,
                    finished_at: row.try_get("finished_at")?,
                    error: row.try_get("error")?,
                    cause: row.try_get("cause")?,
                };
                let inputs = sqlx::query(
                    "SELECT ri.file_url, ri.version_id, ri.etag, f.file_url AS tracked_url, \
                     f.dataset, f.status, f.last_validated_at, \
                     f.version_id AS current_version_id, f.etag AS current_etag \
                     FROM run_inputs ri LEFT JOIN ingested_files f ON f.file_url = ri.file_url \
                     WHERE ri.run_id = ? ORDER BY ri.file_url",
                )
                .bind(run_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|row| {
                    Ok(InputRow {
                        file_url: row.try_get("file_url")?,
                        version_id: row.try_get("version_id")?,
                        etag: row.try_get("etag")?,
                        tracked: row.try_get::<Option<String>, _>("tracked_url")?.is_some(),
                        dataset: row.try_get("dataset")?,
                        status: row.try_get("status")?,
                        last_validated_at: row.try_get("last_validated_at")?,
                        current_version_id: row.try_get("current_version_id")?,
                        current_etag: row.try_get("current_etag")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
                tx.commit().await?;
                Ok(Some((run, inputs)))
            }

            /// `(last_run_id, last_status, most recent FAILED run)` of a job.
            pub(super) async fn job_failures(
                pool: &Pool,
                job_id: &str,
            ) -> Result<Option<(Option<String>, Option<String>, Option<String>)>, sqlx::Error> {
                let Some(job) = sqlx::query("SELECT last_run_id, last_status FROM job_configs WHERE job_id = ?")
                    .bind(job_id)
                    .fetch_optional(pool)
                    .await?
                else {
                    return Ok(None);
                };
                let last_failed: Option<String> = sqlx::query_scalar(
                    "SELECT run_id FROM job_runs WHERE job_id = ? AND status = ? \
                     ORDER BY started_at DESC, run_id DESC LIMIT 1",
                )
                .bind(job_id)
                .bind(JobStatus::Failed.as_str())
                .fetch_optional(pool)
                .await?;
                Ok(Some((job.try_get("last_run_id")?, job.try_get("last_status")?, last_failed)))
            }
        }
    };
}

record_backend! {
    mod mysql,
    db = sqlx::MySql,
    begin = "BEGIN",
    lock_row = " FOR UPDATE",
}

record_backend! {
    mod sqlite,
    db = sqlx::Sqlite,
    // Takes the write lock up front, so two recorders of one run queue
    // instead of both reading RUNNING.
    begin = "BEGIN IMMEDIATE",
    lock_row = "",
}
