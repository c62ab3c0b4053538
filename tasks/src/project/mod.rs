//! The project file, `edba.toml`: the datasets a team's files belong to, the
//! warehouse tables its jobs merge into, and (optionally) the jobs.
//!
//! ```toml
//! [[dataset]]
//! name = "orders"
//! files = "orders/{region}-{day}.csv"   # under incoming/; see `pattern`
//! captures = { region = "[A-Z]{2}" }    # optional: what a capture must match
//! format = "csv"                         # csv | tsv | jsonl
//! header = "required"                    # required | none | optional
//! columns = [
//!   { name = "order_id", type = "string", pattern = "[A-Z0-9-]{1,20}" },
//!   { name = "price",    type = "decimal(12,2)" },
//! ]
//!
//! [[table]]
//! name = "daily_revenue"
//! key = ["region", "order_day"]
//!
//! [[job]]                                # as in a jobs file
//! id = "EU-daily"
//! ...
//! ```
//!
//! [`Project::parse`] reads and checks the whole file and returns every
//! problem at once, each with the line of its `[[dataset]]`/`[[table]]`
//! table. A checked project is immutable and shared (`Arc`); the tasks read
//! the deployed one from the bucket ([`load`]), and a bucket without one uses
//! the sample project ([`Project::sample`], `sampledata/edba.toml`).

mod columns;
mod load;
mod pattern;

pub use columns::{CharClass, ColumnSpec, ColumnType, RawColumn, StringRules, MAX_DECIMAL_PRECISION};
pub use load::{load_project, shared_cache, LoadedProject, ProjectCache, PROJECT_KEY};
pub use pattern::{is_capture_name, FilePattern};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use edba_payloads::jobs::JobConfig;
use serde::{Deserialize, Serialize};

/// The sample project's file, compiled in.
pub const SAMPLE_PROJECT: &str = include_str!("../../../sampledata/edba.toml");
/// The project file's name in a project directory.
pub const PROJECT_FILE: &str = "edba.toml";
/// Where input files arrive in the bucket.
pub const INCOMING_PREFIX: &str = "incoming/";
/// Most columns a dataset may declare.
pub const MAX_COLUMNS: usize = 256;

/// A checked project.
#[derive(Debug, Clone)]
pub struct Project {
    pub datasets: Vec<Arc<DatasetSpec>>,
    pub tables: Vec<TableSpec>,
    /// The `[[job]]` tables, parsed but not yet checked (the jobs checker
    /// does that, against this project's datasets and tables).
    pub jobs: Vec<JobConfig>,
}

/// A declared dataset.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub name: String,
    pub files: FilePattern,
    /// Whether the captures are columns of every row (after the declared ones).
    pub capture_columns: bool,
    /// The capture whose value is the file's partition in the state store.
    pub partition: Option<usize>,
    pub format: FileFormat,
    /// Lines starting with one of these are skipped (and counted as skipped).
    pub skip_prefixes: Vec<Vec<u8>>,
    pub max_reject_share: f64,
    pub extra_columns: ExtraColumns,
    pub columns: Vec<ColumnSpec>,
}

impl DatasetSpec {
    /// The names of the columns of a validated file, in order: the declared
    /// columns, then the capture columns.
    pub fn output_columns(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        if self.capture_columns {
            names.extend(self.files.captures().iter().map(String::as_str));
        }
        names
    }
}

/// One column of a validated file as a run's manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlColumn {
    pub name: String,
    /// Spark SQL DDL ([`ColumnType::sql_type`]); captures are `STRING`.
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
}

impl DatasetSpec {
    /// The columns of a validated file, typed, in order: what a job's view
    /// of the dataset is.
    pub fn sql_columns(&self) -> Vec<SqlColumn> {
        let mut columns: Vec<SqlColumn> = self
            .columns
            .iter()
            .map(|c| SqlColumn { name: c.name.clone(), ty: c.ty.sql_type(), nullable: c.nullable })
            .collect();
        if self.capture_columns {
            columns.extend(self.files.captures().iter().map(|n| SqlColumn {
                name: n.clone(),
                ty: "STRING".into(),
                nullable: false,
            }));
        }
        columns
    }
}

