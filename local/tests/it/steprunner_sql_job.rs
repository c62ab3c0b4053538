//! The local step runner: the SQL job on DataFusion over exactly a run's
//! manifest, its failures, and loading its Parquet into a local warehouse.

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use edba_local::steprunner::{StepFailure, StepRunner, NO_SPARK_SUBMIT, TASK_FAILED};
use edba_local::EmbeddedS3;
use edba_payloads::LoadInput;
use edba_tasks::load::LocalWarehouse;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

const BUCKET: &str = "edba-local";
const OUTPUT: &str = "output/il-sales/run-1/";

struct Local {
    _dir: tempfile::TempDir,
    _server: EmbeddedS3,
    endpoint: String,
    s3: aws_sdk_s3::Client,
}

async fn local_s3() -> Local {
    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedS3::start(&dir.path().join("s3")).unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let s3 = server.client().await;
    Local { endpoint: server.endpoint_url(), _dir: dir, _server: server, s3 }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: impl Into<Vec<u8>>) {
    s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(body.into())).send().await.unwrap();
}

/// The local runtime uploads the repository's job SQL under `code/`.
async fn upload_job_sql(s3: &aws_sdk_s3::Client) {
    let sql = std::fs::read(repo_root().join("sql/jobs/sales_summary.sql")).unwrap();
    put(s3, "code/sql/jobs/sales_summary.sql", sql).await;
}

fn manifest(inputs: &[(&str, &str)]) -> String {
    let inputs: Vec<Value> = inputs
        .iter()
        .map(|(dataset, validated_key)| {
            let key = validated_key.replace("validated/", "incoming/").replace(".csv", ".tdf");
            json!({
                "dataset": dataset,
                "file_url": format!("s3://{BUCKET}/{key}"),
                "key": key,
                "validated_key": validated_key,
                "version_id": null,
                "etag": "\"0123\"",
            })
        })
        .collect();
    json!({
        "bucket": BUCKET,
        "job_id": "il-sales",
        "run_id": "run-1",
        "created_at": "2024-03-03T06:00:00Z",
        "inputs": inputs,
    })
    .to_string()
}

fn sql_job_step(manifest_key: &str) -> Value {
    json!({
        "ClusterId": "j-LOCAL",
        "Step": {
            "Name": "il-sales run-1",
            "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {
                "Jar": "command-runner.jar",
                "Args": [
                    "spark-submit", "--deploy-mode", "cluster",
                    format!("s3://{BUCKET}/code/scripts/emr/run_sql_job.py"),
                    "--manifest", format!("s3://{BUCKET}/{manifest_key}"),
                    "--sql", format!("s3://{BUCKET}/code/sql/jobs/sales_summary.sql"),
                    "--output", format!("s3://{BUCKET}/{OUTPUT}"),
                ],
            },
        },
    })
}

const SALES_HEADER: &str = "store_id,amount,trans_type,item_id,trans_date\n";

/// Store S1: two days. I1 has sales, tax and discount; I2 a type 7 row that
/// must be ignored; I4 is missing from the item master; on 03-02 I3 has only
/// a type 7 row, so it appears nowhere.
const SALES_S1: &str = "S1,10.00,4,I1,2024-03-01
S1,2.50,4,I1,2024-03-01
S1,0.88,5,I1,2024-03-01
S1,1.00,6,I1,2024-03-01
S1,5.25,4,I2,2024-03-01
S1,0.42,5,I2,2024-03-01
S1,99.99,7,I2,2024-03-01
S1,3.10,4,I4,2024-03-01
S1,7.00,4,I1,2024-03-02
S1,-2.00,4,I1,2024-03-02
S1,50.00,7,I3,2024-03-02
";

/// Store S2: I5 has two names with one effective date (the smaller wins),
/// and 0.10 + 0.20 must be exactly 0.30.
const SALES_S2: &str = "S2,20.00,4,I3,2024-03-01
S2,1.60,5,I3,2024-03-01
S2,0.01,6,I3,2024-03-01
S2,4.00,4,I2,2024-03-02
S2,0.32,5,I2,2024-03-02
S2,0.10,4,I5,2024-03-02
S2,0.20,4,I5,2024-03-02
";

