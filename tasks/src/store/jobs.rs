//! Job configurations: the one write path (a batch of jobs in one
//! transaction, `edba jobs apply`; a single job is a batch of one) and
//! reading them back.
//!
//! A batch is one transaction: either every job of it is written or none is.
//! A job whose stored configuration already equals the new one is left
//! untouched, so its `config_version` only moves when its meaning changes.
//! Jobs stored but absent from the batch are reported, never deleted: their
//! runs reference them.

use edba_payloads::jobs::JobConfig;
use serde::Serialize;

use super::dialect::{begin_write, Backend, Param, ReadRow};
use super::limits::{MAX_DATASET_CHARS, MAX_GLOB_CHARS, MAX_JOB_ID_CHARS};
use super::pool::{database_error, StorePool};
use super::time::StoreTime;
use super::types::UnreadableConfig;
use super::{glob, StateStore};
use crate::TaskError;

/// A job's configuration as the store keeps it: the whole typed
/// configuration plus the parts its queries index.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub job_id: String,
    pub enabled: bool,
    /// The dataset the job aggregates (`sales`).
    pub input_dataset: String,
    /// Which files of the dataset it reads, by file name: `*` and `?` only (`IL-*`).
    pub input_glob: String,
    /// How many matching files must have been validated since the job last fired.
    pub min_files: u32,
    /// Datasets the job also needs (`items`), sorted and without duplicates:
    /// a new file of one may make it ready.
    pub companion_datasets: Vec<String>,
    pub config: JobConfig,
}

impl From<&JobConfig> for JobRow {
    fn from(config: &JobConfig) -> Self {
        let mut companion_datasets: Vec<String> = config.companions.iter().map(|c| c.dataset.clone()).collect();
        companion_datasets.sort();
        companion_datasets.dedup();
        JobRow {
            job_id: config.id.clone(),
            enabled: config.enabled,
            input_dataset: config.input.dataset.clone(),
            input_glob: config.input.pattern.clone(),
            min_files: config.input.min_files,
            companion_datasets,
            config: config.clone(),
        }
    }
}

impl JobRow {
    /// The input glob's text before its first wildcard; stored for index ranges.
    pub fn input_prefix(&self) -> &str {
        glob::literal_prefix(&self.input_glob)
    }
}

/// What writing one job configuration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobConfigChange {
    /// The job was not stored before.
    Created,
    /// The stored configuration differed; `config_version` went up by one.
    Updated,
    /// The stored configuration was the same; nothing was written.
    Unchanged,
}

impl JobConfigChange {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobConfigChange::Created => "created",
            JobConfigChange::Updated => "updated",
            JobConfigChange::Unchanged => "unchanged",
        }
    }
}

/// One job of a batch after the write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobConfigWritten {
    pub job_id: String,
    pub change: JobConfigChange,
    /// The stored `config_version` after the write.
    pub config_version: u32,
}

/// The result of [`StateStore::put_job_configs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobConfigsWritten {
    /// One entry per job of the batch, in the batch's order.
    pub jobs: Vec<JobConfigWritten>,
    /// Stored jobs the batch did not mention, by id: left as they are.
    pub not_in_batch: Vec<String>,
}

/// A job configuration as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredJobConfig {
    pub row: JobRow,
    pub config_version: u32,
}

impl StateStore {
    /// Writes every job of `jobs` in one transaction: a job not stored yet is
    /// created with `config_version` 1, a job whose configuration changed is
    /// replaced with its `config_version` bumped (its run state is kept), an
    /// identical one is not touched. Any failure writes nothing.
    pub async fn put_job_configs(&self, jobs: &[JobRow]) -> Result<JobConfigsWritten, TaskError> {
        let mut batch = Vec::with_capacity(jobs.len());
        for job in jobs {
            batch.push(PreparedJob::new(job)?);
        }
        let mut ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(TaskError::InvalidJobConfig(format!("job {:?} appears more than once in the batch", pair[0])));
        }
        let result = dispatch!(&self.pool, pool => put_job_configs(pool, &batch).await);
        result.map_err(|e| database_error("writing job configurations", e))
    }

    /// Creates or replaces one job's configuration: a batch of one. Its run
    /// state (last status, run, fire time) is kept.
    pub async fn put_job_config(&self, job: &JobRow) -> Result<JobConfigWritten, TaskError> {
        let mut written = self.put_job_configs(std::slice::from_ref(job)).await?;
        Ok(written.jobs.remove(0))
    }

    /// Every stored job configuration, by id. A stored configuration that
    /// does not parse is an `Edba.InvalidJobConfig` naming the job.
    pub async fn job_configs(&self) -> Result<Vec<StoredJobConfig>, TaskError> {
        let result = dispatch!(&self.pool, pool => job_configs(pool).await);
        let stored = result.map_err(|e| database_error("reading job configurations", e))?;
        stored
            .into_iter()
            .map(|job| {
                let row = JobRow {
                    config: job.config.map_err(|e| TaskError::InvalidJobConfig(e.to_string()))?,
                    job_id: job.job_id,
                    enabled: job.enabled,
                    input_dataset: job.input_dataset,
                    input_glob: job.input_glob,
                    min_files: job.min_files,
                    companion_datasets: job.companion_datasets,
                };
                Ok(StoredJobConfig { row, config_version: job.config_version })
            })
            .collect()
    }
}

