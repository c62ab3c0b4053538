//! Writing a whole set of job configurations at once (`edba jobs apply`) and
//! reading them back.
//!
//! A batch is one transaction: either every job of it is written or none is.
//! A job whose stored configuration already equals the new one is left
//! untouched, so its `config_version` only moves when its meaning changes.
//! Jobs stored but absent from the batch are reported, never deleted: their
//! runs reference them.

use serde::Serialize;

use super::{JobRow, Pool, StateStore};
use crate::TaskError;

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
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::put_job_configs(pool, &batch).await,
            Pool::Sqlite(pool) => sqlite::put_job_configs(pool, &batch).await,
        };
        result.map_err(|e| TaskError::transient("writing job configurations", e))
    }

    /// Every stored job configuration, by id.
    pub async fn job_configs(&self) -> Result<Vec<StoredJobConfig>, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::job_configs(pool).await,
            Pool::Sqlite(pool) => sqlite::job_configs(pool).await,
        };
        result.map_err(|e| TaskError::transient("reading job configurations", e))
    }
}

/// A row checked against the columns' limits, with what the store derives
/// from it.
struct PreparedJob<'a> {
    row: &'a JobRow,
    min_files: i32,
    config_text: String,
    /// Sorted and without duplicates, as the store keeps them.
    companions: Vec<&'a str>,
}

impl<'a> PreparedJob<'a> {
    /// The same limits as `put_job_config`, checked before the transaction
    /// so a bad row never starts one.
    fn new(row: &'a JobRow) -> Result<Self, TaskError> {
        let invalid = |what: &str| Err(TaskError::InvalidJobConfig(format!("job {:?}: {what}", row.job_id)));
        let too_long = |s: &str, max: usize| s.chars().count() > max;
        if row.job_id.is_empty() || too_long(&row.job_id, 128) {
            return invalid("the job id must have 1 to 128 characters");
        }
        if too_long(&row.input_dataset, 64) || row.companion_datasets.iter().any(|d| too_long(d, 64)) {
            return invalid("a dataset name is longer than 64 characters");
        }
        if too_long(&row.input_glob, 255) {
            return invalid("the input glob is longer than 255 characters");
        }
        let Ok(min_files) = i32::try_from(row.min_files) else {
            return invalid("min_files is too large");
        };
        let mut companions: Vec<&str> = row.companion_datasets.iter().map(String::as_str).collect();
        companions.sort_unstable();
        companions.dedup();
        Ok(PreparedJob { row, min_files, config_text: row.config.to_string(), companions })
    }

    /// Whether the stored job already says exactly this.
    fn same_as(&self, stored: &StoredJobConfig) -> bool {
        let row = &stored.row;
        row.enabled == self.row.enabled
            && row.input_dataset == self.row.input_dataset
            && row.input_glob == self.row.input_glob
            && row.min_files == self.row.min_files
            && row.companion_datasets.iter().map(String::as_str).eq(self.companions.iter().copied())
            // Compared as JSON values: MySQL's JSON type does not keep the text.
            && row.config == self.row.config
    }
}

