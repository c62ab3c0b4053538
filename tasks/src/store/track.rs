//! The track task's rules, apart from SQL: what an incoming file event is
//! worth compared with the row already stored for its key.

use std::cmp::Ordering;

use edba_payloads::{FileStatus, TrackOutcome, ValidateOutput};

use super::sequencer;
use super::time::StoreTime;
use crate::TaskError;

/// Column limits shared by both dialects (MySQL enforces them; checking here
/// makes SQLite behave the same and turns an oversized value into a clear
/// `Edba.InvalidInput` instead of a database error retried forever).
const MAX_URL: usize = 700;
const MAX_FILE_NAME: usize = 255;
const MAX_BUCKET: usize = 63;
const MAX_SHORT: usize = 64;
const MAX_VERSION: usize = 255;
const MAX_OBJECT_KEY: usize = 1024;

/// A validated file event, checked and converted for the store.
#[derive(Debug, Clone)]
pub(crate) struct FileEvent<'a> {
    pub(crate) file: &'a ValidateOutput,
    pub(crate) file_name: &'a str,
    pub(crate) validated_at: StoreTime,
    pub(crate) rows_valid: i64,
    pub(crate) rows_rejected: i64,
    pub(crate) lines_skipped: i64,
}

impl<'a> FileEvent<'a> {
    pub(crate) fn new(file: &'a ValidateOutput) -> Result<Self, TaskError> {
        let invalid = |what: String| Err(TaskError::InvalidInput(format!("track: {what}")));
        if file.file_url != format!("s3://{}/{}", file.bucket, file.key) {
            return invalid(format!("file_url {:?} is not s3://<bucket>/<key>", file.file_url));
        }
        let file_name = file.key.rsplit('/').next().unwrap_or(&file.key);
        let too_long = [
            ("file_url", Some(file.file_url.as_str()), MAX_URL),
            ("bucket", Some(file.bucket.as_str()), MAX_BUCKET),
            ("key", Some(file.key.as_str()), MAX_OBJECT_KEY),
            ("file name", Some(file_name), MAX_FILE_NAME),
            ("dataset", file.dataset.as_deref(), MAX_SHORT),
            ("partition", file.partition.as_deref(), MAX_SHORT),
            ("version_id", file.version_id.as_deref(), MAX_VERSION),
            ("etag", file.etag.as_deref(), MAX_VERSION),
            ("sequencer", Some(file.sequencer.as_str()), MAX_SHORT),
            ("validated_key", file.validated_key.as_deref(), MAX_OBJECT_KEY),
            ("rejected_key", file.rejected_key.as_deref(), MAX_OBJECT_KEY),
        ]
        .into_iter()
        .find(|(_, value, max)| value.is_some_and(|v| v.chars().count() > *max));
        if let Some((field, _, max)) = too_long {
            return invalid(format!("{field} is longer than {max} characters"));
        }
        if !sequencer::is_valid(&file.sequencer) {
            return invalid(format!("sequencer {:?} is not hexadecimal", file.sequencer));
        }
        let Ok(validated_at) = StoreTime::parse_rfc3339(&file.validated_at) else {
            return invalid(format!("validated_at {:?} is not RFC 3339", file.validated_at));
        };
        let count = |n: u64| {
            i64::try_from(n).map_err(|_| TaskError::InvalidInput(format!("track: row count {n} is out of range")))
        };
        Ok(FileEvent {
            file,
            file_name,
            validated_at,
            rows_valid: count(file.counts.rows_valid)?,
            rows_rejected: count(file.counts.rows_rejected)?,
            lines_skipped: count(file.counts.lines_skipped)?,
        })
    }

    pub(crate) fn usable(&self) -> bool {
        self.file.status.is_usable()
    }
}

/// The identity of the object version a row describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredVersion {
    pub(crate) version_id: Option<String>,
    pub(crate) etag: Option<String>,
    pub(crate) sequencer: String,
}

