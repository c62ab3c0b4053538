//! The load task: merge a run's output tables into the warehouse, so that
//! re-running a job never duplicates a row.
//!
//! Two warehouses, one contract ([`load`]):
//! - [`RedshiftWarehouse`] (AWS): one Redshift Data API batch per run — per
//!   table a temporary staging table, `COPY` from the run's Parquet under
//!   `s3://<bucket>/<output_prefix><table>/`, `MERGE` by the table's key, drop
//!   the staging table — which Redshift runs as one transaction. SQL:
//!   `sql/warehouse/redshift/`.
//! - [`LocalWarehouse`] (one machine): SQLite or PostgreSQL through sqlx; rows
//!   arrive as typed structs, are bound into a staging table and upserted
//!   (`INSERT … ON CONFLICT … DO UPDATE`), all tables of a run in one
//!   transaction. SQL: `sql/warehouse/local/{sqlite,postgres}/`. Reading the
//!   run's Parquet into rows is the caller's part, behind [`RunOutputReader`].
//!
//! Tables come from a fixed allow-list ([`SummaryTable`]); nothing a payload
//! carries is ever used as an identifier. Amounts are `DECIMAL(14,2)` in the
//! warehouse and exact integer cents in Rust.

mod local;
mod redshift;

use std::future::Future;
use std::pin::Pin;

use edba_payloads::{LoadInput, LoadOutput};

use crate::TaskError;

pub use local::LocalWarehouse;
pub use redshift::{PollPolicy, RedshiftConfig, RedshiftTarget, RedshiftWarehouse};

/// The warehouse tables a run's output may be merged into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SummaryTable {
    /// One row per (store_id, item_id, trans_date).
    SaleItemSummary,
    /// One row per (store_id, trans_date).
    SalesSummary,
}

impl SummaryTable {
    pub const ALL: [SummaryTable; 2] = [SummaryTable::SaleItemSummary, SummaryTable::SalesSummary];

    /// The table's name in the warehouse, in the job's SQL (`-- table: <name>`)
    /// and in the run's output folder.
    pub const fn name(self) -> &'static str {
        match self {
            SummaryTable::SaleItemSummary => "saleitemsummary",
            SummaryTable::SalesSummary => "salessummary",
        }
    }

    pub fn from_name(name: &str) -> Option<SummaryTable> {
        SummaryTable::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl std::fmt::Display for SummaryTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A row of `saleitemsummary`. Amounts are cents (`DECIMAL(14,2)` unscaled,
/// as Arrow's `Decimal128(14, 2)` holds them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleItemSummaryRow {
    pub store_id: String,
    pub item_id: String,
    pub trans_date: time::Date,
    /// `None` when the item is missing from the item master.
    pub item_name: Option<String>,
    pub sale_amount_cents: i64,
    pub tax_amount_cents: i64,
    pub discount_amount_cents: i64,
}

/// A row of `salessummary`; amounts in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesSummaryRow {
    pub store_id: String,
    pub trans_date: time::Date,
    pub item_count: i64,
    pub sale_amount_cents: i64,
    pub tax_amount_cents: i64,
    pub discount_amount_cents: i64,
}

/// The rows of one output table; the variant says which table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryRows {
    SaleItemSummary(Vec<SaleItemSummaryRow>),
    SalesSummary(Vec<SalesSummaryRow>),
}

impl SummaryRows {
    pub fn table(&self) -> SummaryTable {
        match self {
            SummaryRows::SaleItemSummary(_) => SummaryTable::SaleItemSummary,
            SummaryRows::SalesSummary(_) => SummaryTable::SalesSummary,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            SummaryRows::SaleItemSummary(rows) => rows.len(),
            SummaryRows::SalesSummary(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A boxed future, so [`RunOutputReader`] can be used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a local load gets a run's output rows: the local runtime reads the
/// Parquet the job wrote under `<output_prefix><table>/` into typed rows.
///
/// Contract: return the rows of `table` (variant matching `table`); a run
/// without that output is [`TaskError::LoadFailed`]; trouble reaching the
/// storage is [`TaskError::Transient`].
pub trait RunOutputReader: Send + Sync {
    fn read_table<'a>(
        &'a self,
        output_prefix: &'a str,
        table: SummaryTable,
    ) -> BoxFuture<'a, Result<SummaryRows, TaskError>>;
}

/// The warehouse a load merges into.
#[derive(Clone, Copy)]
pub enum Warehouse<'a> {
    /// Amazon Redshift, which reads the run's Parquet from S3 itself.
    Redshift(&'a RedshiftWarehouse),
    /// SQLite or PostgreSQL, fed typed rows by `output`.
    Local { warehouse: &'a LocalWarehouse, output: &'a dyn RunOutputReader },
}

impl std::fmt::Debug for Warehouse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warehouse::Redshift(w) => f.debug_tuple("Redshift").field(w).finish(),
            Warehouse::Local { warehouse, .. } => f.debug_tuple("Local").field(warehouse).finish(),
        }
    }
}

