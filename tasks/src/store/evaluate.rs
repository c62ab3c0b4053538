//! The evaluate task's statements: reading jobs and runs, counting fresh
//! inputs with one indexed query per job, the extra criterion run read-only
//! with a statement timeout, reconciling dead runs and the atomic claim.
//!
//! Like `backend.rs`, every statement is written once and instantiated per
//! dialect; patterns, times and ids are bound parameters. The only SQL text
//! not written here is a job's extra criterion, which is configuration (a
//! single `SELECT`, checked by the parser) and runs in a read-only
//! transaction.

use std::time::Duration;

use sqlparser::dialect::{MySqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use time::OffsetDateTime;

use super::{Pool, StateStore};
use crate::evaluate::store_types::{
    ClaimOutcome, CriterionOutcome, ExecutionRun, FileSelector, JobState, RunClaim, RunInput, RunningRun,
};
use crate::TaskError;

/// A run's inputs are inserted this many rows per statement.
const INPUT_ROWS_PER_INSERT: usize = 500;
/// How long past its own statement timeout the client waits for a criterion
/// before it gives the connection up (the server-side timeout should fire first).
const CLIENT_GRACE: Duration = Duration::from_secs(2);

/// The selector's prefix range: `(prefix, upper bound)`, or `None` when the
/// glob starts with a wildcard.
fn prefix_range(glob: &str) -> Option<(String, String)> {
    let prefix = super::glob::literal_prefix(glob);
    super::glob::prefix_upper_bound(prefix).map(|upper| (prefix.to_owned(), upper))
}

macro_rules! evaluate_backend {
    (
        mod $module:ident,
        db = $db:ty,
        prelude = $prelude:expr,
        begin = $begin:literal,
        // `a <=> b` / `a IS b`: equality where NULL equals NULL.
        null_safe_eq = $null_safe_eq:literal,
        name_matches = $name_matches:literal,
        glob_pattern = $glob_pattern:path,
    ) => {
        pub(super) mod $module {
            use edba_payloads::FileStatus;
            use sqlx::{Connection, Executor, Row};

            use super::{prefix_range, INPUT_ROWS_PER_INSERT};
            use crate::evaluate::store_types::{
                ClaimOutcome, ExecutionRun, FileSelector, JobState, RunClaim, RunInput, RunningRun,
            };
            use crate::store::time::StoreTime;
            use crate::store::JobStatus;

            type Db = $db;
            type Pool = sqlx::Pool<Db>;
            type Tx<'c> = sqlx::Transaction<'c, Db>;

            // The WHERE clause over usable files of one selector, with and
            // without the prefix range (a glob starting with a wildcard has none).
            macro_rules! files_in_range {
                () => {
                    concat!(
                        " FROM ingested_files WHERE dataset = ? AND file_name >= ? \
                         AND file_name < ? AND ",
                        $name_matches,
                        " AND last_validated_at > ? AND status <> ?"
                    )
                };
            }
            macro_rules! files_any_name {
                () => {
                    concat!(
                        " FROM ingested_files WHERE dataset = ? AND ",
                        $name_matches,
                        " AND last_validated_at > ? AND status <> ?"
                    )
                };
            }

            pub(in crate::store) async fn jobs(pool: &Pool) -> Result<Vec<JobState>, sqlx::Error> {
                let rows = sqlx::query(
                    "SELECT job_id, enabled, config_version, config, last_status, last_run_id, \
                     last_fired_at FROM job_configs ORDER BY job_id",
                )
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(JobState {
                            job_id: row.try_get("job_id")?,
                            enabled: row.try_get("enabled")?,
                            config_version: row.try_get("config_version")?,
                            config: row.try_get("config")?,
                            last_status: row.try_get("last_status")?,
                            last_run_id: row.try_get("last_run_id")?,
                            last_fired_at: row.try_get::<Option<StoreTime>, _>("last_fired_at")?.map(StoreTime::get),
                        })
                    })
                    .collect()
            }

            pub(in crate::store) async fn running_runs(pool: &Pool) -> Result<Vec<RunningRun>, sqlx::Error> {
                let rows = sqlx::query(
                    "SELECT run_id, job_id, execution_arn FROM job_runs WHERE status = ? \
                     ORDER BY run_id",
                )
                .bind(JobStatus::Running.as_str())
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(RunningRun {
                            run_id: row.try_get("run_id")?,
                            job_id: row.try_get("job_id")?,
                            execution_arn: row.try_get("execution_arn")?,
                        })
                    })
                    .collect()
            }

            pub(in crate::store) async fn execution_runs(
                pool: &Pool,
                execution_arn: &str,
            ) -> Result<Vec<ExecutionRun>, sqlx::Error> {
                let rows = sqlx::query(
                    "SELECT r.run_id, r.job_id, r.cluster_id, r.manifest_key, r.output_prefix, \
                     j.config, (SELECT COUNT(*) FROM run_inputs i WHERE i.run_id = r.run_id) \
                     AS input_count FROM job_runs r JOIN job_configs j ON j.job_id = r.job_id \
                     WHERE r.status = ? AND r.execution_arn = ? ORDER BY r.run_id",
                )
                .bind(JobStatus::Running.as_str())
                .bind(execution_arn)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let text = |column: &str| -> Result<String, sqlx::Error> {
                            Ok(row.try_get::<Option<String>, _>(column)?.unwrap_or_default())
                        };
                        Ok(ExecutionRun {
                            run_id: row.try_get("run_id")?,
                            job_id: row.try_get("job_id")?,
                            cluster_id: text("cluster_id")?,
                            manifest_key: text("manifest_key")?,
                            output_prefix: text("output_prefix")?,
                            input_count: u64::try_from(row.try_get::<i64, _>("input_count")?).unwrap_or(0),
                            config: row.try_get("config")?,
                        })
                    })
                    .collect()
            }

            /// Marks a RUNNING run FAILED, and its job when the run is the
            /// job's latest; false when the run was no longer RUNNING.
            pub(in crate::store) async fn fail_run(
                pool: &Pool,
                run: &RunningRun,
                error: &str,
                cause: &str,
                at: StoreTime,
            ) -> Result<bool, sqlx::Error> {
                let mut conn = pool.acquire().await?;
                if let Some(prelude) = $prelude {
                    conn.execute(prelude).await?;
                }
                let mut tx = conn.begin_with($begin).await?;
                let changed = sqlx::query(
                    "UPDATE job_runs SET status = ?, finished_at = ?, error = ?, cause = ? \
                     WHERE run_id = ? AND status = ?",
                )
                .bind(JobStatus::Failed.as_str())
                .bind(at)
                .bind(error)
                .bind(cause)
                .bind(&run.run_id)
                .bind(JobStatus::Running.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE job_configs SET last_status = ?, last_finished_at = ? \
                     WHERE job_id = ? AND last_run_id = ? AND last_status = ?",
                )
                .bind(JobStatus::Failed.as_str())
                .bind(at)
                .bind(&run.job_id)
                .bind(&run.run_id)
                .bind(JobStatus::Running.as_str())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            /// Usable files the selector matches, counted up to `limit`: one
            /// COUNT over the (dataset, file_name, last_validated_at, status)
            /// index that stops as soon as the job has enough.
            pub(in crate::store) async fn count_files<'e, E>(
                executor: E,
                files: &FileSelector<'_>,
                limit: u64,
            ) -> Result<u64, sqlx::Error>
            where
                E: Executor<'e, Database = Db>,
            {
                let pattern = $glob_pattern(files.glob);
                let after = StoreTime::new(files.after);
                let invalid = FileStatus::Invalid.as_str();
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let count: i64 = match prefix_range(files.glob) {
                    Some((prefix, upper)) => {
                        sqlx::query_scalar(concat!(
                            "SELECT COUNT(*) FROM (SELECT 1 AS one",
                            files_in_range!(),
                            " LIMIT ?) AS capped"
                        ))
                        .bind(files.dataset)
                        .bind(prefix)
                        .bind(upper)
                        .bind(pattern)
                        .bind(after)
                        .bind(invalid)
                        .bind(limit)
                        .fetch_one(executor)
                        .await?
                    }
                    None => {
                        sqlx::query_scalar(concat!(
                            "SELECT COUNT(*) FROM (SELECT 1 AS one",
                            files_any_name!(),
                            " LIMIT ?) AS capped"
                        ))
                        .bind(files.dataset)
                        .bind(pattern)
                        .bind(after)
                        .bind(invalid)
                        .bind(limit)
                        .fetch_one(executor)
                        .await?
                    }
                };
                Ok(u64::try_from(count).unwrap_or(0))
            }

            /// Whether the selector matches at least one usable file.
            pub(in crate::store) async fn any_file(pool: &Pool, files: &FileSelector<'_>) -> Result<bool, sqlx::Error> {
                let pattern = $glob_pattern(files.glob);
                let after = StoreTime::new(files.after);
                let invalid = FileStatus::Invalid.as_str();
                let found = match prefix_range(files.glob) {
                    Some((prefix, upper)) => {
                        sqlx::query(concat!("SELECT 1", files_in_range!(), " LIMIT 1"))
                            .bind(files.dataset)
                            .bind(prefix)
                            .bind(upper)
                            .bind(pattern)
                            .bind(after)
                            .bind(invalid)
                            .fetch_optional(pool)
                            .await?
                    }
                    None => {
                        sqlx::query(concat!("SELECT 1", files_any_name!(), " LIMIT 1"))
                            .bind(files.dataset)
                            .bind(pattern)
                            .bind(after)
                            .bind(invalid)
                            .fetch_optional(pool)
                            .await?
                    }
                };
                Ok(found.is_some())
            }

            async fn list_files(tx: &mut Tx<'_>, files: &FileSelector<'_>) -> Result<Vec<RunInput>, sqlx::Error> {
                let pattern = $glob_pattern(files.glob);
                let after = StoreTime::new(files.after);
                let invalid = FileStatus::Invalid.as_str();
                let rows = match prefix_range(files.glob) {
                    Some((prefix, upper)) => {
                        sqlx::query(concat!(
                            "SELECT file_url, object_key, dataset, validated_key, version_id, \
                             etag",
                            files_in_range!(),
                            " ORDER BY file_name, file_url"
                        ))
                        .bind(files.dataset)
                        .bind(prefix)
                        .bind(upper)
                        .bind(pattern)
                        .bind(after)
                        .bind(invalid)
                        .fetch_all(&mut **tx)
                        .await?
                    }
                    None => {
                        sqlx::query(concat!(
                            "SELECT file_url, object_key, dataset, validated_key, version_id, \
                             etag",
                            files_any_name!(),
                            " ORDER BY file_name, file_url"
                        ))
                        .bind(files.dataset)
                        .bind(pattern)
                        .bind(after)
                        .bind(invalid)
                        .fetch_all(&mut **tx)
                        .await?
                    }
                };
                rows.iter()
                    .map(|row| {
                        Ok(RunInput {
                            dataset: row.try_get::<Option<String>, _>("dataset")?.unwrap_or_default(),
                            file_url: row.try_get("file_url")?,
                            key: row.try_get("object_key")?,
                            validated_key: row.try_get("validated_key")?,
                            version_id: row.try_get("version_id")?,
                            etag: row.try_get("etag")?,
                        })
                    })
                    .collect()
            }

            /// Claims a job for one run, in one transaction: the conditional
            /// UPDATE that only one evaluation can win, the run and its exact
            /// inputs, and `write_manifest` before the commit, so a committed
            /// run always has its manifest (a manifest whose commit then failed
            /// names a run that does not exist and is never read).
            pub(in crate::store) async fn claim<F, Fut>(
                pool: &Pool,
                claim: &RunClaim<'_>,
                write_manifest: F,
            ) -> Result<Result<ClaimOutcome, crate::TaskError>, sqlx::Error>
            where
                F: FnOnce(&[RunInput]) -> Fut,
                Fut: std::future::Future<Output = Result<(), crate::TaskError>>,
            {
                let mut conn = pool.acquire().await?;
                if let Some(prelude) = $prelude {
                    conn.execute(prelude).await?;
                }
                let mut tx = conn.begin_with($begin).await?;
                let now = StoreTime::new(claim.now);
                let won = sqlx::query(concat!(
                    "UPDATE job_configs SET last_status = ?, last_run_id = ?, last_fired_at = ? \
                     WHERE job_id = ? AND enabled = ? AND config_version = ? \
                     AND (last_status IS NULL OR last_status <> ?) AND last_fired_at ",
                    $null_safe_eq,
                    " ?"
                ))
                .bind(JobStatus::Running.as_str())
                .bind(claim.run_id)
                .bind(now)
                .bind(claim.job_id)
                .bind(true)
                .bind(claim.config_version)
                .bind(JobStatus::Running.as_str())
                .bind(claim.last_fired_at.map(StoreTime::new))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if won != 1 {
                    tx.rollback().await?;
                    return Ok(Ok(ClaimOutcome::Lost));
                }

                // Read again under the claim: what the run reads is what is
                // there now, not what the decision counted a moment ago.
                let mut inputs = list_files(&mut tx, &claim.inputs).await?;
                let fresh = inputs.len() as u64;
                if fresh < u64::from(claim.min_files) {
                    tx.rollback().await?;
                    return Ok(Ok(ClaimOutcome::TooFewInputs(fresh)));
                }
                for (index, companion) in claim.companions.iter().enumerate() {
                    let files = list_files(&mut tx, companion).await?;
                    if files.is_empty() {
                        tx.rollback().await?;
                        return Ok(Ok(ClaimOutcome::NoCompanion(index)));
                    }
                    inputs.extend(files);
                }
                // A companion selector may overlap the input selector.
                let mut seen = std::collections::HashSet::new();
                inputs.retain(|input| seen.insert(input.file_url.clone()));

                sqlx::query(
                    "INSERT INTO job_runs (run_id, job_id, config_version, status, cluster_id, \
                     execution_arn, manifest_key, output_prefix, started_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(claim.run_id)
                .bind(claim.job_id)
                .bind(claim.config_version)
                .bind(JobStatus::Running.as_str())
                .bind(claim.cluster_id)
                .bind(claim.execution_arn)
                .bind(claim.manifest_key)
                .bind(claim.output_prefix)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for chunk in inputs.chunks(INPUT_ROWS_PER_INSERT) {
                    let mut insert =
                        sqlx::QueryBuilder::<Db>::new("INSERT INTO run_inputs (run_id, file_url, version_id, etag) ");
                    insert.push_values(chunk, |mut row, input| {
                        row.push_bind(claim.run_id)
                            .push_bind(&input.file_url)
                            .push_bind(&input.version_id)
                            .push_bind(&input.etag);
                    });
                    insert.build().execute(&mut *tx).await?;
                }

                if let Err(e) = write_manifest(&inputs).await {
                    tx.rollback().await?;
                    return Ok(Err(e));
                }
                tx.commit().await?;
                Ok(Ok(ClaimOutcome::Claimed { inputs }))
            }
        }
    };
}

