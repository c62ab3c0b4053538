//! The rules a jobs file must follow beyond its shape.

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path};

use edba_payloads::jobs::{ClusterSelector, Freshness, JobConfig, JobsFile, StepConfig};
use serde::Serialize;

use super::criterion::check_extra_criterion_sql;
use super::JobRef;
use crate::project::Project;
// The same limits the store checks before it writes.
use crate::store::limits::{MAX_GLOB_CHARS, MAX_JOB_ID_CHARS, MAX_WINDOW_HOURS};

/// The longest statement timeout an extra criterion may ask for: the
/// evaluator runs it inside a task with its own deadline.
pub const MAX_CRITERION_TIMEOUT_MS: u32 = 60_000;

/// AWS tag limits.
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// A broken rule: which job, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct JobConfigError {
    pub job: JobRef,
    /// The field's path in the job (`input.pattern`, `companions[0].dataset`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for JobConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: field `{}`: {}", self.job, self.field, self.message)
    }
}

/// Checks every rule on every job against the sample project's datasets and
/// tables ([`check_jobs_in`]), its SQL files looked up under `repo_root`.
pub fn check_jobs(file: &JobsFile, repo_root: Option<&Path>) -> Result<(), Vec<JobConfigError>> {
    check_jobs_in(file, &Project::sample(), repo_root.as_slice())
}

/// Checks every rule on every job and returns all broken ones, in file order.
/// Datasets and load tables must be the project's.
///
/// With `sql_dirs`, a `sql_job` step's file must exist under one of them (the
/// project directory, then the checkout); without, that one check is skipped
/// (the file is then checked where it is deployed).
pub fn check_jobs_in(file: &JobsFile, project: &Project, sql_dirs: &[&Path]) -> Result<(), Vec<JobConfigError>> {
    let mut errors = Vec::new();
    let mut first_index_of: HashMap<&str, usize> = HashMap::new();
    for (index, job) in file.jobs.iter().enumerate() {
        let mut check = JobCheck { job: JobRef { index, id: Some(job.id.clone()) }, project, errors: &mut errors };
        if let Some(first) = first_index_of.get(job.id.as_str()) {
            check.fail("id", format!("duplicates the id of job #{}; ids must be unique", first + 1));
        } else {
            first_index_of.insert(&job.id, index);
        }
        check.job(job, sql_dirs);
    }
    if file.jobs.is_empty() {
        errors.push(JobConfigError {
            job: JobRef { index: 0, id: None },
            field: "job".into(),
            message: "the file has no [[job]] table".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

struct JobCheck<'a> {
    job: JobRef,
    project: &'a Project,
    errors: &'a mut Vec<JobConfigError>,
}

impl JobCheck<'_> {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(JobConfigError { job: self.job.clone(), field: field.into(), message: message.into() });
    }

    fn job(&mut self, job: &JobConfig, sql_dirs: &[&Path]) {
        self.id(&job.id);
        if job.version == 0 {
            self.fail("version", "must be at least 1");
        }

        self.dataset("input.dataset", &job.input.dataset);
        self.glob("input.pattern", &job.input.pattern);
        if job.input.min_files == 0 {
            self.fail("input.min_files", "must be at least 1");
        } else if i32::try_from(job.input.min_files).is_err() {
            self.fail("input.min_files", "is too large");
        }
        if let Freshness::WithinHours { hours } = job.input.freshness {
            self.window("input.freshness.hours", hours);
        }

        for (i, companion) in job.companions.iter().enumerate() {
            self.dataset(&format!("companions[{i}].dataset"), &companion.dataset);
            self.glob(&format!("companions[{i}].pattern"), &companion.pattern);
            self.window(&format!("companions[{i}].max_age_hours"), companion.max_age_hours);
        }

        if let Some(criterion) = &job.extra_criterion {
            if let Err(why) = check_extra_criterion_sql(&criterion.sql) {
                self.fail("extra_criterion.sql", why);
            }
            if !(1..=MAX_CRITERION_TIMEOUT_MS).contains(&criterion.timeout_ms) {
                self.fail("extra_criterion.timeout_ms", format!("must be between 1 and {MAX_CRITERION_TIMEOUT_MS}"));
            }
        }

        self.cluster(&job.cluster);
        self.step(&job.step, sql_dirs);
        self.load_tables(&job.load.tables);
    }

    fn window(&mut self, field: &str, hours: u32) {
        if hours == 0 {
            self.fail(field, "must be at least 1");
        } else if hours > MAX_WINDOW_HOURS {
            self.fail(field, format!("must be at most {MAX_WINDOW_HOURS} (ten years)"));
        }
    }

    fn id(&mut self, id: &str) {
        if id.is_empty() {
            self.fail("id", "must not be empty");
        } else if id.chars().count() > MAX_JOB_ID_CHARS {
            self.fail("id", format!("must have at most {MAX_JOB_ID_CHARS} characters"));
        } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            self.fail("id", "may hold only ASCII letters, digits, `-` and `_`");
        }
    }

    fn dataset(&mut self, field: &str, name: &str) {
        if self.project.dataset(name).is_none() {
            let known: Vec<&str> = self.project.datasets.iter().map(|d| d.name.as_str()).collect();
            self.fail(field, format!("{name:?} is not a known dataset (known: {})", known.join(", ")));
        }
    }

    fn glob(&mut self, field: &str, pattern: &str) {
        if pattern.is_empty() {
            self.fail(field, "must not be empty");
        } else if pattern.chars().count() > MAX_GLOB_CHARS {
            self.fail(field, format!("must have at most {MAX_GLOB_CHARS} characters"));
        } else if pattern.contains('/') {
            self.fail(field, "matches file names, so it must not contain `/`");
        } else if let Some(c) = pattern.chars().find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\') || c.is_control()) {
            // These mean something in other glob dialects; refusing them
            // keeps a pattern from silently matching literally.
            self.fail(field, format!("{c:?} is not allowed; the only wildcards are `*` and `?`"));
        }
    }

    fn cluster(&mut self, cluster: &ClusterSelector) {
        match cluster {
            ClusterSelector::Tag { key, value } => {
                if key.trim().is_empty() {
                    self.fail("cluster.key", "must not be empty");
                } else if key.chars().count() > MAX_TAG_KEY_CHARS {
                    self.fail("cluster.key", format!("must have at most {MAX_TAG_KEY_CHARS} characters"));
                }
                if value.trim().is_empty() {
                    self.fail("cluster.value", "must not be empty");
                } else if value.chars().count() > MAX_TAG_VALUE_CHARS {
                    self.fail("cluster.value", format!("must have at most {MAX_TAG_VALUE_CHARS} characters"));
                }
            }
            ClusterSelector::Id { id } => {
                let well_formed = id.strip_prefix("j-").is_some_and(|rest| {
                    !rest.is_empty() && rest.len() <= 64 && rest.chars().all(|c| c.is_ascii_alphanumeric())
                });
                if !well_formed {
                    self.fail("cluster.id", format!("{id:?} is not an EMR cluster id (`j-` then letters and digits)"));
                }
            }
        }
    }

    fn step(&mut self, step: &StepConfig, sql_dirs: &[&Path]) {
        match step {
            StepConfig::SqlJob { sql } => {
                if let Err(why) = sql_job_path(sql) {
                    self.fail("step.sql", why);
                } else if !sql_dirs.is_empty() && !sql_dirs.iter().any(|dir| dir.join(sql).is_file()) {
                    let dirs: Vec<String> = sql_dirs.iter().map(|d| d.display().to_string()).collect();
                    self.fail("step.sql", format!("{sql:?} does not exist under {}", dirs.join(" or ")));
                }
            }
            StepConfig::SparkSubmit { args } => {
                if args.is_empty() {
                    self.fail("step.args", "must not be empty");
                }
                for (i, arg) in args.iter().enumerate() {
                    if arg.trim().is_empty() {
                        self.fail(format!("step.args[{i}]"), "must not be empty");
                    }
                }
            }
        }
    }

    fn load_tables(&mut self, tables: &[String]) {
        if tables.is_empty() {
            self.fail("load.tables", "must name at least one table");
        }
        for (i, table) in tables.iter().enumerate() {
            if self.project.table(table).is_none() {
                let known: Vec<&str> = self.project.tables.iter().map(|t| t.name.as_str()).collect();
                self.fail(
                    format!("load.tables[{i}]"),
                    format!("{table:?} is not a known table (known: {})", known.join(", ")),
                );
            } else if tables[..i].contains(table) {
                self.fail(format!("load.tables[{i}]"), format!("{table:?} is listed twice"));
            }
        }
    }
}

