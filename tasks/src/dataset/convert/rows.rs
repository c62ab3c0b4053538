//! Reading a file's lines as records and rows: the skip rules, the header,
//! the three ways of splitting a row into fields (delimited in place,
//! RFC 4180 quoting, JSON lines), and writing a row or its reject.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use serde_json::value::RawValue;

use memchr::{memchr, memchr_iter};

use super::{plural, Converter, Excerpt, Layout, Reject, BOM, FIRST_REJECTS, RAW_LINE_LIMIT};
use crate::dataset::csv_out::write_csv_field;
use crate::dataset::fields::{self, FieldError};
use crate::project::{ExtraColumns, FileFormat, HeaderMode};

/// How a JSON lines field was found, for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonField {
    Present,
    Missing,
    Null,
    Nested,
}

impl Converter {
    fn quote(&self) -> Option<u8> {
        match self.dataset.format {
            FileFormat::Delimited { quote, .. } => quote,
            FileFormat::JsonLines => None,
        }
    }

    /// Sorts one line (without its LF) into valid, rejected or skipped.
    /// `clean`: the caller knows the line is ASCII without NUL bytes.
    #[inline]
    pub(super) fn line(&mut self, raw: &[u8], clean: bool) {
        self.lines += 1;
        self.row_line = self.lines;
        let mut line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if !self.pending.is_empty() {
            self.continue_record(line);
            return;
        }
        if line.len() > self.opts.max_line_bytes {
            self.reason.clear();
            let _ = write!(self.reason, "line longer than {} bytes ({} bytes)", self.opts.max_line_bytes, line.len());
            self.emit_reject(None, line, line.len() as u64);
            return;
        }
        match line.first() {
            None => {
                self.counts.lines_skipped += 1;
                return;
            }
            Some(b) if b.is_ascii_whitespace() && line.iter().all(u8::is_ascii_whitespace) => {
                self.counts.lines_skipped += 1;
                return;
            }
            Some(_) => {}
        }
        if self.dataset.skip_prefixes.iter().any(|prefix| line[0] == prefix[0] && line.starts_with(prefix)) {
            self.counts.lines_skipped += 1;
            return;
        }
        if !clean && !self.text_ok(line) {
            return;
        }
        if let Some(q) = self.quote() {
            if memchr_iter(q, line).count() % 2 == 1 {
                // A quoted field runs on past this line break.
                self.pending.extend_from_slice(line);
                self.pending_line = self.lines;
                return;
            }
        }
        self.record(line);
    }

    /// Rejects a line that is not UTF-8 text without NUL bytes; `true` when it is.
    fn text_ok(&mut self, line: &[u8]) -> bool {
        if let Err(e) = std::str::from_utf8(line) {
            let at = e.valid_up_to();
            self.reason.clear();
            let _ = write!(
                self.reason,
                "line is not valid UTF-8: byte 0x{:02X} at byte {} (is the file Latin-1 or Windows-1252? save it as UTF-8)",
                line[at],
                at + 1
            );
            self.emit_reject(None, line, line.len() as u64);
            return false;
        }
        if let Some(at) = memchr(0, line) {
            self.reason.clear();
            let _ = write!(self.reason, "line contains a NUL byte at byte {}", at + 1);
            self.emit_reject(None, line, line.len() as u64);
            return false;
        }
        true
    }

    /// A line inside a quoted field that an earlier line opened.
    fn continue_record(&mut self, line: &[u8]) {
        self.counts.lines_skipped += 1;
        self.pending.push(b'\n');
        self.pending.extend_from_slice(line);
        let q = self.quote().unwrap_or(b'"');
        if self.pending.len() > self.opts.max_line_bytes {
            let record = std::mem::take(&mut self.pending);
            self.row_line = self.pending_line;
            self.reason.clear();
            let _ = write!(
                self.reason,
                "record longer than {} bytes: a quoted field that starts on line {} is not closed",
                self.opts.max_line_bytes, self.pending_line
            );
            self.emit_reject(None, &record, record.len() as u64);
            return;
        }
        if memchr_iter(q, line).count() % 2 == 1 {
            let record = std::mem::take(&mut self.pending);
            self.row_line = self.pending_line;
            if self.text_ok(&record) {
                self.record(&record);
            }
            self.pending = record;
            self.pending.clear();
        }
    }