/// A row checked against the limits, with what the store derives from it.
struct PreparedJob<'a> {
    row: &'a JobRow,
    min_files: i32,
    /// The configuration as stored: JSON through `serde_json::Value`, whose
    /// keys are sorted, so the stored text does not depend on field order.
    config_text: String,
    /// Sorted and without duplicates, as the store keeps them.
    companions: Vec<&'a str>,
}

impl<'a> PreparedJob<'a> {
    /// The limits the jobs-file checker also applies, checked before the
    /// transaction so a bad row never starts one.
    fn new(row: &'a JobRow) -> Result<Self, TaskError> {
        let invalid = |what: String| Err(TaskError::InvalidJobConfig(format!("job {:?}: {what}", row.job_id)));
        let too_long = |s: &str, max: usize| s.chars().count() > max;
        if row.job_id.is_empty() || too_long(&row.job_id, MAX_JOB_ID_CHARS) {
            return invalid(format!("the job id must have 1 to {MAX_JOB_ID_CHARS} characters"));
        }
        if too_long(&row.input_dataset, MAX_DATASET_CHARS)
            || row.companion_datasets.iter().any(|d| too_long(d, MAX_DATASET_CHARS))
        {
            return invalid(format!("a dataset name is longer than {MAX_DATASET_CHARS} characters"));
        }
        if too_long(&row.input_glob, MAX_GLOB_CHARS) {
            return invalid(format!("the input glob is longer than {MAX_GLOB_CHARS} characters"));
        }
        let Ok(min_files) = i32::try_from(row.min_files) else {
            return invalid("min_files is too large".to_owned());
        };
        let mut companions: Vec<&str> = row.companion_datasets.iter().map(String::as_str).collect();
        companions.sort_unstable();
        companions.dedup();
        let config = serde_json::to_value(&row.config)
            .map_err(|e| TaskError::InvalidJobConfig(format!("job {:?}: {e}", row.job_id)))?;
        Ok(PreparedJob { row, min_files, config_text: config.to_string(), companions })
    }

    /// Whether the stored job already says exactly this.
    fn same_as(&self, stored: &Stored) -> bool {
        let row = stored;
        row.enabled == self.row.enabled
            && row.input_dataset == self.row.input_dataset
            && row.input_glob == self.row.input_glob
            && row.min_files == self.row.min_files
            && row.companion_datasets.iter().map(String::as_str).eq(self.companions.iter().copied())
            // Compared typed: MySQL's JSON type does not keep the text. A
            // stored configuration that does not parse is replaced.
            && stored.config.as_ref().is_ok_and(|config| *config == self.row.config)
    }

    /// `enabled, config, input_dataset, input_glob, input_prefix, min_files`.
    fn params(&self) -> [Param<'_>; 6] {
        let row = self.row;
        [
            row.enabled.into(),
            (&self.config_text).into(),
            (&row.input_dataset).into(),
            (&row.input_glob).into(),
            row.input_prefix().into(),
            self.min_files.into(),
        ]
    }
}

/// A stored job as read, before its configuration is known to parse.
struct Stored {
    job_id: String,
    enabled: bool,
    input_dataset: String,
    input_glob: String,
    min_files: u32,
    companion_datasets: Vec<String>,
    config: Result<JobConfig, UnreadableConfig>,
    config_version: u32,
}

fn select_job<B: Backend>(rest: &str) -> String {
    format!(
        "SELECT job_id, enabled, config_version, {} AS config_text, input_dataset, input_glob, min_files \
         FROM job_configs{rest}",
        B::json_text("config")
    )
}

