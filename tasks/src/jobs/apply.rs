//! `edba jobs apply`: a checked jobs file into the state store, all or nothing.

use std::fmt;

use edba_payloads::jobs::{JobConfig, JobsFile};
use serde::Serialize;

use super::check::{check_jobs_in, JobConfigError};
use super::JobConfigChange;
use crate::project::Project;
use crate::store::{JobRow, StateStore};
use crate::TaskError;

/// The row the store keeps for a job: the typed configuration plus the
/// parts its queries index (see [`JobRow`]).
pub fn job_row(config: &JobConfig) -> JobRow {
    JobRow::from(config)
}

/// What applying a file did to one of its jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedJob {
    pub job_id: String,
    pub change: JobConfigChange,
    /// The stored `config_version` after applying.
    pub config_version: u32,
}

/// What `apply_jobs` did: every job of the file, in file order, and the stored
/// jobs the file does not mention (left as they are; apply never deletes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub jobs: Vec<AppliedJob>,
    pub not_in_file: Vec<String>,
}

impl ApplyReport {
    pub fn count(&self, change: JobConfigChange) -> usize {
        self.jobs.iter().filter(|j| j.change == change).count()
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width =
            self.jobs.iter().map(|j| j.job_id.len()).chain(self.not_in_file.iter().map(String::len)).max().unwrap_or(0);
        for job in &self.jobs {
            let version = match job.change {
                JobConfigChange::Updated => {
                    format!("config version {} -> {}", job.config_version.saturating_sub(1), job.config_version)
                }
                _ => format!("config version {}", job.config_version),
            };
            writeln!(f, "{:<width$}  {:<11}{version}", job.job_id, job.change.as_str())?;
        }
        for id in &self.not_in_file {
            writeln!(f, "{id:<width$}  not in file (kept as stored; apply never deletes a job)")?;
        }
        write!(
            f,
            "{} {}: {} created, {} updated, {} unchanged",
            self.jobs.len(),
            plural(self.jobs.len(), "job", "jobs"),
            self.count(JobConfigChange::Created),
            self.count(JobConfigChange::Updated),
            self.count(JobConfigChange::Unchanged),
        )?;
        if !self.not_in_file.is_empty() {
            write!(
                f,
                "; {} stored {} not in the file",
                self.not_in_file.len(),
                plural(self.not_in_file.len(), "job", "jobs")
            )?;
        }
        Ok(())
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Why nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file breaks the rules of [`check_jobs`]; the store was not touched.
    #[error("{} problem(s) in the jobs file:\n{}", .0.len(), list(.0))]
    Invalid(Vec<JobConfigError>),
    /// The store refused or failed the write; nothing of the file was written.
    #[error("the state store did not take the jobs file: {0}")]
    Store(#[from] TaskError),
}

fn list(errors: &[JobConfigError]) -> String {
    errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n")
}

/// Checks `file` and writes all its jobs in one transaction.
///
/// The check here runs without a repository root; a caller that has the
/// repository (the CLI) runs [`super::check_jobs`] with it first so that missing SQL
/// files are caught too.
pub async fn apply_jobs(store: &StateStore, file: &JobsFile) -> Result<ApplyReport, ApplyError> {
    apply_jobs_in(store, file, &Project::sample()).await
}

/// [`apply_jobs`] for the jobs of `project` (its datasets and tables).
pub async fn apply_jobs_in(store: &StateStore, file: &JobsFile, project: &Project) -> Result<ApplyReport, ApplyError> {
    check_jobs_in(file, project, &[]).map_err(ApplyError::Invalid)?;
    let rows: Vec<JobRow> = file.jobs.iter().map(job_row).collect();
    let written = store.put_job_configs(&rows).await?;
    Ok(ApplyReport {
        jobs: written
            .jobs
            .into_iter()
            .map(|j| AppliedJob { job_id: j.job_id, change: j.change, config_version: j.config_version })
            .collect(),
        not_in_file: written.not_in_batch,
    })
}
