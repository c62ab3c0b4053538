//! The track task: what an incoming file event is worth compared with the
//! row already stored for its key (the rules, apart from SQL), and the one
//! transaction that records it and says which jobs it may make ready.

use std::cmp::Ordering;

use edba_payloads::{FileStatus, RowCounts, TrackOutcome, TrackOutput, ValidateOutput};

use super::dialect::{begin_write, Backend, Param, ReadRow};
use super::glob::glob_matches;
use super::limits::{
    MAX_BUCKET_CHARS as MAX_BUCKET, MAX_DATASET_CHARS, MAX_FILE_NAME_CHARS as MAX_FILE_NAME,
    MAX_OBJECT_KEY_CHARS as MAX_OBJECT_KEY, MAX_SHORT_CHARS as MAX_SHORT, MAX_URL_CHARS as MAX_URL,
    MAX_VERSION_CHARS as MAX_VERSION,
};
use super::pool::StorePool;
use super::time::StoreTime;
use super::types::FileSelector;
use super::{files, sequencer, IngestedFileRow, JobStatus};
use crate::TaskError;

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
            ("dataset", file.dataset.as_deref(), MAX_DATASET_CHARS),
            ("partition", file.partition.as_deref(), MAX_SHORT),
            ("version_id", file.version_id.as_deref(), MAX_VERSION),
            ("etag", file.etag.as_deref(), MAX_VERSION),
            ("sequencer", Some(file.sequencer.as_str()), MAX_SHORT),
            ("validated_key", file.validated_key.as_deref(), MAX_OBJECT_KEY),
            ("validated_etag", file.validated_etag.as_deref(), MAX_VERSION),
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

/// One attempt at tracking `event`, in one transaction.
pub(super) async fn track<B: Backend>(pool: &StorePool<B>, event: &FileEvent<'_>) -> Result<TrackOutput, sqlx::Error> {
    let file = event.file;
    let mut conn = pool.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;

    let sql = format!(
        "SELECT version_id, etag, sequencer, validated_key, rejected_key FROM ingested_files WHERE file_url = ?{}",
        B::LOCK_ROW
    );
    let row = B::fetch_optional(&mut tx, &sql, &[(&file.file_url).into()]).await?;
    let stored = row
        .as_ref()
        .map(|row| -> Result<StoredVersion, sqlx::Error> {
            Ok(StoredVersion {
                version_id: row.read("version_id")?,
                etag: row.read("etag")?,
                sequencer: row.read("sequencer")?,
            })
        })
        .transpose()?;

    let outcome = decide(stored.as_ref(), file);
    // The derived objects no new run will read: the stored version's when
    // this one supersedes it, this version's own when it arrived stale.
    let superseded: Vec<Option<String>> = match (outcome, &row) {
        (TrackOutcome::NewVersion, Some(row)) => vec![row.read("validated_key")?, row.read("rejected_key")?],
        (TrackOutcome::Stale, _) => vec![file.validated_key.clone(), file.rejected_key.clone()],
        _ => Vec::new(),
    };
    for key in superseded.iter().flatten() {
        B::execute(
            &mut tx,
            "INSERT INTO superseded_objects (bucket, object_key, superseded_at) VALUES (?, ?, ?)",
            &[(&file.bucket).into(), key.into(), StoreTime::now().into()],
        )
        .await?;
    }
    let now = StoreTime::now();
    match outcome {
        TrackOutcome::Inserted => {
            let seq = next_seq::<B>(&mut tx).await?;
            let sql = "INSERT INTO ingested_files (file_url, bucket, object_key, file_name, \
                 dataset, dataset_partition, version_id, etag, sequencer, status, reason, \
                 rows_valid, rows_rejected, lines_skipped, validated_key, validated_etag, rejected_key, \
                 last_validated_at, seq, first_seen_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            let mut params: Vec<Param<'_>> =
                vec![(&file.file_url).into(), (&file.bucket).into(), (&file.key).into(), event.file_name.into()];
            params.extend(event.version_params());
            params.extend([Param::from(seq), Param::from(now), Param::from(now)]);
            B::execute(&mut tx, sql, &params).await?;
        }
        TrackOutcome::NewVersion => {
            let seq = next_seq::<B>(&mut tx).await?;
            let sql = "UPDATE ingested_files SET dataset = ?, dataset_partition = ?, \
                 version_id = ?, etag = ?, sequencer = ?, status = ?, reason = ?, \
                 rows_valid = ?, rows_rejected = ?, lines_skipped = ?, validated_key = ?, \
                 validated_etag = ?, rejected_key = ?, last_validated_at = ?, seq = ?, updated_at = ? \
                 WHERE file_url = ?";
            let mut params = event.version_params();
            params.extend([Param::from(seq), Param::from(now), Param::from(&file.file_url)]);
            B::execute(&mut tx, sql, &params).await?;
        }
        TrackOutcome::Duplicate | TrackOutcome::Stale => {}
    }

    let (candidate_jobs, job_may_be_ready) = if event.usable() {
        candidates::<B>(&mut tx, event, may_change_readiness(outcome, file.status)).await?
    } else {
        (Vec::new(), false)
    };
    tx.commit().await?;
    Ok(TrackOutput { file_url: file.file_url.clone(), outcome, job_may_be_ready, candidate_jobs })
}

