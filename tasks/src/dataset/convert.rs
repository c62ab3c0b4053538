//! The streaming TDF -> CSV converter.
//!
//! Memory is bounded by [`ConvertOptions::max_line_bytes`] plus fixed buffers,
//! whatever the file size or line length: whole lines are parsed in place in the
//! caller's chunk, only a line split across chunks is copied, and a line over the
//! cap keeps just its first [`RAW_LINE_LIMIT`] bytes for the rejects file.
//!
//! Line rules, in order (the first that applies decides):
//! 1. The line ending is LF; one CR before it is dropped. A UTF-8 BOM at the
//!    start of the file is dropped. A last line without LF is still a line.
//! 2. Longer than `max_line_bytes` (without its line ending): rejected.
//! 3. Empty or only ASCII white space: skipped (blank).
//! 4. Starts with `-`: skipped (trailer junk such as `----`).
//! 5. Not valid UTF-8, or holds a NUL byte: rejected.
//! 6. Line 1 whose first fields are exactly the column names: skipped (header).
//! 7. Fewer tab-separated fields than required columns: rejected, naming the
//!    first missing column. Otherwise each required column is checked in
//!    order and the first bad one rejects the line. Columns after the required
//!    ones are dropped, so a trailing tab is harmless.
//!
//! Valid rows are written with the normalised values: amounts with exactly two
//! fraction digits and no leading zeros (`12.5` -> `12.50`, `-0` -> `0.00`),
//! trans_type without leading zeros (`04` -> `4`), item names trimmed; ids and
//! dates as written. The valid CSV holds no CR or LF inside a field.
//!
//! A whole file is *binary* (INVALID, every line rejected, one reject row with
//! line 0) when, in its first [`SNIFF_BYTES`], UTF-16 byte order marks open the
//! file, more than half of the lines hold a NUL byte, or more than 30% of the
//! bytes are not text (control bytes other than TAB, LF, CR and FF, plus bytes
//! of invalid UTF-8 sequences). A stray NUL in a text file only rejects its line.

use super::csv_out::write_csv_field;
use super::fields::{self, FieldError};
use super::{Column, Dataset};
use edba_payloads::ingest::{FileStatus, RowCounts};
use memchr::{memchr, memchr_iter};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};
use std::io::{self, Read, Write};

/// Default [`ConvertOptions::max_line_bytes`]: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;
/// Default [`ConvertOptions::max_reject_share`].
pub const DEFAULT_MAX_REJECT_SHARE: f64 = 0.5;
/// How much of the start of a file decides whether it is binary.
pub const SNIFF_BYTES: usize = 8 * 1024;
/// At most this many bytes of a rejected line are copied into the rejects CSV.
pub const RAW_LINE_LIMIT: usize = 1024;
/// Bytes of an overlong line kept for the rejects CSV: room for a BOM, which
/// is dropped before the excerpt is cut to [`RAW_LINE_LIMIT`].
const OVERLONG_PREFIX: usize = RAW_LINE_LIMIT + BOM.len();
const FIRST_REJECTS: usize = 10;
/// Most required columns any dataset has (checked by a test).
const MAX_COLUMNS: usize = 8;
/// Output is handed to the sinks in pieces of about this size.
const FLUSH_AT: usize = 64 * 1024;
const READ_CHUNK: usize = 256 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";
const REJECTS_HEADER: &[u8] = b"line,column,reason,raw_line\n";
/// Longest excerpt of a bad value quoted in a reason.
const VALUE_EXCERPT: usize = 60;

/// Knobs of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConvertOptions {
    /// A line with more bytes than this (line ending excluded) is rejected.
    pub max_line_bytes: usize,
    /// A file whose rejected rows exceed this share of its data rows
    /// (valid + rejected, so headers, blanks and junk do not count) is INVALID.
    /// At exactly the share the file is still usable.
    pub max_reject_share: f64,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions { max_line_bytes: DEFAULT_MAX_LINE_BYTES, max_reject_share: DEFAULT_MAX_REJECT_SHARE }
    }
}

