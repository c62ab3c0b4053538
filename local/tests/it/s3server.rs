//! The embedded S3 server, driven through `aws-sdk-s3` as the tasks drive S3.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use edba_local::s3server::{EmbeddedS3, ACCESS_KEY_ID};

pub(crate) const BUCKET: &str = "edba-test";
const MIB: usize = 1024 * 1024;

/// A fresh embedded server with the bucket [`BUCKET`], and a client of it.
pub(crate) async fn server() -> (tempfile::TempDir, EmbeddedS3, aws_sdk_s3::Client) {
    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedS3::start(dir.path()).unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let s3 = server.client().await;
    (dir, server, s3)
}

async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let out = s3.get_object().bucket(BUCKET).key(key).send().await.unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn keys(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<String> {
    let out = s3.list_objects_v2().bucket(BUCKET).prefix(prefix).send().await.unwrap();
    let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn put_head_get_list_delete_round_trip() {
    let (dir, server, s3) = server().await;
    assert!(server.endpoint_url().starts_with("http://127.0.0.1:"));

    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key("incoming/IL 101.tdf")
        .body(ByteStream::from_static(b"a\tb\n"))
        .send()
        .await
        .unwrap();
    // MD5 of "a\tb\n", quoted as S3 does.
    assert_eq!(put.e_tag(), Some("\"853b87221d4e354c521294d17763bc05\""));
    let head = s3.head_object().bucket(BUCKET).key("incoming/IL 101.tdf").send().await.unwrap();
    assert_eq!(head.content_length(), Some(4));
    assert_eq!(head.e_tag(), put.e_tag());

    s3.put_object().bucket(BUCKET).key("validated/x.csv").body(ByteStream::from_static(b"x\n")).send().await.unwrap();
    assert_eq!(get(&s3, "incoming/IL 101.tdf").await, b"a\tb\n");
    assert_eq!(keys(&s3, "incoming/").await, ["incoming/IL 101.tdf"]);
    assert_eq!(keys(&s3, "").await, ["incoming/IL 101.tdf", "validated/x.csv"]);
    // Objects are plain files below the root, one directory per bucket.
    assert_eq!(std::fs::read(dir.path().join(BUCKET).join("validated/x.csv")).unwrap(), b"x\n");

    s3.delete_object().bucket(BUCKET).key("validated/x.csv").send().await.unwrap();
    assert_eq!(keys(&s3, "validated/").await, Vec::<String>::new());
    let missing = s3.get_object().bucket(BUCKET).key("validated/x.csv").send().await.unwrap_err();
    assert!(missing.into_service_error().is_no_such_key());
    // Deleting a missing key succeeds, as in S3.
    s3.delete_object().bucket(BUCKET).key("validated/x.csv").send().await.unwrap();
}

#[tokio::test]
async fn multipart_upload_round_trip_and_abort() {
    let (_dir, _server, s3) = server().await;
    let part1: Vec<u8> = (0..5 * MIB).map(|i| (i % 251) as u8).collect();
    let part2 = b"the last part may be small".to_vec();

    let upload = s3.create_multipart_upload().bucket(BUCKET).key("big.bin").send().await.unwrap();
    let upload_id = upload.upload_id().unwrap().to_owned();
    let mut parts = Vec::new();
    for (n, body) in [(1, part1.clone()), (2, part2.clone())] {
        let out = s3
            .upload_part()
            .bucket(BUCKET)
            .key("big.bin")
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        parts.push(CompletedPart::builder().part_number(n).set_e_tag(out.e_tag).build());
    }
    // Nothing is visible before completion.
    assert_eq!(keys(&s3, "big").await, Vec::<String>::new());
    let done = s3
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key("big.bin")
        .upload_id(&upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    assert!(done.e_tag().unwrap().trim_matches('"').ends_with("-2"), "{:?}", done.e_tag());
    let mut want = part1;
    want.extend_from_slice(&part2);
    assert_eq!(get(&s3, "big.bin").await, want);

    // An aborted upload leaves no object, and its id is gone.
    let upload = s3.create_multipart_upload().bucket(BUCKET).key("aborted.bin").send().await.unwrap();
    let upload_id = upload.upload_id().unwrap().to_owned();
    s3.upload_part()
        .bucket(BUCKET)
        .key("aborted.bin")
        .upload_id(&upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"doomed"))
        .send()
        .await
        .unwrap();
    s3.abort_multipart_upload().bucket(BUCKET).key("aborted.bin").upload_id(&upload_id).send().await.unwrap();
    assert_eq!(keys(&s3, "aborted").await, Vec::<String>::new());
    let complete_after_abort = s3
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key("aborted.bin")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag("x").build())
                .build(),
        )
        .send()
        .await;
    assert!(complete_after_abort.is_err());
}