macro_rules! jobs_backend {
    (
        mod $module:ident,
        db = $db:ty,
        // Runs on the connection right before `begin`.
        prelude = $prelude:expr,
        begin = $begin:literal,
        lock_row = $lock_row:literal,
        // The `config` column as text.
        config_text = $config_text:literal,
    ) => {
        mod $module {
            use sqlx::{Connection, Executor, Row};

            use super::{JobConfigChange, JobConfigWritten, JobConfigsWritten, PreparedJob, StoredJobConfig};
            use crate::store::time::StoreTime;
            use crate::store::JobRow;

            type Db = $db;
            type Pool = sqlx::Pool<Db>;
            type Tx<'c> = sqlx::Transaction<'c, Db>;

            macro_rules! select_job {
                ($rest:literal) => {
                    concat!(
                        "SELECT job_id, enabled, config_version, ",
                        $config_text,
                        " AS config_text, input_dataset, input_glob, min_files FROM job_configs",
                        $rest
                    )
                };
            }

            pub(super) async fn put_job_configs(
                pool: &Pool,
                batch: &[PreparedJob<'_>],
            ) -> Result<JobConfigsWritten, sqlx::Error> {
                let mut conn = pool.acquire().await?;
                if let Some(prelude) = $prelude {
                    conn.execute(prelude).await?;
                }
                let mut tx = conn.begin_with($begin).await?;
                let now = StoreTime::now();

                // Rows are locked in id order so that two concurrent applies
                // queue instead of deadlocking.
                let mut order: Vec<usize> = (0..batch.len()).collect();
                order.sort_by(|&a, &b| batch[a].row.job_id.cmp(&batch[b].row.job_id));
                let mut written: Vec<Option<JobConfigWritten>> = vec![None; batch.len()];
                for index in order {
                    written[index] = Some(put_one(&mut tx, &batch[index], now).await?);
                }

                let stored_ids: Vec<String> =
                    sqlx::query_scalar("SELECT job_id FROM job_configs ORDER BY job_id").fetch_all(&mut *tx).await?;
                tx.commit().await?;

                let not_in_batch =
                    stored_ids.into_iter().filter(|id| !batch.iter().any(|job| job.row.job_id == *id)).collect();
                Ok(JobConfigsWritten { jobs: written.into_iter().flatten().collect(), not_in_batch })
            }

            async fn put_one(
                tx: &mut Tx<'_>,
                job: &PreparedJob<'_>,
                now: StoreTime,
            ) -> Result<JobConfigWritten, sqlx::Error> {
                let row = job.row;
                let stored = sqlx::query(concat!(select_job!(" WHERE job_id = ?"), $lock_row))
                    .bind(&row.job_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let stored = match stored {
                    Some(stored) => Some(stored_job(&mut **tx, &stored).await?),
                    None => None,
                };
                let (change, config_version) = match stored {
                    Some(stored) if job.same_as(&stored) => (JobConfigChange::Unchanged, stored.config_version),
                    Some(stored) => {
                        sqlx::query(
                            "UPDATE job_configs SET enabled = ?, \
                             config_version = config_version + 1, config = ?, \
                             input_dataset = ?, input_glob = ?, input_prefix = ?, \
                             min_files = ?, updated_at = ? WHERE job_id = ?",
                        )
                        .bind(row.enabled)
                        .bind(&job.config_text)
                        .bind(&row.input_dataset)
                        .bind(&row.input_glob)
                        .bind(row.input_prefix())
                        .bind(job.min_files)
                        .bind(now)
                        .bind(&row.job_id)
                        .execute(&mut **tx)
                        .await?;
                        replace_companions(tx, job).await?;
                        (JobConfigChange::Updated, stored.config_version + 1)
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO job_configs (job_id, enabled, config_version, config, \
                             input_dataset, input_glob, input_prefix, min_files, created_at, \
                             updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                        )
                        .bind(&row.job_id)
                        .bind(row.enabled)
                        .bind(&job.config_text)
                        .bind(&row.input_dataset)
                        .bind(&row.input_glob)
                        .bind(row.input_prefix())
                        .bind(job.min_files)
                        .bind(now)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                        replace_companions(tx, job).await?;
                        (JobConfigChange::Created, 1)
                    }
                };
                Ok(JobConfigWritten { job_id: row.job_id.clone(), change, config_version })
            }

            async fn replace_companions(tx: &mut Tx<'_>, job: &PreparedJob<'_>) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM job_companion_datasets WHERE job_id = ?")
                    .bind(&job.row.job_id)
                    .execute(&mut **tx)
                    .await?;
                for dataset in &job.companions {
                    sqlx::query("INSERT INTO job_companion_datasets (job_id, dataset) VALUES (?, ?)")
                        .bind(&job.row.job_id)
                        .bind(*dataset)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            async fn stored_job(
                conn: &mut <Db as sqlx::Database>::Connection,
                row: &<Db as sqlx::Database>::Row,
            ) -> Result<StoredJobConfig, sqlx::Error> {
                let job_id: String = row.try_get("job_id")?;
                let companion_datasets: Vec<String> =
                    sqlx::query_scalar("SELECT dataset FROM job_companion_datasets WHERE job_id = ? ORDER BY dataset")
                        .bind(&job_id)
                        .fetch_all(&mut *conn)
                        .await?;
                let config_text: String = row.try_get("config_text")?;
                let config = serde_json::from_str(&config_text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                let count = |column: &str| -> Result<u32, sqlx::Error> {
                    let n: i32 = row.try_get(column)?;
                    u32::try_from(n).map_err(|e| sqlx::Error::Decode(Box::new(e)))
                };
                Ok(StoredJobConfig {
                    row: JobRow {
                        job_id,
                        enabled: row.try_get("enabled")?,
                        input_dataset: row.try_get("input_dataset")?,
                        input_glob: row.try_get("input_glob")?,
                        min_files: count("min_files")?,
                        companion_datasets,
                        config,
                    },
                    config_version: count("config_version")?,
                })
            }

            pub(super) async fn job_configs(pool: &Pool) -> Result<Vec<StoredJobConfig>, sqlx::Error> {
                let mut conn = pool.acquire().await?;
                let rows = sqlx::query(select_job!(" ORDER BY job_id")).fetch_all(&mut *conn).await?;
                let mut jobs = Vec::with_capacity(rows.len());
                for row in &rows {
                    jobs.push(stored_job(&mut *conn, row).await?);
                }
                Ok(jobs)
            }
        }
    };
}

jobs_backend! {
    mod mysql,
    db = sqlx::MySql,
    // As for track: no gap locks on a job id that does not exist yet.
    prelude = Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    begin = "BEGIN",
    lock_row = " FOR UPDATE",
    // MySQL 8's JSON type is not a string type to the driver; MariaDB's is text.
    config_text = "CAST(config AS CHAR)",
}

jobs_backend! {
    mod sqlite,
    db = sqlx::Sqlite,
    prelude = None::<&'static str>,
    // Takes the write lock up front, as track does.
    begin = "BEGIN IMMEDIATE",
    lock_row = "",
    config_text = "config",
}
