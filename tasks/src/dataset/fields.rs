//! Parsers for one field of each [`ColumnKind`], on bytes, without allocating.
//!
//! Each parser appends the normalised CSV text of a valid field to the row
//! buffer, or returns why the field is invalid; the caller rolls the row back.

use super::csv_out::write_csv_field;
use super::ColumnKind;
use std::fmt;

pub(crate) const ID_MAX_LEN: usize = 25;
const NAME_MAX_CHARS: usize = 200;
/// Integer digits allowed in an amount: the absolute value stays below 10^12.
const AMOUNT_MAX_INT_DIGITS: usize = 12;
const AMOUNT_MAX_FRACTION_DIGITS: usize = 2;

static ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

pub(crate) fn is_id_byte(b: u8) -> bool {
    ID_BYTES[b as usize]
}

/// Why a field is invalid. The message completes a sentence that starts with
/// the column name and the quoted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldError {
    Empty,
    IdTooLong(usize),
    IdBadByte(u8),
    AmountSyntax,
    AmountFractionDigits,
    AmountTooLarge,
    TransTypeSyntax,
    TransTypeRange,
    DateSyntax,
    DateNotADay,
    NameBlank,
    NameTooLong(usize),
    NameControl,
    NotUtf8,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FieldError::Empty => f.write_str("is empty"),
            FieldError::IdTooLong(n) => {
                write!(f, "is {n} characters long (at most {ID_MAX_LEN} allowed)")
            }
            FieldError::IdBadByte(b) if b.is_ascii_graphic() || b == b' ' => {
                write!(f, "contains {:?}; only ASCII letters, digits, '-' and '_' are allowed", b as char)
            }
            FieldError::IdBadByte(b) => {
                write!(f, "contains byte 0x{b:02X}; only ASCII letters, digits, '-' and '_' are allowed")
            }
            FieldError::AmountSyntax => f.write_str(
                "is not a decimal number (expected digits, an optional leading '-' \
                 and up to 2 fraction digits, e.g. -12.50)",
            ),
            FieldError::AmountFractionDigits => f.write_str("has more than 2 fraction digits"),
            FieldError::AmountTooLarge => f.write_str("is too large (the absolute value must be below 10^12)"),
            FieldError::TransTypeSyntax => f.write_str("is not an integer"),
            FieldError::TransTypeRange => f.write_str("is out of range (1-99)"),
            FieldError::DateSyntax => f.write_str("is not a date in YYYY-MM-DD form"),
            FieldError::DateNotADay => f.write_str("is not a real calendar day"),
            FieldError::NameBlank => f.write_str("is blank"),
            FieldError::NameTooLong(n) => {
                write!(f, "is {n} characters long (at most {NAME_MAX_CHARS} allowed)")
            }
            FieldError::NameControl => f.write_str("contains a control character"),
            FieldError::NotUtf8 => f.write_str("is not valid UTF-8"),
        }
    }
}

/// Checks `value` as a field of `kind`; `Ok(true)` when it is already in its
/// normalised CSV form, so the caller may copy it as it is.
#[inline]
pub(crate) fn check_field(kind: ColumnKind, value: &[u8]) -> Result<bool, FieldError> {
    match kind {
        ColumnKind::Id => check_id(value).map(|()| true),
        ColumnKind::Amount => parse_amount(value).map(|a| a.is_normalised()),
        ColumnKind::TransType => parse_trans_type(value).map(|t| t.len() == value.len()),
        ColumnKind::Date => check_date(value).map(|()| true),
        ColumnKind::Name => {
            let name = parse_name(value)?;
            Ok(name.len() == value.len() && !super::csv_out::needs_quotes(value))
        }
    }
}

/// Checks `value` as a field of `kind` and appends its normalised CSV form to `out`.
/// On error `out` may hold a partial field; the caller truncates the row.
#[inline]
pub(crate) fn write_field(kind: ColumnKind, value: &[u8], out: &mut Vec<u8>) -> Result<(), FieldError> {
    match kind {
        ColumnKind::Id => {
            check_id(value)?;
            out.extend_from_slice(value);
        }
        ColumnKind::Amount => write_amount(value, out)?,
        ColumnKind::TransType => write_trans_type(value, out)?,
        ColumnKind::Date => {
            check_date(value)?;
            out.extend_from_slice(value);
        }
        ColumnKind::Name => write_name(value, out)?,
    }
    Ok(())
}

#[inline]
fn check_id(value: &[u8]) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::Empty);
    }
    if let Some(&b) = value.iter().find(|&&b| !is_id_byte(b)) {
        return Err(FieldError::IdBadByte(b));
    }
    if value.len() > ID_MAX_LEN {
        return Err(FieldError::IdTooLong(value.len()));
    }
    Ok(())
}

/// An amount split into its parts.
struct Amount<'a> {
    negative: bool,
    /// The integer digits as written.
    int: &'a [u8],
    /// The integer digits without leading zeros (empty for zero).
    significant: &'a [u8],
    /// The fraction digits as written (none without a dot).
    frac: &'a [u8],
}

