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
