//! Object versioning for the embedded S3 server, as on the deployed bucket
//! (which is versioned): PutObject, CompleteMultipartUpload and CopyObject
//! return a version id; GetObject, HeadObject, CopyObject's source and
//! DeleteObject take one; DeleteObject without one leaves a delete marker;
//! ListObjectVersions lists them.
//!
//! Tags belong to one version, as in S3: PutObject (`x-amz-tagging`),
//! CreateMultipartUpload and CopyObject (the source's tags, or
//! `x-amz-tagging` with the `REPLACE` directive) give the new version its
//! tags; Put/Get/DeleteObjectTagging act on the version named, else on the
//! newest; GetObject and HeadObject answer `x-amz-tagging-count`. They are
//! kept in the key's `index.json`, with S3's limits (10 tags, keys of 128 and
//! values of 256 characters, unique keys).
//!
//! [`VersionedBuckets`] wraps `s3s-fs`, which keeps one file per key. Every
//! write still leaves the key's content as that file (so listings, multipart
//! uploads and plain reads work as `s3s-fs` does them) and also keeps it in a
//! hidden bucket directory ([`VERSIONS_BUCKET`]) as
//! `<bucket>/<sha256 of key>.<version id>`: a hard link to the file the write
//! made (and to `s3s-fs`'s metadata and ETag files beside it), not a copy, so
//! recording a version creates no file. That is sound because `s3s-fs`
//! replaces a key's files by renaming new ones over them; the one write it
//! makes in place (CopyObject's destination) is preceded here by unlinking
//! the destination's files when its newest version shares them. Versions an
//! older edba recorded stay where it put them (`<sha256 of key>/<id>`). Each
//! key's index (its versions and delete markers, oldest first, and the tags
//! of its multipart uploads in progress) is a row of a
//! SQLite table in [`VERSIONS_BUCKET`]`/index.db` (WAL), written in one
//! statement, so a reader sees the index before or after a write, never half
//! of one. Homes written before kept one `index.json` per key: opening the
//! server moves them into the table.
//!
//! Version ids are 20-digit decimal numbers that only grow, per key and
//! across the server, so the newest version is the greatest. A read without a
//! version id is served from the newest copy, so the version id it returns
//! always names the bytes it returns. Writes of one key are serialised (a
//! striped lock), so the newest version is always the last one written.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex as StdMutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use s3s::dto::{
    BucketVersioningStatus, CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CopyObjectInput,
    CopyObjectOutput, CopySource, CreateBucketInput, CreateBucketOutput, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, DeleteBucketInput, DeleteBucketOutput, DeleteMarkerEntry, DeleteObjectInput,
    DeleteObjectOutput, DeleteObjectTaggingInput, DeleteObjectTaggingOutput, DeleteObjectsInput, DeleteObjectsOutput,
    DeletedObject, ETag, ETagCondition, GetBucketLocationInput, GetBucketLocationOutput, GetBucketVersioningInput,
    GetBucketVersioningOutput, GetObjectInput, GetObjectOutput, GetObjectTaggingInput, GetObjectTaggingOutput,
    HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListBucketsInput, ListBucketsOutput,
    ListObjectVersionsInput, ListObjectVersionsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, ListPartsInput, ListPartsOutput, ObjectVersion, PutBucketVersioningInput,
    PutBucketVersioningOutput, PutObjectInput, PutObjectOutput, PutObjectTaggingInput, PutObjectTaggingOutput, Tag,
    TagSet, TaggingDirective, Timestamp, UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Mutex;

/// The directory below the server root that holds every version. Its name is
/// not a valid bucket name, so no client can address it.
pub const VERSIONS_BUCKET: &str = ".edba-versions";

/// The keys' version indexes, in [`VERSIONS_BUCKET`].
const INDEX_DB: &str = "index.db";
const INDEX_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS key_index (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID";
/// The files `s3s-fs` keeps beside an object, in its root directory
/// (`.bucket-<b64 bucket>.object-<b64 key>.<suffix>`): its metadata, and its
/// ETag and checksums.
const SIDECARS: [&str; 2] = ["metadata.json", "internal.json"];

/// Lock stripes for writes: writes of one key queue, others mostly do not.
const LOCK_STRIPES: usize = 64;
/// ListObjectVersions' page size when the request names none (S3's default).
const DEFAULT_MAX_KEYS: usize = 1000;
/// S3's limits on object tags: tags per version, characters per key and value.
const MAX_TAGS: usize = 10;
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// One version's tags, key to value.
type Tags = BTreeMap<String, String>;

/// `s3s-fs` with versioning on every bucket.
#[derive(Debug)]
pub struct VersionedBuckets {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    indexes: SqlitePool,
    stripes: Vec<Mutex<()>>,
    last_version: StdMutex<u64>,
    created: Option<UnboundedSender<ObjectCreated>>,
}

/// An object version a request created, as S3's event notification
/// describes it (what EventBridge's "Object Created" event carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// Without quotes.
    pub etag: Option<String>,
    pub version_id: String,
    /// `PutObject`, `CompleteMultipartUpload` or `CopyObject` (the event's `reason`).
    pub operation: &'static str,
}

