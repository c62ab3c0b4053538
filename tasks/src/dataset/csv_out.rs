//! RFC 4180 field quoting for the validated and rejects CSVs.
//!
//! Rows end with LF, not the RFC's CRLF: every consumer downstream (Spark,
//! Redshift `COPY`, the embedded engine, the `csv` crate) accepts it.

#[inline]
pub(crate) fn needs_quotes(field: &[u8]) -> bool {
    field.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

/// Appends `field`, quoted when it contains a comma, a double quote, CR or LF,
/// with inner quotes doubled.
#[inline]
pub(crate) fn write_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if !needs_quotes(field) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    let mut rest = field;
    while let Some(q) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=q]);
        out.push(b'"');
        rest = &rest[q + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        for (input, want) in [
            ("plain", "plain"),
            ("", ""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("\"", "\"\"\"\""),
            ("a\rb", "\"a\rb\""),
            ("a\nb", "\"a\nb\""),
        ] {
            let mut out = Vec::new();
            write_csv_field(&mut out, input.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), want, "{input:?}");
        }
    }

    #[test]
    fn the_rejects_csv_reads_back_as_its_rejects() {
        use crate::dataset::{sample_dataset, ConvertOptions, Converter, Reject};
        let input = "IL-101\t1.005\t4\tI1\t2024-05-01\nIL-101\t1.00\t4\tI1\n\"a, b\"\t1\t4\tI1\t2024-05-01\n";
        let mut converter = Converter::new(sample_dataset("sales"), ConvertOptions::default());
        let (mut valid, mut rejects) = (Vec::new(), Vec::new());
        converter.push(input.as_bytes(), &mut valid, &mut rejects).unwrap();
        let report = converter.finish(&mut valid, &mut rejects).unwrap();
        let read: Vec<Reject> =
            csv::Reader::from_reader(rejects.as_slice()).deserialize().map(Result::unwrap).collect();
        assert_eq!(read.len(), 3);
        assert_eq!(read, report.first_rejects);
        assert!(read.iter().any(|r| r.column.is_none() || r.raw_line.contains(',')), "{read:?}");
    }
}
