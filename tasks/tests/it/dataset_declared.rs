//! Declared datasets (`edba.toml`) through the converter: CSV with a header
//! in any column order, RFC 4180 quoting across lines, a BOM and CRLF,
//! captures as columns, JSON lines with nested values, and the example
//! project's files (`examples/orders/`) exactly.

use std::sync::Arc;

use edba_payloads::ingest::FileStatus;
use edba_tasks::dataset::{ConversionReport, ConvertOptions, Converter};
use edba_tasks::project::Project;

const ORDERS_PROJECT: &str = include_str!("../../../examples/orders/edba.toml");

fn example() -> Arc<Project> {
    Arc::new(Project::parse(ORDERS_PROJECT).expect("the example project is valid"))
}

/// Converts `bytes` as the file at `path` (relative to `incoming/`), in
/// chunks of `chunk` bytes: (valid CSV, rejects as (line, column, reason), report).
fn convert(
    project: &Project,
    path: &str,
    bytes: &[u8],
    chunk: usize,
) -> (String, Vec<(u64, String, String)>, ConversionReport) {
    let matched = project.match_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut converter = Converter::for_file(&matched, ConvertOptions::default());
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    for piece in bytes.chunks(chunk.max(1)) {
        converter.push(piece, &mut valid, &mut rejects).unwrap();
    }
    let report = converter.finish(&mut valid, &mut rejects).unwrap();
    let c = report.counts;
    assert_eq!(c.rows_valid + c.rows_rejected + c.lines_skipped, report.lines, "{report:?}");
    let rejects = csv::Reader::from_reader(&rejects[..])
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].parse().unwrap(), r[1].to_owned(), r[2].to_owned())
        })
        .collect();
    (String::from_utf8(valid).unwrap(), rejects, report)
}

fn example_file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../examples/orders/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn a_csv_export_with_a_bom_crlf_a_comment_and_its_own_column_order() {
    let project = example();
    let bytes = example_file("orders/EU-2026-11-30.csv");
    let (valid, rejects, report) = convert(&project, "orders/EU-2026-11-30.csv", &bytes, bytes.len());
    assert_eq!(
        valid,
        "order_id,placed_at,status,price,quantity,coupon,region,day\n\
         A-1001,2026-11-30T08:15:00Z,placed,19.99,2,,EU,2026-11-30\n\
         A-1002,2026-11-30T18:40:00Z,shipped,5.50,1,SAVE5,EU,2026-11-30\n\
         A-1003,2026-12-01T01:30:00Z,placed,10.00,3,,EU,2026-11-30\n\
         A-1004,2026-11-30T12:00:00Z,cancelled,99.00,1,,EU,2026-11-30\n"
    );
    assert_eq!(
        rejects,
        [(7, "order_id".to_owned(), "order_id \"a-bad\" does not match the pattern [A-Z0-9-]{1,20}".to_owned())]
    );
    assert_eq!((report.status, report.lines, report.counts.lines_skipped), (FileStatus::ValidatedWithRejects, 7, 2));
    assert!(report.header);
    // Any chunking gives the same result.
    for chunk in [1, 2, 7, 64] {
        let (v, r, rep) = convert(&project, "orders/EU-2026-11-30.csv", &bytes, chunk);
        assert_eq!((v, r, rep.counts), (valid.clone(), rejects.clone(), report.counts), "chunk {chunk}");
    }
}

#[test]
fn quoted_fields_may_span_lines_and_each_bad_value_is_named() {
    let project = example();
    let bytes = example_file("orders/EU-2026-12-01.csv");
    let (valid, rejects, report) = convert(&project, "orders/EU-2026-12-01.csv", &bytes, 5);
    assert_eq!(
        valid,
        "order_id,placed_at,status,price,quantity,coupon,region,day\n\
         B-2001,2026-12-01T08:00:00Z,placed,7.25,4,SAVE5,EU,2026-12-01\n\
         B-2005,2026-12-01T12:00:00Z,placed,1.00,1,,EU,2026-12-01\n\
         B-2006,2026-12-01T13:00:00Z,shipped,2.50,2,WINTER,EU,2026-12-01\n"
    );
    let got: Vec<(u64, &str)> = rejects.iter().map(|(l, c, _)| (*l, c.as_str())).collect();
    assert_eq!(got, [(3, "price"), (4, "coupon"), (6, "status")]);
    assert!(rejects[0].2.contains("\"1,000.00\" is not a decimal number"), "{rejects:?}");
    assert_eq!(rejects[1].2, "coupon \"WINTER\\nSALE\" contains a control character", "shown on one line");
    assert_eq!(rejects[2].2, "status \"returned\" is not one of: placed, shipped, cancelled");
    // Exactly half the rows rejected: still usable.
    assert_eq!(report.status, FileStatus::ValidatedWithRejects);
    assert_eq!((report.lines, report.counts.lines_skipped), (8, 2), "the header and the quoted line break");
}

