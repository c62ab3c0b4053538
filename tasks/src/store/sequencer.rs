//! S3 event sequencers: hexadecimal strings that order the events of one key.
//! S3 documents that two sequencers compare after left-padding the shorter one
//! with zeros; they are not timestamps and their length varies.

use std::cmp::Ordering;

/// Whether `s` can be a sequencer: non-empty ASCII hex.
pub(crate) fn is_valid(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Orders two valid sequencers as S3 does.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    // Left-padding to equal length is the same as comparing the significant
    // digits: first by count, then digit by digit.
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len()
        .cmp(&b.len())
        .then_with(|| a.bytes().map(|c| c.to_ascii_uppercase()).cmp(b.bytes().map(|c| c.to_ascii_uppercase())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_shorter_sequencer_is_padded_before_comparing() {
        assert_eq!(compare("FF", "0100"), Ordering::Less);
        assert_eq!(compare("0062E99A88DC407460", "62E99A88DC407461"), Ordering::Less);
        assert_eq!(compare("00A", "A"), Ordering::Equal);
        assert_eq!(compare("b", "A"), Ordering::Greater);
        assert_eq!(compare("0", "000"), Ordering::Equal);
    }

    #[test]
    fn only_hex_is_a_sequencer() {
        assert!(is_valid("0062E99A88DC407460"));
        assert!(!is_valid(""));
        assert!(!is_valid("12G4"));
    }

    proptest! {
        #[test]
        fn compare_agrees_with_explicit_padding(a in "[0-9A-F]{1,20}", b in "[0-9A-F]{1,20}") {
            let width = a.len().max(b.len());
            let expected = format!("{a:0>width$}").cmp(&format!("{b:0>width$}"));
            prop_assert_eq!(compare(&a, &b), expected);
        }
    }
}
