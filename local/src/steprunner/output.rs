//! The local side of the load task: a run's Parquet output, read back from the
//! local S3 into the warehouse's typed rows.
//!
//! Every `*.parquet` object under `<output_prefix><table>/` is read (the
//! local runner writes one, Spark one per partition; markers and checksums
//! are skipped). Columns are found by name and converted to the planned
//! column's kind with Arrow casts that cannot lose data: any string type to
//! text, any integer type to `i64`, a decimal of the planned scale (or an
//! integer) to exact decimal text, dates, timestamps to UTC microseconds.

use std::sync::Arc;

use aws_sdk_s3::error::DisplayErrorContext;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use edba_payloads::{LoadInput, LoadOutput};
use edba_tasks::load::{
    decimal_text, load, BoxFuture, ColumnKind, ColumnValues, LocalWarehouse, PlannedTables, RunOutputReader, TableRows,
    TableSchema, Warehouse,
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
        table: &'a Arc<TableSchema>,
    ) -> BoxFuture<'a, Result<TableRows, TaskError>> {
        Box::pin(read_output_table(&self.s3, &self.bucket, output_prefix, table))
    }
}

/// The load task on one machine: reads each table of `input` from
/// `s3://<bucket>/<output_prefix><table>/` and merges them all into
/// `warehouse` in one transaction (see [`edba_tasks::load::load`]), by the
/// tables the bucket's project plans (`code/edba.tables.json`).
pub async fn load_run_output(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    input: &LoadInput,
    warehouse: &LocalWarehouse,
) -> Result<LoadOutput, TaskError> {
    let planned = edba_tasks::load::load_tables(s3, bucket).await?;
    load_run_output_with(s3, bucket, input, warehouse, &planned).await
}

/// [`load_run_output`] with the plan given.
pub async fn load_run_output_with(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    input: &LoadInput,
    warehouse: &LocalWarehouse,
    planned: &PlannedTables,
) -> Result<LoadOutput, TaskError> {
    let output = S3RunOutput { s3: s3.clone(), bucket: bucket.to_owned() };
    load(Warehouse::Local { warehouse, output: &output }, input, planned).await
}

/// The rows of one output table. A table without Parquet is
/// [`TaskError::LoadFailed`], as is a file with missing or mistyped columns;
/// trouble reaching S3 is [`TaskError::Transient`].
pub async fn read_output_table(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    output_prefix: &str,
    table: &Arc<TableSchema>,
) -> Result<TableRows, TaskError> {
    let folder = format!("{output_prefix}{}/", table.name);
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
            "the run wrote no Parquet for table {} under s3://{bucket}/{folder}",
            table.name
        )));
    }
    keys.sort();

    let mut rows = TableRows::empty(table.clone());
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
            append_batch(&batch, &mut rows).map_err(|e| bad(&e))?;
        }
    }
    rows.check().map_err(|e| TaskError::LoadFailed(format!("s3://{bucket}/{folder}: {e}")))?;
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

/// Appends a batch's rows to `rows`, each planned column converted from the
/// batch's column of that name.
fn append_batch(batch: &RecordBatch, rows: &mut TableRows) -> Result<(), String> {
    let table = rows.table.clone();
    for (column, values) in table.columns.iter().zip(rows.columns.iter_mut()) {
        let name = column.name.as_str();
        let array = batch.column_by_name(name).ok_or_else(|| format!("no column {name}"))?;
        append_column(name, column.kind(), array, values)?;
    }
    Ok(())
}

fn cast_to(array: &ArrayRef, name: &str, to: &DataType) -> Result<ArrayRef, String> {
    cast(array, to).map_err(|e| format!("column {name}: {e}"))
}

fn typed<T: 'static>(array: &ArrayRef) -> &T {
    array.as_any().downcast_ref::<T>().expect("cast to the requested type")
}

fn each<T>(len: usize, valid: impl Fn(usize) -> bool, value: impl Fn(usize) -> T) -> impl Iterator<Item = Option<T>> {
    (0..len).map(move |i| valid(i).then(|| value(i)))
}

