//! The answer to "which files were in that run?": a run's status, error and
//! cause, and each input file as the run read it and as the store sees it now.

use std::fmt;

pub use crate::store::{ImpactedFile, ImpactedFiles};

/// How much of a cause the table shows; `--json` has all of it.
const CAUSE_PREVIEW_CHARS: usize = 300;

impl fmt::Display for ImpactedFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "run {} of job {}: {}", self.run_id, self.job_id, self.status.as_str())?;
        let field = |f: &mut fmt::Formatter<'_>, name: &str, value: Option<&str>| match value {
            Some(value) => writeln!(f, "  {name:<9} {value}"),
            None => Ok(()),
        };
        field(f, "started", Some(&self.started_at))?;
        field(f, "finished", self.finished_at.as_deref())?;
        field(f, "cluster", self.cluster_id.as_deref())?;
        field(f, "step", self.step_id.as_deref())?;
        field(f, "error", self.error.as_deref())?;
        if let Some(cause) = &self.cause {
            field(f, "cause", Some(&preview(cause)))?;
        }
        field(f, "manifest", self.manifest_key.as_deref())?;
        field(f, "execution", self.execution_arn.as_deref())?;

        let count = self.files.len();
        writeln!(f, "{count} input file{}{}", if count == 1 { "" } else { "s" }, if count == 0 { "" } else { ":" })?;
        if count == 0 {
            return Ok(());
        }
        let header = ["FILE", "VERSION", "ETAG", "DATASET", "STATUS NOW", "LAST VALIDATED"];
        let rows: Vec<[String; 6]> = self
            .files
            .iter()
            .map(|file| {
                let or_dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
                let status = match (file.status, file.superseded) {
                    (None, _) => "untracked".to_owned(),
                    (Some(status), false) => status.as_str().to_owned(),
                    (Some(status), true) => format!("{} (newer version)", status.as_str()),
                };
                [
                    file.file_url.clone(),
                    or_dash(file.version_id.as_deref()),
                    or_dash(file.etag.as_deref()),
                    or_dash(file.dataset.as_deref()),
                    status,
                    or_dash(file.last_validated_at.as_deref()),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[&str]| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if i + 1 < cells.len() {
                    text.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
                }
            }
            writeln!(f, "{text}")
        };
        line(f, &header)?;
        for row in &rows {
            line(f, &row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}

/// A cause on one line, cut for the table.
fn preview(cause: &str) -> String {
    let one_line = cause.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= CAUSE_PREVIEW_CHARS {
        return one_line;
    }
    let head: String = one_line.chars().take(CAUSE_PREVIEW_CHARS).collect();
    format!("{head}… (--json shows all of it)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobStatus;
    use edba_payloads::FileStatus;

    fn report(files: Vec<ImpactedFile>) -> ImpactedFiles {
        ImpactedFiles {
            run_id: "run-2".into(),
            job_id: "il-sales".into(),
            status: JobStatus::Failed,
            cluster_id: Some("j-1".into()),
            step_id: Some("s-2V7X5X1XQ7ZTZ".into()),
            execution_arn: None,
            manifest_key: Some("manifests/il-sales/run-2.json".into()),
            started_at: "2024-05-01T10:00:00Z".into(),
            finished_at: Some("2024-05-01T10:30:00Z".into()),
            error: Some("States.TaskFailed".into()),
            cause: Some("Step failed:\n  exit code 1".into()),
            files,
        }
    }

    fn file(name: &str, status: Option<FileStatus>, superseded: bool) -> ImpactedFile {
        ImpactedFile {
            file_url: format!("s3://b/incoming/{name}"),
            version_id: Some("v1".into()),
            etag: None,
            dataset: status.map(|_| "sales".into()),
            status,
            last_validated_at: status.map(|_| "2024-05-01T09:00:00Z".into()),
            superseded,
        }
    }

    #[test]
    fn the_table_lists_the_run_then_one_aligned_line_per_file() {
        let text = report(vec![
            file("IL-1.tdf", Some(FileStatus::Validated), false),
            file("IL-22.tdf", Some(FileStatus::ValidatedWithRejects), true),
            file("IL-3.tdf", None, false),
        ])
        .to_string();
        let expected = "\
run run-2 of job il-sales: FAILED
  started   2024-05-01T10:00:00Z
  finished  2024-05-01T10:30:00Z
  cluster   j-1
  step      s-2V7X5X1XQ7ZTZ
  error     States.TaskFailed
  cause     Step failed: exit code 1
  manifest  manifests/il-sales/run-2.json
3 input files:
FILE                       VERSION  ETAG  DATASET  STATUS NOW                              LAST VALIDATED
s3://b/incoming/IL-1.tdf   v1       -     sales    VALIDATED                               2024-05-01T09:00:00Z
s3://b/incoming/IL-22.tdf  v1       -     sales    VALIDATED_WITH_REJECTS (newer version)  2024-05-01T09:00:00Z
s3://b/incoming/IL-3.tdf   v1       -     -        untracked                               -
";
        pretty_assertions::assert_eq!(text, expected);
    }

    #[test]
    fn json_names_the_status_as_the_store_does() {
        let json = serde_json::to_value(report(vec![file("IL-1.tdf", Some(FileStatus::Invalid), false)])).unwrap();
        assert_eq!(json["status"], "FAILED");
        assert_eq!(json["files"][0]["status"], "INVALID");
        assert_eq!(json["cause"], "Step failed:\n  exit code 1");
    }

    #[test]
    fn long_causes_are_shortened_in_the_table_only() {
        let mut r = report(Vec::new());
        r.cause = Some("x".repeat(1000));
        let text = r.to_string();
        assert!(text.contains("… (--json shows all of it)"));
        assert!(text.ends_with("0 input files\n"));
    }
}
