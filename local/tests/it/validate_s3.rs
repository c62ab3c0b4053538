//! The validate task against the embedded S3 server: the same aws-sdk-s3 calls
//! as in AWS, on real objects.

use aws_sdk_s3::primitives::ByteStream;
use edba_local::EmbeddedS3;
use edba_payloads::{FileStatus, IngestInput, RowCounts, S3ObjectRef, ValidateInput, ValidateOutput};
use edba_tasks::dataset::parquet::csv_to_parquet;
use edba_tasks::dataset::{convert_reader, sample_dataset, ConvertOptions};

use crate::support::parquet_text;
use edba_tasks::s3::MIN_PART_SIZE;
use edba_tasks::validate::{validate_object, ValidateOptions};
use pretty_assertions::assert_eq;

const EVENT: &str = include_str!("../../../tests/fixtures/s3-object-created.json");
const SAMPLE: &[u8] = include_bytes!("../../../tests/fixtures/IL-101.tdf");

struct Bucket {
    _dir: tempfile::TempDir,
    server: EmbeddedS3,
    s3: aws_sdk_s3::Client,
    name: String,
}

impl Bucket {
    async fn new(name: &str) -> Bucket {
        let dir = tempfile::tempdir().unwrap();
        let server = EmbeddedS3::start(dir.path()).unwrap();
        server.create_bucket(name).await.unwrap();
        let s3 = server.client().await;
        Bucket { _dir: dir, server, s3, name: name.to_owned() }
    }

    /// Puts an object and returns its ETag, unquoted as events carry it.
    async fn put(&self, key: &str, body: impl Into<Vec<u8>>) -> String {
        let out =
            self.s3.put_object().bucket(&self.name).key(key).body(ByteStream::from(body.into())).send().await.unwrap();
        out.e_tag().unwrap().trim_matches('"').to_owned()
    }

    /// Puts an object and returns its ETag (unquoted) and the version id
    /// the versioned bucket gave it.
    async fn put_version(&self, key: &str, body: impl Into<Vec<u8>>) -> (String, String) {
        let out =
            self.s3.put_object().bucket(&self.name).key(key).body(ByteStream::from(body.into())).send().await.unwrap();
        (out.e_tag().unwrap().trim_matches('"').to_owned(), out.version_id().unwrap().to_owned())
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.s3.get_object().bucket(&self.name).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(err) => panic!("GetObject {key}: {err:?}"),
        }
    }

    async fn etag(&self, key: &str) -> String {
        let head = self.s3.head_object().bucket(&self.name).key(key).send().await.unwrap();
        head.e_tag().unwrap().trim_matches('"').to_owned()
    }

    /// Parts of unfinished multipart uploads, which s3s-fs keeps as
    /// `.upload_id-*` files in its root.
    fn pending_upload_files(&self) -> usize {
        std::fs::read_dir(self.server.root())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".upload_id-"))
            .count()
    }

    async fn keys(&self) -> Vec<String> {
        let out = self.s3.list_objects_v2().bucket(&self.name).send().await.unwrap();
        let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        keys.sort();
        keys
    }

    /// The validate input for an object put under `key`, as an un-versioned
    /// bucket's event would carry it (`event_key` is the key as S3 encodes it).
    fn input(&self, event_key: &str, etag: Option<String>) -> ValidateInput {
        ValidateInput {
            bucket: self.name.clone(),
            object: S3ObjectRef {
                key: event_key.to_owned(),
                size: None,
                etag,
                version_id: None,
                sequencer: "0066324600000000AA".to_owned(),
            },
            event_time: "2024-05-01T13:45:10Z".to_owned(),
        }
    }

    async fn validate(&self, input: &ValidateInput, opts: &ValidateOptions) -> ValidateOutput {
        validate_object(&self.s3, input, opts).await.unwrap()
    }
}

/// `validated/<stem>/<version>.parquet`: where validate put the clean rows of
/// the version it read (the embedded bucket is versioned, like the deployed one).
fn validated_of(stem: &str, out: &ValidateOutput) -> String {
    format!("validated/{stem}/{}.parquet", out.version_id.as_deref().expect("a versioned read"))
}

/// `rejected/<stem>/<version>.rejects.csv`, likewise.
fn rejected_of(stem: &str, out: &ValidateOutput) -> String {
    format!("rejected/{stem}/{}.rejects.csv", out.version_id.as_deref().expect("a versioned read"))
}

