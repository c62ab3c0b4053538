//! The converter's line rules as a table: each case is a whole input file and
//! where each of its lines must end up.

use edba_payloads::ingest::FileStatus;
use edba_tasks::dataset::{convert_reader, sample_dataset, ConversionReport, ConvertOptions, Converter};
use pretty_assertions::assert_eq;

const SALES_HEADER: &str = "store_id,amount,trans_type,item_id,trans_date";
const ITEMS_HEADER: &str = "item_id,item_name,effective_date";
const GOOD: &str = "IL-101\t12.50\t4\tITEM1\t2016-01-15\n";

/// A rejects-CSV row: line, column, reason.
type RejectRow = (u64, String, String, String);

#[derive(Debug)]
struct Outcome {
    valid: Vec<String>,
    rejects: Vec<RejectRow>,
    report: ConversionReport,
}

fn convert(dataset: &'static str, input: &[u8], opts: ConvertOptions) -> Outcome {
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    let report = convert_reader(sample_dataset(dataset), input, &mut valid, &mut rejects, opts).unwrap();
    let c = &report.counts;
    assert_eq!(c.rows_valid + c.rows_rejected + c.lines_skipped, report.lines, "{report:?}");
    let valid = String::from_utf8(valid).unwrap();
    let header = match dataset {
        "sales" => SALES_HEADER,
        _ => ITEMS_HEADER,
    };
    let mut rows = valid.lines();
    assert_eq!(rows.next(), Some(header));
    let valid: Vec<String> = rows.map(str::to_owned).collect();
    assert_eq!(valid.len() as u64, c.rows_valid);
    let mut reader = csv::Reader::from_reader(&rejects[..]);
    assert_eq!(reader.headers().unwrap(), vec!["line", "column", "reason", "raw_line"]);
    let rejects: Vec<RejectRow> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].parse().unwrap(), r[1].to_owned(), r[2].to_owned(), r[3].to_owned())
        })
        .collect();
    Outcome { valid, rejects, report }
}

/// Where the lines of a case go: valid rows as CSV, rejects as (line, column,
/// a piece of the reason), and how many lines are skipped.
struct Case {
    name: &'static str,
    dataset: &'static str,
    input: Vec<u8>,
    valid: &'static [&'static str],
    rejects: &'static [(u64, &'static str, &'static str)],
    skipped: u64,
}

fn sales(name: &'static str, input: impl Into<Vec<u8>>) -> Case {
    Case { name, dataset: "sales", input: input.into(), valid: &[], rejects: &[], skipped: 0 }
}

fn items(name: &'static str, input: impl Into<Vec<u8>>) -> Case {
    Case { dataset: "items", ..sales(name, input) }
}

impl Case {
    fn valid(mut self, rows: &'static [&'static str]) -> Self {
        self.valid = rows;
        self
    }
    fn rejects(mut self, rejects: &'static [(u64, &'static str, &'static str)]) -> Self {
        self.rejects = rejects;
        self
    }
    fn skipped(mut self, n: u64) -> Self {
        self.skipped = n;
        self
    }
}

const GOOD_ROW: &str = "IL-101,12.50,4,ITEM1,2016-01-15";

fn one_mib_line() -> Vec<u8> {
    let mut input = GOOD.as_bytes().to_vec();
    input.extend(std::iter::repeat_n(b'x', (1 << 20) + 1));
    input.push(b'\n');
    input.extend_from_slice(GOOD.as_bytes());
    input
}

