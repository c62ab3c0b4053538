//! Declared columns: their types and the rules on their values.
//!
//! | type            | a value is                                      | written as                         |
//! |-----------------|-------------------------------------------------|------------------------------------|
//! | `string`        | text; `trim`, `min_length`/`max_length` (characters), `chars` (an ASCII class such as `A-Za-z0-9_-`), `pattern` (a regular expression the whole value matches) | as read (trimmed with `trim`) |
//! | `int`           | an integer, optional `-`, `min`/`max`           | no leading zeros                   |
//! | `decimal(p,s)`  | at most `p - s` integer and `s` fraction digits | exactly `s` fraction digits        |
//! | `date`          | `YYYY-MM-DD`, a real day                        | as read                            |
//! | `timestamp`     | RFC 3339 (`2026-11-30T08:15:00+01:00`, `T` or a space; an offset or `Z` is required) | UTC: `2026-11-30T07:15:00Z`, fraction to microseconds when there is one |
//! | `bool`          | `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0` (any case) | `true` / `false` |
//! | `enum`          | one of `values`, exactly                        | as read                            |
//! | `json`          | JSON text (in JSON lines: a nested value)       | compact JSON                       |
//!
//! Text of every type is valid UTF-8 without control characters. An empty
//! value is NULL for a `nullable` column and a reject otherwise.

use std::fmt;

use regex::Regex;
use serde::Deserialize;

use super::pattern::is_capture_name;

/// The most digits a `decimal(p,s)` may have: what Redshift and Arrow's
/// 128-bit decimals hold.
pub const MAX_DECIMAL_PRECISION: u8 = 38;
/// The longest `string` a column may declare (Redshift's VARCHAR limit, in bytes).
pub const MAX_STRING_LENGTH: u32 = 65_535;

/// A column as the project file spells it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub nullable: bool,
    pub pattern: Option<String>,
    pub chars: Option<String>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub trim: Option<bool>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub values: Option<Vec<String>>,
}

/// One declared column.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// What a column holds.
#[derive(Debug, Clone)]
pub enum ColumnType {
    String(StringRules),
    Int { min: i64, max: i64 },
    Decimal { precision: u8, scale: u8 },
    Date,
    Timestamp,
    Bool,
    Enum { values: Vec<String> },
    Json,
}

/// The rules of a `string` column.
#[derive(Debug, Clone)]
pub struct StringRules {
    pub trim: bool,
    pub min_length: u32,
    pub max_length: u32,
    /// The allowed bytes, when `chars` is declared (ASCII only).
    pub chars: Option<CharClass>,
    pub pattern: Option<Regex>,
}

/// A set of ASCII bytes, as a lookup table.
#[derive(Clone)]
pub struct CharClass {
    pub text: String,
    table: Box<[bool; 256]>,
    /// Whether a value of these characters can need CSV quoting (`,` `"` CR LF).
    pub needs_quotes: bool,
}

impl fmt::Debug for CharClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CharClass({:?})", self.text)
    }
}

impl CharClass {
    /// Parses a class body such as `A-Za-z0-9_-`: single characters and
    /// `a-b` ranges of printable ASCII; a `-` first or last is literal.
    pub fn parse(text: &str) -> Result<CharClass, String> {
        if text.is_empty() {
            return Err("`chars` must not be empty".into());
        }
        if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic() && *c != ' ') {
            return Err(format!("`chars` may hold only printable ASCII, not {c:?}"));
        }
        let bytes = text.as_bytes();
        let mut table = Box::new([false; 256]);
        let mut i = 0;
        while i < bytes.len() {
            if i + 2 < bytes.len() && bytes[i + 1] == b'-' {
                let (from, to) = (bytes[i], bytes[i + 2]);
                if from > to {
                    return Err(format!("`chars` has the backwards range {}-{}", from as char, to as char));
                }
                for b in from..=to {
                    table[usize::from(b)] = true;
                }
                i += 3;
            } else {
                table[usize::from(bytes[i])] = true;
                i += 1;
            }
        }
        let needs_quotes = [b',', b'"', b'\r', b'\n'].iter().any(|&b| table[usize::from(b)]);
        Ok(CharClass { text: text.to_owned(), table, needs_quotes })
    }

    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.table[usize::from(b)]
    }
}