async fn put_job_configs<B: Backend>(
    pool: &StorePool<B>,
    batch: &[PreparedJob<'_>],
) -> Result<JobConfigsWritten, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    let now = StoreTime::now();

    // Rows are locked in id order so that two concurrent applies queue
    // instead of deadlocking.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|&a, &b| batch[a].row.job_id.cmp(&batch[b].row.job_id));
    let mut written: Vec<Option<JobConfigWritten>> = vec![None; batch.len()];
    for index in order {
        written[index] = Some(put_one::<B>(&mut tx, &batch[index], now).await?);
    }

    let stored_ids = B::fetch_all(&mut tx, "SELECT job_id FROM job_configs ORDER BY job_id", &[])
        .await?
        .iter()
        .map(|row| row.read::<String>("job_id"))
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().await?;

    let not_in_batch = stored_ids.into_iter().filter(|id| !batch.iter().any(|job| job.row.job_id == *id)).collect();
    Ok(JobConfigsWritten { jobs: written.into_iter().flatten().collect(), not_in_batch })
}

async fn put_one<B: Backend>(
    conn: &mut B::Connection,
    job: &PreparedJob<'_>,
    now: StoreTime,
) -> Result<JobConfigWritten, sqlx::Error> {
    let row = job.row;
    let sql = select_job::<B>(&format!(" WHERE job_id = ?{}", B::LOCK_ROW));
    let stored = match B::fetch_optional(conn, &sql, &[(&row.job_id).into()]).await? {
        Some(stored) => Some(stored_job::<B>(conn, &stored).await?),
        None => None,
    };
    let (change, config_version) = match stored {
        Some(stored) if job.same_as(&stored) => (JobConfigChange::Unchanged, stored.config_version),
        Some(stored) => {
            let sql = "UPDATE job_configs SET enabled = ?, config = ?, input_dataset = ?, input_glob = ?, \
                 input_prefix = ?, min_files = ?, config_version = config_version + 1, updated_at = ? \
                 WHERE job_id = ?";
            let mut params = job.params().to_vec();
            params.extend([Param::from(now), Param::from(&row.job_id)]);
            B::execute(conn, sql, &params).await?;
            replace_companions::<B>(conn, job).await?;
            (JobConfigChange::Updated, stored.config_version + 1)
        }
        None => {
            let sql = "INSERT INTO job_configs (enabled, config, input_dataset, input_glob, input_prefix, \
                 min_files, job_id, config_version, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)";
            let mut params = job.params().to_vec();
            params.extend([Param::from(&row.job_id), Param::from(now), Param::from(now)]);
            B::execute(conn, sql, &params).await?;
            replace_companions::<B>(conn, job).await?;
            (JobConfigChange::Created, 1)
        }
    };
    Ok(JobConfigWritten { job_id: row.job_id.clone(), change, config_version })
}

async fn replace_companions<B: Backend>(conn: &mut B::Connection, job: &PreparedJob<'_>) -> Result<(), sqlx::Error> {
    let job_id = Param::from(&job.row.job_id);
    B::execute(conn, "DELETE FROM job_companion_datasets WHERE job_id = ?", &[job_id]).await?;
    for dataset in &job.companions {
        let sql = "INSERT INTO job_companion_datasets (job_id, dataset) VALUES (?, ?)";
        B::execute(conn, sql, &[job_id, (*dataset).into()]).await?;
    }
    Ok(())
}

async fn stored_job<B: Backend>(conn: &mut B::Connection, row: &B::Row) -> Result<Stored, sqlx::Error> {
    let job_id: String = row.read("job_id")?;
    let sql = "SELECT dataset FROM job_companion_datasets WHERE job_id = ? ORDER BY dataset";
    let companion_datasets = B::fetch_all(conn, sql, &[(&job_id).into()])
        .await?
        .iter()
        .map(|row| row.read::<String>("dataset"))
        .collect::<Result<Vec<_>, _>>()?;
    let config = UnreadableConfig::parse(&job_id, &row.read::<String>("config_text")?);
    let count = |column: &str| -> Result<u32, sqlx::Error> {
        u32::try_from(row.read::<i32>(column)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(Stored {
        job_id,
        enabled: row.read("enabled")?,
        input_dataset: row.read("input_dataset")?,
        input_glob: row.read("input_glob")?,
        min_files: count("min_files")?,
        companion_datasets,
        config,
        config_version: count("config_version")?,
    })
}

async fn job_configs<B: Backend>(pool: &StorePool<B>) -> Result<Vec<Stored>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let rows = B::fetch_all(&mut conn, &select_job::<B>(" ORDER BY job_id"), &[]).await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in &rows {
        jobs.push(stored_job::<B>(&mut conn, row).await?);
    }
    Ok(jobs)
}
