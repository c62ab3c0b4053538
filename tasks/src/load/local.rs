//! The local warehouse: SQLite (embedded) or PostgreSQL, through sqlx.
//!
//! A merge runs in one transaction: per table, create the staging table, bind
//! the rows into it, upsert into the target by its key, drop the staging
//! table (`sql/warehouse/local/<dialect>/merge_<table>.sql`). Any error rolls
//! back every table of the run.

use std::str::FromStr;
use std::time::Duration;

use edba_payloads::TableLoad;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool};

use super::{SummaryRows, SummaryTable};
use crate::TaskError;

const SQLITE_SCHEMA: &str = include_str!("../../../sql/warehouse/local/sqlite/schema.sql");
const SQLITE_MERGE_SALEITEMSUMMARY: &str =
    include_str!("../../../sql/warehouse/local/sqlite/merge_saleitemsummary.sql");
const SQLITE_MERGE_SALESSUMMARY: &str = include_str!("../../../sql/warehouse/local/sqlite/merge_salessummary.sql");
const POSTGRES_SCHEMA: &str = include_str!("../../../sql/warehouse/local/postgres/schema.sql");
const POSTGRES_MERGE_SALEITEMSUMMARY: &str =
    include_str!("../../../sql/warehouse/local/postgres/merge_saleitemsummary.sql");
const POSTGRES_MERGE_SALESSUMMARY: &str = include_str!("../../../sql/warehouse/local/postgres/merge_salessummary.sql");

const MAX_CONNECTIONS: u32 = 4;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows per staging INSERT: 7 columns x 1000 rows stays far below both
/// SQLite's (32766) and PostgreSQL's (65535) bind-parameter limits.
const ROWS_PER_INSERT: usize = 1000;

const STAGE_SALEITEMSUMMARY: &str = "INSERT INTO stage_saleitemsummary \
    (store_id, item_id, trans_date, item_name, sale_amount_cents, tax_amount_cents, discount_amount_cents) ";
const STAGE_SALESSUMMARY: &str = "INSERT INTO stage_salessummary \
    (store_id, trans_date, item_count, sale_amount_cents, tax_amount_cents, discount_amount_cents) ";

/// The three statements of a merge file: create staging, merge, drop staging.
#[derive(Debug, Clone, Copy)]
struct MergeSql {
    create_stage: &'static str,
    merge: &'static str,
    drop_stage: &'static str,
}