#[test]
fn json_lines_take_fields_by_name_and_keep_declared_json_as_text() {
    let project = example();
    let bytes = example_file("coupons/partner.jsonl");
    let (valid, rejects, report) = convert(&project, "coupons/partner.jsonl", &bytes, 3);
    assert_eq!(
        valid,
        "code,discount,active,terms\n\
         SAVE5,5.00,true,\"{\"\"min_order\"\":20,\"\"regions\"\":[\"\"EU\"\"]}\"\n\
         OLD1,1.50,false,\n\
         WINTER,2.00,true,\n"
    );
    assert_eq!(
        rejects,
        [(
            4,
            "discount".to_owned(),
            "discount is a nested JSON value (declare the column as type json to keep it as text)".to_owned()
        )]
    );
    assert_eq!(report.status, FileStatus::ValidatedWithRejects);
}

#[test]
fn json_numbers_keep_every_digit() {
    let project = Project::parse(
        "[[dataset]]\nname = \"ledger\"\nfiles = \"*.jsonl\"\nformat = \"jsonl\"\ncolumns = [\n\
         { name = \"amount\", type = \"decimal(20,2)\" },\n{ name = \"n\", type = \"int\" },\n\
         { name = \"note\", type = \"string\", nullable = true },\n]\n",
    )
    .unwrap();
    let input = concat!(
        "{\"amount\": 12345678901234567.89, \"n\": 9007199254740993, \"note\": \"caf\\u00e9 \\\"x\\\"\"}\n",
        "{\"amount\": 0.10, \"n\": -0, \"note\": 12.50}\n",
        "{\"amount\": 1e3, \"n\": 1}\n",
    );
    let (valid, rejects, _) = convert(&project, "x.jsonl", input.as_bytes(), 9);
    // Through a float, the amount would be 12345678901234568.00 and n 9007199254740992.
    assert_eq!(valid, "amount,n,note\n12345678901234567.89,9007199254740993,\"caf\u{e9} \"\"x\"\"\"\n0.10,0,12.50\n");
    assert_eq!(rejects.len(), 1);
    assert_eq!((rejects[0].0, rejects[0].1.as_str()), (3, "amount"));
    assert!(rejects[0].2.contains("\"1e3\" is not a decimal number"), "{rejects:?}");
}

#[test]
fn a_header_without_a_declared_column_makes_the_file_invalid_and_loses_nothing() {
    let project = example();
    let text =
        "order_id,placed_at,status,quantity\nA-1,2026-11-30T08:00:00Z,placed,1\nA-2,2026-11-30T08:00:00Z,placed,2\n";
    let (valid, rejects, report) = convert(&project, "orders/EU-2026-11-30.csv", text.as_bytes(), 4);
    assert_eq!(report.status, FileStatus::Invalid);
    let reason = report.reason.unwrap();
    assert!(reason.starts_with("the header (line 1) lacks columns price, coupon"), "{reason}");
    assert!(reason.contains("it has: order_id, placed_at, status, quantity"), "{reason}");
    assert_eq!(valid.lines().count(), 1, "only the header row");
    assert_eq!(rejects.len(), 2, "every data row is in the rejects, with the reason");
    assert_eq!((report.counts.rows_rejected, report.counts.lines_skipped), (2, 1));
}

#[test]
fn extra_columns_and_fields_can_be_refused() {
    let text = ORDERS_PROJECT.replace(
        "extra_columns = \"drop\"\ncolumns = [\n  { name = \"order_id\"",
        "extra_columns = \"reject\"\ncolumns = [\n  { name = \"order_id\"",
    );
    assert_ne!(text, ORDERS_PROJECT);
    let project = Project::parse(&text).unwrap();
    let bytes = example_file("orders/EU-2026-11-30.csv");
    let (_, _, report) = convert(&project, "orders/EU-2026-11-30.csv", &bytes, 100);
    assert_eq!(report.status, FileStatus::Invalid);
    assert!(report
        .reason
        .unwrap()
        .contains("has a column the dataset does not declare (channel; extra_columns = \"reject\")"));

    let headerless = Project::parse(
        "[[dataset]]\nname = \"feed\"\nfiles = \"*.psv\"\nformat = \"csv\"\ndelimiter = \"|\"\nheader = \"none\"\n\
         extra_columns = \"reject\"\ncolumns = [{ name = \"a\", type = \"int\" }, { name = \"b\", type = \"bool\", nullable = true }]\n",
    )
    .unwrap();
    let (valid, rejects, _) = convert(&headerless, "x.psv", b"1|yes\n2|\n3|no|extra\n4\n", 3);
    assert_eq!(valid, "a,b\n1,true\n2,\n");
    let got: Vec<(u64, &str)> = rejects.iter().map(|(l, c, _)| (*l, c.as_str())).collect();
    assert_eq!(got, [(3, ""), (4, "b")]);
    assert!(rejects[0].2.contains("has 3 '|'-separated fields, more than the 2 declared"), "{rejects:?}");
    assert!(rejects[1].2.starts_with("missing column b"), "{rejects:?}");
}