#[tokio::test]
async fn requests_signed_with_other_credentials_are_refused() {
    let (_dir, server, _s3) = server().await;
    let config = server
        .client_config()
        .credentials_provider(aws_sdk_s3::config::Credentials::new(ACCESS_KEY_ID, "wrong-secret", None, None, "test"))
        .build();
    let intruder = aws_sdk_s3::Client::from_conf(config);
    let err = intruder.list_objects_v2().bucket(BUCKET).send().await.unwrap_err();
    let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"), "{err:?}");
}

#[tokio::test]
async fn shutdown_stops_serving_and_keeps_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedS3::start(dir.path()).unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    // Creating a bucket twice is fine.
    server.create_bucket(BUCKET).await.unwrap();
    let s3 = server.client().await;
    s3.put_object().bucket(BUCKET).key("k").body(ByteStream::from_static(b"v")).send().await.unwrap();
    let endpoint = server.endpoint_url();
    server.shutdown().await;

    let err = s3.get_object().bucket(BUCKET).key("k").send().await.unwrap_err();
    assert!(matches!(err, aws_sdk_s3::error::SdkError::DispatchFailure(_)), "{err:?}");

    // A new server on the same directory serves the same objects.
    let again = EmbeddedS3::start(dir.path()).unwrap();
    assert_ne!(again.endpoint_url(), endpoint);
    let s3 = again.client().await;
    let out = s3.get_object().bucket(BUCKET).key("k").send().await.unwrap();
    assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), b"v");
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, server, s3) = server().await;
    s3.put_object().bucket(BUCKET).key("k").body(ByteStream::from_static(b"v")).send().await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!("GET /{BUCKET}/k HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr());
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("AccessDenied"), "{response}");
}

/// Every version a request creates is told once, after it is recorded, with
/// the version id, ETag and size the client saw; reads, tagging and deletes
/// tell nothing. A server on a chosen port with chosen credentials refuses
/// the default ones.
#[tokio::test]
async fn created_versions_are_notified_once_each_with_what_the_client_saw() {
    use edba_local::s3server::S3ServerOptions;
    use edba_local::s3versions::ObjectCreated;

    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = S3ServerOptions {
        port: 0,
        access_key_id: "notify-test".into(),
        secret_access_key: "notify-test-secret".into(),
        created: Some(tx),
    };
    let server = EmbeddedS3::start_with(dir.path(), options).unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let s3 = server.client().await;

    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key("incoming/a.tdf")
        .body(ByteStream::from_static(b"abc\n"))
        .send()
        .await
        .unwrap();
    let copy = s3
        .copy_object()
        .bucket(BUCKET)
        .key("incoming/b.tdf")
        .copy_source(format!("{BUCKET}/incoming/a.tdf"))
        .send()
        .await
        .unwrap();
    let upload = s3.create_multipart_upload().bucket(BUCKET).key("incoming/c.tdf").send().await.unwrap();
    let id = upload.upload_id().unwrap();
    let part = s3
        .upload_part()
        .bucket(BUCKET)
        .key("incoming/c.tdf")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"12345"))
        .send()
        .await
        .unwrap();
    let done = s3
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key("incoming/c.tdf")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(part.e_tag().unwrap()).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // None of these creates a version.
    get(&s3, "incoming/a.tdf").await;
    s3.delete_object().bucket(BUCKET).key("incoming/b.tdf").send().await.unwrap();

    let etag = |t: Option<&str>| t.map(|t| t.trim_matches('"').to_owned());
    let mut seen = Vec::new();
    while let Ok(event) = rx.try_recv() {
        seen.push(event);
    }
    let bucket = BUCKET.to_owned();
    assert_eq!(
        seen,
        vec![
            ObjectCreated {
                bucket: bucket.clone(),
                key: "incoming/a.tdf".into(),
                size: 4,
                etag: etag(put.e_tag()),
                version_id: put.version_id().unwrap().into(),
                operation: "PutObject",
            },
            ObjectCreated {
                bucket: bucket.clone(),
                key: "incoming/b.tdf".into(),
                size: 4,
                etag: etag(copy.copy_object_result().and_then(|r| r.e_tag())),
                version_id: copy.version_id().unwrap().into(),
                operation: "CopyObject",
            },
            ObjectCreated {
                bucket,
                key: "incoming/c.tdf".into(),
                size: 5,
                etag: etag(done.e_tag()),
                version_id: done.version_id().unwrap().into(),
                operation: "CompleteMultipartUpload",
            },
        ]
    );

    // The default local credentials are not this server's.
    let default_key = aws_sdk_s3::config::Credentials::new(ACCESS_KEY_ID, "edba-local-secret", None, None, "test");
    let other = aws_sdk_s3::Client::from_conf(server.client_config().credentials_provider(default_key).build());
    let refused = other.list_objects_v2().bucket(BUCKET).send().await.unwrap_err();
    let code = refused.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e));
    assert_eq!(code, Some("InvalidAccessKeyId"), "{refused:?}");
    server.shutdown().await;
}

