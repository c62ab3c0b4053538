//! `run_sql_job.py` on DataFusion: the same inputs, SQL file convention and
//! output layout as the Spark runner (`scripts/emr/run_sql_job.py`).
//!
//! - The manifest is checked as the Spark runner checks it, and only the
//!   validated objects it lists are read — downloaded from S3 (several at
//!   once) into a temporary folder per dataset, so memory stays bounded
//!   whatever their size; a missing one is named in manifest order. They
//!   are typed Parquet; a run claimed before validate wrote Parquet lists
//!   `.csv` objects, read as CSV with the same schema.
//! - Each dataset of the bucket's project (`code/edba.toml`, else the sample)
//!   is one view, typed as declared ([`super::schema::dataset_schema`]: for
//!   the sample, amounts `DECIMAL(14,2)`, `trans_type` `INT`, dates `DATE`,
//!   ids and names strings). Parquet is read with that schema, its strings
//!   as Arrow string views (the engine's fastest to compare and group); CSVs with a
//!   header row and that schema, a value that does not parse failing the
//!   step, as Spark's `FAILFAST` mode does. A dataset the manifest does not
//!   list is an empty view.
//! - Sections run in file order; each result is registered as a view under its
//!   table name and written as one Parquet file (Snappy) at
//!   `<output>/<table>/part-00000.snappy.parquet`, after deleting what a
//!   previous attempt wrote under `<output>/<table>/`. A table is encoded
//!   (columns in parallel, strings as plain `Utf8`: [`super::parquet_out`])
//!   and uploaded while the next section runs; the step ends when every
//!   table is written, and fails with the first failure in section order.
//!
//! Known layout difference: Spark (`writeLegacyFormat`) stores `DECIMAL(14,2)`
//! as FIXED_LEN_BYTE_ARRAY, the Arrow writer as INT64. Both carry the DECIMAL
//! logical type and read back as the same values; only Redshift `COPY` cares,
//! and locally nothing runs `COPY`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::Value;

use edba_tasks::project::{load_project, shared_cache, Project, SqlColumn};

use super::parquet_out;
use super::request::{S3Location, SqlJobStep};
use super::schema::{dataset_schema, schema_of};
use super::{StepError, StepRunner};

/// The file every table's Parquet is written to under `<output>/<table>/`.
pub const PART_FILE: &str = "part-00000.snappy.parquet";

/// The manifest's `datasets`: `{"<name>": [{"name", "type", "nullable"}, …]}`,
/// types in Spark SQL DDL.
fn manifest_schemas(datasets: &Value) -> Result<Vec<(String, SchemaRef)>, String> {
    let datasets: std::collections::BTreeMap<String, Vec<SqlColumn>> =
        serde_json::from_value(datasets.clone()).map_err(|e| format!("its datasets are not column lists: {e}"))?;
    datasets
        .into_iter()
        .map(|(name, columns)| {
            let schema = schema_of(&columns).map_err(|e| format!("dataset {name}: {e}"))?;
            Ok((name, schema))
        })
        .collect()
}

/// One input of a run's manifest (the fields the job reads, and the raw
/// version the run claimed, which the validated object must come from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInput {
    pub dataset: String,
    pub validated_key: String,
    /// The ETag validate's write gave the validated object.
    pub validated_etag: Option<String>,
    pub file_url: Option<String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// The error name a step fails with when a validated object does not come
/// from the raw version its run claimed (or is not the object validate wrote).
pub const LINEAGE_MISMATCH: &str = "Edba.LineageMismatch";
/// The error name a step fails with when a manifest's object is missing.
pub const INPUT_MISSING: &str = "Edba.InputMissing";

/// A run's manifest, `manifests/<job>/<run>.json`, written by the evaluate task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub bucket: String,
    pub job_id: String,
    pub run_id: String,
    pub inputs: Vec<ManifestInput>,
    /// Each dataset's view, typed: the manifest's `datasets` (what evaluate
    /// wrote from the project it claimed the run under), or for a manifest
    /// without them, every dataset of the current project.
    pub schemas: Vec<(String, SchemaRef)>,
}

