//! Checking and normalising one field of a declared column, on bytes.
//!
//! Each column type has one parser here (the rules are in
//! [`crate::project::ColumnType`]'s module). [`check_field`] says whether a
//! value is valid and already in its normalised form, without allocating, so
//! the converter can copy most rows as they are; [`write_field`] appends the
//! normalised CSV text, or says why the value is invalid (the caller then
//! rolls the row back).

use std::fmt::{self, Write as _};

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::csv_out::{needs_quotes, write_csv_field};
use crate::project::{ColumnSpec, ColumnType, StringRules};

/// Why a field is invalid. [`FieldError::describe`] completes a sentence that
/// starts with the column name and the quoted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldError {
    Empty,
    Blank,
    NotUtf8,
    Control,
    TooShort(usize),
    TooLong(usize),
    BadByte(u8),
    Pattern,
    IntSyntax,
    IntRange,
    DecimalSyntax,
    DecimalFraction,
    DecimalTooLarge,
    DateSyntax,
    DateNotADay,
    TimestampSyntax,
    TimestampNoOffset,
    TimestampFraction,
    BoolSyntax,
    EnumValue,
    JsonSyntax,
}

impl FieldError {
    /// The rest of the reason after `<column> "<value>" `.
    pub(crate) fn describe(self, column: &ColumnSpec) -> impl fmt::Display + '_ {
        Described(self, column)
    }
}

struct Described<'a>(FieldError, &'a ColumnSpec);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Described(error, column) = *self;
        match (error, &column.ty) {
            (FieldError::Empty, _) => f.write_str("is empty"),
            (FieldError::Blank, _) => f.write_str("is blank"),
            (FieldError::NotUtf8, _) => f.write_str("is not valid UTF-8"),
            (FieldError::Control, _) => f.write_str("contains a control character"),
            (FieldError::TooShort(n), ColumnType::String(rules)) => {
                write!(f, "is {n} characters long (at least {} required)", rules.min_length)
            }
            (FieldError::TooLong(n), ColumnType::String(rules)) => {
                write!(f, "is {n} characters long (at most {} allowed)", rules.max_length)
            }
            (FieldError::BadByte(b), ColumnType::String(rules)) => {
                let class = rules.chars.as_ref().map_or("", |c| c.text.as_str());
                if b.is_ascii_graphic() || b == b' ' {
                    write!(f, "contains {:?}; only the characters [{class}] are allowed", b as char)
                } else {
                    write!(f, "contains byte 0x{b:02X}; only the characters [{class}] are allowed")
                }
            }
            (FieldError::Pattern, ColumnType::String(rules)) => {
                let pattern = rules.pattern.as_ref().map_or("", |p| p.as_str());
                let declared = pattern.strip_prefix("^(?:").and_then(|p| p.strip_suffix(")$")).unwrap_or(pattern);
                write!(f, "does not match the pattern {declared}")
            }
            (FieldError::IntSyntax, _) => f.write_str("is not an integer"),
            (FieldError::IntRange, ColumnType::Int { min, max }) => write!(f, "is out of range ({min}-{max})"),
            (FieldError::DecimalSyntax, ColumnType::Decimal { scale, .. }) => {
                let example = if *scale == 0 {
                    "-12".to_owned()
                } else {
                    format!("-12.5{}", "0".repeat(usize::from(*scale) - 1))
                };
                write!(
                    f,
                    "is not a decimal number (expected digits, an optional leading '-' and up to {scale} fraction \
                     digits, e.g. {example})"
                )
            }
            (FieldError::DecimalFraction, ColumnType::Decimal { scale, .. }) => {
                write!(f, "has more than {scale} fraction digits")
            }
            (FieldError::DecimalTooLarge, ColumnType::Decimal { precision, scale }) => {
                write!(f, "is too large (the absolute value must be below 10^{})", precision - scale)
            }
            (FieldError::DateSyntax, _) => f.write_str("is not a date in YYYY-MM-DD form"),
            (FieldError::DateNotADay, _) => f.write_str("is not a real calendar day"),
            (FieldError::TimestampSyntax, _) => {
                f.write_str("is not an RFC 3339 timestamp (e.g. 2026-11-30T08:15:00Z or 2026-11-30 09:15:00+01:00)")
            }
            (FieldError::TimestampNoOffset, _) => f.write_str("has no UTC offset (end it with Z or +HH:MM)"),
            (FieldError::TimestampFraction, _) => f.write_str("has more than 6 fraction digits"),
            (FieldError::BoolSyntax, _) => f.write_str("is not a boolean (true/false, yes/no, y/n, t/f, 1/0)"),
            (FieldError::EnumValue, ColumnType::Enum { values }) => write!(f, "is not one of: {}", values.join(", ")),
            (FieldError::JsonSyntax, _) => f.write_str("is not JSON text"),
            (other, ty) => write!(f, "is invalid ({other:?} for {})", ty.spelling()),
        }
    }
}

