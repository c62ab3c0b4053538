//! `edba check`: the example and sample projects pass; each kind of mistake
//! is reported with its file, line and job, before anything runs.

use std::path::{Path, PathBuf};

use edba_local::check::{check_project_dir, CheckProblem};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A copy of `examples/orders` with `edit` applied to the named file.
fn edited_example(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = repo().join("examples/orders");
    for name in ["edba.toml", "daily_revenue.sql"] {
        std::fs::copy(source.join(name), dir.path().join(name)).unwrap();
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(&path, edited).unwrap();
    dir
}

async fn problems(dir: &Path) -> Vec<CheckProblem> {
    check_project_dir(dir, Some(&repo())).await.expect_err("the project has a problem").0
}

fn find<'a>(problems: &'a [CheckProblem], text: &str) -> &'a CheckProblem {
    problems
        .iter()
        .find(|p| p.to_string().contains(text))
        .unwrap_or_else(|| panic!("no problem says {text:?}: {problems:#?}"))
}

#[tokio::test]
async fn the_example_and_the_sample_pass_with_their_typed_outputs() {
    let example = check_project_dir(&repo().join("examples/orders"), Some(&repo())).await.expect("the example passes");
    assert_eq!(example.jobs.jobs.len(), 1);
    assert_eq!(example.sql_files.len(), 1);
    let (job, table, columns) = &example.outputs[0];
    assert_eq!((job.as_str(), table.as_str()), ("EU-daily", "daily_revenue"));
    assert_eq!(columns[0], "region Utf8");
    assert_eq!(columns[1], "order_day Date32");
    // The table as planned for the warehouse: the output's columns, typed,
    // with the declaration's size and NOT NULL.
    let planned = &example.tables.tables;
    assert_eq!(planned.len(), 1);
    let columns: Vec<(&str, &str, bool, Option<u32>)> =
        planned[0].columns.iter().map(|c| (c.name.as_str(), c.ty.as_str(), c.nullable, c.max_length)).collect();
    assert_eq!(
        columns,
        [
            ("region", "STRING", false, Some(2)),
            ("order_day", "DATE", false, None),
            ("orders", "BIGINT", false, None),
            ("items", "BIGINT", true, None),
            ("revenue", "DECIMAL(14,2)", false, None),
            ("discounts", "DECIMAL(14,2)", false, None),
            ("last_order_at", "TIMESTAMP", true, None),
        ]
    );
    let text = example.to_string();
    assert!(text.contains("dataset orders <- incoming/orders/{region}-{day}.csv: order_id, placed_at"), "{text}");

    let sample = check_project_dir(&repo().join("sampledata"), Some(&repo())).await.expect("the sample passes");
    assert_eq!(sample.jobs.jobs.len(), 2, "jobs.toml beside edba.toml");
    let tables: Vec<&str> = sample.outputs.iter().filter(|o| o.0 == "J101").map(|o| o.1.as_str()).collect();
    assert_eq!(tables, ["saleitemsummary", "salessummary"]);
    // The sample's plan is compiled into the load as its fallback: it must be
    // what the sample's SQL plans.
    let committed = std::fs::read_to_string(repo().join("sampledata/edba.tables.json")).unwrap();
    assert_eq!(
        sample.tables.to_json(),
        committed,
        "sampledata/edba.tables.json is stale: write what `edba check sampledata --tables` prints into it"
    );
}

#[tokio::test]
async fn an_unknown_column_names_the_sql_file_line_and_job() {
    let dir = edited_example("daily_revenue.sql", |t| t.replace("o.price * o.quantity", "o.amount * o.quantity"));
    let all = problems(dir.path()).await;
    let p = find(&all, "amount");
    assert_eq!(p.file, "daily_revenue.sql");
    assert_eq!(p.job.as_deref(), Some("EU-daily"));
    assert_eq!(p.line, Some(8), "the line of `-- table: daily_revenue`");
    assert!(p.message.starts_with("table daily_revenue: "), "{p}");
}

#[tokio::test]
async fn a_wrong_type_is_a_planning_error() {
    // A timestamp plus a string: DataFusion refuses the plan.
    let dir = edited_example("daily_revenue.sql", |t| {
        t.replace(
            "CAST(o.placed_at AS DATE) AS order_day,",
            "CAST(o.placed_at AS DATE) AS order_day, o.placed_at - o.status AS nonsense,",
        )
    });
    let all = problems(dir.path()).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].line, Some(8));
}

