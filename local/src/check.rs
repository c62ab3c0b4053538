//! `edba check DIR`: everything about a project that can be known before a
//! file arrives, each problem with its file, line and job.
//!
//! 1. `edba.toml` parses and its datasets and tables are sound
//!    ([`Project::parse`]: types, file patterns, overlapping datasets, …).
//! 2. Its `[[job]]` tables and `DIR/jobs.toml` follow the job rules against
//!    the project's datasets and tables ([`check_jobs_in`]); a job's SQL file
//!    is looked up in the project directory, then in the edba checkout.
//! 3. Every `sql_job` step's SQL is planned with DataFusion against the
//!    datasets as declared (one typed view each, captures included): an
//!    unknown column, a type error or a bad function is reported with the
//!    SQL file and the line of its `-- table:` section.
//! 4. Each table a job loads must be one of its SQL's sections, with every
//!    key column in the output and never NULL, and the declared columns (when
//!    the table lists them) present with the declared types. A declared table
//!    no job loads is reported too.
//! 5. Each loaded table is planned ([`PlannedTables`]): the output's columns
//!    and types (each a type the warehouse holds), with what the `[[table]]`
//!    adds (string sizes, NOT NULL), deployed as `code/edba.tables.json` for
//!    the load, which generates the warehouse DDL and MERGE from it. Two jobs
//!    that load one table must agree on its columns.
//!
//! Nothing here touches S3 or a database; `edba run` runs the same check
//! before it starts anything.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use edba_payloads::jobs::{JobsFile, StepConfig};
use edba_tasks::jobs::{check_jobs_in, parse_jobs_file};
use edba_tasks::load::{PlannedTables, TableSchema, WarehouseColumn, TABLES_KEY};
use edba_tasks::project::{Project, RawColumn, TableSpec, PROJECT_FILE, PROJECT_KEY};
use serde::Serialize;

use crate::steprunner::schema::{arrow_type_of_sql, dataset_schema, sql_type_of_arrow};
use crate::steprunner::sqljob::{parse_sections, section_name};

/// The jobs file beside a project's `edba.toml`.
pub const JOBS_FILE: &str = "jobs.toml";

/// One problem: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckProblem {
    /// The file, relative to the project directory when it is inside it.
    pub file: String,
    pub line: Option<usize>,
    pub job: Option<String>,
    pub message: String,
}

impl fmt::Display for CheckProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(job) = &self.job {
            write!(f, "job {job}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A project that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedProject {
    pub dir: PathBuf,
    /// The text of `edba.toml`, as it is deployed.
    pub text: String,
    pub project: Arc<Project>,
    /// The project's `[[job]]` tables, then those of `jobs.toml`.
    pub jobs: JobsFile,
    /// Each job's SQL file (once): its path as the job names it, and where it was found.
    pub sql_files: Vec<(String, PathBuf)>,
    /// The output columns of every table a job writes: (job, table, columns).
    pub outputs: Vec<(String, String, Vec<String>)>,
    /// The warehouse tables the jobs load, as planned from their SQL.
    pub tables: PlannedTables,
}

/// One object of a project's deployment: its key in the bucket, its bytes,
/// and the local file it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedObject {
    pub key: String,
    pub bytes: Vec<u8>,
    pub source: PathBuf,
}

impl CheckedProject {
    /// What `edba project push` and `edba run` upload, in upload order: each
    /// job SQL file at `code/<its path>`, the planned tables at
    /// [`TABLES_KEY`], then `edba.toml` at [`PROJECT_KEY`] last, so a task
    /// never reads a project whose SQL or tables are not there yet.
    pub fn deployment(&self) -> std::io::Result<Vec<DeployedObject>> {
        let mut objects = Vec::with_capacity(self.sql_files.len() + 2);
        for (sql, path) in &self.sql_files {
            let bytes = std::fs::read(path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
            objects.push(DeployedObject { key: format!("code/{sql}"), bytes, source: path.clone() });
        }
        objects.push(DeployedObject {
            key: TABLES_KEY.to_owned(),
            bytes: self.tables.to_json().into_bytes(),
            source: self.dir.join(PROJECT_FILE),
        });
        objects.push(DeployedObject {
            key: PROJECT_KEY.to_owned(),
            bytes: self.text.clone().into_bytes(),
            source: self.dir.join(PROJECT_FILE),
        });
        Ok(objects)
    }
}

impl fmt::Display for CheckedProject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.project;
        writeln!(
            f,
            "{}: {} datasets, {} tables, {} jobs: no problems",
            self.dir.join(PROJECT_FILE).display(),
            p.datasets.len(),
            p.tables.len(),
            self.jobs.jobs.len()
        )?;
        for dataset in &p.datasets {
            writeln!(
                f,
                "  dataset {} <- incoming/{}: {}",
                dataset.name,
                dataset.files.as_str(),
                dataset.output_columns().join(", ")
            )?;
        }
        for (job, table, columns) in &self.outputs {
            writeln!(f, "  job {job} -> table {table}: {}", columns.join(", "))?;
        }
        for table in &self.tables.tables {
            let columns: Vec<String> = table
                .columns
                .iter()
                .map(|c| format!("{} {}{}", c.name, c.ty, if c.nullable { "" } else { " NOT NULL" }))
                .collect();
            writeln!(f, "  warehouse table {}, key ({}): {}", table.name, table.key.join(", "), columns.join(", "))?;
        }
        Ok(())
    }
}

