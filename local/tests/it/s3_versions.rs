//! Versioning of the embedded S3 server, driven through `aws-sdk-s3` as on the
//! deployed (versioned) bucket.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use edba_local::s3server::EmbeddedS3;

use crate::s3server::{server, BUCKET};

const KEY: &str = "incoming/IL-101.tdf";

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: &'static [u8]) -> String {
    let out = s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from_static(body)).send().await.unwrap();
    out.version_id().expect("a versioned bucket returns a version id").to_owned()
}

/// The body and version id of a GET, with or without a version id.
async fn get(s3: &aws_sdk_s3::Client, key: &str, version: Option<&str>) -> (Vec<u8>, Option<String>) {
    let out = s3.get_object().bucket(BUCKET).key(key).set_version_id(version.map(str::to_owned)).send().await.unwrap();
    let version = out.version_id().map(str::to_owned);
    (out.body.collect().await.unwrap().into_bytes().to_vec(), version)
}

/// `(key, version id, is latest, is delete marker)`, in S3's order.
async fn versions(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<(String, String, bool, bool)> {
    let out = s3.list_object_versions().bucket(BUCKET).prefix(prefix).send().await.unwrap();
    let mut rows: Vec<(String, String, bool, bool)> =
        out.versions()
            .iter()
            .map(|v| (v.key().unwrap().to_owned(), v.version_id().unwrap().to_owned(), v.is_latest().unwrap(), false))
            .chain(out.delete_markers().iter().map(|m| {
                (m.key().unwrap().to_owned(), m.version_id().unwrap().to_owned(), m.is_latest().unwrap(), true)
            }))
            .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    rows
}

#[tokio::test]
async fn every_put_is_a_version_that_stays_readable() {
    let (_dir, _server, s3) = server().await;
    let v1 = put(&s3, KEY, b"version one\n").await;
    let v2 = put(&s3, KEY, b"version two\n").await;
    assert!(v2 > v1, "newer versions have greater ids: {v1} then {v2}");

    assert_eq!(get(&s3, KEY, None).await, (b"version two\n".to_vec(), Some(v2.clone())));
    assert_eq!(get(&s3, KEY, Some(&v1)).await, (b"version one\n".to_vec(), Some(v1.clone())));
    assert_eq!(get(&s3, KEY, Some(&v2)).await, (b"version two\n".to_vec(), Some(v2.clone())));

    let head = s3.head_object().bucket(BUCKET).key(KEY).version_id(&v1).send().await.unwrap();
    assert_eq!(head.content_length(), Some(12));
    assert_eq!(head.version_id(), Some(v1.as_str()));
    // MD5 of "version one\n": each version keeps its own ETag.
    assert_eq!(head.e_tag(), Some("\"dd8f100298ff923592ab35dc15788abc\""));
    let head_v2 = s3.head_object().bucket(BUCKET).key(KEY).send().await.unwrap();
    assert_ne!(head.e_tag(), head_v2.e_tag());
    assert_eq!(head_v2.version_id(), Some(v2.as_str()));

    assert_eq!(
        versions(&s3, "incoming/").await,
        [(KEY.to_owned(), v2.clone(), true, false), (KEY.to_owned(), v1.clone(), false, false),]
    );
    // The plain listing still shows one object per key.
    let listed = s3.list_objects_v2().bucket(BUCKET).prefix("incoming/").send().await.unwrap();
    assert_eq!(listed.contents().iter().filter_map(|o| o.key()).collect::<Vec<_>>(), [KEY]);
}

#[tokio::test]
async fn an_unknown_version_is_no_such_version() {
    let (_dir, _server, s3) = server().await;
    put(&s3, KEY, b"a\n").await;
    let err = s3.get_object().bucket(BUCKET).key(KEY).version_id("00000000000000000001").send().await.unwrap_err();
    let code = err.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e)).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("NoSuchVersion"), "{err:?}");
}

#[tokio::test]
async fn a_delete_without_version_leaves_a_marker_and_keeps_the_versions() {
    let (_dir, _server, s3) = server().await;
    let v1 = put(&s3, KEY, b"kept\n").await;
    let deleted = s3.delete_object().bucket(BUCKET).key(KEY).send().await.unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().unwrap().to_owned();
    assert!(marker > v1);

    let missing = s3.get_object().bucket(BUCKET).key(KEY).send().await.unwrap_err();
    assert!(missing.into_service_error().is_no_such_key());
    assert_eq!(get(&s3, KEY, Some(&v1)).await.0, b"kept\n");
    assert_eq!(
        versions(&s3, "").await,
        [(KEY.to_owned(), marker.clone(), true, true), (KEY.to_owned(), v1.clone(), false, false),]
    );

    // Removing the marker brings the object back.
    s3.delete_object().bucket(BUCKET).key(KEY).version_id(&marker).send().await.unwrap();
    assert_eq!(get(&s3, KEY, None).await, (b"kept\n".to_vec(), Some(v1)));
}

