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
    for name in ["edba.toml", "daily_sales.sql"] {
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
    assert_eq!((job.as_str(), table.as_str()), ("EU-daily", "salessummary"));
    assert_eq!(columns[0], "store_id Utf8");
    assert_eq!(columns[1], "trans_date Date32");
    let text = example.to_string();
    assert!(text.contains("dataset orders <- incoming/orders/{region}-{day}.csv: order_id, placed_at"), "{text}");

    let sample = check_project_dir(&repo().join("sampledata"), Some(&repo())).await.expect("the sample passes");
    assert_eq!(sample.jobs.jobs.len(), 2, "jobs.toml beside edba.toml");
    let tables: Vec<&str> = sample.outputs.iter().filter(|o| o.0 == "J101").map(|o| o.1.as_str()).collect();
    assert_eq!(tables, ["saleitemsummary", "salessummary"]);
}

#[tokio::test]
async fn an_unknown_column_names_the_sql_file_line_and_job() {
    let dir = edited_example("daily_sales.sql", |t| t.replace("o.price * o.quantity", "o.amount * o.quantity"));
    let all = problems(dir.path()).await;
    let p = find(&all, "amount");
    assert_eq!(p.file, "daily_sales.sql");
    assert_eq!(p.job.as_deref(), Some("EU-daily"));
    assert_eq!(p.line, Some(8), "the line of `-- table: salessummary`");
    assert!(p.message.starts_with("table salessummary: "), "{p}");
}

#[tokio::test]
async fn a_wrong_type_is_a_planning_error() {
    // A timestamp plus a string: DataFusion refuses the plan.
    let dir = edited_example("daily_sales.sql", |t| {
        t.replace(
            "CAST(o.placed_at AS DATE) AS trans_date,",
            "CAST(o.placed_at AS DATE) AS trans_date, o.placed_at - o.status AS nonsense,",
        )
    });
    let all = problems(dir.path()).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].line, Some(8));
}

#[tokio::test]
async fn key_columns_must_be_output_and_never_null() {
    let dir = edited_example("daily_sales.sql", |t| {
        t.replace("o.region AS store_id", "c.code AS store_id").replace("GROUP BY o.region", "GROUP BY c.code")
    });
    let all = problems(dir.path()).await;
    find(&all, "table salessummary's key column store_id may be NULL");
    let dir = edited_example("daily_sales.sql", |t| t.replace("o.region AS store_id", "o.region AS shop"));
    let all = problems(dir.path()).await;
    find(&all, "table salessummary's key column store_id is not in the query's output");
}

#[tokio::test]
async fn declared_table_columns_must_agree_with_the_output() {
    let dir = edited_example("edba.toml", |t| {
        t.replace(
            "key = [\"store_id\", \"trans_date\"]",
            "key = [\"store_id\", \"trans_date\"]\ncolumns = [{ name = \"store_id\", type = \"string\" }, { name = \"trans_date\", type = \"timestamp\" }, { name = \"vat\", type = \"decimal(14,2)\" }]",
        )
    });
    let all = problems(dir.path()).await;
    find(&all, "column trans_date is declared timestamp");
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
            .replace("sql = \"daily_sales.sql\"", "sql = \"missing.sql\"")
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
