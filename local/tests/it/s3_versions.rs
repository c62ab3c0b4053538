//! Versioning of the embedded S3 server, driven through `aws-sdk-s3` as on the
//! deployed (versioned) bucket.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, Tag, Tagging,
    TaggingDirective,
};
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

fn tagging(tags: &[(&str, &str)]) -> Tagging {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap());
    Tagging::builder().set_tag_set(Some(tags.collect())).build().unwrap()
}

/// PutObjectTagging; the version id it answers with.
async fn put_tags(s3: &aws_sdk_s3::Client, key: &str, version: Option<&str>, tags: &[(&str, &str)]) -> Option<String> {
    let out = s3
        .put_object_tagging()
        .bucket(BUCKET)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .tagging(tagging(tags))
        .send()
        .await
        .unwrap();
    out.version_id().map(str::to_owned)
}

/// GetObjectTagging: the tags, sorted, and the version id it answers with.
async fn tags(s3: &aws_sdk_s3::Client, key: &str, version: Option<&str>) -> (Vec<(String, String)>, Option<String>) {
    let out = s3
        .get_object_tagging()
        .bucket(BUCKET)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> =
        out.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    tags.sort();
    (tags, out.version_id().map(str::to_owned))
}

fn pairs(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn tags_belong_to_one_version() {
    let (_dir, _server, s3) = server().await;
    let v1 = put(&s3, KEY, b"one\n").await;
    let v2 = put(&s3, KEY, b"two\n").await;
    // Without a version id, the current version; with one, that version.
    assert_eq!(put_tags(&s3, KEY, None, &[("stage", "current")]).await, Some(v2.clone()));
    let old = [("edba-superseded", "true"), ("stage", "old")];
    assert_eq!(put_tags(&s3, KEY, Some(&v1), &old).await, Some(v1.clone()));

    assert_eq!(tags(&s3, KEY, None).await, (pairs(&[("stage", "current")]), Some(v2.clone())));
    assert_eq!(tags(&s3, KEY, Some(&v2)).await, (pairs(&[("stage", "current")]), Some(v2.clone())));
    assert_eq!(tags(&s3, KEY, Some(&v1)).await, (pairs(&old), Some(v1.clone())));

    // A new version starts untagged; the older ones keep theirs.
    let v3 = put(&s3, KEY, b"three\n").await;
    assert_eq!(tags(&s3, KEY, None).await, (Vec::new(), Some(v3)));
    assert_eq!(tags(&s3, KEY, Some(&v2)).await.0, pairs(&[("stage", "current")]));
    // An object never tagged has an empty tag set.
    put(&s3, "validated/untagged.csv", b"x\n").await;
    assert_eq!(tags(&s3, "validated/untagged.csv", None).await.0, Vec::new());
    // Tagging replaces the whole set.
    put_tags(&s3, KEY, Some(&v1), &[("edba-superseded", "true")]).await;
    assert_eq!(tags(&s3, KEY, Some(&v1)).await.0, pairs(&[("edba-superseded", "true")]));
}

#[tokio::test]
async fn deleting_tags_clears_one_version() {
    let (_dir, _server, s3) = server().await;
    let v1 = put(&s3, KEY, b"one\n").await;
    let v2 = put(&s3, KEY, b"two\n").await;
    put_tags(&s3, KEY, Some(&v1), &[("a", "1")]).await;
    put_tags(&s3, KEY, None, &[("b", "2")]).await;

    let out = s3.delete_object_tagging().bucket(BUCKET).key(KEY).send().await.unwrap();
    assert_eq!(out.version_id(), Some(v2.as_str()));
    assert_eq!(tags(&s3, KEY, None).await.0, Vec::new());
    assert_eq!(tags(&s3, KEY, Some(&v1)).await.0, pairs(&[("a", "1")]));
    s3.delete_object_tagging().bucket(BUCKET).key(KEY).version_id(&v1).send().await.unwrap();
    assert_eq!(tags(&s3, KEY, Some(&v1)).await.0, Vec::new());
}

#[tokio::test]
async fn tagging_a_missing_key_or_version_fails_as_in_s3() {
    let (_dir, _server, s3) = server().await;
    let missing = s3.put_object_tagging().bucket(BUCKET).key("nothing").tagging(tagging(&[("a", "1")])).send().await;
    assert_eq!(missing.unwrap_err().code(), Some("NoSuchKey"));
    let missing = s3.get_object_tagging().bucket(BUCKET).key("nothing").send().await;
    assert_eq!(missing.unwrap_err().code(), Some("NoSuchKey"));
    let missing = s3.delete_object_tagging().bucket(BUCKET).key("nothing").send().await;
    assert_eq!(missing.unwrap_err().code(), Some("NoSuchKey"));

    put(&s3, KEY, b"a\n").await;
    let unknown = "00000000000000000001";
    let err = s3
        .put_object_tagging()
        .bucket(BUCKET)
        .key(KEY)
        .version_id(unknown)
        .tagging(tagging(&[("a", "1")]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchVersion"));
    let err = s3.get_object_tagging().bucket(BUCKET).key(KEY).version_id(unknown).send().await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchVersion"));
    let err = s3.delete_object_tagging().bucket(BUCKET).key(KEY).version_id(unknown).send().await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchVersion"));

    // Behind a delete marker the key is gone, as for a GET.
    s3.delete_object().bucket(BUCKET).key(KEY).send().await.unwrap();
    let gone = s3.put_object_tagging().bucket(BUCKET).key(KEY).tagging(tagging(&[("a", "1")])).send().await;
    assert_eq!(gone.unwrap_err().code(), Some("NoSuchKey"));
}

#[tokio::test]
async fn tags_beyond_s3s_limits_are_refused_with_s3s_codes() {
    let (_dir, _server, s3) = server().await;
    put(&s3, KEY, b"a\n").await;
    let refused = |tags: Vec<(String, String)>| {
        let s3 = s3.clone();
        async move {
            let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let err = s3.put_object_tagging().bucket(BUCKET).key(KEY).tagging(tagging(&tags)).send().await.unwrap_err();
            (err.code().map(str::to_owned), err.message().map(str::to_owned))
        }
    };
    let eleven: Vec<(String, String)> = (0..11).map(|n| (format!("k{n}"), "v".to_owned())).collect();
    assert_eq!(
        refused(eleven.clone()).await,
        (Some("BadRequest".to_owned()), Some("Object tags cannot be greater than 10".to_owned()))
    );
    assert_eq!(refused(vec![("k".repeat(129), "v".to_owned())]).await.0.as_deref(), Some("InvalidTag"));
    assert_eq!(refused(vec![("k".to_owned(), "v".repeat(257))]).await.0.as_deref(), Some("InvalidTag"));
    let twice = vec![("k".to_owned(), "1".to_owned()), ("k".to_owned(), "2".to_owned())];
    assert_eq!(refused(twice).await.0.as_deref(), Some("InvalidTag"));
    assert_eq!(tags(&s3, KEY, None).await.0, Vec::new(), "a refused set leaves the tags as they were");

    // At the limits, counted in characters (not bytes), is allowed.
    let (long_key, long_value) = ("é".repeat(128), "ü".repeat(256));
    let mut ten: Vec<(&str, &str)> = eleven.iter().take(9).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ten.push((&long_key, &long_value));
    put_tags(&s3, KEY, None, &ten).await;
    assert_eq!(tags(&s3, KEY, None).await.0, pairs(&ten));

    // The header form is held to the same limits, and writes nothing.
    let header: Vec<String> = (0..11).map(|n| format!("k{n}=v")).collect();
    let err = s3
        .put_object()
        .bucket(BUCKET)
        .key("validated/too-many.csv")
        .tagging(header.join("&"))
        .body(ByteStream::from_static(b"x\n"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("BadRequest"));
    assert_eq!(versions(&s3, "validated/").await, []);
}

#[tokio::test]
async fn get_and_head_show_the_tag_count() {
    let (_dir, _server, s3) = server().await;
    let v1 = put(&s3, KEY, b"one\n").await;
    put(&s3, KEY, b"two\n").await;
    put_tags(&s3, KEY, Some(&v1), &[("a", "1"), ("b", "2")]).await;

    let head = s3.head_object().bucket(BUCKET).key(KEY).version_id(&v1).send().await.unwrap();
    assert_eq!(head.tag_count(), Some(2));
    let got = s3.get_object().bucket(BUCKET).key(KEY).version_id(&v1).send().await.unwrap();
    assert_eq!(got.tag_count(), Some(2));
    // The current version has no tags, and no count.
    assert_eq!(s3.head_object().bucket(BUCKET).key(KEY).send().await.unwrap().tag_count(), None);
    assert_eq!(s3.get_object().bucket(BUCKET).key(KEY).send().await.unwrap().tag_count(), None);
}

#[tokio::test]
async fn writes_take_the_tagging_header_and_copies_the_source_tags() {
    let (_dir, _server, s3) = server().await;
    let out = s3
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .tagging("edba-superseded=true&path=validated%2Fa+b")
        .body(ByteStream::from_static(b"tagged\n"))
        .send()
        .await
        .unwrap();
    let expected = pairs(&[("edba-superseded", "true"), ("path", "validated/a b")]);
    assert_eq!(tags(&s3, KEY, None).await, (expected.clone(), out.version_id().map(str::to_owned)));

    let key = "validated/multipart.csv";
    let upload = s3.create_multipart_upload().bucket(BUCKET).key(key).tagging("stage=validated").send().await.unwrap();
    let upload_id = upload.upload_id().unwrap();
    let part = s3
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"x\n"));
    let part = part.send().await.unwrap();
    let parts = CompletedMultipartUpload::builder()
        .parts(CompletedPart::builder().part_number(1).e_tag(part.e_tag().unwrap()).build())
        .build();
    let done = s3
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(parts)
        .send()
        .await
        .unwrap();
    assert_eq!(tags(&s3, key, None).await, (pairs(&[("stage", "validated")]), done.version_id().map(str::to_owned)));

    // A copy takes its source's tags, unless told to replace them.
    let copy = |to: &'static str| s3.copy_object().bucket(BUCKET).key(to).copy_source(format!("{BUCKET}/{KEY}"));
    copy("incoming/copied.tdf").send().await.unwrap();
    assert_eq!(tags(&s3, "incoming/copied.tdf", None).await.0, expected);
    copy("incoming/replaced.tdf").tagging_directive(TaggingDirective::Replace).tagging("x=y").send().await.unwrap();
    assert_eq!(tags(&s3, "incoming/replaced.tdf", None).await.0, pairs(&[("x", "y")]));
}

#[tokio::test]
async fn tags_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = {
        let server = EmbeddedS3::start(dir.path()).unwrap();
        server.create_bucket(BUCKET).await.unwrap();
        let s3 = server.client().await;
        let v1 = put(&s3, KEY, b"before\n").await;
        let v2 = put(&s3, KEY, b"after\n").await;
        put_tags(&s3, KEY, Some(&v1), &[("edba-superseded", "true")]).await;
        put_tags(&s3, KEY, None, &[("stage", "current")]).await;
        server.shutdown().await;
        (v1, v2)
    };
    let server = EmbeddedS3::start(dir.path()).unwrap();
    let s3 = server.client().await;
    assert_eq!(tags(&s3, KEY, Some(&v1)).await.0, pairs(&[("edba-superseded", "true")]));
    assert_eq!(tags(&s3, KEY, None).await, (pairs(&[("stage", "current")]), Some(v2)));
    let head = s3.head_object().bucket(BUCKET).key(KEY).version_id(&v1).send().await.unwrap();
    assert_eq!(head.tag_count(), Some(1));
}

#[tokio::test]
async fn an_object_from_before_versioning_becomes_a_version_to_carry_tags() {
    let (dir, _server, s3) = server().await;
    // Written straight into the bucket directory: a file without versions.
    std::fs::write(dir.path().join(BUCKET).join("legacy.csv"), b"old\n").unwrap();
    assert_eq!(tags(&s3, "legacy.csv", None).await, (Vec::new(), None));
    s3.delete_object_tagging().bucket(BUCKET).key("legacy.csv").send().await.unwrap();
    assert_eq!(versions(&s3, "legacy").await, [], "clearing no tags makes no version");

    let version = put_tags(&s3, "legacy.csv", None, &[("edba-superseded", "true")]).await;
    assert!(version.is_some());
    assert_eq!(tags(&s3, "legacy.csv", None).await, (pairs(&[("edba-superseded", "true")]), version.clone()));
    assert_eq!(get(&s3, "legacy.csv", None).await, (b"old\n".to_vec(), version));
}

// Versions share the files of the write that made them (hard links), so a
// later write onto the key must never change an earlier version.

/// Body, content type, user metadata `a` and ETag of one version.
async fn version_of(
    s3: &aws_sdk_s3::Client,
    key: &str,
    version: &str,
) -> (Vec<u8>, Option<String>, Option<String>, String) {
    let out = s3.get_object().bucket(BUCKET).key(key).version_id(version).send().await.unwrap();
    let meta = (
        out.content_type().map(str::to_owned),
        out.metadata().and_then(|m| m.get("a")).cloned(),
        out.e_tag().unwrap().to_owned(),
    );
    (out.body.collect().await.unwrap().into_bytes().to_vec(), meta.0, meta.1, meta.2)
}

#[tokio::test]
async fn a_copy_onto_a_key_leaves_its_earlier_versions_as_they_were() {
    let (_dir, _server, s3) = server().await;
    let v1 = s3
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .content_type("text/plain")
        .metadata("a", "1")
        .body(ByteStream::from_static(b"version one\n"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    let before = version_of(&s3, KEY, &v1).await;
    assert_eq!(
        before,
        (
            b"version one\n".to_vec(),
            Some("text/plain".into()),
            Some("1".into()),
            "\"dd8f100298ff923592ab35dc15788abc\"".into()
        )
    );

    // Another key's bytes copied over it: a new version, the old one intact.
    put(&s3, "incoming/other.tdf", b"other bytes\n").await;
    let copied = s3
        .copy_object()
        .bucket(BUCKET)
        .key(KEY)
        .copy_source(format!("{BUCKET}/incoming/other.tdf"))
        .send()
        .await
        .unwrap();
    let v2 = copied.version_id().unwrap().to_owned();
    assert_eq!(version_of(&s3, KEY, &v1).await, before);
    assert_eq!(get(&s3, KEY, None).await, (b"other bytes\n".to_vec(), Some(v2.clone())));

    // The key copied onto itself with new metadata (S3's way to change it):
    // the copy's source is the version the key's files are shared with.
    let v3 = s3
        .copy_object()
        .bucket(BUCKET)
        .key(KEY)
        .copy_source(format!("{BUCKET}/{KEY}?versionId={v1}"))
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .metadata("a", "3")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    assert_eq!(version_of(&s3, KEY, &v1).await, before);
    let third = version_of(&s3, KEY, &v3).await;
    assert_eq!((third.0.as_slice(), third.2.as_deref()), (&b"version one\n"[..], Some("3")));
    assert_eq!(get(&s3, KEY, Some(&v2)).await.0, b"other bytes\n");

    // A copy that fails (a source ETag that does not match) changes nothing:
    // the key still reads and lists as its newest version.
    let err = s3
        .copy_object()
        .bucket(BUCKET)
        .key(KEY)
        .copy_source(format!("{BUCKET}/incoming/other.tdf"))
        .copy_source_if_match("\"not-the-etag\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PreconditionFailed"));
    assert_eq!(get(&s3, KEY, None).await, (b"version one\n".to_vec(), Some(v3.clone())));
    let listed = s3.list_objects_v2().bucket(BUCKET).prefix(KEY).send().await.unwrap();
    assert_eq!(listed.contents().iter().map(|o| o.size()).collect::<Vec<_>>(), [Some(12)]);
    assert_eq!(version_of(&s3, KEY, &v1).await, before);
}

#[tokio::test]
async fn a_home_with_per_key_index_files_opens_with_its_versions() {
    use sha2::{Digest, Sha256};
    // The layout an older edba wrote: `<versions>/<bucket>/<sha256 of key>/`
    // holding `index.json` and one file per version, beside the plain file.
    let dir = tempfile::tempdir().unwrap();
    let hex: String = Sha256::digest(KEY.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let key_dir = dir.path().join(".edba-versions").join(BUCKET).join(&hex);
    std::fs::create_dir_all(&key_dir).unwrap();
    let (old, newer) = ("00001765000000000001", "00001765000000000002");
    std::fs::write(key_dir.join(old), b"old bytes\n").unwrap();
    std::fs::write(key_dir.join(newer), b"newer bytes\n").unwrap();
    let index = serde_json::json!({"key": KEY, "versions": [
        {"id": old, "etag": "e1", "size": 10, "last_modified_ms": 1, "tags": {"t": "1"}},
        {"id": newer, "etag": "e2", "size": 12, "last_modified_ms": 2},
    ]});
    std::fs::write(key_dir.join("index.json"), index.to_string()).unwrap();
    let plain = dir.path().join(BUCKET).join(KEY);
    std::fs::create_dir_all(plain.parent().unwrap()).unwrap();
    std::fs::write(&plain, b"newer bytes\n").unwrap();

    let server = EmbeddedS3::start(dir.path()).unwrap();
    let s3 = server.client().await;
    assert_eq!(get(&s3, KEY, Some(old)).await, (b"old bytes\n".to_vec(), Some(old.to_owned())));
    assert_eq!(get(&s3, KEY, None).await, (b"newer bytes\n".to_vec(), Some(newer.to_owned())));
    assert_eq!(tags(&s3, KEY, Some(old)).await.0, pairs(&[("t", "1")]));
    let listed = versions(&s3, KEY).await;
    assert_eq!(
        listed.iter().map(|(_, id, latest, _)| (id.as_str(), *latest)).collect::<Vec<_>>(),
        [(newer, true), (old, false)]
    );
    assert!(!key_dir.join("index.json").exists(), "the index moved into the database");

    // New versions go on from there, and everything survives a restart.
    let v3 = put(&s3, KEY, b"third\n").await;
    assert!(v3.as_str() > newer);
    server.shutdown().await;
    let server = EmbeddedS3::start(dir.path()).unwrap();
    let s3 = server.client().await;
    assert_eq!(get(&s3, KEY, Some(old)).await.0, b"old bytes\n");
    assert_eq!(get(&s3, KEY, None).await, (b"third\n".to_vec(), Some(v3)));
}
