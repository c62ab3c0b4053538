//! Job configurations: the typed, versioned file (`jobs.toml`) that
//! `edba jobs apply` writes to the state store. Its JSON Schema is generated to
//! `statemachines/schemas/jobs-file.json` so editors can check a file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A file of job configurations (`[[job]]` tables). Applied all or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobsFile {
    #[serde(rename = "job")]
    pub jobs: Vec<JobConfig>,
}

/// One job: when it fires, what it runs, and where its result goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Stable id, for example `J101` (letters, digits, `-`, `_`; at most 64).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Bump when the job's meaning changes; runs record the version they used.
    #[serde(default = "one")]
    pub version: u32,
    /// The files the job aggregates and how many must be fresh.
    pub input: InputRule,
    /// Other data that must have been posted recently (the item master).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<CompanionRule>,
    /// An optional extra SQL criterion over the state store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_criterion: Option<ExtraCriterion>,
    /// Which EMR cluster runs the step.
    pub cluster: ClusterSelector,
    /// The EMR step.
    pub step: StepConfig,
    /// The warehouse tables the step's output is merged into.
    pub load: LoadConfig,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

/// The job's input files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputRule {
    /// A dataset of the registry (`sales`, `items`).
    pub dataset: String,
    /// A glob over file names (`*` and `?`), for example `IL-*`.
    pub pattern: String,
    /// How many matching fresh files fire the job.
    pub min_files: u32,
    #[serde(default)]
    pub freshness: Freshness,
}

/// Which matching files count as fresh (and become the run's inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "rule", deny_unknown_fields)]
pub enum Freshness {
    /// Validated after the job last fired (the original sample's rule).
    #[default]
    SinceLastRun,
    /// Validated within the last `hours`.
    WithinHours { hours: u32 },
}

/// Data that must have been validated recently for the job to fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanionRule {
    pub dataset: String,
    /// A glob over file names; `*` for any file of the dataset.
    #[serde(default = "star")]
    pub pattern: String,
    /// At least one matching usable file validated within this many hours.
    pub max_age_hours: u32,
}

fn star() -> String {
    "*".to_owned()
}

/// A single `SELECT` run read-only with a statement timeout; the criterion
/// holds when it returns a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraCriterion {
    pub sql: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
}

fn default_timeout_ms() -> u32 {
    2000
}

/// How the job picks its EMR cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "by", deny_unknown_fields)]
pub enum ClusterSelector {
    /// Clusters in WAITING or RUNNING carrying this tag; WAITING first, then the
    /// fewest active steps.
    Tag { key: String, value: String },
    /// This cluster, when it is WAITING or RUNNING.
    Id { id: String },
}

/// The EMR step a run submits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum StepConfig {
    /// Runs a SQL job file (`sql/jobs/*.sql`) with edba's PySpark runner over
    /// exactly the run's manifest; locally the embedded engine runs the same SQL.
    SqlJob {
        /// The SQL file, relative to the repository (deployed under `code/` in the bucket).
        sql: String,
    },
    /// Any other `command-runner.jar` step. `{manifest}` and `{output}` in the
    /// arguments are replaced by the run's S3 URLs.
    SparkSubmit { args: Vec<String> },
}

/// Where the step's output goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadConfig {
    pub tables: Vec<String>,
}