/// I2 is listed twice: the later effective date's name wins whatever the order.
const ITEMS: &str = "item_id,item_name,effective_date
I1,Apple,2024-01-01
I2,Banana,2024-03-01
I2,Banana (old),2024-01-01
I3,\"Cherry, red\",2024-01-01
I5,Zeta,2024-02-01
I5,Alpha,2024-02-01
";

/// A validated file the manifest does not list, next to those it does: read,
/// it would change S1's totals and add a store.
const SALES_NOT_IN_MANIFEST: &str = "S1,1000.00,4,I1,2024-03-01
S3,1.00,4,I1,2024-03-01
";

async fn write_inputs(s3: &aws_sdk_s3::Client) {
    put(s3, "validated/sales/S1.csv", format!("{SALES_HEADER}{SALES_S1}")).await;
    put(s3, "validated/sales/S2.csv", format!("{SALES_HEADER}{SALES_S2}")).await;
    put(s3, "validated/sales/S1-late.csv", format!("{SALES_HEADER}{SALES_NOT_IN_MANIFEST}")).await;
    put(s3, "validated/items/items.csv", ITEMS).await;
    let manifest = manifest(&[
        ("sales", "validated/sales/S1.csv"),
        ("sales", "validated/sales/S2.csv"),
        ("items", "validated/items/items.csv"),
    ]);
    put(s3, "manifests/il-sales/run-1.json", manifest).await;
}

fn saleitemsummary_expected() -> Vec<Vec<&'static str>> {
    vec![
        vec!["S1", "I1", "2024-03-01", "Apple", "12.50", "0.88", "1.00"],
        vec!["S1", "I1", "2024-03-02", "Apple", "5.00", "0.00", "0.00"],
        vec!["S1", "I2", "2024-03-01", "Banana", "5.25", "0.42", "0.00"],
        vec!["S1", "I4", "2024-03-01", "NULL", "3.10", "0.00", "0.00"],
        vec!["S2", "I2", "2024-03-02", "Banana", "4.00", "0.32", "0.00"],
        vec!["S2", "I3", "2024-03-01", "Cherry, red", "20.00", "1.60", "0.01"],
        vec!["S2", "I5", "2024-03-02", "Alpha", "0.30", "0.00", "0.00"],
    ]
}

fn salessummary_expected() -> Vec<Vec<&'static str>> {
    vec![
        // 12.50 + 5.25 + 3.10; tax 0.88 + 0.42.
        vec!["S1", "2024-03-01", "3", "20.85", "1.30", "1.00"],
        // I3's type 7 row does not count as an item.
        vec!["S1", "2024-03-02", "1", "5.00", "0.00", "0.00"],
        vec!["S2", "2024-03-01", "1", "20.00", "1.60", "0.01"],
        vec!["S2", "2024-03-02", "2", "4.30", "0.32", "0.00"],
    ]
}

/// The one Parquet object of a table, read back as display strings, sorted.
async fn output_table(s3: &aws_sdk_s3::Client, table: &str) -> (Vec<(String, DataType)>, Vec<Vec<String>>) {
    let listed = s3.list_objects_v2().bucket(BUCKET).prefix(format!("{OUTPUT}{table}/")).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [format!("{OUTPUT}{table}/part-00000.snappy.parquet")]);
    let object = s3.get_object().bucket(BUCKET).key(keys[0]).send().await.unwrap();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap().map(Result::unwrap).collect();
    let schema = batches[0].schema();
    let columns = schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
    let mut rows = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| if c.is_null(row) { "NULL".to_owned() } else { array_value_to_string(c, row).unwrap() })
                    .collect(),
            );
        }
    }
    rows.sort();
    (columns, rows)
}

