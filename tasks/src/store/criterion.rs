//! A job's extra criterion: configuration SQL (a single `SELECT`, checked by
//! the jobs-file parser and again here) run read-only under a statement
//! timeout. The only SQL text the store does not write itself, and the one
//! place where each dialect needs its own code: the sandbox (a read-only
//! transaction and a server-side timeout on MySQL/MariaDB, `query_only` and a
//! progress handler on SQLite) has nothing in common between them.

use std::time::Duration;

use super::dialect::Backend;
use super::pool::{database_error, StorePool};
use super::types::CriterionOutcome;
use crate::TaskError;

/// How long past its own statement timeout the client waits for a criterion
/// before it gives the connection up (the server-side timeout should fire first).
const CLIENT_GRACE: Duration = Duration::from_secs(2);

/// Runs a job's extra criterion: a single `SELECT`, read-only, under a
/// statement timeout. It holds when it returns a row. A query that fails or
/// times out is an outcome (the job waits), not a task failure; only trouble
/// reaching the database is.
pub(super) async fn run<B: Backend>(
    pool: &StorePool<B>,
    sql: &str,
    timeout_ms: u32,
) -> Result<CriterionOutcome, TaskError> {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    if let Err(reason) = check_single_select(sql, &*B::criterion_parser()) {
        return Ok(CriterionOutcome::Failed(reason));
    }
    B::run_criterion(pool, sql, Duration::from_millis(u64::from(timeout_ms.max(1)))).await
}

/// The criterion must parse as exactly one query (`SELECT`, `WITH … SELECT`)
/// and hold no executable comment (checked when the jobs file was applied,
/// and again here for a configuration written by other means).
fn check_single_select(sql: &str, dialect: &dyn sqlparser::dialect::Dialect) -> Result<(), String> {
    reject_executable_comments(sql)?;
    match parse_criterion(dialect, sql) {
        Ok(statements) => match statements.as_slice() {
            [sqlparser::ast::Statement::Query(_)] => Ok(()),
            _ => Err("is not a single SELECT".to_owned()),
        },
        Err(e) => Err(format!("does not parse: {e}")),
    }
}

/// MySQL and MariaDB *run* the text of `/*! … */` and `/*M! … */` comments,
/// which every SQL parser skips: `SELECT 1 /*! INTO OUTFILE '/tmp/x' */`
/// would pass the read-only check and write a file. No criterion needs one.
pub(crate) fn reject_executable_comments(sql: &str) -> Result<(), String> {
    let lower = sql.to_ascii_lowercase();
    if lower.contains("/*!") || lower.contains("/*m!") {
        return Err("holds a MySQL executable comment (/*! … */ or /*M! … */), which MySQL runs as SQL; \
                    write the SQL without it"
            .into());
    }
    Ok(())
}

/// Parses `sql`, turning a panic of the parser (it has some on malformed
/// input) into an error: no job configuration makes edba panic.
pub(crate) fn parse_criterion(
    dialect: &dyn sqlparser::dialect::Dialect,
    sql: &str,
) -> Result<Vec<sqlparser::ast::Statement>, String> {
    let parsed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sqlparser::parser::Parser::parse_sql(dialect, sql)));
    match parsed {
        Ok(Ok(statements)) => Ok(statements),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the SQL parser cannot read it".into()),
    }
}

/// A database answer to the criterion itself (syntax, unknown column)
/// versus trouble reaching the database. The server's message is never
/// repeated: it can carry data the criterion read (`extractvalue(1,
/// concat('~', (SELECT …)))` puts a value into an XPath error), and the
/// reason reaches execution histories and `edba status`. The class and code
/// say what kind of error it was; run the SQL by hand to see more.
fn criterion_error(e: sqlx::Error) -> Result<CriterionOutcome, TaskError> {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map_or_else(|| "unknown".to_owned(), |c| c.into_owned());
            let detail = match db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                Some(mysql) => format!("SQLSTATE {code}, MySQL error {}", mysql.number()),
                None => format!("SQLite result code {code}"),
            };
            Ok(CriterionOutcome::Failed(format!("the database rejected it ({:?}; {detail})", db.kind())))
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Ok(CriterionOutcome::Failed(e.to_string())),
        other => Err(database_error("running an extra criterion", other)),
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
pub(super) async fn mysql(
    pool: &StorePool<sqlx::MySql>,
    sql: &str,
    timeout: Duration,
) -> Result<CriterionOutcome, TaskError> {
    use sqlx::{Connection, Executor};
    let mut conn = pool.acquire().await.map_err(|e| database_error("connecting to the state store", e))?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| database_error("reading the server version", e))?;
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
    // Whatever the criterion left in its session (a `GET_LOCK`, user
    // variables, the statement timeout) goes with the connection: it never
    // returns to the pool.
    conn.close_on_drop();
    outcome
}

/// SQLite: `PRAGMA query_only` on the connection for the criterion, and a
/// progress handler that interrupts the statement at the deadline
/// (`SQLITE_INTERRUPT`), so a runaway query stops inside SQLite rather than
/// only being abandoned by the client.
pub(super) async fn sqlite(
    pool: &StorePool<sqlx::Sqlite>,
    sql: &str,
    timeout: Duration,
) -> Result<CriterionOutcome, TaskError> {
    use sqlx::{Connection, Executor};
    let mut conn = pool.acquire().await.map_err(|e| database_error("connecting to the state store", e))?;
    conn.execute("PRAGMA query_only = ON").await.map_err(|e| database_error("making a connection read-only", e))?;
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