impl Amount<'_> {
    fn is_zero(&self) -> bool {
        self.significant.is_empty() && self.frac.iter().all(|&b| b == b'0')
    }

    fn is_normalised(&self) -> bool {
        let int_ok = self.int.len() == self.significant.len() || self.int == b"0";
        int_ok && self.frac.len() == AMOUNT_MAX_FRACTION_DIGITS && !(self.negative && self.is_zero())
    }
}

/// Writes `-?<int>.<2 digits>`: leading zeros dropped, fraction padded to two
/// digits, and no sign on zero, so equal amounts are equal text downstream.
#[inline]
fn write_amount(value: &[u8], out: &mut Vec<u8>) -> Result<(), FieldError> {
    let amount = parse_amount(value)?;
    if amount.negative && !amount.is_zero() {
        out.push(b'-');
    }
    if amount.significant.is_empty() {
        out.push(b'0');
    } else {
        out.extend_from_slice(amount.significant);
    }
    out.push(b'.');
    out.extend_from_slice(amount.frac);
    for _ in amount.frac.len()..AMOUNT_MAX_FRACTION_DIGITS {
        out.push(b'0');
    }
    Ok(())
}

#[inline]
fn parse_amount(value: &[u8]) -> Result<Amount<'_>, FieldError> {
    if value.is_empty() {
        return Err(FieldError::Empty);
    }
    let (negative, unsigned) = match value {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, value),
    };
    let (int, frac) = match unsigned.iter().position(|&b| b == b'.') {
        Some(dot) => (&unsigned[..dot], Some(&unsigned[dot + 1..])),
        None => (unsigned, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        return Err(FieldError::AmountSyntax);
    }
    if let Some(frac) = frac {
        if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::AmountSyntax);
        }
        if frac.len() > AMOUNT_MAX_FRACTION_DIGITS {
            return Err(FieldError::AmountFractionDigits);
        }
    }
    let significant = match int.iter().position(|&b| b != b'0') {
        Some(first) => &int[first..],
        None => &[][..],
    };
    if significant.len() > AMOUNT_MAX_INT_DIGITS {
        return Err(FieldError::AmountTooLarge);
    }
    Ok(Amount { negative, int, significant, frac: frac.unwrap_or(&[]) })
}

/// Leading zeros are accepted (`04`) and dropped.
#[inline]
fn write_trans_type(value: &[u8], out: &mut Vec<u8>) -> Result<(), FieldError> {
    out.extend_from_slice(parse_trans_type(value)?);
    Ok(())
}

/// The digits of a valid trans_type without leading zeros.
#[inline]
fn parse_trans_type(value: &[u8]) -> Result<&[u8], FieldError> {
    if value.is_empty() {
        return Err(FieldError::Empty);
    }
    if !value.iter().all(u8::is_ascii_digit) {
        return Err(FieldError::TransTypeSyntax);
    }
    let significant = match value.iter().position(|&b| b != b'0') {
        Some(first) => &value[first..],
        None => return Err(FieldError::TransTypeRange),
    };
    if significant.len() > 2 {
        return Err(FieldError::TransTypeRange);
    }
    Ok(significant)
}

#[inline]
fn digit(b: u8) -> Option<u32> {
    b.is_ascii_digit().then(|| u32::from(b - b'0'))
}

/// Parses `YYYY-MM-DD` into (year, month, day) without checking the calendar.
#[inline]
fn date_parts(value: &[u8]) -> Option<(u32, u32, u32)> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = value else {
        return None;
    };
    let year = digit(y0)? * 1000 + digit(y1)? * 100 + digit(y2)? * 10 + digit(y3)?;
    let month = digit(m0)? * 10 + digit(m1)?;
    let day = digit(d0)? * 10 + digit(d1)?;
    Some((year, month, day))
}

const fn is_leap_year(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Year 0000 is rejected: no system that writes these files means it.
#[inline]
fn check_date(value: &[u8]) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::Empty);
    }
    let (year, month, day) = date_parts(value).ok_or(FieldError::DateSyntax)?;
    if year == 0 || day == 0 || day > days_in_month(year, month) {
        return Err(FieldError::DateNotADay);
    }
    Ok(())
}

/// Names are trimmed (Unicode white space) before the checks and written trimmed.
fn write_name(value: &[u8], out: &mut Vec<u8>) -> Result<(), FieldError> {
    write_csv_field(out, parse_name(value)?.as_bytes());
    Ok(())
}

