//! The streaming converter: a file of a declared dataset becomes a clean CSV
//! of its typed, normalised columns plus a CSV of rejected lines.
//!
//! Memory is bounded by [`ConvertOptions::max_line_bytes`] plus fixed buffers,
//! whatever the file size or line length: whole lines are parsed in place in the
//! caller's chunk, only a line split across chunks is copied, and a line over the
//! cap keeps just its first [`RAW_LINE_LIMIT`] bytes for the rejects file.
//!
//! Line rules, in order (the first that applies decides):
//! 1. The line ending is LF; one CR before it is dropped. A UTF-8 BOM at the
//!    start of the file is dropped. A last line without LF is still a line.
//! 2. Inside a quoted field that a line break did not close (delimited files
//!    with a quote character): the line continues the record (and counts as
//!    skipped; the record counts once). A record longer than `max_line_bytes`
//!    is rejected.
//! 3. Longer than `max_line_bytes` (without its line ending): rejected.
//! 4. Empty or only ASCII white space: skipped (blank).
//! 5. Starts with one of the dataset's `skip_lines_starting_with`: skipped
//!    (trailer junk such as the sample's `----`).
//! 6. Not valid UTF-8, or holds a NUL byte: rejected.
//! 7. The header: with `header = "required"` the first line that is not
//!    skipped names the columns (found by name, in any order; a missing or,
//!    with `extra_columns = "reject"`, an undeclared column makes the file
//!    INVALID); with `"optional"`, line 1 whose first fields are exactly the
//!    column names is skipped; with `"none"` there is no header.
//! 8. Fewer fields than columns: rejected, naming the first missing column.
//!    More: dropped, or rejected with `extra_columns = "reject"`. Otherwise
//!    each column is checked in order and the first bad value rejects the line.
//!    JSON lines: a line that is not a JSON object is rejected; fields are
//!    found by name, a missing one is NULL (rejected unless nullable).
//!
//! Valid rows are written with the normalised values ([`crate::project`]'s
//! column types say how), then the file's capture values when the dataset
//! makes its captures columns. The valid CSV holds no CR or LF inside a field.
//!
//! A whole file is *binary* (INVALID, every line rejected, one reject row with
//! line 0) when, in its first [`SNIFF_BYTES`], UTF-16 byte order marks open the
//! file, more than half of the lines hold a NUL byte, or more than 30% of the
//! bytes are not text (control bytes other than TAB, LF, CR and FF, plus bytes
//! of invalid UTF-8 sequences). A stray NUL in a text file only rejects its line.

use std::sync::Arc;

use super::csv_out::write_csv_field;
use crate::project::{DatasetMatch, DatasetSpec, FileFormat, HeaderMode};
use edba_payloads::ingest::{FileStatus, RowCounts};
use memchr::{memchr, memchr_iter};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};
use std::io::{self, Read, Write};

/// Default [`ConvertOptions::max_line_bytes`]: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;
/// The share of rejected rows above which a file is INVALID, when the dataset
/// does not say.
pub const DEFAULT_MAX_REJECT_SHARE: f64 = crate::project::DEFAULT_MAX_REJECT_SHARE;
/// How much of the start of a file decides whether it is binary.
pub const SNIFF_BYTES: usize = 8 * 1024;
/// At most this many bytes of a rejected line are copied into the rejects CSV.
pub const RAW_LINE_LIMIT: usize = 1024;
/// Bytes of an overlong line kept for the rejects CSV: room for a BOM, which
/// is dropped before the excerpt is cut to [`RAW_LINE_LIMIT`].
const OVERLONG_PREFIX: usize = RAW_LINE_LIMIT + BOM.len();
const FIRST_REJECTS: usize = 10;
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
    /// Overrides the dataset's `max_reject_share`: a file whose rejected rows
    /// exceed this share of its data rows (valid + rejected, so headers,
    /// blanks and junk do not count) is INVALID. At exactly the share the file
    /// is still usable.
    pub max_reject_share: Option<f64>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions { max_line_bytes: DEFAULT_MAX_LINE_BYTES, max_reject_share: None }
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
    /// The dataset's name.
    pub dataset: String,
    pub counts: RowCounts,
    /// Lines in the file; a last line without LF counts, an empty file has 0.
    pub lines: u64,
    pub status: FileStatus,
    /// Why the file is INVALID or has rejects, as a sentence; `None` when VALIDATED.
    pub reason: Option<String>,
    /// The first ten rejects, in line order.
    pub first_rejects: Vec<Reject>,
    pub bytes_in: u64,
    /// Whether the file had a header (it is counted in `lines_skipped`).
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

