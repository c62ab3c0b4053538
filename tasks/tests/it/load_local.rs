//! The local warehouse's merge on real databases. Every case runs on SQLite (a
//! temporary file) and on PostgreSQL (a fresh database per test at
//! `EDBA_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the PostgreSQL cases fail, not skip, when the server is unreachable.

use edba_payloads::{LoadInput, LoadOutput, TableLoad};
use std::sync::Arc;

use edba_tasks::load::{
    load, BoxFuture, ColumnValues, LocalWarehouse, PlannedTables, RunOutputReader, SaleItemSummaryRow, SalesSummaryRow,
    SummaryRows, SummaryTable, TableRows, TableSchema, Warehouse, WarehouseColumn,
};
use edba_tasks::TaskError;
use edba_testkit::ThrowawayDatabase;
use pretty_assertions::assert_eq;
use sqlx::{PgPool, SqlitePool};
use time::macros::date;

// ---------------------------------------------------------------- fixtures

fn item(store: &str, item: &str, day: time::Date, name: Option<&str>, cents: [i64; 3]) -> SaleItemSummaryRow {
    SaleItemSummaryRow {
        store_id: store.into(),
        item_id: item.into(),
        trans_date: day,
        item_name: name.map(str::to_owned),
        sale_amount_cents: cents[0],
        tax_amount_cents: cents[1],
        discount_amount_cents: cents[2],
    }
}

fn day(store: &str, day: time::Date, item_count: i64, cents: [i64; 3]) -> SalesSummaryRow {
    SalesSummaryRow {
        store_id: store.into(),
        trans_date: day,
        item_count,
        sale_amount_cents: cents[0],
        tax_amount_cents: cents[1],
        discount_amount_cents: cents[2],
    }
}

fn run_items() -> Vec<SaleItemSummaryRow> {
    vec![
        item("101", "ITEM-1", date!(2016 - 11 - 20), Some("Widget, large"), [1250, 88, 100]),
        item("101", "ITEM-2", date!(2016 - 11 - 20), Some("Gadget"), [525, 0, 0]),
        item("102", "ITEM-9", date!(2016 - 11 - 20), None, [777, 0, 0]),
        item("102", "ITEM-2", date!(2016 - 11 - 21), Some("Gadget"), [-100, 0, 50]),
    ]
}

fn run_days() -> Vec<SalesSummaryRow> {
    vec![
        day("101", date!(2016 - 11 - 20), 2, [1775, 88, 100]),
        day("102", date!(2016 - 11 - 20), 1, [777, 0, 0]),
        day("102", date!(2016 - 11 - 21), 1, [-100, 0, 50]),
    ]
}

/// A row as read back: (store, item, day, name, sale, tax, discount cents).
type ItemRow = (String, String, String, Option<String>, i64, i64, i64);
/// (store, day, item_count, sale, tax, discount cents).
type DayRow = (String, String, i64, i64, i64, i64);

fn as_read(rows: &[SaleItemSummaryRow]) -> Vec<ItemRow> {
    let mut out: Vec<ItemRow> = rows
        .iter()
        .map(|r| {
            (
                r.store_id.clone(),
                r.item_id.clone(),
                r.trans_date.to_string(),
                r.item_name.clone(),
                r.sale_amount_cents,
                r.tax_amount_cents,
                r.discount_amount_cents,
            )
        })
        .collect();
    out.sort();
    out
}

fn days_as_read(rows: &[SalesSummaryRow]) -> Vec<DayRow> {
    let mut out: Vec<DayRow> = rows
        .iter()
        .map(|r| {
            (
                r.store_id.clone(),
                r.trans_date.to_string(),
                r.item_count,
                r.sale_amount_cents,
                r.tax_amount_cents,
                r.discount_amount_cents,
            )
        })
        .collect();
    out.sort();
    out
}

// ------------------------------------------------------------- databases

const SELECT_ITEMS: &str = "SELECT store_id, item_id, CAST(trans_date AS TEXT), item_name, \
     CAST(ROUND(sale_amount * 100) AS BIGINT), CAST(ROUND(tax_amount * 100) AS BIGINT), \
     CAST(ROUND(discount_amount * 100) AS BIGINT) \
     FROM saleitemsummary ORDER BY store_id, item_id, trans_date";
const SELECT_DAYS: &str = "SELECT store_id, CAST(trans_date AS TEXT), item_count, \
     CAST(ROUND(sale_amount * 100) AS BIGINT), CAST(ROUND(tax_amount * 100) AS BIGINT), \
     CAST(ROUND(discount_amount * 100) AS BIGINT) \
     FROM salessummary ORDER BY store_id, trans_date";