/// One version or delete marker of a key, as its index records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VersionEntry {
    id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    delete_marker: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default)]
    size: i64,
    /// Milliseconds since the Unix epoch.
    last_modified_ms: u64,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    /// Its files are at [`VersionedBuckets::version_key`]'s flat path (every
    /// version recorded since; older ones are in a directory per key).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    flat: bool,
}

/// A key's versions, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KeyIndex {
    key: String,
    versions: Vec<VersionEntry>,
    /// The tags of multipart uploads in progress, by upload id, for the
    /// version their completion makes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    uploads: BTreeMap<String, Tags>,
}

impl KeyIndex {
    fn newest(&self) -> Option<&VersionEntry> {
        self.versions.last()
    }

    fn find(&self, id: &str) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The version a request addresses: the one named, else the newest;
    /// `None` for a key without versions (an object from before versioning,
    /// like S3's `null` version, or no object at all).
    fn resolve(&self, version: Option<&str>) -> S3Result<Option<&VersionEntry>> {
        let entry = match version {
            Some(id) => Some(self.find(id).ok_or_else(|| s3_error!(NoSuchVersion))?),
            None => self.newest(),
        };
        match entry {
            Some(v) if v.delete_marker => match version {
                Some(_) => Err(s3_error!(MethodNotAllowed, "the version is a delete marker")),
                None => Err(s3_error!(NoSuchKey)),
            },
            entry => Ok(entry),
        }
    }
}

impl VersionedBuckets {
    /// Versions every bucket below `root` (the directory `s3s-fs` serves):
    /// opens (or creates) the index database and moves the `index.json`
    /// files of an older home into it.
    pub async fn open(inner: s3s_fs::FileSystem, root: &Path) -> std::io::Result<Self> {
        let versions = root.join(VERSIONS_BUCKET);
        std::fs::create_dir_all(&versions)?;
        let options = SqliteConnectOptions::new()
            .filename(versions.join(INDEX_DB))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // As the files beside it, which are not fsynced either: a power
            // cut may lose the last writes, a killed process loses none.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let indexes =
            SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(std::io::Error::other)?;
        sqlx::query(INDEX_SCHEMA).execute(&indexes).await.map_err(std::io::Error::other)?;
        // Once per home (`user_version` 1 marks it done), so opening does not
        // list every version file each time; a crash mid-import repeats it.
        let imported: i64 =
            sqlx::query_scalar("PRAGMA user_version").fetch_one(&indexes).await.map_err(std::io::Error::other)?;
        if imported == 0 {
            import_index_files(&indexes, &versions).await?;
            sqlx::query("PRAGMA user_version = 1").execute(&indexes).await.map_err(std::io::Error::other)?;
        }
        Ok(VersionedBuckets {
            inner,
            root: root.to_owned(),
            indexes,
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            last_version: StdMutex::new(0),
            created: None,
        })
    }

    /// Sends every object version a client request creates to `sender`,
    /// after the version is recorded (as S3 notifies only once it is).
    pub fn notify_created(mut self, sender: UnboundedSender<ObjectCreated>) -> Self {
        self.created = Some(sender);
        self
    }

    /// Tells the subscriber, if any, about a version a request created.
    fn created(&self, bucket: &str, key: &str, version: &VersionEntry, operation: &'static str) {
        if let Some(sender) = &self.created {
            // A subscriber that has gone (serve shutting down) misses nothing
            // it could still act on.
            let _ = sender.send(ObjectCreated {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size: u64::try_from(version.size).unwrap_or(0),
                etag: version.etag.as_ref().map(|t| t.trim_matches('"').to_owned()),
                version_id: version.id.clone(),
                operation,
            });
        }
    }

    fn stripe(&self, bucket: &str, key: &str) -> &Mutex<()> {
        let mut hasher = DefaultHasher::new();
        (bucket, key).hash(&mut hasher);
        let slot = usize::try_from(hasher.finish() % LOCK_STRIPES as u64).unwrap_or(0);
        &self.stripes[slot]
    }

    fn key_dir(bucket: &str, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let hex = crate::hex(&digest);
        format!("{bucket}/{hex}")
    }

    /// The key, in [`VERSIONS_BUCKET`], of one version's files:
    /// `<bucket>/<sha256 of key>.<id>`, one directory per bucket (a directory
    /// per key would cost a directory made per new key). Versions an older
    /// edba recorded are `<bucket>/<sha256 of key>/<id>`.
    fn version_key(bucket: &str, key: &str, version: &VersionEntry) -> String {
        Self::copy_key(bucket, key, &version.id, version.flat)
    }

    fn copy_key(bucket: &str, key: &str, id: &str, flat: bool) -> String {
        let separator = if flat { '.' } else { '/' };
        format!("{}{separator}{id}", Self::key_dir(bucket, key))
    }