/// The load task: merges every table of a run's output into the warehouse in
/// one transaction and says how many rows each merge inserted or updated.
///
/// Errors: a payload that names an unknown table or an unusable output prefix
/// is `Edba.InvalidInput`; a merge the warehouse rejects (missing output, a
/// type or key violation) is `Edba.LoadFailed`; throttling, network and
/// connection trouble are `Edba.Transient`. A retried load is harmless: the
/// merge is idempotent.
pub async fn load(warehouse: Warehouse<'_>, input: &LoadInput) -> Result<LoadOutput, TaskError> {
    let tables = checked_tables(input)?;
    let loads = match warehouse {
        Warehouse::Redshift(redshift) => redshift.merge_run(input, &tables).await?,
        Warehouse::Local { warehouse, output } => {
            let mut rows = Vec::with_capacity(tables.len());
            for table in &tables {
                let table_rows = output.read_table(&input.output_prefix, *table).await?;
                if table_rows.table() != *table {
                    return Err(TaskError::LoadFailed(format!(
                        "the output reader returned {} rows for table {table}",
                        table_rows.table()
                    )));
                }
                rows.push(table_rows);
            }
            warehouse.merge_run(&rows).await?
        }
    };
    Ok(LoadOutput { run_id: input.run_id.clone(), tables: loads })
}

/// The payload's tables, from the allow-list, after checking the output prefix.
fn checked_tables(input: &LoadInput) -> Result<Vec<SummaryTable>, TaskError> {
    if input.run_id.is_empty() {
        return Err(TaskError::InvalidInput("load: run_id is empty".into()));
    }
    check_output_prefix(&input.output_prefix)?;
    if input.tables.is_empty() {
        return Err(TaskError::InvalidInput(format!("load of run {}: no tables to load", input.run_id)));
    }
    let mut tables = Vec::with_capacity(input.tables.len());
    for name in &input.tables {
        let table = SummaryTable::from_name(name).ok_or_else(|| {
            TaskError::InvalidInput(format!(
                "load of run {}: unknown warehouse table {name:?} (known: {})",
                input.run_id,
                SummaryTable::ALL.map(SummaryTable::name).join(", ")
            ))
        })?;
        if tables.contains(&table) {
            return Err(TaskError::InvalidInput(format!("load of run {}: table {name} is listed twice", input.run_id)));
        }
        tables.push(table);
    }
    Ok(tables)
}

/// An output prefix is a key prefix like `output/<job>/<run>/`. It ends up
/// inside a Redshift `COPY` string (COPY takes no bind parameters), so only
/// characters that need no quoting in SQL or in an S3 URL are accepted.
fn check_output_prefix(prefix: &str) -> Result<(), TaskError> {
    let safe_chars =
        prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'=' | b':'));
    let well_formed = !prefix.is_empty()
        && prefix.ends_with('/')
        && !prefix.starts_with('/')
        && prefix.len() <= 512
        && !prefix.contains("//")
        && !prefix.split('/').any(|part| part == "." || part == "..");
    if safe_chars && well_formed {
        Ok(())
    } else {
        Err(TaskError::InvalidInput(format!(
            "output prefix {prefix:?} is not a key prefix like output/<job>/<run>/ \
             (letters, digits and / - _ . = : only, ending with /)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(prefix: &str, tables: &[&str]) -> LoadInput {
        LoadInput {
            run_id: "run-1".into(),
            job_id: "il-sales".into(),
            output_prefix: prefix.into(),
            tables: tables.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn tables_come_from_the_allow_list_in_payload_order() {
        let tables = checked_tables(&input("output/j/r/", &["salessummary", "saleitemsummary"]));
        assert_eq!(tables.unwrap(), vec![SummaryTable::SalesSummary, SummaryTable::SaleItemSummary]);
        for bad in [&["stock"][..], &[], &["salessummary", "salessummary"], &["SalesSummary"]] {
            let err = checked_tables(&input("output/j/r/", bad)).unwrap_err();
            assert_eq!(err.name().as_str(), "Edba.InvalidInput", "{bad:?}");
        }
    }

    #[test]
    fn output_prefixes_that_could_escape_a_sql_string_are_refused() {
        for good in ["output/il-sales/run-1/", "output/j/2026-11-27T06:00:00Z_ab.c/"] {
            assert!(check_output_prefix(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "output/j/r",
            "/output/j/r/",
            "output//r/",
            "output/../r/",
            "output/j/r'; DROP TABLE salessummary; --/",
            "output/j/r x/",
            "output/j/é/",
        ] {
            assert!(check_output_prefix(bad).is_err(), "{bad}");
        }
    }
}