enum Admin {
    Sqlite(SqlitePool, #[allow(dead_code)] tempfile::TempDir),
    Postgres(PgPool, #[allow(dead_code)] ThrowawayDatabase),
}

struct Db {
    warehouse: LocalWarehouse,
    admin: Admin,
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("warehouse.db").display());
        let warehouse = LocalWarehouse::connect(&url).await.unwrap();
        warehouse.ensure_tables(&PlannedTables::sample().tables).await.unwrap();
        let admin = SqlitePool::connect(&url).await.unwrap();
        Db { warehouse, admin: Admin::Sqlite(admin, dir) }
    }

    async fn postgres() -> Db {
        let database = ThrowawayDatabase::postgres("wh").await;
        let url = database.url.clone();
        let warehouse = LocalWarehouse::connect(&url).await.unwrap();
        warehouse.ensure_tables(&PlannedTables::sample().tables).await.unwrap();
        let admin = PgPool::connect(&url).await.unwrap();
        Db { warehouse, admin: Admin::Postgres(admin, database) }
    }

    async fn items(&self) -> Vec<ItemRow> {
        match &self.admin {
            Admin::Sqlite(pool, _) => sqlx::query_as(SELECT_ITEMS).fetch_all(pool).await.unwrap(),
            Admin::Postgres(pool, _) => sqlx::query_as(SELECT_ITEMS).fetch_all(pool).await.unwrap(),
        }
    }

    async fn days(&self) -> Vec<DayRow> {
        match &self.admin {
            Admin::Sqlite(pool, _) => sqlx::query_as(SELECT_DAYS).fetch_all(pool).await.unwrap(),
            Admin::Postgres(pool, _) => sqlx::query_as(SELECT_DAYS).fetch_all(pool).await.unwrap(),
        }
    }
}

/// Runs a case on SQLite and on PostgreSQL.
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            use pretty_assertions::assert_eq;

            #[tokio::test]
            async fn sqlite() {
                ($body)(Db::sqlite().await).await
            }

            #[tokio::test]
            async fn postgres() {
                ($body)(Db::postgres().await).await
            }
        }
    };
}

// ----------------------------------------------------------------- cases

on_both!(merging_the_same_rows_twice_never_duplicates, |db: Db| async move {
    let rows = SummaryRows::SaleItemSummary(run_items()).to_table_rows();
    assert_eq!(db.warehouse.merge(&rows).await.unwrap(), 4);
    assert_eq!(db.warehouse.merge(&rows).await.unwrap(), 4, "a re-run updates the same 4 rows");

    assert_eq!(db.items().await, as_read(&run_items()));
});

on_both!(a_changed_amount_updates_its_row_and_other_keys_are_untouched, |db: Db| async move {
    db.warehouse.merge(&SummaryRows::SaleItemSummary(run_items()).to_table_rows()).await.unwrap();
    db.warehouse.merge(&SummaryRows::SalesSummary(run_days()).to_table_rows()).await.unwrap();

    // A later run: store 101's ITEM-1 on the 20th changed (a late sale and a
    // renamed item), and a new day for store 103.
    let later = vec![
        item("101", "ITEM-1", date!(2016 - 11 - 20), Some("Widget XL"), [2250, 88, 100]),
        item("103", "ITEM-1", date!(2016 - 11 - 22), Some("Widget XL"), [999, 1, 0]),
    ];
    assert_eq!(db.warehouse.merge(&SummaryRows::SaleItemSummary(later.clone()).to_table_rows()).await.unwrap(), 2);

    let mut expected = run_items();
    expected[0] = later[0].clone();
    expected.push(later[1].clone());
    assert_eq!(db.items().await, as_read(&expected));
    assert_eq!(db.days().await, days_as_read(&run_days()), "the other table is untouched");
});

on_both!(a_failing_row_rolls_back_every_table_of_the_run, |db: Db| async move {
    db.warehouse.merge(&SummaryRows::SalesSummary(run_days()).to_table_rows()).await.unwrap();

    // Valid new rows for one table, and a run that lists one key twice in the
    // other: nothing of the run may land.
    let mut duplicated = run_items();
    duplicated.push(item("101", "ITEM-1", date!(2016 - 11 - 20), Some("Widget"), [1, 1, 1]));
    let changed_days = vec![day("101", date!(2016 - 11 - 20), 9, [1, 2, 3])];
    let err = db
        .warehouse
        .merge_run(&[
            SummaryRows::SalesSummary(changed_days).to_table_rows(),
            SummaryRows::SaleItemSummary(duplicated).to_table_rows(),
        ])
        .await
        .unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.LoadFailed", "{err}");
    assert_eq!(db.days().await, days_as_read(&run_days()));
    assert_eq!(db.items().await, vec![]);

    // The warehouse is usable afterwards (no staging table left behind).
    db.warehouse.merge(&SummaryRows::SaleItemSummary(run_items()).to_table_rows()).await.unwrap();
    assert_eq!(db.items().await, as_read(&run_items()));
});

