//! Warehouse tables as planned, and the rows of a run's output table.
//!
//! A project declares a table by its name and key (`[[table]]` in
//! `edba.toml`); its columns and their types are the output schema of the job
//! SQL that writes it, as `edba check` plans it with the query engine. The
//! plan is deployed beside the project as `code/edba.tables.json`
//! ([`PlannedTables`]), so the load needs no query engine: it generates the
//! warehouse DDL and MERGE from these declarations ([`super::sql`]).
//!
//! Column types are the Spark SQL types the manifests use (`STRING`, `INT`,
//! `BIGINT`, `DECIMAL(p,s)`, `DATE`, `TIMESTAMP`, `BOOLEAN`, `DOUBLE`).
//! Names are SQL identifiers (`[a-z_][a-z0-9_]*`, at most 127 bytes), checked
//! before any of them reaches SQL text.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::TaskError;

/// The planned tables of the sample project, compiled in (a bucket without
/// `code/edba.tables.json` runs the sample).
pub const SAMPLE_TABLES: &str = include_str!("../../../sampledata/edba.tables.json");
/// Where `edba project push` puts the planned tables.
pub const TABLES_KEY: &str = "code/edba.tables.json";
/// The planned tables' file name beside a project's `edba.toml` (the sample
/// commits its own; it is never a data file).
pub const TABLES_FILE: &str = "edba.tables.json";
/// Longest identifier (Redshift's limit, in bytes).
pub const MAX_IDENTIFIER: usize = 127;

/// The document `code/edba.tables.json`: every warehouse table of a project,
/// as planned from its jobs' SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedTables {
    pub tables: Vec<TableSchema>,
}

/// One warehouse table: its key and its columns, in the job's output order
/// (Redshift's `COPY` from Parquet maps columns by position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    pub name: String,
    pub key: Vec<String>,
    pub columns: Vec<WarehouseColumn>,
}

/// A column of a warehouse table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseColumn {
    pub name: String,
    /// A Spark SQL type, as manifests write them.
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
    /// For `STRING`: the most characters a value holds, when the table
    /// declares it (the warehouse column is sized for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

/// The kind of a warehouse column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    BigInt,
    /// Precision and scale.
    Decimal(u8, u8),
    Date,
    /// UTC, microseconds.
    Timestamp,
    Bool,
    Double,
}

impl ColumnKind {
    /// Reads a Spark SQL type; `None` for any other text.
    pub fn parse(sql: &str) -> Option<ColumnKind> {
        Some(match sql {
            "STRING" => ColumnKind::Text,
            "INT" => ColumnKind::Int,
            "BIGINT" => ColumnKind::BigInt,
            "DATE" => ColumnKind::Date,
            "TIMESTAMP" => ColumnKind::Timestamp,
            "BOOLEAN" => ColumnKind::Bool,
            "DOUBLE" => ColumnKind::Double,
            _ => {
                let (p, s) = sql.strip_prefix("DECIMAL(")?.strip_suffix(')')?.split_once(',')?;
                let (precision, scale): (u8, u8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
                if precision == 0 || precision > 38 || scale > precision {
                    return None;
                }
                ColumnKind::Decimal(precision, scale)
            }
        })
    }
}

impl WarehouseColumn {
    /// The column's kind (checked by [`TableSchema::check`]; text otherwise).
    pub fn kind(&self) -> ColumnKind {
        ColumnKind::parse(&self.ty).unwrap_or(ColumnKind::Text)
    }
}

/// Whether `name` is an identifier edba puts into SQL text.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        && name.len() <= MAX_IDENTIFIER
}