/// Checks `value` as a field of `column`; `Ok(true)` when it is already in its
/// normalised CSV form, so the caller may copy it as it is. An empty value of
/// a nullable column is NULL (and normalised).
#[inline]
pub(crate) fn check_field(column: &ColumnSpec, value: &[u8]) -> Result<bool, FieldError> {
    if value.is_empty() {
        return if column.nullable { Ok(true) } else { Err(FieldError::Empty) };
    }
    match &column.ty {
        ColumnType::String(rules) => string_is_normalised(rules, column.nullable, value),
        ColumnType::Int { min, max } => parse_int(value, *min, *max).map(|(_, canonical)| canonical),
        ColumnType::Decimal { precision, scale } => {
            parse_decimal(value, *precision, *scale).map(|d| d.is_normalised(*scale))
        }
        ColumnType::Date => check_date(value).map(|()| true),
        ColumnType::Timestamp => {
            let mut buf = [0u8; 40];
            let written = format_timestamp(parse_timestamp(value)?, &mut buf)?;
            Ok(written == value)
        }
        ColumnType::Bool => parse_bool(value).map(|b| value == if b { &b"true"[..] } else { b"false" }),
        ColumnType::Enum { values } => {
            check_enum(values, value)?;
            Ok(!needs_quotes(value))
        }
        ColumnType::Json => check_json(value).map(|()| false),
    }
}

/// Checks `value` as a field of `column` and appends its normalised CSV form
/// to `out` (nothing for NULL). On error `out` may hold a partial field.
#[inline]
pub(crate) fn write_field(column: &ColumnSpec, value: &[u8], out: &mut Vec<u8>) -> Result<(), FieldError> {
    if value.is_empty() {
        return if column.nullable { Ok(()) } else { Err(FieldError::Empty) };
    }
    match &column.ty {
        ColumnType::String(rules) => {
            if let Some(text) = check_string(rules, column.nullable, value)? {
                write_csv_field(out, text.as_bytes());
            }
        }
        ColumnType::Int { min, max } => {
            let (n, _) = parse_int(value, *min, *max)?;
            let _ = write!(VecWriter(out), "{n}");
        }
        ColumnType::Decimal { precision, scale } => {
            write_decimal(parse_decimal(value, *precision, *scale)?, *scale, out)
        }
        ColumnType::Date => {
            check_date(value)?;
            out.extend_from_slice(value);
        }
        ColumnType::Timestamp => {
            let mut buf = [0u8; 40];
            out.extend_from_slice(format_timestamp(parse_timestamp(value)?, &mut buf)?);
        }
        ColumnType::Bool => out.extend_from_slice(if parse_bool(value)? { b"true" } else { b"false" }),
        ColumnType::Enum { values } => {
            check_enum(values, value)?;
            write_csv_field(out, value);
        }
        ColumnType::Json => {
            check_json(value)?;
            let parsed: serde_json::Value = serde_json::from_slice(value).map_err(|_| FieldError::JsonSyntax)?;
            write_csv_field(out, parsed.to_string().as_bytes());
        }
    }
    Ok(())
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Checks a string value and says whether it is written as it is. A column
/// with a `chars` class (the sample's ids) takes one pass over the bytes.
#[inline]
fn string_is_normalised(rules: &StringRules, nullable: bool, value: &[u8]) -> Result<bool, FieldError> {
    let Some(chars) = &rules.chars else {
        return check_string(rules, nullable, value).map(|s| match s {
            Some(text) => text.len() == value.len() && !needs_quotes(value),
            None => false,
        });
    };
    if let Some(&b) = value.iter().find(|&&b| !chars.contains(b)) {
        return Err(FieldError::BadByte(b));
    }
    // The class is printable ASCII (`CharClass::parse` allows nothing else):
    // one character per byte, valid UTF-8, no control character.
    let trimmed = if rules.trim { value.trim_ascii() } else { value };
    if trimmed.is_empty() {
        return if nullable { Ok(false) } else { Err(FieldError::Blank) };
    }
    if trimmed.len() > rules.max_length as usize {
        return Err(FieldError::TooLong(trimmed.len()));
    }
    if trimmed.len() < rules.min_length as usize {
        return Err(FieldError::TooShort(trimmed.len()));
    }
    if let Some(pattern) = &rules.pattern {
        if !std::str::from_utf8(trimmed).is_ok_and(|text| pattern.is_match(text)) {
            return Err(FieldError::Pattern);
        }
    }
    Ok(trimmed.len() == value.len() && !chars.needs_quotes)
}

/// The string to write (`None`: NULL, a blank value of a nullable trimmed column).
#[inline]
fn check_string<'v>(rules: &StringRules, nullable: bool, value: &'v [u8]) -> Result<Option<&'v str>, FieldError> {
    if let Some(chars) = &rules.chars {
        // The class is ASCII, so a value of allowed bytes is ASCII text with
        // one character per byte: no UTF-8 or control check is needed.
        if let Some(&b) = value.iter().find(|&&b| !chars.contains(b)) {
            return Err(FieldError::BadByte(b));
        }
    }
    let text = std::str::from_utf8(value).map_err(|_| FieldError::NotUtf8)?;
    let text = if rules.trim { text.trim() } else { text };
    if text.is_empty() {
        return if nullable { Ok(None) } else { Err(FieldError::Blank) };
    }
    if rules.chars.is_none() && text.chars().any(char::is_control) {
        return Err(FieldError::Control);
    }
    let length = if text.is_ascii() { text.len() } else { text.chars().count() };
    if length > rules.max_length as usize {
        return Err(FieldError::TooLong(length));
    }
    if length < rules.min_length as usize {
        return Err(FieldError::TooShort(length));
    }
    if let Some(pattern) = &rules.pattern {
        if !pattern.is_match(text) {
            return Err(FieldError::Pattern);
        }
    }
    Ok(Some(text))
}