impl Manifest {
    /// Checks the manifest as `parse_manifest` in `run_sql_job.py` does; its
    /// inputs' datasets must be among its `datasets` (or, for a manifest
    /// without them, `project`'s).
    pub fn parse(text: &str, location: &str, project: &Project) -> Result<Manifest, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("manifest {location} is not JSON: {e}"))?;
        let doc = doc.as_object().ok_or_else(|| format!("manifest {location} is not a JSON object"))?;
        let schemas = match doc.get("datasets") {
            Some(datasets) => manifest_schemas(datasets).map_err(|e| format!("manifest {location}: {e}"))?,
            None => project.datasets.iter().map(|d| (d.name.clone(), dataset_schema(d))).collect(),
        };
        let field = |name: &str| -> Result<String, String> {
            match doc.get(name).and_then(Value::as_str) {
                Some(value) if !value.is_empty() => Ok(value.to_owned()),
                _ => Err(format!("manifest {location} has no '{name}'")),
            }
        };
        let (bucket, job_id, run_id) = (field("bucket")?, field("job_id")?, field("run_id")?);
        let raw_inputs = match doc.get("inputs").and_then(Value::as_array) {
            Some(inputs) if !inputs.is_empty() => inputs,
            _ => return Err(format!("manifest {location} lists no input files")),
        };
        let mut inputs = Vec::with_capacity(raw_inputs.len());
        for (n, raw) in raw_inputs.iter().enumerate() {
            let raw = raw.as_object().ok_or_else(|| format!("manifest {location}: inputs[{n}] is not an object"))?;
            let dataset = raw.get("dataset").and_then(Value::as_str).filter(|d| schemas.iter().any(|(n, _)| n == d));
            let Some(dataset) = dataset else {
                let known: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
                return Err(format!(
                    "manifest {location}: inputs[{n}] has dataset {}, expected one of {}",
                    raw.get("dataset").unwrap_or(&Value::Null),
                    known.join(", ")
                ));
            };
            let Some(key) = raw.get("validated_key").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
                return Err(format!(
                    "manifest {location}: inputs[{n}] ({}) has no validated_key",
                    raw.get("file_url").unwrap_or(&Value::Null)
                ));
            };
            let text = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_owned);
            inputs.push(ManifestInput {
                dataset: dataset.to_owned(),
                validated_key: key.to_owned(),
                validated_etag: text("validated_etag"),
                file_url: text("file_url"),
                version_id: text("version_id"),
                etag: text("etag"),
            });
        }
        Ok(Manifest { bucket, job_id, run_id, inputs, schemas })
    }

    /// The validated keys of one dataset, in manifest order.
    pub fn keys<'a>(&'a self, dataset: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.inputs.iter().filter(move |i| i.dataset == dataset).map(|i| i.validated_key.as_str())
    }
}

/// One `-- table: <name>` section of a job's SQL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableQuery {
    pub table: String,
    pub sql: String,
}