/// What the library's local converter makes of `bytes`: (validated rows as
/// the typed Parquet validate stores, rejects).
fn converted(dataset: &'static str, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    convert_reader(sample_dataset(dataset), bytes, &mut valid, &mut rejects, ConvertOptions::default()).unwrap();
    (csv_to_parquet(&sample_dataset(dataset), &valid).unwrap(), rejects)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The ingest machine's Parameters: bucket, object and time of the event.
fn validate_input_of(event: &IngestInput) -> ValidateInput {
    ValidateInput {
        bucket: event.detail.bucket.name.clone(),
        object: event.detail.object.clone(),
        event_time: event.time.clone(),
    }
}

#[tokio::test]
async fn the_eventbridge_event_validates_a_sales_file_with_defects() {
    let event: IngestInput = serde_json::from_str(EVENT).unwrap();
    assert_eq!((event.source.as_str(), event.detail_type.as_str()), ("aws.s3", "Object Created"));
    let mut input = validate_input_of(&event);
    let bucket = Bucket::new(&input.bucket).await;
    let (raw_etag, version) = bucket.put_version("incoming/IL-101.tdf", SAMPLE).await;
    // The embedded bucket is versioned like the deployed one: the event of
    // this upload names the version it produced, and validate reads that one.
    input.object.version_id = Some(version.clone());
    assert_eq!(Some(&raw_etag), input.object.etag.as_ref(), "the fixture's etag is the MD5 of IL-101.tdf");
    assert_eq!(input.object.size, Some(SAMPLE.len() as u64));

    let out = bucket.validate(&input, &ValidateOptions::default()).await;

    assert_eq!(out.file_url, "s3://edba-example-bucket/incoming/IL-101.tdf");
    assert_eq!(out.key, "incoming/IL-101.tdf");
    assert_eq!(out.bucket, "edba-example-bucket");
    assert_eq!(out.version_id.as_deref(), Some(version.as_str()));
    assert_eq!(out.etag.as_deref(), Some("5ef70abf2d86cbd6f60b83faae095c47"));
    assert_eq!(out.sequencer, "00663245A6C6D1E2F3");
    assert_eq!(out.dataset.as_deref(), Some("sales"));
    assert_eq!(out.partition.as_deref(), Some("IL"));
    assert_eq!(out.status, FileStatus::ValidatedWithRejects);
    assert!(out.reason.is_some());
    // 8 lines: header and ---- trailer skipped, bad amount and 30 February rejected.
    assert_eq!(out.counts, RowCounts { rows_valid: 4, rows_rejected: 2, lines_skipped: 2 });
    // Derived objects are addressed by the raw version they come from.
    assert_eq!(out.validated_key, Some(format!("validated/IL-101/{version}.parquet")));
    assert_eq!(out.rejected_key, Some(format!("rejected/IL-101/{version}.rejects.csv")));
    assert!(
        time::OffsetDateTime::parse(&out.validated_at, &time::format_description::well_known::Rfc3339).is_ok()
            && out.validated_at.ends_with('Z')
            && out.validated_at.len() == "2024-05-01T13:45:10.123456Z".len(),
        "{}",
        out.validated_at
    );

    let validated = bucket.get(&validated_of("IL-101", &out)).await.expect("validated object");
    assert_eq!(
        parquet_text(&validated),
        "store_id,amount,trans_type,item_id,trans_date\n\
         IL-101,12.50,4,ITEM-1,2024-05-01\n\
         IL-101,1.25,5,ITEM-1,2024-05-01\n\
         IL-101,0.50,6,ITEM-1,2024-05-01\n\
         IL-101,7.10,4,ITEM-4,2024-05-02\n"
    );
    let rejects = text(&bucket.get(&rejected_of("IL-101", &out)).await.expect("rejects object"));
    let rows: Vec<&str> = rejects.lines().collect();
    assert_eq!(rows.len(), 3, "{rejects}");
    assert_eq!(rows[0], "line,column,reason,raw_line");
    assert!(rows[1].starts_with("5,amount,"), "{rejects}");
    assert!(rows[2].starts_with("6,trans_date,"), "{rejects}");
    // Byte for byte what the converter writes for the same file locally.
    assert_eq!((validated, rejects.into_bytes()), converted("sales", SAMPLE));

    // The raw object is untouched, and nothing else was written.
    assert_eq!(bucket.get("incoming/IL-101.tdf").await.as_deref(), Some(SAMPLE));
    assert_eq!(bucket.etag("incoming/IL-101.tdf").await, raw_etag);
    assert_eq!(
        bucket.keys().await,
        ["incoming/IL-101.tdf".to_owned(), rejected_of("IL-101", &out), validated_of("IL-101", &out)]
    );

    // The output is what the track task reads.
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["status"], "VALIDATED_WITH_REJECTS");
    assert_eq!(json["counts"]["rows_valid"], 4);
}

