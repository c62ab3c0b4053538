//! The warehouse SQL, generated from a table's declaration
//! ([`TableSchema`]): the DDL and the merge for Amazon Redshift and for the
//! local warehouses (SQLite, PostgreSQL).
//!
//! Every name comes from a checked [`TableSchema`] (identifiers only) and is
//! quoted besides, so a column may be called `date` or `order`. No value is
//! ever part of the text: the local merge binds rows into a staging table,
//! and Redshift's `COPY` reads them from S3.
//!
//! Redshift: `DISTKEY` is the first key column that is not a date or a
//! timestamp (rows of one entity on one slice; a date would put each day's
//! load on one slice), `SORTKEY` the key with its date and timestamp columns
//! first (loads arrive by day and queries range over days). A `STRING` column
//! is `VARCHAR(4 × max_length)` when the table declares `max_length` (Redshift
//! counts bytes, UTF-8 takes up to 4 per character), else `VARCHAR(65535)`.

use super::table::{ColumnKind, TableSchema, WarehouseColumn};

/// Redshift's longest `VARCHAR`, in bytes.
const REDSHIFT_MAX_VARCHAR: u64 = 65_535;

/// A local warehouse's SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// `"name"`: names are identifiers already; quoting keeps reserved words usable.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

fn column_list(table: &TableSchema, prefix: &str) -> String {
    table.columns.iter().map(|c| format!("{prefix}{}", quoted(&c.name))).collect::<Vec<_>>().join(", ")
}

fn key_list(table: &TableSchema) -> String {
    table.key.iter().map(|k| quoted(k)).collect::<Vec<_>>().join(", ")
}

/// The columns a merge updates: every column outside the key.
fn value_columns(table: &TableSchema) -> impl Iterator<Item = &WarehouseColumn> {
    table.columns.iter().filter(|c| !table.is_key(&c.name))
}

/// The staging table's name for `table`.
pub fn stage_name(table: &TableSchema) -> String {
    format!("stage_{}", table.name)
}

fn not_null(column: &WarehouseColumn) -> &'static str {
    if column.nullable {
        ""
    } else {
        " NOT NULL"
    }
}

fn columns_block(table: &TableSchema, ty: impl Fn(&WarehouseColumn) -> String, with_key: bool) -> String {
    columns_with_checks(table, ty, |_| String::new(), with_key)
}

/// Column definitions: name, type, NOT NULL, then `check`'s constraint.
fn columns_with_checks(
    table: &TableSchema,
    ty: impl Fn(&WarehouseColumn) -> String,
    check: impl Fn(&WarehouseColumn) -> String,
    with_key: bool,
) -> String {
    let width = table.columns.iter().map(|c| c.name.len() + 2).max().unwrap_or(0);
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("    {:<width$} {}{}{}", quoted(&c.name), ty(c), not_null(c), check(c)))
        .collect();
    if with_key {
        lines.push(format!("    PRIMARY KEY ({})", key_list(table)));
    }
    lines.join(",\n")
}

// ---------------------------------------------------------------- Redshift

fn redshift_type(column: &WarehouseColumn) -> String {
    match column.kind() {
        ColumnKind::Text => {
            let bytes =
                column.max_length.map_or(REDSHIFT_MAX_VARCHAR, |n| (u64::from(n) * 4).min(REDSHIFT_MAX_VARCHAR));
            format!("VARCHAR({bytes})")
        }
        ColumnKind::Int => "INTEGER".into(),
        ColumnKind::BigInt => "BIGINT".into(),
        ColumnKind::Decimal(p, s) => format!("DECIMAL({p}, {s})"),
        ColumnKind::Date => "DATE".into(),
        ColumnKind::Timestamp => "TIMESTAMP".into(),
        ColumnKind::Bool => "BOOLEAN".into(),
        ColumnKind::Double => "DOUBLE PRECISION".into(),
    }
}