/// A small PUT is written by edba's own path (`s3small.rs`), a conditional
/// one by `s3s-fs`: both answer alike and store alike (attributes, user
/// metadata, ETag, checksums), and both refuse a body its Content-MD5 or
/// checksum does not match, storing nothing.
#[tokio::test]
async fn a_small_put_is_stored_and_answered_as_s3s_fs_stores_it() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
    let (_dir, _server, s3) = server().await;
    const BODY: &[u8] = b"store\tamount\n101\t12.50\n";
    let put = |key: &'static str, through_s3s_fs: bool| {
        let request = s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from_static(BODY))
            .content_type("text/tab-separated-values")
            .content_encoding("identity")
            .cache_control("no-cache")
            .content_disposition("attachment")
            .content_language("en")
            .metadata("edba-source-key", "incoming/IL-101.tdf")
            .checksum_algorithm(ChecksumAlgorithm::Sha256);
        // A conditional PUT is left to s3s-fs.
        let request = if through_s3s_fs { request.if_none_match("*") } else { request };
        request.send()
    };
    let ours = put("ours/IL-101.tdf", false).await.unwrap();
    let theirs = put("theirs/IL-101.tdf", true).await.unwrap();
    assert_eq!(ours.e_tag(), theirs.e_tag());
    assert!(ours.checksum_sha256().is_some());
    assert_eq!(ours.checksum_sha256(), theirs.checksum_sha256());
    assert!(ours.version_id().is_some());

    let head = |key: &'static str| s3.head_object().bucket(BUCKET).key(key).checksum_mode(ChecksumMode::Enabled).send();
    let (a, b) = (head("ours/IL-101.tdf").await.unwrap(), head("theirs/IL-101.tdf").await.unwrap());
    let seen = |h: &aws_sdk_s3::operation::head_object::HeadObjectOutput| {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            h.e_tag(),
            h.content_length(),
            h.content_type(),
            h.content_encoding(),
            h.cache_control(),
            h.content_disposition(),
            h.content_language(),
            h.metadata(),
            h.checksum_sha256()
        )
    };
    assert_eq!(seen(&a), seen(&b));
    assert_eq!(a.content_type(), Some("text/tab-separated-values"));
    assert_eq!(a.metadata().and_then(|m| m.get("edba-source-key")).map(String::as_str), Some("incoming/IL-101.tdf"));
    assert_eq!(get(&s3, "ours/IL-101.tdf").await, BODY);
    assert_eq!(get(&s3, "ours/IL-101.tdf").await, get(&s3, "theirs/IL-101.tdf").await);

    // A whole GET is answered by our path too, a ranged one by s3s-fs
    // (`bytes=0-` is the whole object): the same object, the same answer.
    let whole = |key: &'static str, range: Option<&'static str>| {
        s3.get_object()
            .bucket(BUCKET)
            .key(key)
            .set_range(range.map(str::to_owned))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
    };
    for key in ["ours/IL-101.tdf", "theirs/IL-101.tdf"] {
        let (ours, theirs) = (whole(key, None).await.unwrap(), whole(key, Some("bytes=0-")).await.unwrap());
        let seen = |g: &aws_sdk_s3::operation::get_object::GetObjectOutput| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                g.e_tag(),
                g.content_length(),
                g.content_type(),
                g.content_encoding(),
                g.cache_control(),
                g.content_disposition(),
                g.content_language(),
                g.metadata(),
                g.checksum_sha256(),
                g.last_modified(),
                g.version_id()
            )
        };
        assert_eq!(seen(&ours), seen(&theirs), "{key}");
        assert_eq!(ours.checksum_sha256(), a.checksum_sha256());
        assert_eq!(ours.body.collect().await.unwrap().into_bytes(), BODY);
        assert_eq!(theirs.body.collect().await.unwrap().into_bytes(), BODY);
    }

    // A PUT whose body its Content-MD5 or checksum does not match is
    // refused and leaves the object as it was: through our path (a small
    // body) and through s3s-fs (a body over the small path's limit).
    let other_md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="; // the MD5 of no bytes
    let wrong_sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
    let large = vec![b'x'; 3 * MIB / 2];
    for (key, body) in [("ours/bad.tdf", BODY.to_vec()), ("theirs/bad.tdf", large)] {
        s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from_static(b"previous")).send().await.unwrap();
        let bad_md5 = s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .content_md5(other_md5)
            .send()
            .await
            .unwrap_err();
        assert_eq!(bad_md5.as_service_error().and_then(|e| e.meta().code()), Some("BadDigest"), "{key}");
        let bad_sum = s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body))
            .checksum_sha256(wrong_sha256)
            .send()
            .await
            .unwrap_err();
        assert_eq!(bad_sum.as_service_error().and_then(|e| e.meta().code()), Some("BadDigest"), "{key}");
        assert_eq!(get(&s3, key).await, b"previous", "{key}");
        let listed = s3.list_objects_v2().bucket(BUCKET).prefix(key).send().await.unwrap();
        assert_eq!(listed.contents()[0].size(), Some(8), "{key}");
        let versions = s3.list_object_versions().bucket(BUCKET).prefix(key).send().await.unwrap();
        assert_eq!(versions.versions().len(), 1, "{key}");
    }
}

