use super::*;
use crate::project::Project;

fn sales() -> Arc<DatasetSpec> {
    Project::sample().dataset("sales").unwrap().clone()
}

fn run(dataset: Arc<DatasetSpec>, input: &[u8], opts: ConvertOptions) -> (String, String, ConversionReport) {
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    let report = convert_reader(dataset, input, &mut valid, &mut rejects, opts).unwrap();
    (String::from_utf8(valid).unwrap(), String::from_utf8(rejects).unwrap(), report)
}

#[test]
fn sniffing_tells_text_from_binary() {
    assert_eq!(sniff_binary(b"IL-101\t1.00\t4\tA\t2016-01-01\n"), None);
    assert_eq!(sniff_binary("café\tcrème\n".repeat(50).as_bytes()), None);
    assert_eq!(sniff_binary(b"caf\xe9\tcr\xe8me br\xfbl\xe9e\n"), None);
    let mut one_nul = b"a\tb\n".repeat(10);
    one_nul[5] = 0;
    assert_eq!(sniff_binary(&one_nul), None);
    assert!(sniff_binary(b"a\0b\nc\0d\ne\n").unwrap().contains("2 of the first 3 lines"));
    assert!(sniff_binary(b"\xFF\xFEI\0L\0").unwrap().contains("UTF-16"));
    let gzip_like: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let gzip_like: Vec<u8> = gzip_like.into_iter().filter(|&b| b != 0 && b != b'\n').collect();
    assert!(sniff_binary(&gzip_like).unwrap().contains("are not text"));
}

#[test]
fn binary_file_is_rejected_whole_and_lines_still_add_up() {
    let input: Vec<u8> = b"\0\x01\x02\n".repeat(5000);
    let (valid, rejects, report) = run(sales(), &input, ConvertOptions::default());
    assert_eq!(report.status, FileStatus::Invalid);
    assert_eq!(report.lines, 5000);
    assert_eq!(report.counts.rows_rejected, 5000);
    assert!(report.reason.as_deref().unwrap().starts_with("binary content"));
    assert_eq!(valid, "store_id,amount,trans_type,item_id,trans_date\n");
    assert_eq!(rejects.lines().count(), 2);
    assert!(rejects.lines().nth(1).unwrap().starts_with("0,,"));
}

#[test]
fn carry_never_grows_past_the_cap() {
    let opts = ConvertOptions { max_line_bytes: 100, ..ConvertOptions::default() };
    let mut c = Converter::new(sales(), opts);
    let (mut v, mut r) = (Vec::new(), Vec::new());
    c.push(&[b'x'; SNIFF_BYTES], &mut v, &mut r).unwrap();
    for _ in 0..1000 {
        c.push(&[b'y'; 1000], &mut v, &mut r).unwrap();
        assert!(c.carry.len() <= OVERLONG_PREFIX.max(101));
    }
    let report = c.finish(&mut v, &mut r).unwrap();
    assert_eq!(report.lines, 1);
    assert_eq!(report.counts.rows_rejected, 1);
    let reason = &report.first_rejects[0].reason;
    assert!(reason.starts_with("line longer than 100 bytes (1008192 bytes)"), "{reason}");
    assert!(reason.contains("cut to its first 1024 of 1008192 bytes"), "{reason}");
}

#[test]
fn verdicts() {
    let opts = ConvertOptions::default();
    let (_, _, r) = run(sales(), b"", opts);
    assert_eq!((r.status, r.reason.as_deref(), r.lines), (FileStatus::Invalid, Some("file is empty"), 0));
    let (_, _, r) = run(sales(), b"----\n\n", opts);
    assert_eq!(r.status, FileStatus::Invalid);
    assert_eq!(r.reason.as_deref(), Some("no data rows: all 2 lines are blank, junk or a header"));
    let (_, _, r) = run(sales(), b"x\ny\n", opts);
    assert_eq!(r.reason.as_deref(), Some("no valid rows: 2 rejected, 0 skipped"));
    let good = "S1\t1.00\t4\tI1\t2016-01-01\n";
    let (_, _, r) = run(sales(), format!("{good}{good}bad\n").as_bytes(), opts);
    assert_eq!(r.status, FileStatus::ValidatedWithRejects);
    assert_eq!(r.reason.as_deref(), Some("1 of 3 rows rejected"));
    let (_, _, r) = run(sales(), format!("{good}bad\n").as_bytes(), opts);
    assert_eq!(r.status, FileStatus::ValidatedWithRejects, "exactly at the share is usable");
    let (_, _, r) = run(sales(), format!("{good}bad\nbad\n").as_bytes(), opts);
    assert_eq!(r.status, FileStatus::Invalid);
    assert_eq!(
        r.reason.as_deref(),
        Some("too many rejects: 2 of 3 rows rejected (66.7%, more than the 50.0% allowed)")
    );
    let strict = ConvertOptions { max_reject_share: Some(0.0), ..opts };
    let (_, _, r) = run(sales(), format!("{good}{good}bad\n").as_bytes(), strict);
    assert_eq!(r.status, FileStatus::Invalid);
    let (_, _, r) = run(sales(), good.as_bytes(), opts);
    assert_eq!((r.status, r.reason), (FileStatus::Validated, None));
}

#[test]
fn display_shows_counts_and_first_rejects() {
    let input = "store_id\tamount\ttrans_type\titem_id\ttrans_date\nS1\t1.00\t4\tI1\t2016-01-01\nS1\t12.345\t4\tI1\t2016-01-01\n";
    let (_, _, r) = run(sales(), input.as_bytes(), ConvertOptions::default());
    let text = r.to_string();
    assert!(text.starts_with("sales: VALIDATED_WITH_REJECTS (1 of 2 rows rejected)\n"), "{text}");
    assert!(text.contains("3 lines, 96 bytes: 1 valid, 1 rejected, 1 skipped (including the header)"), "{text}");
    assert!(text.contains("line 3 [amount]: amount \"12.345\" has more than 2 fraction digits"), "{text}");
    assert!(text.contains("| S1 12.345 4 I1 2016-01-01"), "{text}");
}