fn is_time(table: &TableSchema, name: &str) -> bool {
    table.column(name).is_some_and(|c| matches!(c.kind(), ColumnKind::Date | ColumnKind::Timestamp))
}

/// The Redshift table, created if it does not exist. Redshift does not
/// enforce the primary key; the merge keeps keys unique and the planner
/// uses the declaration.
pub fn redshift_create(table: &TableSchema) -> String {
    let dist = table.key.iter().find(|k| !is_time(table, k)).unwrap_or(&table.key[0]);
    let sort: Vec<String> = table
        .key
        .iter()
        .filter(|k| is_time(table, k))
        .chain(table.key.iter().filter(|k| !is_time(table, k)))
        .map(|k| quoted(k))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n)\nDISTKEY ({})\nSORTKEY ({})",
        quoted(&table.name),
        columns_block(table, redshift_type, true),
        quoted(dist),
        sort.join(", ")
    )
}

/// Statements per table of a Redshift load: create the table, create the
/// staging table, `COPY`, `MERGE`, drop the staging table.
pub const REDSHIFT_STATEMENTS_PER_TABLE: usize = 5;
/// The `COPY`'s position among a table's statements.
pub const REDSHIFT_COPY_STATEMENT: usize = 2;
/// The `MERGE`'s position among a table's statements.
pub const REDSHIFT_MERGE_STATEMENT: usize = 3;

/// One table's statements of a Redshift load batch. `output_url` and
/// `copy_role_arn` go into the `COPY` text (it takes no bind parameters): the
/// caller has checked both against strict character sets.
pub fn redshift_load(table: &TableSchema, output_url: &str, copy_role_arn: &str) -> Vec<String> {
    let target = quoted(&table.name);
    let stage = quoted(&stage_name(table));
    let on: Vec<String> = table.key.iter().map(|k| format!("{target}.{} = s.{}", quoted(k), quoted(k))).collect();
    let mut updates: Vec<String> =
        value_columns(table).map(|c| format!("{} = s.{}", quoted(&c.name), quoted(&c.name))).collect();
    if updates.is_empty() {
        // Redshift's MERGE needs a WHEN MATCHED action: a table that is all
        // key sets a key column to itself.
        updates.push(format!("{} = s.{}", quoted(&table.key[0]), quoted(&table.key[0])));
    }
    vec![
        redshift_create(table),
        format!("CREATE TEMP TABLE {stage} (\n{}\n)", columns_block(table, redshift_type, false)),
        format!("COPY {stage}\nFROM '{output_url}'\nIAM_ROLE '{copy_role_arn}'\nFORMAT AS PARQUET"),
        format!(
            "MERGE INTO {target}\nUSING {stage} s\nON {}\nWHEN MATCHED THEN UPDATE SET\n    {}\n\
             WHEN NOT MATCHED THEN INSERT\n    ({})\n    VALUES ({})",
            on.join("\n    AND "),
            updates.join(",\n    "),
            column_list(table, ""),
            column_list(table, "s."),
        ),
        format!("DROP TABLE {stage}"),
    ]
}

// ------------------------------------------------------------------ local

fn local_type(dialect: Dialect, column: &WarehouseColumn) -> String {
    match (dialect, column.kind()) {
        (Dialect::Postgres, ColumnKind::Text) => match column.max_length {
            Some(n) => format!("VARCHAR({n})"),
            None => "TEXT".into(),
        },
        (Dialect::Postgres, ColumnKind::Int) => "INTEGER".into(),
        (Dialect::Postgres, ColumnKind::BigInt) => "BIGINT".into(),
        (Dialect::Postgres, ColumnKind::Decimal(p, s)) => format!("NUMERIC({p}, {s})"),
        (Dialect::Postgres, ColumnKind::Date) => "DATE".into(),
        (Dialect::Postgres, ColumnKind::Timestamp) => "TIMESTAMP".into(),
        (Dialect::Postgres, ColumnKind::Bool) => "BOOLEAN".into(),
        (Dialect::Postgres, ColumnKind::Double) => "DOUBLE PRECISION".into(),
        (Dialect::Sqlite, ColumnKind::Text | ColumnKind::Timestamp | ColumnKind::Date) => "TEXT".into(),
        (Dialect::Sqlite, ColumnKind::Int | ColumnKind::BigInt | ColumnKind::Bool) => "INTEGER".into(),
        (Dialect::Sqlite, ColumnKind::Decimal(..) | ColumnKind::Double) => "REAL".into(),
    }
}