fn cases() -> Vec<Case> {
    vec![
        sales("a plain row", GOOD).valid(&[GOOD_ROW]),
        sales("last line without newline", GOOD.trim_end()).valid(&[GOOD_ROW]),
        sales("CRLF line ends", format!("{}\r\n{}\r\n", GOOD.trim_end(), GOOD.trim_end())).valid(&[GOOD_ROW, GOOD_ROW]),
        sales("BOM before a row", format!("\u{feff}{GOOD}")).valid(&[GOOD_ROW]),
        sales("BOM and header", format!("\u{feff}store_id\tamount\ttrans_type\titem_id\ttrans_date\r\n{GOOD}"))
            .valid(&[GOOD_ROW])
            .skipped(1),
        sales("header with extra columns", format!("store_id\tamount\ttrans_type\titem_id\ttrans_date\tnote\n{GOOD}"))
            .valid(&[GOOD_ROW])
            .skipped(1),
        sales("header only on line 1", format!("{GOOD}store_id\tamount\ttrans_type\titem_id\ttrans_date\n"))
            .valid(&[GOOD_ROW])
            .rejects(&[(2, "amount", "amount \"amount\" is not a decimal number")]),
        sales("header names are case-sensitive", format!("STORE_ID\tAMOUNT\tTRANS_TYPE\tITEM_ID\tTRANS_DATE\n{GOOD}"))
            .valid(&[GOOD_ROW])
            .rejects(&[(1, "amount", "is not a decimal number")]),
        sales("trailing tab", "IL-101\t12.50\t4\tITEM1\t2016-01-15\t\n").valid(&[GOOD_ROW]),
        sales("extra columns are dropped", "IL-101\t12.50\t4\tITEM1\t2016-01-15\tx\ty,\"z\"\n").valid(&[GOOD_ROW]),
        sales("amount 12.5 is written 12.50", "S\t12.5\t4\tI\t2016-01-15\n").valid(&["S,12.50,4,I,2016-01-15"]),
        sales("negative and zero-padded amounts", "S\t-007\t06\tI\t2016-01-15\nS\t-0.0\t5\tI\t2016-01-15\n")
            .valid(&["S,-7.00,6,I,2016-01-15", "S,0.00,5,I,2016-01-15"]),
        sales("amount just below 10^12", "S\t999999999999.99\t4\tI\t2016-01-15\n")
            .valid(&["S,999999999999.99,4,I,2016-01-15"]),
        sales("amount 10^12", "S\t1000000000000\t4\tI\t2016-01-15\n").rejects(&[(
            1,
            "amount",
            "amount \"1000000000000\" is too large",
        )]),
        sales("empty amount", "S\t\t4\tI\t2016-01-15\n").rejects(&[(1, "amount", "amount is empty")]),
        sales("NaN", "S\tNaN\t4\tI\t2016-01-15\n").rejects(&[(1, "amount", "amount \"NaN\" is not a decimal")]),
        sales("inf", "S\tinf\t4\tI\t2016-01-15\n").rejects(&[(1, "amount", "amount \"inf\" is not a decimal")]),
        sales("1e5", "S\t1e5\t4\tI\t2016-01-15\n").rejects(&[(1, "amount", "amount \"1e5\" is not a decimal")]),
        sales("+-", "S\t+-\t4\tI\t2016-01-15\n").rejects(&[(1, "amount", "amount \"+-\" is not a decimal")]),
        sales("12.345", "S\t12.345\t4\tI\t2016-01-15\n").rejects(&[(
            1,
            "amount",
            "amount \"12.345\" has more than 2 fraction digits",
        )]),
        sales("2016-02-29 is a day", "S\t1\t4\tI\t2016-02-29\n").valid(&["S,1.00,4,I,2016-02-29"]),
        sales("2016-02-30 is not", "S\t1\t4\tI\t2016-02-30\n").rejects(&[(
            1,
            "trans_date",
            "trans_date \"2016-02-30\" is not a real calendar day",
        )]),
        sales("2015-02-29 is not", "S\t1\t4\tI\t2015-02-29\n").rejects(&[(
            1,
            "trans_date",
            "trans_date \"2015-02-29\" is not a real calendar day",
        )]),
        sales("US date", "S\t1\t4\tI\t02/29/2016\n").rejects(&[(1, "trans_date", "is not a date in YYYY-MM-DD form")]),
        sales("trans_type 0", "S\t1\t0\tI\t2016-01-15\n").rejects(&[(
            1,
            "trans_type",
            "trans_type \"0\" is out of range (1-99)",
        )]),
        sales("trans_type 100", "S\t1\t100\tI\t2016-01-15\n").rejects(&[(
            1,
            "trans_type",
            "trans_type \"100\" is out of range (1-99)",
        )]),
        sales("trans_type 99", "S\t1\t99\tI\t2016-01-15\n").valid(&["S,1.00,99,I,2016-01-15"]),
        sales("store id of 25", "abcdefghijklmnopqrstuvwxy\t1\t4\tI\t2016-01-15\n")
            .valid(&["abcdefghijklmnopqrstuvwxy,1.00,4,I,2016-01-15"]),
        sales("store id too long", "abcdefghijklmnopqrstuvwxyz\t1\t4\tI\t2016-01-15\n").rejects(&[(
            1,
            "store_id",
            "is 26 characters long (at most 25 allowed)",
        )]),
        sales("empty store id", "\t1\t4\tI\t2016-01-15\n").rejects(&[(1, "store_id", "store_id is empty")]),
        sales("item id with a space", "S\t1\t4\tI 1\t2016-01-15\n").rejects(&[(1, "item_id", "contains ' '")]),
        sales("too few columns", "IL-101\t12.50\t4\n").rejects(&[(
            1,
            "item_id",
            "missing column item_id: the line has 3 of 5 required",
        )]),
        sales("comma-separated line", "IL-101,12.50,4,ITEM1,2016-01-15\n").rejects(&[(
            1,
            "amount",
            "missing column amount: the line has 1 of 5",
        )]),
        sales("junk and blank lines", format!("{GOOD}\n   \n\t\t\r\n----\n-----END-----\n-\n{GOOD}\r\n"))
            .valid(&[GOOD_ROW, GOOD_ROW])
            .skipped(7),
        sales("a NUL byte", format!("{GOOD}IL-101\t12.50\t4\tIT\0EM\t2016-01-15\n{GOOD}"))
            .valid(&[GOOD_ROW, GOOD_ROW])
            .rejects(&[(2, "", "line contains a NUL byte at byte 18")]),
        sales("a NUL in a dropped column", format!("{GOOD}IL-101\t1\t4\tI\t2016-01-15\t\0\n{GOOD}"))
            .valid(&[GOOD_ROW, GOOD_ROW])
            .rejects(&[(2, "", "NUL byte")]),
        sales("a 1 MiB line", one_mib_line()).valid(&[GOOD_ROW, GOOD_ROW]).rejects(&[(
            2,
            "",
            "line longer than 1048576 bytes (1048577 bytes) (raw line cut to its first 1024 of 1048577 bytes)",
        )]),
        items("an item", "I1\tWidget, large \"XL\"\t2016-01-15\textra\n")
            .valid(&["I1,\"Widget, large \"\"XL\"\"\",2016-01-15"]),
        items("an item name is trimmed", "I1\t  Café crème \t2016-01-15\n").valid(&["I1,Café crème,2016-01-15"]),
        items("Latin-1 bytes", b"I1\tcaf\xe9\t2016-01-15\nI2\tcafe\t2016-01-15\n".to_vec())
            .valid(&["I2,cafe,2016-01-15"])
            .rejects(&[(1, "", "line is not valid UTF-8: byte 0xE9 at byte 7")]),
        items("blank item name", "I1\t \t2016-01-15\n").rejects(&[(1, "item_name", "item_name \" \" is blank")]),
        items("item name of 201 characters", format!("I1\t{}\t2016-01-15\n", "n".repeat(201))).rejects(&[(
            1,
            "item_name",
            "is 201 characters long (at most 200 allowed)",
        )]),
        items("items header", "item_id\titem_name\teffective_date\nI1\tWidget\t2016-01-15\n")
            .valid(&["I1,Widget,2016-01-15"])
            .skipped(1),
        items("items too few columns", "I1\tWidget\n").rejects(&[(
            1,
            "effective_date",
            "missing column effective_date",
        )]),
    ]
}

