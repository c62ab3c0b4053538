//! S3 helpers: streaming reads and multipart writes.
//!
//! Both keep memory bounded whatever the object size: a read yields the body
//! chunk by chunk as it arrives, and an [`ObjectWriter`] holds at most the part
//! being filled plus one part being uploaded.
//!
//! Every S3 failure becomes [`TaskError::Transient`] with the operation, the
//! object and the SDK's full error context in the message, except the answers
//! that say the object an event names is gone ([`ObjectRead::Gone`]), which a
//! retry cannot change.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use tokio::task::JoinHandle;

use crate::TaskError;

/// Part size of multipart writes unless configured otherwise.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's smallest part (every part but the last); smaller settings are raised to it.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3's largest part.
pub const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// S3's largest part number.
const MAX_PARTS: i32 = 10_000;

const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// Which state of an object to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPin<'a> {
    /// Whatever the key holds now.
    Latest,
    /// This version (versioned buckets).
    Version(&'a str),
    /// The current object, only if its ETag is still this one (`If-Match`).
    ETag(&'a str),
}

impl<'a> ReadPin<'a> {
    /// The strongest pin an S3 event allows: its version id when the bucket is
    /// versioned, else its ETag, so that the content read is the content the
    /// event announced and never a later overwrite.
    pub fn from_event(version_id: Option<&'a str>, etag: Option<&'a str>) -> Self {
        match (version_id, etag) {
            (Some(v), _) if !v.is_empty() => ReadPin::Version(v),
            (_, Some(e)) if !e.is_empty() => ReadPin::ETag(e),
            _ => ReadPin::Latest,
        }
    }
}

/// The outcome of opening an object for reading.
#[derive(Debug)]
pub enum ObjectRead {
    Body(ObjectBody),
    /// The object, or the pinned version or ETag of it, no longer exists: it was
    /// deleted or overwritten after the event. Says which, in words.
    Gone(String),
}

/// A body being streamed from S3.
#[derive(Debug)]
pub struct ObjectBody {
    body: ByteStream,
    target: String,
    /// `Content-Length` of the response, when S3 sent one.
    pub content_length: Option<u64>,
    /// The object's ETag, without quotes.
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

impl ObjectBody {
    /// The next chunk of the body, `None` at its end. A connection that breaks
    /// mid-body is a transient failure.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, TaskError> {
        match self.body.next().await {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(err)) => {
                Err(TaskError::transient(&format!("reading the body of {}", self.target), DisplayErrorContext(&err)))
            }
        }
    }
}

/// Starts a streaming GetObject of `bucket`/`key` (a decoded key), pinned as `pin` says.
pub async fn open_object(s3: &Client, bucket: &str, key: &str, pin: ReadPin<'_>) -> Result<ObjectRead, TaskError> {
    let target = s3_url(bucket, key);
    let mut request = s3.get_object().bucket(bucket).key(key);
    match pin {
        ReadPin::Latest => {}
        ReadPin::Version(version) => request = request.version_id(version),
        ReadPin::ETag(etag) => request = request.if_match(quoted_etag(etag)),
    }
    match request.send().await {
        Ok(output) => Ok(ObjectRead::Body(ObjectBody {
            content_length: output.content_length.and_then(|n| u64::try_from(n).ok()),
            etag: output.e_tag.as_deref().map(unquoted_etag),
            version_id: output.version_id,
            body: output.body,
            target,
        })),
        Err(err) => {
            // NoSuchKey / NoSuchVersion / 412 are final answers about this
            // object, not trouble: the newer event (or none, after a delete)
            // is the one that counts.
            let code = err.as_service_error().and_then(|e| e.code()).map(str::to_owned);
            let status = err.raw_response().map(|r| r.status().as_u16());
            let gone = match (code.as_deref(), status, pin) {
                (Some("NoSuchKey"), _, _) => Some(format!("{target} no longer exists (deleted after the event)")),
                (Some("NoSuchVersion"), _, ReadPin::Version(v)) => {
                    Some(format!("version {v} of {target} no longer exists (deleted after the event)"))
                }
                (Some("PreconditionFailed"), _, ReadPin::ETag(e)) | (_, Some(412), ReadPin::ETag(e)) => Some(format!(
                    "{target} no longer has ETag {e} (overwritten after the event; the newer event covers it)"
                )),
                _ => None,
            };
            match gone {
                Some(reason) => Ok(ObjectRead::Gone(reason)),
                None => Err(sdk_failure("GetObject", &target, err)),
            }
        }
    }
}

/// What [`ObjectWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenObject {
    pub key: String,
    /// The new object's ETag, without quotes (`<md5>-<parts>` when multipart).
    pub etag: Option<String>,
    pub size: u64,
    /// 0 for a single PutObject, else the number of parts uploaded.
    pub parts: usize,
}

