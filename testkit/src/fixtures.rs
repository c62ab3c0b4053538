//! Fixtures that read like the domain: a validated file event and job
//! configurations, with defaults a test only overrides where it matters.

use edba_payloads::jobs::{
    ClusterSelector, CompanionRule, ExtraCriterion, Freshness, InputRule, JobConfig, LoadConfig, StepConfig,
};
use edba_payloads::{FileStatus, RowCounts, TrackInput, ValidateOutput};

/// The bucket every fixture's files are in.
pub const BUCKET: &str = "edba-test";

/// A validated file event; defaults describe a clean file of `dataset` in
/// [`BUCKET`] under `incoming/`: version `v-<stem>`, etag `etag-<stem>`,
/// sequencer `0100`, 10 valid rows, validated to `validated/<stem>.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileFixture(pub ValidateOutput);

/// A clean sales file validated at `validated` (RFC 3339).
pub fn sales(name: &str, validated: &str) -> FileFixture {
    file(name, "sales", validated)
}

/// A clean item master file validated at `validated` (RFC 3339).
pub fn items(name: &str, validated: &str) -> FileFixture {
    file(name, "items", validated)
}

pub fn file(name: &str, dataset: &str, validated: &str) -> FileFixture {
    let key = format!("incoming/{name}");
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    FileFixture(ValidateOutput {
        file_url: format!("s3://{BUCKET}/{key}"),
        bucket: BUCKET.into(),
        key,
        version_id: Some(format!("v-{stem}")),
        etag: Some(format!("etag-{stem}")),
        sequencer: "0100".into(),
        dataset: Some(dataset.into()),
        partition: None,
        status: FileStatus::Validated,
        reason: None,
        counts: RowCounts { rows_valid: 10, rows_rejected: 0, lines_skipped: 0 },
        validated_key: Some(format!("validated/{stem}.csv")),
        validated_etag: Some(format!("vetag-{stem}")),
        rejected_key: None,
        validated_at: validated.to_owned(),
    })
}

impl FileFixture {
    pub fn partition(mut self, partition: &str) -> Self {
        self.0.partition = Some(partition.into());
        self
    }

    /// Another object version (`etag-<version>`), with its own sequencer.
    pub fn version(mut self, version: &str, sequencer: &str) -> Self {
        self.0.version_id = Some(version.into());
        self.0.etag = Some(format!("etag-{version}"));
        self.0.sequencer = sequencer.into();
        self
    }

    /// Validated at `validated` (RFC 3339).
    pub fn validated_at(mut self, validated: &str) -> Self {
        self.0.validated_at = validated.to_owned();
        self
    }

    pub fn counts(mut self, rows_valid: u64, rows_rejected: u64, lines_skipped: u64) -> Self {
        self.0.counts = RowCounts { rows_valid, rows_rejected, lines_skipped };
        self
    }

    /// An unusable file: INVALID with `reason`, no rows, no validated object.
    pub fn invalid(mut self, reason: &str) -> Self {
        self.0.status = FileStatus::Invalid;
        self.0.reason = Some(reason.into());
        self.0.counts = RowCounts::default();
        self.0.validated_key = None;
        self
    }

    pub fn url(&self) -> String {
        self.0.file_url.clone()
    }

    pub fn input(&self) -> TrackInput {
        TrackInput { file: self.0.clone() }
    }
}

/// Job `id` over sales files matching `pattern`: fresh since its last run, a
/// `sql_job` step, clusters tagged `edba=true`, no companions.
pub fn job(id: &str, pattern: &str, min_files: u32) -> JobConfig {
    JobConfig {
        id: id.into(),
        description: None,
        enabled: true,
        version: 1,
        input: InputRule {
            dataset: "sales".into(),
            pattern: pattern.into(),
            min_files,
            freshness: Freshness::SinceLastRun,
        },
        companions: Vec::new(),
        extra_criterion: None,
        cluster: ClusterSelector::Tag { key: "edba".into(), value: "true".into() },
        step: StepConfig::SqlJob { sql: "sql/jobs/sales_aggregate.sql".into() },
        load: LoadConfig { tables: vec!["sales_summary".into()] },
    }
}

/// The job also needs an item master file matching `pattern` validated within
/// `max_age_hours`.
pub fn with_items(job: JobConfig, pattern: &str, max_age_hours: u32) -> JobConfig {
    with_companion(job, "items", pattern, max_age_hours)
}

pub fn with_companion(mut job: JobConfig, dataset: &str, pattern: &str, max_age_hours: u32) -> JobConfig {
    job.companions.push(CompanionRule { dataset: dataset.into(), pattern: pattern.into(), max_age_hours });
    job
}

pub fn with_extra(mut job: JobConfig, sql: &str, timeout_ms: u32) -> JobConfig {
    job.extra_criterion = Some(ExtraCriterion { sql: sql.into(), timeout_ms });
    job
}

pub fn disabled(mut job: JobConfig) -> JobConfig {
    job.enabled = false;
    job
}
