//! The state store (MySQL in AWS, SQLite locally) and the track task.
//!
//! One design in two dialects: `sql/state/mysql` and `sql/state/sqlite` hold
//! the migrations. Everything that differs between the dialects is in
//! `dialect.rs` ([`dialect::SqlDialect`]); every statement is written once, in
//! a function generic over [`dialect::Backend`], and `StateStore` picks the
//! backend with [`dispatch!`]. Patterns and values are always bound
//! parameters.
//!
//! Connections come from a [`pool::StorePool`]: a deployed store's login is a
//! Secrets Manager secret, read again once when MySQL refuses the password
//! (rotation); a MySQL connection uses TLS as its URL says (`tls.rs`:
//! verified against the RDS CA bundle in AWS, never plaintext once asked for). On MySQL, extra criteria can run on a second pool logged in as
//! a SELECT-only user ([`StateStore::with_criteria_login`]).
//!
//! Tables: `ingested_files` (one row per S3 key, its current version),
//! `job_configs` (+ `job_companion_datasets`), `job_runs` and `run_inputs`.
//! The types the store exchanges with the tasks are the store's (`types.rs`);
//! this module imports nothing from `evaluate`, `record` or `jobs`, and knows
//! nothing about Lambda except how a [`TaskError`] becomes a Lambda error
//! (`diagnostic.rs`).

/// Runs `$call` with `$pool` bound to the concrete pool of the store's
/// dialect: the store's one dispatch from a [`StateStore`] to a statement
/// function generic over [`dialect::Backend`].
macro_rules! dispatch {
    ($store_pool:expr, $pool:ident => $call:expr) => {
        match $store_pool {
            $crate::store::Pool::MySql($pool) => $call,
            $crate::store::Pool::Sqlite($pool) => $call,
        }
    };
}

mod criterion;
mod decisions;
mod dialect;
mod evaluate;
mod files;
mod glob;
pub mod jobs;
pub mod limits;
mod pool;
mod record;
mod sequencer;
pub mod status;
mod superseded;
mod time;
mod tls;
mod track;
mod types;

use std::str::FromStr;
use std::time::Duration;

use edba_payloads::{FileStatus, RowCounts, TrackInput, TrackOutput};
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{MySql, Sqlite};

use crate::secrets::DatabaseLogin;
use crate::TaskError;
use pool::{database_error, StorePool};
use track::FileEvent;

pub(crate) use criterion::{parse_criterion, reject_executable_comments};
pub use decisions::JobDecision;
pub use jobs::{JobConfigChange, JobRow};
pub(crate) use types::{
    ClaimOutcome, CriterionOutcome, FileSelector, FinalOutcome, JobState, RunClaim, RunInput, RunningRun,
};
pub use types::{ImpactedFile, ImpactedFiles, UnreadableConfig};

/// A Lambda container serves one invocation at a time; a few connections
/// cover the local runtime's parallel tasks without exhausting RDS.
const MAX_CONNECTIONS: u32 = 5;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at a track transaction that lost a race for the same key (a
/// concurrent first insert, a deadlock); each retry sees the winner's row.
const TRACK_ATTEMPTS: usize = 5;

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Sqlite,
}

/// The state of a job's latest run (`job_configs.last_status`, `job_runs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Running,
    Completed,
    Failed,
}

impl JobStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "RUNNING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }
}

/// A tracked file as stored: the current version of its S3 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedFileRow {
    pub file_url: String,
    pub bucket: String,
    pub object_key: String,
    pub file_name: String,
    pub dataset: Option<String>,
    pub partition: Option<String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    pub sequencer: String,
    pub status: FileStatus,
    pub reason: Option<String>,
    pub counts: RowCounts,
    pub validated_key: Option<String>,
    pub rejected_key: Option<String>,
    /// When the current version was validated (UTC, microseconds).
    pub last_validated_at: ::time::OffsetDateTime,
    pub first_seen_at: ::time::OffsetDateTime,
    pub updated_at: ::time::OffsetDateTime,
}

/// The state store. Cloning is cheap and shares the connection pools.
#[derive(Debug, Clone)]
pub struct StateStore {
    pool: Pool,
    /// Where extra criteria run on MySQL: a pool logged in as a user that
    /// may only SELECT the store's tables. Without it they run on `pool`, as
    /// the store's own user (SQLite always does: `query_only` is its sandbox).
    criteria: Option<StorePool<MySql>>,
}