on_both!(amounts_are_exact_to_the_cent_at_the_decimal_14_2_limits, |db: Db| async move {
    let max = 99_999_999_999_999; // 999 999 999 999.99
    let rows = vec![
        item("101", "BIG", date!(2016 - 11 - 20), None, [max, -max, 1]),
        item("101", "ODD", date!(2016 - 11 - 20), None, [10, 29, 57]),
    ];
    db.warehouse.merge(&SummaryRows::SaleItemSummary(rows.clone()).to_table_rows()).await.unwrap();

    assert_eq!(db.items().await, as_read(&rows));
});

on_both!(load_merges_what_the_run_output_reader_returns, |db: Db| async move {
    let reader = FixedOutput { prefix: "output/il-sales/run-1/" };
    let input = LoadInput {
        run_id: "run-1".into(),
        job_id: "il-sales".into(),
        output_prefix: "output/il-sales/run-1/".into(),
        tables: vec!["saleitemsummary".into(), "salessummary".into()],
    };
    let warehouse = Warehouse::Local { warehouse: &db.warehouse, output: &reader };

    let output = load(warehouse, &input, &PlannedTables::sample()).await.unwrap();

    assert_eq!(
        output,
        LoadOutput {
            run_id: "run-1".into(),
            tables: vec![
                TableLoad { table: "saleitemsummary".into(), rows_merged: 4 },
                TableLoad { table: "salessummary".into(), rows_merged: 3 },
            ],
        }
    );
    assert_eq!(db.items().await, as_read(&run_items()));
    assert_eq!(db.days().await, days_as_read(&run_days()));

    let missing = LoadInput { output_prefix: "output/il-sales/run-2/".into(), ..input };
    let err = load(warehouse, &missing, &PlannedTables::sample()).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.LoadFailed");
});

/// A project's own table, not the sample's: every column type, a reserved
/// word as a column name, NULLs where the plan allows them.
fn events_table() -> Arc<TableSchema> {
    let column = |name: &str, ty: &str, nullable: bool| WarehouseColumn {
        name: name.into(),
        ty: ty.into(),
        nullable,
        max_length: None,
    };
    Arc::new(TableSchema {
        name: "events".into(),
        key: vec!["region".into(), "at".into()],
        columns: vec![
            column("region", "STRING", false),
            column("at", "TIMESTAMP", false),
            column("order", "STRING", true),
            column("n", "INT", true),
            column("price", "DECIMAL(20,4)", true),
            column("day", "DATE", true),
            column("ok", "BOOLEAN", true),
            column("ratio", "DOUBLE", true),
        ],
    })
}

fn events(prices: [Option<&str>; 2], order: [Option<&str>; 2]) -> TableRows {
    let at = |h: u8| {
        Some(time::PrimitiveDateTime::new(date!(2026 - 11 - 30), time::Time::from_hms_micro(h, 5, 6, 7).unwrap()))
    };
    TableRows {
        table: events_table(),
        columns: vec![
            ColumnValues::Text(vec![Some("EU".into()), Some("EU".into())]),
            ColumnValues::Timestamp(vec![at(9), at(23)]),
            ColumnValues::Text(order.map(|o| o.map(str::to_owned)).to_vec()),
            ColumnValues::Int(vec![Some(-7), None]),
            ColumnValues::Decimal(prices.map(|p| p.map(str::to_owned)).to_vec()),
            ColumnValues::Date(vec![Some(date!(2026 - 12 - 01)), None]),
            ColumnValues::Bool(vec![Some(true), None]),
            ColumnValues::Double(vec![Some(0.25), None]),
        ],
    }
}

/// (region, at, order, n, price as text, day, ok, ratio) as both databases show them.
type EventRow =
    (String, String, Option<String>, Option<i64>, Option<String>, Option<String>, Option<bool>, Option<f64>);