/// How a file's bytes hold its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// One row per line (a quoted field may span lines), fields split by
    /// `delimiter`; with `quote`, RFC 4180 quoting.
    Delimited { delimiter: u8, quote: Option<u8>, header: HeaderMode },
    /// One JSON object per line, fields by name.
    JsonLines,
}

/// Whether a delimited file starts with a header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderMode {
    /// Line 1 names the columns, in any order; columns are found by name.
    Required,
    /// No header: columns by position.
    None,
    /// Line 1 is skipped when its first fields are exactly the column
    /// names; columns by position.
    Optional,
}

/// What happens to fields no column declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtraColumns {
    /// Ignored.
    Drop,
    /// A row with more fields (a JSON object with other keys) is rejected; a
    /// header with an undeclared column makes the file INVALID.
    Reject,
}

/// A declared warehouse table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    /// The key: one row per distinct key; a re-run replaces the row.
    pub key: Vec<String>,
    /// The declared columns, when given (some or all): the job's output must
    /// have each, of the declared type when one is given.
    pub columns: Option<Vec<TableColumnSpec>>,
}

/// A column a `[[table]]` declares: what the job's output must agree with,
/// and what the warehouse column adds to the planned type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumnSpec {
    pub name: String,
    /// A column type as datasets write them (`decimal(14,2)`); none: the
    /// planned type.
    pub ty: Option<String>,
    /// `Some(false)`: the warehouse column is NOT NULL even where the plan
    /// cannot prove it (a SUM); a NULL fails the load.
    pub nullable: Option<bool>,
    /// For strings: the most characters a value holds (sizes the column).
    pub max_length: Option<u32>,
}

