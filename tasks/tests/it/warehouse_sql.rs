//! The generated warehouse SQL, as snapshots a reviewer reads: the sample's
//! two tables and a table with every column type (nullable columns, a
//! reserved word as a name, a timestamp in the key), and a table that is all
//! key, for Redshift, PostgreSQL and SQLite.
//!
//! A change to the generator shows here as a diff. To accept it, run
//! `EDBA_UPDATE_SNAPSHOTS=1 cargo test -p edba-tasks --test it warehouse_sql`
//! and review the files under `tasks/tests/snapshots/warehouse/`.

use std::path::PathBuf;

use edba_tasks::load::sql::{local_create, local_merge, redshift_load, Dialect};
use edba_tasks::load::{PlannedTables, TableSchema, WarehouseColumn};

fn column(name: &str, ty: &str, nullable: bool) -> WarehouseColumn {
    WarehouseColumn { name: name.into(), ty: ty.into(), nullable, max_length: None }
}

/// Every column type; `order` is a reserved word; the key has a timestamp.
fn every_type() -> TableSchema {
    TableSchema {
        name: "events".into(),
        key: vec!["region".into(), "at".into()],
        columns: vec![
            WarehouseColumn { max_length: Some(2), ..column("region", "STRING", false) },
            column("at", "TIMESTAMP", false),
            column("order", "STRING", true),
            column("n", "INT", true),
            column("total", "BIGINT", false),
            column("price", "DECIMAL(38,10)", true),
            column("day", "DATE", true),
            column("ok", "BOOLEAN", true),
            column("ratio", "DOUBLE", true),
        ],
    }
}

fn all_key() -> TableSchema {
    TableSchema {
        name: "seen".into(),
        key: vec!["code".into(), "day".into()],
        columns: vec![column("code", "STRING", false), column("day", "DATE", false)],
    }
}

fn tables() -> Vec<TableSchema> {
    let mut tables = PlannedTables::sample().tables.clone();
    tables.push(every_type());
    tables.push(all_key());
    for table in &tables {
        assert_eq!(table.problems(), Vec::<String>::new(), "{}", table.name);
    }
    tables
}

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/warehouse").join(name);
    if std::env::var_os("EDBA_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; EDBA_UPDATE_SNAPSHOTS=1 writes it (review it before committing)", path.display())
    });
    pretty_assertions::assert_eq!(expected, actual, "{} differs from the generated SQL", path.display());
}

fn statements(statements: &[String]) -> String {
    statements.iter().map(|s| format!("{s};\n")).collect::<Vec<_>>().join("\n")
}

#[test]
fn redshift_ddl_and_load_batch() {
    for table in tables() {
        let url = format!("s3://edba-data/output/job/run-1/{}/", table.name);
        let sql = redshift_load(&table, &url, "arn:aws:iam::123456789012:role/copy");
        snapshot(&format!("redshift_{}.sql", table.name), &statements(&sql));
    }
}

#[test]
fn local_ddl_and_merge() {
    for (dialect, prefix) in [(Dialect::Postgres, "postgres"), (Dialect::Sqlite, "sqlite")] {
        for table in tables() {
            let merge = local_merge(dialect, &table);
            let sql = [
                local_create(dialect, &table),
                merge.create_stage,
                format!("{}VALUES (…)", merge.insert_stage),
                merge.merge,
                merge.drop_stage,
            ];
            snapshot(&format!("{prefix}_{}.sql", table.name), &statements(&sql));
        }
    }
}