impl ColumnType {
    /// The column's type in Spark SQL DDL, as the run's manifest carries it
    /// to the step (`STRING`, `INT`, `BIGINT`, `DECIMAL(14,2)`, `DATE`,
    /// `TIMESTAMP`, `BOOLEAN`): integers whose declared range fits 32 bits
    /// are `INT`.
    pub fn sql_type(&self) -> String {
        match self {
            ColumnType::String(_) | ColumnType::Enum { .. } | ColumnType::Json => "STRING".into(),
            ColumnType::Int { min, max } if *min >= i64::from(i32::MIN) && *max <= i64::from(i32::MAX) => "INT".into(),
            ColumnType::Int { .. } => "BIGINT".into(),
            ColumnType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            ColumnType::Date => "DATE".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::Bool => "BOOLEAN".into(),
        }
    }

    /// The type as the project file spells it (`decimal(14,2)`).
    pub fn spelling(&self) -> String {
        match self {
            ColumnType::String(_) => "string".into(),
            ColumnType::Int { .. } => "int".into(),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp".into(),
            ColumnType::Bool => "bool".into(),
            ColumnType::Enum { .. } => "enum".into(),
            ColumnType::Json => "json".into(),
        }
    }
}

/// Which options each type takes, for the error naming one that does not apply.
fn allowed_options(ty: &str) -> &'static [&'static str] {
    match ty {
        "string" => &["pattern", "chars", "min_length", "max_length", "trim"],
        "int" => &["min", "max"],
        "enum" => &["values"],
        _ => &[],
    }
}

impl RawColumn {
    /// A column of type `ty` without options.
    pub fn new(name: impl Into<String>, ty: impl Into<String>) -> RawColumn {
        RawColumn {
            name: name.into(),
            ty: ty.into(),
            nullable: false,
            pattern: None,
            chars: None,
            min_length: None,
            max_length: None,
            trim: None,
            min: None,
            max: None,
            values: None,
        }
    }

    fn present_options(&self) -> Vec<&'static str> {
        let mut present = Vec::new();
        let mut note = |set: bool, name: &'static str| {
            if set {
                present.push(name);
            }
        };
        note(self.pattern.is_some(), "pattern");
        note(self.chars.is_some(), "chars");
        note(self.min_length.is_some(), "min_length");
        note(self.max_length.is_some(), "max_length");
        note(self.trim.is_some(), "trim");
        note(self.min.is_some(), "min");
        note(self.max.is_some(), "max");
        note(self.values.is_some(), "values");
        present
    }

    /// Checks the column and builds its rules; the error completes
    /// "column `name`: …".
    pub fn build(&self) -> Result<ColumnSpec, String> {
        if !is_capture_name(&self.name) {
            return Err("a column name is a lower-case letter or `_`, then lower-case letters, digits or `_` \
                        (at most 63)"
                .into());
        }
        let base = self.ty.split('(').next().unwrap_or_default().trim();
        if let Some(option) = self.present_options().into_iter().find(|o| !allowed_options(base).contains(o)) {
            return Err(format!("`{option}` does not apply to type {:?}", self.ty));
        }
        let ty = match base {
            "string" => ColumnType::String(self.string_rules()?),
            "int" => {
                let (min, max) = (self.min.unwrap_or(i64::MIN), self.max.unwrap_or(i64::MAX));
                if min > max {
                    return Err(format!("`min` ({min}) is above `max` ({max})"));
                }
                ColumnType::Int { min, max }
            }
            "decimal" => parse_decimal(&self.ty)?,
            "date" | "timestamp" | "bool" | "json" if self.ty != base => {
                return Err(format!("type {:?} takes no arguments", self.ty))
            }
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            "bool" => ColumnType::Bool,
            "json" => ColumnType::Json,
            "enum" => {
                let values = self.values.clone().unwrap_or_default();
                if values.is_empty() {
                    return Err("an enum needs `values`, a non-empty list".into());
                }
                if let Some(v) = values.iter().find(|v| v.is_empty() || v.chars().any(char::is_control)) {
                    return Err(format!("enum value {v:?} must be non-empty text without control characters"));
                }
                let mut seen = std::collections::HashSet::new();
                if let Some(v) = values.iter().find(|v| !seen.insert(v.as_str())) {
                    return Err(format!("enum value {v:?} is listed twice"));
                }
                ColumnType::Enum { values }
            }
            _ => {
                return Err(format!(
                    "unknown type {:?} (string, int, decimal(p,s), date, timestamp, bool, enum, json)",
                    self.ty
                ))
            }
        };
        Ok(ColumnSpec { name: self.name.clone(), ty, nullable: self.nullable })
    }

    fn string_rules(&self) -> Result<StringRules, String> {
        let min_length = self.min_length.unwrap_or(0);
        let max_length = self.max_length.unwrap_or(MAX_STRING_LENGTH);
        if max_length == 0 || max_length > MAX_STRING_LENGTH {
            return Err(format!("`max_length` must be between 1 and {MAX_STRING_LENGTH}"));
        }
        if min_length > max_length {
            return Err(format!("`min_length` ({min_length}) is above `max_length` ({max_length})"));
        }
        let chars = self.chars.as_deref().map(CharClass::parse).transpose()?;
        let pattern = match &self.pattern {
            Some(p) => Some(
                Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("`pattern` is not a regular expression: {e}"))?,
            ),
            None => None,
        };
        Ok(StringRules { trim: self.trim.unwrap_or(false), min_length, max_length, chars, pattern })
    }
}