fn names_and_types(columns: &[(&str, DataType)]) -> Vec<(String, DataType)> {
    columns.iter().map(|(n, t)| ((*n).to_owned(), t.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_job_writes_both_tables_computed_over_the_manifest() {
    let local = local_s3().await;
    write_inputs(&local.s3).await;
    upload_job_sql(&local.s3).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());

    let result = runner.run_step(&sql_job_step("manifests/il-sales/run-1.json")).await.unwrap();

    let step_id = result["StepId"].as_str().unwrap();
    assert!(step_id.starts_with("s-LOCAL"), "{result}");
    assert_eq!(result["Step"]["Id"], step_id);
    assert_eq!(result["Step"]["Name"], "il-sales run-1");
    assert_eq!(result["Step"]["Status"], json!({"State": "COMPLETED"}));

    let decimal = DataType::Decimal128(14, 2);
    let (columns, rows) = output_table(&local.s3, "saleitemsummary").await;
    assert_eq!(
        columns,
        names_and_types(&[
            ("store_id", DataType::Utf8),
            ("item_id", DataType::Utf8),
            ("trans_date", DataType::Date32),
            ("item_name", DataType::Utf8),
            ("sale_amount", decimal.clone()),
            ("tax_amount", decimal.clone()),
            ("discount_amount", decimal.clone()),
        ])
    );
    assert_eq!(rows, saleitemsummary_expected());

    let (columns, rows) = output_table(&local.s3, "salessummary").await;
    assert_eq!(
        columns,
        names_and_types(&[
            ("store_id", DataType::Utf8),
            ("trans_date", DataType::Date32),
            ("item_count", DataType::Int64),
            ("sale_amount", decimal.clone()),
            ("tax_amount", decimal.clone()),
            ("discount_amount", decimal),
        ])
    );
    assert_eq!(rows, salessummary_expected());
}

/// A validated CSV of a sample dataset as the typed Parquet validate writes.
fn typed(dataset: &str, csv: String) -> Vec<u8> {
    let dataset = edba_tasks::dataset::sample_dataset(dataset);
    edba_tasks::dataset::parquet::csv_to_parquet(&dataset, csv.as_bytes()).unwrap()
}

/// Validated objects are typed Parquet; a run claimed before that lists CSV
/// ones. A manifest mixing both (a rerun across the upgrade) reads both, and
/// the job's result is the same as over the CSVs alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_parquet_inputs_and_csv_inputs_of_older_runs_read_as_the_same_rows() {
    let local = local_s3().await;
    put(&local.s3, "validated/sales/S1.parquet", typed("sales", format!("{SALES_HEADER}{SALES_S1}"))).await;
    put(&local.s3, "validated/sales/S2.csv", format!("{SALES_HEADER}{SALES_S2}")).await;
    put(&local.s3, "validated/items/items.parquet", typed("items", ITEMS.to_owned())).await;
    let mixed = manifest(&[
        ("sales", "validated/sales/S1.parquet"),
        ("sales", "validated/sales/S2.csv"),
        ("items", "validated/items/items.parquet"),
    ]);
    put(&local.s3, "manifests/il-sales/run-1.json", mixed).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());

    runner.run_step(&sql_job_step("manifests/il-sales/run-1.json")).await.unwrap();

    assert_eq!(output_table(&local.s3, "saleitemsummary").await.1, saleitemsummary_expected());
    assert_eq!(output_table(&local.s3, "salessummary").await.1, salessummary_expected());
}

