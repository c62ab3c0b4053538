//! Properties of the converter over arbitrary input: no panics, nothing lost,
//! chunking irrelevant, and both outputs are CSV that parses back.

use edba_tasks::dataset::{sample_dataset, ConversionReport, ConvertOptions, Converter};
use proptest::prelude::*;

/// Pieces that make interesting files when strung together: real fields,
/// separators, line ends, junk, BOMs, NULs, Latin-1 and CSV-special bytes.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"IL-101\t12.50\t4\tITEM1\t2016-01-15\n".to_vec()),
        Just(b"I1\tWidget, \"XL\"\t2016-02-29\n".to_vec()),
        Just(b"store_id\tamount\ttrans_type\titem_id\ttrans_date\n".to_vec()),
        Just(b"item_id\titem_name\teffective_date\n".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"----".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"caf\xe9".to_vec()),
        Just(b",\"".to_vec()),
        Just(b"  ".to_vec()),
        "[-0-9.]{0,16}".prop_map(String::into_bytes),
        "[A-Za-z0-9_-]{0,30}".prop_map(String::into_bytes),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..8),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..80).prop_map(|parts| parts.concat())
}

fn dataset() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("sales"), Just("items")]
}

fn run(
    dataset: &'static str,
    input: &[u8],
    chunk: usize,
    opts: ConvertOptions,
) -> (Vec<u8>, Vec<u8>, ConversionReport) {
    let mut converter = Converter::new(sample_dataset(dataset), opts);
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    for piece in input.chunks(chunk.max(1)) {
        converter.push(piece, &mut valid, &mut rejects).unwrap();
    }
    let report = converter.finish(&mut valid, &mut rejects).unwrap();
    (valid, rejects, report)
}

/// Lines as the contract counts them: a last line without LF counts.
fn count_lines(input: &[u8]) -> u64 {
    let newlines = input.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(input.last().is_some_and(|&b| b != b'\n'))
}

fn check(dataset: &'static str, input: &[u8], chunk: usize, max_line_bytes: usize) -> Result<(), TestCaseError> {
    let opts = ConvertOptions { max_line_bytes, ..ConvertOptions::default() };
    let (valid, rejects, report) = run(dataset, input, input.len(), opts);
    let c = report.counts;
    prop_assert_eq!(report.lines, count_lines(input));
    prop_assert_eq!(c.rows_valid + c.rows_rejected + c.lines_skipped, report.lines);
    prop_assert_eq!(report.bytes_in, input.len() as u64);

    let columns = sample_dataset(dataset).columns.len();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&valid[..]);
    let mut records = 0u64;
    for record in reader.byte_records() {
        let record = record.map_err(|e| TestCaseError::fail(format!("valid CSV does not parse: {e}")))?;
        prop_assert_eq!(record.len(), columns);
        records += 1;
    }
    prop_assert_eq!(records, c.rows_valid + 1);

    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&rejects[..]);
    let mut reject_lines = Vec::new();
    for record in reader.byte_records() {
        let record = record.map_err(|e| TestCaseError::fail(format!("rejects CSV does not parse: {e}")))?;
        prop_assert_eq!(record.len(), 4);
        reject_lines.push(record[0].to_vec());
    }
    let binary = report.reason.as_deref().is_some_and(|r| r.starts_with("binary content"));
    let expected_rows = if binary { 1 } else { c.rows_rejected };
    prop_assert_eq!(reject_lines.len() as u64, expected_rows + 1);

    let chunked = run(dataset, input, chunk, opts);
    prop_assert!(chunked.0 == valid, "valid CSV depends on chunking");
    prop_assert!(chunked.1 == rejects, "rejects CSV depends on chunking");
    prop_assert_eq!(chunked.2, report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn structured_input_loses_no_line(
        dataset in dataset(),
        input in file(),
        chunk in 1usize..64,
        max_line_bytes in prop_oneof![Just(1usize << 20), 1usize..80],
    ) {
        check(dataset, &input, chunk, max_line_bytes)?;
    }

    #[test]
    fn any_bytes_lose_no_line(
        dataset in dataset(),
        input in prop::collection::vec(any::<u8>(), 0..20_000),
        chunk in 1usize..10_000,
    ) {
        check(dataset, &input, chunk, 1 << 20)?;
    }
}