fn parse_decimal(ty: &str) -> Result<ColumnType, String> {
    let bad = || format!("type {ty:?} is not decimal(p,s) with 1 <= p <= {MAX_DECIMAL_PRECISION} and 0 <= s <= p");
    let args = ty.strip_prefix("decimal(").and_then(|rest| rest.strip_suffix(')')).ok_or_else(bad)?;
    let (p, s) = args.split_once(',').ok_or_else(bad)?;
    let precision: u8 = p.trim().parse().map_err(|_| bad())?;
    let scale: u8 = s.trim().parse().map_err(|_| bad())?;
    if precision == 0 || precision > MAX_DECIMAL_PRECISION || scale > precision {
        return Err(bad());
    }
    Ok(ColumnType::Decimal { precision, scale })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, ty: &str) -> RawColumn {
        RawColumn::new(name, ty)
    }

    #[test]
    fn types_parse_with_their_options() {
        assert!(matches!(
            raw("a", "decimal(12, 2)").build().unwrap().ty,
            ColumnType::Decimal { precision: 12, scale: 2 }
        ));
        assert!(matches!(raw("a", "int").build().unwrap().ty, ColumnType::Int { min: i64::MIN, max: i64::MAX }));
        let mut s = raw("a", "string");
        s.chars = Some("A-Za-z0-9_-".into());
        let ColumnType::String(rules) = s.build().unwrap().ty else { panic!() };
        let chars = rules.chars.unwrap();
        assert!(chars.contains(b'Q') && chars.contains(b'7') && chars.contains(b'-') && chars.contains(b'_'));
        assert!(!chars.contains(b' ') && !chars.contains(b'.'));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |column: RawColumn, want: &str| {
            let e = column.build().expect_err(want);
            assert!(e.contains(want), "{e:?} lacks {want:?}");
        };
        err(raw("Amount", "int"), "lower-case");
        err(raw("a", "decimal(39,2)"), "decimal(p,s)");
        err(raw("a", "decimal(2,3)"), "decimal(p,s)");
        err(raw("a", "decimal"), "decimal(p,s)");
        err(raw("a", "date(3)"), "takes no arguments");
        err(raw("a", "float"), "unknown type");
        err(raw("a", "enum"), "needs `values`");
        let mut c = raw("a", "int");
        c.max_length = Some(3);
        err(c, "`max_length` does not apply");
        let mut c = raw("a", "int");
        c.min = Some(5);
        c.max = Some(1);
        err(c, "above `max`");
        let mut c = raw("a", "string");
        c.chars = Some("z-a".into());
        err(c, "backwards");
        let mut c = raw("a", "string");
        c.pattern = Some("(".into());
        err(c, "not a regular expression");
        let mut c = raw("a", "enum");
        c.values = Some(vec!["x".into(), "x".into()]);
        err(c, "twice");
    }
}