/// The store's next file-version sequence. The counter row stays locked
/// until this transaction commits, so versions commit in sequence order: a
/// claim that sees sequence n sees every sequence below it (see
/// `sql/state/mysql/0002_freshness_by_sequence.sql`).
async fn next_seq<B: Backend>(tx: &mut B::Connection) -> Result<i64, sqlx::Error> {
    const COUNTER: &str = "file_versions";
    let bumped =
        B::execute(tx, "UPDATE store_sequences SET value = value + 1 WHERE name = ?", &[COUNTER.into()]).await?;
    if bumped != 1 {
        return Err(sqlx::Error::Protocol(format!("the store sequence {COUNTER:?} is missing; migrate the store")));
    }
    let row = B::fetch_optional(tx, "SELECT value FROM store_sequences WHERE name = ?", &[COUNTER.into()])
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    row.read("value")
}

impl FileEvent<'_> {
    /// What a version of the file says, in the column order of both writes
    /// (`dataset` … `last_validated_at`).
    fn version_params(&self) -> Vec<Param<'_>> {
        let file = self.file;
        vec![
            (&file.dataset).into(),
            (&file.partition).into(),
            (&file.version_id).into(),
            (&file.etag).into(),
            (&file.sequencer).into(),
            file.status.as_str().into(),
            (&file.reason).into(),
            self.rows_valid.into(),
            self.rows_rejected.into(),
            self.lines_skipped.into(),
            (&file.validated_key).into(),
            (&file.validated_etag).into(),
            (&file.rejected_key).into(),
            self.validated_at.into(),
        ]
    }
}

/// The enabled jobs this file is an input or a companion of, and whether one
/// of them may now be ready.
async fn candidates<B: Backend>(
    conn: &mut B::Connection,
    event: &FileEvent<'_>,
    check_readiness: bool,
) -> Result<(Vec<String>, bool), sqlx::Error> {
    let Some(dataset) = event.file.dataset.as_deref() else {
        return Ok((Vec::new(), false));
    };
    let mut jobs = Vec::new();
    let mut ready = false;

    let readers = B::fetch_all(
        conn,
        "SELECT job_id, input_glob, min_files, last_status, claimed_seq FROM job_configs \
         WHERE input_dataset = ? AND enabled = ? ORDER BY job_id",
        &[dataset.into(), true.into()],
    )
    .await?;
    for row in readers {
        let glob: String = row.read("input_glob")?;
        if !glob_matches(&glob, event.file_name) {
            continue;
        }
        let last_status: Option<String> = row.read("last_status")?;
        if check_readiness && !ready && !is_running(last_status.as_deref()) {
            let min_files = u64::try_from(row.read::<i32>("min_files")?).unwrap_or(0);
            let selector =
                FileSelector { dataset, glob: &glob, seq_above: row.read("claimed_seq")?, validated_after: None };
            ready = files::count::<B>(conn, &selector, min_files).await? >= min_files;
        }
        jobs.push(row.read("job_id")?);
    }

    let companions_of = B::fetch_all(
        conn,
        "SELECT j.job_id, j.last_status FROM job_companion_datasets c \
         JOIN job_configs j ON j.job_id = c.job_id \
         WHERE c.dataset = ? AND j.enabled = ? ORDER BY j.job_id",
        &[dataset.into(), true.into()],
    )
    .await?;
    for row in companions_of {
        let last_status: Option<String> = row.read("last_status")?;
        if check_readiness && !is_running(last_status.as_deref()) {
            ready = true;
        }
        jobs.push(row.read("job_id")?);
    }

    jobs.sort();
    jobs.dedup();
    Ok((jobs, ready))
}

fn is_running(last_status: Option<&str>) -> bool {
    last_status == Some(JobStatus::Running.as_str())
}

/// The stored row of a file, by `s3://bucket/key`.
pub(super) async fn file<B: Backend>(
    pool: &StorePool<B>,
    file_url: &str,
) -> Result<Option<IngestedFileRow>, sqlx::Error> {
    let sql = "SELECT file_url, bucket, object_key, file_name, dataset, \
        dataset_partition, version_id, etag, sequencer, status, reason, rows_valid, \
        rows_rejected, lines_skipped, validated_key, rejected_key, last_validated_at, \
        first_seen_at, updated_at FROM ingested_files WHERE file_url = ?";
    let mut conn = pool.acquire().await?;
    let Some(row) = B::fetch_optional(&mut conn, sql, &[file_url.into()]).await? else {
        return Ok(None);
    };
    let status: String = row.read("status")?;
    let status = super::parse_file_status(&status)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown file status {status:?}").into()))?;
    let count = |column: &str| -> Result<u64, sqlx::Error> {
        u64::try_from(row.read::<i64>(column)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(Some(IngestedFileRow {
        file_url: row.read("file_url")?,
        bucket: row.read("bucket")?,
        object_key: row.read("object_key")?,
        file_name: row.read("file_name")?,
        dataset: row.read("dataset")?,
        partition: row.read("dataset_partition")?,
        version_id: row.read("version_id")?,
        etag: row.read("etag")?,
        sequencer: row.read("sequencer")?,
        status,
        reason: row.read("reason")?,
        counts: RowCounts {
            rows_valid: count("rows_valid")?,
            rows_rejected: count("rows_rejected")?,
            lines_skipped: count("lines_skipped")?,
        },
        validated_key: row.read("validated_key")?,
        rejected_key: row.read("rejected_key")?,
        last_validated_at: row.read::<StoreTime>("last_validated_at")?.get(),
        first_seen_at: row.read::<StoreTime>("first_seen_at")?.get(),
        updated_at: row.read::<StoreTime>("updated_at")?.get(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            validated_etag: None,
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
