//! Helpers several test modules share.

use datafusion::arrow::record_batch::RecordBatchReader;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A validated object (typed Parquet) as the text of the converter's
/// normalised CSV: a header, then one line per row, NULL as an empty field,
/// a field quoted when it holds a comma or a quote. For the sample's types
/// (strings, decimals, integers, dates) this is exactly the CSV the
/// converter writes, so tests read rows as they would read that CSV.
pub fn parquet_text(bytes: &[u8]) -> String {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .expect("a Parquet file")
        .build()
        .expect("a Parquet reader");
    let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut out = names.join(",") + "\n";
    let options = FormatOptions::default();
    for batch in reader {
        let batch = batch.expect("a readable batch");
        let formatters: Vec<ArrayFormatter> =
            batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
        for row in 0..batch.num_rows() {
            let fields: Vec<String> = formatters
                .iter()
                .map(|f| {
                    let value = f.value(row).to_string();
                    if value.contains([',', '"']) {
                        format!("\"{}\"", value.replace('"', "\"\""))
                    } else {
                        value
                    }
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}
