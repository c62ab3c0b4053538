//! Job configurations: reading `jobs.toml`, checking it, and applying it to
//! the state store (`edba jobs apply`).
//!
//! The file's types are [`edba_payloads::jobs`]; this module adds what serde
//! cannot say: [`parse_jobs_file`] names the job and field of a syntax or type
//! error, [`check_jobs`] enforces the semantic rules (known datasets, globs,
//! a read-only extra criterion, …), and [`apply_jobs`] writes the whole file
//! in one transaction and reports what changed. Nothing here runs a job.

mod apply;
mod check;
mod criterion;
mod file;
mod parse;

pub use apply::{apply_jobs, apply_jobs_in, job_row, AppliedJob, ApplyError, ApplyReport};
pub use check::{check_jobs, check_jobs_in, JobConfigError, MAX_CRITERION_TIMEOUT_MS};
pub use criterion::check_extra_criterion_sql;
pub use file::{ApplyFileError, CheckedJobs};
pub use parse::{parse_jobs_file, JobsFileError};

pub use crate::store::jobs::JobConfigChange;

use std::fmt;

use serde::Serialize;

/// Which job of a file a problem is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRef {
    /// Position of the `[[job]]` table in the file, from 0.
    pub index: usize,
    /// The job's id, when the file gives one.
    pub id: Option<String>,
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // People count the `[[job]]` tables from 1.
        write!(f, "job #{}", self.index + 1)?;
        if let Some(id) = &self.id {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}