fn append_column(name: &str, kind: ColumnKind, array: &ArrayRef, out: &mut ColumnValues) -> Result<(), String> {
    let ty = array.data_type();
    let expected = |what: &str| Err(format!("column {name} is {ty}, expected {what}"));
    let valid = |i: usize| array.is_valid(i);
    let n = array.len();
    match (kind, out) {
        (ColumnKind::Text, ColumnValues::Text(out)) => {
            if !matches!(ty, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
                return expected("a string");
            }
            let values = cast_to(array, name, &DataType::Utf8)?;
            let values = typed::<StringArray>(&values);
            out.extend(each(n, valid, |i| values.value(i).to_owned()));
        }
        (ColumnKind::Int | ColumnKind::BigInt, ColumnValues::Int(out)) => {
            if !ty.is_integer() {
                return expected("an integer");
            }
            let values = cast_to(array, name, &DataType::Int64)?;
            let values = typed::<Int64Array>(&values);
            out.extend(each(n, valid, |i| values.value(i)));
        }
        (ColumnKind::Decimal(_, scale), ColumnValues::Decimal(out)) => {
            let fits = match ty {
                DataType::Decimal32(_, s)
                | DataType::Decimal64(_, s)
                | DataType::Decimal128(_, s)
                | DataType::Decimal256(_, s) => i16::from(*s) == i16::from(scale),
                other => other.is_integer(),
            };
            // Another scale would need rounding: refuse it rather than change amounts.
            if !fits {
                return expected(&format!("a decimal of scale {scale}"));
            }
            let values = cast_to(array, name, &DataType::Decimal128(38, scale as i8))?;
            let values = typed::<Decimal128Array>(&values);
            out.extend(each(n, valid, |i| decimal_text(values.value(i), scale)));
        }
        (ColumnKind::Date, ColumnValues::Date(out)) => {
            if !matches!(ty, DataType::Date32 | DataType::Date64) {
                return expected("DATE");
            }
            let days = cast_to(array, name, &DataType::Date32)?;
            let days = typed::<Date32Array>(&days);
            for i in 0..n {
                out.push(if days.is_valid(i) {
                    Some(date_of_days(days.value(i)).ok_or_else(|| out_of_range(name, i))?)
                } else {
                    None
                });
            }
        }
        (ColumnKind::Timestamp, ColumnValues::Timestamp(out)) => {
            if !matches!(ty, DataType::Timestamp(..)) {
                return expected("TIMESTAMP");
            }
            let micros = cast_to(array, name, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let micros = typed::<TimestampMicrosecondArray>(&micros);
            for i in 0..n {
                out.push(if micros.is_valid(i) {
                    Some(utc_of_micros(micros.value(i)).ok_or_else(|| out_of_range(name, i))?)
                } else {
                    None
                });
            }
        }
        (ColumnKind::Bool, ColumnValues::Bool(out)) => {
            if ty != &DataType::Boolean {
                return expected("BOOLEAN");
            }
            let values = typed::<BooleanArray>(array);
            out.extend(each(n, valid, |i| values.value(i)));
        }
        (ColumnKind::Double, ColumnValues::Double(out)) => {
            if !ty.is_floating() {
                return expected("a floating-point number");
            }
            let values = cast_to(array, name, &DataType::Float64)?;
            let values = typed::<Float64Array>(&values);
            out.extend(each(n, valid, |i| values.value(i)));
        }
        _ => return Err(format!("column {name}: values of another kind than planned")),
    }
    Ok(())
}

fn out_of_range(name: &str, row: usize) -> String {
    format!("column {name} holds an out-of-range value in row {}", row + 1)
}

fn date_of_days(days: i32) -> Option<time::Date> {
    // The Julian day number of 1970-01-01.
    const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;
    days.checked_add(UNIX_EPOCH_JULIAN_DAY).and_then(|julian| time::Date::from_julian_day(julian).ok())
}

fn utc_of_micros(micros: i64) -> Option<time::PrimitiveDateTime> {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).ok()?;
    Some(time::PrimitiveDateTime::new(at.date(), at.time()))
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

    fn sales_schema() -> Arc<TableSchema> {
        Arc::new(PlannedTables::sample().table("salessummary").unwrap().clone())
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
        let mut rows = TableRows::empty(sales_schema());
        append_batch(&b, &mut rows).unwrap();
        assert_eq!(
            edba_tasks::load::SummaryRows::from_table_rows(&rows).unwrap(),
            edba_tasks::load::SummaryRows::SalesSummary(vec![edba_tasks::load::SalesSummaryRow {
                store_id: "S1".into(),
                trans_date: time::Date::from_calendar_date(2024, time::Month::October, 4).unwrap(),
                item_count: 3,
                sale_amount_cents: 99_999_999_999_999,
                tax_amount_cents: -5,
                discount_amount_cents: 0,
            }])
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
        let mut rows = TableRows::empty(sales_schema());
        let err = append_batch(&base(cents(&[Some(1)], 14, 3)), &mut rows).unwrap_err();
        assert_eq!(err, "column sale_amount is Decimal128(14, 3), expected a decimal of scale 2");
        let mut rows = TableRows::empty(sales_schema());
        append_batch(&base(cents(&[None], 14, 2)), &mut rows).unwrap();
        assert_eq!(rows.check().unwrap_err().to_string(), "table salessummary: column sale_amount is NULL in row 1");
        let items = Arc::new(PlannedTables::sample().table("saleitemsummary").unwrap().clone());
        let err = append_batch(&base(cents(&[Some(1)], 14, 2)), &mut TableRows::empty(items)).unwrap_err();
        assert_eq!(err, "no column item_id");
    }

    #[test]
    fn timestamps_come_out_as_utc_microseconds() {
        use datafusion::arrow::array::TimestampNanosecondArray;
        let at = TimestampNanosecondArray::from(vec![Some(1_764_493_506_000_007_000), None]).with_timezone("+02:00");
        let mut out = ColumnValues::empty(ColumnKind::Timestamp);
        append_column("at", ColumnKind::Timestamp, &(Arc::new(at) as ArrayRef), &mut out).unwrap();
        let ColumnValues::Timestamp(values) = out else { panic!("timestamps") };
        assert_eq!(values[0].unwrap().to_string(), "2025-11-30 9:05:06.000007");
        assert_eq!(values[1], None);
    }

    #[test]
    fn only_parquet_parts_are_data() {
        assert!(is_data_file("output/j/r/t/part-00000.snappy.parquet"));
        assert!(!is_data_file("output/j/r/t/_SUCCESS"));
        assert!(!is_data_file("output/j/r/t/.part-00000.snappy.parquet.crc"));
    }
}