async fn read_events(db: &Db) -> Vec<EventRow> {
    match &db.admin {
        Admin::Sqlite(pool, _) => sqlx::query_as(
            "SELECT region, at, \"order\", n, printf('%.4f', price), day, ok, ratio FROM events ORDER BY at",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Admin::Postgres(pool, _) => sqlx::query_as(
            "SELECT region, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'), \"order\", n::BIGINT, price::TEXT, day::TEXT, ok, ratio \
             FROM events ORDER BY at",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    }
}

on_both!(a_project_table_of_every_type_is_created_and_merged_by_its_key, |db: Db| async move {
    let first = events([Some("12.3456"), None], [Some("A-1"), None]);
    assert_eq!(db.warehouse.merge(&first).await.unwrap(), 2);
    // A re-run with a changed price and order: the same two rows, updated.
    let again = events([Some("-0.0001"), Some("99999999.5000")], [None, Some("B-2")]);
    assert_eq!(db.warehouse.merge(&again).await.unwrap(), 2);
    assert_eq!(db.warehouse.row_count("events").await.unwrap(), 2);

    let rows = read_events(&db).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "EU");
    assert!(rows[0].1.starts_with("2026-11-30 09:05:06.000007"), "{}", rows[0].1);
    assert_eq!(rows[0].2, None);
    assert_eq!(rows[0].3, Some(-7));
    assert_eq!(rows[0].4.as_deref(), Some("-0.0001"));
    assert_eq!(rows[0].5.as_deref(), Some("2026-12-01"));
    assert_eq!(rows[0].6, Some(true));
    assert_eq!(rows[0].7, Some(0.25));
    assert!(rows[1].1.starts_with("2026-11-30 23:05:06.000007"), "{}", rows[1].1);
    assert_eq!((rows[1].2.as_deref(), rows[1].3, rows[1].4.as_deref()), (Some("B-2"), None, Some("99999999.5000")));
    assert_eq!((rows[1].5.as_deref(), rows[1].6, rows[1].7), (None, None, None));
});

on_both!(rows_that_break_their_table_never_reach_it, |db: Db| async move {
    let mut null_key = events([None, None], [None, None]);
    null_key.columns[0] = ColumnValues::Text(vec![Some("EU".into()), None]);
    let err = db.warehouse.merge(&null_key).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.LoadFailed", "{err}");
    assert!(err.to_string().contains("column region is NULL in row 2"), "{err}");

    let mut wrong_type = events([None, None], [None, None]);
    wrong_type.columns[3] = ColumnValues::Text(vec![None, None]);
    let err = db.warehouse.merge(&wrong_type).await.unwrap_err();
    assert!(err.to_string().contains("column n holds values of another type than INT"), "{err}");

    let mut hostile = events([None, None], [None, None]);
    hostile.table = Arc::new(TableSchema { name: "events; DROP TABLE x".into(), ..(*events_table()).clone() });
    let err = db.warehouse.merge(&hostile).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput", "{err}");
    assert!(db.warehouse.row_count("events; DROP TABLE x").await.is_err());
});

#[tokio::test]
async fn postgres_refuses_an_amount_beyond_decimal_14_2() {
    let db = Db::postgres().await;
    let too_big = vec![item("101", "HUGE", date!(2016 - 11 - 20), None, [100_000_000_000_000, 0, 0])];

    let err = db.warehouse.merge(&SummaryRows::SaleItemSummary(too_big).to_table_rows()).await.unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.LoadFailed", "{err}");
    assert_eq!(db.items().await, vec![]);
}

#[tokio::test]
async fn an_unknown_warehouse_url_is_invalid_input() {
    let err = LocalWarehouse::connect("mysql://root@127.0.0.1/x").await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
}

/// The run output of run-1 only; any other run has no output.
struct FixedOutput {
    prefix: &'static str,
}

impl RunOutputReader for FixedOutput {
    fn read_table<'a>(
        &'a self,
        output_prefix: &'a str,
        table: &'a Arc<TableSchema>,
    ) -> BoxFuture<'a, Result<TableRows, TaskError>> {
        Box::pin(async move {
            if output_prefix != self.prefix {
                return Err(TaskError::LoadFailed(format!("no output under {output_prefix}{}/", table.name)));
            }
            Ok(match SummaryTable::from_name(&table.name) {
                Some(SummaryTable::SaleItemSummary) => SummaryRows::SaleItemSummary(run_items()).to_table_rows(),
                Some(SummaryTable::SalesSummary) => SummaryRows::SalesSummary(run_days()).to_table_rows(),
                None => return Err(TaskError::LoadFailed(format!("no table {}", table.name))),
            })
        })
    }
}
