//! The project commands as a user runs them: `edba check`, `edba validate
//! --project` and `edba project push` (against the embedded S3 server,
//! reached through the real AWS SDK configured from the environment).

use std::path::Path;
use std::process::{Command, Output};

use edba_local::s3server::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};
use edba_local::EmbeddedS3;

use crate::pipeline_local::repo;

fn edba(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edba")).current_dir(repo()).args(args).output().expect("edba runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A copy of the example project whose SQL reads a column no dataset has.
fn broken_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples/orders");
    std::fs::copy(example.join("edba.toml"), dir.path().join("edba.toml")).unwrap();
    let sql = std::fs::read_to_string(example.join("daily_sales.sql")).unwrap().replace("o.price", "o.amount");
    std::fs::write(dir.path().join("daily_sales.sql"), sql).unwrap();
    dir
}

#[test]
fn check_passes_the_example_and_names_file_line_and_job_of_a_problem() {
    let out = edba(&["check", "examples/orders"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("2 datasets, 1 tables, 1 jobs: no problems"), "{stdout}");
    assert!(stdout.contains("job EU-daily -> table salessummary: store_id Utf8, trans_date Date32"), "{stdout}");

    let broken = broken_example();
    let out = edba(&["check", broken.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("1 problem:"), "{stderr}");
    assert!(stderr.contains("daily_sales.sql:8: job EU-daily: table salessummary:"), "{stderr}");
    assert!(stderr.contains("amount"), "{stderr}");

    let out = edba(&["check", broken.path().to_str().unwrap(), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["problems"][0]["line"], 8);
    assert_eq!(doc["problems"][0]["job"], "EU-daily");

    let empty = tempfile::tempdir().unwrap();
    let out = edba(&["check", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("has no edba.toml"), "{}", text(&out).1);
}

#[test]
fn validate_finds_a_files_dataset_by_its_path_in_the_project() {
    let out = edba(&[
        "validate",
        "--project",
        "examples/orders",
        "--json",
        "examples/orders/orders/EU-2026-11-30.csv",
        "examples/orders/coupons/partner.jsonl",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let docs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(docs[0]["dataset"], "orders");
    assert_eq!(docs[0]["stem"], "orders/EU-2026-11-30");
    assert_eq!(docs[0]["report"]["counts"]["rows_valid"], 4);
    assert_eq!(docs[1]["dataset"], "coupons");
    // Without the project the file belongs to no dataset of the sample.
    let out = edba(&["validate", "examples/orders/orders/EU-2026-11-30.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).0.contains("unknown dataset"), "{}", text(&out).0);
}

fn push(endpoint: &str, dir: &Path, bucket: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edba"))
        .current_dir(repo())
        .args(["project", "push"])
        .arg(dir)
        .args(["--bucket", bucket])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("edba runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_push_uploads_the_checked_project_and_refuses_a_broken_one() {
    let root = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(root.path()).unwrap();
    s3.create_bucket("edba-data").await.unwrap();
    let client = s3.client().await;
    let endpoint = s3.endpoint_url();

    let broken = broken_example();
    let out = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        let dir = broken.path().to_path_buf();
        move || push(&endpoint, &dir, "edba-data")
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("nothing was pushed"), "{stderr}");
    let listed = client.list_objects_v2().bucket("edba-data").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0), "a broken project leaves the bucket alone");

    let out = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || push(&endpoint, &repo().join("examples/orders"), "edba-data")
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("s3://edba-data/code/daily_sales.sql"), "{stdout}");
    let pushed = client.get_object().bucket("edba-data").key("code/edba.toml").send().await.unwrap();
    let bytes = pushed.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), std::fs::read(repo().join("examples/orders/edba.toml")).unwrap().as_slice());
    client.head_object().bucket("edba-data").key("code/daily_sales.sql").send().await.expect("the SQL is pushed");
    s3.shutdown().await;
}