evaluate_backend! {
    mod mysql,
    db = sqlx::MySql,
    // As in track: no gap locks, so concurrent claims of different jobs never
    // deadlock on the runs they insert.
    prelude = Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    begin = "BEGIN",
    null_safe_eq = "<=>",
    name_matches = "file_name LIKE ? ESCAPE '!'",
    glob_pattern = crate::store::glob::to_like_pattern,
}

evaluate_backend! {
    mod sqlite,
    db = sqlx::Sqlite,
    prelude = None::<&'static str>,
    // Takes the write lock up front: overlapping claims queue instead of
    // failing to upgrade a read lock.
    begin = "BEGIN IMMEDIATE",
    null_safe_eq = "IS",
    name_matches = "file_name GLOB ?",
    glob_pattern = crate::store::glob::to_sqlite_glob,
}

fn transient(context: &str) -> impl FnOnce(sqlx::Error) -> TaskError + '_ {
    move |e| TaskError::transient(context, e)
}

impl StateStore {
    /// Every job with its run state, by job id.
    pub(crate) async fn evaluation_jobs(&self) -> Result<Vec<JobState>, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::jobs(pool).await,
            Pool::Sqlite(pool) => sqlite::jobs(pool).await,
        };
        result.map_err(transient("reading job configurations"))
    }

    /// Every run still RUNNING.
    pub(crate) async fn running_runs(&self) -> Result<Vec<RunningRun>, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::running_runs(pool).await,
            Pool::Sqlite(pool) => sqlite::running_runs(pool).await,
        };
        result.map_err(transient("reading running runs"))
    }

    /// RUNNING runs claimed by this execution (an earlier attempt of the task).
    pub(crate) async fn execution_runs(&self, execution_arn: &str) -> Result<Vec<ExecutionRun>, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::execution_runs(pool, execution_arn).await,
            Pool::Sqlite(pool) => sqlite::execution_runs(pool, execution_arn).await,
        };
        result.map_err(transient("reading this execution's runs"))
    }

    /// Marks a RUNNING run (and its job) FAILED; false if it had already ended.
    pub(crate) async fn fail_run(
        &self,
        run: &RunningRun,
        error: &str,
        cause: &str,
        at: OffsetDateTime,
    ) -> Result<bool, TaskError> {
        let at = super::time::StoreTime::new(at);
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::fail_run(pool, run, error, cause, at).await,
            Pool::Sqlite(pool) => sqlite::fail_run(pool, run, error, cause, at).await,
        };
        result.map_err(transient("marking a run FAILED"))
    }

    /// How many usable files the selector matches, counting no further than `limit`.
    pub(crate) async fn count_files(&self, files: &FileSelector<'_>, limit: u64) -> Result<u64, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::count_files(pool, files, limit).await,
            Pool::Sqlite(pool) => sqlite::count_files(pool, files, limit).await,
        };
        result.map_err(transient("counting a job's input files"))
    }

    /// Whether the selector matches at least one usable file.
    pub(crate) async fn any_file(&self, files: &FileSelector<'_>) -> Result<bool, TaskError> {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::any_file(pool, files).await,
            Pool::Sqlite(pool) => sqlite::any_file(pool, files).await,
        };
        result.map_err(transient("looking for a job's companion files"))
    }

    /// Claims a job (see `claim` in the dialect modules). A lost race is
    /// `Ok(ClaimOutcome::Lost)`; database trouble and a manifest that could not
    /// be written are errors, after rollback.
    pub(crate) async fn claim_run<F, Fut>(
        &self,
        claim: &RunClaim<'_>,
        write_manifest: F,
    ) -> Result<ClaimOutcome, TaskError>
    where
        F: FnOnce(&[RunInput]) -> Fut,
        Fut: std::future::Future<Output = Result<(), TaskError>>,
    {
        let result = match &self.pool {
            Pool::MySql(pool) => mysql::claim(pool, claim, write_manifest).await,
            Pool::Sqlite(pool) => sqlite::claim(pool, claim, write_manifest).await,
        };
        result.map_err(transient("claiming a job"))?
    }

    /// Runs a job's extra criterion: a single `SELECT`, read-only, under a
    /// statement timeout. It holds when it returns a row. A query that fails
    /// or times out is an outcome (the job waits), not a task failure; only
    /// trouble reaching the database is.
    pub(crate) async fn extra_criterion(&self, sql: &str, timeout_ms: u32) -> Result<CriterionOutcome, TaskError> {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        if let Err(reason) = check_single_select(sql, self.dialect()) {
            return Ok(CriterionOutcome::Failed(reason));
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
        match &self.pool {
            Pool::MySql(pool) => mysql_criterion(pool, sql, timeout).await,
            Pool::Sqlite(pool) => sqlite_criterion(pool, sql, timeout).await,
        }
    }
}