/// What a value is staged as: decimals as exact text (cast by the merge),
/// the rest as the type the loader binds.
fn stage_type(column: &WarehouseColumn) -> &'static str {
    match column.kind() {
        ColumnKind::Text | ColumnKind::Decimal(..) => "TEXT",
        ColumnKind::Int | ColumnKind::BigInt => "BIGINT",
        ColumnKind::Date => "DATE",
        ColumnKind::Timestamp => "TIMESTAMP",
        ColumnKind::Bool => "BOOLEAN",
        ColumnKind::Double => "DOUBLE PRECISION",
    }
}

/// The local table, created if it does not exist, its key enforced. SQLite
/// has no exact decimal: a decimal is `REAL` there (a `DECIMAL(14,2)` reads
/// back exactly as `ROUND(x * 100)` cents; sums are floating point).
pub fn local_create(dialect: Dialect, table: &TableSchema) -> String {
    // SQLite keeps any text in a DATE column: a CHECK keeps it a date.
    let check = |c: &WarehouseColumn| match (dialect, c.kind()) {
        (Dialect::Sqlite, ColumnKind::Date) => format!(" CHECK ({0} = date({0}))", quoted(&c.name)),
        _ => String::new(),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n)",
        quoted(&table.name),
        columns_with_checks(table, |c| local_type(dialect, c), check, true)
    )
}

/// The statements of a local merge, run in the load's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMerge {
    /// The staging table; its primary key makes a run with a key twice fail.
    pub create_stage: String,
    /// `INSERT INTO stage (columns) `, to which the loader appends `VALUES`
    /// with bound rows.
    pub insert_stage: String,
    /// The upsert from staging into the table.
    pub merge: String,
    pub drop_stage: String,
}

pub fn local_merge(dialect: Dialect, table: &TableSchema) -> LocalMerge {
    let stage = quoted(&stage_name(table));
    let selected: Vec<String> = table
        .columns
        .iter()
        .map(|c| match (dialect, c.kind()) {
            (Dialect::Postgres, ColumnKind::Decimal(p, s)) => format!("CAST({} AS NUMERIC({p}, {s}))", quoted(&c.name)),
            (Dialect::Sqlite, ColumnKind::Decimal(..)) => format!("CAST({} AS REAL)", quoted(&c.name)),
            _ => quoted(&c.name),
        })
        .collect();
    let updates: Vec<String> = value_columns(table).map(|c| format!("{0} = excluded.{0}", quoted(&c.name))).collect();
    let action = if updates.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        format!("DO UPDATE SET\n    {}", updates.join(",\n    "))
    };
    LocalMerge {
        create_stage: format!(
            "CREATE TEMP TABLE {stage} (\n{}\n)",
            columns_block(table, |c| stage_type(c).into(), true)
        ),
        insert_stage: format!("INSERT INTO {stage} ({}) ", column_list(table, "")),
        // `WHERE true`: SQLite needs it to tell an upsert's ON CONFLICT from a join's ON.
        merge: format!(
            "INSERT INTO {} ({})\nSELECT {}\nFROM {stage}\nWHERE true\nON CONFLICT ({}) {action}",
            quoted(&table.name),
            column_list(table, ""),
            selected.join(", "),
            key_list(table),
        ),
        drop_stage: format!("DROP TABLE {stage}"),
    }
}
