//! Payloads of the ingest machine: the EventBridge event it starts with (and
//! how S3 builds one and encodes its key), the validate and track tasks, and
//! what the machine returns.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::percent_decode_str;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

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

/// The EventBridge "Object Created" event S3 sends for a new object: what
/// `edba run` sends for an upload and `edba start ingest` re-drives. The key
/// is encoded as S3 encodes it ([`encode_event_key`]); `time` is now, to the
/// second, and the sequencer grows with time.
pub fn object_created_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: Option<String>,
    version_id: Option<String>,
) -> IngestInput {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let seq = sequencer();
    IngestInput {
        version: "0".into(),
        id: format!("edba-local-{seq}"),
        detail_type: "Object Created".into(),
        source: "aws.s3".into(),
        account: "000000000000".into(),
        time: now.format(&Rfc3339).unwrap_or_default(),
        region: "us-east-1".into(),
        resources: vec![format!("arn:aws:s3:::{bucket}")],
        detail: ObjectCreatedDetail {
            version: "0".into(),
            bucket: BucketRef { name: bucket.into() },
            object: S3ObjectRef {
                key: encode_event_key(key),
                size: Some(size),
                etag,
                version_id,
                sequencer: seq.clone(),
            },
            request_id: Some(format!("LOCAL{seq}")),
            requester: Some("000000000000".into()),
            source_ip_address: Some("127.0.0.1".into()),
            reason: Some("PutObject".into()),
        },
    }
}

/// A sequencer that grows with time, as S3's do for one key.
fn sequencer() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:020X}")
}

/// Encodes an object key as S3 puts it in an event: form-encoded, `+` for a
/// space (the inverse of [`decode_event_key`]).
pub fn encode_event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes an object key as S3 puts it in an event.
///
/// S3 URL-encodes keys in its event notifications the way HTML forms do
/// (`application/x-www-form-urlencoded`): a space becomes `+`, a literal `+`
/// becomes `%2B`, other reserved bytes `%XX` ("red flower.jpg" becomes
/// "red+flower.jpg", AWS S3 User Guide, "Event message structure").
/// The EventBridge page ("EventBridge event message structure") shows only a
/// key without special characters and says nothing either way; AWS's own
/// Lambda Powertools decodes `detail.object.key` of S3 EventBridge events with
/// `unquote_plus` (`S3EventBridgeNotificationObject.key`), i.e. EventBridge
/// keys are encoded the same way. Decoding a key that needs no encoding is a
/// no-op, so keys edba accepts (ASCII letters, digits, `-`, `_`, `.`) read the
/// same either way; only keys with spaces or other special bytes differ.
pub fn decode_event_key(raw: &str) -> Result<String, EventKeyNotUtf8> {
    let spaced: Cow<'_, str> = if raw.contains('+') { Cow::Owned(raw.replace('+', " ")) } else { Cow::Borrowed(raw) };
    percent_decode_str(&spaced).decode_utf8().map(Cow::into_owned).map_err(|_| EventKeyNotUtf8 { raw: raw.to_owned() })
}

/// An event's object key whose `%XX` escapes do not decode to UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKeyNotUtf8 {
    /// The key as the event gives it.
    pub raw: String,
}

impl fmt::Display for EventKeyNotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event object key {:?} does not decode to UTF-8", self.raw)
    }
}

impl std::error::Error for EventKeyNotUtf8 {}

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
    /// `validated/<stem>/<version>.csv`, null when INVALID.
    pub validated_key: Option<String>,
    /// The ETag S3 gave the validated object when validate wrote it; a run's
    /// manifest pins it, so the step reads exactly these bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated_etag: Option<String>,
    /// `rejected/<stem>/<version>.rejects.csv`, null when nothing was rejected.
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

/// Output of the ingest machine: its input event, with validate's output at
/// `$.validation` and track's at `$.tracking` (the machine's `ResultPath`s;
/// starting the aggregate machine discards its result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestOutput {
    #[serde(flatten)]
    pub event: IngestInput,
    pub validation: ValidateOutput,
    pub tracking: TrackOutput,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_encodes_them() {
        assert_eq!(encode_event_key("incoming/IL-101.tdf"), "incoming/IL-101.tdf");
        assert_eq!(encode_event_key("incoming/red flower (1).tdf"), "incoming/red+flower+%281%29.tdf");
    }

    #[test]
    fn sequencers_grow() {
        let a = sequencer();
        let b = sequencer();
        assert!(b >= a && a.len() == b.len());
    }

    #[test]
    fn event_keys_decode_as_form_urlencoded() {
        for (raw, want) in [
            ("incoming/IL-101.tdf", "incoming/IL-101.tdf"),
            ("incoming/IL-101+copy.tdf", "incoming/IL-101 copy.tdf"),
            ("incoming/a%2Bb.tdf", "incoming/a+b.tdf"),
            ("incoming/%28x%29%3A1.tdf", "incoming/(x):1.tdf"),
            ("incoming/caf%C3%A9.tdf", "incoming/café.tdf"),
            ("incoming%2FIL-101.tdf", "incoming/IL-101.tdf"),
            // A lone % that starts no escape is kept, as S3 would have encoded it.
            ("incoming/100%.tdf", "incoming/100%.tdf"),
        ] {
            assert_eq!(decode_event_key(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn an_event_key_that_is_not_utf8_says_so() {
        let err = decode_event_key("incoming/%FF.tdf").unwrap_err();
        assert_eq!(err.to_string(), "event object key \"incoming/%FF.tdf\" does not decode to UTF-8");
    }

    #[test]
    fn decoding_undoes_encoding() {
        for key in ["incoming/IL-101.tdf", "incoming/red flower (1).tdf", "incoming/a+b%c.tdf", "incoming/café.tdf"] {
            assert_eq!(decode_event_key(&encode_event_key(key)).unwrap(), key);
        }
    }

    #[test]
    fn an_object_created_event_is_the_ingest_input_s3_sends() {
        let event = object_created_event("b", "incoming/red flower.tdf", 7, Some("e".into()), None);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["detail-type"], "Object Created");
        assert_eq!(json["source"], "aws.s3");
        assert_eq!(json["resources"][0], "arn:aws:s3:::b");
        assert_eq!(json["detail"]["object"]["key"], "incoming/red+flower.tdf");
        assert_eq!(json["detail"]["object"]["size"], 7);
        assert!(json["detail"]["object"].get("version-id").is_none());
        assert!(time::OffsetDateTime::parse(&event.time, &Rfc3339).is_ok(), "{}", event.time);
        assert_eq!(serde_json::from_value::<IngestInput>(json).unwrap(), event);
    }
}
