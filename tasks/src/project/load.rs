//! The deployed project: `code/edba.toml` in the bucket the files arrive in,
//! read by every task that needs it and cached per container, keyed by the
//! object's ETag (a GetObject with `If-None-Match` costs one round trip and no
//! parsing while the project is unchanged). A bucket without the object runs
//! the sample project.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::Client;

use super::Project;
use crate::TaskError;

/// Where `edba project push` and `scripts/deploy.sh` put the project file.
pub const PROJECT_KEY: &str = "code/edba.toml";

/// The cache the tasks share in a process (a Lambda container). Safe across
/// buckets and servers: a cached project is only reused when the server
/// answers that its object still has the cached ETag.
pub fn shared_cache() -> &'static ProjectCache {
    static SHARED: std::sync::OnceLock<ProjectCache> = std::sync::OnceLock::new();
    SHARED.get_or_init(ProjectCache::default)
}

/// The last project read, with its ETag and version.
#[derive(Debug, Default)]
pub struct ProjectCache {
    last: Mutex<Option<Loaded>>,
}

#[derive(Debug, Clone)]
struct Loaded {
    bucket: String,
    etag: String,
    version: Option<String>,
    project: Arc<Project>,
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
    let cached = cache.last.lock().map(|last| last.clone()).unwrap_or(None).filter(|l| l.bucket == bucket);
    let mut request = s3.get_object().bucket(bucket).key(PROJECT_KEY);
    if let Some(cached) = &cached {
        request = request.if_none_match(format!("\"{}\"", cached.etag));
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            if let (Some(304), Some(cached)) = (status, &cached) {
                return Ok(LoadedProject { project: cached.project.clone(), version: cached.version.clone() });
            }
            if status == Some(404) || err.code() == Some("NoSuchKey") {
                return Ok(LoadedProject { project: Project::sample(), version: None });
            }
            return Err(TaskError::Transient(format!(
                "S3 GetObject s3://{bucket}/{PROJECT_KEY}: {}",
                DisplayErrorContext(&err)
            )));
        }
    };
    let etag = response.e_tag().map(crate::s3::unquoted_etag).unwrap_or_default();
    let version = response.version_id().map(str::to_owned).or_else(|| Some(etag.clone()));
    let body = response
        .body
        .collect()
        .await
        .map_err(|e| TaskError::Transient(format!("S3 GetObject s3://{bucket}/{PROJECT_KEY}: {e}")))?
        .into_bytes();
    let text = std::str::from_utf8(&body)
        .map_err(|_| TaskError::InvalidInput(format!("the project s3://{bucket}/{PROJECT_KEY} is not UTF-8 text")))?;
    let project = Project::parse(text).map_err(|errors| {
        TaskError::InvalidInput(format!("the project s3://{bucket}/{PROJECT_KEY} is not valid:\n{errors}"))
    })?;
    let project = Arc::new(project);
    if let Ok(mut last) = cache.last.lock() {
        *last = Some(Loaded { bucket: bucket.to_owned(), etag, version: version.clone(), project: project.clone() });
    }
    Ok(LoadedProject { project, version })
}