/// A problem in a project file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ProjectError {
    /// 1-based line of the problem (or of its `[[dataset]]`/`[[table]]`).
    pub line: Option<usize>,
    /// `dataset orders`, `table daily_revenue`, or none for the file.
    pub place: Option<String>,
    pub message: String,
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(place) = &self.place {
            write!(f, "{place}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem of a project file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ProjectErrors(pub Vec<ProjectError>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    #[serde(default, rename = "dataset")]
    datasets: Vec<RawDataset>,
    #[serde(default, rename = "table")]
    tables: Vec<RawTable>,
    #[serde(default, rename = "job")]
    jobs: Vec<JobConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    name: String,
    files: String,
    #[serde(default)]
    captures: BTreeMap<String, String>,
    capture_columns: Option<bool>,
    partition: Option<String>,
    format: RawFormat,
    delimiter: Option<String>,
    quote: Option<String>,
    header: Option<HeaderMode>,
    #[serde(default)]
    skip_lines_starting_with: Vec<String>,
    max_reject_share: Option<f64>,
    extra_columns: Option<ExtraColumns>,
    columns: Vec<RawColumn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawFormat {
    Csv,
    Tsv,
    Jsonl,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: String,
    key: Vec<String>,
    columns: Option<Vec<RawTableColumn>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTableColumn {
    name: String,
    #[serde(rename = "type")]
    ty: Option<String>,
    nullable: Option<bool>,
    max_length: Option<u32>,
}

/// The default share of rejected rows above which a file is INVALID.
pub const DEFAULT_MAX_REJECT_SHARE: f64 = 0.5;

impl Project {
    /// The sample project (`sampledata/edba.toml`), parsed once.
    pub fn sample() -> Arc<Project> {
        static SAMPLE: OnceLock<Arc<Project>> = OnceLock::new();
        SAMPLE
            .get_or_init(|| {
                Arc::new(Project::parse(SAMPLE_PROJECT).unwrap_or_else(|e| panic!("sampledata/edba.toml: {e}")))
            })
            .clone()
    }

    /// Parses and checks a project file.
    pub fn parse(text: &str) -> Result<Project, ProjectErrors> {
        let raw: RawProject = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            ProjectErrors(vec![ProjectError { line, place: None, message: e.message().trim().to_owned() }])
        })?;
        let mut errors = Vec::new();
        let dataset_lines = header_lines(text, "[[dataset]]");
        let table_lines = header_lines(text, "[[table]]");
        let mut datasets: Vec<Arc<DatasetSpec>> = Vec::new();
        let mut names = HashSet::new();
        for (index, raw) in raw.datasets.iter().enumerate() {
            let line = dataset_lines.get(index).copied();
            let place = Some(format!("dataset {}", display_name(&raw.name, index)));
            let fail = |errors: &mut Vec<ProjectError>, message: String| {
                errors.push(ProjectError { line, place: place.clone(), message })
            };
            if !names.insert(raw.name.clone()) {
                fail(&mut errors, "the name is used by an earlier dataset".into());
            }
            match build_dataset(raw) {
                Ok(spec) => datasets.push(Arc::new(spec)),
                Err(messages) => messages.into_iter().for_each(|m| fail(&mut errors, m)),
            }
        }
        for (i, a) in datasets.iter().enumerate() {
            for b in &datasets[i + 1..] {
                let line = dataset_lines.get(raw.datasets.iter().position(|d| d.name == b.name).unwrap_or(0)).copied();
                match a.files.overlap(&b.files) {
                    Ok(None) => {}
                    Ok(Some(key)) => errors.push(ProjectError {
                        line,
                        place: Some(format!("dataset {}", b.name)),
                        message: format!(
                            "its files {:?} overlap dataset {}'s {:?}: incoming/{key} would match both",
                            b.files.as_str(),
                            a.name,
                            a.files.as_str()
                        ),
                    }),
                    Err(e) => {
                        errors.push(ProjectError { line, place: Some(format!("dataset {}", b.name)), message: e })
                    }
                }
            }
        }
        let mut tables = Vec::new();
        let mut table_names = HashSet::new();
        for (index, raw) in raw.tables.iter().enumerate() {
            let line = table_lines.get(index).copied();
            let place = Some(format!("table {}", display_name(&raw.name, index)));
            let mut fail = |message: String| errors.push(ProjectError { line, place: place.clone(), message });
            if !is_capture_name(&raw.name) {
                fail("a table name is a lower-case letter or `_`, then lower-case letters, digits or `_`".into());
            }
            if !table_names.insert(raw.name.clone()) {
                fail("the name is used by an earlier table".into());
            }
            if raw.key.is_empty() {
                fail("`key` must name at least one column".into());
            }
            let mut seen = HashSet::new();
            for key in &raw.key {
                if !seen.insert(key) {
                    fail(format!("key column `{key}` is listed twice"));
                }
            }
            let columns = raw.columns.as_ref().map(|columns| {
                columns
                    .iter()
                    .map(|c| TableColumnSpec {
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                        nullable: c.nullable,
                        max_length: c.max_length,
                    })
                    .collect::<Vec<_>>()
            });
            for column in columns.iter().flatten() {
                if !is_capture_name(&column.name) {
                    fail(format!(
                        "column `{}`: a column name is a lower-case letter or `_`, then lower-case letters, digits or `_`",
                        column.name
                    ));
                }
                if column.max_length == Some(0) {
                    fail(format!("column `{}`: max_length must be at least 1", column.name));
                }
                if column.nullable == Some(true) && raw.key.contains(&column.name) {
                    fail(format!("key column `{}` cannot be nullable", column.name));
                }
            }
            let mut declared = HashSet::new();
            for column in columns.iter().flatten() {
                if !declared.insert(column.name.as_str()) {
                    fail(format!("column `{}` is declared twice", column.name));
                }
            }
            tables.push(TableSpec { name: raw.name.clone(), key: raw.key.clone(), columns });
        }
        if datasets.is_empty() && errors.is_empty() {
            errors.push(ProjectError {
                line: None,
                place: None,
                message: "the project declares no [[dataset]]".into(),
            });
        }
        if errors.is_empty() {
            Ok(Project { datasets, tables, jobs: raw.jobs })
        } else {
            Err(ProjectErrors(errors))
        }
    }

    pub fn dataset(&self, name: &str) -> Option<&Arc<DatasetSpec>> {
        self.datasets.iter().find(|d| d.name == name)
    }

    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The dataset of an object key (`incoming/<path>`, or a bare path
    /// without `/`), and what the key says beyond that.
    pub fn match_key(&self, key: &str) -> Result<DatasetMatch, UnknownDataset> {
        let path = match key.strip_prefix(INCOMING_PREFIX) {
            Some(path) => path,
            None if !key.contains('/') => key,
            None => {
                return Err(UnknownDataset {
                    key: key.to_owned(),
                    reason: format!("only files under {INCOMING_PREFIX} are input"),
                })
            }
        };
        self.match_path(path).map_err(|reason| UnknownDataset { key: key.to_owned(), reason })
    }

    /// The dataset of a path relative to `incoming/`.
    pub fn match_path(&self, path: &str) -> Result<DatasetMatch, String> {
        for dataset in &self.datasets {
            if let Some(captures) = dataset.files.matches(path) {
                let partition = dataset.partition.map(|i| captures[i].clone());
                return Ok(DatasetMatch { dataset: dataset.clone(), partition, stem: stem_of(path), captures });
            }
        }
        for dataset in &self.datasets {
            if let Some(why) = dataset.files.near_miss(path) {
                return Err(format!(
                    "the path {path:?} is not a file of dataset {}: {why} (files = {:?})",
                    dataset.name,
                    dataset.files.as_str()
                ));
            }
        }
        let patterns: Vec<String> =
            self.datasets.iter().map(|d| format!("{} ({})", d.files.as_str(), d.name)).collect();
        Err(format!("the path {path:?} matches no dataset's files: {}", patterns.join(", ")))
    }
}

/// The path without its last extension: names the validated and rejected objects.
fn stem_of(path: &str) -> String {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => path[..name_start + dot].to_owned(),
        _ => path.to_owned(),
    }
}

/// The dataset an object key belongs to, and what the key says beyond that.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetMatch {
    #[serde(serialize_with = "dataset_name")]
    pub dataset: Arc<DatasetSpec>,
    /// The value of the dataset's partition capture (the province `IL` for the sample's `IL-101.tdf`).
    pub partition: Option<String>,
    /// The path relative to `incoming/` without its extension; names the validated and rejected objects.
    pub stem: String,
    /// The captured values, in the order of the pattern's captures.
    #[serde(skip)]
    pub captures: Vec<String>,
}