/// What an event does to the row of its key.
pub(crate) fn decide(stored: Option<&StoredVersion>, event: &ValidateOutput) -> TrackOutcome {
    let Some(stored) = stored else {
        return TrackOutcome::Inserted;
    };
    match sequencer::compare(&event.sequencer, &stored.sequencer) {
        Ordering::Less => TrackOutcome::Stale,
        Ordering::Equal => TrackOutcome::Duplicate,
        Ordering::Greater if same_version(stored, event) => TrackOutcome::Duplicate,
        Ordering::Greater => TrackOutcome::NewVersion,
    }
}

/// Versioned buckets name each version; on an unversioned bucket an
/// overwrite with identical content keeps its etag and is not new data.
fn same_version(stored: &StoredVersion, event: &ValidateOutput) -> bool {
    match (&stored.version_id, &event.version_id) {
        (Some(a), Some(b)) => a == b,
        (None, None) => stored.etag == event.etag,
        _ => false,
    }
}

/// Whether the outcome can change a job's readiness: only new usable data can.
pub(crate) fn may_change_readiness(outcome: TrackOutcome, status: FileStatus) -> bool {
    status.is_usable() && matches!(outcome, TrackOutcome::Inserted | TrackOutcome::NewVersion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edba_payloads::RowCounts;

    fn event(version: Option<&str>, etag: &str, sequencer: &str) -> ValidateOutput {
        ValidateOutput {
            file_url: "s3://b/incoming/IL-1.tdf".into(),
            bucket: "b".into(),
            key: "incoming/IL-1.tdf".into(),
            version_id: version.map(Into::into),
            etag: Some(etag.into()),
            sequencer: sequencer.into(),
            dataset: Some("sales".into()),
            partition: Some("IL".into()),
            status: FileStatus::Validated,
            reason: None,
            counts: RowCounts::default(),
            validated_key: None,
            rejected_key: None,
            validated_at: "2024-05-01T10:00:00.000001Z".into(),
        }
    }

    fn stored(version: Option<&str>, etag: &str, sequencer: &str) -> StoredVersion {
        StoredVersion { version_id: version.map(Into::into), etag: Some(etag.into()), sequencer: sequencer.into() }
    }

    #[test]
    fn events_are_judged_by_sequencer_then_version() {
        let row = stored(Some("v1"), "e1", "0A");
        assert_eq!(decide(None, &event(Some("v1"), "e1", "0A")), TrackOutcome::Inserted);
        assert_eq!(decide(Some(&row), &event(Some("v1"), "e1", "0A")), TrackOutcome::Duplicate);
        assert_eq!(decide(Some(&row), &event(Some("v0"), "e0", "09")), TrackOutcome::Stale);
        assert_eq!(decide(Some(&row), &event(Some("v2"), "e2", "B")), TrackOutcome::NewVersion);
        assert_eq!(decide(Some(&row), &event(Some("v1"), "e1", "0B")), TrackOutcome::Duplicate);
    }

    #[test]
    fn unversioned_objects_are_told_apart_by_etag() {
        let row = stored(None, "e1", "0A");
        assert_eq!(decide(Some(&row), &event(None, "e1", "0B")), TrackOutcome::Duplicate);
        assert_eq!(decide(Some(&row), &event(None, "e2", "0B")), TrackOutcome::NewVersion);
    }

    #[test]
    fn malformed_events_are_invalid_input() {
        let mut e = event(None, "e", "zz");
        assert!(matches!(FileEvent::new(&e), Err(TaskError::InvalidInput(_))));
        e.sequencer = "0A".into();
        e.validated_at = "yesterday".into();
        assert!(matches!(FileEvent::new(&e), Err(TaskError::InvalidInput(_))));
        e.validated_at = "2024-05-01T10:00:00Z".into();
        e.file_url = "s3://other/incoming/IL-1.tdf".into();
        assert!(matches!(FileEvent::new(&e), Err(TaskError::InvalidInput(_))));
        e.file_url = "s3://b/incoming/IL-1.tdf".into();
        assert_eq!(FileEvent::new(&e).unwrap().file_name, "IL-1.tdf");
    }
}
