//! The local side of the load task: a run's Parquet output, read back from the
//! local S3 into the warehouse's typed rows.
//!
//! Every `*.parquet` object under `<output_prefix><table>/` is read (the
//! local runner writes one, Spark one per partition; markers and checksums
//! are skipped). Columns are found by name and normalised with Arrow casts
//! that cannot lose data: any string type to text, any integer type to
//! `i64`, `DATE` to days, and a decimal only when its scale is 2, to exact
//! integer cents.

use aws_sdk_s3::error::DisplayErrorContext;
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use edba_payloads::{LoadInput, LoadOutput};
use edba_tasks::load::{
    load, BoxFuture, LocalWarehouse, RunOutputReader, SaleItemSummaryRow, SalesSummaryRow, SummaryRows, SummaryTable,
    Warehouse,
};
use edba_tasks::TaskError;

/// Reads a run's output tables from a bucket of the local S3.
#[derive(Debug, Clone)]
pub struct S3RunOutput {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

impl RunOutputReader for S3RunOutput {
    fn read_table<'a>(
        &'a self,
        output_prefix: &'a str,
        table: SummaryTable,
    ) -> BoxFuture<'a, Result<SummaryRows, TaskError>> {
        Box::pin(read_output_table(&self.s3, &self.bucket, output_prefix, table))
    }
}

/// The load task on one machine: reads each table of `input` from
/// `s3://<bucket>/<output_prefix><table>/` and merges them all into
/// `warehouse` in one transaction (see [`edba_tasks::load::load`]).
pub async fn load_run_output(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    input: &LoadInput,
    warehouse: &LocalWarehouse,
) -> Result<LoadOutput, TaskError> {
    let output = S3RunOutput { s3: s3.clone(), bucket: bucket.to_owned() };
    load(Warehouse::Local { warehouse, output: &output }, input).await
}

/// The rows of one output table. A table without Parquet is
/// [`TaskError::LoadFailed`], as is a file with missing or mistyped columns;
/// trouble reaching S3 is [`TaskError::Transient`].
pub async fn read_output_table(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    output_prefix: &str,
    table: SummaryTable,
) -> Result<SummaryRows, TaskError> {
    let folder = format!("{output_prefix}{table}/");
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&folder)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| transient(&format!("list s3://{bucket}/{folder}"), e))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key()).filter(|k| is_data_file(k)).map(str::to_owned));
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    if keys.is_empty() {
        return Err(TaskError::LoadFailed(format!(
            "the run wrote no Parquet for table {table} under s3://{bucket}/{folder}"
        )));
    }
    keys.sort();

    let mut rows = match table {
        SummaryTable::SaleItemSummary => SummaryRows::SaleItemSummary(Vec::new()),
        SummaryTable::SalesSummary => SummaryRows::SalesSummary(Vec::new()),
    };
    for key in keys {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| transient(&format!("read s3://{bucket}/{key}"), e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| TaskError::transient(&format!("read s3://{bucket}/{key}"), e))?
            .into_bytes();
        let bad = |e: &dyn std::fmt::Display| TaskError::LoadFailed(format!("s3://{bucket}/{key}: {e}"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.build()).map_err(|e| bad(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| bad(&e))?;
            match &mut rows {
                SummaryRows::SaleItemSummary(out) => sale_item_rows(&batch, out).map_err(|e| bad(&e))?,
                SummaryRows::SalesSummary(out) => sales_rows(&batch, out).map_err(|e| bad(&e))?,
            }
        }
    }
    Ok(rows)
}

fn transient<E: std::error::Error + 'static, R: std::fmt::Debug>(
    context: &str,
    err: aws_sdk_s3::error::SdkError<E, R>,
) -> TaskError {
    TaskError::transient(context, DisplayErrorContext(err))
}

/// Spark also leaves `_SUCCESS` markers and `.crc` files next to its parts.
fn is_data_file(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.ends_with(".parquet") && !name.starts_with('_') && !name.starts_with('.')
}