/// Where each column's value is, for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Field `i` of the line is column `i`.
    Positional,
    /// The header mapped the columns: `column_field[i]` is column `i`'s field.
    ByHeader,
}

/// A push-based converter of one file: feed it chunks of any size with
/// [`push`](Converter::push), then call [`finish`](Converter::finish).
///
/// Output is buffered inside and written to the sinks in pieces, so every call
/// must be given the same two sinks. Both outputs always start with their
/// header row. The converter never fails on content; errors are the sinks'.
#[derive(Debug)]
pub struct Converter {
    dataset: Arc<DatasetSpec>,
    opts: ConvertOptions,
    max_reject_share: f64,
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
    /// Why the whole file is INVALID: binary content, or a header that lacks a
    /// column (every data row is then rejected with this reason).
    file_reason: Option<String>,
    last_byte: Option<u8>,
    lines: u64,
    /// The line a reject is reported at: the current line, or the first line
    /// of a record that spans lines.
    row_line: u64,
    bytes_in: u64,
    counts: RowCounts,
    header: bool,
    /// Whether the header is still to come (`header = "required"`).
    awaiting_header: bool,
    layout: Layout,
    column_field: Vec<usize>,
    /// Fields a row of the file has (the header's count when mapped by name).
    file_fields: usize,
    /// A record whose quoted field spans lines, so far.
    pending: Vec<u8>,
    pending_line: u64,
    /// Field `i` is `starts[i]..ends[i]` of the line (or of `unquoted`).
    starts: Vec<usize>,
    ends: Vec<usize>,
    /// Field values with quoting undone, for quoted and JSON lines rows.
    unquoted: Vec<u8>,
    /// `,<capture>…` appended to every valid row.
    capture_suffix: Vec<u8>,
    first_rejects: Vec<Reject>,
    valid_out: Vec<u8>,
    rejects_out: Vec<u8>,
    reason: String,
}

impl Converter {
    /// A converter for a file of `dataset` whose key captured nothing (or
    /// whose captures are not columns).
    pub fn new(dataset: Arc<DatasetSpec>, opts: ConvertOptions) -> Self {
        Converter::with_captures(dataset, &[], opts)
    }

    /// A converter for the file a key matched: its capture values are
    /// columns of every row when the dataset says so.
    pub fn for_file(matched: &DatasetMatch, opts: ConvertOptions) -> Self {
        Converter::with_captures(matched.dataset.clone(), &matched.captures, opts)
    }

    fn with_captures(dataset: Arc<DatasetSpec>, captures: &[String], opts: ConvertOptions) -> Self {
        let mut valid_out = Vec::with_capacity(FLUSH_AT * 2);
        for (i, column) in dataset.output_columns().iter().enumerate() {
            if i > 0 {
                valid_out.push(b',');
            }
            valid_out.extend_from_slice(column.as_bytes());
        }
        valid_out.push(b'\n');
        let mut capture_suffix = Vec::new();
        if dataset.capture_columns {
            for i in 0..dataset.files.captures().len() {
                capture_suffix.push(b',');
                write_csv_field(&mut capture_suffix, captures.get(i).map_or(&b""[..], |c| c.as_bytes()));
            }
        }
        let mut rejects_out = Vec::with_capacity(4096);
        rejects_out.extend_from_slice(REJECTS_HEADER);
        let n = dataset.columns.len();
        let awaiting_header = matches!(dataset.format, FileFormat::Delimited { header: HeaderMode::Required, .. });
        Converter {
            max_reject_share: opts.max_reject_share.unwrap_or(dataset.max_reject_share),
            dataset,
            opts,
            phase: Phase::Sniffing,
            sniff: Vec::new(),
            carry: Vec::new(),
            overlong: None,
            overlong_last: 0,
            file_reason: None,
            last_byte: None,
            lines: 0,
            row_line: 0,
            bytes_in: 0,
            counts: RowCounts::default(),
            header: false,
            awaiting_header,
            layout: Layout::Positional,
            column_field: (0..n).collect(),
            file_fields: n,
            pending: Vec::new(),
            pending_line: 0,
            starts: vec![0; n + 1],
            ends: vec![0; n + 1],
            unquoted: Vec::new(),
            capture_suffix,
            first_rejects: Vec::new(),
            valid_out,
            rejects_out,
            reason: String::new(),
        }
    }

