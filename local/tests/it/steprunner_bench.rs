//! How long the local SQL job takes on a 1,000,000-row sales file.
//!
//! A measurement, not a check of speed: run it with
//! `cargo test -p edba-local --profile fast-release --test it steprunner_bench -- --ignored --nocapture`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use edba_local::steprunner::{read_output_table, StepRunner};
use edba_local::EmbeddedS3;
use edba_tasks::load::{SummaryRows, SummaryTable};
use serde_json::json;

const BUCKET: &str = "edba-bench";
const ROWS: usize = 1_000_000;
const STORES: usize = 50;
const ITEMS: usize = 2_000;
const DAYS: usize = 28;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn sql_job_on_a_million_sales_rows() {
    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedS3::start(dir.path()).unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let s3 = server.client().await;

    // Every store sells on every day, so salessummary has STORES * DAYS rows.
    let mut sales = String::with_capacity(ROWS * 36);
    sales.push_str("store_id,amount,trans_type,item_id,trans_date\n");
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for n in 0..ROWS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let store = n % STORES;
        let day = (n / STORES) % DAYS + 1;
        let item = (state % ITEMS as u64) as usize;
        let trans_type = [4, 4, 4, 5, 6, 7][(state >> 20) as usize % 6];
        let cents = (state >> 32) % 100_000;
        writeln!(sales, "S{store:03},{}.{:02},{trans_type},I{item:05},2024-02-{day:02}", cents / 100, cents % 100)
            .unwrap();
    }
    let mut items = String::from("item_id,item_name,effective_date\n");
    for item in 0..ITEMS {
        writeln!(items, "I{item:05},Item {item},2024-01-01").unwrap();
    }
    let csv_bytes = sales.len();
    let put = |key: &str, body: Vec<u8>| s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(body)).send();
    put("validated/sales/all.csv", sales.into_bytes()).await.unwrap();
    put("validated/items/items.csv", items.into_bytes()).await.unwrap();
    let manifest = json!({
        "bucket": BUCKET, "job_id": "bench", "run_id": "run-1", "created_at": "2024-03-01T00:00:00Z",
        "inputs": [
            {"dataset": "sales", "file_url": "s3://b/x", "key": "x", "validated_key": "validated/sales/all.csv", "version_id": null, "etag": null},
            {"dataset": "items", "file_url": "s3://b/y", "key": "y", "validated_key": "validated/items/items.csv", "version_id": null, "etag": null},
        ],
    });
    put("manifests/bench/run-1.json", manifest.to_string().into_bytes()).await.unwrap();

    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let runner = StepRunner::new(s3.clone(), BUCKET, repo_root);
    let step = json!({
        "ClusterId": "j-LOCAL",
        "Step": {"Name": "bench", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
            "spark-submit", "s3://b/code/scripts/emr/run_sql_job.py",
            "--manifest", format!("s3://{BUCKET}/manifests/bench/run-1.json"),
            "--sql", format!("s3://{BUCKET}/code/sql/jobs/sales_summary.sql"),
            "--output", format!("s3://{BUCKET}/output/bench/run-1/"),
        ]}},
    });
    let started = Instant::now();
    runner.run_step(&step).await.unwrap();
    let elapsed = started.elapsed();

    let rows =
        read_output_table(&s3, BUCKET, "output/bench/run-1/", &SummaryTable::SalesSummary.schema()).await.unwrap();
    let SummaryRows::SalesSummary(rows) = SummaryRows::from_table_rows(&rows).unwrap() else {
        panic!("salessummary rows")
    };
    assert_eq!(rows.len(), STORES * DAYS);
    println!(
        "steprunner bench: {ROWS} sales rows ({:.1} MiB CSV) -> {} salessummary rows in {:.2} s",
        csv_bytes as f64 / (1024.0 * 1024.0),
        rows.len(),
        elapsed.as_secs_f64()
    );
}
