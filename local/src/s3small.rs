//! PutObject and GetObject of small objects in one blocking call each, for
//! the embedded S3 server ([`crate::s3versions`]).
//!
//! `s3s-fs` reads and writes objects with Tokio's file API: creating the
//! temporary file, each buffered write or 4 KiB read, the flush, the
//! directory, the rename are each a hop to a blocking thread and back, and so
//! is each of the two files it keeps beside the object (its attributes, and
//! its ETag and checksums) — about eighteen hops per PUT and ten per GET,
//! which on a small machine cost more than the bytes. Here a PUT's body is
//! read into memory while its MD5 and checksums are computed and verified
//! exactly as `s3s-fs` does, and the three files are then written in one
//! blocking call, in the same places and formats, so `s3s-fs` reads, lists,
//! copies and deletes the object as its own; a GET reads the three in one
//! blocking call and answers what `s3s-fs` answers.
//!
//! Only plain requests take this path ([`takes_small_path`],
//! [`get_small`]): a known length up to [`SMALL_OBJECT`], no conditional
//! headers, storage class, `Expires` or range, a key of plain path segments.
//! Everything else goes through `s3s-fs` unchanged.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use md5::{Digest, Md5};
use s3s::checksum::ChecksumHasher;
use s3s::dto::{
    ChecksumAlgorithm, ETag, GetObjectInput, GetObjectOutput, Metadata, PutObjectInput, PutObjectOutput, StreamingBlob,
    Timestamp,
};
use s3s::{s3_error, S3Request, S3Result};
use serde::{Deserialize, Serialize};

use crate::s3versions::sidecar_name;

/// The largest body read into memory; larger ones stream through `s3s-fs`.
pub const SMALL_OBJECT: i64 = 1 << 20;

/// Whether `input` is a plain PutObject this module writes (see the module doc).
pub fn takes_small_path(input: &PutObjectInput) -> bool {
    input.content_length.is_some_and(|n| (0..=SMALL_OBJECT).contains(&n))
        && input.body.is_some()
        && input.if_match.is_none()
        && input.if_none_match.is_none()
        && input.storage_class.is_none()
        && input.expires.is_none()
        && plain_segments(&input.bucket)
        && plain_segments(&input.key)
}

/// A path of non-empty segments other than `.` and `..`, relative, without
/// backslashes or NUL: joined to the root it stays below it, as is.
fn plain_segments(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// The object attributes `s3s-fs` keeps in `<…>.metadata.json`, field for
/// field (`expires`, which it converts, is read only to send such objects
/// back to it).
#[derive(Serialize, Deserialize, Default)]
struct ObjectAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    website_redirect_location: Option<String>,
    #[serde(default, skip_serializing)]
    expires: Option<serde_json::Value>,
}

