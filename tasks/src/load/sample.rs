//! The sample project's two tables as Rust rows: what its tests and
//! benchmarks compare a run's output with. The load itself knows no table;
//! these convert to and from [`TableRows`] by the sample's plan.

use std::sync::Arc;

use super::table::{decimal_text, ColumnValues, PlannedTables, TableRows, TableSchema};
use crate::TaskError;

/// The sample project's warehouse tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SummaryTable {
    /// One row per (store_id, item_id, trans_date).
    SaleItemSummary,
    /// One row per (store_id, trans_date).
    SalesSummary,
}

impl SummaryTable {
    pub const ALL: [SummaryTable; 2] = [SummaryTable::SaleItemSummary, SummaryTable::SalesSummary];

    pub const fn name(self) -> &'static str {
        match self {
            SummaryTable::SaleItemSummary => "saleitemsummary",
            SummaryTable::SalesSummary => "salessummary",
        }
    }

    pub fn from_name(name: &str) -> Option<SummaryTable> {
        SummaryTable::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The table as the sample plans it (`sampledata/edba.tables.json`).
    pub fn schema(self) -> Arc<TableSchema> {
        Arc::new(PlannedTables::sample().table(self.name()).expect("the sample plans its tables").clone())
    }
}

impl std::fmt::Display for SummaryTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A row of `saleitemsummary`. Amounts are cents (`DECIMAL(14,2)` unscaled).
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

/// The rows of one of the sample's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryRows {
    SaleItemSummary(Vec<SaleItemSummaryRow>),
    SalesSummary(Vec<SalesSummaryRow>),
}

fn text(values: impl Iterator<Item = String>) -> ColumnValues {
    ColumnValues::Text(values.map(Some).collect())
}

fn cents(values: impl Iterator<Item = i64>) -> ColumnValues {
    ColumnValues::Decimal(values.map(|c| Some(decimal_text(i128::from(c), 2))).collect())
}

fn dates(values: impl Iterator<Item = time::Date>) -> ColumnValues {
    ColumnValues::Date(values.map(Some).collect())
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

    /// The rows as the load takes them, by the sample's plan.
    pub fn to_table_rows(&self) -> TableRows {
        let columns = match self {
            SummaryRows::SaleItemSummary(rows) => vec![
                text(rows.iter().map(|r| r.store_id.clone())),
                text(rows.iter().map(|r| r.item_id.clone())),
                dates(rows.iter().map(|r| r.trans_date)),
                ColumnValues::Text(rows.iter().map(|r| r.item_name.clone()).collect()),
                cents(rows.iter().map(|r| r.sale_amount_cents)),
                cents(rows.iter().map(|r| r.tax_amount_cents)),
                cents(rows.iter().map(|r| r.discount_amount_cents)),
            ],
            SummaryRows::SalesSummary(rows) => vec![
                text(rows.iter().map(|r| r.store_id.clone())),
                dates(rows.iter().map(|r| r.trans_date)),
                ColumnValues::Int(rows.iter().map(|r| Some(r.item_count)).collect()),
                cents(rows.iter().map(|r| r.sale_amount_cents)),
                cents(rows.iter().map(|r| r.tax_amount_cents)),
                cents(rows.iter().map(|r| r.discount_amount_cents)),
            ],
        };
        TableRows { table: self.table().schema(), columns }
    }

    /// The sample's rows back from the load's form (a run's output read by
    /// the sample's plan); a row that does not fit is [`TaskError::LoadFailed`].
    pub fn from_table_rows(rows: &TableRows) -> Result<SummaryRows, TaskError> {
        rows.check()?;
        let table = SummaryTable::from_name(rows.name())
            .ok_or_else(|| TaskError::LoadFailed(format!("{} is not a table of the sample", rows.name())))?;
        let col = |name: &str| {
            let index = rows.table.columns.iter().position(|c| c.name == name);
            index.map(|i| &rows.columns[i]).ok_or_else(|| TaskError::LoadFailed(format!("no column {name}")))
        };
        let text_at = |name: &str, i: usize| match col(name)? {
            ColumnValues::Text(v) => Ok(v[i].clone()),
            _ => Err(TaskError::LoadFailed(format!("column {name} is not text"))),
        };
        let required = |name: &str, i: usize| {
            text_at(name, i)?.ok_or_else(|| TaskError::LoadFailed(format!("column {name} is NULL in row {}", i + 1)))
        };
        let date_at = |name: &str, i: usize| match col(name)? {
            ColumnValues::Date(v) => v[i].ok_or_else(|| TaskError::LoadFailed(format!("column {name} is NULL"))),
            _ => Err(TaskError::LoadFailed(format!("column {name} is not a date"))),
        };
        let cents_at = |name: &str, i: usize| match col(name)? {
            ColumnValues::Decimal(v) => v[i]
                .as_deref()
                .and_then(|d| d.replace('.', "").parse::<i64>().ok())
                .ok_or_else(|| TaskError::LoadFailed(format!("column {name} is not an amount in row {}", i + 1))),
            _ => Err(TaskError::LoadFailed(format!("column {name} is not a decimal"))),
        };
        let n = rows.len();
        Ok(match table {
            SummaryTable::SaleItemSummary => SummaryRows::SaleItemSummary(
                (0..n)
                    .map(|i| {
                        Ok(SaleItemSummaryRow {
                            store_id: required("store_id", i)?,
                            item_id: required("item_id", i)?,
                            trans_date: date_at("trans_date", i)?,
                            item_name: text_at("item_name", i)?,
                            sale_amount_cents: cents_at("sale_amount", i)?,
                            tax_amount_cents: cents_at("tax_amount", i)?,
                            discount_amount_cents: cents_at("discount_amount", i)?,
                        })
                    })
                    .collect::<Result<_, TaskError>>()?,
            ),
            SummaryTable::SalesSummary => SummaryRows::SalesSummary(
                (0..n)
                    .map(|i| {
                        Ok(SalesSummaryRow {
                            store_id: required("store_id", i)?,
                            trans_date: date_at("trans_date", i)?,
                            item_count: match col("item_count")? {
                                ColumnValues::Int(v) => v[i].unwrap_or_default(),
                                _ => return Err(TaskError::LoadFailed("column item_count is not an integer".into())),
                            },
                            sale_amount_cents: cents_at("sale_amount", i)?,
                            tax_amount_cents: cents_at("tax_amount", i)?,
                            discount_amount_cents: cents_at("discount_amount", i)?,
                        })
                    })
                    .collect::<Result<_, TaskError>>()?,
            ),
        })
    }
}

impl From<&SummaryRows> for TableRows {
    fn from(rows: &SummaryRows) -> TableRows {
        rows.to_table_rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_rows_go_through_the_generic_form_unchanged() {
        let day = time::macros::date!(2016 - 11 - 20);
        let rows = SummaryRows::SaleItemSummary(vec![SaleItemSummaryRow {
            store_id: "101".into(),
            item_id: "ITEM-1".into(),
            trans_date: day,
            item_name: None,
            sale_amount_cents: -99_999_999_999_999,
            tax_amount_cents: 5,
            discount_amount_cents: 0,
        }]);
        let generic = rows.to_table_rows();
        generic.check().unwrap();
        assert_eq!(SummaryRows::from_table_rows(&generic).unwrap(), rows);
    }
}
