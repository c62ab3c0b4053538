//! The local warehouse's merge on real databases. Every case runs on SQLite (a
//! temporary file) and on PostgreSQL (a fresh database per test at
//! `EDBA_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the PostgreSQL cases fail, not skip, when the server is unreachable.

use edba_payloads::{LoadInput, LoadOutput, TableLoad};
use edba_tasks::load::{
    load, BoxFuture, LocalWarehouse, RunOutputReader, SaleItemSummaryRow, SalesSummaryRow, SummaryRows, SummaryTable,
    Warehouse,
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
        warehouse.ensure_schema().await.unwrap();
        let admin = SqlitePool::connect(&url).await.unwrap();
        Db { warehouse, admin: Admin::Sqlite(admin, dir) }
    }

    async fn postgres() -> Db {
        let database = ThrowawayDatabase::postgres("wh").await;
        let url = database.url.clone();
        let warehouse = LocalWarehouse::connect(&url).await.unwrap();
        warehouse.ensure_schema().await.unwrap();
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
    let rows = SummaryRows::SaleItemSummary(run_items());
    assert_eq!(db.warehouse.merge(&rows).await.unwrap(), 4);
    assert_eq!(db.warehouse.merge(&rows).await.unwrap(), 4, "a re-run updates the same 4 rows");

    assert_eq!(db.items().await, as_read(&run_items()));
});

on_both!(a_changed_amount_updates_its_row_and_other_keys_are_untouched, |db: Db| async move {
    db.warehouse.merge(&SummaryRows::SaleItemSummary(run_items())).await.unwrap();
    db.warehouse.merge(&SummaryRows::SalesSummary(run_days())).await.unwrap();

    // A later run: store 101's ITEM-1 on the 20th changed (a late sale and a
    // renamed item), and a new day for store 103.
    let later = vec![
        item("101", "ITEM-1", date!(2016 - 11 - 20), Some("Widget XL"), [2250, 88, 100]),
        item("103", "ITEM-1", date!(2016 - 11 - 22), Some("Widget XL"), [999, 1, 0]),
    ];
    assert_eq!(db.warehouse.merge(&SummaryRows::SaleItemSummary(later.clone())).await.unwrap(), 2);

    let mut expected = run_items();
    expected[0] = later[0].clone();
    expected.push(later[1].clone());
    assert_eq!(db.items().await, as_read(&expected));
    assert_eq!(db.days().await, days_as_read(&run_days()), "the other table is untouched");
});

on_both!(a_failing_row_rolls_back_every_table_of_the_run, |db: Db| async move {
    db.warehouse.merge(&SummaryRows::SalesSummary(run_days())).await.unwrap();

    // Valid new rows for one table, and a run that lists one key twice in the
    // other: nothing of the run may land.
    let mut duplicated = run_items();
    duplicated.push(item("101", "ITEM-1", date!(2016 - 11 - 20), Some("Widget"), [1, 1, 1]));
    let changed_days = vec![day("101", date!(2016 - 11 - 20), 9, [1, 2, 3])];
    let err = db
        .warehouse
        .merge_run(&[SummaryRows::SalesSummary(changed_days), SummaryRows::SaleItemSummary(duplicated)])
        .await
        .unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.LoadFailed", "{err}");
    assert_eq!(db.days().await, days_as_read(&run_days()));
    assert_eq!(db.items().await, vec![]);

    // The warehouse is usable afterwards (no staging table left behind).
    db.warehouse.merge(&SummaryRows::SaleItemSummary(run_items())).await.unwrap();
    assert_eq!(db.items().await, as_read(&run_items()));
});

on_both!(amounts_are_exact_to_the_cent_at_the_decimal_14_2_limits, |db: Db| async move {
    let max = 99_999_999_999_999; // 999 999 999 999.99
    let rows = vec![
        item("101", "BIG", date!(2016 - 11 - 20), None, [max, -max, 1]),
        item("101", "ODD", date!(2016 - 11 - 20), None, [10, 29, 57]),
    ];
    db.warehouse.merge(&SummaryRows::SaleItemSummary(rows.clone())).await.unwrap();

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

    let output = load(warehouse, &input).await.unwrap();

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
    let err = load(warehouse, &missing).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.LoadFailed");
});

#[tokio::test]
async fn postgres_refuses_an_amount_beyond_decimal_14_2() {
    let db = Db::postgres().await;
    let too_big = vec![item("101", "HUGE", date!(2016 - 11 - 20), None, [100_000_000_000_000, 0, 0])];

    let err = db.warehouse.merge(&SummaryRows::SaleItemSummary(too_big)).await.unwrap_err();

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
        table: SummaryTable,
    ) -> BoxFuture<'a, Result<SummaryRows, TaskError>> {
        Box::pin(async move {
            if output_prefix != self.prefix {
                return Err(TaskError::LoadFailed(format!("no output under {output_prefix}{table}/")));
            }
            Ok(match table {
                SummaryTable::SaleItemSummary => SummaryRows::SaleItemSummary(run_items()),
                SummaryTable::SalesSummary => SummaryRows::SalesSummary(run_days()),
            })
        })
    }
}