/// Writes the object of a request [`takes_small_path`] accepts, as
/// `s3s-fs` would, under `root`; answers as `s3s-fs` does (its ETag and the
/// checksums asked for), with the same errors for a body that does not match
/// its `Content-MD5` or checksums.
pub async fn put_small(root: &Path, req: S3Request<PutObjectInput>) -> S3Result<PutObjectOutput> {
    let mut input = req.input;
    let Some(mut body) = input.body.take() else { return Err(s3_error!(IncompleteBody)) };

    let mut checksum = ChecksumHasher::default();
    if input.checksum_crc32.is_some() {
        checksum.crc32 = Some(Default::default());
    }
    if input.checksum_crc32c.is_some() {
        checksum.crc32c = Some(Default::default());
    }
    if input.checksum_sha1.is_some() {
        checksum.sha1 = Some(Default::default());
    }
    if input.checksum_sha256.is_some() {
        checksum.sha256 = Some(Default::default());
    }
    if input.checksum_crc64nvme.is_some() {
        checksum.crc64nvme = Some(Default::default());
    }
    if let Some(algorithm) = &input.checksum_algorithm {
        match algorithm.as_str() {
            ChecksumAlgorithm::CRC32 => checksum.crc32 = Some(Default::default()),
            ChecksumAlgorithm::CRC32C => checksum.crc32c = Some(Default::default()),
            ChecksumAlgorithm::SHA1 => checksum.sha1 = Some(Default::default()),
            ChecksumAlgorithm::SHA256 => checksum.sha256 = Some(Default::default()),
            ChecksumAlgorithm::CRC64NVME => checksum.crc64nvme = Some(Default::default()),
            _ => return Err(s3_error!(NotImplemented, "Unsupported checksum algorithm")),
        }
    }

    let capacity = input.content_length.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut content = Vec::with_capacity(capacity);
    let mut md5 = Md5::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, e))?;
        md5.update(&chunk);
        checksum.update(&chunk);
        content.extend_from_slice(&chunk);
    }
    let md5_sum = crate::hex(&md5.finalize());

    if let Some(content_md5) = &input.content_md5 {
        use base64::Engine as _;
        let expected =
            base64::engine::general_purpose::STANDARD.decode(content_md5).map_err(|_| s3_error!(InvalidArgument))?;
        if crate::hex(&expected) != md5_sum {
            return Err(s3_error!(BadDigest, "content_md5 mismatch"));
        }
    }

    // Each checksum the request claims (in a header, or in a trailer after
    // the body) must be the body's, and each the body has is kept beside it.
    let checksum = checksum.finalize();
    let trailers = req.trailing_headers.and_then(|t| t.take());
    let mut internal = serde_json::Map::new();
    internal.insert("e_tag".into(), md5_sum.clone().into());
    for (name, claimed, computed) in [
        ("crc32", input.checksum_crc32.take(), &checksum.checksum_crc32),
        ("crc32c", input.checksum_crc32c.take(), &checksum.checksum_crc32c),
        ("sha1", input.checksum_sha1.take(), &checksum.checksum_sha1),
        ("sha256", input.checksum_sha256.take(), &checksum.checksum_sha256),
        ("crc64nvme", input.checksum_crc64nvme.take(), &checksum.checksum_crc64nvme),
    ] {
        let trailer = trailers.as_ref().and_then(|t| t.get(format!("x-amz-checksum-{name}")));
        let claimed = match trailer {
            Some(value) => Some(value.to_str().map_err(|_| s3_error!(InvalidArgument))?.to_owned()),
            None => claimed,
        };
        if claimed != *computed {
            return Err(s3_error!(
                BadDigest,
                "checksum_{name} mismatch: expected `{}`, got `{}`",
                claimed.unwrap_or_default(),
                computed.as_deref().unwrap_or_default()
            ));
        }
        if let Some(value) = computed {
            internal.insert(format!("checksum_{name}"), value.clone().into());
        }
    }

    let attributes = serde_json::to_vec(&ObjectAttributes {
        user_metadata: input.metadata,
        content_encoding: input.content_encoding,
        content_type: input.content_type,
        content_disposition: input.content_disposition,
        content_language: input.content_language,
        cache_control: input.cache_control,
        website_redirect_location: input.website_redirect_location,
        expires: None,
    })
    .map_err(|e| s3_error!(e, InternalError))?;
    let internal = serde_json::to_vec(&internal).map_err(|e| s3_error!(e, InternalError))?;

    let files = [
        (root.join(&input.bucket).join(&input.key), content),
        (root.join(sidecar_name(&input.bucket, &input.key, "metadata.json")), attributes),
        (root.join(sidecar_name(&input.bucket, &input.key, "internal.json")), internal),
    ];
    let tmp_dir = root.to_owned();
    tokio::task::spawn_blocking(move || {
        files.into_iter().try_for_each(|(path, bytes)| replace(&tmp_dir, &path, &bytes))
    })
    .await
    .map_err(|e| s3_error!(e, InternalError))?
    .map_err(|e| s3_error!(e, InternalError))?;

    Ok(PutObjectOutput {
        e_tag: Some(ETag::Strong(md5_sum)),
        checksum_crc32: checksum.checksum_crc32,
        checksum_crc32c: checksum.checksum_crc32c,
        checksum_sha1: checksum.checksum_sha1,
        checksum_sha256: checksum.checksum_sha256,
        checksum_crc64nvme: checksum.checksum_crc64nvme,
        ..Default::default()
    })
}