/// The criterion must parse as exactly one query (`SELECT`, `WITH … SELECT`).
fn check_single_select(sql: &str, dialect: super::Dialect) -> Result<(), String> {
    let parsed = match dialect {
        super::Dialect::MySql => Parser::parse_sql(&MySqlDialect {}, sql),
        super::Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, sql),
    };
    match parsed {
        Ok(statements) => match statements.as_slice() {
            [sqlparser::ast::Statement::Query(_)] => Ok(()),
            _ => Err("is not a single SELECT".to_owned()),
        },
        Err(e) => Err(format!("does not parse: {e}")),
    }
}

/// A database answer to the criterion itself (syntax, unknown column)
/// versus trouble reaching the database.
fn criterion_error(e: sqlx::Error) -> Result<CriterionOutcome, TaskError> {
    match e {
        sqlx::Error::Database(db) => Ok(CriterionOutcome::Failed(db.message().to_owned())),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Ok(CriterionOutcome::Failed(e.to_string())),
        other => Err(TaskError::transient("running an extra criterion", other)),
    }
}

/// MariaDB's ER_STATEMENT_TIMEOUT and MySQL's ER_QUERY_TIMEOUT.
fn is_mysql_timeout(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|e| matches!(e.number(), 1969 | 3024))
        }
        _ => false,
    }
}