#[tokio::test]
async fn deleting_the_newest_version_makes_the_one_before_current() {
    let (_dir, _server, s3) = server().await;
    let v1 = put(&s3, KEY, b"one\n").await;
    let v2 = put(&s3, KEY, b"two\n").await;
    let out = s3.delete_object().bucket(BUCKET).key(KEY).version_id(&v2).send().await.unwrap();
    assert_eq!(out.version_id(), Some(v2.as_str()));
    assert_eq!(get(&s3, KEY, None).await, (b"one\n".to_vec(), Some(v1.clone())));
    assert_eq!(versions(&s3, "").await, [(KEY.to_owned(), v1.clone(), true, false)]);

    // Deleting the last version leaves no object and no version.
    s3.delete_object().bucket(BUCKET).key(KEY).version_id(&v1).send().await.unwrap();
    assert!(s3.get_object().bucket(BUCKET).key(KEY).send().await.unwrap_err().into_service_error().is_no_such_key());
    assert_eq!(versions(&s3, "").await, []);
}

#[tokio::test]
async fn multipart_uploads_and_copies_make_versions() {
    let (_dir, _server, s3) = server().await;
    let key = "validated/big.csv";
    let part = vec![b'x'; 5 * 1024 * 1024];
    let upload = s3.create_multipart_upload().bucket(BUCKET).key(key).send().await.unwrap();
    let upload_id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (n, body) in [(1, part.clone()), (2, b"tail\n".to_vec())] {
        let out = s3
            .upload_part()
            .bucket(BUCKET)
            .key(key)
            .upload_id(upload_id)
            .part_number(n)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        parts.push(CompletedPart::builder().part_number(n).e_tag(out.e_tag().unwrap()).build());
    }
    let done = s3
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    let multipart_version = done.version_id().expect("the completed upload is a version").to_owned();
    let head = s3.head_object().bucket(BUCKET).key(key).version_id(&multipart_version).send().await.unwrap();
    assert_eq!(head.content_length(), Some(5 * 1024 * 1024 + 5));

    // A copy from an older version copies that version's bytes.
    let v1 = put(&s3, KEY, b"old\n").await;
    put(&s3, KEY, b"new\n").await;
    let copied = s3
        .copy_object()
        .bucket(BUCKET)
        .key("incoming/restored.tdf")
        .copy_source(format!("{BUCKET}/{KEY}?versionId={v1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.copy_source_version_id(), Some(v1.as_str()));
    let copy_version = copied.version_id().unwrap().to_owned();
    assert_eq!(get(&s3, "incoming/restored.tdf", None).await, (b"old\n".to_vec(), Some(copy_version)));
}

#[tokio::test]
async fn batch_deletes_version_like_single_deletes() {
    let (_dir, _server, s3) = server().await;
    let a1 = put(&s3, "a", b"a1").await;
    let a2 = put(&s3, "a", b"a2").await;
    put(&s3, "b", b"b1").await;
    let ids = [
        ObjectIdentifier::builder().key("a").version_id(&a2).build().unwrap(),
        ObjectIdentifier::builder().key("b").build().unwrap(),
    ];
    let out = s3
        .delete_objects()
        .bucket(BUCKET)
        .delete(Delete::builder().set_objects(Some(ids.to_vec())).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted().len(), 2);
    assert_eq!(get(&s3, "a", None).await, (b"a1".to_vec(), Some(a1)));
    assert!(s3.get_object().bucket(BUCKET).key("b").send().await.unwrap_err().into_service_error().is_no_such_key());
}

#[tokio::test]
async fn buckets_report_versioning_and_hide_the_version_store() {
    let (_dir, _server, s3) = server().await;
    let status = s3.get_bucket_versioning().bucket(BUCKET).send().await.unwrap();
    assert_eq!(status.status(), Some(&BucketVersioningStatus::Enabled));
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [BUCKET]);
}

#[tokio::test]
async fn concurrent_writes_of_one_key_leave_the_last_version_current() {
    let (_dir, _server, s3) = server().await;
    let bodies: Vec<&'static [u8]> = vec![b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"];
    let puts = bodies.iter().map(|body| {
        let s3 = s3.clone();
        async move { (put(&s3, KEY, body).await, *body) }
    });
    let mut written = futures::future::join_all(puts).await;
    written.sort();
    let (newest, newest_body) = written.last().unwrap().clone();
    // Whatever order the writes landed in, the current object is the version
    // with the greatest id, and every version reads back its own body.
    assert_eq!(get(&s3, KEY, None).await, (newest_body.to_vec(), Some(newest)));
    for (version, body) in &written {
        assert_eq!(get(&s3, KEY, Some(version)).await.0, body.to_vec());
    }
    assert_eq!(versions(&s3, "").await.len(), bodies.len());
}

#[tokio::test]
async fn versions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = {
        let server = EmbeddedS3::start(dir.path()).unwrap();
        server.create_bucket(BUCKET).await.unwrap();
        let s3 = server.client().await;
        let v1 = put(&s3, KEY, b"before\n").await;
        let v2 = put(&s3, KEY, b"after\n").await;
        server.shutdown().await;
        (v1, v2)
    };
    let server = EmbeddedS3::start(dir.path()).unwrap();
    let s3 = server.client().await;
    assert_eq!(get(&s3, KEY, Some(&v1)).await.0, b"before\n");
    let v3 = put(&s3, KEY, b"third\n").await;
    assert!(v3 > v2);
    assert_eq!(get(&s3, KEY, None).await, (b"third\n".to_vec(), Some(v3)));
}