/// Answers a GetObject of the whole object `(bucket, key)` under `root` as
/// `s3s-fs` does, reading it and the files beside it in one blocking call;
/// `None` when `s3s-fs` should answer (a range, a key that is not plain, an
/// object over [`SMALL_OBJECT`], attributes with `Expires`, no ETag file).
pub async fn get_small(root: &Path, input: &GetObjectInput) -> S3Result<Option<GetObjectOutput>> {
    if input.range.is_some()
        || input.part_number.is_some()
        || !plain_segments(&input.bucket)
        || !plain_segments(&input.key)
    {
        return Ok(None);
    }
    let paths = [
        root.join(&input.bucket).join(&input.key),
        root.join(sidecar_name(&input.bucket, &input.key, "metadata.json")),
        root.join(sidecar_name(&input.bucket, &input.key, "internal.json")),
    ];
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<Option<SmallObject>> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(&paths[0])?;
        let meta = file.metadata()?;
        if !meta.is_file() || meta.len() > SMALL_OBJECT as u64 {
            return Ok(None);
        }
        let mut content = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut content)?;
        let optional = |path: &Path| match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        };
        Ok(Some(SmallObject {
            content,
            modified: meta.modified()?,
            attributes: optional(&paths[1])?,
            internal: optional(&paths[2])?,
        }))
    })
    .await
    .map_err(|e| s3_error!(e, InternalError))?;
    let object = match read {
        Ok(Some(object)) => object,
        Ok(None) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(s3_error!(e, NoSuchKey)),
        Err(e) => return Err(s3_error!(e, InternalError)),
    };
    let attributes = match &object.attributes {
        None => ObjectAttributes::default(),
        Some(bytes) => match serde_json::from_slice::<ObjectAttributes>(bytes) {
            Ok(attributes) if attributes.expires.is_none() => attributes,
            // Expires, or an older format: s3s-fs knows it.
            _ => return Ok(None),
        },
    };
    let Some(internal) =
        object.internal.as_deref().and_then(|b| serde_json::from_slice::<serde_json::Map<String, _>>(b).ok())
    else {
        return Ok(None);
    };
    let text = |name: &str| internal.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    let Some(etag) = text("e_tag") else { return Ok(None) };
    let length = i64::try_from(object.content.len()).unwrap_or(i64::MAX);
    Ok(Some(GetObjectOutput {
        body: Some(StreamingBlob::from(s3s::Body::from(bytes::Bytes::from(object.content)))),
        content_length: Some(length),
        last_modified: Some(Timestamp::from(object.modified)),
        metadata: attributes.user_metadata,
        content_encoding: attributes.content_encoding,
        content_type: attributes.content_type,
        content_disposition: attributes.content_disposition,
        content_language: attributes.content_language,
        cache_control: attributes.cache_control,
        website_redirect_location: attributes.website_redirect_location,
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: text("checksum_crc32"),
        checksum_crc32c: text("checksum_crc32c"),
        checksum_sha1: text("checksum_sha1"),
        checksum_sha256: text("checksum_sha256"),
        checksum_crc64nvme: text("checksum_crc64nvme"),
        ..Default::default()
    }))
}

/// What [`get_small`] reads of an object.
struct SmallObject {
    content: Vec<u8>,
    modified: std::time::SystemTime,
    attributes: Option<Vec<u8>>,
    internal: Option<Vec<u8>>,
}

/// Makes `path` hold `bytes` by renaming a new file over it (as `s3s-fs`
/// does, so a reader sees the old file or the new one, and a version that
/// shares the old file by a hard link keeps it); the new file is written in
/// `tmp_dir` (the server root, on the same filesystem).
fn replace(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp: PathBuf =
        tmp_dir.join(format!(".edba-put.{}.{}.part", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let written = std::fs::write(&tmp, bytes).and_then(|()| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&tmp, path)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_are_written_here() {
        for plain in ["incoming/IL-101.tdf", "a", "validated/IL-101/0001.parquet", "with space/ü.csv"] {
            assert!(plain_segments(plain), "{plain}");
        }
        for not in ["", "/etc/passwd", "a//b", "a/./b", "../x", "a/../../x", "a/", "a\\..\\b", "nul\0"] {
            assert!(!plain_segments(not), "{not:?}");
        }
    }
}
