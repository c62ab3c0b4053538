//! Fuzzes the TDF -> CSV converter: any bytes, any chunking, either dataset.
//! It must not panic, must account for every line, and must not depend on
//! how the input is cut into chunks.
#![no_main]

use edba_tasks::dataset::{ConversionReport, ConvertOptions, Converter, sample_dataset};
use libfuzzer_sys::fuzz_target;

fn run(dataset: &'static str, input: &[u8], chunk: usize, opts: ConvertOptions) -> (Vec<u8>, Vec<u8>, ConversionReport) {
    let mut converter = Converter::new(sample_dataset(dataset), opts);
    let (mut valid, mut rejects) = (Vec::new(), Vec::new());
    for piece in input.chunks(chunk) {
        converter.push(piece, &mut valid, &mut rejects).expect("Vec sinks do not fail");
    }
    let report = converter.finish(&mut valid, &mut rejects).expect("Vec sinks do not fail");
    (valid, rejects, report)
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick the dataset, the line cap and the chunk size.
    let [control, chunk, input @ ..] = data else { return };
    let dataset = if control & 1 == 0 { "sales" } else { "items" };
    let max_line_bytes = if control & 2 == 0 { 1 << 20 } else { usize::from(control >> 2) + 1 };
    let opts = ConvertOptions { max_line_bytes, ..ConvertOptions::default() };

    let (valid, rejects, report) = run(dataset, input, input.len().max(1), opts);
    let c = report.counts;
    let lines =
        input.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(input.last().is_some_and(|&b| b != b'\n'));
    assert_eq!(report.lines, lines);
    assert_eq!(c.rows_valid + c.rows_rejected + c.lines_skipped, lines);
    assert_eq!(valid.iter().filter(|&&b| b == b'\n').count() as u64, c.rows_valid + 1 + quoted_newlines(&valid));
    assert!(report.first_rejects.len() as u64 <= c.rows_rejected.min(10));

    let chunked = run(dataset, input, usize::from(*chunk) + 1, opts);
    assert!(chunked.0 == valid && chunked.1 == rejects && chunked.2 == report, "chunking changed the output");
});

/// Valid rows never hold CR or LF inside a field (names reject control
/// characters), so this is always zero; counted rather than assumed.
fn quoted_newlines(csv: &[u8]) -> u64 {
    let mut in_quotes = false;
    let mut n = 0;
    for &b in csv {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if in_quotes => n += 1,
            _ => {}
        }
    }
    n
}
