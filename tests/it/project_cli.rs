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
    let sql = std::fs::read_to_string(example.join("daily_revenue.sql")).unwrap().replace("o.price", "o.amount");
    std::fs::write(dir.path().join("daily_revenue.sql"), sql).unwrap();
    dir
}

#[test]
fn check_passes_the_example_and_names_file_line_and_job_of_a_problem() {
    let out = edba(&["check", "examples/orders"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("2 datasets, 1 tables, 1 jobs: no problems"), "{stdout}");
    assert!(stdout.contains("job EU-daily -> table daily_revenue: region Utf8, order_day Date32"), "{stdout}");
    assert!(
        stdout.contains(
            "warehouse table daily_revenue, key (region, order_day): region STRING NOT NULL, order_day DATE NOT NULL"
        ),
        "{stdout}"
    );
    let out = edba(&["check", "examples/orders", "--tables"]);
    let planned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(planned["tables"][0]["key"], serde_json::json!(["region", "order_day"]));

    let broken = broken_example();
    let out = edba(&["check", broken.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("1 problem:"), "{stderr}");
    assert!(stderr.contains("daily_revenue.sql:8: job EU-daily: table daily_revenue:"), "{stderr}");
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
    assert!(stdout.contains("s3://edba-data/code/daily_revenue.sql"), "{stdout}");
    let pushed = client.get_object().bucket("edba-data").key("code/edba.toml").send().await.unwrap();
    let bytes = pushed.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), std::fs::read(repo().join("examples/orders/edba.toml")).unwrap().as_slice());
    client.head_object().bucket("edba-data").key("code/daily_revenue.sql").send().await.expect("the SQL is pushed");
    // The planned tables, for the load, pushed before edba.toml.
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |key: &str| lines.iter().position(|l| l.contains(key)).unwrap_or_else(|| panic!("{key}: {stdout}"));
    assert!(at("code/daily_revenue.sql") < at("code/edba.tables.json"));
    assert!(at("code/edba.tables.json") < at("code/edba.toml"));
    let plan = client.get_object().bucket("edba-data").key("code/edba.tables.json").send().await.unwrap();
    let plan = edba_tasks::load::PlannedTables::parse(
        std::str::from_utf8(&plan.body.collect().await.unwrap().into_bytes()).unwrap(),
    )
    .expect("a valid plan");
    assert_eq!(plan.tables[0].name, "daily_revenue");
    s3.shutdown().await;
}

#[test]
fn init_writes_a_project_that_checks_and_runs_end_to_end() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("energy");
    let home = root.path().join("home");
    let (dir_s, home_s) = (dir.to_str().unwrap(), home.to_str().unwrap());

    let out = edba(&["init", dir_s]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for file in ["edba.toml", "daily_energy.sql", "readings/north-2026-12-01.csv", "readings/north-2026-12-02.csv"] {
        assert!(dir.join(file).is_file(), "{file} is written");
    }
    assert!(stderr.contains(&format!("next: edba check {dir_s}")), "{stderr}");
    // Nothing of a user's is overwritten.
    let again = edba(&["init", dir_s]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).1.contains("is not empty"), "{}", text(&again).1);

    let out = edba(&["check", dir_s]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("warehouse table daily_energy, key (site, day)"), "{stdout}");

    let out = edba(&["run", dir_s, "--home", home_s]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "edba run on the new project:\n{stdout}{stderr}");

    let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = format!("sqlite://{}", home.join("warehouse.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows: Vec<(String, String, i64, String)> =
            sqlx::query_as("SELECT site, day, meters, printf('%.3f', kwh) FROM daily_energy ORDER BY day")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows
    });
    // 1 December: M1 12.500 + 13.125 and M2 7.250 (the 'yesterday' row is
    // rejected); 2 December: M1 11.000 and M2 8.500.
    assert_eq!(
        rows,
        [
            ("north".to_owned(), "2026-12-01".to_owned(), 2, "32.875".to_owned()),
            ("north".to_owned(), "2026-12-02".to_owned(), 2, "19.500".to_owned()),
        ]
    );
}
