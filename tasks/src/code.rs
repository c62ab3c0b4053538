//! What a project deploys to the bucket beside its data (`code/`): documents
//! every task that needs them reads and caches per container, keyed by the
//! object's ETag (a GetObject with `If-None-Match` costs one round trip and no
//! parsing while the document is unchanged). A bucket without the document
//! runs the sample project's.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::Client;

use crate::TaskError;

/// The last document read from one key, with its bucket, ETag and version.
#[derive(Debug)]
pub struct DocumentCache<T> {
    last: Mutex<Option<Cached<T>>>,
}

impl<T> Default for DocumentCache<T> {
    fn default() -> Self {
        DocumentCache { last: Mutex::new(None) }
    }
}

#[derive(Debug)]
struct Cached<T> {
    bucket: String,
    etag: String,
    version: Option<String>,
    value: Arc<T>,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached {
            bucket: self.bucket.clone(),
            etag: self.etag.clone(),
            version: self.version.clone(),
            value: self.value.clone(),
        }
    }
}

/// A document a task runs with, and which version of it (the S3 version id,
/// else the ETag; `None` for the built-in sample's).
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub value: Arc<T>,
    pub version: Option<String>,
}

/// Reads `s3://bucket/key` through `cache`, or `sample()` when the bucket has
/// no such object. A document `parse` refuses is [`TaskError::InvalidInput`]
/// naming every problem (a retry would not help); S3 trouble is
/// [`TaskError::Transient`]. Safe across buckets and servers: a cached
/// document is only reused when the server answers that its object still has
/// the cached ETag.
pub async fn load_document<T>(
    s3: &Client,
    bucket: &str,
    key: &str,
    cache: &DocumentCache<T>,
    parse: impl FnOnce(&str) -> Result<T, String>,
    sample: impl FnOnce() -> Arc<T>,
) -> Result<Loaded<T>, TaskError> {
    let cached = cache.last.lock().map(|last| last.clone()).unwrap_or(None).filter(|l| l.bucket == bucket);
    let mut request = s3.get_object().bucket(bucket).key(key);
    if let Some(cached) = &cached {
        request = request.if_none_match(format!("\"{}\"", cached.etag));
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            if let (Some(304), Some(cached)) = (status, &cached) {
                return Ok(Loaded { value: cached.value.clone(), version: cached.version.clone() });
            }
            if status == Some(404) || err.code() == Some("NoSuchKey") {
                return Ok(Loaded { value: sample(), version: None });
            }
            return Err(TaskError::Transient(format!(
                "S3 GetObject s3://{bucket}/{key}: {}",
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
        .map_err(|e| TaskError::Transient(format!("S3 GetObject s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    let text = std::str::from_utf8(&body)
        .map_err(|_| TaskError::InvalidInput(format!("s3://{bucket}/{key} is not UTF-8 text")))?;
    let value = Arc::new(
        parse(text)
            .map_err(|problems| TaskError::InvalidInput(format!("s3://{bucket}/{key} is not valid:\n{problems}")))?,
    );
    if let Ok(mut last) = cache.last.lock() {
        *last = Some(Cached { bucket: bucket.to_owned(), etag, version: version.clone(), value: value.clone() });
    }
    Ok(Loaded { value, version })
}