#[tokio::test]
async fn an_unknown_key_is_invalid_with_a_reason_and_nothing_is_written() {
    let bucket = Bucket::new("edba-unknown").await;
    let etag = bucket.put("incoming/notes.txt", "hello\n").await;
    let out = bucket.validate(&bucket.input("incoming/notes.txt", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!(out.status, FileStatus::Invalid);
    assert!(out.reason.as_deref().unwrap().starts_with("unknown dataset"), "{:?}", out.reason);
    assert_eq!((out.dataset, out.partition), (None, None));
    assert_eq!((out.validated_key, out.rejected_key), (None, None));
    assert_eq!(out.counts, RowCounts::default());
    assert_eq!(bucket.keys().await, ["incoming/notes.txt"]);
}

#[tokio::test]
async fn an_event_key_with_an_encoded_space_is_decoded() {
    let bucket = Bucket::new("edba-spaces").await;
    let etag = bucket.put("incoming/IL-101 (copy).tdf", SAMPLE).await;
    // S3 form-encodes keys in events: space -> '+', '(' -> %28, ')' -> %29.
    let input = bucket.input("incoming/IL-101+%28copy%29.tdf", Some(etag));
    let out = bucket.validate(&input, &ValidateOptions::default()).await;
    assert_eq!(out.key, "incoming/IL-101 (copy).tdf");
    assert_eq!(out.file_url, "s3://edba-spaces/incoming/IL-101 (copy).tdf");
    // Sales file names allow no spaces: the decoded name is refused by name,
    // with the dataset registry's reason, and nothing is written.
    assert_eq!(out.status, FileStatus::Invalid);
    assert!(out.reason.as_deref().unwrap().contains("store part"), "{:?}", out.reason);
    assert_eq!(bucket.keys().await, ["incoming/IL-101 (copy).tdf"]);

    // A percent-encoded key that names a valid file is read under its decoded name.
    let etag = bucket.put("incoming/CA-204.tdf", SAMPLE).await;
    let out = bucket.validate(&bucket.input("incoming%2FCA-204.tdf", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!((out.key.as_str(), out.status), ("incoming/CA-204.tdf", FileStatus::ValidatedWithRejects));
    assert!(bucket.get(&validated_of("CA-204", &out)).await.is_some());
}

#[tokio::test]
async fn an_invalid_version_keeps_its_rejects_has_no_validated_object_and_leaves_other_versions_alone() {
    let bucket = Bucket::new("edba-invalid").await;
    // An earlier, good version of the file left a validated object.
    let good = "ON-7\t1.00\t4\tA\t2024-05-01\n";
    let etag = bucket.put("incoming/ON-7.tdf", good).await;
    let first = bucket.validate(&bucket.input("incoming/ON-7.tdf", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!(first.status, FileStatus::Validated);
    assert_eq!(first.rejected_key, None);
    let first_validated = bucket.get(&validated_of("ON-7", &first)).await.expect("the first version's rows");

    // The new version: one good row, three bad ones; over the 50 % reject share.
    let bad = "ON-7\t1.00\t4\tA\t2024-05-01\nON-7\tx\t4\tA\t2024-05-01\nON-7\t1\t4\tA\t2024-13-01\nON-7\t1\t4\t\t2024-05-01\n";
    let etag = bucket.put("incoming/ON-7.tdf", bad).await;
    let out = bucket.validate(&bucket.input("incoming/ON-7.tdf", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!(out.status, FileStatus::Invalid);
    assert_ne!(out.version_id, first.version_id);
    assert_eq!(out.counts, RowCounts { rows_valid: 1, rows_rejected: 3, lines_skipped: 0 });
    assert!(out.reason.is_some());
    assert_eq!(out.validated_key, None);
    assert_eq!(out.rejected_key, Some(rejected_of("ON-7", &out)));
    assert_eq!(bucket.get(&validated_of("ON-7", &out)).await, None, "no validated object for an INVALID version");
    let rejects = bucket.get(&rejected_of("ON-7", &out)).await.unwrap();
    assert_eq!(rejects, converted("sales", bad.as_bytes()).1);
    // The earlier version's rows stay exactly as they were: a run that
    // claimed that version still reads them.
    assert_eq!(bucket.get(&validated_of("ON-7", &first)).await, Some(first_validated.clone()));

    // A lenient threshold makes the same content usable.
    let etag = bucket.etag("incoming/ON-7.tdf").await;
    let lenient = ValidateOptions {
        convert: ConvertOptions { max_reject_share: Some(0.8), ..ConvertOptions::default() },
        ..ValidateOptions::default()
    };
    let out = bucket.validate(&bucket.input("incoming/ON-7.tdf", Some(etag)), &lenient).await;
    assert_eq!(out.status, FileStatus::ValidatedWithRejects);
    assert!(bucket.get(&validated_of("ON-7", &out)).await.is_some());

    // A clean version again: it has no rejects object; the bad version keeps its own.
    let etag = bucket.put("incoming/ON-7.tdf", "ON-7\t2.00\t4\tA\t2024-05-02\n").await;
    let clean = bucket.validate(&bucket.input("incoming/ON-7.tdf", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!((clean.status, clean.rejected_key.clone()), (FileStatus::Validated, None));
    assert_eq!(bucket.get(&rejected_of("ON-7", &clean)).await, None);
    assert_eq!(bucket.get(&rejected_of("ON-7", &out)).await, Some(rejects));
    assert_eq!(bucket.get("incoming/ON-7.tdf").await.unwrap(), b"ON-7\t2.00\t4\tA\t2024-05-02\n");
    assert_eq!(bucket.get(&validated_of("ON-7", &first)).await, Some(first_validated));
}

#[tokio::test]
async fn a_late_event_for_an_older_version_writes_only_that_version() {
    let bucket = Bucket::new("edba-stale").await;
    let (etag1, v1) = bucket.put_version("incoming/IL-5.tdf", "IL-5\t1.00\t4\tA\t2024-05-01\n").await;
    let (etag2, v2) = bucket.put_version("incoming/IL-5.tdf", "IL-5\t2.00\t4\tA\t2024-05-01\n").await;
    let event = |etag: &str, version: &str| {
        let mut input = bucket.input("incoming/IL-5.tdf", Some(etag.to_owned()));
        input.object.version_id = Some(version.to_owned());
        input
    };
    // S3 delivers the two events in the wrong order.
    let newer = bucket.validate(&event(&etag2, &v2), &ValidateOptions::default()).await;
    let older = bucket.validate(&event(&etag1, &v1), &ValidateOptions::default()).await;
    assert_eq!(newer.validated_key, Some(format!("validated/IL-5/{v2}.parquet")));
    assert_eq!(older.validated_key, Some(format!("validated/IL-5/{v1}.parquet")));
    let newer_rows = parquet_text(&bucket.get(&validated_of("IL-5", &newer)).await.unwrap());
    let older_rows = parquet_text(&bucket.get(&validated_of("IL-5", &older)).await.unwrap());
    assert!(newer_rows.contains("IL-5,2.00,4,A,2024-05-01"), "{newer_rows}");
    assert!(older_rows.contains("IL-5,1.00,4,A,2024-05-01"), "{older_rows}");
}

#[tokio::test]
async fn empty_and_binary_files_are_invalid() {
    let bucket = Bucket::new("edba-unreadable").await;
    let etag = bucket.put("incoming/IL-1.tdf", Vec::new()).await;
    let out = bucket.validate(&bucket.input("incoming/IL-1.tdf", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!(out.status, FileStatus::Invalid);
    assert_eq!(out.reason.as_deref(), Some("file is empty"));
    assert_eq!((out.validated_key, out.rejected_key), (None, None));

    let binary: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let etag = bucket.put("incoming/IL-2.tdf", binary).await;
    let out = bucket.validate(&bucket.input("incoming/IL-2.tdf", Some(etag)), &ValidateOptions::default()).await;
    assert_eq!(out.status, FileStatus::Invalid);
    assert!(out.reason.as_deref().unwrap().contains("binary"), "{:?}", out.reason);
    assert_eq!(out.validated_key, None);
    assert_eq!(
        bucket.keys().await,
        ["incoming/IL-1.tdf".to_owned(), "incoming/IL-2.tdf".to_owned(), rejected_of("IL-2", &out)]
    );
}

#[tokio::test]
async fn a_file_larger_than_a_part_is_written_by_multipart_upload_identically() {
    let bucket = Bucket::new("edba-large").await;
    // Item ids that do not compress (24 pseudo-random hex digits) make over
    // 10 MiB of Parquet: two full 5 MiB parts and a short last one.
    let mut big = String::from("store_id\tamount\ttrans_type\titem_id\ttrans_date\n");
    let mut i = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    while big.len() < 26 * 1024 * 1024 {
        i += 1;
        if i % 100_000 == 0 {
            big.push_str("BAD LINE\n");
        }
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        big.push_str(&format!(
            "QC-9\t{}.{:02}\t{}\t{:016x}{:08x}\t2024-05-{:02}\n",
            i % 1000,
            i % 100,
            4 + i % 3,
            seed,
            seed >> 40,
            1 + i % 28
        ));
    }
    let etag = bucket.put("incoming/QC-9.tdf", big.clone()).await;
    let input = bucket.input("incoming/QC-9.tdf", Some(etag));

    let small_parts = ValidateOptions { part_size: MIN_PART_SIZE, ..ValidateOptions::default() };
    let out = bucket.validate(&input, &small_parts).await;
    assert_eq!(out.status, FileStatus::ValidatedWithRejects);
    assert_eq!(out.counts.rows_rejected, i / 100_000);
    assert_eq!(out.counts.rows_valid, i);
    let multipart_etag = bucket.etag(&validated_of("QC-9", &out)).await;
    let multipart = bucket.get(&validated_of("QC-9", &out)).await.unwrap();
    assert!(multipart.len() > 2 * MIN_PART_SIZE, "{} bytes", multipart.len());
    let parts = multipart.len().div_ceil(MIN_PART_SIZE);
    assert!(multipart_etag.ends_with(&format!("-{parts}")), "{parts} parts, got ETag {multipart_etag}");

    let one_part = ValidateOptions { part_size: 64 * 1024 * 1024, ..ValidateOptions::default() };
    let out = bucket.validate(&input, &one_part).await;
    assert_eq!(out.counts.rows_valid, i);
    let single_etag = bucket.etag(&validated_of("QC-9", &out)).await;
    assert!(!single_etag.contains('-'), "a single PutObject, got ETag {single_etag}");
    let single = bucket.get(&validated_of("QC-9", &out)).await.unwrap();
    assert!(multipart == single, "multipart and single-put outputs differ");
    assert!(multipart == converted("sales", big.as_bytes()).0, "output differs from the local converter");

    assert_eq!(bucket.pending_upload_files(), 0, "completed uploads leave no parts behind");

    // The same parts, but the file (sent again as a new version) turns out
    // INVALID (no rejects tolerated): the upload is aborted and that version
    // has no validated object.
    let strict = ValidateOptions {
        convert: ConvertOptions { max_reject_share: Some(0.0), ..ConvertOptions::default() },
        part_size: MIN_PART_SIZE,
    };
    let etag = bucket.put("incoming/QC-9.tdf", big.clone()).await;
    let out = bucket.validate(&bucket.input("incoming/QC-9.tdf", Some(etag)), &strict).await;
    assert_eq!((out.status, out.validated_key.clone()), (FileStatus::Invalid, None));
    assert_eq!(bucket.get(&validated_of("QC-9", &out)).await, None);
    assert!(bucket.get(&rejected_of("QC-9", &out)).await.is_some());
    assert_eq!(bucket.pending_upload_files(), 0, "the aborted upload leaves no parts behind");
}

#[tokio::test]
async fn s3_trouble_is_transient() {
    let bucket = Bucket::new("edba-trouble").await;
    let etag = bucket.put("incoming/IL-101.tdf", SAMPLE).await;

    let mut missing_bucket = bucket.input("incoming/IL-101.tdf", Some(etag.clone()));
    missing_bucket.bucket = "no-such-bucket".to_owned();
    let err = validate_object(&bucket.s3, &missing_bucket, &ValidateOptions::default()).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient", "{err}");
    assert!(err.to_string().contains("no-such-bucket"), "{err}");

    let input = bucket.input("incoming/IL-101.tdf", Some(etag));
    let Bucket { server, s3, _dir, .. } = bucket;
    server.shutdown().await;
    let err = validate_object(&s3, &input, &ValidateOptions::default()).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient", "{err}");
}

#[tokio::test]
async fn a_deleted_object_is_invalid_and_writes_nothing() {
    let bucket = Bucket::new("edba-gone").await;
    let out = bucket.validate(&bucket.input("incoming/IL-5.tdf", None), &ValidateOptions::default()).await;
    assert_eq!(out.status, FileStatus::Invalid);
    assert!(out.reason.as_deref().unwrap().contains("no longer exists"), "{:?}", out.reason);
    assert_eq!(out.dataset.as_deref(), Some("sales"));
    assert_eq!(bucket.keys().await, Vec::<String>::new());
}