    /// One record: the header, or a row.
    #[inline]
    fn record(&mut self, record: &[u8]) {
        if self.awaiting_header {
            self.read_header(record);
            return;
        }
        if self.row_line == 1
            && matches!(self.dataset.format, FileFormat::Delimited { header: HeaderMode::Optional, .. })
            && self.is_header(record)
        {
            self.header = true;
            self.counts.lines_skipped += 1;
            return;
        }
        if let Some(reason) = self.file_reason.clone() {
            self.reason = reason;
            self.emit_reject(None, record, record.len() as u64);
            return;
        }
        match self.dataset.format {
            FileFormat::Delimited { delimiter, quote: None, .. } => self.row_plain(record, delimiter),
            FileFormat::Delimited { delimiter, quote: Some(q), .. } => self.row_quoted(record, delimiter, q),
            FileFormat::JsonLines => self.row_json(record),
        }
    }

    /// The fields of a header or a row as text, quoting undone.
    fn field_texts(&mut self, line: &[u8]) -> Vec<String> {
        let FileFormat::Delimited { delimiter, quote, .. } = self.dataset.format else {
            return Vec::new();
        };
        match quote {
            None => line.split(|&b| b == delimiter).map(|f| String::from_utf8_lossy(f).into_owned()).collect(),
            Some(q) => match self.unquote(line, delimiter, q) {
                Ok(count) => (0..count)
                    .map(|i| String::from_utf8_lossy(&self.unquoted[self.starts[i]..self.ends[i]]).into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    fn is_header(&mut self, line: &[u8]) -> bool {
        let names = self.field_texts(line);
        names.len() >= self.dataset.columns.len()
            && self.dataset.columns.iter().zip(&names).all(|(column, name)| column.name == *name)
    }

    /// Maps the columns by the header's names.
    fn read_header(&mut self, line: &[u8]) {
        self.awaiting_header = false;
        self.header = true;
        self.counts.lines_skipped += 1;
        let names: Vec<String> = self.field_texts(line).into_iter().map(|n| n.trim().to_owned()).collect();
        let mut problems = Vec::new();
        let mut column_field = Vec::with_capacity(self.dataset.columns.len());
        let mut missing = Vec::new();
        for column in &self.dataset.columns {
            let mut at = names.iter().enumerate().filter(|(_, name)| **name == column.name).map(|(i, _)| i);
            match (at.next(), at.next()) {
                (Some(i), None) => column_field.push(i),
                (Some(i), Some(_)) => {
                    problems.push(format!("names column {} twice", column.name));
                    column_field.push(i);
                }
                (None, _) => {
                    missing.push(column.name.as_str());
                    column_field.push(0);
                }
            }
        }
        if !missing.is_empty() {
            problems.insert(
                0,
                format!("lacks {} {}", plural(missing.len() as u64, "column", "columns"), missing.join(", ")),
            );
        }
        if self.dataset.extra_columns == ExtraColumns::Reject {
            let extra: Vec<&str> = names
                .iter()
                .filter(|name| !self.dataset.columns.iter().any(|c| c.name == **name))
                .map(String::as_str)
                .collect();
            if !extra.is_empty() {
                problems.push(format!(
                    "has {} the dataset does not declare ({}; extra_columns = \"reject\")",
                    plural(extra.len() as u64, "a column", "columns"),
                    extra.join(", ")
                ));
            }
        }
        if !problems.is_empty() {
            let mut reason = format!("the header (line {}) {}", self.row_line, problems.join(" and "));
            if !missing.is_empty() {
                let _ = write!(reason, "; it has: {}", names.join(", "));
            }
            self.file_reason = Some(reason);
        }
        self.starts.resize(names.len().max(self.starts.len()), 0);
        self.ends.resize(names.len().max(self.ends.len()), 0);
        // A header in the declared order reads like positional rows (and
        // keeps their fast path).
        let in_order = column_field.iter().enumerate().all(|(i, &f)| i == f);
        self.layout = if in_order { Layout::Positional } else { Layout::ByHeader };
        self.column_field = column_field;
        self.file_fields = names.len();
    }

    /// The fields a row must have: every mapped column's.
    fn needed_fields(&self) -> usize {
        match self.layout {
            Layout::Positional => self.dataset.columns.len(),
            Layout::ByHeader => self.column_field.iter().max().map_or(0, |m| m + 1),
        }
    }

    /// A row of a delimited file without quoting: fields are split in place.
    #[inline]
    fn row_plain(&mut self, line: &[u8], delimiter: u8) {
        let n = self.dataset.columns.len();
        let needed = self.needed_fields();
        let count_all = self.dataset.extra_columns == ExtraColumns::Reject;
        // Field i is line[starts[i]..ends[i]]; unless extra fields are to be
        // rejected, the scan stops at the delimiter that ends the last needed
        // field, so dropped columns cost nothing more. Fields are short: a
        // plain scan beats memchr's set-up cost here.
        let (found, needed_end) = split_in_place(line, delimiter, needed, &mut self.starts, &mut self.ends);
        if found < needed {
            self.reject_missing_column(line, found);
            return;
        }
        if count_all {
            let total = if needed_end < line.len() {
                needed + 1 + memchr_iter(delimiter, &line[needed_end + 1..]).count()
            } else {
                found
            };
            if total > self.file_fields {
                self.reject_extra_fields(line, total);
                return;
            }
        }
        if self.layout == Layout::ByHeader {
            self.write_row(line, line);
            return;
        }
        let mut normalised = true;
        let mut failed = None;
        for (i, column) in self.dataset.columns.iter().enumerate() {
            match fields::check_field(column, &line[self.starts[i]..self.ends[i]]) {
                Ok(as_is) => normalised &= as_is,
                Err(error) => {
                    failed = Some((i, error));
                    break;
                }
            }
        }
        if let Some((i, error)) = failed {
            self.reject_field(line, i, &line[self.starts[i]..self.ends[i]], error);
            return;
        }
        if !normalised {
            self.write_row(line, line);
            return;
        }
        // The common case: one copy of the line, delimiters turned into commas.
        let row_start = self.valid_out.len();
        self.valid_out.extend_from_slice(&line[..needed_end]);
        for &end in &self.ends[..n - 1] {
            self.valid_out[row_start + end] = b',';
        }
        self.valid_out.extend_from_slice(&self.capture_suffix);
        self.valid_out.push(b'\n');
        self.counts.rows_valid += 1;
    }

    /// Splits an RFC 4180 record into `unquoted`; the number of fields, or why
    /// the quoting is broken.
    fn unquote(&mut self, line: &[u8], delimiter: u8, q: u8) -> Result<usize, String> {
        self.unquoted.clear();
        let mut count = 0;
        let mut i = 0;
        loop {
            let start = self.unquoted.len();
            if line.get(i) == Some(&q) {
                i += 1;
                loop {
                    match line[i..].iter().position(|&b| b == q) {
                        None => return Err(format!("field {} opens a quote that is not closed", count + 1)),
                        Some(at) => {
                            self.unquoted.extend_from_slice(&line[i..i + at]);
                            i += at + 1;
                            if line.get(i) == Some(&q) {
                                self.unquoted.push(q);
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                if i < line.len() && line[i] != delimiter {
                    return Err(format!("field {} has text after its closing quote", count + 1));
                }
            } else {
                let end = line[i..].iter().position(|&b| b == delimiter).map_or(line.len(), |at| i + at);
                self.unquoted.extend_from_slice(&line[i..end]);
                i = end;
            }
            if count == self.starts.len() {
                self.starts.push(0);
                self.ends.push(0);
            }
            self.starts[count] = start;
            self.ends[count] = self.unquoted.len();
            count += 1;
            if i >= line.len() {
                return Ok(count);
            }
            i += 1; // the delimiter
            if i == line.len() {
                // A delimiter at the end: one more, empty field.
                if count == self.starts.len() {
                    self.starts.push(0);
                    self.ends.push(0);
                }
                self.starts[count] = self.unquoted.len();
                self.ends[count] = self.unquoted.len();
                return Ok(count + 1);
            }
        }
    }

    /// A row of a delimited file with RFC 4180 quoting.
    fn row_quoted(&mut self, line: &[u8], delimiter: u8, q: u8) {
        if memchr(q, line).is_none() {
            // Most rows quote nothing: split them in place.
            self.row_plain(line, delimiter);
            return;
        }
        let found = match self.unquote(line, delimiter, q) {
            Ok(found) => found,
            Err(why) => {
                self.reason = format!("line is not valid CSV: {why}");
                self.emit_reject(None, line, line.len() as u64);
                return;
            }
        };
        if found < self.needed_fields() {
            self.reject_missing_column(line, found);
            return;
        }
        if self.dataset.extra_columns == ExtraColumns::Reject && found > self.file_fields {
            self.reject_extra_fields(line, found);
            return;
        }
        let data = std::mem::take(&mut self.unquoted);
        self.write_row(line, &data);
        self.unquoted = data;
    }

    /// A JSON lines row: one object, fields by name.
    fn row_json(&mut self, line: &[u8]) {
        // Values stay raw JSON text until a column's type reads them, so a
        // number is never rounded through a float: `12345678901234567.89`
        // reaches a decimal(20,2) column exactly as written.
        let object: HashMap<String, &RawValue> = match serde_json::from_slice(line) {
            Ok(object) => object,
            Err(e) => {
                self.reason = format!("line is not a JSON object: {e}");
                self.emit_reject(None, line, line.len() as u64);
                return;
            }
        };
        if self.dataset.extra_columns == ExtraColumns::Reject {
            if let Some(extra) = object.keys().find(|k| !self.dataset.columns.iter().any(|c| c.name == **k)) {
                self.reason = format!("the object has field {extra:?}, which the dataset does not declare");
                self.emit_reject(None, line, line.len() as u64);
                return;
            }
        }
        self.unquoted.clear();
        let mut states = Vec::with_capacity(self.dataset.columns.len());
        for (i, column) in self.dataset.columns.iter().enumerate() {
            let start = self.unquoted.len();
            let state = match object.get(&column.name).map(|raw| raw.get()) {
                None => JsonField::Missing,
                Some("null") => JsonField::Null,
                Some(text) if text.starts_with('"') => match serde_json::from_str::<std::borrow::Cow<'_, str>>(text) {
                    Ok(s) => {
                        self.unquoted.extend_from_slice(s.as_bytes());
                        JsonField::Present
                    }
                    Err(_) => JsonField::Nested,
                },
                Some(text) if text.starts_with(['{', '[']) => {
                    if matches!(column.ty, crate::project::ColumnType::Json) {
                        self.unquoted.extend_from_slice(text.as_bytes());
                        JsonField::Present
                    } else {
                        JsonField::Nested
                    }
                }
                // A number, `true` or `false`: its JSON text is its value.
                Some(text) => {
                    self.unquoted.extend_from_slice(text.as_bytes());
                    JsonField::Present
                }
            };
            self.starts[i] = start;
            self.ends[i] = self.unquoted.len();
            states.push(state);
        }
        for (i, state) in states.iter().enumerate() {
            let column = &self.dataset.columns[i];
            let problem = match state {
                JsonField::Missing if !column.nullable => Some("is missing"),
                JsonField::Null if !column.nullable => Some("is null"),
                JsonField::Nested => {
                    Some("is a nested JSON value (declare the column as type json to keep it as text)")
                }
                _ => None,
            };
            if let Some(problem) = problem {
                self.reason = format!("{} {problem}", column.name);
                let name = column.name.clone();
                self.emit_reject(Some(&name), line, line.len() as u64);
                return;
            }
        }
        let data = std::mem::take(&mut self.unquoted);
        self.write_row(line, &data);
        self.unquoted = data;
    }

    /// Writes the normalised row whose column `i` is
    /// `data[starts[column_field[i]]..ends[column_field[i]]]`, or rejects `line`.
    #[inline]
    fn write_row(&mut self, line: &[u8], data: &[u8]) {
        let row_start = self.valid_out.len();
        for i in 0..self.dataset.columns.len() {
            if i > 0 {
                self.valid_out.push(b',');
            }
            let f = self.column_field[i];
            let value = &data[self.starts[f]..self.ends[f]];
            if let Err(error) = fields::write_field(&self.dataset.columns[i], value, &mut self.valid_out) {
                self.valid_out.truncate(row_start);
                self.reject_field(line, i, value, error);
                return;
            }
        }
        self.valid_out.extend_from_slice(&self.capture_suffix);
        self.valid_out.push(b'\n');
        self.counts.rows_valid += 1;
    }

    fn reject_field(&mut self, line: &[u8], index: usize, value: &[u8], error: FieldError) {
        let dataset = self.dataset.clone();
        let column = &dataset.columns[index];
        self.reason.clear();
        if value.is_empty() {
            let _ = write!(self.reason, "{} {}", column.name, error.describe(column));
        } else {
            let _ = write!(self.reason, "{} {} {}", column.name, Excerpt(value), error.describe(column));
        }
        self.emit_reject(Some(&column.name), line, line.len() as u64);
    }

    fn reject_missing_column(&mut self, line: &[u8], present: usize) {
        let dataset = self.dataset.clone();
        let missing = (0..dataset.columns.len()).find(|&i| self.column_field[i] >= present).unwrap_or(0);
        let column = &dataset.columns[missing].name;
        let (needed, separated) = (self.needed_fields(), separated(dataset.format));
        self.reason.clear();
        let _ = write!(
            self.reason,
            "missing column {column}: the line has {present} of {needed} required {separated} columns"
        );
        self.emit_reject(Some(column), line, line.len() as u64);
    }

    fn reject_extra_fields(&mut self, line: &[u8], found: usize) {
        let (separated, declared) = (separated(self.dataset.format), self.file_fields);
        self.reason.clear();
        let _ = write!(
            self.reason,
            "the line has {found} {separated} fields, more than the {declared} declared (extra_columns = \"reject\")"
        );
        self.emit_reject(None, line, line.len() as u64);
    }

    /// Counts and writes a reject of the current row with the reason in `self.reason`.
    pub(super) fn emit_reject(&mut self, column: Option<&str>, raw: &[u8], total_len: u64) {
        self.counts.rows_rejected += 1;
        self.write_reject_row(self.row_line, column, raw, total_len);
    }

    pub(super) fn write_reject_row(&mut self, line_no: u64, column: Option<&str>, raw: &[u8], total_len: u64) {
        let shown = &raw[..raw.len().min(RAW_LINE_LIMIT)];
        if (shown.len() as u64) < total_len {
            let _ = write!(self.reason, " (raw line cut to its first {} of {total_len} bytes)", shown.len());
        }
        let raw_text = String::from_utf8_lossy(shown);
        let out = &mut self.rejects_out;
        let _ = write!(ByteWriter(out), "{line_no},");
        write_csv_field(out, column.unwrap_or("").as_bytes());
        out.push(b',');
        write_csv_field(out, self.reason.as_bytes());
        out.push(b',');
        write_csv_field(out, raw_text.as_bytes());
        out.push(b'\n');
        if self.first_rejects.len() < FIRST_REJECTS {
            self.first_rejects.push(Reject {
                line: line_no,
                column: column.map(str::to_owned),
                reason: self.reason.clone(),
                raw_line: raw_text.into_owned(),
            });
        }
    }
}

/// Splits `line` at `delimiter` until `needed` fields are found: field `i`
/// is `line[starts[i]..ends[i]]`. Returns how many were found (at most
/// `needed`) and where the last needed one ends. The slices hold at least
/// `needed` entries.
#[inline]
fn split_in_place(
    line: &[u8],
    delimiter: u8,
    needed: usize,
    starts: &mut [usize],
    ends: &mut [usize],
) -> (usize, usize) {
    let (starts, ends) = (&mut starts[..needed], &mut ends[..needed]);
    let mut found = 0;
    let mut start = 0;
    for (i, &b) in line.iter().enumerate() {
        if b == delimiter {
            starts[found] = start;
            ends[found] = i;
            found += 1;
            start = i + 1;
            if found == needed {
                return (found, i);
            }
        }
    }
    if found < needed {
        starts[found] = start;
        ends[found] = line.len();
        found += 1;
    }
    (found, line.len())
}

/// `tab-separated`, `comma-separated`, … for reasons.
fn separated(format: FileFormat) -> String {
    match format {
        FileFormat::Delimited { delimiter: b'\t', .. } => "tab-separated".into(),
        FileFormat::Delimited { delimiter: b',', .. } => "comma-separated".into(),
        FileFormat::Delimited { delimiter, .. } => format!("'{}'-separated", delimiter as char),
        FileFormat::JsonLines => "JSON".into(),
    }
}

/// `write!` into a byte buffer.
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