/// One rejected line, as written to the rejects CSV: its fields are the
/// file's columns, so the file reads back into this type (with the `csv`
/// crate, for example).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// 1-based line number; 0 when the file as a whole is rejected.
    pub line: u64,
    /// The offending column; `None` for whole-line problems.
    pub column: Option<String>,
    pub reason: String,
    /// The line, lossily decoded as UTF-8 and cut at [`RAW_LINE_LIMIT`] bytes
    /// (the reason says when it was cut).
    pub raw_line: String,
}

/// `line N [column]: reason`, as reports list a reject.
impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, " [{column}]")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What a conversion did. Invariant:
/// `counts.rows_valid + counts.rows_rejected + counts.lines_skipped == lines`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionReport {
    pub dataset: Dataset,
    pub counts: RowCounts,
    /// Lines in the file; a last line without LF counts, an empty file has 0.
    pub lines: u64,
    pub status: FileStatus,
    /// Why the file is INVALID or has rejects, as a sentence; `None` when VALIDATED.
    pub reason: Option<String>,
    /// The first ten rejects, in line order.
    pub first_rejects: Vec<Reject>,
    pub bytes_in: u64,
    /// Whether line 1 was a header (it is counted in `lines_skipped`).
    pub header: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Collecting the first [`SNIFF_BYTES`] to decide whether the file is binary.
    Sniffing,
    Lines,
    /// Binary: only newlines are counted.
    Binary,
}

/// A push-based converter of one file: feed it chunks of any size with
/// [`push`](Converter::push), then call [`finish`](Converter::finish).
///
/// Output is buffered inside and written to the sinks in pieces, so every call
/// must be given the same two sinks. Both outputs always start with their
/// header row. The converter never fails on content; errors are the sinks'.
#[derive(Debug)]
pub struct Converter {
    dataset: Dataset,
    columns: &'static [Column],
    opts: ConvertOptions,
    phase: Phase,
    sniff: Vec<u8>,
    /// The start of a line that continues in the next chunk (at most cap + 1
    /// bytes: room for a CR before the LF).
    carry: Vec<u8>,
    /// `Some(bytes so far)` while inside a line over the cap; `carry` then holds
    /// only its first [`OVERLONG_PREFIX`] bytes.
    overlong: Option<u64>,
    /// The last byte of the overlong line so far: a CR there is its line ending.
    overlong_last: u8,
    binary_reason: Option<String>,
    last_byte: Option<u8>,
    lines: u64,
    bytes_in: u64,
    counts: RowCounts,
    header: bool,
    first_rejects: Vec<Reject>,
    valid_out: Vec<u8>,
    rejects_out: Vec<u8>,
    reason: String,
}

