//! `edba run DIR`: a folder of files through both machines, as in AWS.

use std::collections::HashSet;
use std::path::Path;

use edba_payloads::{ErrorName, IngestInput, IngestOutput};
use serde_json::json;

use super::project::data_files;
use super::{io_error, setup, LocalPipeline, PipelineError, Progress, RunReport, Upload, LOCAL_BUCKET};
use crate::check::{CheckedProject, JOBS_FILE};
use crate::executor::{ExecutionResult, ExecutionStatus};

impl LocalPipeline {
    /// Runs the pipeline over every file of `dir`. With `dir/edba.toml`, the
    /// project is checked first ([`crate::check`]; a problem stops the run
    /// before anything starts), pushed to the bucket's `code/`, and its jobs
    /// (`[[job]]` tables and `dir/jobs.toml`) applied; without one, the sample
    /// project applies with `dir/jobs.toml` or the sample jobs. Then it uploads
    /// every data file below `dir` to `incoming/<its path relative to dir>`,
    /// runs the ingest machine once per file (several at a time; ingest starts
    /// the aggregate machine when a job may be ready, as in AWS), then runs the
    /// aggregate machine once more as the schedule would.
    pub async fn run_dir(&self, dir: &Path, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunReport, PipelineError> {
        let earlier = self.earlier_executions();
        let project = self.check_project(dir).await?;
        let files = data_files(dir, project.as_ref())?;
        if files.is_empty() {
            return Err(setup("nothing to run", format!("{} has no data files", dir.display())));
        }
        self.deploy_project(dir, project.as_ref(), progress).await?;

        let mut events = Vec::with_capacity(files.len());
        let mut urls = Vec::with_capacity(files.len());
        for (path, relative) in &files {
            let key = match self.upload_if_changed_as(path, Some(relative)).await? {
                Upload::Sent(event) => {
                    let key = event.detail.object.key.clone();
                    events.push(*event);
                    key
                }
                Upload::Unchanged { key } => key,
            };
            urls.push(format!("s3://{LOCAL_BUCKET}/{key}"));
        }
        progress(Progress::Uploaded { files: events.len(), unchanged: files.len() - events.len() });

        let mut results = self.ingest(&events, progress).await?;
        // Aggregate executions ingest started, fire and forget.
        self.wait_for_the_rest(&mut results, &earlier, |r| progress(aggregate_finished(r))).await;

        self.evaluate_as_scheduled(&mut results, &earlier, progress).await?;
        self.report(&urls, &results).await
    }

    /// Pushes `project` (checked from `dir`) to the bucket's `code/` and
    /// applies its jobs; without a project, the sample project applies with
    /// `dir/jobs.toml` or the sample jobs.
    pub(super) async fn deploy_project(
        &self,
        dir: &Path,
        project: Option<&CheckedProject>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(), PipelineError> {
        self.push_project(project).await?;
        match project {
            Some(project) => {
                let applied = self.apply_project_jobs(project).await?;
                progress(Progress::JobsApplied {
                    source: project.dir.join("edba.toml").display().to_string(),
                    summary: applied.map_or_else(
                        || "the project declares no jobs".to_owned(),
                        |a| a.to_string().lines().last().unwrap_or_default().to_owned(),
                    ),
                });
            }
            None => {
                let jobs_file = dir.join(JOBS_FILE);
                let jobs_path = (!dir.as_os_str().is_empty() && jobs_file.is_file()).then_some(jobs_file.as_path());
                let applied = self.apply_jobs(jobs_path).await?;
                progress(Progress::JobsApplied {
                    source: jobs_path.map_or_else(|| "sample jobs".to_owned(), |p| p.display().to_string()),
                    summary: applied.to_string().lines().last().unwrap_or_default().to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Ingests the events parked in the home's dead-letter queue again
    /// (`edba replay`), as `edba start replay` does in AWS, then evaluates as
    /// the schedule would. A message is deleted once its ingest succeeded,
    /// or once that ingest failed again and so parked the event anew; any
    /// other outcome keeps it. A message that is not an S3 event is kept and
    /// reported, never dropped.
    pub async fn replay(&self, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunReport, PipelineError> {
        let earlier = self.earlier_executions();
        let parked = self.dead_letter.list().map_err(io_error(self.dead_letter.dir()))?;
        progress(Progress::Replaying { parked: parked.len() });
        let mut events = Vec::new();
        let mut messages = Vec::new();
        for message in parked {
            match serde_json::from_str::<IngestInput>(&message.body) {
                Ok(event) => {
                    events.push(event);
                    messages.push(message);
                }
                Err(e) => progress(Progress::NotReplayed {
                    message_id: message.message_id.clone(),
                    reason: format!("its body is not an S3 Object Created event ({e}); it stays parked"),
                }),
            }
        }
        let urls: Vec<String> =
            events.iter().map(|e| format!("s3://{}/{}", e.detail.bucket.name, e.detail.object.key)).collect();
        let mut results = self.ingest(&events, progress).await?;
        for (message, result) in messages.iter().zip(&results) {
            let parked_again = result.error.as_deref() == Some(ErrorName::IngestParked.as_str());
            if result.status == ExecutionStatus::Succeeded || parked_again {
                self.dead_letter.delete(&message.message_id).map_err(io_error(self.dead_letter.dir()))?;
            }
        }
        self.wait_for_the_rest(&mut results, &earlier, |r| progress(aggregate_finished(r))).await;
        self.evaluate_as_scheduled(&mut results, &earlier, progress).await?;
        self.report(&urls, &results).await
    }

    /// Runs the ingest machine once per event, several at a time, in order.
    async fn ingest(
        &self,
        events: &[IngestInput],
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<ExecutionResult>, PipelineError> {
        let total = events.len();
        let mut results: Vec<ExecutionResult> = Vec::new();
        let mut done = 0;
        for chunk in events.chunks(self.options.concurrency.max(1)) {
            let mut handles = Vec::new();
            for event in chunk {
                let input = serde_json::to_value(event).map_err(|e| setup("event", e))?;
                handles.push((event.detail.object.key.clone(), self.executor.start("ingest", input, None)?));
            }
            for (key, handle) in handles {
                let result = handle.wait().await;
                done += 1;
                progress(Progress::FileIngested {
                    done,
                    total,
                    file: key.trim_start_matches("incoming/").to_owned(),
                    outcome: ingest_outcome(&result),
                });
                results.push(result);
            }
        }
        Ok(results)
    }

    /// Runs the aggregate machine once more as the schedule would, and waits
    /// for every execution.
    async fn evaluate_as_scheduled(
        &self,
        results: &mut Vec<ExecutionResult>,
        earlier: &HashSet<String>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(), PipelineError> {
        progress(Progress::AggregateStarted { trigger: "schedule".into() });
        let scheduled = self.executor.start("aggregate", json!({"trigger": "schedule"}), None)?.wait().await;
        progress(aggregate_finished(&scheduled));
        results.push(scheduled);
        self.wait_for_the_rest(results, earlier, |_| {}).await;
        Ok(())
    }

    /// Re-runs one FAILED run from its recorded manifest (`edba rerun RUN`):
    /// an aggregate execution with `trigger: rerun`, as an operator would
    /// start it in AWS, so it shows like any other execution. The same input
    /// versions and output prefix; the outcome is recorded on the same run.
    pub async fn rerun(
        &self,
        run_id: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ExecutionResult, PipelineError> {
        progress(Progress::AggregateStarted { trigger: format!("rerun of {run_id}") });
        let input = json!({"trigger": "rerun", "run_id": run_id});
        let result = self.executor.start("aggregate", input, None)?.wait().await;
        self.executor.wait_all().await;
        progress(aggregate_finished(&result));
        Ok(result)
    }

    /// The executions this pipeline ran before an operation began: its report
    /// leaves them out (a `replay` after a `run_dir` in the same pipeline).
    fn earlier_executions(&self) -> HashSet<String> {
        self.executor.executions().into_iter().map(|h| h.execution_arn).collect()
    }

    /// Waits for every execution still running and adds those not in
    /// `results` yet, nor `earlier`, telling `finished` about each.
    async fn wait_for_the_rest(
        &self,
        results: &mut Vec<ExecutionResult>,
        earlier: &HashSet<String>,
        finished: impl Fn(&ExecutionResult),
    ) {
        for r in self.executor.wait_all().await {
            if !earlier.contains(&r.execution_arn) && !results.iter().any(|x| x.execution_arn == r.execution_arn) {
                finished(&r);
                results.push(r);
            }
        }
    }
}

fn ingest_outcome(r: &ExecutionResult) -> String {
    if r.error.as_deref() == Some(ErrorName::IngestParked.as_str()) {
        return format!("not ingested, the event is parked: {}", r.cause.as_deref().unwrap_or_default());
    }
    if r.status != ExecutionStatus::Succeeded {
        return format!(
            "execution {}: {} {}",
            r.status,
            r.error.as_deref().unwrap_or_default(),
            r.cause.as_deref().unwrap_or_default()
        );
    }
    let output = r.output.clone().map(serde_json::from_value::<IngestOutput>);
    match output {
        Some(Ok(IngestOutput { validation, tracking, .. })) => format!(
            "{} ({} valid, {} rejected){}",
            validation.status.as_str(),
            validation.counts.rows_valid,
            validation.counts.rows_rejected,
            if tracking.job_may_be_ready { "; a job may be ready: aggregate started" } else { "" }
        ),
        Some(Err(e)) => format!("succeeded, but its output is not the ingest machine's: {e}"),
        None => "succeeded without an output".to_owned(),
    }
}

fn aggregate_finished(r: &ExecutionResult) -> Progress {
    let detail = match (&r.error, &r.cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e.clone(),
        _ => String::new(),
    };
    Progress::AggregateFinished { name: r.name.clone(), status: r.status.to_string(), detail }
}