/// The integer and whether `value` is its canonical text (no `+`, no leading
/// zeros, no `-0`).
#[inline]
fn parse_int(value: &[u8], min: i64, max: i64) -> Result<(i64, bool), FieldError> {
    let (negative, digits) = match value {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, value),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FieldError::IntSyntax);
    }
    let mut n: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        n = n
            .checked_mul(10)
            .and_then(|n| if negative { n.checked_sub(d) } else { n.checked_add(d) })
            .ok_or(FieldError::IntRange)?;
    }
    if n < min || n > max {
        return Err(FieldError::IntRange);
    }
    let canonical = (digits.len() == 1 || digits[0] != b'0') && !(negative && n == 0);
    Ok((n, canonical))
}

/// A decimal split into its parts.
struct Decimal<'a> {
    negative: bool,
    /// The integer digits as written.
    int: &'a [u8],
    /// The integer digits without leading zeros (empty for zero).
    significant: &'a [u8],
    /// The fraction digits as written (none without a dot).
    frac: &'a [u8],
}

impl Decimal<'_> {
    fn is_zero(&self) -> bool {
        self.significant.is_empty() && self.frac.iter().all(|&b| b == b'0')
    }

    fn is_normalised(&self, scale: u8) -> bool {
        let int_ok = self.int.len() == self.significant.len() || self.int == b"0";
        let frac_ok = self.frac.len() == usize::from(scale);
        int_ok && frac_ok && !(self.negative && self.is_zero())
    }
}

/// Writes `-?<int>[.<scale digits>]`: leading zeros dropped, the fraction
/// padded to the scale, and no sign on zero, so equal values are equal text.
#[inline]
fn write_decimal(d: Decimal<'_>, scale: u8, out: &mut Vec<u8>) {
    if d.negative && !d.is_zero() {
        out.push(b'-');
    }
    if d.significant.is_empty() {
        out.push(b'0');
    } else {
        out.extend_from_slice(d.significant);
    }
    if scale > 0 {
        out.push(b'.');
        out.extend_from_slice(d.frac);
        for _ in d.frac.len()..usize::from(scale) {
            out.push(b'0');
        }
    }
}