impl Converter {
    pub fn new(dataset: Dataset, opts: ConvertOptions) -> Self {
        let columns = dataset.columns();
        let mut valid_out = Vec::with_capacity(FLUSH_AT * 2);
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                valid_out.push(b',');
            }
            valid_out.extend_from_slice(column.name.as_bytes());
        }
        valid_out.push(b'\n');
        let mut rejects_out = Vec::with_capacity(4096);
        rejects_out.extend_from_slice(REJECTS_HEADER);
        Converter {
            dataset,
            columns,
            opts,
            phase: Phase::Sniffing,
            sniff: Vec::new(),
            carry: Vec::new(),
            overlong: None,
            overlong_last: 0,
            binary_reason: None,
            last_byte: None,
            lines: 0,
            bytes_in: 0,
            counts: RowCounts::default(),
            header: false,
            first_rejects: Vec::new(),
            valid_out,
            rejects_out,
            reason: String::new(),
        }
    }

    pub fn dataset(&self) -> Dataset {
        self.dataset
    }

    /// Feeds the next chunk of the file. Lines may be split across chunks anywhere.
    pub fn push(&mut self, chunk: &[u8], valid: &mut impl Write, rejects: &mut impl Write) -> io::Result<()> {
        let Some(&last) = chunk.last() else {
            return Ok(());
        };
        self.bytes_in += chunk.len() as u64;
        self.last_byte = Some(last);
        match self.phase {
            Phase::Sniffing => {
                let take = (SNIFF_BYTES - self.sniff.len()).min(chunk.len());
                self.sniff.extend_from_slice(&chunk[..take]);
                if self.sniff.len() == SNIFF_BYTES {
                    self.end_sniffing();
                    self.feed(&chunk[take..]);
                }
            }
            Phase::Lines | Phase::Binary => self.feed(chunk),
        }
        if self.valid_out.len() >= FLUSH_AT {
            valid.write_all(&self.valid_out)?;
            self.valid_out.clear();
        }
        if self.rejects_out.len() >= FLUSH_AT {
            rejects.write_all(&self.rejects_out)?;
            self.rejects_out.clear();
        }
        Ok(())
    }

    /// Handles the last line, writes and flushes the rest of the output, and
    /// says what happened.
    pub fn finish(mut self, valid: &mut impl Write, rejects: &mut impl Write) -> io::Result<ConversionReport> {
        if self.phase == Phase::Sniffing {
            self.end_sniffing();
        }
        match self.phase {
            Phase::Binary => self.reject_binary_file(),
            _ => {
                if let Some(total) = self.overlong.take() {
                    self.reject_overlong(total);
                } else if !self.carry.is_empty() {
                    let carry = std::mem::take(&mut self.carry);
                    self.line(&carry, false);
                }
            }
        }
        valid.write_all(&self.valid_out)?;
        valid.flush()?;
        rejects.write_all(&self.rejects_out)?;
        rejects.flush()?;
        let (status, reason) = self.verdict();
        Ok(ConversionReport {
            dataset: self.dataset,
            counts: self.counts,
            lines: self.lines,
            status,
            reason,
            first_rejects: self.first_rejects,
            bytes_in: self.bytes_in,
            header: self.header,
        })
    }

    fn verdict(&self) -> (FileStatus, Option<String>) {
        let RowCounts { rows_valid, rows_rejected, lines_skipped } = self.counts;
        let rows = rows_valid + rows_rejected;
        if self.bytes_in == 0 {
            return (FileStatus::Invalid, Some("file is empty".to_owned()));
        }
        if let Some(reason) = &self.binary_reason {
            return (FileStatus::Invalid, Some(reason.clone()));
        }
        if rows_valid == 0 {
            let reason = if rows_rejected > 0 {
                format!("no valid rows: {rows_rejected} rejected, {lines_skipped} skipped")
            } else {
                format!(
                    "no data rows: all {lines_skipped} {} blank, junk or a header",
                    plural(lines_skipped, "line is", "lines are")
                )
            };
            return (FileStatus::Invalid, Some(reason));
        }
        let share = rows_rejected as f64 / rows as f64;
        if share > self.opts.max_reject_share {
            return (
                FileStatus::Invalid,
                Some(format!(
                    "too many rejects: {rows_rejected} of {rows} rows rejected ({:.1}%, more than the {:.1}% allowed)",
                    share * 100.0,
                    self.opts.max_reject_share * 100.0
                )),
            );
        }
        if rows_rejected > 0 {
            return (FileStatus::ValidatedWithRejects, Some(format!("{rows_rejected} of {rows} rows rejected")));
        }
        (FileStatus::Validated, None)
    }

    fn end_sniffing(&mut self) {
        let sample = std::mem::take(&mut self.sniff);
        match sniff_binary(&sample) {
            Some(reason) => {
                self.binary_reason = Some(reason);
                self.phase = Phase::Binary;
            }
            None => self.phase = Phase::Lines,
        }
        self.feed(&sample);
    }

    fn feed(&mut self, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.phase == Phase::Binary {
            self.lines += memchr_iter(b'\n', data).count() as u64;
            return;
        }
        if self.overlong.is_some() {
            let Some(nl) = memchr(b'\n', data) else {
                self.extend_carry(data);
                return;
            };
            self.extend_carry(&data[..nl]);
            if let Some(total) = self.overlong.take() {
                self.reject_overlong(total);
            }
            data = &data[nl + 1..];
        }
        if !self.carry.is_empty() {
            let Some(nl) = memchr(b'\n', data) else {
                self.extend_carry(data);
                return;
            };
            self.extend_carry(&data[..nl]);
            if let Some(total) = self.overlong.take() {
                self.reject_overlong(total);
            } else {
                let carry = std::mem::take(&mut self.carry);
                self.line(&carry, false);
                self.carry = carry;
                self.carry.clear();
            }
            data = &data[nl + 1..];
        }
        // One pass over the chunk spares every line its own UTF-8 and NUL scan.
        let clean = data.is_ascii() && memchr(0, data).is_none();
        let mut start = 0;
        for nl in memchr_iter(b'\n', data) {
            self.line(&data[start..nl], clean);
            start = nl + 1;
        }
        self.extend_carry(&data[start..]);
    }

    fn extend_carry(&mut self, bytes: &[u8]) {
        if let Some(seen) = self.overlong.as_mut() {
            *seen += bytes.len() as u64;
            if let Some(&last) = bytes.last() {
                self.overlong_last = last;
            }
            let room = OVERLONG_PREFIX.saturating_sub(self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..room]);
            return;
        }
        let len = self.carry.len() + bytes.len();
        if len > self.opts.max_line_bytes.saturating_add(1) {
            let keep = OVERLONG_PREFIX.saturating_sub(self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..keep]);
            self.carry.truncate(OVERLONG_PREFIX);
            self.overlong = Some(len as u64);
            self.overlong_last = bytes.last().copied().unwrap_or(0);
        } else {
            self.carry.extend_from_slice(bytes);
        }
    }

    /// Rejects the line over the cap whose prefix is in `carry`.
    /// `total` counts every byte before the LF; the length reported leaves out
    /// a CR line ending and a BOM, as for lines that fit in one chunk.
    fn reject_overlong(&mut self, mut total: u64) {
        self.lines += 1;
        if self.overlong_last == b'\r' {
            total -= 1;
        }
        let mut prefix = std::mem::take(&mut self.carry);
        if self.lines == 1 && prefix.starts_with(BOM) {
            prefix.drain(..BOM.len());
            total -= BOM.len() as u64;
        }
        // The same excerpt as a line that arrived in one chunk: no CR, no BOM.
        prefix.truncate(RAW_LINE_LIMIT.min(usize::try_from(total).unwrap_or(usize::MAX)));
        self.reason.clear();
        let _ = write!(self.reason, "line longer than {} bytes ({total} bytes)", self.opts.max_line_bytes);
        self.emit_reject(None, &prefix, total);
        prefix.clear();
        self.carry = prefix;
    }

    fn reject_binary_file(&mut self) {
        if self.last_byte.is_some_and(|b| b != b'\n') {
            self.lines += 1;
        }
        self.counts.rows_rejected = self.lines;
        let line_no = 0;
        self.reason.clear();
        let reason = self.binary_reason.as_deref().unwrap_or("binary content");
        let _ = write!(self.reason, "{reason}; all {} lines rejected", self.lines);
        self.write_reject_row(line_no, None, &[], 0);
    }

    /// Sorts one line (without its LF) into valid, rejected or skipped.
    /// `clean`: the caller knows the line is ASCII without NUL bytes.
    #[inline]
    fn line(&mut self, raw: &[u8], clean: bool) {
        self.lines += 1;
        let mut line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
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
            Some(b'-') => {
                self.counts.lines_skipped += 1;
                return;
            }
            Some(b) if b.is_ascii_whitespace() && line.iter().all(u8::is_ascii_whitespace) => {
                self.counts.lines_skipped += 1;
                return;
            }
            Some(_) => {}
        }
        if !clean {
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
                return;
            }
            if let Some(at) = memchr(0, line) {
                self.reason.clear();
                let _ = write!(self.reason, "line contains a NUL byte at byte {}", at + 1);
                self.emit_reject(None, line, line.len() as u64);
                return;
            }
        }
        if self.lines == 1 && self.is_header(line) {
            self.header = true;
            self.counts.lines_skipped += 1;
            return;
        }
        self.row(line);
    }

    fn is_header(&self, line: &[u8]) -> bool {
        let mut fields = line.split(|&b| b == b'\t');
        self.columns.iter().all(|column| fields.next() == Some(column.name.as_bytes()))
    }

    #[inline]
    fn row(&mut self, line: &[u8]) {
        let n = self.columns.len();
        // Field i is line[starts[i]..ends[i]]; the scan stops at the tab that
        // ends the last required field, so dropped columns cost nothing more.
        // Fields are short: a plain scan beats memchr's set-up cost here.
        let mut starts = [0usize; MAX_COLUMNS];
        let mut ends = [0usize; MAX_COLUMNS];
        let mut found = 0;
        let mut start = 0;
        let mut required_end = line.len();
        for (i, &b) in line.iter().enumerate() {
            if b == b'\t' {
                starts[found] = start;
                ends[found] = i;
                found += 1;
                start = i + 1;
                if found == n {
                    required_end = i;
                    break;
                }
            }
        }
        if found < n {
            starts[found] = start;
            ends[found] = line.len();
            found += 1;
        }
        if found < n {
            self.reject_missing_column(line, found);
            return;
        }
        let mut normalised = true;
        for (i, column) in self.columns.iter().enumerate() {
            let value = &line[starts[i]..ends[i]];
            match fields::check_field(column.kind, value) {
                Ok(as_is) => normalised &= as_is,
                Err(error) => {
                    self.reject_field(line, i, value, error);
                    return;
                }
            }
        }
        let row_start = self.valid_out.len();
        if normalised {
            // The common case: one copy of the line, tabs turned into commas.
            self.valid_out.extend_from_slice(&line[..required_end]);
            for &tab in &ends[..n - 1] {
                self.valid_out[row_start + tab] = b',';
            }
        } else {
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    self.valid_out.push(b',');
                }
                let value = &line[starts[i]..ends[i]];
                if let Err(error) = fields::write_field(column.kind, value, &mut self.valid_out) {
                    self.valid_out.truncate(row_start);
                    self.reject_field(line, i, value, error);
                    return;
                }
            }
        }
        self.valid_out.push(b'\n');
        self.counts.rows_valid += 1;
    }

    fn reject_field(&mut self, line: &[u8], index: usize, value: &[u8], error: FieldError) {
        let column = self.columns[index].name;
        self.reason.clear();
        if value.is_empty() {
            let _ = write!(self.reason, "{column} {error}");
        } else {
            let _ = write!(self.reason, "{column} {} {error}", Excerpt(value));
        }
        self.emit_reject(Some(column), line, line.len() as u64);
    }

    fn reject_missing_column(&mut self, line: &[u8], present: usize) {
        let column = self.columns[present].name;
        self.reason.clear();
        let _ = write!(
            self.reason,
            "missing column {column}: the line has {present} of {} required tab-separated columns",
            self.columns.len()
        );
        self.emit_reject(Some(column), line, line.len() as u64);
    }

    /// Counts and writes a reject of the current line with the reason in `self.reason`.
    fn emit_reject(&mut self, column: Option<&'static str>, raw: &[u8], total_len: u64) {
        self.counts.rows_rejected += 1;
        self.write_reject_row(self.lines, column, raw, total_len);
    }

    fn write_reject_row(&mut self, line_no: u64, column: Option<&'static str>, raw: &[u8], total_len: u64) {
        let shown = &raw[..raw.len().min(RAW_LINE_LIMIT)];
        if (shown.len() as u64) < total_len {
            let _ = write!(self.reason, " (raw line cut to its first {} of {total_len} bytes)", shown.len());
        }
        let raw_text = String::from_utf8_lossy(shown);
        let out = &mut self.rejects_out;
        let _ = write!(out, "{line_no},{},", column.unwrap_or(""));
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

/// A bad value quoted in a reason, cut to a readable length.
struct Excerpt<'a>(&'a [u8]);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(self.0);
        match text.char_indices().nth(VALUE_EXCERPT) {
            Some((cut, _)) => write!(f, "\"{}…\"", &text[..cut]),
            None => write!(f, "\"{text}\""),
        }
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The binary-file rule of the module documentation; `Some(reason)` when binary.
fn sniff_binary(sample: &[u8]) -> Option<String> {
    if sample.is_empty() {
        return None;
    }
    if sample.starts_with(b"\xFF\xFE") || sample.starts_with(b"\xFE\xFF") {
        return Some("binary content: the file is UTF-16 text; save it as UTF-8".to_owned());
    }
    let body = sample.strip_suffix(b"\n").unwrap_or(sample);
    let mut lines = 0usize;
    let mut nul_lines = 0usize;
    for line in body.split(|&b| b == b'\n') {
        lines += 1;
        if memchr(0, line).is_some() {
            nul_lines += 1;
        }
    }
    if nul_lines * 2 > lines {
        return Some(format!("binary content: {nul_lines} of the first {lines} lines contain NUL bytes"));
    }
    let control =
        sample.iter().filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F).count();
    let non_text = control + invalid_utf8_bytes(sample);
    if non_text * 10 > sample.len() * 3 {
        return Some(format!("binary content: {non_text} of the first {} bytes are not text", sample.len()));
    }
    None
}