    pub fn dataset(&self) -> &Arc<DatasetSpec> {
        &self.dataset
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
        if self.phase == Phase::Lines {
            if let Some(total) = self.overlong.take() {
                self.reject_overlong(total);
            } else if !self.carry.is_empty() {
                let carry = std::mem::take(&mut self.carry);
                self.line(&carry, false);
            }
        }
        if self.phase == Phase::Lines && !self.pending.is_empty() {
            let record = std::mem::take(&mut self.pending);
            self.row_line = self.pending_line;
            self.reason.clear();
            self.reason.push_str("a quoted field is not closed before the end of the file");
            self.emit_reject(None, &record, record.len() as u64);
        }
        if self.phase == Phase::Binary {
            self.reject_binary_file();
        }
        valid.write_all(&self.valid_out)?;
        valid.flush()?;
        rejects.write_all(&self.rejects_out)?;
        rejects.flush()?;
        let (status, reason) = self.verdict();
        Ok(ConversionReport {
            dataset: self.dataset.name.clone(),
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
        if let Some(reason) = &self.file_reason {
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
        if share > self.max_reject_share {
            return (
                FileStatus::Invalid,
                Some(format!(
                    "too many rejects: {rows_rejected} of {rows} rows rejected ({:.1}%, more than the {:.1}% allowed)",
                    share * 100.0,
                    self.max_reject_share * 100.0
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
                self.file_reason = Some(reason);
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
        self.row_line = self.lines;
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
        if !self.pending.is_empty() {
            // The overlong line was inside a quoted field: the record goes with it.
            self.pending.clear();
            self.counts.lines_skipped += 1;
            self.counts.rows_rejected += 1;
            let line = self.pending_line;
            self.write_reject_row(line, None, &prefix, total);
        } else {
            self.emit_reject(None, &prefix, total);
        }
        prefix.clear();
        self.carry = prefix;
    }

    /// Every line of a binary file is rejected, with one reject row (line 0)
    /// that says why.
    fn reject_binary_file(&mut self) {
        if self.last_byte.is_some_and(|b| b != b'\n') {
            self.lines += 1;
        }
        self.counts.rows_rejected = self.lines;
        self.reason.clear();
        let reason = self.file_reason.as_deref().unwrap_or("binary content");
        let _ = write!(self.reason, "{reason}; all {} lines rejected", self.lines);
        self.write_reject_row(0, None, &[], 0);
    }
}

/// A bad value quoted in a reason, cut to a readable length.
struct Excerpt<'a>(&'a [u8]);

/// Control characters are shown escaped (`\n`, `\u{7}`), so a reason stays
/// on one line wherever it is printed.
impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(self.0);
        let (shown, cut) = match text.char_indices().nth(VALUE_EXCERPT) {
            Some((cut, _)) => (&text[..cut], true),
            None => (&text[..], false),
        };
        f.write_str("\"")?;
        for c in shown.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        f.write_str(if cut { "…\"" } else { "\"" })
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
    dataset: Arc<DatasetSpec>,
    reader: impl Read,
    valid: impl Write,
    rejects: impl Write,
    opts: ConvertOptions,
) -> io::Result<ConversionReport> {
    convert_with(Converter::new(dataset, opts), reader, valid, rejects)
}

/// Feeds everything `reader` yields to `converter`; the sinks are flushed at the end.
pub fn convert_with(
    mut converter: Converter,
    mut reader: impl Read,
    mut valid: impl Write,
    mut rejects: impl Write,
) -> io::Result<ConversionReport> {
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

mod rows;
#[cfg(test)]
mod tests;