fn sale_item_rows(batch: &RecordBatch, out: &mut Vec<SaleItemSummaryRow>) -> Result<(), String> {
    let store_id = Text::column(batch, "store_id")?;
    let item_id = Text::column(batch, "item_id")?;
    let trans_date = Dates::column(batch, "trans_date")?;
    let item_name = Text::column(batch, "item_name")?;
    let sale = Cents::column(batch, "sale_amount")?;
    let tax = Cents::column(batch, "tax_amount")?;
    let discount = Cents::column(batch, "discount_amount")?;
    out.reserve(batch.num_rows());
    for i in 0..batch.num_rows() {
        out.push(SaleItemSummaryRow {
            store_id: store_id.required(i)?,
            item_id: item_id.required(i)?,
            trans_date: trans_date.required(i)?,
            item_name: item_name.optional(i),
            sale_amount_cents: sale.required(i)?,
            tax_amount_cents: tax.required(i)?,
            discount_amount_cents: discount.required(i)?,
        });
    }
    Ok(())
}

fn sales_rows(batch: &RecordBatch, out: &mut Vec<SalesSummaryRow>) -> Result<(), String> {
    let store_id = Text::column(batch, "store_id")?;
    let trans_date = Dates::column(batch, "trans_date")?;
    let item_count = Integers::column(batch, "item_count")?;
    let sale = Cents::column(batch, "sale_amount")?;
    let tax = Cents::column(batch, "tax_amount")?;
    let discount = Cents::column(batch, "discount_amount")?;
    out.reserve(batch.num_rows());
    for i in 0..batch.num_rows() {
        out.push(SalesSummaryRow {
            store_id: store_id.required(i)?,
            trans_date: trans_date.required(i)?,
            item_count: item_count.required(i)?,
            sale_amount_cents: sale.required(i)?,
            tax_amount_cents: tax.required(i)?,
            discount_amount_cents: discount.required(i)?,
        });
    }
    Ok(())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    batch.column_by_name(name).ok_or_else(|| format!("no column {name}"))
}

fn cast_to(array: &ArrayRef, name: &str, to: &DataType) -> Result<ArrayRef, String> {
    cast(array, to).map_err(|e| format!("column {name}: {e}"))
}

fn null_in(name: &str, row: usize) -> String {
    format!("column {name} is NULL in row {}", row + 1)
}

struct Text {
    name: String,
    values: StringArray,
}

impl Text {
    fn column(batch: &RecordBatch, name: &str) -> Result<Text, String> {
        let array = column(batch, name)?;
        if !matches!(array.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
            return Err(format!("column {name} is {}, expected a string", array.data_type()));
        }
        let values = cast_to(array, name, &DataType::Utf8)?;
        let values = values.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone();
        Ok(Text { name: name.to_owned(), values })
    }

    fn optional(&self, row: usize) -> Option<String> {
        self.values.is_valid(row).then(|| self.values.value(row).to_owned())
    }

    fn required(&self, row: usize) -> Result<String, String> {
        self.optional(row).ok_or_else(|| null_in(&self.name, row))
    }
}

struct Dates {
    name: String,
    days: Date32Array,
}

impl Dates {
    fn column(batch: &RecordBatch, name: &str) -> Result<Dates, String> {
        let array = column(batch, name)?;
        if !matches!(array.data_type(), DataType::Date32 | DataType::Date64) {
            return Err(format!("column {name} is {}, expected DATE", array.data_type()));
        }
        let days = cast_to(array, name, &DataType::Date32)?;
        let days = days.as_any().downcast_ref::<Date32Array>().expect("cast to Date32").clone();
        Ok(Dates { name: name.to_owned(), days })
    }

    fn required(&self, row: usize) -> Result<time::Date, String> {
        if self.days.is_null(row) {
            return Err(null_in(&self.name, row));
        }
        // The Julian day number of 1970-01-01.
        const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;
        let days = self.days.value(row);
        days.checked_add(UNIX_EPOCH_JULIAN_DAY)
            .and_then(|julian| time::Date::from_julian_day(julian).ok())
            .ok_or_else(|| format!("column {} holds an out-of-range date in row {}", self.name, row + 1))
    }
}

struct Integers {
    name: String,
    values: Int64Array,
}

impl Integers {
    fn column(batch: &RecordBatch, name: &str) -> Result<Integers, String> {
        let array = column(batch, name)?;
        if !array.data_type().is_integer() {
            return Err(format!("column {name} is {}, expected an integer", array.data_type()));
        }
        let values = cast_to(array, name, &DataType::Int64)?;
        let values = values.as_any().downcast_ref::<Int64Array>().expect("cast to Int64").clone();
        Ok(Integers { name: name.to_owned(), values })
    }

