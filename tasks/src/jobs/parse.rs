//! Reading `jobs.toml` into [`JobsFile`], with errors a reviewer can act on.

use std::fmt;

use edba_payloads::jobs::JobsFile;
use serde::Serialize;
use serde_path_to_error::Segment;

use super::JobRef;

/// Why a jobs file could not be read: TOML syntax, or a value of the wrong
/// shape (missing, unknown or mistyped field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct JobsFileError {
    /// The job the problem is in, when it is inside one.
    pub job: Option<JobRef>,
    /// The field within the job (`input.min_files`), or within the file when
    /// `job` is `None`.
    pub field: Option<String>,
    /// 1-based position of the problem in the file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for JobsFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, "line {line}, column {column}: ")?;
        }
        if let Some(job) = &self.job {
            write!(f, "{job}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parses a jobs file (`[[job]]` tables, see `sampledata/jobs.toml`).
///
/// This checks the file's shape only; [`super::check_jobs`] checks its meaning.
pub fn parse_jobs_file(text: &str) -> Result<JobsFile, JobsFileError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        let (line, column) = position(text, e.span());
        let job = e.span().and_then(|span| job_by_header(text, span.start)).map(|index| JobRef { index, id: None });
        JobsFileError { job, field: None, line, column, message: e.message().to_owned() }
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().clone();
        let inner = e.into_inner();
        let (line, column) = position(text, inner.span());
        let (job_index, mut field) = split_path(&path);
        let message = inner.message().to_owned();
        // serde names a missing or unknown field in its message, while the
        // path stops at the table that lacks or has it.
        if let Some(name) = named_field(&message) {
            if field.as_deref().is_none_or(|f| f != name && !f.ends_with(&format!(".{name}"))) {
                field = Some(match field {
                    Some(parent) => format!("{parent}.{name}"),
                    None => name.to_owned(),
                });
            }
        }
        let job = job_index
            .or_else(|| inner.span().and_then(|span| job_by_header(text, span.start)))
            .map(|index| JobRef { index, id: job_id(text, index) });
        JobsFileError { job, field, line, column, message }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, span: Option<std::ops::Range<usize>>) -> (Option<usize>, Option<usize>) {
    let Some(span) = span else {
        return (None, None);
    };
    let start = span.start.min(text.len());
    let Some(before) = text.get(..start) else {
        return (None, None);
    };
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (Some(line), Some(column))
}

/// The job index (the position in `job`) and the field path within the job.
fn split_path(path: &serde_path_to_error::Path) -> (Option<usize>, Option<String>) {
    let segments: Vec<&Segment> = path.iter().collect();
    let (job, rest) = match segments.as_slice() {
        [Segment::Map { key }, Segment::Seq { index }, rest @ ..] if key == "job" => (Some(*index), rest),
        all => (None, all),
    };
    let mut field = String::new();
    for segment in rest {
        match segment {
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    (job, (!field.is_empty()).then_some(field))
}

/// The field serde names in "missing field `x`" or "unknown field `x`, …".
fn named_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `").or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split_once('`').map(|(name, _)| name)
}

/// Which `[[job]]` table a byte offset falls in, by the headers before it;
/// used where serde gives no path (syntax errors).
fn job_by_header(text: &str, offset: usize) -> Option<usize> {
    let before = text.get(..offset.min(text.len()))?;
    let headers = before.lines().filter(|line| is_job_header(line)).count();
    headers.checked_sub(1)
}

fn is_job_header(line: &str) -> bool {
    let Some(inner) = line.trim().strip_prefix("[[") else {
        return false;
    };
    let Some(rest) = inner.trim_start().strip_prefix("job") else {
        return false;
    };
    rest.trim_start().starts_with("]]")
}

/// The id of the job at `index`, when the file is valid TOML and gives one.
fn job_id(text: &str, index: usize) -> Option<String> {
    let table: toml::Table = text.parse().ok()?;
    table.get("job")?.as_array()?.get(index)?.get("id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "a\nbé = x\n";
        assert_eq!(position(text, Some(0..1)), (Some(1), Some(1)));
        assert_eq!(position(text, Some(7..8)), (Some(2), Some(5)));
        assert_eq!(position(text, None), (None, None));
    }

    #[test]
    fn job_headers_allow_spaces_but_not_other_tables() {
        assert!(is_job_header("[[job]]"));
        assert!(is_job_header("  [[ job ]] # J101"));
        assert!(!is_job_header("[[job.companions]]"));
        assert!(!is_job_header("[job.input]"));
        assert_eq!(job_by_header("[[job]]\nid = 1\n[[job]]\nx", 23), Some(1));
        assert_eq!(job_by_header("title = 1\n", 3), None);
    }

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(named_field("missing field `id`"), Some("id"));
        assert_eq!(named_field("unknown field `min_fles`, expected one of `dataset`"), Some("min_fles"));
        assert_eq!(named_field("invalid type: string \"x\", expected u32"), None);
    }
}