/// Writes one object from synchronous writes (`std::io::Write`), in bounded
/// memory.
///
/// Bytes are buffered; [`ObjectWriter::upload_full_parts`] (call it after each
/// batch of writes) starts a multipart upload as soon as the buffer holds a
/// full part and uploads each full part in the background while the next one
/// fills. So at most two parts (one filling, one uploading) are in memory. An
/// object that never reaches a part is written with one PutObject at
/// [`ObjectWriter::finish`].
///
/// Nothing is visible under the key before `finish` succeeds; [`ObjectWriter::abort`]
/// (or dropping the writer) discards the upload.
#[derive(Debug)]
pub struct ObjectWriter {
    s3: Client,
    bucket: String,
    key: String,
    part_size: usize,
    metadata: Vec<(String, String)>,
    buffer: Vec<u8>,
    written: u64,
    upload: Option<MultipartUpload>,
}

#[derive(Debug)]
struct MultipartUpload {
    upload_id: String,
    completed: Vec<CompletedPart>,
    in_flight: Option<JoinHandle<Result<CompletedPart, TaskError>>>,
    next_part: i32,
}

impl ObjectWriter {
    /// A writer of a CSV object at `bucket`/`key`. `part_size` is clamped to
    /// S3's limits (5 MiB to 5 GiB).
    pub fn new(s3: &Client, bucket: &str, key: &str, part_size: usize) -> Self {
        ObjectWriter {
            s3: s3.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            part_size: part_size.clamp(MIN_PART_SIZE, MAX_PART_SIZE),
            metadata: Vec::new(),
            buffer: Vec::new(),
            written: 0,
            upload: None,
        }
    }

    /// Adds user metadata (`x-amz-meta-<name>`) to the object.
    pub fn with_metadata(mut self, name: &str, value: &str) -> Self {
        self.metadata.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Whether a multipart upload has been started.
    pub fn is_multipart(&self) -> bool {
        self.upload.is_some()
    }

    /// Uploads every full part in the buffer. After it returns the buffer holds
    /// less than one part.
    pub async fn upload_full_parts(&mut self) -> Result<(), TaskError> {
        while self.buffer.len() >= self.part_size {
            let rest = self.buffer.split_off(self.part_size);
            let mut part = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
            self.buffer.extend_from_slice(&rest);
            part.shrink_to_fit();
            self.start_part(Bytes::from(part)).await?;
        }
        Ok(())
    }

    /// Writes what is left and completes the object.
    pub async fn finish(mut self) -> Result<WrittenObject, TaskError> {
        self.upload_full_parts().await?;
        let target = s3_url(&self.bucket, &self.key);
        let Some(mut upload) = self.upload.take() else {
            let body = std::mem::take(&mut self.buffer);
            let output = self
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(CSV_CONTENT_TYPE)
                .set_metadata(self.metadata_map())
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| sdk_failure("PutObject", &target, e))?;
            return Ok(WrittenObject {
                key: self.key.clone(),
                etag: output.e_tag.as_deref().map(unquoted_etag),
                size: self.written,
                parts: 0,
            });
        };
        let result = async {
            if !self.buffer.is_empty() {
                let last = Bytes::from(std::mem::take(&mut self.buffer));
                self.queue_part(&mut upload, last).await?;
            }
            if let Some(in_flight) = upload.in_flight.take() {
                upload.completed.push(join_part(in_flight).await?);
            }
            let parts = upload.completed.len();
            let output = self
                .s3
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload.upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder().set_parts(Some(std::mem::take(&mut upload.completed))).build(),
                )
                .send()
                .await
                .map_err(|e| sdk_failure("CompleteMultipartUpload", &target, e))?;
            Ok(WrittenObject {
                key: self.key.clone(),
                etag: output.e_tag.as_deref().map(unquoted_etag),
                size: self.written,
                parts,
            })
        }
        .await;
        if result.is_err() {
            abort_upload(&self.s3, &self.bucket, &self.key, upload).await;
        }
        result
    }

    /// Discards everything written: aborts the multipart upload if one was
    /// started. Best effort: a failing abort is left to the bucket's
    /// `AbortIncompleteMultipartUpload` lifecycle rule.
    pub async fn abort(mut self) {
        if let Some(upload) = self.upload.take() {
            abort_upload(&self.s3, &self.bucket, &self.key, upload).await;
        }
    }

    async fn start_part(&mut self, part: Bytes) -> Result<(), TaskError> {
        let mut upload = match self.upload.take() {
            Some(upload) => upload,
            None => self.create_upload().await?,
        };
        let queued = self.queue_part(&mut upload, part).await;
        self.upload = Some(upload);
        queued
    }

    async fn create_upload(&self) -> Result<MultipartUpload, TaskError> {
        let target = s3_url(&self.bucket, &self.key);
        let output = self
            .s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type(CSV_CONTENT_TYPE)
            .set_metadata(self.metadata_map())
            .send()
            .await
            .map_err(|e| sdk_failure("CreateMultipartUpload", &target, e))?;
        let upload_id = output.upload_id.ok_or_else(|| {
            TaskError::Transient(format!("CreateMultipartUpload {target}: the response has no upload id"))
        })?;
        Ok(MultipartUpload { upload_id, completed: Vec::new(), in_flight: None, next_part: 1 })
    }

    /// Waits for the part in flight (bounding memory to two parts), then starts
    /// uploading `part` in the background.
    async fn queue_part(&self, upload: &mut MultipartUpload, part: Bytes) -> Result<(), TaskError> {
        if let Some(in_flight) = upload.in_flight.take() {
            upload.completed.push(join_part(in_flight).await?);
        }
        let part_number = upload.next_part;
        if part_number > MAX_PARTS {
            return Err(TaskError::InvalidInput(format!(
                "{}: more than {MAX_PARTS} parts of {} bytes; raise the part size",
                s3_url(&self.bucket, &self.key),
                self.part_size
            )));
        }
        upload.next_part += 1;
        let request = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload.upload_id)
            .part_number(part_number)
            .body(ByteStream::from(part));
        let target = s3_url(&self.bucket, &self.key);
        upload.in_flight = Some(tokio::spawn(async move {
            let output =
                request.send().await.map_err(|e| sdk_failure(&format!("UploadPart {part_number} of"), &target, e))?;
            Ok(CompletedPart::builder()
                .part_number(part_number)
                .set_e_tag(output.e_tag)
                .set_checksum_crc32(output.checksum_crc32)
                .set_checksum_crc32_c(output.checksum_crc32_c)
                .set_checksum_crc64_nvme(output.checksum_crc64_nvme)
                .set_checksum_sha1(output.checksum_sha1)
                .set_checksum_sha256(output.checksum_sha256)
                .build())
        }));
        Ok(())
    }

    fn metadata_map(&self) -> Option<std::collections::HashMap<String, String>> {
        (!self.metadata.is_empty()).then(|| self.metadata.iter().cloned().collect())
    }
}

