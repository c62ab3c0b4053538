//! The deployed project: `code/edba.toml` in the bucket the files arrive in,
//! read by every task that needs it and cached per container by its ETag
//! ([`crate::code`]). A bucket without the object runs the sample project.

use std::sync::{Arc, OnceLock};

use aws_sdk_s3::Client;

use super::Project;
use crate::code::{load_document, DocumentCache};
use crate::TaskError;

/// Where `edba project push` and `scripts/deploy.sh` put the project file.
pub const PROJECT_KEY: &str = "code/edba.toml";

/// The last project read, with its ETag and version.
pub type ProjectCache = DocumentCache<Project>;

/// The cache the tasks share in a process (a Lambda container).
pub fn shared_cache() -> &'static ProjectCache {
    static SHARED: OnceLock<ProjectCache> = OnceLock::new();
    SHARED.get_or_init(ProjectCache::default)
}

/// The project a task runs with, and which version of `code/edba.toml` it is
/// (the S3 version id, else the ETag; `None` for the built-in sample).
#[derive(Debug, Clone)]
pub struct LoadedProject {
    pub project: Arc<Project>,
    pub version: Option<String>,
}

/// Reads the bucket's project, or the sample when it has none. A project that
/// does not parse is [`TaskError::InvalidInput`] naming every problem (a retry
/// would not help); S3 trouble is [`TaskError::Transient`].
pub async fn load_project(s3: &Client, bucket: &str, cache: &ProjectCache) -> Result<LoadedProject, TaskError> {
    let loaded = load_document(
        s3,
        bucket,
        PROJECT_KEY,
        cache,
        |text| Project::parse(text).map_err(|e| e.to_string()),
        Project::sample,
    )
    .await?;
    Ok(LoadedProject { project: loaded.value, version: loaded.version })
}
