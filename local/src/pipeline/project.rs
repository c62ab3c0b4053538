//! A run's project: checked, pushed to the bucket's `code/` as `edba project
//! push` does in AWS, its jobs applied, and its data files found.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use edba_tasks::jobs::CheckedJobs;
use edba_tasks::load::{TABLES_FILE, TABLES_KEY};
use edba_tasks::project::{PROJECT_FILE, PROJECT_KEY};

use super::{io_error, setup, LocalPipeline, PipelineError, LOCAL_BUCKET};
use crate::check::{check_project_dir, CheckedProject, JOBS_FILE};

impl LocalPipeline {
    /// Checks the project in `dir` when it has an `edba.toml`
    /// ([`check_project_dir`]); `None` without one (the sample project applies).
    pub async fn check_project(&self, dir: &Path) -> Result<Option<CheckedProject>, PipelineError> {
        if !dir.join(PROJECT_FILE).is_file() {
            return Ok(None);
        }
        check_project_dir(dir, self.options.repo_root.as_deref()).await.map(Some).map_err(|e| PipelineError::Project {
            path: dir.join(PROJECT_FILE).display().to_string(),
            message: e.to_string(),
        })
    }

    /// Makes `project` the bucket's project: `code/edba.toml` and each job's
    /// SQL file under `code/`, as `edba project push` deploys them. Without a
    /// project, removes `code/edba.toml` and `code/edba.tables.json` so the
    /// tasks use the sample's.
    pub async fn push_project(&self, project: Option<&CheckedProject>) -> Result<(), PipelineError> {
        let Some(project) = project else {
            for key in [PROJECT_KEY, TABLES_KEY] {
                self.s3_client.delete_object().bucket(LOCAL_BUCKET).key(key).send().await.map_err(|e| {
                    setup("cannot remove the previous project", aws_sdk_s3::error::DisplayErrorContext(e))
                })?;
            }
            return Ok(());
        };
        let objects = project.deployment().map_err(io_error(&project.dir))?;
        for object in objects {
            self.put(&object.key, object.bytes, &object.source.display().to_string()).await?;
        }
        Ok(())
    }

    /// Applies a checked project's jobs, all or none; `None` when it declares none.
    pub(super) async fn apply_project_jobs(
        &self,
        project: &CheckedProject,
    ) -> Result<Option<edba_tasks::jobs::ApplyReport>, PipelineError> {
        if project.jobs.jobs.is_empty() {
            return Ok(None);
        }
        let source = project.dir.display().to_string();
        let checked = CheckedJobs::in_project(project.jobs.clone(), project.project.clone(), &[])
            .map_err(|e| PipelineError::Jobs { path: source.clone(), message: e.to_string() })?;
        checked
            .apply(&self.store)
            .await
            .map(Some)
            .map_err(|e| PipelineError::Jobs { path: source, message: e.to_string() })
    }
}

/// The files of `dir` to ingest, each with its path relative to `dir` (`/`
/// separated): every plain file below it, but hidden ones (any part starting
/// with `.`), `edba.toml`, `jobs.toml`, `edba.tables.json` and the project's
/// job SQL files. In
/// path order.
pub(super) fn data_files(
    dir: &Path,
    project: Option<&CheckedProject>,
) -> Result<Vec<(PathBuf, String)>, PipelineError> {
    let mut own: HashSet<PathBuf> =
        [dir.join(PROJECT_FILE), dir.join(JOBS_FILE), dir.join(TABLES_FILE)].into_iter().collect();
    if let Some(project) = project {
        own.extend(project.sql_files.iter().map(|(_, path)| path.clone()));
    }
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io_error(&folder))? {
            let entry = entry.map_err(io_error(&folder))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') || own.contains(&path) {
                continue;
            }
            let kind = entry.file_type().map_err(io_error(&path))?;
            if kind.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((path, relative));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(files)
}
