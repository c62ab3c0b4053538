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
use datafusion::parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
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
pub fn written_schema(schema: &Schema) -> SchemaRef {
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

    // The columns as written, batch by batch.
    let columns: Vec<Vec<ArrayRef>> = (0..written.fields().len())
        .map(|i| {
            let to = written.field(i).data_type();
            batches
                .iter()
                .map(|b| {
                    let array = b.column(i);
                    if array.data_type() == to {
                        Ok(array.clone())
                    } else {
                        cast(array, to).map_err(|e| format!("column {}: {e}", written.field(i).name()))
                    }
                })
                .collect()
        })
        .collect::<Result<_, String>>()?;
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();

    let mut group = 0;
    let mut start = 0;
    while start < total {
        let len = ROW_GROUP_ROWS.min(total - start);
        let writers = factory.create_column_writers(group).map_err(|e| e.to_string())?;
        let slots: Vec<Mutex<Option<_>>> = writers.into_iter().map(|w| Mutex::new(Some(w))).collect();
        let chunks: Vec<Mutex<Option<Result<ArrowColumnChunk, String>>>> =
            (0..slots.len()).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { return };
            let mut column_writer = slot.lock().expect("not poisoned").take().expect("each column taken once");
            let result = (|| {
                let field = written.field(i);
                for array in rows(&columns[i], start, len) {
                    for leaf in compute_leaves(field, &array).map_err(|e| e.to_string())? {
                        column_writer.write(&leaf).map_err(|e| e.to_string())?;
                    }
                }
                column_writer.close().map_err(|e| e.to_string())
            })();
            *chunks[i].lock().expect("not poisoned") = Some(result);
        };
        std::thread::scope(|scope| {
            for _ in 1..threads.clamp(1, slots.len().max(1)) {
                scope.spawn(work);
            }
            work();
        });
        let mut row_group = writer.next_row_group().map_err(|e| e.to_string())?;
        for chunk in chunks {
            let chunk = chunk.into_inner().expect("not poisoned").expect("every column encoded")?;
            chunk.append_to_row_group(&mut row_group).map_err(|e| e.to_string())?;
        }
        row_group.close().map_err(|e| e.to_string())?;
        group += 1;
        start += len;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The slices of one column's arrays that hold rows `start..start + len`.
fn rows(arrays: &[ArrayRef], start: usize, len: usize) -> Vec<ArrayRef> {
    let mut out = Vec::new();
    let mut offset = 0;
    for array in arrays {
        let (from, to) = (offset, offset + array.len());
        offset = to;
        let lo = start.max(from);
        let hi = (start + len).min(to);
        if lo < hi {
            out.push(array.slice(lo - from, hi - lo));
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
