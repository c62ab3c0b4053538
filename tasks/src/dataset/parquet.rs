//! The validated object as Parquet: the converter's normalised rows, typed
//! as the dataset declares them, so Spark, DataFusion and Redshift read typed
//! columns without casts.
//!
//! [`ParquetSink`] takes the converter's valid output (its normalised CSV:
//! a header line, then one row per line, a field quoted only when it holds a
//! comma or a quote, an empty field NULL) and writes Parquet with the
//! dataset's Arrow schema ([`arrow_schema`]): snappy-compressed row groups of
//! [`ROW_GROUP_ROWS`] rows, so memory stays bounded whatever the file size.
//! The values are already checked and normalised, so reading them here is
//! exact; a value that does not read is a bug, reported as an I/O error
//! naming the line and column.
//!
//! Types: `STRING` Utf8, `INT` Int32, `BIGINT` Int64, `DECIMAL(p,s)`
//! Decimal128(p,s), `DATE` Date32, `TIMESTAMP` Timestamp(µs, "UTC"),
//! `BOOLEAN` Boolean — the same mapping the local runner reads a manifest's
//! columns with ([`arrow_type_of_sql`]).

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::project::{DatasetSpec, SqlColumn};

/// Rows per Parquet row group (and per Arrow batch the sink builds).
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows the column builders start with room for; they grow as rows come
/// (most files are small: a sink for one of 200 rows should not take
/// megabytes).
const INITIAL_ROWS: usize = 1024;

/// The Arrow type of a Spark SQL column type as
/// [`crate::project::ColumnType::sql_type`] writes it (timestamps are UTC
/// microseconds, as validate normalises them); `None` for any other text.
pub fn arrow_type_of_sql(sql: &str) -> Option<DataType> {
    Some(match sql {
        "STRING" => DataType::Utf8,
        "INT" => DataType::Int32,
        "BIGINT" => DataType::Int64,
        "DATE" => DataType::Date32,
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "BOOLEAN" => DataType::Boolean,
        _ => {
            let (p, s) = sql.strip_prefix("DECIMAL(")?.strip_suffix(')')?.split_once(',')?;
            let (precision, scale): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
            if precision == 0 || precision > 38 || scale < 0 || scale as u8 > precision {
                return None;
            }
            DataType::Decimal128(precision, scale)
        }
    })
}