impl TableSchema {
    /// Every problem of the table: names that are not identifiers, a column
    /// twice, an unknown type, a key column that is missing or nullable.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !is_identifier(&self.name) {
            problems.push(format!(
                "table name {:?} is not a SQL identifier (a-z, 0-9 and _, not starting with a digit)",
                self.name
            ));
        }
        if self.name.len() + "stage_".len() > MAX_IDENTIFIER {
            problems.push(format!("table name {} is longer than {} bytes", self.name, MAX_IDENTIFIER - "stage_".len()));
        }
        if self.key.is_empty() {
            problems.push(format!("table {}: the key names no column", self.name));
        }
        if self.columns.is_empty() {
            problems.push(format!("table {}: no columns", self.name));
        }
        let mut seen = HashSet::new();
        for column in &self.columns {
            if !is_identifier(&column.name) {
                problems.push(format!(
                    "table {}: column name {:?} is not a SQL identifier (a-z, 0-9 and _, not starting with a digit)",
                    self.name, column.name
                ));
            }
            if !seen.insert(column.name.as_str()) {
                problems.push(format!("table {}: column {} appears twice", self.name, column.name));
            }
            if ColumnKind::parse(&column.ty).is_none() {
                problems
                    .push(format!("table {}: column {} has the unknown type {:?}", self.name, column.name, column.ty));
            }
            if column.max_length == Some(0) {
                problems.push(format!("table {}: column {}: max_length must be at least 1", self.name, column.name));
            }
        }
        for key in &self.key {
            match self.column(key) {
                None => problems.push(format!("table {}: key column {key} is not a column", self.name)),
                Some(c) if c.nullable => {
                    problems.push(format!("table {}: key column {key} is nullable (a key is never NULL)", self.name))
                }
                Some(_) => {}
            }
        }
        problems
    }

    pub fn column(&self, name: &str) -> Option<&WarehouseColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_key(&self, name: &str) -> bool {
        self.key.iter().any(|k| k == name)
    }
}

impl PlannedTables {
    /// Parses and checks the document; every problem in one error.
    pub fn parse(json: &str) -> Result<PlannedTables, String> {
        let tables: PlannedTables = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut problems: Vec<String> = tables.tables.iter().flat_map(TableSchema::problems).collect();
        let mut names = HashSet::new();
        for table in &tables.tables {
            if !names.insert(table.name.as_str()) {
                problems.push(format!("table {} is planned twice", table.name));
            }
        }
        if problems.is_empty() {
            Ok(tables)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The sample project's tables (`sampledata/edba.tables.json`).
    pub fn sample() -> Arc<PlannedTables> {
        static SAMPLE: OnceLock<Arc<PlannedTables>> = OnceLock::new();
        SAMPLE
            .get_or_init(|| {
                Arc::new(
                    PlannedTables::parse(SAMPLE_TABLES).unwrap_or_else(|e| panic!("sampledata/edba.tables.json: {e}")),
                )
            })
            .clone()
    }

    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The document as deployed: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("planned tables serialize");
        json.push('\n');
        json
    }
}

/// The values of one column of a run's output, typed by the column's kind.
/// Decimals are exact text (`-12.30`, always `scale` fraction digits).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Decimal(Vec<Option<String>>),
    Date(Vec<Option<time::Date>>),
    Timestamp(Vec<Option<time::PrimitiveDateTime>>),
    Bool(Vec<Option<bool>>),
    Double(Vec<Option<f64>>),
}

impl ColumnValues {
    /// An empty column for values of `kind`.
    pub fn empty(kind: ColumnKind) -> ColumnValues {
        match kind {
            ColumnKind::Text => ColumnValues::Text(Vec::new()),
            ColumnKind::Int | ColumnKind::BigInt => ColumnValues::Int(Vec::new()),
            ColumnKind::Decimal(..) => ColumnValues::Decimal(Vec::new()),
            ColumnKind::Date => ColumnValues::Date(Vec::new()),
            ColumnKind::Timestamp => ColumnValues::Timestamp(Vec::new()),
            ColumnKind::Bool => ColumnValues::Bool(Vec::new()),
            ColumnKind::Double => ColumnValues::Double(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Text(v) | ColumnValues::Decimal(v) => v.len(),
            ColumnValues::Int(v) => v.len(),
            ColumnValues::Date(v) => v.len(),
            ColumnValues::Timestamp(v) => v.len(),
            ColumnValues::Bool(v) => v.len(),
            ColumnValues::Double(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            ColumnValues::Text(v) | ColumnValues::Decimal(v) => v[row].is_none(),
            ColumnValues::Int(v) => v[row].is_none(),
            ColumnValues::Date(v) => v[row].is_none(),
            ColumnValues::Timestamp(v) => v[row].is_none(),
            ColumnValues::Bool(v) => v[row].is_none(),
            ColumnValues::Double(v) => v[row].is_none(),
        }
    }

    fn fits(&self, kind: ColumnKind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(&ColumnValues::empty(kind))
    }
}

/// The rows of one output table, column by column, in the table's order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: Arc<TableSchema>,
    pub columns: Vec<ColumnValues>,
}

impl TableRows {
    /// Rows for `table` with no values yet.
    pub fn empty(table: Arc<TableSchema>) -> TableRows {
        let columns = table.columns.iter().map(|c| ColumnValues::empty(c.kind())).collect();
        TableRows { table, columns }
    }