/// Splits a job SQL file into its sections, with the rules (and messages) of
/// `parse_sections` in `run_sql_job.py`.
pub fn parse_sections(text: &str) -> Result<Vec<TableQuery>, String> {
    let mut sections: Vec<TableQuery> = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    let close = |current: Option<(String, Vec<&str>)>, sections: &mut Vec<TableQuery>| -> Result<(), String> {
        let Some((name, lines)) = current else { return Ok(()) };
        let code: Vec<&str> = lines.into_iter().filter(|l| !l.trim().starts_with("--")).collect();
        let code = code.join("\n");
        let code = code.trim();
        let code = code.strip_suffix(';').map_or(code, str::trim_end);
        if code.is_empty() {
            return Err(format!("section '-- table: {name}' holds no query"));
        }
        if code.contains(';') {
            return Err(format!("section '-- table: {name}' holds more than one statement"));
        }
        sections.push(TableQuery { table: name, sql: code.to_owned() });
        Ok(())
    };
    for line in text.lines() {
        if let Some(name) = section_name(line) {
            close(current.take(), &mut sections)?;
            if sections.iter().any(|s| s.table == name) {
                return Err(format!("table '{name}' has two sections"));
            }
            current = Some((name.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    close(current, &mut sections)?;
    if sections.is_empty() {
        return Err("the SQL file has no '-- table: <name>' section".into());
    }
    Ok(sections)
}

/// The table a `-- table: <name>` line opens:
/// `^--\s*table:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`.
pub fn section_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("--")?.trim_start().strip_prefix("table:")?;
    let name = rest.trim();
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// What a SQL job wrote: rows per table, in section order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlJobReport {
    pub tables: Vec<(String, u64)>,
}

/// Runs the SQL job of a step.
pub(crate) async fn run(runner: &StepRunner, job: &SqlJobStep) -> Result<SqlJobReport, StepError> {
    let manifest_text = read_text(runner, &job.manifest, "manifest").await?;
    let project = load_project(runner.s3(), &job.manifest.bucket, shared_cache())
        .await
        .map_err(|e| StepError::failed(format!("cannot read the project: {e}")))?
        .project;
    let manifest = Manifest::parse(&manifest_text, &job.manifest.to_string(), &project).map_err(StepError::failed)?;
    let sql_text = read_sql(runner, &job.sql).await?;
    let sections = parse_sections(&sql_text).map_err(StepError::failed)?;

    let workdir = tempfile::Builder::new()
        .prefix("edba-sql-job-")
        .tempdir()
        .map_err(|e| StepError::failed(format!("cannot create a work folder: {e}")))?;
    let ctx = SessionContext::new();
    for (dataset, schema) in &manifest.schemas {
        let (dataset, schema) = (dataset.as_str(), schema.clone());
        let inputs: Vec<&ManifestInput> = manifest.inputs.iter().filter(|i| i.dataset == dataset).collect();
        if inputs.is_empty() {
            let empty = MemTable::try_new(schema, vec![vec![]]).map_err(|e| engine_error(dataset, e))?;
            ctx.register_table(dataset, Arc::new(empty)).map_err(|e| engine_error(dataset, e))?;
            continue;
        }
        // Validated objects are Parquet; runs claimed before that list CSV
        // ones, read with the same schema.
        let folder = workdir.path().join(dataset);
        std::fs::create_dir(&folder).map_err(|e| StepError::failed(format!("cannot create a work folder: {e}")))?;
        let is_csv = |input: &ManifestInput| input.validated_key.ends_with(".csv");
        let csv = inputs.iter().any(|i| is_csv(i));
        let parquet = inputs.iter().any(|i| !is_csv(i));
        // Several at once: a download waits on the S3 endpoint more than on
        // this machine. Named by manifest position, so read in that order.
        let downloads: Vec<_> = inputs
            .into_iter()
            .enumerate()
            .map(|(n, input)| {
                let location = S3Location { bucket: manifest.bucket.clone(), key: input.validated_key.clone() };
                let path = folder.join(format!("{n:06}.{}", if is_csv(input) { "csv" } else { "parquet" }));
                async move { download(runner, &location, input, &path).await }
            })
            .collect();
        stream::iter(downloads).buffered(DOWNLOADS_AT_ONCE).try_collect::<Vec<()>>().await?;
        let folder_url = format!("{}/", folder.display());
        let mut frames = Vec::new();
        if parquet {
            // Strings as views (the engine's fastest to read, compare and
            // group), unless CSVs of older runs share the view.
            let read_schema = if csv { schema.clone() } else { string_views(&schema) };
            let options = ParquetReadOptions::default().schema(&read_schema).file_extension(".parquet");
            frames.push(ctx.read_parquet(folder_url.as_str(), options).await.map_err(|e| engine_error(dataset, e))?);
        }
        if csv {
            let options = CsvReadOptions::new().has_header(true).schema(&schema).file_extension(".csv");
            frames.push(ctx.read_csv(folder_url.as_str(), options).await.map_err(|e| engine_error(dataset, e))?);
        }
        let mut frames = frames.into_iter();
        let mut view = frames.next().expect("a dataset with keys has files");
        for frame in frames {
            view = view.union(frame).map_err(|e| engine_error(dataset, e))?;
        }
        ctx.register_table(dataset, view.into_view()).map_err(|e| engine_error(dataset, e))?;
    }

    let read_only = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    // Each table is encoded and uploaded while the next section runs.
    let mut writes: Vec<(String, tokio::task::JoinHandle<Result<u64, StepError>>)> = Vec::new();
    let mut failed = None;
    for section in &sections {
        let table = section.table.as_str();
        let fail = |e: datafusion::error::DataFusionError| StepError::failed(format!("table {table}: {e}"));
        // Later sections read this table: compute it once.
        let computed = async {
            let result =
                ctx.sql_with_options(&section.sql, read_only).await.map_err(fail)?.cache().await.map_err(fail)?;
            let schema: SchemaRef = result.schema().inner().clone();
            let batches = result.clone().collect().await.map_err(fail)?;
            ctx.deregister_table(table).map_err(fail)?;
            ctx.register_table(table, result.into_view()).map_err(fail)?;
            Ok::<_, StepError>((schema, batches))
        };
        let (schema, batches) = match computed.await {
            Ok(computed) => computed,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let folder = S3Location { bucket: job.output.bucket.clone(), key: format!("{}{table}/", job.output.key) };
        let (runner, name) = (runner.clone(), table.to_owned());
        let write = tokio::spawn(async move {
            let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            let parquet = tokio::task::spawn_blocking(move || parquet_out::encode(&schema, &batches, threads))
                .await
                .map_err(|e| StepError::failed(format!("table {name}: {e}")))?
                .map_err(|e| StepError::failed(format!("table {name}: {e}")))?;
            replace_folder(&runner, &folder, parquet).await?;
            Ok(rows)
        });
        writes.push((table.to_owned(), write));
    }
    // Every write ends before the step does; the first failure in section
    // order is the step's.
    let mut report = SqlJobReport { tables: Vec::with_capacity(sections.len()) };
    let mut first_error = None;
    for (table, write) in writes {
        let written = write.await.unwrap_or_else(|e| Err(StepError::failed(format!("table {table}: {e}"))));
        match written {
            Ok(rows) => report.tables.push((table, rows)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error.or(failed) {
        return Err(e);
    }
    Ok(report)
}

/// How many of a dataset's objects are downloaded at once.
const DOWNLOADS_AT_ONCE: usize = 4;

/// `schema` with its strings as views.
fn string_views(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn engine_error(dataset: &str, err: datafusion::error::DataFusionError) -> StepError {
    StepError::failed(format!("cannot read the {dataset} files: {err}"))
}

fn s3_message<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> String {
    match err.as_service_error() {
        Some(service) => match (service.code(), service.message()) {
            (Some("NoSuchKey"), _) => "no such object".into(),
            (Some("NoSuchBucket"), _) => "no such bucket".into(),
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => service.to_string(),
        },
        None => format!("{}", aws_sdk_s3::error::DisplayErrorContext(err)),
    }
}

async fn get_bytes(runner: &StepRunner, location: &S3Location) -> Result<Vec<u8>, (bool, String)> {
    let object = runner.s3().get_object().bucket(&location.bucket).key(&location.key).send().await;
    let object = match object {
        Ok(object) => object,
        Err(err) => {
            let missing = err.as_service_error().is_some_and(|e| e.is_no_such_key());
            return Err((missing, s3_message(&err)));
        }
    };
    let body = object.body.collect().await.map_err(|e| (false, e.to_string()))?;
    Ok(body.into_bytes().to_vec())
}

async fn read_text(runner: &StepRunner, location: &S3Location, what: &str) -> Result<String, StepError> {
    let bytes = get_bytes(runner, location)
        .await
        .map_err(|(_, reason)| StepError::failed(format!("cannot read the {what} at {location}: {reason}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| StepError::failed(format!("the {what} at {location} is not UTF-8 text")))?;
    if text.is_empty() {
        return Err(StepError::failed(format!("the {what} at {location} is empty")));
    }
    Ok(text)
}

/// The `--sql` object, or for `s3://<bucket>/code/<path>` missing from S3,
/// `<repo_root>/<path>`.
async fn read_sql(runner: &StepRunner, location: &S3Location) -> Result<String, StepError> {
    match get_bytes(runner, location).await {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| StepError::failed(format!("the SQL file at {location} is not UTF-8 text"))),
        Err((true, reason)) => match repo_fallback(runner, location) {
            Some(path) => std::fs::read_to_string(&path).map_err(|e| {
                StepError::failed(format!(
                    "cannot read the SQL file at {location} ({reason}) nor its repository copy {}: {e}",
                    path.display()
                ))
            }),
            None => Err(StepError::failed(format!("cannot read the SQL file at {location}: {reason}"))),
        },
        Err((false, reason)) => Err(StepError::failed(format!("cannot read the SQL file at {location}: {reason}"))),
    }
}

fn repo_fallback(runner: &StepRunner, location: &S3Location) -> Option<std::path::PathBuf> {
    if location.bucket != runner.bucket() {
        return None;
    }
    let relative = location.key.strip_prefix("code/")?;
    let safe = !relative.is_empty()
        && relative.split('/').all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    safe.then(|| runner.repo_root().join(relative))
}

async fn download(
    runner: &StepRunner,
    location: &S3Location,
    input: &ManifestInput,
    path: &Path,
) -> Result<(), StepError> {
    let dataset = &input.dataset;
    let fail = |reason: String| StepError::failed(format!("cannot read the {dataset} file {location}: {reason}"));
    let object = match runner.s3().get_object().bucket(&location.bucket).key(&location.key).send().await {
        Ok(object) => object,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            let raw = input.file_url.as_deref().unwrap_or("its raw file");
            let version = input.version_id.as_deref().unwrap_or("(unversioned)");
            return Err(StepError::failed(format!(
                "{INPUT_MISSING}: {location} does not exist; the run lists it as the validated copy of {raw} \
                 version {version}"
            )));
        }
        Err(e) => return Err(fail(s3_message(&e))),
    };
    check_lineage(location, input, object.e_tag(), object.metadata())?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| fail(e.to_string()))?);
    let mut body = object.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| fail(e.to_string()))?;
        file.write_all(&chunk).map_err(|e| fail(e.to_string()))?;
    }
    file.flush().map_err(|e| fail(e.to_string()))
}

/// Fails when the validated object records (in its `edba-source-*` metadata,
/// written by validate) a raw version other than the one the run claimed: the
/// run must read exactly its claimed versions, or fail saying so.
fn check_lineage(
    location: &S3Location,
    input: &ManifestInput,
    etag: Option<&str>,
    metadata: Option<&std::collections::HashMap<String, String>>,
) -> Result<(), StepError> {
    let recorded = |name: &str| metadata.and_then(|m| m.get(name)).map(String::as_str);
    let unquoted = |etag: &str| etag.trim_matches('"').to_owned();
    let raw = input.file_url.as_deref().unwrap_or("its raw file");
    if let (Some(claimed), Some(found)) = (input.validated_etag.as_deref().map(unquoted), etag.map(unquoted)) {
        if claimed != found {
            return Err(StepError::failed(format!(
                "{LINEAGE_MISMATCH}: {location} has ETag {found}, but the run claimed the validated copy of {raw} \
                 with ETag {claimed}"
            )));
        }
    }
    let checks = [
        ("version", input.version_id.clone(), recorded("edba-source-version-id").map(str::to_owned)),
        ("ETag", input.etag.as_deref().map(unquoted), recorded("edba-source-etag").map(unquoted)),
    ];
    for (what, claimed, derived_from) in checks {
        if let (Some(claimed), Some(derived_from)) = (claimed, derived_from) {
            if claimed != derived_from {
                return Err(StepError::failed(format!(
                    "{LINEAGE_MISMATCH}: {location} was derived from {what} {derived_from} of {raw}, \
                     but the run claimed {what} {claimed}"
                )));
            }
        }
    }
    Ok(())
}

/// Deletes every object under `folder` and writes the table's one Parquet file.
async fn replace_folder(runner: &StepRunner, folder: &S3Location, parquet: Vec<u8>) -> Result<(), StepError> {
    let fail = |what: &str, reason: String| StepError::failed(format!("cannot {what} under {folder}: {reason}"));
    let mut token = None;
    loop {
        let page = runner
            .s3()
            .list_objects_v2()
            .bucket(&folder.bucket)
            .prefix(&folder.key)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| fail("list the previous output", s3_message(&e)))?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                runner
                    .s3()
                    .delete_object()
                    .bucket(&folder.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| fail("delete the previous output", s3_message(&e)))?;
            }
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    runner
        .s3()
        .put_object()
        .bucket(&folder.bucket)
        .key(format!("{}{PART_FILE}", folder.key))
        .body(parquet.into())
        .send()
        .await
        .map_err(|e| fail("write the Parquet", s3_message(&e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_the_file_convention() {
        let text = "-- intro\nSELECT 0;\n-- table: a\n-- a comment\nSELECT 1 AS x;\n\n--table:b_2  \nWITH t AS (SELECT 2 AS y) SELECT y FROM t\n";
        let sections = parse_sections(text).unwrap();
        assert_eq!(
            sections,
            vec![
                TableQuery { table: "a".into(), sql: "SELECT 1 AS x".into() },
                TableQuery { table: "b_2".into(), sql: "WITH t AS (SELECT 2 AS y) SELECT y FROM t".into() },
            ]
        );
        assert_eq!(parse_sections("SELECT 1").unwrap_err(), "the SQL file has no '-- table: <name>' section");
        assert_eq!(parse_sections("-- table: a\n-- x\n").unwrap_err(), "section '-- table: a' holds no query");
        assert_eq!(
            parse_sections("-- table: a\nSELECT 1; SELECT 2;").unwrap_err(),
            "section '-- table: a' holds more than one statement"
        );
        assert_eq!(
            parse_sections("-- table: a\nSELECT 1\n-- table: a\nSELECT 2").unwrap_err(),
            "table 'a' has two sections"
        );
        assert!(parse_sections("-- table: 1a\nSELECT 1").is_err());
    }

    #[test]
    fn the_real_job_file_has_its_two_tables() {
        let text = include_str!("../../../sql/jobs/sales_summary.sql");
        let tables: Vec<String> = parse_sections(text).unwrap().into_iter().map(|s| s.table).collect();
        assert_eq!(tables, ["saleitemsummary", "salessummary"]);
    }

    #[test]
    fn manifests_are_checked_like_the_spark_runner_checks_them() {
        let ok = r#"{"bucket":"b","job_id":"j","run_id":"r","created_at":"t","inputs":[
            {"dataset":"sales","file_url":"s3://b/in/1","key":"in/1","validated_key":"validated/1.csv","version_id":null,"etag":"e"},
            {"dataset":"items","file_url":"s3://b/in/2","key":"in/2","validated_key":"validated/2.csv","version_id":"v","etag":"e"}]}"#;
        let sample = Project::sample();
        let manifest = Manifest::parse(ok, "m", &sample).unwrap();
        assert_eq!(manifest.keys("sales").collect::<Vec<_>>(), ["validated/1.csv"]);
        assert_eq!(manifest.keys("items").collect::<Vec<_>>(), ["validated/2.csv"]);
        for (bad, message) in [
            ("nope", "manifest m is not JSON"),
            ("[]", "manifest m is not a JSON object"),
            (r#"{"bucket":"b","job_id":"j","inputs":[]}"#, "manifest m has no 'run_id'"),
            (r#"{"bucket":"b","job_id":"j","run_id":"r","inputs":[]}"#, "manifest m lists no input files"),
            (
                r#"{"bucket":"b","job_id":"j","run_id":"r","inputs":[{"dataset":"stock","validated_key":"k"}]}"#,
                "manifest m: inputs[0] has dataset \"stock\"",
            ),
            (
                r#"{"bucket":"b","job_id":"j","run_id":"r","inputs":[{"dataset":"sales","file_url":"u","validated_key":null}]}"#,
                "manifest m: inputs[0] (\"u\") has no validated_key",
            ),
        ] {
            let err = Manifest::parse(bad, "m", &sample).unwrap_err();
            assert!(err.starts_with(message), "{bad}: {err}");
        }
    }
}