/// The schema of columns as a manifest lists them, or the first column whose
/// type is not one [`arrow_type_of_sql`] knows.
pub fn schema_of(columns: &[SqlColumn]) -> Result<SchemaRef, String> {
    let fields = columns
        .iter()
        .map(|c| {
            let ty =
                arrow_type_of_sql(&c.ty).ok_or_else(|| format!("column {} has the unknown type {:?}", c.name, c.ty))?;
            Ok(Field::new(&c.name, ty, c.nullable))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The Arrow schema of a validated file of `dataset`: declared columns, then
/// capture columns (never NULL).
pub fn arrow_schema(dataset: &DatasetSpec) -> SchemaRef {
    // Every type a declaration yields is one `arrow_type_of_sql` knows (a test
    // checks each); an unknown one would be a bug, typed as text.
    let fields: Vec<Field> = dataset
        .sql_columns()
        .iter()
        .map(|c| Field::new(&c.name, arrow_type_of_sql(&c.ty).unwrap_or(DataType::Utf8), c.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

/// One column being built.
enum Column {
    Text(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Decimal { builder: Decimal128Builder, scale: usize },
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
}

impl Column {
    fn new(ty: &DataType) -> Column {
        match ty {
            DataType::Int32 => Column::Int32(Int32Builder::with_capacity(INITIAL_ROWS)),
            DataType::Int64 => Column::Int64(Int64Builder::with_capacity(INITIAL_ROWS)),
            DataType::Decimal128(p, s) => Column::Decimal {
                builder: Decimal128Builder::with_capacity(INITIAL_ROWS)
                    .with_precision_and_scale(*p, *s)
                    .expect("a checked precision and scale"),
                scale: usize::from(*s as u8),
            },
            DataType::Date32 => Column::Date(Date32Builder::with_capacity(INITIAL_ROWS)),
            DataType::Timestamp(..) => {
                Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(INITIAL_ROWS).with_timezone("UTC"))
            }
            DataType::Boolean => Column::Bool(BooleanBuilder::with_capacity(INITIAL_ROWS)),
            _ => Column::Text(StringBuilder::with_capacity(INITIAL_ROWS, INITIAL_ROWS * 16)),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Text(b) => b.append_null(),
            Column::Int32(b) => b.append_null(),
            Column::Int64(b) => b.append_null(),
            Column::Decimal { builder, .. } => builder.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
        }
    }

    /// Appends a normalised value; `None` when it does not read as the type.
    fn append(&mut self, value: &[u8]) -> Option<()> {
        match self {
            Column::Text(b) => b.append_value(std::str::from_utf8(value).ok()?),
            Column::Int32(b) => b.append_value(i32::try_from(integer(value)?).ok()?),
            Column::Int64(b) => b.append_value(i64::try_from(integer(value)?).ok()?),
            Column::Decimal { builder, scale } => builder.append_value(decimal(value, *scale)?),
            Column::Date(b) => b.append_value(date_days(value)?),
            Column::Timestamp(b) => b.append_value(timestamp_micros(value)?),
            Column::Bool(b) => b.append_value(match value {
                b"true" => true,
                b"false" => false,
                _ => return None,
            }),
        }
        Some(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Text(b) => Arc::new(b.finish()),
            Column::Int32(b) => Arc::new(b.finish()),
            Column::Int64(b) => Arc::new(b.finish()),
            Column::Decimal { builder, .. } => Arc::new(builder.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Timestamp(b) => Arc::new(b.finish()),
            Column::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// `-?[0-9]+`, at most 38 digits.
fn integer(value: &[u8]) -> Option<i128> {
    let (negative, digits) = match value.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, value),
    };
    if digits.is_empty() || digits.len() > 38 {
        return None;
    }
    let mut n: i128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i128::from(d - b'0');
    }
    Some(if negative { -n } else { n })
}

/// A normalised decimal (`-12.30`: exactly `scale` fraction digits) as its
/// unscaled integer.
fn decimal(value: &[u8], scale: usize) -> Option<i128> {
    if scale == 0 {
        return integer(value);
    }
    let dot = value.len().checked_sub(scale + 1)?;
    if value[dot] != b'.' {
        return None;
    }
    let mut digits = [0u8; 41];
    let whole = &value[..dot];
    if matches!(whole, b"" | b"-") {
        return None;
    }
    let len = whole.len() + scale;
    if len > digits.len() {
        return None;
    }
    digits[..whole.len()].copy_from_slice(whole);
    digits[whole.len()..len].copy_from_slice(&value[dot + 1..]);
    integer(&digits[..len])
}

fn number(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn date_days(value: &[u8]) -> Option<i32> {
    if value.len() != 10 || value[4] != b'-' || value[7] != b'-' {
        return None;
    }
    let (y, m, d) = (number(&value[..4])?, number(&value[5..7])?, number(&value[8..10])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (validate's UTC form) as microseconds
/// since the Unix epoch.
fn timestamp_micros(value: &[u8]) -> Option<i64> {
    let (body, b"Z") = value.split_at(value.len().checked_sub(1)?) else { return None };
    if body.len() < 19 || body[10] != b'T' || body[13] != b':' || body[16] != b':' {
        return None;
    }
    let days = i64::from(date_days(&body[..10])?);
    let (h, m, s) = (number(&body[11..13])?, number(&body[14..16])?, number(&body[17..19])?);
    let micros = match &body[19..] {
        [] => 0,
        [b'.', fraction @ ..] if fraction.len() == 6 => number(fraction)?,
        _ => return None,
    };
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(((days * 86_400 + h * 3600 + m * 60 + s) * 1_000_000) + micros)
}

/// Writes the converter's valid output as Parquet into `W`.
pub struct ParquetSink<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    columns: Vec<Column>,
    /// The end of the last write that did not end a line.
    partial: Vec<u8>,
    /// The header line was seen.
    header: bool,
    /// Rows in the current batch, and lines seen (for messages).
    rows: usize,
    lines: u64,
    /// An unquoted field's bytes, reused.
    field: Vec<u8>,
}

impl<W: Write + Send> std::fmt::Debug for ParquetSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink").field("schema", &self.schema).field("lines", &self.lines).finish()
    }
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<W: Write + Send> ParquetSink<W> {
    /// A sink for files of `dataset`, writing Parquet into `out`.
    pub fn new(dataset: &DatasetSpec, out: W) -> io::Result<ParquetSink<W>> {
        let schema = arrow_schema(dataset);
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(concat!("edba ", env!("CARGO_PKG_VERSION")).to_owned());
        // Amounts and instants rarely repeat: a dictionary for them is built
        // only to be thrown away when it outgrows its page (the writer's
        // costliest step). Codes, names, dates and small integers keep theirs.
        for field in schema.fields() {
            if matches!(field.data_type(), DataType::Decimal128(..) | DataType::Timestamp(..)) {
                props = props.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
            }
        }
        let props = props.build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(io::Error::other)?;
        let columns = schema.fields().iter().map(|f| Column::new(f.data_type())).collect();
        Ok(ParquetSink {
            writer,
            schema,
            columns,
            partial: Vec::new(),
            header: false,
            rows: 0,
            lines: 0,
            field: Vec::new(),
        })
    }

    /// The writer the Parquet goes to (to upload what it holds so far).
    pub fn get_mut(&mut self) -> &mut W {
        self.writer.inner_mut()
    }

    /// Writes the last row group and the footer; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line)?;
        }
        self.flush_batch()?;
        self.writer.into_inner().map_err(io::Error::other)
    }

    fn flush_batch(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| bad(e.to_string()))?;
        self.writer.write(&batch).map_err(io::Error::other)?;
        self.rows = 0;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.lines += 1;
        if !self.header {
            self.header = true;
            let names: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
            if line != names.join(",").as_bytes() {
                return Err(bad(format!(
                    "the validated rows' header {:?} is not {names:?}",
                    String::from_utf8_lossy(line)
                )));
            }
            return Ok(());
        }
        let mut rest = line;
        for (i, column) in self.columns.iter_mut().enumerate() {
            let name = || self.schema.field(i).name();
            if i > 0 {
                match rest.split_first() {
                    Some((b',', tail)) => rest = tail,
                    _ => return Err(bad(format!("validated line {}: no field for column {}", self.lines, name()))),
                }
            }
            let value: &[u8] = if rest.first() == Some(&b'"') {
                // Quoted: up to the closing quote, "" is one quote.
                self.field.clear();
                let mut at = 1;
                loop {
                    let Some(q) = memchr::memchr(b'"', &rest[at..]) else {
                        return Err(bad(format!("validated line {}: an unclosed quote", self.lines)));
                    };
                    self.field.extend_from_slice(&rest[at..at + q]);
                    if rest.get(at + q + 1) == Some(&b'"') {
                        self.field.push(b'"');
                        at += q + 2;
                    } else {
                        rest = &rest[at + q + 1..];
                        break;
                    }
                }
                &self.field
            } else {
                let end = memchr::memchr(b',', rest).unwrap_or(rest.len());
                let (value, tail) = rest.split_at(end);
                rest = tail;
                value
            };
            if value.is_empty() && self.schema.field(i).is_nullable() {
                column.append_null();
            } else if column.append(value).is_none() {
                return Err(bad(format!(
                    "validated line {}: column {} holds {:?}, which is not its type",
                    self.lines,
                    name(),
                    String::from_utf8_lossy(value)
                )));
            }
        }
        if !rest.is_empty() {
            return Err(bad(format!("validated line {}: more fields than columns", self.lines)));
        }
        self.rows += 1;
        if self.rows == ROW_GROUP_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }
}

impl<W: Write + Send> Write for ParquetSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                self.line(&rest[..end])?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.line(&line)?;
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A whole validated CSV (the converter's valid output) as Parquet bytes.
pub fn csv_to_parquet(dataset: &DatasetSpec, csv: &[u8]) -> io::Result<Vec<u8>> {
    let mut sink = ParquetSink::new(dataset, Vec::new())?;
    sink.write_all(csv)?;
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_without_a_dictionary_and_codes_with_one() {
        use parquet::basic::Encoding;
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let project = crate::project::Project::sample();
        let sales = project.dataset("sales").unwrap();
        let mut csv = b"store_id,amount,trans_type,item_id,trans_date\n".to_vec();
        for n in 0..500 {
            csv.extend_from_slice(format!("101,{n}.{:02},4,I{},2024-10-0{}\n", n % 100, n % 7, 1 + n % 3).as_bytes());
        }
        let bytes = bytes::Bytes::from(csv_to_parquet(sales, &csv).unwrap());
        let reader = SerializedFileReader::new(bytes).unwrap();
        let group = reader.metadata().row_group(0);
        assert_eq!(group.num_rows(), 500);
        let dictionary = |name: &str| {
            let column = group.columns().iter().find(|c| c.column_path().string() == name).unwrap();
            column.encodings().any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY))
        };
        assert!(!dictionary("amount"), "amounts rarely repeat");
        for name in ["store_id", "item_id", "trans_type", "trans_date"] {
            assert!(dictionary(name), "{name} repeats");
        }
    }

    #[test]
    fn normalised_values_read_exactly() {
        assert_eq!(decimal(b"12.30", 2), Some(1230));
        assert_eq!(decimal(b"-0.05", 2), Some(-5));
        assert_eq!(decimal(b"999999999999.99", 2), Some(99_999_999_999_999));
        assert_eq!(decimal(b"7", 0), Some(7));
        for bad in [&b"12.3"[..], b"12,30", b".30", b"1a.00", b""] {
            assert_eq!(decimal(bad, 2), None, "{bad:?}");
        }
        assert_eq!(date_days(b"1970-01-01"), Some(0));
        assert_eq!(date_days(b"2024-10-04"), Some(20_000));
        assert_eq!(date_days(b"0001-01-01"), Some(-719_162));
        assert_eq!(date_days(b"2024-13-01"), None);
        assert_eq!(timestamp_micros(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(timestamp_micros(b"2025-11-30T09:05:06.000007Z"), Some(1_764_493_506_000_007));
        for bad in [&b"2025-11-30T09:05:06"[..], b"2025-11-30T09:05:06.5Z", b"2025-11-30 09:05:06Z", b"Z", b""] {
            assert_eq!(timestamp_micros(bad), None, "{bad:?}");
        }
        assert_eq!(integer(b"-2147483648"), Some(-2_147_483_648));
        assert_eq!(integer(b"-"), None);
    }
}