#[derive(Debug, Clone)]
enum Pool {
    MySql(StorePool<MySql>),
    Sqlite(StorePool<Sqlite>),
}

fn is_mysql_url(url: &str) -> bool {
    url.starts_with("mysql:") || url.starts_with("mariadb:")
}

/// A MySQL pool for `url`, with `login`'s renewal when it has a secret and
/// the URL's TLS settings (`ssl-mode`, `ssl-ca`: see `tls.rs`).
fn mysql_pool(url: &str, login: Option<DatabaseLogin>, what: &str) -> Result<StorePool<MySql>, TaskError> {
    // The URL may hold a password: errors never repeat it.
    let options = MySqlConnectOptions::from_str(url)
        .map_err(|_| TaskError::InvalidInput(format!("the {what} URL is not a valid MySQL URL")))?;
    let tls = tls::TlsSettings::of_url(url, what)?;
    let pool = MySqlPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(match login {
        Some(login) => StorePool::renewable(pool, login),
        None => StorePool::fixed(pool),
    }
    .with_tls(tls))
}

/// Criteria run as their own user (or not) on MySQL: said once per process.
static CRITERIA_LOGIN_WARNING: std::sync::Once = std::sync::Once::new();

impl StateStore {
    /// A store for `mysql://user:password@host:port/database`,
    /// `sqlite://path?mode=rwc` or `sqlite::memory:`.
    ///
    /// A MySQL URL may say how to use TLS: `?ssl-mode=VERIFY_IDENTITY&ssl-ca=FILE`
    /// (what the template sets: the RDS CA bundle), `REQUIRED`, `VERIFY_CA`
    /// or `DISABLED`. Without `ssl-mode` it is PREFERRED, for local servers:
    /// encrypted when the server offers TLS, its certificate unchecked. A
    /// mode that asks for TLS never falls back to plaintext: see `tls.rs`.
    ///
    /// Connections open on first use, so a Lambda cold start while the
    /// database is unreachable surfaces as a retryable `Edba.Transient` from
    /// the first call rather than as a failed init.
    pub async fn connect(url: &str) -> Result<Self, TaskError> {
        Self::connect_as(url, None)
    }

    /// A store whose credentials come from `login` (a deployed Lambda's:
    /// see `secrets.rs`). Its secret is read now, and again when the database
    /// refuses the credentials (a rotated password), once per refusal.
    pub async fn open(login: DatabaseLogin) -> Result<Self, TaskError> {
        let url = login.current_url().await?;
        Self::connect_as(&url, Some(login))
    }

    /// Runs extra criteria on their own pool, logged in with `login`: a user
    /// that may only SELECT the state store's tables (`scripts/bootstrap_db.sh`
    /// creates it), on the store's own database. MySQL only; a SQLite store
    /// runs criteria on its one pool with `query_only`.
    pub async fn with_criteria_login(mut self, login: DatabaseLogin) -> Result<Self, TaskError> {
        if self.dialect() != Dialect::MySql {
            return Err(TaskError::InvalidInput("a criteria login is for a MySQL state store only".into()));
        }
        let url = login.current_url().await?;
        if !is_mysql_url(&url) {
            return Err(TaskError::InvalidInput("the criteria URL must start with mysql://".into()));
        }
        self.criteria = Some(mysql_pool(&url, Some(login), "criteria")?);
        Ok(self)
    }

