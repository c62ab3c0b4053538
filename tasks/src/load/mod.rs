//! The load task: merge a run's output tables into the warehouse, so that
//! re-running a job never duplicates a row.
//!
//! The tables are the project's: declared by name and key in `edba.toml`,
//! their columns planned from the job SQL by `edba check` and deployed as
//! `code/edba.tables.json` ([`PlannedTables`], read by [`load_tables`]). The
//! warehouse SQL is generated from that declaration ([`sql`]); nothing a
//! payload carries is used as an identifier unless the plan names it.
//!
//! Two warehouses, one contract ([`load`]):
//! - [`RedshiftWarehouse`] (AWS): one Redshift Data API batch per run — per
//!   table `CREATE TABLE IF NOT EXISTS`, a temporary staging table, `COPY`
//!   from the run's Parquet under `s3://<bucket>/<output_prefix><table>/`,
//!   `MERGE` by the table's key, drop the staging table — which Redshift runs
//!   as one transaction.
//! - [`LocalWarehouse`] (one machine): SQLite or PostgreSQL through sqlx; rows
//!   arrive typed ([`TableRows`]), are bound into a staging table and upserted
//!   (`INSERT … ON CONFLICT … DO UPDATE`), all tables of a run in one
//!   transaction. Reading the run's Parquet into rows is the caller's part,
//!   behind [`RunOutputReader`].

mod local;
mod planned;
mod redshift;
mod sample;
pub mod sql;
mod table;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use edba_payloads::{LoadInput, LoadOutput};

use crate::TaskError;

pub use local::LocalWarehouse;
pub use planned::{load_tables, LoadedTables};
pub use redshift::{PollPolicy, RedshiftConfig, RedshiftTarget, RedshiftWarehouse};
pub use sample::{SaleItemSummaryRow, SalesSummaryRow, SummaryRows, SummaryTable};
pub use table::{
    decimal_text, is_identifier, ColumnKind, ColumnValues, PlannedTables, TableRows, TableSchema, WarehouseColumn,
    SAMPLE_TABLES, TABLES_FILE, TABLES_KEY,
};

/// A boxed future, so [`RunOutputReader`] can be used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a local load gets a run's output rows: the local runtime reads the
/// Parquet the job wrote under `<output_prefix><table>/` into typed rows.
///
/// Contract: return the rows of `table`, typed by its columns; a run
/// without that output is [`TaskError::LoadFailed`]; trouble reaching the
/// storage is [`TaskError::Transient`].
pub trait RunOutputReader: Send + Sync {
    fn read_table<'a>(
        &'a self,
        output_prefix: &'a str,
        table: &'a Arc<TableSchema>,
    ) -> BoxFuture<'a, Result<TableRows, TaskError>>;
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
/// `tables` is the project's plan: a payload naming a table it does not plan,
/// or an unusable output prefix, is `Edba.InvalidInput`; a merge the warehouse rejects (missing output, a
/// type or key violation) is `Edba.LoadFailed`; throttling, network and
/// connection trouble are `Edba.Transient`. A retried load is harmless: the
/// merge is idempotent.
pub async fn load(
    warehouse: Warehouse<'_>,
    input: &LoadInput,
    planned: &PlannedTables,
) -> Result<LoadOutput, TaskError> {
    let tables = checked_tables(input, planned)?;
    let loads = match warehouse {
        Warehouse::Redshift(redshift) => redshift.merge_run(input, &tables).await?,
        Warehouse::Local { warehouse, output } => {
            let mut rows = Vec::with_capacity(tables.len());
            for table in &tables {
                let table_rows = output.read_table(&input.output_prefix, table).await?;
                if table_rows.table != *table {
                    return Err(TaskError::LoadFailed(format!(
                        "the output reader returned {} rows for table {}",
                        table_rows.name(),
                        table.name
                    )));
                }
                rows.push(table_rows);
            }
            warehouse.merge_run(&rows).await?
        }
    };
    Ok(LoadOutput { run_id: input.run_id.clone(), tables: loads })
}

/// The payload's tables, from the plan, after checking the output prefix.
fn checked_tables(input: &LoadInput, planned: &PlannedTables) -> Result<Vec<Arc<TableSchema>>, TaskError> {
    if input.run_id.is_empty() {
        return Err(TaskError::InvalidInput("load: run_id is empty".into()));
    }
    check_output_prefix(&input.output_prefix)?;
    if input.tables.is_empty() {
        return Err(TaskError::InvalidInput(format!("load of run {}: no tables to load", input.run_id)));
    }
    let mut tables = Vec::with_capacity(input.tables.len());
    for name in &input.tables {
        let table = planned.table(name).ok_or_else(|| {
            TaskError::InvalidInput(format!(
                "load of run {}: the project plans no warehouse table {name:?} (planned: {})",
                input.run_id,
                planned.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        if tables.iter().any(|t: &Arc<TableSchema>| t.name == table.name) {
            return Err(TaskError::InvalidInput(format!("load of run {}: table {name} is listed twice", input.run_id)));
        }
        tables.push(Arc::new(table.clone()));
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
    fn tables_come_from_the_plan_in_payload_order() {
        let planned = PlannedTables::sample();
        let tables = checked_tables(&input("output/j/r/", &["salessummary", "saleitemsummary"]), &planned).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["salessummary", "saleitemsummary"]);
        for bad in [&["stock"][..], &[], &["salessummary", "salessummary"], &["SalesSummary"]] {
            let err = checked_tables(&input("output/j/r/", bad), &planned).unwrap_err();
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