/// A `sql_job` file: a relative path ending in `.sql` (from the project
/// directory, or for the sample from the checkout: `sql/jobs/…`), with `/`
/// separators and no way out of that folder.
fn sql_job_path(sql: &str) -> Result<(), String> {
    let name = sql.rsplit('/').next().unwrap_or(sql);
    if !name.ends_with(".sql") || name.len() == ".sql".len() {
        return Err(format!("{sql:?} must name a `.sql` file"));
    }
    if sql.contains('\\') {
        return Err(format!("{sql:?} must use `/` as the separator"));
    }
    let normal = Path::new(sql).components().all(|c| matches!(c, Component::Normal(_)));
    if !normal || sql.split('/').any(|part| part.is_empty() || part == ".") {
        return Err(format!("{sql:?} must not contain `..`, `.` or empty parts"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_job_paths_stay_inside_the_project() {
        assert_eq!(sql_job_path("sql/jobs/sales_summary.sql"), Ok(()));
        assert_eq!(sql_job_path("sql/jobs/daily/x.sql"), Ok(()));
        assert_eq!(sql_job_path("daily_revenue.sql"), Ok(()), "a project's own SQL sits beside edba.toml");
        assert_eq!(sql_job_path("sql/other/x.sql"), Ok(()));
        for bad in [
            "sql/jobs/x.txt",
            "sql/jobs/.sql",
            ".sql",
            "../x.sql",
            "/sql/jobs/x.sql",
            "sql/jobs/../../etc/x.sql",
            "sql/jobs//x.sql",
            "sql/jobs/./x.sql",
            "sql/jobs\\x.sql",
        ] {
            assert!(sql_job_path(bad).is_err(), "{bad}");
        }
    }
}