#[test]
fn an_unclosed_quote_is_one_reject_at_the_line_it_opened() {
    let project = example();
    let text = "order_id,placed_at,status,price,quantity,coupon\nA-1,2026-11-30T08:00:00Z,placed,1.00,1,\"OPEN\nA-2,2026-11-30T08:00:00Z,placed,1.00,1,\n";
    let (valid, rejects, report) = convert(&project, "orders/EU-2026-11-30.csv", text.as_bytes(), 7);
    assert_eq!(valid.lines().count(), 1);
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].0, 2);
    assert!(rejects[0].2.contains("not closed before the end of the file"), "{rejects:?}");
    assert_eq!(report.status, FileStatus::Invalid);
}

mod properties {
    //! Arbitrary CSV-ish and JSON-ish bytes through the example's declared
    //! datasets: no panic, every line accounted for, chunking irrelevant, and
    //! both outputs are CSV that parses back with one row per counted row.

    use proptest::prelude::*;

    use super::*;

    fn fragment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"order_id,placed_at,status,price,quantity,coupon\n".to_vec()),
            Just(b"A-1,2026-11-30T08:00:00Z,placed,1.50,2,\"SAVE5\"\n".to_vec()),
            Just(b"{\"code\": \"X\", \"discount\": 1.5, \"active\": true, \"terms\": {\"a\": [1]}}\n".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"\"\"".to_vec()),
            Just(b",".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"#".to_vec()),
            Just(b"{".to_vec()),
            Just(b"}".to_vec()),
            Just(b"\xEF\xBB\xBF".to_vec()),
            Just(b"\0".to_vec()),
            "[A-Z0-9:T+. -]{0,24}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..6),
        ]
    }

    fn file() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(fragment(), 0..60).prop_map(|parts| parts.concat())
    }

    fn run(path: &str, input: &[u8], chunk: usize, max_line_bytes: usize) -> (Vec<u8>, Vec<u8>, ConversionReport) {
        let project = example();
        let matched = project.match_path(path).unwrap();
        let mut converter =
            Converter::for_file(&matched, ConvertOptions { max_line_bytes, ..ConvertOptions::default() });
        let (mut valid, mut rejects) = (Vec::new(), Vec::new());
        for piece in input.chunks(chunk.max(1)) {
            converter.push(piece, &mut valid, &mut rejects).unwrap();
        }
        let report = converter.finish(&mut valid, &mut rejects).unwrap();
        (valid, rejects, report)
    }

    fn check(path: &str, input: &[u8], chunk: usize, max_line_bytes: usize) -> Result<(), TestCaseError> {
        let (valid, rejects, report) = run(path, input, input.len(), max_line_bytes);
        let c = report.counts;
        let lines =
            input.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(input.last().is_some_and(|&b| b != b'\n'));
        prop_assert_eq!(report.lines, lines);
        prop_assert_eq!(c.rows_valid + c.rows_rejected + c.lines_skipped, lines);
        let valid_rows =
            csv::Reader::from_reader(&valid[..]).records().map(|r| r.map(|_| ())).collect::<Result<Vec<_>, _>>();
        prop_assert_eq!(valid_rows.map(|r| r.len() as u64).ok(), Some(c.rows_valid));
        let reject_rows = csv::Reader::from_reader(&rejects[..]).records().count() as u64;
        prop_assert!(reject_rows == c.rows_rejected || (reject_rows == 1 && c.rows_valid == 0), "{reject_rows} {c:?}");
        let chunked = run(path, input, chunk, max_line_bytes);
        prop_assert!(chunked.0 == valid && chunked.1 == rejects && chunked.2 == report, "chunking changed the output");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        #[test]
        fn csv_with_a_header(input in file(), chunk in 1usize..64, cap in prop_oneof![Just(1usize << 20), 8usize..80]) {
            check("orders/EU-2026-11-30.csv", &input, chunk, cap)?;
        }

        #[test]
        fn json_lines(input in file(), chunk in 1usize..64, cap in prop_oneof![Just(1usize << 20), 8usize..80]) {
            check("coupons/feed.jsonl", &input, chunk, cap)?;
        }
    }
}