    fn connect_as(url: &str, login: Option<DatabaseLogin>) -> Result<Self, TaskError> {
        let pool = if is_mysql_url(url) {
            Pool::MySql(mysql_pool(url, login, "state store")?)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|_| TaskError::InvalidInput("the state store URL is not a valid SQLite URL".into()))?;
            let pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = if in_memory {
                // The database lives as long as its one connection: never
                // let the pool close it.
                pool.max_connections(1).idle_timeout(None).max_lifetime(None)
            } else {
                pool.max_connections(MAX_CONNECTIONS)
            };
            let options = if in_memory {
                options
            } else {
                // A new file is created, as `edba run` creates its home's,
                // unless the URL sets its own mode (`mode=ro`, `mode=rw`).
                let options = if url.contains("mode=") { options } else { options.create_if_missing(true) };
                let folder = options.get_filename().parent().filter(|dir| !dir.as_os_str().is_empty());
                if let Some(folder) = folder.filter(|dir| !dir.is_dir()) {
                    return Err(TaskError::InvalidInput(format!(
                        "the state store's folder {} does not exist",
                        folder.display()
                    )));
                }
                // Readers keep reading while a tracker holds the write lock.
                // A commit is durable against a crash of the process at
                // once, and against one of the machine at the next WAL
                // checkpoint (`NORMAL`): the same promise as the embedded
                // S3's objects and version index beside it, which a commit
                // here refers to, so an fsync per commit bought nothing
                // end to end and cost about a fifth of tracking a file.
                options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal)
            };
            Pool::Sqlite(StorePool::fixed(pool.connect_lazy_with(options.foreign_keys(true))))
        } else {
            return Err(TaskError::InvalidInput("the state store URL must start with mysql:// or sqlite:".into()));
        };
        Ok(StateStore { pool, criteria: None })
    }

    pub fn dialect(&self) -> Dialect {
        dispatch!(&self.pool, pool => dialect_of(pool))
    }

    /// Brings the schema up to date (embedded migrations of the dialect).
    pub async fn migrate(&self) -> Result<(), TaskError> {
        use sqlx::migrate::MigrateError;
        // On a connection of the store's pool, so a refused login is renewed.
        let migrated = dispatch!(&self.pool, pool => match pool.acquire().await {
            Ok(mut conn) => migrations_of(pool).run(&mut *conn).await,
            Err(e) => Err(MigrateError::Execute(e)),
        });
        migrated.map_err(|e| match (permanent(&e), e) {
            (Some(why), _) => TaskError::InvalidInput(format!("the state store cannot be used: {why}")),
            (None, MigrateError::Execute(e)) => database_error("migrating the state store", e),
            (None, e) => TaskError::transient("migrating the state store", e),
        })
    }

    /// Closes every connection; later calls fail with `Edba.Transient`.
    pub async fn close(&self) {
        dispatch!(&self.pool, pool => pool.close().await);
        if let Some(criteria) = &self.criteria {
            criteria.close().await;
        }
    }

    /// The track task: records a validated file event and says whether a job
    /// may have become ready.
    ///
    /// The first event of a key inserts its row; an event with a newer
    /// sequencer and another version (version id, or etag when unversioned)
    /// replaces it and resets its freshness; a redelivery changes nothing; an
    /// event older than the stored one is ignored. All of it happens in one
    /// transaction, so a failure leaves nothing half-written.
    pub async fn track(&self, input: &TrackInput) -> Result<TrackOutput, TaskError> {
        let event = FileEvent::new(&input.file)?;
        let mut attempt = 1;
        loop {
            match dispatch!(&self.pool, pool => track::track(pool, &event).await) {
                Ok(output) => return Ok(output),
                Err(e) if attempt < TRACK_ATTEMPTS && lost_a_race(&e) => attempt += 1,
                Err(e) => return Err(database_error("tracking a file", e)),
            }
        }
    }

    /// The stored row of a file, by `s3://bucket/key`.
    pub async fn file(&self, file_url: &str) -> Result<Option<IngestedFileRow>, TaskError> {
        dispatch!(&self.pool, pool => track::file(pool, file_url).await)
            .map_err(|e| database_error("reading a file's state", e))
    }
}

/// Errors that no retry mends: a file that is not a SQLite database or cannot
/// be opened, a MySQL database that does not exist.
fn permanent(e: &sqlx::migrate::MigrateError) -> Option<String> {
    let sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(db)) = e else {
        return None;
    };
    // SQLITE_CANTOPEN (14), SQLITE_NOTADB (26); MySQL ER_BAD_DB_ERROR (1049, SQLSTATE 42000).
    let code = db.code().unwrap_or_default();
    let mysql_unknown_database =
        db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|e| e.number() == 1049);
    (matches!(code.as_ref(), "14" | "26") || mysql_unknown_database).then(|| db.message().to_owned())
}

fn dialect_of<B: dialect::SqlDialect>(_: &StorePool<B>) -> Dialect {
    B::DIALECT
}

fn migrations_of<B: dialect::SqlDialect>(_: &StorePool<B>) -> &'static Migrator {
    B::migrations()
}

/// A concurrent transaction on the same key won: a duplicate key on insert, or
/// a deadlock (SQLSTATE 40001) that rolled this one back.
fn lost_a_race(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation() || db.code().as_deref() == Some("40001"),
        _ => false,
    }
}

fn parse_file_status(s: &str) -> Option<FileStatus> {
    [FileStatus::Validated, FileStatus::ValidatedWithRejects, FileStatus::Invalid]
        .into_iter()
        .find(|status| status.as_str() == s)
}
