//! A job table's result as one Parquet file (Snappy), its columns encoded in
//! parallel: the Arrow writer encodes one column at a time on one core,
//! which for a table of millions of rows took as long as the query that
//! computed it.
//!
//! String columns are written as `Utf8` whatever Arrow type the engine
//! computed them in (it reads the typed inputs' strings as views), so the
//! file's embedded Arrow schema is the one the loaders and Spark expect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use datafusion::parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::file::writer::SerializedFileWriter;

/// Rows per row group: the Arrow writer's default.
pub const ROW_GROUP_ROWS: usize = 1024 * 1024;

/// The type a column is written as: views and large strings as `Utf8`.
fn written_type(ty: &DataType) -> DataType {
    match ty {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        other => other.clone(),
    }
}

/// The schema a result is written with.
fn written_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> =
        schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(written_type(f.data_type()))).collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The rows `batches` hold, as Parquet bytes: row groups of
/// [`ROW_GROUP_ROWS`], each group's columns encoded by up to `threads`
/// threads at once.
pub fn encode(schema: &Schema, batches: &[RecordBatch], threads: usize) -> Result<Vec<u8>, String> {
    let written = written_schema(schema);
    let mut props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    add_encoded_arrow_schema_to_metadata(&written, &mut props);
    let props = Arc::new(props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&written)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, parquet_schema.root_schema_ptr(), props.clone())
        .map_err(|e| e.to_string())?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, written.clone());

    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut group = 0;
    let mut start = 0;
    while start < total {
        let len = ROW_GROUP_ROWS.min(total - start);
        let writers = factory.create_column_writers(group).map_err(|e| e.to_string())?;
        let writers: Vec<Mutex<Option<ArrowColumnWriter>>> = writers.into_iter().map(|w| Mutex::new(Some(w))).collect();
        // Each thread takes the next column not yet taken; a column's
        // strings are cast as it is encoded, a row group's slice at a time.
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = writers.get(i) else { return done };
                let mut column = slot.lock().expect("not poisoned").take().expect("each column taken once");
                let field = written.field(i);
                let encoded = (|| {
                    for array in rows(batches, i, start, len) {
                        let array = if array.data_type() == field.data_type() {
                            array
                        } else {
                            cast(&array, field.data_type()).map_err(|e| format!("column {}: {e}", field.name()))?
                        };
                        for leaf in compute_leaves(field, &array).map_err(|e| e.to_string())? {
                            column.write(&leaf).map_err(|e| e.to_string())?;
                        }
                    }
                    column.close().map_err(|e| e.to_string())
                })();
                done.push((i, encoded));
            }
        };
        let mut chunks = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads.clamp(1, writers.len())).map(|_| scope.spawn(work)).collect();
            let mut chunks = work();
            for helper in helpers {
                chunks.extend(helper.join().expect("an encoding thread does not panic"));
            }
            chunks
        });
        chunks.sort_by_key(|(i, _)| *i);
        let mut row_group = writer.next_row_group().map_err(|e| e.to_string())?;
        for (_, chunk) in chunks {
            chunk?.append_to_row_group(&mut row_group).map_err(|e| e.to_string())?;
        }
        row_group.close().map_err(|e| e.to_string())?;
        group += 1;
        start += len;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The slices of column `column` of `batches` that hold rows
/// `start..start + len`.
fn rows(batches: &[RecordBatch], column: usize, start: usize, len: usize) -> Vec<ArrayRef> {
    let mut out = Vec::new();
    let mut offset = 0;
    for batch in batches {
        let (from, to) = (offset, offset + batch.num_rows());
        offset = to;
        let (lo, hi) = (start.max(from), (start + len).min(to));
        if lo < hi {
            out.push(batch.column(column).slice(lo - from, hi - lo));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int64Array, StringArray, StringViewArray};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn read(bytes: Vec<u8>) -> (SchemaRef, Vec<RecordBatch>, usize) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
        let groups = builder.metadata().num_row_groups();
        let schema = builder.schema().clone();
        let batches = builder.build().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        (schema, batches, groups)
    }

    #[test]
    fn rows_and_types_survive_in_order_across_row_groups_and_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let total = ROW_GROUP_ROWS + 1000;
        let mut batches = Vec::new();
        let mut at = 0;
        for size in [7, ROW_GROUP_ROWS - 3, 996] {
            let names: StringViewArray = (at..at + size).map(|n| (n % 5 != 0).then(|| format!("name-{n}"))).collect();
            let ns = Int64Array::from_iter_values((at..at + size).map(|n| n as i64));
            batches.push(RecordBatch::try_new(schema.clone(), vec![Arc::new(names), Arc::new(ns)]).unwrap());
            at += size;
        }
        assert_eq!(at, total);
        let (read_schema, read_batches, groups) = read(encode(&schema, &batches, 2).unwrap());
        assert_eq!(groups, 2);
        assert_eq!(read_schema.field(0).data_type(), &DataType::Utf8, "strings are written as Utf8");
        assert!(read_schema.field(0).is_nullable());
        let mut n = 0;
        for batch in &read_batches {
            let names = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let ns = batch.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            for row in 0..batch.num_rows() {
                assert_eq!(ns.value(row), n as i64);
                if n % 5 == 0 {
                    assert!(names.is_null(row));
                } else {
                    assert_eq!(names.value(row), format!("name-{n}"));
                }
                n += 1;
            }
        }
        assert_eq!(n, total);
    }

    #[test]
    fn an_empty_result_is_a_readable_file_with_its_schema() {
        let schema = Schema::new(vec![Field::new("a", DataType::Utf8, false)]);
        let (read_schema, batches, _) = read(encode(&schema, &[], 2).unwrap());
        assert_eq!(read_schema.fields().len(), 1);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }
}