    pub fn name(&self) -> &str {
        &self.table.name
    }

    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, ColumnValues::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows fit their table: one value list per column, of the column's
    /// kind, all of one length, and no NULL in a column that is not nullable.
    pub fn check(&self) -> Result<(), TaskError> {
        let table = &self.table;
        let bad = |m: String| Err(TaskError::LoadFailed(format!("table {}: {m}", table.name)));
        if self.columns.len() != table.columns.len() {
            return bad(format!("{} value lists for {} columns", self.columns.len(), table.columns.len()));
        }
        let rows = self.len();
        for (column, values) in table.columns.iter().zip(&self.columns) {
            if !values.fits(column.kind()) {
                return bad(format!("column {} holds values of another type than {}", column.name, column.ty));
            }
            if values.len() != rows {
                return bad(format!("column {} holds {} values for {rows} rows", column.name, values.len()));
            }
            if !column.nullable {
                if let Some(row) = (0..rows).find(|&row| values.is_null(row)) {
                    return bad(format!("column {} is NULL in row {}", column.name, row + 1));
                }
            }
        }
        Ok(())
    }
}

/// An unscaled decimal as exact text with `scale` fraction digits.
pub fn decimal_text(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

impl fmt::Display for TableSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (key {})", self.name, self.key.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_plan_parses_and_keeps_its_key_columns_not_null() {
        let sample = PlannedTables::sample();
        let names: Vec<&str> = sample.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["saleitemsummary", "salessummary"]);
        let items = sample.table("saleitemsummary").unwrap();
        assert_eq!(items.key, ["store_id", "item_id", "trans_date"]);
        assert!(items.column("item_name").unwrap().nullable);
        assert_eq!(items.column("sale_amount").unwrap().kind(), ColumnKind::Decimal(14, 2));
    }

    #[test]
    fn names_that_could_reach_sql_text_are_refused() {
        for good in ["salessummary", "_t", "daily_revenue_2"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "2x", "Sales", "a-b", "a b", "a\"b", "tbl;drop", "é", &"a".repeat(128)] {
            assert!(!is_identifier(bad), "{bad}");
        }
        let doc = r#"{"tables":[{"name":"t","key":["k","x"],"columns":[
            {"name":"k","type":"STRING","nullable":true},
            {"name":"K","type":"VARCHAR","nullable":false},
            {"name":"v","type":"DECIMAL(40,2)","nullable":false},
            {"name":"v","type":"INT","nullable":false}]}]}"#;
        let err = PlannedTables::parse(doc).unwrap_err();
        for part in [
            "column name \"K\" is not a SQL identifier",
            "column K has the unknown type \"VARCHAR\"",
            "column v has the unknown type \"DECIMAL(40,2)\"",
            "column v appears twice",
            "key column x is not a column",
            "key column k is nullable",
        ] {
            assert!(err.contains(part), "{part} in {err}");
        }
    }

    #[test]
    fn decimals_are_written_exactly_at_their_scale() {
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(5, 2), "0.05");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(123_456, 2), "1234.56");
        assert_eq!(decimal_text(-99_999_999_999_999, 2), "-999999999999.99");
        assert_eq!(decimal_text(42, 0), "42");
        assert_eq!(decimal_text(i128::MIN, 10), "-17014118346046923173168730371.5884105728");
    }

    #[test]
    fn rows_that_do_not_fit_their_table_are_refused() {
        let table = Arc::new(PlannedTables::sample().table("salessummary").unwrap().clone());
        let mut rows = TableRows::empty(table.clone());
        assert!(rows.check().is_ok());
        rows.columns[0] = ColumnValues::Text(vec![None]);
        let err = rows.check().unwrap_err().to_string();
        assert!(err.contains("table salessummary: column store_id is NULL in row 1"), "{err}");
        rows.columns[0] = ColumnValues::Text(vec![Some("S1".into())]);
        let err = rows.check().unwrap_err().to_string();
        assert!(err.contains("column trans_date holds 0 values for 1 rows"), "{err}");
        let mut rows = TableRows::empty(table);
        rows.columns[2] = ColumnValues::Text(vec![]);
        let err = rows.check().unwrap_err().to_string();
        assert!(err.contains("column item_count holds values of another type than BIGINT"), "{err}");
    }
}