/// Conditional reads answer as S3 does: a matching If-None-Match (or an
/// If-Modified-Since the object is not newer than) is `304 Not Modified`,
/// which is how the tasks' document caches avoid re-reading their project;
/// a failed If-Match (or If-Unmodified-Since) is `412 Precondition Failed`.
#[tokio::test]
async fn conditional_reads_answer_not_modified_and_precondition_failed() {
    use aws_sdk_s3::primitives::DateTime;
    let (_dir, _server, s3) = server().await;
    let put = s3.put_object().bucket(BUCKET).key("code/edba.toml").body(ByteStream::from_static(b"[project]\n")).send();
    let etag = put.await.unwrap().e_tag().unwrap().to_owned();
    fn status<E>(e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> Option<u16> {
        e.raw_response().map(|r| r.status().as_u16())
    }
    let get = || s3.get_object().bucket(BUCKET).key("code/edba.toml");
    let head = || s3.head_object().bucket(BUCKET).key("code/edba.toml");
    let past = DateTime::from_secs(1_000_000_000);
    let future = DateTime::from_secs(4_000_000_000);

    let not_modified = get().if_none_match(&etag).send().await.unwrap_err();
    assert_eq!(status(&not_modified), Some(304));
    assert_eq!(status(&head().if_none_match(&etag).send().await.unwrap_err()), Some(304));
    assert_eq!(status(&get().if_none_match("*").send().await.unwrap_err()), Some(304));
    assert_eq!(status(&get().if_modified_since(future).send().await.unwrap_err()), Some(304));
    let changed = get().if_none_match("\"0123456789abcdef0123456789abcdef\"").send().await.unwrap();
    assert_eq!(changed.body.collect().await.unwrap().into_bytes().as_ref(), b"[project]\n");
    get().if_modified_since(past).send().await.unwrap();

    let failed = get().if_match("\"0123456789abcdef0123456789abcdef\"").send().await.unwrap_err();
    assert_eq!(failed.as_service_error().and_then(|e| e.meta().code()), Some("PreconditionFailed"));
    assert_eq!(status(&head().if_match("\"other\"").send().await.unwrap_err()), Some(412));
    assert_eq!(status(&get().if_unmodified_since(past).send().await.unwrap_err()), Some(412));
    get().if_match(&etag).if_unmodified_since(past).send().await.unwrap(); // If-Match holds: the date is not checked
    get().if_unmodified_since(future).send().await.unwrap();
}