    fn required(&self, row: usize) -> Result<i64, String> {
        if self.values.is_null(row) {
            return Err(null_in(&self.name, row));
        }
        Ok(self.values.value(row))
    }
}

/// A `DECIMAL(p, 2)` column as unscaled cents.
struct Cents {
    name: String,
    values: Decimal128Array,
}

impl Cents {
    fn column(batch: &RecordBatch, name: &str) -> Result<Cents, String> {
        let array = column(batch, name)?;
        let scale = match array.data_type() {
            DataType::Decimal32(_, s)
            | DataType::Decimal64(_, s)
            | DataType::Decimal128(_, s)
            | DataType::Decimal256(_, s) => *s,
            other => return Err(format!("column {name} is {other}, expected DECIMAL(14,2)")),
        };
        // Another scale would need rounding: refuse it rather than change amounts.
        if scale != 2 {
            return Err(format!("column {name} is {}, expected scale 2", array.data_type()));
        }
        let values = cast_to(array, name, &DataType::Decimal128(38, 2))?;
        let values = values.as_any().downcast_ref::<Decimal128Array>().expect("cast to Decimal128").clone();
        Ok(Cents { name: name.to_owned(), values })
    }

    fn required(&self, row: usize) -> Result<i64, String> {
        if self.values.is_null(row) {
            return Err(null_in(&self.name, row));
        }
        i64::try_from(self.values.value(row))
            .map_err(|_| format!("column {} holds an amount out of range in row {}", self.name, row + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, Int32Array, StringViewArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect()).unwrap()
    }

    fn cents(values: &[Option<i128>], precision: u8, scale: i8) -> ArrayRef {
        Arc::new(Decimal128Array::from(values.to_vec()).with_precision_and_scale(precision, scale).unwrap())
    }

    #[test]
    fn sales_rows_come_out_exact_and_typed() {
        let b = batch(vec![
            ("store_id", Arc::new(StringViewArray::from(vec!["S1"])) as ArrayRef),
            ("trans_date", Arc::new(Date32Array::from(vec![20_000])) as ArrayRef),
            ("item_count", Arc::new(Int32Array::from(vec![3])) as ArrayRef),
            ("sale_amount", cents(&[Some(99_999_999_999_999)], 14, 2)),
            ("tax_amount", cents(&[Some(-5)], 14, 2)),
            ("discount_amount", cents(&[Some(0)], 24, 2)),
        ]);
        let mut rows = Vec::new();
        sales_rows(&b, &mut rows).unwrap();
        assert_eq!(
            rows,
            [SalesSummaryRow {
                store_id: "S1".into(),
                trans_date: time::Date::from_calendar_date(2024, time::Month::October, 4).unwrap(),
                item_count: 3,
                sale_amount_cents: 99_999_999_999_999,
                tax_amount_cents: -5,
                discount_amount_cents: 0,
            }]
        );
    }

    #[test]
    fn wrong_scales_nulls_and_missing_columns_are_refused() {
        let base = |amount: ArrayRef| {
            batch(vec![
                ("store_id", Arc::new(StringArray::from(vec!["S1"])) as ArrayRef),
                ("trans_date", Arc::new(Date32Array::from(vec![0])) as ArrayRef),
                ("item_count", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                ("sale_amount", amount),
                ("tax_amount", cents(&[Some(1)], 14, 2)),
                ("discount_amount", cents(&[Some(1)], 14, 2)),
            ])
        };
        let err = sales_rows(&base(cents(&[Some(1)], 14, 3)), &mut Vec::new()).unwrap_err();
        assert_eq!(err, "column sale_amount is Decimal128(14, 3), expected scale 2");
        let err = sales_rows(&base(cents(&[None], 14, 2)), &mut Vec::new()).unwrap_err();
        assert_eq!(err, "column sale_amount is NULL in row 1");
        let err = sale_item_rows(&base(cents(&[Some(1)], 14, 2)), &mut Vec::new()).unwrap_err();
        assert_eq!(err, "no column item_id");
    }

    #[test]
    fn only_parquet_parts_are_data() {
        assert!(is_data_file("output/j/r/t/part-00000.snappy.parquet"));
        assert!(!is_data_file("output/j/r/t/_SUCCESS"));
        assert!(!is_data_file("output/j/r/t/.part-00000.snappy.parquet.crc"));
    }
}