#[inline]
fn parse_decimal(value: &[u8], precision: u8, scale: u8) -> Result<Decimal<'_>, FieldError> {
    let (negative, unsigned) = match value {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, value),
    };
    let (int, frac) = match unsigned.iter().position(|&b| b == b'.') {
        Some(dot) => (&unsigned[..dot], Some(&unsigned[dot + 1..])),
        None => (unsigned, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        return Err(FieldError::DecimalSyntax);
    }
    if let Some(frac) = frac {
        if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::DecimalSyntax);
        }
        if frac.len() > usize::from(scale) {
            return Err(FieldError::DecimalFraction);
        }
    }
    let significant = match int.iter().position(|&b| b != b'0') {
        Some(first) => &int[first..],
        None => &[][..],
    };
    if significant.len() > usize::from(precision - scale) {
        return Err(FieldError::DecimalTooLarge);
    }
    Ok(Decimal { negative, int, significant, frac: frac.unwrap_or(&[]) })
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
#[inline(always)]
fn check_date(value: &[u8]) -> Result<(), FieldError> {
    let (year, month, day) = date_parts(value).ok_or(FieldError::DateSyntax)?;
    if year == 0 || day == 0 || day > days_in_month(year, month) {
        return Err(FieldError::DateNotADay);
    }
    Ok(())
}

fn parse_timestamp(value: &[u8]) -> Result<OffsetDateTime, FieldError> {
    let text = std::str::from_utf8(value).map_err(|_| FieldError::TimestampSyntax)?;
    // RFC 3339 allows a space for the `T` (section 5.6's note); `time` wants the `T`.
    let mut owned;
    let mut text = text;
    if text.len() > 10 && text.as_bytes()[10] == b' ' {
        owned = text.to_owned();
        owned.replace_range(10..11, "T");
        text = owned.as_str();
    }
    match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => Ok(t.to_offset(UtcOffset::UTC)),
        Err(_) => {
            owned = format!("{text}Z");
            if OffsetDateTime::parse(&owned, &Rfc3339).is_ok() {
                Err(FieldError::TimestampNoOffset)
            } else {
                Err(FieldError::TimestampSyntax)
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` in `buf`.
fn format_timestamp(t: OffsetDateTime, buf: &mut [u8; 40]) -> Result<&[u8], FieldError> {
    let nanos = t.nanosecond();
    if nanos % 1000 != 0 {
        return Err(FieldError::TimestampFraction);
    }
    if !(1..=9999).contains(&t.year()) {
        return Err(FieldError::TimestampSyntax);
    }
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let (date, clock) = (t.date(), t.time());
    let mut written = std::io::Write::write_fmt(
        &mut cursor,
        format_args!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            clock.hour(),
            clock.minute(),
            clock.second()
        ),
    );
    if nanos != 0 {
        written = written.and_then(|()| std::io::Write::write_fmt(&mut cursor, format_args!(".{:06}", nanos / 1000)));
    }
    written = written.and_then(|()| std::io::Write::write_all(&mut cursor, b"Z"));
    written.map_err(|_| FieldError::TimestampSyntax)?;
    let len = cursor.position() as usize;
    Ok(&buf[..len])
}

fn parse_bool(value: &[u8]) -> Result<bool, FieldError> {
    if value.len() > 5 {
        return Err(FieldError::BoolSyntax);
    }
    let mut lower = [0u8; 5];
    for (l, b) in lower.iter_mut().zip(value) {
        *l = b.to_ascii_lowercase();
    }
    match &lower[..value.len()] {
        b"true" | b"t" | b"yes" | b"y" | b"1" => Ok(true),
        b"false" | b"f" | b"no" | b"n" | b"0" => Ok(false),
        _ => Err(FieldError::BoolSyntax),
    }
}

fn check_enum(values: &[String], value: &[u8]) -> Result<(), FieldError> {
    if values.iter().any(|v| v.as_bytes() == value) {
        Ok(())
    } else {
        Err(FieldError::EnumValue)
    }
}

fn check_json(value: &[u8]) -> Result<(), FieldError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(value).map(|_| ()).map_err(|_| FieldError::JsonSyntax)
}

#[cfg(test)]
mod tests;
