//! What `edba status` and `edba run`'s report show: every tracked file, every
//! job with the state of its latest run, and the most recent runs.

use std::fmt;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::dialect::{Backend, ReadRow};
use super::pool::{database_error, StorePool};
use super::record::RunRow;
use super::time::StoreTime;
use super::StateStore;
use crate::TaskError;

/// A tracked file as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FileSummary {
    pub file_url: String,
    pub file_name: String,
    pub dataset: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub rows_valid: u64,
    pub rows_rejected: u64,
    pub lines_skipped: u64,
    pub rejected_key: Option<String>,
    pub last_validated_at: String,
}

/// A job and the state of its latest run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct JobSummary {
    pub job_id: String,
    pub enabled: bool,
    pub last_status: Option<String>,
    pub last_run_id: Option<String>,
    pub last_fired_at: Option<String>,
    pub last_finished_at: Option<String>,
    /// The latest evaluation's decision: WAITING or FIRED, why, and when.
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<String>,
}

/// A run, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RunSummary {
    pub run_id: String,
    pub job_id: String,
    pub status: String,
    pub cluster_id: Option<String>,
    pub step_id: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// How many files the run read.
    pub inputs: u64,
    /// The project version (`code/edba.toml`) it was claimed under; `None`
    /// for the built-in sample.
    pub project_version: Option<String>,
}

/// The whole picture of a state store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StoreStatus {
    pub files: Vec<FileSummary>,
    pub jobs: Vec<JobSummary>,
    pub runs: Vec<RunSummary>,
}

fn rfc3339(t: StoreTime) -> String {
    t.get().format(&Rfc3339).unwrap_or_default()
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

const FILES: &str = "SELECT file_url, file_name, dataset, status, reason, rows_valid, rows_rejected, \
     lines_skipped, rejected_key, last_validated_at FROM ingested_files ORDER BY file_name, file_url";
const JOBS: &str = "SELECT c.job_id, c.enabled, c.last_status, c.last_run_id, c.last_fired_at, \
     c.last_finished_at, d.decision, d.reason AS decision_reason, d.decided_at \
     FROM job_configs c LEFT JOIN job_decisions d ON d.job_id = c.job_id ORDER BY c.job_id";
/// The `run_limit` most recent runs, with how many files each read.
fn runs_sql() -> String {
    format!(
        "SELECT {}, (SELECT COUNT(*) FROM run_inputs i WHERE i.run_id = r.run_id) AS inputs \
         FROM job_runs r ORDER BY r.started_at DESC, r.run_id DESC LIMIT ?",
        RunRow::COLUMNS
    )
}

async fn read_status<B: Backend>(pool: &StorePool<B>, limit: i64) -> Result<StoreStatus, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut files = Vec::new();
    for row in B::fetch_all(&mut conn, FILES, &[]).await? {
        files.push(FileSummary {
            file_url: row.read("file_url")?,
            file_name: row.read("file_name")?,
            dataset: row.read("dataset")?,
            status: row.read("status")?,
            reason: row.read("reason")?,
            rows_valid: count(row.read("rows_valid")?),
            rows_rejected: count(row.read("rows_rejected")?),
            lines_skipped: count(row.read("lines_skipped")?),
            rejected_key: row.read("rejected_key")?,
            last_validated_at: rfc3339(row.read("last_validated_at")?),
        });
    }
    let mut jobs = Vec::new();
    for row in B::fetch_all(&mut conn, JOBS, &[]).await? {
        jobs.push(JobSummary {
            job_id: row.read("job_id")?,
            enabled: row.read("enabled")?,
            last_status: row.read("last_status")?,
            last_run_id: row.read("last_run_id")?,
            last_fired_at: row.read::<Option<StoreTime>>("last_fired_at")?.map(rfc3339),
            last_finished_at: row.read::<Option<StoreTime>>("last_finished_at")?.map(rfc3339),
            decision: row.read("decision")?,
            decision_reason: row.read("decision_reason")?,
            decided_at: row.read::<Option<StoreTime>>("decided_at")?.map(rfc3339),
        });
    }
    let mut runs = Vec::new();
    for row in B::fetch_all(&mut conn, &runs_sql(), &[limit.into()]).await? {
        let run = RunRow::read::<B>(&row)?;
        runs.push(RunSummary {
            run_id: run.run_id,
            job_id: run.job_id,
            status: run.status,
            cluster_id: run.cluster_id,
            step_id: run.step_id,
            started_at: rfc3339(run.started_at),
            finished_at: run.finished_at.map(rfc3339),
            error: run.error,
            cause: run.cause,
            inputs: count(row.read("inputs")?),
            project_version: run.project_version,
        });
    }
    Ok(StoreStatus { files, jobs, runs })
}

impl StateStore {
    /// Every tracked file, every job, and the `run_limit` most recent runs.
    pub async fn status(&self, run_limit: u32) -> Result<StoreStatus, TaskError> {
        dispatch!(&self.pool, pool => read_status(pool, i64::from(run_limit)).await)
            .map_err(|e| database_error("read the state store's status", e))
    }
}

impl fmt::Display for StoreStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "files ({}):", self.files.len())?;
        for file in &self.files {
            write!(
                f,
                "  {:<24} {:<22} {:>6} valid {:>5} rejected {:>4} skipped",
                file.file_name, file.status, file.rows_valid, file.rows_rejected, file.lines_skipped
            )?;
            if let Some(reason) = &file.reason {
                write!(f, "  ({reason})")?;
            }
            writeln!(f)?;
        }
        writeln!(f, "jobs ({}):", self.jobs.len())?;
        for job in &self.jobs {
            let state = job.last_status.as_deref().unwrap_or("never run");
            write!(f, "  {:<10} {:<10}", job.job_id, if job.enabled { state } else { "disabled" })?;
            if let Some(run) = &job.last_run_id {
                write!(f, " last run {run}")?;
            }
            writeln!(f)?;
            if let (Some("WAITING"), Some(reason)) = (job.decision.as_deref(), &job.decision_reason) {
                writeln!(f, "             waiting: {reason} ({})", job.decided_at.as_deref().unwrap_or("?"))?;
            }
        }
        writeln!(f, "runs ({} most recent):", self.runs.len())?;
        for run in &self.runs {
            write!(f, "  {:<36} {:<10} {:>3} inputs  started {}", run.run_id, run.status, run.inputs, run.started_at)?;
            if let Some(version) = &run.project_version {
                write!(f, "  project {version}")?;
            }
            if let Some(error) = &run.error {
                write!(f, "  {error}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
