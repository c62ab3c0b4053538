//! `edba run` on a project of its own: `examples/orders` (CSV with a header
//! in folders, JSON lines, captures, timestamps, a join) end to end, then the
//! sample in the same home, which puts the sample project back.

use std::collections::BTreeMap;

use edba_local::pipeline::{LocalPipeline, LOCAL_BUCKET};
use sqlx::Row;

use crate::pipeline_local::{options, repo};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_orders_example_runs_end_to_end_with_typed_views() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = LocalPipeline::open(options(home.path())).await.expect("pipeline opens");
    let report = pipeline.run_dir(&repo().join("examples/orders"), &|_| {}).await.expect("run completes");
    assert!(report.ok, "every execution should succeed:\n{report}");

    // Every file arrived under incoming/ at its path in the project, and was
    // validated by its declared dataset; the project's own files were not sent.
    let files: BTreeMap<String, (&str, u64, u64, u64)> = report
        .files
        .iter()
        .map(|f| {
            let key = f.file.file_url.trim_start_matches(&format!("s3://{LOCAL_BUCKET}/")).to_owned();
            (key, (f.file.status.as_str(), f.file.rows_valid, f.file.rows_rejected, f.file.lines_skipped))
        })
        .collect();
    let expected: BTreeMap<String, (&str, u64, u64, u64)> = [
        ("incoming/coupons/partner.jsonl", ("VALIDATED_WITH_REJECTS", 3, 1, 0)),
        ("incoming/orders/EU-2026-11-30.csv", ("VALIDATED_WITH_REJECTS", 4, 1, 2)),
        ("incoming/orders/EU-2026-12-01.csv", ("VALIDATED_WITH_REJECTS", 3, 3, 2)),
        ("incoming/orders/US-2026-11-30.csv", ("VALIDATED", 1, 0, 1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(files, expected, "{report}");
    let datasets: Vec<Option<&str>> = report.files.iter().map(|f| f.file.dataset.as_deref()).collect();
    assert_eq!(datasets, [Some("coupons"), Some("orders"), Some("orders"), Some("orders")]);

    // EU-daily fired once over both EU order files and the coupon feed.
    assert_eq!(report.fired.len(), 1, "{report}");
    assert_eq!((report.fired[0].job_id.as_str(), report.fired[0].inputs), ("EU-daily", 3));
    assert_eq!(report.runs[0].status, "COMPLETED");

    // The warehouse holds Europe's totals per UTC day, computed by hand from
    // the example files: A-1003 was placed at 23:30-02:00 on 30 November,
    // which is 1 December in UTC; cancelled orders count for nothing; SAVE5
    // (5.00) and WINTER (2.00) are active coupons.
    // The project's own table, created by the load from the planned columns.
    let url = format!("sqlite://{}", home.path().join("warehouse.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let days: Vec<(String, String, i64, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT region, order_day, orders, items, CAST(ROUND(revenue * 100) AS INTEGER), \
         CAST(ROUND(discounts * 100) AS INTEGER), last_order_at FROM daily_revenue ORDER BY order_day",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let days: Vec<(&str, &str, i64, i64, i64, i64, &str)> =
        days.iter().map(|d| (d.0.as_str(), d.1.as_str(), d.2, d.3, d.4, d.5, &d.6[..19])).collect();
    assert_eq!(
        days,
        [
            ("EU", "2026-11-30", 2, 3, 4548, 500, "2026-11-30 18:40:00"),
            ("EU", "2026-12-01", 4, 10, 6500, 700, "2026-12-01 13:00:00"),
        ]
    );
    let columns: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT name, type, \"notnull\" FROM pragma_table_info('daily_revenue') ORDER BY cid")
            .fetch_all(&pool)
            .await
            .unwrap();
    let columns: Vec<(&str, i64)> = columns.iter().map(|c| (c.0.as_str(), c.2)).collect();
    assert_eq!(
        columns,
        [
            ("region", 1),
            ("order_day", 1),
            ("orders", 1),
            ("items", 0),
            ("revenue", 1),
            ("discounts", 1),
            ("last_order_at", 0)
        ],
        "the planned columns, NOT NULL where the key or the table says so"
    );
    assert!(report.warehouse.iter().any(|t| t.table == "daily_revenue" && t.rows == 2), "{report}");

    // The project was deployed as `edba project push` deploys it.
    let s3 = pipeline.s3_client();
    let project = s3.get_object().bucket(LOCAL_BUCKET).key("code/edba.toml").send().await.expect("code/edba.toml");
    let version_id = project.version_id().map(str::to_owned);
    let text = project.body.collect().await.unwrap().into_bytes();
    assert_eq!(text.as_ref(), std::fs::read(repo().join("examples/orders/edba.toml")).unwrap().as_slice());
    s3.head_object().bucket(LOCAL_BUCKET).key("code/daily_revenue.sql").send().await.expect("the job's SQL");
    let planned = s3.get_object().bucket(LOCAL_BUCKET).key("code/edba.tables.json").send().await.expect("the plan");
    let planned: serde_json::Value =
        serde_json::from_slice(&planned.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(planned["tables"][0]["name"], "daily_revenue");
    assert_eq!(
        planned["tables"][0]["columns"][0],
        serde_json::json!({"name": "region", "type": "STRING", "nullable": false, "max_length": 2})
    );
    assert_eq!(planned["tables"][0]["columns"][6]["type"], "TIMESTAMP");

    // The run records the project version it was claimed under, and its
    // manifest carries the datasets' declared columns the step read with.
    let version = version_id.expect("the bucket is versioned");
    let example_version = version.clone();
    assert_eq!(report.runs[0].project_version.as_deref(), Some(version.as_str()));
    let run = &report.fired[0];
    let manifest_key = format!("manifests/EU-daily/{}.json", run.run_id);
    let manifest = s3.get_object().bucket(LOCAL_BUCKET).key(&manifest_key).send().await.expect("the manifest");
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(manifest["project_version"], version.as_str());
    let placed_at = &manifest["datasets"]["orders"][1];
    assert_eq!((placed_at["name"].as_str(), placed_at["type"].as_str()), (Some("placed_at"), Some("TIMESTAMP")));
    assert_eq!(manifest["datasets"]["orders"][6]["name"], "region", "the captures are columns");
    assert_eq!(manifest["datasets"]["coupons"][1]["type"], "DECIMAL(12,2)");

    // The sample in the same home: its folder has an edba.toml too, and its
    // files are validated as sales and items again.
    let report = pipeline.run_dir(&repo().join("sampledata"), &|_| {}).await.expect("run completes");
    assert!(report.ok, "{report}");
    assert!(report.fired.iter().any(|f| f.job_id == "J101"), "{report}");
    // sampledata/ has its edba.toml too: pushed as a new version of code/edba.toml.
    let j101 = report.runs.iter().find(|r| r.job_id == "J101").unwrap();
    assert!(j101.project_version.is_some() && j101.project_version.as_deref() != Some(example_version.as_str()));
    let il101 = report.files.iter().find(|f| f.file.file_name == "IL-101.tdf").unwrap();
    assert_eq!((il101.file.dataset.as_deref(), il101.file.rows_valid), (Some("sales"), 24));
    let tables: Vec<&str> = report.warehouse.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables, ["saleitemsummary", "salessummary"], "the report lists the project's tables");
    pipeline.close().await;

    // The state store tracked the example's files by dataset.
    let url = format!("sqlite://{}", home.path().join("state.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let orders: i64 = sqlx::query("SELECT COUNT(*) FROM ingested_files WHERE dataset = 'orders'")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(orders, 3);
    pool.close().await;
}