/// The trimmed name, when valid.
fn parse_name(value: &[u8]) -> Result<&str, FieldError> {
    let text = std::str::from_utf8(value).map_err(|_| FieldError::NotUtf8)?;
    let name = text.trim();
    if name.is_empty() {
        return Err(FieldError::NameBlank);
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::NameControl);
    }
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(FieldError::NameTooLong(chars));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the field, and checks that `check_field` agrees on validity and
    /// on whether the value was already normalised.
    fn field(kind: ColumnKind, value: &str) -> Result<String, FieldError> {
        let mut out = Vec::new();
        let written = write_field(kind, value.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap());
        let checked = check_field(kind, value.as_bytes());
        match (&written, checked) {
            (Ok(w), Ok(normalised)) => assert_eq!(normalised, w == value, "{kind:?} {value:?}"),
            (Err(a), Err(b)) => assert_eq!(*a, b, "{kind:?} {value:?}"),
            _ => panic!("check_field and write_field disagree on {kind:?} {value:?}"),
        }
        written
    }

    #[test]
    fn amounts() {
        use FieldError::*;
        let cases: &[(&str, Result<&str, FieldError>)] = &[
            ("12.50", Ok("12.50")),
            ("12.5", Ok("12.50")),
            ("12", Ok("12.00")),
            ("-3.1", Ok("-3.10")),
            ("0", Ok("0.00")),
            ("-0.00", Ok("0.00")),
            ("007.05", Ok("7.05")),
            ("999999999999.99", Ok("999999999999.99")),
            ("-999999999999", Ok("-999999999999.00")),
            ("000000000000001", Ok("1.00")),
            ("1000000000000", Err(AmountTooLarge)),
            ("-1000000000000.00", Err(AmountTooLarge)),
            ("12.345", Err(AmountFractionDigits)),
            ("", Err(Empty)),
            ("-", Err(AmountSyntax)),
            ("+-", Err(AmountSyntax)),
            ("+5", Err(AmountSyntax)),
            ("--5", Err(AmountSyntax)),
            ("NaN", Err(AmountSyntax)),
            ("inf", Err(AmountSyntax)),
            ("-inf", Err(AmountSyntax)),
            ("1e5", Err(AmountSyntax)),
            (".5", Err(AmountSyntax)),
            ("5.", Err(AmountSyntax)),
            ("1.2.3", Err(AmountSyntax)),
            ("1,50", Err(AmountSyntax)),
            (" 1.50", Err(AmountSyntax)),
            ("1.50 ", Err(AmountSyntax)),
            ("１２", Err(AmountSyntax)),
        ];
        for (input, want) in cases {
            assert_eq!(field(ColumnKind::Amount, input).as_deref().map_err(|e| *e), *want, "{input:?}");
        }
    }

    #[test]
    fn trans_types() {
        use FieldError::*;
        let cases: &[(&str, Result<&str, FieldError>)] = &[
            ("4", Ok("4")),
            ("99", Ok("99")),
            ("04", Ok("4")),
            ("1", Ok("1")),
            ("0", Err(TransTypeRange)),
            ("00", Err(TransTypeRange)),
            ("100", Err(TransTypeRange)),
            ("99999999999999999999999", Err(TransTypeRange)),
            ("-4", Err(TransTypeSyntax)),
            ("4.0", Err(TransTypeSyntax)),
            ("", Err(Empty)),
        ];
        for (input, want) in cases {
            assert_eq!(field(ColumnKind::TransType, input).as_deref().map_err(|e| *e), *want, "{input:?}");
        }
    }

    #[test]
    fn dates() {
        use FieldError::*;
        let cases: &[(&str, Result<(), FieldError>)] = &[
            ("2016-01-31", Ok(())),
            ("2016-02-29", Ok(())),
            ("2000-02-29", Ok(())),
            ("2015-02-29", Err(DateNotADay)),
            ("1900-02-29", Err(DateNotADay)),
            ("2016-02-30", Err(DateNotADay)),
            ("2016-04-31", Err(DateNotADay)),
            ("2016-13-01", Err(DateNotADay)),
            ("2016-00-10", Err(DateNotADay)),
            ("2016-01-00", Err(DateNotADay)),
            ("0000-01-01", Err(DateNotADay)),
            ("9999-12-31", Ok(())),
            ("2016-1-01", Err(DateSyntax)),
            ("2016/01/01", Err(DateSyntax)),
            ("20160101", Err(DateSyntax)),
            ("2016-01-01T00:00", Err(DateSyntax)),
            ("", Err(Empty)),
        ];
        for (input, want) in cases {
            assert_eq!(field(ColumnKind::Date, input).map(|_| ()), *want, "{input:?}");
        }
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(field(ColumnKind::Id, "IL-101_a"), Ok("IL-101_a".into()));
        assert_eq!(field(ColumnKind::Id, &"x".repeat(25)), Ok("x".repeat(25)));
        assert_eq!(field(ColumnKind::Id, &"x".repeat(26)), Err(FieldError::IdTooLong(26)));
        assert_eq!(field(ColumnKind::Id, "a b"), Err(FieldError::IdBadByte(b' ')));
        assert_eq!(field(ColumnKind::Id, "a,b"), Err(FieldError::IdBadByte(b',')));
        assert_eq!(field(ColumnKind::Id, ""), Err(FieldError::Empty));
        assert_eq!(field(ColumnKind::Name, "  Café, \"best\" "), Ok("\"Café, \"\"best\"\"\"".into()));
        assert_eq!(field(ColumnKind::Name, "   "), Err(FieldError::NameBlank));
        assert_eq!(field(ColumnKind::Name, "a\u{7}b"), Err(FieldError::NameControl));
        assert_eq!(field(ColumnKind::Name, &"é".repeat(200)), Ok("é".repeat(200)));
        assert_eq!(field(ColumnKind::Name, &"é".repeat(201)), Err(FieldError::NameTooLong(201)));
    }
}
