//! What `edba run` prints: the run's files with their first rejects, the jobs
//! that fired or wait, the warehouse and every execution that did not succeed.

use edba_payloads::WaitingJob;
use edba_tasks::dataset::Reject;
use edba_tasks::load::LocalWarehouse;
use edba_tasks::store::status::{FileSummary, RunSummary};
use serde::Serialize;

use super::{io_error, LocalPipeline, PipelineError, LOCAL_BUCKET};
use crate::deadletter::ParkedEvent;
use crate::executor::ExecutionResult;

/// How many rejects of each file the report shows.
const FIRST_REJECTS: usize = 3;

/// A file of the run, with its first rejects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    #[serde(flatten)]
    pub file: FileSummary,
    pub first_rejects: Vec<String>,
}

/// A job that fired in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredRun {
    pub run_id: String,
    pub job_id: String,
    pub inputs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRows {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionSummary {
    pub machine: String,
    pub name: String,
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// What `edba run` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Every execution behaved as designed (a waiting job is fine; a failed
    /// run fails its aggregate execution, and so the report).
    pub ok: bool,
    pub files: Vec<FileReport>,
    pub fired: Vec<FiredRun>,
    /// Jobs that did not fire at the last evaluation, with the reason.
    pub waiting: Vec<WaitingJob>,
    /// The runs fired in this invocation, with their outcome.
    pub runs: Vec<RunSummary>,
    pub warehouse: Vec<TableRows>,
    pub executions: Vec<ExecutionSummary>,
    /// Events in the home's ingest dead-letter queue, this run's and earlier
    /// ones: their files are not tracked until `edba replay` ingests them.
    pub parked: Vec<ParkedEvent>,
}

impl LocalPipeline {
    /// The report of a run over `file_urls` that ran `executions`.
    pub(super) async fn report(
        &self,
        file_urls: &[String],
        executions: &[ExecutionResult],
    ) -> Result<RunReport, PipelineError> {
        let status = self.store.status(1000).await?;
        let mut files = Vec::new();
        for url in file_urls {
            if let Some(f) = status.files.iter().find(|f| &f.file_url == url) {
                let first_rejects = match &f.rejected_key {
                    Some(key) if f.rows_rejected > 0 => first_rejects(&self.s3_client, key).await,
                    _ => Vec::new(),
                };
                files.push(FileReport { file: f.clone(), first_rejects });
            }
        }
        let evaluations = self.evaluations.lock().expect("not poisoned").clone();
        let fired: Vec<FiredRun> = evaluations
            .iter()
            .flat_map(|e| e.runs.iter())
            .map(|t| FiredRun { run_id: t.run_id.clone(), job_id: t.job_id.clone(), inputs: t.input_count })
            .collect();
        let waiting = evaluations.last().map(|e| e.waiting.clone()).unwrap_or_default();
        let runs: Vec<RunSummary> =
            status.runs.iter().filter(|r| fired.iter().any(|f| f.run_id == r.run_id)).cloned().collect();
        let warehouse = warehouse_rows(&self.s3_client, &self.warehouse).await?;
        let executions: Vec<ExecutionSummary> = executions
            .iter()
            .map(|r| ExecutionSummary {
                machine: r.state_machine.clone(),
                name: r.name.clone(),
                status: r.status.to_string(),
                error: r.error.clone(),
                cause: r.cause.clone(),
            })
            .collect();
        let parked = self.dead_letter.list().map_err(io_error(self.dead_letter.dir()))?;
        let ok = executions.iter().all(|e| e.status == "SUCCEEDED") && parked.is_empty();
        Ok(RunReport { ok, files, fired, waiting, runs, warehouse, executions, parked })
    }
}

/// The first rejects of the local bucket's rejects object `key`, as
/// `line N [column]: reason`; none when it cannot be read.
pub async fn first_rejects(s3: &aws_sdk_s3::Client, key: &str) -> Vec<String> {
    let Ok(out) = s3.get_object().bucket(LOCAL_BUCKET).key(key).send().await else {
        return Vec::new();
    };
    let Ok(bytes) = out.body.collect().await else { return Vec::new() };
    read_rejects(&bytes.into_bytes()).into_iter().take(FIRST_REJECTS).map(|r| r.to_string()).collect()
}

/// Rows in each warehouse table the local bucket's project plans (created
/// if no run loaded them yet).
pub async fn warehouse_rows(
    s3: &aws_sdk_s3::Client,
    warehouse: &LocalWarehouse,
) -> Result<Vec<TableRows>, edba_tasks::TaskError> {
    let planned = edba_tasks::load::load_tables(s3, LOCAL_BUCKET).await?;
    warehouse.ensure_tables(&planned.tables).await?;
    let mut rows = Vec::new();
    for table in &planned.tables {
        rows.push(TableRows { table: table.name.clone(), rows: warehouse.row_count(&table.name).await? });
    }
    Ok(rows)
}

/// The rows of a rejects CSV as the converter writes them, up to the first
/// row that does not read.
fn read_rejects(csv: &[u8]) -> Vec<Reject> {
    csv::Reader::from_reader(csv).deserialize().map_while(Result::ok).collect()
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Files ({}):", self.files.len())?;
        for r in &self.files {
            let file = &r.file;
            write!(
                f,
                "  {:<22} {:<22} {:>5} valid {:>4} rejected {:>3} skipped",
                file.file_name, file.status, file.rows_valid, file.rows_rejected, file.lines_skipped
            )?;
            if file.status == "INVALID" {
                if let Some(reason) = &file.reason {
                    write!(f, "  ({reason})")?;
                }
            }
            writeln!(f)?;
            for reject in &r.first_rejects {
                writeln!(f, "      {reject}")?;
            }
        }
        writeln!(f, "Jobs fired ({}):", self.fired.len())?;
        for run in &self.fired {
            let outcome = self.runs.iter().find(|r| r.run_id == run.run_id);
            write!(f, "  {:<6} run {}  {} input files", run.job_id, run.run_id, run.inputs)?;
            if let Some(o) = outcome {
                write!(f, "  -> {}", o.status)?;
                if let Some(e) = &o.error {
                    write!(f, " ({e})")?;
                }
            }
            writeln!(f)?;
        }
        writeln!(f, "Jobs waiting ({}):", self.waiting.len())?;
        for job in &self.waiting {
            writeln!(f, "  {:<6} {}", job.job_id, job.reason)?;
        }
        writeln!(f, "Warehouse:")?;
        for t in &self.warehouse {
            writeln!(f, "  {:<16} {} rows", t.table, t.rows)?;
        }
        let failed: Vec<&ExecutionSummary> = self.executions.iter().filter(|e| e.status != "SUCCEEDED").collect();
        writeln!(f, "Executions: {} run, {} not succeeded", self.executions.len(), failed.len())?;
        for e in failed {
            writeln!(
                f,
                "  {} {} {}: {} {}",
                e.machine,
                e.name,
                e.status,
                e.error.as_deref().unwrap_or_default(),
                e.cause.as_deref().unwrap_or_default()
            )?;
        }
        if !self.parked.is_empty() {
            writeln!(f, "Parked events ({}): not ingested; `edba replay` ingests them again", self.parked.len())?;
            for p in &self.parked {
                writeln!(
                    f,
                    "  {} {}  parked {} ({})",
                    p.message_id,
                    p.object_key().as_deref().unwrap_or("(not an S3 event)"),
                    p.parked_at,
                    p.error.as_deref().unwrap_or("no error given")
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edba_tasks::dataset::{sample_dataset, ConvertOptions, Converter};

    #[test]
    fn rejects_csv_is_split_with_quotes() {
        let rows = read_rejects(b"line,column,reason,raw_line\n3,amount,\"a \"\"b\"\", c\",x\n");
        let r = &rows[0];
        assert_eq!(
            [r.line.to_string(), r.column.clone().unwrap_or_default(), r.reason.clone(), r.raw_line.clone()],
            ["3", "amount", "a \"b\", c", "x"]
        );
    }

    #[test]
    fn the_report_reads_the_rejects_the_converter_writes() {
        let input = "IL-101\t1.005\t4\tI1\t2024-05-01\n-----\nIL-101\t1.00\t4\n";
        let mut converter = Converter::new(sample_dataset("sales"), ConvertOptions::default());
        let (mut valid, mut rejects) = (Vec::new(), Vec::new());
        converter.push(input.as_bytes(), &mut valid, &mut rejects).unwrap();
        let report = converter.finish(&mut valid, &mut rejects).unwrap();
        let read = read_rejects(&rejects);
        assert_eq!(read, report.first_rejects);
        let shown: Vec<String> = read.iter().map(ToString::to_string).collect();
        assert!(shown[0].starts_with("line 1 [amount]: "), "{shown:?}");
        assert!(shown[1].starts_with("line 3 [item_id]: missing column item_id"), "{shown:?}");
    }

    #[test]
    fn a_whole_file_reject_has_no_column() {
        let rows = read_rejects(b"line,column,reason,raw_line\n0,,binary file,\n");
        assert_eq!(rows[0].to_string(), "line 0: binary file");
    }
}