/// Typed Parquet only, one file per sales line (more files than the runner
/// downloads at once): every listed file is read, and the output's strings
/// are `Utf8` (the engine reads them as views; loaders and Spark expect
/// plain strings).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_parquet_inputs_give_the_same_tables_with_plain_string_columns() {
    let local = local_s3().await;
    let mut inputs = Vec::new();
    for (n, line) in SALES_S1.lines().chain(SALES_S2.lines()).enumerate() {
        let key = format!("validated/sales/line-{n:02}.parquet");
        put(&local.s3, &key, typed("sales", format!("{SALES_HEADER}{line}\n"))).await;
        inputs.push(("sales", key));
    }
    assert!(inputs.len() > 8, "more inputs than are downloaded at once");
    put(&local.s3, "validated/items/items.parquet", typed("items", ITEMS.to_owned())).await;
    inputs.push(("items", "validated/items/items.parquet".to_owned()));
    let listed: Vec<(&str, &str)> = inputs.iter().map(|(d, k)| (*d, k.as_str())).collect();
    put(&local.s3, "manifests/il-sales/run-1.json", manifest(&listed)).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());

    runner.run_step(&sql_job_step("manifests/il-sales/run-1.json")).await.unwrap();

    let (columns, rows) = output_table(&local.s3, "saleitemsummary").await;
    let strings: Vec<&str> = columns.iter().filter(|(_, t)| *t == DataType::Utf8).map(|(n, _)| n.as_str()).collect();
    assert_eq!(strings, ["store_id", "item_id", "item_name"]);
    assert_eq!(rows, saleitemsummary_expected());
    let (columns, rows) = output_table(&local.s3, "salessummary").await;
    assert_eq!(columns[0], ("store_id".to_owned(), DataType::Utf8));
    assert_eq!(rows, salessummary_expected());

    // Two listed files are gone: the step names the first the manifest lists,
    // whichever download ends first.
    let mut gone = listed.clone();
    gone[6] = ("sales", "validated/sales/gone-6.parquet");
    gone[2] = ("sales", "validated/sales/gone-2.parquet");
    put(&local.s3, "manifests/il-sales/run-2.json", manifest(&gone)).await;
    for _ in 0..3 {
        let failure = runner.run_step(&sql_job_step("manifests/il-sales/run-2.json")).await.unwrap_err();
        let message = failure_message(&failure);
        assert!(
            message.starts_with(&format!("Edba.InputMissing: s3://{BUCKET}/validated/sales/gone-2.parquet ")),
            "{message}"
        );
    }
}