/// Why a project did not pass: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure(pub Vec<CheckProblem>);

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} {}:", if n == 1 { "problem" } else { "problems" })?;
        for problem in &self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckFailure {}

/// Checks the project in `dir` (see the module documentation); `repo_root`
/// is the edba checkout, where the sample's SQL lives.
pub async fn check_project_dir(dir: &Path, repo_root: Option<&Path>) -> Result<CheckedProject, CheckFailure> {
    let file_problem = |file: &str, line: Option<usize>, job: Option<String>, message: String| CheckProblem {
        file: file.to_owned(),
        line,
        job,
        message,
    };
    let project_path = dir.join(PROJECT_FILE);
    let text = std::fs::read_to_string(&project_path).map_err(|e| {
        CheckFailure(vec![file_problem(
            PROJECT_FILE,
            None,
            None,
            format!("cannot read {}: {e}", project_path.display()),
        )])
    })?;
    let project = Project::parse(&text).map_err(|errors| {
        CheckFailure(errors.0.into_iter().map(|e| file_problem(PROJECT_FILE, e.line, None, strip_line(&e))).collect())
    })?;
    let project = Arc::new(project);

    let mut problems = Vec::new();
    let mut jobs = JobsFile { jobs: project.jobs.clone() };
    let from_project = jobs.jobs.len();
    let jobs_path = dir.join(JOBS_FILE);
    if jobs_path.is_file() {
        match std::fs::read_to_string(&jobs_path)
            .map_err(|e| e.to_string())
            .and_then(|t| parse_jobs_file(&t).map_err(|e| e.to_string()))
        {
            Ok(file) => jobs.jobs.extend(file.jobs),
            Err(e) => problems.push(file_problem(JOBS_FILE, None, None, e)),
        }
    }
    let sql_dirs: Vec<&Path> = std::iter::once(dir).chain(repo_root).collect();
    if !jobs.jobs.is_empty() {
        if let Err(errors) = check_jobs_in(&jobs, &project, &sql_dirs) {
            for e in errors {
                let file = if e.job.index < from_project { PROJECT_FILE } else { JOBS_FILE };
                let job = e.job.id.clone();
                problems.push(file_problem(file, None, job, format!("field `{}`: {}", e.field, e.message)));
            }
        }
    }

    let mut sql_files = Vec::new();
    let mut outputs = Vec::new();
    let mut planned_tables: Vec<(String, TableSchema)> = Vec::new();
    let mut loaded = std::collections::HashSet::new();
    for job in &jobs.jobs {
        loaded.extend(job.load.tables.iter().cloned());
        let StepConfig::SqlJob { sql } = &job.step else { continue };
        let Some(path) = sql_dirs.iter().map(|d| d.join(sql)).find(|p| p.is_file()) else {
            continue; // the jobs check reported it
        };
        let shown = shown_path(dir, &path);
        let problem = |line: Option<usize>, message: String| CheckProblem {
            file: shown.clone(),
            line,
            job: Some(job.id.clone()),
            message,
        };
        let sql_text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(problem(None, format!("cannot read the SQL file: {e}")));
                continue;
            }
        };
        if !sql_files.iter().any(|(known, _)| known == sql) {
            sql_files.push((sql.clone(), path.clone()));
        }
        let planned = match plan_sections(&project, &sql_text).await {
            Ok(planned) => planned,
            Err((line, message)) => {
                problems.push(problem(line, message));
                continue;
            }
        };
        for table_name in &job.load.tables {
            let Some((_, line, schema)) = planned.iter().find(|(t, _, _)| t == table_name) else {
                problems.push(problem(
                    None,
                    format!("loads table {table_name}, but the SQL has no `-- table: {table_name}` section"),
                ));
                continue;
            };
            let Some(table) = project.table(table_name) else { continue };
            match planned_table(table, schema) {
                Err(messages) => problems.extend(messages.into_iter().map(|m| problem(Some(*line), m))),
                Ok(planned) => match planned_tables.iter().find(|(_, t)| t.name == planned.name) {
                    Some((other, earlier)) if earlier != &planned => problems.push(problem(
                        Some(*line),
                        format!("loads table {table_name} with other columns or types than job {other} does"),
                    )),
                    Some(_) => {}
                    None => planned_tables.push((job.id.clone(), planned)),
                },
            }
            for key in &table.key {
                match schema.field_with_name(key) {
                    Err(_) => problems.push(problem(Some(*line), format!("table {table_name}'s key column {key} is not in the query's output"))),
                    Ok(field) if field.is_nullable() => problems.push(problem(
                        Some(*line),
                        format!("table {table_name}'s key column {key} may be NULL in the query's output (a key is never NULL)"),
                    )),
                    Ok(_) => {}
                }
            }
            for column in table.columns.iter().flatten() {
                let name = &column.name;
                let Ok(field) = schema.field_with_name(name) else {
                    problems.push(problem(
                        Some(*line),
                        format!("table {table_name} declares column {name}, which the query does not output"),
                    ));
                    continue;
                };
                let Some(ty) = &column.ty else { continue };
                match RawColumn::new(name.clone(), ty.clone()).build() {
                    Err(e) => problems.push(file_problem(
                        PROJECT_FILE,
                        None,
                        None,
                        format!("table {table_name}: column {name}: {e}"),
                    )),
                    Ok(spec) => {
                        let declared = arrow_type_of_sql(&spec.ty.sql_type()).unwrap_or(DataType::Utf8);
                        if *field.data_type() != declared {
                            problems.push(problem(
                                Some(*line),
                                format!(
                                    "table {table_name}'s column {name} is declared {ty} ({declared}), but the query outputs {}",
                                    field.data_type()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for (table, _, schema) in &planned {
            outputs.push((
                job.id.clone(),
                table.clone(),
                schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect(),
            ));
        }
    }
    for table in &project.tables {
        if !loaded.contains(&table.name) {
            problems.push(file_problem(
                PROJECT_FILE,
                None,
                None,
                format!("table {} is declared, but no job loads it", table.name),
            ));
        }
    }
    // Tables in the project's order.
    let tables = PlannedTables {
        tables: project
            .tables
            .iter()
            .filter_map(|t| planned_tables.iter().find(|(_, p)| p.name == t.name).map(|(_, p)| p.clone()))
            .collect(),
    };
    if problems.is_empty() {
        Ok(CheckedProject { dir: dir.to_path_buf(), text, project, jobs, sql_files, outputs, tables })
    } else {
        Err(CheckFailure(problems))
    }
}

/// A declared table as the job's output plans it: the output's columns in
/// order, typed for the warehouse, with the declaration's sizes and NOT NULLs
/// (a key column is never NULL); or why the output cannot be stored.
fn planned_table(table: &TableSpec, schema: &SchemaRef) -> Result<TableSchema, Vec<String>> {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for field in schema.fields() {
        let declared = table.columns.iter().flatten().find(|c| &c.name == field.name());
        let Some(ty) = sql_type_of_arrow(field.data_type()) else {
            problems.push(format!(
                "table {}'s column {} is {}, which no warehouse column holds (cast it to a string, integer, decimal, \
                 date, timestamp, boolean or double)",
                table.name,
                field.name(),
                field.data_type()
            ));
            continue;
        };
        let is_key = table.key.contains(field.name());
        let max_length = declared.and_then(|c| c.max_length);
        if max_length.is_some() && ty != "STRING" {
            problems.push(format!("table {}'s column {} has a max_length but is {ty}", table.name, field.name()));
        }
        let nullable = !is_key && declared.and_then(|c| c.nullable).unwrap_or(field.is_nullable());
        columns.push(WarehouseColumn { name: field.name().clone(), ty, nullable, max_length });
    }
    let planned = TableSchema { name: table.name.clone(), key: table.key.clone(), columns };
    // Key columns missing from the output are reported by the caller, with
    // the line; here only what the plan itself says.
    problems.extend(planned.problems().into_iter().filter(|p| !p.contains("key column")));
    if problems.is_empty() {
        Ok(planned)
    } else {
        Err(problems)
    }
}

/// Plans each section against the datasets as declared: (table, line of its
/// `-- table:` line, output schema), or the first problem with its line.
async fn plan_sections(
    project: &Project,
    sql: &str,
) -> Result<Vec<(String, usize, SchemaRef)>, (Option<usize>, String)> {
    let sections = parse_sections(sql).map_err(|e| (None, e))?;
    let ctx = SessionContext::new();
    for dataset in &project.datasets {
        let empty = MemTable::try_new(dataset_schema(dataset), vec![vec![]]).map_err(|e| (None, e.to_string()))?;
        ctx.register_table(dataset.name.as_str(), Arc::new(empty)).map_err(|e| (None, e.to_string()))?;
    }
    let read_only = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let mut planned = Vec::new();
    for section in sections {
        let line = section_line(sql, &section.table);
        let frame = ctx
            .sql_with_options(&section.sql, read_only)
            .await
            .map_err(|e| (line, format!("table {}: {}", section.table, first_line(&e.to_string()))))?;
        let schema: SchemaRef = frame.schema().inner().clone();
        ctx.register_table(section.table.as_str(), frame.into_view()).map_err(|e| (line, e.to_string()))?;
        planned.push((section.table, line.unwrap_or(0), schema));
    }
    Ok(planned)
}

/// The 1-based line of `-- table: <name>`.
fn section_line(sql: &str, table: &str) -> Option<usize> {
    sql.lines().position(|l| section_name(l) == Some(table)).map(|i| i + 1)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_owned()
}

fn shown_path(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

/// A project error without its `line N:` prefix (the problem carries the line).
fn strip_line(e: &edba_tasks::project::ProjectError) -> String {
    match &e.place {
        Some(place) => format!("{place}: {}", e.message),
        None => e.message.clone(),
    }
}