/// MariaDB: `SET STATEMENT max_statement_time=<s> FOR <select>` (error 1969);
/// MySQL 8: the session's `max_execution_time` in ms, which applies to
/// read-only SELECTs (error 3024), reset afterwards. Either way inside
/// `START TRANSACTION READ ONLY`, so the criterion cannot write.
async fn mysql_criterion(pool: &sqlx::MySqlPool, sql: &str, timeout: Duration) -> Result<CriterionOutcome, TaskError> {
    use sqlx::{Connection, Executor};
    let mut conn = pool.acquire().await.map_err(|e| TaskError::transient("connecting to the state store", e))?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| TaskError::transient("reading the server version", e))?;
    let mariadb = version.contains("MariaDB");
    let seconds = timeout.as_secs_f64();
    let ms = timeout.as_millis();

    let run = async {
        if !mariadb {
            conn.execute(sqlx::AssertSqlSafe(format!("SET SESSION max_execution_time = {ms}"))).await?;
        }
        let mut tx = conn.begin_with("START TRANSACTION READ ONLY").await?;
        let query =
            if mariadb { format!("SET STATEMENT max_statement_time={seconds} FOR {sql}") } else { sql.to_owned() };
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(query)).fetch_optional(&mut *tx).await;
        tx.rollback().await?;
        row
    };
    let outcome = tokio::time::timeout(timeout + CLIENT_GRACE, run).await;
    let outcome = match outcome {
        Err(_) => {
            // The connection is mid-statement: never hand it to anyone else.
            conn.close_on_drop();
            return Ok(CriterionOutcome::TimedOut);
        }
        Ok(Ok(Some(_))) => Ok(CriterionOutcome::Holds),
        Ok(Ok(None)) => Ok(CriterionOutcome::NoRow),
        Ok(Err(e)) if is_mysql_timeout(&e) => Ok(CriterionOutcome::TimedOut),
        Ok(Err(e)) => criterion_error(e),
    };
    if !mariadb && conn.execute("SET SESSION max_execution_time = DEFAULT").await.is_err() {
        conn.close_on_drop();
    }
    outcome
}