impl MergeSql {
    /// Splits a merge file at lines ending with `;`. The files are constants
    /// checked by the tests, so a malformed one is a bug, caught at once.
    fn parse(file: &'static str) -> MergeSql {
        let statements: Vec<&'static str> = file
            .split(";\n")
            .map(str::trim)
            .filter(|s| s.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--")))
            .collect();
        match statements[..] {
            [create_stage, merge, drop_stage] => MergeSql { create_stage, merge, drop_stage },
            _ => panic!("a warehouse merge file must hold 3 statements, found {}", statements.len()),
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A local warehouse (SQLite file or PostgreSQL database).
#[derive(Debug, Clone)]
pub struct LocalWarehouse {
    pool: Pool,
}

impl LocalWarehouse {
    /// Connects to `sqlite://…` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<LocalWarehouse, TaskError> {
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| TaskError::InvalidInput(format!("warehouse URL {url:?}: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(ACQUIRE_TIMEOUT);
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| TaskError::transient("connect to the SQLite warehouse", e))?,
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options =
                PgConnectOptions::from_str(url).map_err(|e| TaskError::InvalidInput(format!("warehouse URL: {e}")))?;
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| TaskError::transient("connect to the PostgreSQL warehouse", e))?,
            )
        } else {
            return Err(TaskError::InvalidInput("a local warehouse URL starts with sqlite: or postgres:".into()));
        };
        Ok(LocalWarehouse { pool })
    }

    /// Creates the summary tables if they do not exist.
    pub async fn ensure_schema(&self) -> Result<(), TaskError> {
        let result = match &self.pool {
            Pool::Sqlite(pool) => sqlx::raw_sql(SQLITE_SCHEMA).execute(pool).await.map(drop),
            Pool::Postgres(pool) => sqlx::raw_sql(POSTGRES_SCHEMA).execute(pool).await.map(drop),
        };
        result.map_err(|e| db_error("create the warehouse tables", e))
    }

    /// How many rows `table` holds (for reports and tests).
    pub async fn row_count(&self, table: SummaryTable) -> Result<u64, TaskError> {
        let sql = match table {
            SummaryTable::SaleItemSummary => "SELECT COUNT(*) FROM saleitemsummary",
            SummaryTable::SalesSummary => "SELECT COUNT(*) FROM salessummary",
        };
        let count: i64 = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Pool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .map_err(|e| db_error("count warehouse rows", e))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Merges one table's rows; returns the rows inserted or updated.
    pub async fn merge(&self, rows: &SummaryRows) -> Result<u64, TaskError> {
        let loads = self.merge_run(std::slice::from_ref(rows)).await?;
        Ok(loads.first().map_or(0, |l| l.rows_merged))
    }

    /// Merges the rows of every table of a run in one transaction.
    pub async fn merge_run(&self, tables: &[SummaryRows]) -> Result<Vec<TableLoad>, TaskError> {
        let result = match &self.pool {
            Pool::Sqlite(pool) => merge_sqlite(pool, tables).await,
            Pool::Postgres(pool) => merge_postgres(pool, tables).await,
        };
        let merged = result.map_err(|e| db_error("merge into the warehouse", e))?;
        Ok(tables
            .iter()
            .zip(merged)
            .map(|(rows, rows_merged)| TableLoad { table: rows.table().name().to_owned(), rows_merged })
            .collect())
    }
}

/// One body for both backends: sqlx's per-database types make a generic
/// function's bounds longer than the code.
macro_rules! merge_tables {
    ($pool:expr, $tables:expr, $db:ty, $saleitem:expr, $sales:expr) => {{
        let mut tx = $pool.begin().await?;
        let mut merged = Vec::with_capacity($tables.len());
        for rows in $tables {
            let sql = MergeSql::parse(match rows.table() {
                SummaryTable::SaleItemSummary => $saleitem,
                SummaryTable::SalesSummary => $sales,
            });
            sqlx::query(sql.create_stage).execute(&mut *tx).await?;
            match rows {
                SummaryRows::SaleItemSummary(rows) => {
                    for chunk in rows.chunks(ROWS_PER_INSERT) {
                        QueryBuilder::<$db>::new(STAGE_SALEITEMSUMMARY)
                            .push_values(chunk, |mut b, r| {
                                b.push_bind(r.store_id.as_str())
                                    .push_bind(r.item_id.as_str())
                                    .push_bind(r.trans_date)
                                    .push_bind(r.item_name.as_deref())
                                    .push_bind(r.sale_amount_cents)
                                    .push_bind(r.tax_amount_cents)
                                    .push_bind(r.discount_amount_cents);
                            })
                            .build()
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                SummaryRows::SalesSummary(rows) => {
                    for chunk in rows.chunks(ROWS_PER_INSERT) {
                        QueryBuilder::<$db>::new(STAGE_SALESSUMMARY)
                            .push_values(chunk, |mut b, r| {
                                b.push_bind(r.store_id.as_str())
                                    .push_bind(r.trans_date)
                                    .push_bind(r.item_count)
                                    .push_bind(r.sale_amount_cents)
                                    .push_bind(r.tax_amount_cents)
                                    .push_bind(r.discount_amount_cents);
                            })
                            .build()
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            let done = sqlx::query(sql.merge).execute(&mut *tx).await?;
            merged.push(done.rows_affected());
            sqlx::query(sql.drop_stage).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(merged)
    }};
}

async fn merge_sqlite(pool: &SqlitePool, tables: &[SummaryRows]) -> Result<Vec<u64>, sqlx::Error> {
    merge_tables!(pool, tables, Sqlite, SQLITE_MERGE_SALEITEMSUMMARY, SQLITE_MERGE_SALESSUMMARY)
}

async fn merge_postgres(pool: &PgPool, tables: &[SummaryRows]) -> Result<Vec<u64>, sqlx::Error> {
    merge_tables!(pool, tables, Postgres, POSTGRES_MERGE_SALEITEMSUMMARY, POSTGRES_MERGE_SALESSUMMARY)
}

/// Rows the database refuses (a key twice in one run, a value out of range)
/// are `Edba.LoadFailed`; anything else (connection, pool, I/O) is transient.
fn db_error(context: &str, err: sqlx::Error) -> TaskError {
    if let sqlx::Error::Database(db) = &err {
        let data_exception = db.code().is_some_and(|code| code.starts_with("22"));
        if db.kind() != sqlx::error::ErrorKind::Other || data_exception {
            return TaskError::LoadFailed(format!("{context}: {err}"));
        }
    }
    TaskError::transient(context, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_merge_file_has_stage_merge_drop() {
        for (file, table) in [
            (SQLITE_MERGE_SALEITEMSUMMARY, "saleitemsummary"),
            (SQLITE_MERGE_SALESSUMMARY, "salessummary"),
            (POSTGRES_MERGE_SALEITEMSUMMARY, "saleitemsummary"),
            (POSTGRES_MERGE_SALESSUMMARY, "salessummary"),
        ] {
            let sql = MergeSql::parse(file);
            assert!(sql.create_stage.contains(&format!("CREATE TEMP TABLE stage_{table} (")));
            assert!(sql.merge.starts_with(&format!("INSERT INTO {table}\n")));
            assert!(sql.merge.contains("ON CONFLICT"));
            assert_eq!(sql.drop_stage, format!("DROP TABLE stage_{table};").trim_end_matches(';'));
        }
    }
}