impl std::io::Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    /// A writer dropped mid-upload (an early return, a panic) still aborts its
    /// upload, in the background when a runtime is around.
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (s3, bucket, key) = (self.s3.clone(), self.bucket.clone(), self.key.clone());
            runtime.spawn(async move { abort_upload(&s3, &bucket, &key, upload).await });
        }
    }
}

async fn join_part(in_flight: JoinHandle<Result<CompletedPart, TaskError>>) -> Result<CompletedPart, TaskError> {
    in_flight.await.map_err(|e| TaskError::Transient(format!("UploadPart task failed: {e}")))?
}

async fn abort_upload(s3: &Client, bucket: &str, key: &str, mut upload: MultipartUpload) {
    if let Some(in_flight) = upload.in_flight.take() {
        // Let the part finish (or fail) first: S3 may otherwise keep a part
        // that lands after the abort.
        let _ = in_flight.await;
    }
    let _ = s3.abort_multipart_upload().bucket(bucket).key(key).upload_id(&upload.upload_id).send().await;
}

/// `s3://bucket/key`, with the key as it is (not encoded).
pub fn s3_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// A transient failure of an S3 call, with everything the SDK knows about it.
pub fn sdk_failure<E, R>(operation: &str, target: &str, err: SdkError<E, R>) -> TaskError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    TaskError::Transient(format!("S3 {operation} {target}: {}", DisplayErrorContext(&err)))
}

fn quoted_etag(etag: &str) -> String {
    if etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// S3 events carry ETags bare; HTTP headers carry them quoted. edba stores them bare.
pub fn unquoted_etag(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_pins_its_version_before_its_etag() {
        assert_eq!(ReadPin::from_event(Some("v1"), Some("abc")), ReadPin::Version("v1"));
        assert_eq!(ReadPin::from_event(None, Some("abc")), ReadPin::ETag("abc"));
        assert_eq!(ReadPin::from_event(Some(""), Some("abc")), ReadPin::ETag("abc"));
        assert_eq!(ReadPin::from_event(None, None), ReadPin::Latest);
    }

    #[test]
    fn etags_are_quoted_for_headers_and_bare_in_edba() {
        assert_eq!(quoted_etag("abc"), "\"abc\"");
        assert_eq!(quoted_etag("\"abc\""), "\"abc\"");
        assert_eq!(unquoted_etag("\"abc-2\""), "abc-2");
        assert_eq!(unquoted_etag("abc"), "abc");
    }
}