/// SQLite: `PRAGMA query_only` on the connection for the criterion, and a
/// progress handler that interrupts the statement at the deadline
/// (`SQLITE_INTERRUPT`), so a runaway query stops inside SQLite rather than
/// only being abandoned by the client.
async fn sqlite_criterion(
    pool: &sqlx::SqlitePool,
    sql: &str,
    timeout: Duration,
) -> Result<CriterionOutcome, TaskError> {
    use sqlx::{Connection, Executor};
    let mut conn = pool.acquire().await.map_err(|e| TaskError::transient("connecting to the state store", e))?;
    conn.execute("PRAGMA query_only = ON")
        .await
        .map_err(|e| TaskError::transient("making a connection read-only", e))?;
    let deadline = std::time::Instant::now() + timeout;
    let outcome = async {
        conn.lock_handle().await?.set_progress_handler(1_000, move || std::time::Instant::now() < deadline);
        let mut tx = conn.begin().await?;
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).fetch_optional(&mut *tx).await;
        tx.rollback().await?;
        Ok::<_, sqlx::Error>(row)
    }
    .await;
    let outcome = match outcome {
        Ok(Ok(Some(_))) => Ok(CriterionOutcome::Holds),
        Ok(Ok(None)) => Ok(CriterionOutcome::NoRow),
        Ok(Err(e)) | Err(e) => {
            // The progress handler only interrupts at the deadline.
            if std::time::Instant::now() >= deadline {
                Ok(CriterionOutcome::TimedOut)
            } else {
                criterion_error(e)
            }
        }
    };
    let reset = async {
        conn.lock_handle().await?.remove_progress_handler();
        conn.execute("PRAGMA query_only = OFF").await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if reset.is_err() {
        conn.close_on_drop();
    }
    outcome
}
