//! Payloads of the ingest machine: the EventBridge event it starts with, and the
//! validate and track tasks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An EventBridge "Object Created" event for the edba bucket, as S3 sends it
/// (S3 EventBridge notifications, `detail-type: Object Created`). It is the
/// ingest machine's execution input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestInput {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    /// When S3 emitted the event (RFC 3339).
    pub time: String,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: ObjectCreatedDetail,
}

/// The `detail` of an S3 "Object Created" event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectCreatedDetail {
    pub version: String,
    pub bucket: BucketRef,
    pub object: S3ObjectRef,
    #[serde(rename = "request-id", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    #[serde(rename = "source-ip-address", default, skip_serializing_if = "Option::is_none")]
    pub source_ip_address: Option<String>,
    /// `PutObject`, `CompleteMultipartUpload`, `CopyObject`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BucketRef {
    pub name: String,
}

/// The object of an S3 event, with the field names S3 uses. `version-id` is
/// present only on versioned buckets, `etag` and `size` not for every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct S3ObjectRef {
    /// The object key as it appears in the event (S3 URL-encodes it).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(rename = "version-id", default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Orders events for the same key: a lexically greater sequencer (after
    /// left-padding to equal length) is a later event.
    pub sequencer: String,
}

/// Input of the validate task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidateInput {
    pub bucket: String,
    pub object: S3ObjectRef,
    /// The event's `time`.
    pub event_time: String,
}

/// The outcome of validating one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileStatus {
    /// Every data line was valid.
    Validated,
    /// Some lines were rejected (see the rejects object), the rest are usable.
    ValidatedWithRejects,
    /// Nothing usable: empty, binary, unknown dataset, no valid rows, or too many
    /// rejects. No validated object is written.
    Invalid,
}

impl FileStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            FileStatus::Validated => "VALIDATED",
            FileStatus::ValidatedWithRejects => "VALIDATED_WITH_REJECTS",
            FileStatus::Invalid => "INVALID",
        }
    }

    /// Whether the file's validated rows may feed a job.
    pub const fn is_usable(self) -> bool {
        !matches!(self, FileStatus::Invalid)
    }
}

/// Where every line of a file went. `rows_valid + rows_rejected + lines_skipped`
/// equals the number of lines in the file (a header line counts as skipped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RowCounts {
    pub rows_valid: u64,
    pub rows_rejected: u64,
    pub lines_skipped: u64,
}

/// Output of the validate task; the input of track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidateOutput {
    /// `s3://bucket/key` of the raw object.
    pub file_url: String,
    pub bucket: String,
    /// The decoded object key.
    pub key: String,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    pub sequencer: String,
    /// The dataset the key maps to (`sales`, `items`); null when unknown.
    pub dataset: Option<String>,
    /// The dataset partition the key names, for example the province `IL`.
    pub partition: Option<String>,
    pub status: FileStatus,
    /// Why the file is INVALID or has rejects, in words.
    pub reason: Option<String>,
    pub counts: RowCounts,
    /// `validated/<stem>.csv`, null when INVALID.
    pub validated_key: Option<String>,
    /// `rejected/<stem>.rejects.csv`, null when nothing was rejected.
    pub rejected_key: Option<String>,
    /// When validation finished (RFC 3339, UTC, microseconds).
    pub validated_at: String,
}

/// Input of the track task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrackInput {
    pub file: ValidateOutput,
}

/// What tracking did with a file event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrackOutcome {
    /// First time this key was seen.
    Inserted,
    /// A new version of a known key: its freshness was reset.
    NewVersion,
    /// A redelivered event for the version already stored: nothing changed.
    Duplicate,
    /// An event older (by S3 sequencer) than the stored one: ignored.
    Stale,
}

/// Output of the track task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrackOutput {
    pub file_url: String,
    pub outcome: TrackOutcome,
    /// Whether a job that reads this file's dataset may now be ready: a cheap
    /// check, not an evaluation. True starts the aggregate machine.
    pub job_may_be_ready: bool,
    /// Jobs whose input this file belongs to.
    pub candidate_jobs: Vec<String>,
}