    async fn read_index(&self, bucket: &str, key: &str) -> S3Result<KeyIndex> {
        let row = sqlx::query("SELECT doc FROM key_index WHERE bucket = ? AND key = ?")
            .bind(bucket)
            .bind(key)
            .fetch_optional(&self.indexes)
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        match row {
            Some(row) => parse_index(row.get("doc")),
            None => Ok(KeyIndex { key: key.to_owned(), ..Default::default() }),
        }
    }

    async fn write_index(&self, bucket: &str, index: &KeyIndex) -> S3Result<()> {
        let query = if index.versions.is_empty() && index.uploads.is_empty() {
            sqlx::query("DELETE FROM key_index WHERE bucket = ? AND key = ?").bind(bucket).bind(&index.key)
        } else {
            let doc = serde_json::to_string(index).map_err(|e| s3_error!(e, InternalError))?;
            sqlx::query(
                "INSERT INTO key_index (bucket, key, doc) VALUES (?, ?, ?) \
                 ON CONFLICT (bucket, key) DO UPDATE SET doc = excluded.doc",
            )
            .bind(bucket)
            .bind(&index.key)
            .bind(doc)
        };
        query.execute(&self.indexes).await.map(drop).map_err(|e| s3_error!(e, InternalError))
    }

    /// A version id greater than every id this server gave out and than
    /// `newest` (the key's newest, possibly from before a restart).
    fn next_version_id(&self, newest: Option<&VersionEntry>) -> String {
        let now_us = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_micros())
            .unwrap_or(u64::MAX / 2);
        let after_newest = newest.and_then(|v| v.id.parse::<u64>().ok()).map_or(0, |n| n.saturating_add(1));
        let mut last = self.last_version.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = now_us.max(last.saturating_add(1)).max(after_newest);
        *last = id;
        format!("{id:020}")
    }

    /// Records the key's current object as its newest version, with `tags`
    /// or, for a completed multipart upload, the tags of its creation; called
    /// with the key's stripe held, right after the write that produced it,
    /// with the ETag that write answered (looked up when it answered none).
    async fn snapshot_current(
        &self,
        bucket: &str,
        key: &str,
        tags: Tags,
        upload: Option<&str>,
        etag: Option<String>,
    ) -> S3Result<VersionEntry> {
        let mut index = self.read_index(bucket, key).await?;
        let tags = upload.and_then(|id| index.uploads.remove(id)).unwrap_or(tags);
        let etag = match etag {
            Some(etag) => Some(etag),
            None => self.head_within(bucket, key).await?,
        };
        let id = self.next_version_id(index.newest());
        let size = self.link_version(bucket, key, &id).await?;
        let version = VersionEntry {
            id,
            delete_marker: false,
            etag,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            last_modified_ms: now_ms(),
            tags,
            flat: true,
        };
        index.versions.push(version.clone());
        self.write_index(bucket, &index).await?;
        Ok(version)
    }

    /// Makes the key's current files (content, metadata, ETag) version `id`'s
    /// too, by hard links; returns the content's size.
    async fn link_version(&self, bucket: &str, key: &str, id: &str) -> S3Result<u64> {
        let (root, version_key) = (self.root.clone(), Self::copy_key(bucket, key, id, true));
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            let copy = root.join(VERSIONS_BUCKET).join(&version_key);
            if let Some(dir) = copy.parent() {
                std::fs::create_dir_all(dir)?;
            }
            relink(&root.join(&bucket).join(&key), &copy)?;
            for suffix in SIDECARS {
                let from = root.join(sidecar_name(&bucket, &key, suffix));
                match relink(&from, &root.join(sidecar_name(VERSIONS_BUCKET, &version_key, suffix))) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !from.exists() => {}
                    other => other?,
                }
            }
            Ok(std::fs::metadata(&copy)?.len())
        })
        .await
        .map_err(|e| s3_error!(e, InternalError))?
        .map_err(|e| s3_error!(e, InternalError))
    }

    /// Removes the key's plain files before `s3s-fs` copies onto them: it
    /// writes a copy's destination in place, which would also rewrite the
    /// version that shares those files.
    async fn unlink_current(&self, bucket: &str, key: &str) -> S3Result<()> {
        let paths = [self.root.join(bucket).join(key)]
            .into_iter()
            .chain(SIDECARS.map(|suffix| self.root.join(sidecar_name(bucket, key, suffix))));
        for path in paths {
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(s3_error!(e, InternalError)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Makes the key's newest version its plain files again (after a failed
    /// copy onto it, or when the newest version is deleted); without one,
    /// removes them.
    async fn restore_current(&self, bucket: &str, key: &str, index: &KeyIndex) -> S3Result<()> {
        match index.newest() {
            Some(v) if !v.delete_marker => {
                self.unlink_current(bucket, key).await?;
                self.copy_within(VERSIONS_BUCKET, &Self::version_key(bucket, key, v), bucket, key).await.map(drop)
            }
            _ => self.unlink_current(bucket, key).await,
        }
    }

    /// Copies an object with `s3s-fs` (content, metadata and ETag); returns the ETag.
    async fn copy_within(&self, src_bucket: &str, src_key: &str, bucket: &str, key: &str) -> S3Result<Option<String>> {
        let input = CopyObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .copy_source(CopySource::Bucket { bucket: src_bucket.into(), key: src_key.into(), version_id: None })
            .build()
            .map_err(|e| s3_error!(e, InternalError))?;
        let out = self.inner.copy_object(internal(input)).await?;
        Ok(out.output.copy_object_result.and_then(|r| r.e_tag).map(ETag::into_value))
    }

    async fn delete_within(&self, bucket: &str, key: &str) -> S3Result<()> {
        let input = DeleteObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .build()
            .map_err(|e| s3_error!(e, InternalError))?;
        self.inner.delete_object(internal(input)).await.map(drop)
    }

    /// The ETag of the key's plain file; fails as `s3s-fs` does (`NoSuchKey`)
    /// unless it exists.
    async fn head_within(&self, bucket: &str, key: &str) -> S3Result<Option<String>> {
        let input = HeadObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .build()
            .map_err(|e| s3_error!(e, InternalError))?;
        let out = self.inner.head_object(internal(input)).await?;
        Ok(out.output.e_tag.map(ETag::into_value))
    }

    /// Where a read of `(bucket, key, version)` is served from, and the
    /// version it answers with: the version's copy, the newest copy for a
    /// read without a version id, or the plain file for an object written
    /// before versioning (no version, like S3's `null` version).
    async fn resolve_read(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> S3Result<(String, String, Option<VersionEntry>)> {
        let index = self.read_index(bucket, key).await?;
        Ok(match index.resolve(version)? {
            Some(v) => (VERSIONS_BUCKET.to_owned(), Self::version_key(bucket, key, v), Some(v.clone())),
            None => (bucket.to_owned(), key.to_owned(), None),
        })
    }

    /// Replaces the tags of one version (the newest without a version id);
    /// returns its id.
    async fn set_tags(&self, bucket: &str, key: &str, version: Option<&str>, tags: Tags) -> S3Result<Option<String>> {
        let _write = self.stripe(bucket, key).lock().await;
        let mut index = self.read_index(bucket, key).await?;
        let Some(id) = index.resolve(version)?.map(|v| v.id.clone()) else {
            // An object from before versioning has no tags; to get some it
            // becomes a version.
            if tags.is_empty() {
                return self.head_within(bucket, key).await.map(|_| None);
            }
            return self.snapshot_current(bucket, key, tags, None, None).await.map(|v| Some(v.id));
        };
        if let Some(entry) = index.versions.iter_mut().find(|v| v.id == id) {
            entry.tags = tags;
        }
        self.write_index(bucket, &index).await?;
        Ok(Some(id))
    }

    /// DeleteObject of one key, with or without a version id.
    async fn delete_one(&self, bucket: &str, key: &str, version: Option<&str>) -> S3Result<DeleteObjectOutput> {
        if !self.root.join(bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        let _write = self.stripe(bucket, key).lock().await;
        let mut index = self.read_index(bucket, key).await?;
        let Some(version) = version else {
            // Without a version id a versioned bucket keeps every version and
            // hides the key behind a new delete marker.
            self.delete_within(bucket, key).await?;
            let id = self.next_version_id(index.newest());
            index.key = key.to_owned();
            index.versions.push(VersionEntry {
                id: id.clone(),
                delete_marker: true,
                etag: None,
                size: 0,
                last_modified_ms: now_ms(),
                tags: Tags::new(),
                flat: false,
            });
            self.write_index(bucket, &index).await?;
            return Ok(DeleteObjectOutput { delete_marker: Some(true), version_id: Some(id), ..Default::default() });
        };
        let Some(position) = index.versions.iter().position(|v| v.id == version) else {
            // Deleting what is not there succeeds, as in S3.
            return Ok(DeleteObjectOutput { version_id: Some(version.to_owned()), ..Default::default() });
        };
        let was_newest = position + 1 == index.versions.len();
        let removed = index.versions.remove(position);
        if !removed.delete_marker {
            self.delete_within(VERSIONS_BUCKET, &Self::version_key(bucket, key, &removed)).await?;
        }
        if was_newest {
            // The version before becomes current again.
            self.restore_current(bucket, key, &index).await?;
        }
        self.write_index(bucket, &index).await?;
        Ok(DeleteObjectOutput {
            delete_marker: removed.delete_marker.then_some(true),
            version_id: Some(removed.id),
            ..Default::default()
        })
    }

    /// Every key's index below `bucket`, by key.
    async fn indexes(&self, bucket: &str) -> S3Result<Vec<KeyIndex>> {
        let rows = sqlx::query("SELECT doc FROM key_index WHERE bucket = ? ORDER BY key")
            .bind(bucket)
            .fetch_all(&self.indexes)
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        let mut indexes = Vec::with_capacity(rows.len());
        for row in rows {
            let index = parse_index(row.get("doc"))?;
            if !index.versions.is_empty() {
                indexes.push(index);
            }
        }
        Ok(indexes)
    }
}

/// The [`Conditions`] of a GetObject or HeadObject input.
macro_rules! conditions {
    ($input:expr) => {
        Conditions {
            if_match: $input.if_match.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
        }
    };
}

/// A read's conditional headers (`s3s-fs` ignores them).
struct Conditions<'a> {
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
}

impl Conditions<'_> {
    /// As S3 checks them against the version read (dates to the second):
    /// `412 PreconditionFailed` for an If-Match that does not match or, without
    /// one, an If-Unmodified-Since the version is newer than; `304
    /// NotModified` for an If-None-Match that matches or, without one, an
    /// If-Modified-Since the version is not newer than. A client that caches
    /// a document by its ETag (the tasks' project and tables) gets a 304.
    fn check(&self, version: &VersionEntry) -> S3Result<()> {
        let matches = |condition: &ETagCondition| {
            condition.is_any()
                || matches!((condition.as_etag(), &version.etag), (Some(tag), Some(ours)) if tag.value() == ours.trim_matches('"'))
        };
        let modified_s = i64::try_from(version.last_modified_ms / 1000).unwrap_or(i64::MAX);
        let seconds = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
        let precondition_failed = match self.if_match {
            Some(condition) => !matches(condition),
            None => self.if_unmodified_since.is_some_and(|t| modified_s > seconds(t)),
        };
        if precondition_failed {
            return Err(s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold"));
        }
        let not_modified = match self.if_none_match {
            Some(condition) => matches(condition),
            None => self.if_modified_since.is_some_and(|t| modified_s <= seconds(t)),
        };
        if not_modified {
            return Err(s3_error!(NotModified));
        }
        Ok(())
    }
}

fn parse_index(doc: &str) -> S3Result<KeyIndex> {
    serde_json::from_str(doc).map_err(|e| s3_error!(e, InternalError, "unreadable version index"))
}

/// `s3s-fs`'s name of a file it keeps beside the object `(bucket, key)`.
pub(crate) fn sidecar_name(bucket: &str, key: &str, suffix: &str) -> String {
    format!(".bucket-{}.object-{}.{suffix}", URL_SAFE_NO_PAD.encode(bucket), URL_SAFE_NO_PAD.encode(key))
}

/// `to` becomes a hard link to `from` (replacing a file a crash left there).
fn relink(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(to)?;
            std::fs::hard_link(from, to)
        }
        other => other,
    }
}

/// Moves the `<bucket>/<key dir>/index.json` files of a home written by an
/// older edba into the index table (a row already there wins), then removes them.
async fn import_index_files(indexes: &SqlitePool, versions: &Path) -> std::io::Result<()> {
    for bucket in std::fs::read_dir(versions)? {
        let bucket = bucket?;
        if !bucket.file_type()?.is_dir() {
            continue;
        }
        let name = bucket.file_name().to_string_lossy().into_owned();
        for entry in std::fs::read_dir(bucket.path())? {
            // The flat version files beside the old key directories are
            // skipped by their directory entry's type, without opening them.
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let file = entry.path().join("index.json");
            let doc = match std::fs::read_to_string(&file) {
                Ok(doc) => doc,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let index: KeyIndex = serde_json::from_str(&doc)
                .map_err(|e| std::io::Error::other(format!("{}: unreadable version index: {e}", file.display())))?;
            sqlx::query("INSERT OR IGNORE INTO key_index (bucket, key, doc) VALUES (?, ?, ?)")
                .bind(&name)
                .bind(&index.key)
                .bind(&doc)
                .execute(indexes)
                .await
                .map_err(std::io::Error::other)?;
            std::fs::remove_file(&file)?;
        }
    }
    Ok(())
}

/// Tags as S3 takes them: at most [`MAX_TAGS`], unique keys of 1 to
/// [`MAX_TAG_KEY_CHARS`] characters, values of at most [`MAX_TAG_VALUE_CHARS`].
fn checked_tags(pairs: Vec<(String, String)>) -> S3Result<Tags> {
    if pairs.len() > MAX_TAGS {
        // S3's code for this one is `BadRequest`, which s3s does not name.
        let mut e =
            S3Error::with_message(S3ErrorCode::Custom("BadRequest".into()), "Object tags cannot be greater than 10");
        e.set_status_code(http::StatusCode::BAD_REQUEST);
        return Err(e);
    }
    let mut tags = Tags::new();
    for (key, value) in pairs {
        if key.is_empty() {
            return Err(s3_error!(InvalidTag, "The TagKey you have provided is invalid"));
        }
        if key.chars().count() > MAX_TAG_KEY_CHARS {
            return Err(s3_error!(InvalidTag, "The TagKey you have provided is too long, max {MAX_TAG_KEY_CHARS}"));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(s3_error!(InvalidTag, "The TagValue you have provided is too long, max {MAX_TAG_VALUE_CHARS}"));
        }
        if tags.insert(key, value).is_some() {
            return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(tags)
}

/// The tags of an `x-amz-tagging` header: URL query parameters, `k1=v1&k2=v2`.
fn header_tags(header: Option<&str>) -> S3Result<Tags> {
    let invalid = || {
        s3_error!(InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 encoded URL query parameters")
    };
    let pairs = header
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((url_decode(key).ok_or_else(invalid)?, url_decode(value).ok_or_else(invalid)?))
        })
        .collect::<S3Result<Vec<_>>>()?;
    checked_tags(pairs)
}

/// Decodes `application/x-www-form-urlencoded` text; `None` if malformed.
fn url_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = rest.get(..2).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
                bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                rest = rest.get(2..)?;
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).ok()
}

/// The `x-amz-tagging-count` of a version: its number of tags, if any.
fn tag_count(version: Option<&VersionEntry>) -> Option<i32> {
    version.filter(|v| !v.tags.is_empty()).map(|v| i32::try_from(v.tags.len()).unwrap_or(i32::MAX))
}

/// A request the wrapper makes of `s3s-fs` itself (no HTTP, no signature).
fn internal<T>(input: T) -> S3Request<T> {
    S3Request {
        input,
        method: http::Method::PUT,
        uri: http::Uri::default(),
        headers: http::HeaderMap::new(),
        extensions: http::Extensions::new(),
        credentials: None,
        region: None,
        service: None,
        trailing_headers: None,
    }
}

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(0)
}

fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms))
}

#[async_trait::async_trait]
impl S3 for VersionedBuckets {
    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let tags = header_tags(req.input.tagging.as_deref())?;
        let _write = self.stripe(&bucket, &key).lock().await;
        let mut response = if crate::s3small::takes_small_path(&req.input) {
            S3Response::new(crate::s3small::put_small(&self.root, req).await?)
        } else {
            match self.inner.put_object(req).await {
                Ok(response) => response,
                Err(err) => {
                    // `s3s-fs` checks Content-MD5 and checksums after it has
                    // renamed the body into place: put the newest version's
                    // files back, so a refused PUT leaves the object as it was.
                    if *err.code() == S3ErrorCode::BadDigest {
                        let index = self.read_index(&bucket, &key).await?;
                        self.restore_current(&bucket, &key, &index).await?;
                    }
                    return Err(err);
                }
            }
        };
        let etag = response.output.e_tag.clone().map(ETag::into_value);
        let version = self.snapshot_current(&bucket, &key, tags, None, etag).await?;
        self.created(&bucket, &key, &version, "PutObject");
        response.output.version_id = Some(version.id);
        Ok(response)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let (bucket, key, upload) = (req.input.bucket.clone(), req.input.key.clone(), req.input.upload_id.clone());
        let _write = self.stripe(&bucket, &key).lock().await;
        let mut response = self.inner.complete_multipart_upload(req).await?;
        // s3s-fs answers the ETag later (S3's keep-alive body): read it back.
        let version = self.snapshot_current(&bucket, &key, Tags::new(), Some(&upload), None).await?;
        self.created(&bucket, &key, &version, "CompleteMultipartUpload");
        response.output.version_id = Some(version.id);
        Ok(response)
    }

    async fn copy_object(&self, mut req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        // The copy is read from the source version's copy, whose tags it
        // takes unless the request replaces them.
        let (source_version, source) = match &mut req.input.copy_source {
            CopySource::Bucket { bucket, key, version_id } => {
                let requested = version_id.take();
                let (from_bucket, from_key, source) = self.resolve_read(bucket, key, requested.as_deref()).await?;
                *bucket = from_bucket.into();
                *key = from_key.into();
                (requested.map(String::from), source)
            }
            _ => (None, None),
        };
        let replace =
            req.input.tagging_directive.as_ref().map(TaggingDirective::as_str) == Some(TaggingDirective::REPLACE);
        let tags = if replace {
            header_tags(req.input.tagging.as_deref())?
        } else {
            source.map(|v| v.tags).unwrap_or_default()
        };
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _write = self.stripe(&bucket, &key).lock().await;
        // The destination's files are its newest version's too, unless it
        // has none (then nothing else shares them).
        let index = self.read_index(&bucket, &key).await?;
        let shared = matches!(index.newest(), Some(v) if !v.delete_marker);
        if shared {
            self.unlink_current(&bucket, &key).await?;
        }
        let mut response = match self.inner.copy_object(req).await {
            Ok(response) => response,
            Err(err) => {
                if shared {
                    self.restore_current(&bucket, &key, &index).await?;
                }
                return Err(err);
            }
        };
        let etag = response.output.copy_object_result.as_ref().and_then(|r| r.e_tag.clone()).map(ETag::into_value);
        let version = self.snapshot_current(&bucket, &key, tags, None, etag).await?;
        self.created(&bucket, &key, &version, "CopyObject");
        response.output.version_id = Some(version.id);
        response.output.copy_source_version_id = source_version;
        Ok(response)
    }

    async fn get_object(&self, mut req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let (bucket, key, version) =
            self.resolve_read(&req.input.bucket, &req.input.key, req.input.version_id.as_deref()).await?;
        if let Some(version) = &version {
            conditions!(req.input).check(version)?;
        }
        (req.input.bucket, req.input.key, req.input.version_id) = (bucket, key, None);
        let mut response = match crate::s3small::get_small(&self.root, &req.input).await? {
            Some(output) => S3Response::new(output),
            None => self.inner.get_object(req).await?,
        };
        response.output.tag_count = tag_count(version.as_ref());
        response.output.version_id = version.map(|v| v.id);
        Ok(response)
    }

    async fn head_object(&self, mut req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let (bucket, key, version) =
            self.resolve_read(&req.input.bucket, &req.input.key, req.input.version_id.as_deref()).await?;
        if let Some(version) = &version {
            conditions!(req.input).check(version)?;
        }
        (req.input.bucket, req.input.key, req.input.version_id) = (bucket, key, None);
        let mut response = self.inner.head_object(req).await?;
        // s3s's HeadObjectOutput has no tag count; S3 answers the header all the same.
        if let Some(count) = tag_count(version.as_ref()) {
            response.headers.insert(s3s::header::X_AMZ_TAGGING_COUNT, http::HeaderValue::from(count));
        }
        response.output.version_id = version.map(|v| v.id);
        Ok(response)
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let pairs = input
            .tagging
            .tag_set
            .into_iter()
            .map(|tag| tag.key.zip(tag.value).ok_or_else(|| s3_error!(MalformedXML, "a tag needs a key and a value")))
            .collect::<S3Result<Vec<_>>>()?;
        let tags = checked_tags(pairs)?;
        let version_id = self.set_tags(&input.bucket, &input.key, input.version_id.as_deref(), tags).await?;
        Ok(S3Response::new(PutObjectTaggingOutput { version_id }))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let input = req.input;
        let index = self.read_index(&input.bucket, &input.key).await?;
        let Some(version) = index.resolve(input.version_id.as_deref())? else {
            self.head_within(&input.bucket, &input.key).await?;
            return Ok(S3Response::new(GetObjectTaggingOutput::default()));
        };
        let tag_set: TagSet =
            version.tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect();
        Ok(S3Response::new(GetObjectTaggingOutput { tag_set, version_id: Some(version.id.clone()) }))
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let input = req.input;
        let version_id = self.set_tags(&input.bucket, &input.key, input.version_id.as_deref(), Tags::new()).await?;
        Ok(S3Response::new(DeleteObjectTaggingOutput { version_id }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        Ok(S3Response::new(self.delete_one(&input.bucket, &input.key, input.version_id.as_deref()).await?))
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let mut deleted = Vec::new();
        for object in input.delete.objects {
            let out = self.delete_one(&input.bucket, &object.key, object.version_id.as_deref()).await?;
            let marker_id = out.delete_marker.filter(|m| *m).and(out.version_id.clone());
            deleted.push(DeletedObject {
                key: Some(object.key),
                version_id: object.version_id,
                delete_marker: out.delete_marker,
                delete_marker_version_id: marker_id,
            });
        }
        Ok(S3Response::new(DeleteObjectsOutput { deleted: Some(deleted), ..Default::default() }))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        if !self.root.join(&input.bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        if input.delimiter.is_some() {
            return Err(s3_error!(NotImplemented, "the embedded server lists versions without a delimiter"));
        }
        let prefix = input.prefix.clone().unwrap_or_default();
        let max_keys = input.max_keys.and_then(|n| usize::try_from(n).ok()).unwrap_or(DEFAULT_MAX_KEYS);
        // S3's order: keys ascending, each key's versions newest first; a page
        // starts after (key marker, version id marker).
        let mut rows: Vec<(String, VersionEntry, bool)> = Vec::new();
        for index in self.indexes(&input.bucket).await? {
            if !index.key.starts_with(&prefix) {
                continue;
            }
            let newest = index.newest().map(|v| v.id.clone());
            for v in index.versions.iter().rev() {
                let latest = newest.as_deref() == Some(v.id.as_str());
                rows.push((index.key.clone(), v.clone(), latest));
            }
        }
        if let Some(marker) = &input.key_marker {
            let after = |key: &str, id: &str| match &input.version_id_marker {
                Some(vm) => key > marker.as_str() || (key == marker.as_str() && id < vm.as_str()),
                None => key > marker.as_str(),
            };
            rows.retain(|(key, v, _)| after(key, &v.id));
        }
        let truncated = rows.len() > max_keys;
        rows.truncate(max_keys);
        let next = truncated.then(|| rows.last().map(|(k, v, _)| (k.clone(), v.id.clone()))).flatten();

        let mut versions = Vec::new();
        let mut markers = Vec::new();
        for (key, v, latest) in rows {
            if v.delete_marker {
                markers.push(DeleteMarkerEntry {
                    key: Some(key),
                    version_id: Some(v.id),
                    is_latest: Some(latest),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner: None,
                });
            } else {
                versions.push(ObjectVersion {
                    key: Some(key),
                    version_id: Some(v.id),
                    is_latest: Some(latest),
                    e_tag: v.etag.map(ETag::Strong),
                    size: Some(v.size),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    ..Default::default()
                });
            }
        }
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            max_keys: input.max_keys,
            is_truncated: Some(truncated),
            next_key_marker: next.as_ref().map(|(k, _)| k.clone()),
            next_version_id_marker: next.map(|(_, id)| id),
            versions: Some(versions),
            delete_markers: Some(markers),
            ..Default::default()
        }))
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        if !self.root.join(&req.input.bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: Some(BucketVersioningStatus::from_static(BucketVersioningStatus::ENABLED)),
            ..Default::default()
        }))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let enabled = req.input.versioning_configuration.status.as_ref().map(BucketVersioningStatus::as_str)
            == Some(BucketVersioningStatus::ENABLED);
        if !enabled {
            return Err(s3_error!(NotImplemented, "buckets of the embedded server are always versioned"));
        }
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let mut response = self.inner.list_buckets(req).await?;
        if let Some(buckets) = &mut response.output.buckets {
            buckets.retain(|b| b.name.as_deref() != Some(VERSIONS_BUCKET));
        }
        Ok(response)
    }

    // The rest is `s3s-fs` as it is.

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.inner.delete_bucket(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.inner.get_bucket_location(req).await
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        self.inner.list_objects(req).await
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.inner.list_objects_v2(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let tags = header_tags(req.input.tagging.as_deref())?;
        let response = self.inner.create_multipart_upload(req).await?;
        if let (false, Some(upload)) = (tags.is_empty(), &response.output.upload_id) {
            // Kept for the completion, in the key's index.
            let _write = self.stripe(&bucket, &key).lock().await;
            let mut index = self.read_index(&bucket, &key).await?;
            index.uploads.insert(upload.clone(), tags);
            self.write_index(&bucket, &index).await?;
        }
        Ok(response)
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.inner.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.inner.upload_part_copy(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.inner.list_parts(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<s3s::dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::AbortMultipartUploadOutput>> {
        let (bucket, key, upload) = (req.input.bucket.clone(), req.input.key.clone(), req.input.upload_id.clone());
        let _write = self.stripe(&bucket, &key).lock().await;
        let response = self.inner.abort_multipart_upload(req).await?;
        let mut index = self.read_index(&bucket, &key).await?;
        if index.uploads.remove(&upload).is_some() {
            self.write_index(&bucket, &index).await?;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn version_ids_only_grow_and_pass_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let versions = VersionedBuckets::open(s3s_fs::FileSystem::new(dir.path()).unwrap(), dir.path()).await.unwrap();
        let a = versions.next_version_id(None);
        let b = versions.next_version_id(None);
        assert!(b > a, "{b} > {a}");
        assert_eq!(a.len(), 20);
        // A key whose newest version is from the future (a clock set back
        // since) still gets a greater id.
        let future = VersionEntry {
            id: format!("{:020}", u64::MAX / 4),
            delete_marker: false,
            etag: None,
            size: 0,
            last_modified_ms: 0,
            tags: Tags::new(),
            flat: true,
        };
        let c = versions.next_version_id(Some(&future));
        assert!(c > future.id, "{c} > {}", future.id);
    }

    #[test]
    fn tagging_headers_are_url_query_parameters() {
        let tags = header_tags(Some("edba-superseded=true&path=validated%2Fa+b&empty")).unwrap();
        let expected = [("edba-superseded", "true"), ("path", "validated/a b"), ("empty", "")];
        assert_eq!(tags, expected.map(|(k, v)| (k.to_owned(), v.to_owned())).into_iter().collect::<Tags>());
        assert!(header_tags(None).unwrap().is_empty());
        for bad in ["a=%zz", "a=%4", "a=%+f", "a=%ff"] {
            assert_eq!(header_tags(Some(bad)).unwrap_err().code(), &S3ErrorCode::InvalidArgument, "{bad}");
        }
        assert_eq!(header_tags(Some("a=1&a=2")).unwrap_err().code(), &S3ErrorCode::InvalidTag);
    }

    #[test]
    fn versions_of_different_keys_never_share_a_directory() {
        assert_ne!(VersionedBuckets::key_dir("b", "a"), VersionedBuckets::key_dir("b", "a/b"));
        assert_ne!(VersionedBuckets::key_dir("b", "a"), VersionedBuckets::key_dir("c", "a"));
        assert!(VersionedBuckets::copy_key("b", "x/y.csv", "1", true).starts_with("b/"));
        assert_ne!(VersionedBuckets::copy_key("b", "a", "1", true), VersionedBuckets::copy_key("b", "a", "1", false));
    }
}