#[test]
fn every_line_rule() {
    for case in cases() {
        let out = convert(case.dataset, &case.input, ConvertOptions::default());
        assert_eq!(out.valid, case.valid, "{}: valid rows", case.name);
        let got: Vec<(u64, &str)> = out.rejects.iter().map(|r| (r.0, r.1.as_str())).collect();
        let want: Vec<(u64, &str)> = case.rejects.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(got, want, "{}: rejected lines and columns", case.name);
        for (got, want) in out.rejects.iter().zip(case.rejects) {
            assert!(got.2.contains(want.2), "{}: reason {:?} lacks {:?}", case.name, got.2, want.2);
        }
        assert_eq!(out.report.counts.lines_skipped, case.skipped, "{}: skipped", case.name);
        let first: Vec<(u64, String)> = out.report.first_rejects.iter().map(|r| (r.line, r.reason.clone())).collect();
        let all: Vec<(u64, String)> = out.rejects.iter().take(10).map(|r| (r.0, r.2.clone())).collect();
        assert_eq!(first, all, "{}: first rejects match the rejects CSV", case.name);
    }
}

#[test]
fn rejects_keep_the_raw_line() {
    let out = convert("sales", b"S\t1,5\t4\tI\t2016-01-15\r\n", ConvertOptions::default());
    assert_eq!(out.rejects[0].3, "S\t1,5\t4\tI\t2016-01-15");
    let out = convert("items", b"I1\tcaf\xe9\t2016-01-15\n", ConvertOptions::default());
    assert_eq!(out.rejects[0].3, "I1\tcaf\u{fffd}\t2016-01-15");
    let out = convert("sales", &one_mib_line(), ConvertOptions::default());
    assert_eq!(out.rejects[0].3, "x".repeat(1024));
}