impl PartialEq for DatasetMatch {
    fn eq(&self, other: &Self) -> bool {
        self.dataset.name == other.dataset.name
            && self.partition == other.partition
            && self.stem == other.stem
            && self.captures == other.captures
    }
}

fn dataset_name<S: serde::Serializer>(dataset: &Arc<DatasetSpec>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dataset.name)
}

/// A key that maps to no dataset, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataset for {key:?}: {reason}")]
pub struct UnknownDataset {
    pub key: String,
    pub reason: String,
}

fn display_name(name: &str, index: usize) -> String {
    if name.is_empty() {
        format!("#{}", index + 1)
    } else {
        name.to_owned()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The 1-based lines of each `[[name]]` header, in order.
fn header_lines(text: &str, header: &str) -> Vec<usize> {
    text.lines().enumerate().filter(|(_, line)| line.trim_start().starts_with(header)).map(|(i, _)| i + 1).collect()
}

fn build_dataset(raw: &RawDataset) -> Result<DatasetSpec, Vec<String>> {
    let mut errors = Vec::new();
    if !is_capture_name(&raw.name) {
        errors.push("a dataset name is a lower-case letter or `_`, then lower-case letters, digits or `_`".into());
    }
    let files = FilePattern::parse(&raw.files, &raw.captures).map_err(|e| format!("`files` {e}"));
    let files = match files {
        Ok(files) => Some(files),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let capture_columns = raw.capture_columns.unwrap_or(true);
    let partition = match (&raw.partition, &files) {
        (Some(name), Some(files)) => match files.captures().iter().position(|c| c == name) {
            Some(i) => Some(i),
            None => {
                errors.push(format!("`partition` names {{{name}}}, which `files` does not capture"));
                None
            }
        },
        _ => None,
    };
    let format = match raw.format {
        RawFormat::Jsonl => {
            for (set, option) in [
                (raw.delimiter.is_some(), "delimiter"),
                (raw.quote.is_some(), "quote"),
                (raw.header.is_some(), "header"),
            ] {
                if set {
                    errors.push(format!("`{option}` does not apply to JSON lines"));
                }
            }
            FileFormat::JsonLines
        }
        RawFormat::Csv | RawFormat::Tsv => {
            let default_delimiter = if raw.format == RawFormat::Csv { b',' } else { b'\t' };
            let delimiter = match raw.delimiter.as_deref().map(single_byte) {
                None => default_delimiter,
                Some(Some(b)) if b != b'\n' && b != b'\r' => b,
                Some(_) => {
                    errors.push("`delimiter` must be one ASCII character other than a line break".into());
                    default_delimiter
                }
            };
            // CSV quotes with `"` unless told otherwise; TSV does not quote.
            let quote = match raw.quote.as_deref() {
                None if raw.format == RawFormat::Csv => Some(b'"'),
                None | Some("") => None,
                Some(q) => match single_byte(q) {
                    Some(b) if b != delimiter && b != b'\n' && b != b'\r' => Some(b),
                    _ => {
                        errors.push("`quote` must be one ASCII character other than the delimiter, or \"\"".into());
                        None
                    }
                },
            };
            FileFormat::Delimited { delimiter, quote, header: raw.header.unwrap_or(HeaderMode::Required) }
        }
    };
    let mut skip_prefixes = Vec::new();
    for prefix in &raw.skip_lines_starting_with {
        if prefix.is_empty() {
            errors.push("`skip_lines_starting_with` must not hold an empty string".into());
        } else {
            skip_prefixes.push(prefix.as_bytes().to_vec());
        }
    }
    let max_reject_share = raw.max_reject_share.unwrap_or(DEFAULT_MAX_REJECT_SHARE);
    if !(0.0..=1.0).contains(&max_reject_share) {
        errors.push("`max_reject_share` must be between 0 and 1".into());
    }
    if raw.columns.is_empty() || raw.columns.len() > MAX_COLUMNS {
        errors.push(format!("`columns` must declare between 1 and {MAX_COLUMNS} columns"));
    }
    let mut columns = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for column in &raw.columns {
        match column.build() {
            Ok(spec) => columns.push(spec),
            Err(e) => errors.push(format!("column `{}`: {e}", column.name)),
        }
        if seen.insert(&column.name, "column").is_some() {
            errors.push(format!("column `{}` is declared twice", column.name));
        }
    }
    if let (Some(files), true) = (&files, capture_columns) {
        for capture in files.captures() {
            if seen.contains_key(capture.as_str()) {
                errors.push(format!(
                    "capture {{{capture}}} is also a declared column; rename one, or set capture_columns = false"
                ));
            }
        }
    }
    match (files, errors.is_empty()) {
        (Some(files), true) => Ok(DatasetSpec {
            name: raw.name.clone(),
            files,
            capture_columns,
            partition,
            format,
            skip_prefixes,
            max_reject_share,
            extra_columns: raw.extra_columns.unwrap_or(ExtraColumns::Drop),
            columns,
        }),
        _ => Err(errors),
    }
}

fn single_byte(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [b] if b.is_ascii() => Some(*b),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