/// Bytes in invalid UTF-8 sequences; a sequence cut by the end of the sample is fine.
fn invalid_utf8_bytes(mut bytes: &[u8]) -> usize {
    let mut invalid = 0;
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return invalid,
            Err(e) => match e.error_len() {
                Some(len) => {
                    invalid += len;
                    bytes = &bytes[e.valid_up_to() + len..];
                }
                None => return invalid,
            },
        }
    }
}

/// Converts everything `reader` yields; the sinks are flushed at the end.
pub fn convert_reader(
    dataset: Dataset,
    mut reader: impl Read,
    mut valid: impl Write,
    mut rejects: impl Write,
    opts: ConvertOptions,
) -> io::Result<ConversionReport> {
    let mut converter = Converter::new(dataset, opts);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        converter.push(&buf[..n], &mut valid, &mut rejects)?;
    }
    converter.finish(&mut valid, &mut rejects)
}

impl fmt::Display for ConversionReport {
    /// A few lines for a person: the verdict, where the lines went, and the
    /// first rejects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RowCounts { rows_valid, rows_rejected, lines_skipped } = self.counts;
        write!(f, "{}: {}", self.dataset, self.status.as_str())?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  {} lines, {} bytes: {rows_valid} valid, {rows_rejected} rejected, {lines_skipped} skipped{}",
            self.lines,
            self.bytes_in,
            if self.header { " (including the header)" } else { "" }
        )?;
        if !self.first_rejects.is_empty() {
            let more = rows_rejected.saturating_sub(self.first_rejects.len() as u64);
            writeln!(
                f,
                "  first rejects{}:",
                if more > 0 { format!(" ({more} more not shown)") } else { String::new() }
            )?;
            for reject in &self.first_rejects {
                writeln!(f, "    {reject}")?;
                if !reject.raw_line.is_empty() {
                    let shown: String =
                        reject.raw_line.chars().take(120).map(|c| if c.is_control() { ' ' } else { c }).collect();
                    writeln!(f, "      | {shown}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dataset: Dataset, input: &[u8], opts: ConvertOptions) -> (String, String, ConversionReport) {
        let (mut valid, mut rejects) = (Vec::new(), Vec::new());
        let report = convert_reader(dataset, input, &mut valid, &mut rejects, opts).unwrap();
        (String::from_utf8(valid).unwrap(), String::from_utf8(rejects).unwrap(), report)
    }

    #[test]
    fn datasets_fit_the_field_scanner() {
        for dataset in Dataset::ALL {
            assert!(dataset.columns().len() <= MAX_COLUMNS);
        }
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
        let (valid, rejects, report) = run(Dataset::Sales, &input, ConvertOptions::default());
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
        let mut c = Converter::new(Dataset::Sales, opts);
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
        let (_, _, r) = run(Dataset::Sales, b"", opts);
        assert_eq!((r.status, r.reason.as_deref(), r.lines), (FileStatus::Invalid, Some("file is empty"), 0));
        let (_, _, r) = run(Dataset::Sales, b"----\n\n", opts);
        assert_eq!(r.status, FileStatus::Invalid);
        assert_eq!(r.reason.as_deref(), Some("no data rows: all 2 lines are blank, junk or a header"));
        let (_, _, r) = run(Dataset::Sales, b"x\ny\n", opts);
        assert_eq!(r.reason.as_deref(), Some("no valid rows: 2 rejected, 0 skipped"));
        let good = "S1\t1.00\t4\tI1\t2016-01-01\n";
        let (_, _, r) = run(Dataset::Sales, format!("{good}{good}bad\n").as_bytes(), opts);
        assert_eq!(r.status, FileStatus::ValidatedWithRejects);
        assert_eq!(r.reason.as_deref(), Some("1 of 3 rows rejected"));
        let (_, _, r) = run(Dataset::Sales, format!("{good}bad\n").as_bytes(), opts);
        assert_eq!(r.status, FileStatus::ValidatedWithRejects, "exactly at the share is usable");
        let (_, _, r) = run(Dataset::Sales, format!("{good}bad\nbad\n").as_bytes(), opts);
        assert_eq!(r.status, FileStatus::Invalid);
        assert_eq!(
            r.reason.as_deref(),
            Some("too many rejects: 2 of 3 rows rejected (66.7%, more than the 50.0% allowed)")
        );
        let strict = ConvertOptions { max_reject_share: 0.0, ..opts };
        let (_, _, r) = run(Dataset::Sales, format!("{good}{good}bad\n").as_bytes(), strict);
        assert_eq!(r.status, FileStatus::Invalid);
        let (_, _, r) = run(Dataset::Sales, good.as_bytes(), opts);
        assert_eq!((r.status, r.reason), (FileStatus::Validated, None));
    }

    #[test]
    fn display_shows_counts_and_first_rejects() {
        let input = "store_id\tamount\ttrans_type\titem_id\ttrans_date\nS1\t1.00\t4\tI1\t2016-01-01\nS1\t12.345\t4\tI1\t2016-01-01\n";
        let (_, _, r) = run(Dataset::Sales, input.as_bytes(), ConvertOptions::default());
        let text = r.to_string();
        assert!(text.starts_with("sales: VALIDATED_WITH_REJECTS (1 of 2 rows rejected)\n"), "{text}");
        assert!(text.contains("3 lines, 96 bytes: 1 valid, 1 rejected, 1 skipped (including the header)"), "{text}");
        assert!(text.contains("line 3 [amount]: amount \"12.345\" has more than 2 fraction digits"), "{text}");
        assert!(text.contains("| S1 12.345 4 I1 2016-01-01"), "{text}");
    }
}