#[tokio::test]
async fn key_columns_must_be_output_and_never_null() {
    let dir = edited_example("daily_revenue.sql", |t| {
        t.replace("    o.region,", "    c.code AS region,").replace("GROUP BY o.region", "GROUP BY c.code")
    });
    let all = problems(dir.path()).await;
    find(&all, "table daily_revenue's key column region may be NULL");
    let dir = edited_example("daily_revenue.sql", |t| t.replace("    o.region,", "    o.region AS shop,"));
    let all = problems(dir.path()).await;
    find(&all, "table daily_revenue's key column region is not in the query's output");
}

#[tokio::test]
async fn an_output_no_warehouse_column_holds_is_reported_and_two_jobs_must_agree() {
    let dir = edited_example("daily_revenue.sql", |t| {
        t.replace(
            "    MAX(o.placed_at) AS last_order_at",
            "    MAX(o.placed_at) AS last_order_at,\n    ARRAY_AGG(o.order_id) AS ids",
        )
    });
    let all = problems(dir.path()).await;
    let p = find(&all, "table daily_revenue's column ids is List");
    assert_eq!((p.file.as_str(), p.line), ("daily_revenue.sql", Some(8)));
    assert!(p.message.contains("which no warehouse column holds"), "{p}");

    // A second job loading the same table with another column type.
    let dir = edited_example("edba.toml", |t| {
        t + "\n[[job]]\nid = \"US-daily\"\ninput = { dataset = \"orders\", pattern = \"US-*\", min_files = 1 }\n\
             cluster = { by = \"tag\", key = \"edba\", value = \"true\" }\n\
             step = { kind = \"sql_job\", sql = \"us.sql\" }\nload = { tables = [\"daily_revenue\"] }\n"
    });
    let us = std::fs::read_to_string(dir.path().join("daily_revenue.sql"))
        .unwrap()
        .replace("COUNT(*) AS orders", "CAST(COUNT(*) AS INT) AS orders");
    std::fs::write(dir.path().join("us.sql"), us).unwrap();
    let all = problems(dir.path()).await;
    let p = find(&all, "loads table daily_revenue with other columns or types than job EU-daily does");
    assert_eq!((p.file.as_str(), p.job.as_deref()), ("us.sql", Some("US-daily")));
}

#[tokio::test]
async fn declared_table_columns_must_agree_with_the_output() {
    let dir = edited_example("edba.toml", |t| {
        t.replace(
            "  { name = \"region\",  max_length = 2 },",
            "  { name = \"region\",  max_length = 2 },\n  { name = \"order_day\", type = \"timestamp\" },\n  { name = \"vat\", type = \"decimal(14,2)\" },",
        )
    });
    let all = problems(dir.path()).await;
    find(&all, "column order_day is declared timestamp");
    find(&all, "declares column vat, which the query does not output");
}

#[tokio::test]
async fn project_and_job_mistakes_are_all_listed() {
    let dir = edited_example("edba.toml", |t| {
        t.replace("files = \"coupons/*.jsonl\"", "files = \"orders/*.csv\"")
            .replace("input = { dataset = \"orders\"", "input = { dataset = \"order\"")
    });
    let all = problems(dir.path()).await;
    let overlap = find(&all, "overlap dataset orders's");
    assert_eq!(overlap.file, "edba.toml");
    assert!(overlap.line.is_some());
    // The project did not parse: its jobs were not looked at yet.
    assert_eq!(all.len(), 1, "{all:#?}");

    let dir = edited_example("edba.toml", |t| {
        t.replace("input = { dataset = \"orders\"", "input = { dataset = \"order\"")
            .replace("sql = \"daily_revenue.sql\"", "sql = \"missing.sql\"")
            + "\n[[table]]\nname = \"unused\"\nkey = [\"a\"]\n"
    });
    let all = problems(dir.path()).await;
    find(&all, "job EU-daily: field `input.dataset`: \"order\" is not a known dataset (known: orders, coupons)");
    find(&all, "field `step.sql`: \"missing.sql\" does not exist under");
    find(&all, "table unused is declared, but no job loads it");
}

#[tokio::test]
async fn a_folder_without_a_project_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let all = problems(dir.path()).await;
    assert_eq!(all.len(), 1);
    assert!(all[0].message.starts_with("cannot read"), "{}", all[0]);
}