#[test]
fn empty_and_blank_files() {
    let out = convert("sales", b"", ConvertOptions::default());
    assert_eq!((out.report.lines, out.report.status), (0, FileStatus::Invalid));
    assert_eq!(out.report.reason.as_deref(), Some("file is empty"));
    let out = convert("sales", b"\xEF\xBB\xBF", ConvertOptions::default());
    assert_eq!((out.report.lines, out.report.counts.lines_skipped), (1, 1));
    assert_eq!(out.report.status, FileStatus::Invalid);
    let out = convert("sales", b"\n\n", ConvertOptions::default());
    assert_eq!(out.report.lines, 2);
}

#[test]
fn utf16_and_binary_files_are_invalid_as_a_whole() {
    let utf16: Vec<u8> =
        "\u{feff}IL-101\t1\t4\tI\t2016-01-15\n".repeat(3).encode_utf16().flat_map(u16::to_le_bytes).collect();
    let out = convert("sales", &utf16, ConvertOptions::default());
    assert_eq!(out.report.status, FileStatus::Invalid);
    assert!(out.report.reason.unwrap().contains("UTF-16"));
    assert_eq!(out.report.counts.rows_rejected, out.report.lines);
    assert_eq!(out.rejects.len(), 1);

    let mut nul_lines = Vec::new();
    for i in 0..2000 {
        nul_lines.extend_from_slice(format!("S\t{i}\t4\tI\0\t2016-01-15\n").as_bytes());
    }
    let out = convert("sales", &nul_lines, ConvertOptions::default());
    assert_eq!((out.report.status, out.report.lines), (FileStatus::Invalid, 2000));
    assert!(out.report.reason.unwrap().starts_with("binary content: "));
    assert!(out.valid.is_empty());
}

/// Pushes `input` in chunks of `size` and returns both outputs and the report.
fn push_in_chunks(input: &[u8], size: usize, opts: ConvertOptions) -> (Vec<u8>, Vec<u8>, ConversionReport) {
    let mut converter = Converter::new(sample_dataset("sales"), opts);
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    for chunk in input.chunks(size) {
        converter.push(chunk, &mut valid, &mut rejects).unwrap();
    }
    let report = converter.finish(&mut valid, &mut rejects).unwrap();
    (valid, rejects, report)
}

#[test]
fn chunk_boundaries_do_not_matter() {
    let mut input = b"\xEF\xBB\xBFstore_id\tamount\ttrans_type\titem_id\ttrans_date\r\n".to_vec();
    for case in cases().into_iter().filter(|c| c.dataset == "sales" && c.input.len() < 10_000) {
        input.extend_from_slice(&case.input);
        if !case.input.ends_with(b"\n") {
            input.push(b'\n');
        }
    }
    // Past the binary sniffing window, and lines over a small cap.
    for i in 0..300 {
        input.extend_from_slice(format!("S{i}\t{i}.5\t4\tI\t2016-01-15\r\n").as_bytes());
        if i % 50 == 0 {
            input.extend(std::iter::repeat_n(b'y', 150 + i));
            input.extend_from_slice(b"\r\n");
        }
    }
    input.extend_from_slice(b"S\t1\t4\tI\t2016-01-15");

    for opts in [ConvertOptions::default(), ConvertOptions { max_line_bytes: 100, ..Default::default() }] {
        let whole = push_in_chunks(&input, input.len(), opts);
        assert!(whole.2.counts.rows_rejected > 20 && whole.2.counts.rows_valid > 300, "{:?}", whole.2);
        for size in [1, 2, 3, 7, 64, 4096, 8191, 8192, 8193] {
            let chunked = push_in_chunks(&input, size, opts);
            assert!(chunked.0 == whole.0, "valid CSV differs with {size}-byte chunks");
            assert_eq!(
                String::from_utf8_lossy(&chunked.1).lines().collect::<Vec<_>>(),
                String::from_utf8_lossy(&whole.1).lines().collect::<Vec<_>>(),
                "rejects CSV differs with {size}-byte chunks"
            );
            assert_eq!(chunked.2, whole.2, "report differs with {size}-byte chunks");
        }
    }
}

#[test]
fn a_huge_line_split_across_chunks_is_rejected_and_counted_once() {
    let mut input = GOOD.as_bytes().to_vec();
    input.extend(std::iter::repeat_n(b'z', 5 << 20));
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(GOOD.as_bytes());
    let (valid, _, report) = push_in_chunks(&input, 64 * 1024, ConvertOptions::default());
    assert_eq!(report.lines, 3);
    assert_eq!((report.counts.rows_valid, report.counts.rows_rejected), (2, 1));
    let reason = &report.first_rejects[0].reason;
    assert!(reason.starts_with("line longer than 1048576 bytes (5242880 bytes)"), "{reason}");
    assert_eq!(valid.iter().filter(|&&b| b == b'\n').count(), 3);
}
