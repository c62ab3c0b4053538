//! A jobs file on its way to the state store: read, parsed, checked (its SQL
//! files looked up in a checkout when there is one), then applied. The one
//! path `edba jobs apply` and `edba run` share; each says the errors in its
//! own words.

use std::path::Path;
use std::sync::Arc;

use edba_payloads::jobs::JobsFile;

use super::{apply_jobs_in, check_jobs_in, parse_jobs_file, ApplyError, ApplyReport, JobConfigError, JobsFileError};
use crate::project::Project;
use crate::store::StateStore;
use crate::TaskError;

/// Why a jobs file was not applied. Nothing of it was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ApplyFileError {
    /// The file could not be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// The text is not a jobs file (TOML syntax, or a field of the wrong shape).
    #[error("{0}")]
    Parse(JobsFileError),
    /// The file breaks the rules of [`check_jobs`].
    #[error("not valid; nothing was applied:{}", bullets(.0))]
    Invalid(Vec<JobConfigError>),
    /// The state store failed the write.
    #[error("{0}")]
    Store(TaskError),
}

fn bullets(errors: &[JobConfigError]) -> String {
    errors.iter().map(|e| format!("\n  - {e}")).collect()
}

/// A jobs file that parsed and passed [`check_jobs`]: what
/// [`CheckedJobs::apply`] writes.
#[derive(Debug, Clone)]
pub struct CheckedJobs {
    file: JobsFile,
    project: Arc<Project>,
}

impl CheckedJobs {
    /// Reads the jobs file at `path` and checks it ([`CheckedJobs::from_text`]).
    pub fn read(path: &Path, sql_root: Option<&Path>) -> Result<CheckedJobs, ApplyFileError> {
        let text = std::fs::read_to_string(path).map_err(ApplyFileError::Read)?;
        CheckedJobs::from_text(&text, sql_root)
    }

    /// Parses and checks a jobs file; `sql_root` is the checkout whose
    /// `sql/jobs/` the jobs' SQL files are looked up in, when there is one.
    pub fn from_text(text: &str, sql_root: Option<&Path>) -> Result<CheckedJobs, ApplyFileError> {
        let file = parse_jobs_file(text).map_err(ApplyFileError::Parse)?;
        CheckedJobs::in_project(file, Project::sample(), sql_root.as_slice())
    }

    /// Checks jobs against `project`'s datasets and tables; their SQL files
    /// are looked up under `sql_dirs` when it is not empty.
    pub fn in_project(
        file: JobsFile,
        project: Arc<Project>,
        sql_dirs: &[&Path],
    ) -> Result<CheckedJobs, ApplyFileError> {
        check_jobs_in(&file, &project, sql_dirs).map_err(ApplyFileError::Invalid)?;
        Ok(CheckedJobs { file, project })
    }

    pub fn jobs(&self) -> &JobsFile {
        &self.file
    }

    /// Writes every job of the file to the store, all or nothing.
    pub async fn apply(&self, store: &StateStore) -> Result<ApplyReport, ApplyFileError> {
        apply_jobs_in(store, &self.file, &self.project).await.map_err(|e| match e {
            ApplyError::Invalid(errors) => ApplyFileError::Invalid(errors),
            ApplyError::Store(e) => ApplyFileError::Store(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../sampledata/jobs.toml");

    #[test]
    fn problems_are_listed_one_per_line() {
        let text = SAMPLE.replace("dataset = \"sales\"", "dataset = \"nope\"");
        let err = CheckedJobs::from_text(&text, None).unwrap_err();
        let ApplyFileError::Invalid(errors) = &err else { panic!("an unknown dataset is a broken rule: {err}") };
        let message = err.to_string();
        assert!(message.starts_with("not valid; nothing was applied:\n  - "), "{message}");
        assert_eq!(message.matches("\n  - ").count(), errors.len(), "{message}");
    }

    #[test]
    fn a_syntax_error_is_a_parse_error() {
        let err = CheckedJobs::from_text("[[job]\n", None).unwrap_err();
        assert!(matches!(err, ApplyFileError::Parse(_)), "{err}");
    }

    #[test]
    fn the_sample_jobs_check() {
        let jobs = CheckedJobs::from_text(SAMPLE, None).unwrap();
        assert!(!jobs.jobs().jobs.is_empty());
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = CheckedJobs::read(Path::new("/nonexistent/jobs.toml"), None).unwrap_err();
        assert!(matches!(err, ApplyFileError::Read(_)), "{err}");
    }
}