/// A section that fails fails the step, naming its table; the tables before
/// it were written, as when the sections ran one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_later_section_fails_the_step_after_the_earlier_tables_are_written() {
    let local = local_s3().await;
    write_inputs(&local.s3).await;
    let sql = "-- table: salessummary\nSELECT store_id, COUNT(*) AS n FROM sales GROUP BY store_id;\n\
               -- table: broken\nSELECT no_such_column FROM salessummary;\n";
    put(&local.s3, "code/sql/jobs/broken.sql", sql).await;
    let mut step = sql_job_step("manifests/il-sales/run-1.json");
    step["Step"]["HadoopJarStep"]["Args"][7] = json!(format!("s3://{BUCKET}/code/sql/jobs/broken.sql"));
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());

    let failure = runner.run_step(&step).await.unwrap_err();

    let message = failure_message(&failure);
    assert!(message.starts_with("table broken: "), "{message}");
    assert!(message.contains("no_such_column"), "{message}");
    let (_, rows) = output_table(&local.s3, "salessummary").await;
    assert_eq!(rows, [["S1", "11"], ["S2", "7"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_manifest_files_are_read_and_a_rerun_replaces_the_output() {
    let local = local_s3().await;
    write_inputs(&local.s3).await;
    // A stale file from an earlier attempt of the step.
    put(&local.s3, &format!("{OUTPUT}salessummary/part-00007-old.snappy.parquet"), "stale").await;
    // The SQL is not uploaded: the runner falls back to the repository copy.
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());

    let only_s2 = manifest(&[("sales", "validated/sales/S2.csv")]);
    put(&local.s3, "manifests/il-sales/run-2.json", only_s2).await;
    runner.run_step(&sql_job_step("manifests/il-sales/run-2.json")).await.unwrap();

    // No items file in the manifest: every item name is NULL.
    let (_, rows) = output_table(&local.s3, "saleitemsummary").await;
    assert_eq!(
        rows,
        vec![
            vec!["S2", "I2", "2024-03-02", "NULL", "4.00", "0.32", "0.00"],
            vec!["S2", "I3", "2024-03-01", "NULL", "20.00", "1.60", "0.01"],
            vec!["S2", "I5", "2024-03-02", "NULL", "0.30", "0.00", "0.00"],
        ]
    );
    let (_, rows) = output_table(&local.s3, "salessummary").await;
    assert_eq!(rows, salessummary_expected()[2..].to_vec());

    // The full manifest, same output prefix: the output is replaced.
    runner.run_step(&sql_job_step("manifests/il-sales/run-1.json")).await.unwrap();
    assert_eq!(output_table(&local.s3, "salessummary").await.1, salessummary_expected());
}

fn failure_message(failure: &StepFailure) -> String {
    assert_eq!(failure.error, TASK_FAILED);
    let cause: Value = serde_json::from_str(&failure.cause).unwrap();
    assert!(cause["Id"].as_str().unwrap().starts_with("s-LOCAL"), "{cause}");
    assert_eq!(cause["Status"]["State"], "FAILED", "{cause}");
    failure.message().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_manifest_fails_the_step_with_a_clear_cause() {
    let local = local_s3().await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());
    let failure = runner.run_step(&sql_job_step("manifests/il-sales/missing.json")).await.unwrap_err();
    assert_eq!(
        failure_message(&failure),
        format!("cannot read the manifest at s3://{BUCKET}/manifests/il-sales/missing.json: no such object")
    );
    let cause: Value = serde_json::from_str(&failure.cause).unwrap();
    assert_eq!(cause["Name"], "il-sales run-1");
    assert_eq!(cause["Config"]["Args"][3], format!("s3://{BUCKET}/code/scripts/emr/run_sql_job.py"));

    // A manifest listing a validated file that is not there names the file.
    put(&local.s3, "manifests/il-sales/run-3.json", manifest(&[("sales", "validated/sales/gone.csv")])).await;
    let failure = runner.run_step(&sql_job_step("manifests/il-sales/run-3.json")).await.unwrap_err();
    assert_eq!(
        failure_message(&failure),
        format!(
            "Edba.InputMissing: s3://{BUCKET}/validated/sales/gone.csv does not exist; the run lists it as the \
             validated copy of s3://{BUCKET}/incoming/sales/gone.tdf version (unversioned)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validated_object_other_than_the_one_validate_wrote_fails_the_step_by_name() {
    let local = local_s3().await;
    upload_job_sql(&local.s3).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());
    put(&local.s3, "validated/items/items.csv", ITEMS).await;
    put_derived(&local.s3, "validated/sales/S1.csv", format!("{SALES_HEADER}{SALES_S1}"), "0123").await;
    let head = local.s3.head_object().bucket(BUCKET).key("validated/sales/S1.csv").send().await.unwrap();
    let written = head.e_tag().unwrap().trim_matches('"').to_owned();
    // The manifest pins the ETag validate's write returned.
    let pinned = |etag: &str| {
        let mut doc: Value = serde_json::from_str(&manifest(&[
            ("sales", "validated/sales/S1.csv"),
            ("items", "validated/items/items.csv"),
        ]))
        .unwrap();
        doc["inputs"][0]["validated_etag"] = json!(etag);
        doc.to_string()
    };
    put(&local.s3, "manifests/il-sales/run-6.json", pinned(&written)).await;
    runner.run_step(&sql_job_step("manifests/il-sales/run-6.json")).await.expect("the pinned object is read");

    // Same lineage metadata, other bytes: not the object the run claimed.
    put_derived(&local.s3, "validated/sales/S1.csv", format!("{SALES_HEADER}{SALES_NOT_IN_MANIFEST}"), "0123").await;
    let failure = runner.run_step(&sql_job_step("manifests/il-sales/run-6.json")).await.unwrap_err();
    let message = failure_message(&failure);
    assert!(
        message.starts_with(&format!("Edba.LineageMismatch: s3://{BUCKET}/validated/sales/S1.csv has ETag ")),
        "{message}"
    );
    assert!(message.ends_with(&format!("with ETag {written}")), "{message}");
}

/// Puts a validated object as validate writes it: with the raw version it
/// came from in its `edba-source-*` metadata.
async fn put_derived(s3: &aws_sdk_s3::Client, key: &str, body: impl Into<Vec<u8>>, source_etag: &str) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .metadata("edba-source-etag", source_etag)
        .body(ByteStream::from(body.into()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validated_object_of_another_raw_version_fails_the_step_by_name() {
    let local = local_s3().await;
    upload_job_sql(&local.s3).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());
    // The manifest claims raw ETag "0123" for every input (see `manifest`).
    put(&local.s3, "validated/items/items.csv", ITEMS).await;
    put_derived(&local.s3, "validated/sales/S1.csv", format!("{SALES_HEADER}{SALES_S1}"), "0123").await;
    let inputs = [("sales", "validated/sales/S1.csv"), ("items", "validated/items/items.csv")];
    put(&local.s3, "manifests/il-sales/run-5.json", manifest(&inputs)).await;
    runner.run_step(&sql_job_step("manifests/il-sales/run-5.json")).await.expect("the claimed version is read");

    // The same key now holds rows derived from another raw version.
    put_derived(&local.s3, "validated/sales/S1.csv", format!("{SALES_HEADER}{SALES_NOT_IN_MANIFEST}"), "4567").await;
    let failure = runner.run_step(&sql_job_step("manifests/il-sales/run-5.json")).await.unwrap_err();
    assert_eq!(
        failure_message(&failure),
        format!(
            "Edba.LineageMismatch: s3://{BUCKET}/validated/sales/S1.csv was derived from ETag 4567 of \
             s3://{BUCKET}/incoming/sales/S1.tdf, but the run claimed ETag 0123"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_that_does_not_parse_fails_the_step() {
    let local = local_s3().await;
    put(&local.s3, "validated/sales/bad.csv", format!("{SALES_HEADER}S1,ten,4,I1,2024-03-01\n")).await;
    put(&local.s3, "manifests/il-sales/run-4.json", manifest(&[("sales", "validated/sales/bad.csv")])).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());
    let failure = runner.run_step(&sql_job_step("manifests/il-sales/run-4.json")).await.unwrap_err();
    let message = failure_message(&failure);
    assert!(message.starts_with("table saleitemsummary: "), "{message}");
    assert!(message.contains("ten"), "{message}");
}

fn spark_step() -> Value {
    json!({
        "ClusterId": "j-LOCAL",
        "Step": {
            "Name": "custom",
            "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {
                "Jar": "command-runner.jar",
                "Args": ["spark-submit", "--deploy-mode", "cluster", format!("s3://{BUCKET}/code/other.py"), "--x", "1"],
            },
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_step_without_spark_submit_fails_and_says_why() {
    let local = local_s3().await;
    let empty = tempfile::tempdir().unwrap();
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root()).with_search_path(empty.path());
    let failure = runner.run_step(&spark_step()).await.unwrap_err();
    assert_eq!(failure_message(&failure), NO_SPARK_SUBMIT);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_step_runs_on_spark_submit_pointed_at_the_local_s3() {
    use std::os::unix::fs::PermissionsExt;

    let local = local_s3().await;
    let bin = tempfile::tempdir().unwrap();
    let args_file = bin.path().join("args");
    let script = bin.path().join("spark-submit");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nif grep -q -- --fail '{}'; then echo 'boom: no such table' >&2; exit 3; fi\n",
            args_file.display(),
            args_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root())
        .with_search_path(bin.path())
        .with_s3_endpoint(local.endpoint.clone());

    let result = runner.run_step(&spark_step()).await.unwrap();
    assert_eq!(result["Step"]["Status"]["State"], "COMPLETED");
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let conf = |setting: &str| args.windows(2).any(|w| w[0] == "--conf" && w[1] == setting);
    assert!(conf(&format!("spark.hadoop.fs.s3a.endpoint={}", local.endpoint)), "{args:?}");
    assert!(conf("spark.hadoop.fs.s3a.path.style.access=true"), "{args:?}");
    assert!(conf(&format!("spark.hadoop.fs.s3a.access.key={}", edba_local::s3server::ACCESS_KEY_ID)), "{args:?}");
    assert_eq!(args[..2], ["--master", "local[*]"]);
    assert!(!args.contains(&"--deploy-mode"), "{args:?}");
    assert_eq!(args[args.len() - 3..], [format!("s3a://{BUCKET}/code/other.py").as_str(), "--x", "1"]);

    let mut failing = spark_step();
    failing["Step"]["HadoopJarStep"]["Args"].as_array_mut().unwrap().push(json!("--fail"));
    let failure = runner.run_step(&failing).await.unwrap_err();
    let message = failure_message(&failure);
    assert!(message.starts_with("spark-submit exited with exit status: 3"), "{message}");
    assert!(message.ends_with("boom: no such table"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_the_output_twice_into_sqlite_leaves_one_copy_of_each_row() {
    let local = local_s3().await;
    write_inputs(&local.s3).await;
    let runner = StepRunner::new(local.s3.clone(), BUCKET, repo_root());
    runner.run_step(&sql_job_step("manifests/il-sales/run-1.json")).await.unwrap();

    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("warehouse.db").display());
    let warehouse = LocalWarehouse::connect(&url).await.unwrap();
    let input = LoadInput {
        run_id: "run-1".into(),
        job_id: "il-sales".into(),
        output_prefix: OUTPUT.into(),
        tables: vec!["saleitemsummary".into(), "salessummary".into()],
    };
    let first = edba_local::steprunner::load_run_output(&local.s3, BUCKET, &input, &warehouse).await.unwrap();
    assert_eq!(first.run_id, "run-1");
    let merged: Vec<(String, u64)> = first.tables.iter().map(|t| (t.table.clone(), t.rows_merged)).collect();
    assert_eq!(merged, [("saleitemsummary".to_owned(), 7), ("salessummary".to_owned(), 4)]);
    let after_first = warehouse_rows(&url).await;
    edba_local::steprunner::load_run_output(&local.s3, BUCKET, &input, &warehouse).await.unwrap();
    let after_second = warehouse_rows(&url).await;

    assert_eq!(after_second, after_first);
    let expected: Vec<Vec<String>> = saleitemsummary_expected()
        .into_iter()
        .map(|row| row.into_iter().map(str::to_owned).collect())
        .chain(salessummary_expected().into_iter().map(|row| {
            let mut row: Vec<String> = row.into_iter().map(str::to_owned).collect();
            row.insert(0, "sales".into());
            row
        }))
        .collect();
    assert_eq!(after_second, expected);
}

/// Both warehouse tables as text, amounts as exact cents printed with 2 digits.
async fn warehouse_rows(url: &str) -> Vec<Vec<String>> {
    use sqlx::Row;
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let money = |v: f64| {
        let cents = (v * 100.0).round() as i64;
        format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
    };
    let mut rows = Vec::new();
    let items = sqlx::query(
        "SELECT store_id, item_id, trans_date, item_name, sale_amount, tax_amount, discount_amount \
         FROM saleitemsummary ORDER BY store_id, item_id, trans_date",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for r in items {
        rows.push(vec![
            r.get::<String, _>(0),
            r.get(1),
            r.get(2),
            r.get::<Option<String>, _>(3).unwrap_or_else(|| "NULL".into()),
            money(r.get(4)),
            money(r.get(5)),
            money(r.get(6)),
        ]);
    }
    let sales = sqlx::query(
        "SELECT store_id, trans_date, item_count, sale_amount, tax_amount, discount_amount \
         FROM salessummary ORDER BY store_id, trans_date",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for r in sales {
        rows.push(vec![
            "sales".into(),
            r.get::<String, _>(0),
            r.get(1),
            r.get::<i64, _>(2).to_string(),
            money(r.get(3)),
            money(r.get(4)),
            money(r.get(5)),
        ]);
    }
    pool.close().await;
    rows
}
