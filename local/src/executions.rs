//! The executions `edba serve` ran, kept in the home (`executions.db`,
//! SQLite) with their histories, so a restart keeps them as Step Functions
//! keeps an account's executions.
//!
//! The executor tells the log when an execution starts and when it ends
//! ([`ExecutionLog::observer`]); writes go through one writer task, in that
//! order. An execution still RUNNING when the log opens belonged to a serve
//! that was killed: it is marked ABORTED, and the Step Functions stand-in
//! answers so, so evaluate reconciles its run (its inputs are fresh again).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use tokio::sync::mpsc::UnboundedSender;

use crate::executor::history::now_rfc3339;
use crate::executor::{ExecutionHandle, ExecutionObserver, ExecutionResult};

/// The error of an execution its serve did not see end.
pub const SERVE_STOPPED: &str = "Edba.ServeStopped";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_arn TEXT NOT NULL UNIQUE,
    state_machine TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT NOT NULL,
    stop_date TEXT,
    error TEXT,
    cause TEXT,
    output TEXT,
    history TEXT
)";

/// One execution, as the log keeps it and the API lists it (the fields of
/// Step Functions' `ListExecutions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggedExecution {
    pub execution_arn: String,
    pub state_machine: String,
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
    /// RFC 3339, UTC.
    pub start_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Which executions [`ExecutionLog::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub machine: Option<String>,
    pub status: Option<String>,
    pub max: u32,
}

enum Write {
    Started(LoggedExecution),
    Finished {
        arn: String,
        status: String,
        stop_date: String,
        error: Option<String>,
        cause: Option<String>,
        output: Option<String>,
        history: String,
    },
    /// Answered once every write before it is done.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The home's execution log. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ExecutionLog {
    pool: SqlitePool,
    writes: UnboundedSender<Write>,
    /// Executions found RUNNING on open, now ABORTED.
    aborted: Arc<Vec<LoggedExecution>>,
}

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Write")
    }
}

fn logged(row: &sqlx::sqlite::SqliteRow) -> LoggedExecution {
    LoggedExecution {
        execution_arn: row.get("execution_arn"),
        state_machine: row.get("state_machine"),
        name: row.get("name"),
        status: row.get("status"),
        start_date: row.get("start_date"),
        stop_date: row.get("stop_date"),
        error: row.get("error"),
        cause: row.get("cause"),
    }
}

/// The columns [`logged`] reads, spliced into literal SQL text.
macro_rules! columns {
    () => {
        "execution_arn, state_machine, name, status, start_date, stop_date, error, cause"
    };
}

impl ExecutionLog {
    /// Opens (or creates) the log at `path`; executions left RUNNING by a
    /// serve that did not stop cleanly become ABORTED.
    pub async fn open(path: &Path) -> Result<ExecutionLog, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            // A record lost to a power cut costs a line of history, not data:
            // no fsync per execution.
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::query(SCHEMA).execute(&pool).await?;
        let stale: Vec<LoggedExecution> =
            sqlx::query(concat!("SELECT ", columns!(), " FROM executions WHERE status = 'RUNNING' ORDER BY seq"))
                .fetch_all(&pool)
                .await?
                .iter()
                .map(logged)
                .collect();
        let now = now_rfc3339();
        let cause = "edba serve stopped before this execution ended; a serve started later marked it aborted";
        let mut aborted = Vec::with_capacity(stale.len());
        for mut execution in stale {
            sqlx::query(
                "UPDATE executions SET status = 'ABORTED', stop_date = ?, error = ?, cause = ? WHERE execution_arn = ?",
            )
            .bind(&now)
            .bind(SERVE_STOPPED)
            .bind(cause)
            .bind(&execution.execution_arn)
            .execute(&pool)
            .await?;
            execution.status = "ABORTED".into();
            execution.stop_date = Some(now.clone());
            execution.error = Some(SERVE_STOPPED.into());
            execution.cause = Some(cause.into());
            aborted.push(execution);
        }

        let (writes, mut pending) = tokio::sync::mpsc::unbounded_channel::<Write>();
        let writer = pool.clone();
        tokio::spawn(async move {
            while let Some(write) = pending.recv().await {
                // A write that fails (a full disk) loses that record, not the execution.
                let _ = apply(&writer, write).await;
            }
        });
        Ok(ExecutionLog { pool, writes, aborted: Arc::new(aborted) })
    }

    /// The executions this open found RUNNING and marked ABORTED.
    pub fn aborted(&self) -> &[LoggedExecution] {
        &self.aborted
    }

    /// What the executor tells the log.
    pub fn observer(&self) -> Arc<dyn ExecutionObserver> {
        Arc::new(Observer(self.writes.clone()))
    }

    /// Waits until every write sent so far is done.
    pub async fn flush(&self) {
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self.writes.send(Write::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }

    /// Executions newest first.
    pub async fn list(&self, filter: &ExecutionFilter) -> Result<Vec<LoggedExecution>, sqlx::Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM executions WHERE (?1 IS NULL OR state_machine = ?1) AND (?2 IS NULL OR status = ?2) \
             ORDER BY seq DESC LIMIT ?3"
        ))
        .bind(filter.machine.as_deref())
        .bind(filter.status.as_deref())
        .bind(i64::from(filter.max))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(logged).collect())
    }

    /// One execution by name (or ARN), with its output and history.
    pub async fn get(&self, name: &str) -> Result<Option<(LoggedExecution, Value, Value)>, sqlx::Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            ", output, history FROM executions WHERE name = ?1 OR execution_arn = ?1 ORDER BY seq DESC LIMIT 1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| {
            let json = |column: &str| {
                row.get::<Option<String>, _>(column)
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or(Value::Null)
            };
            (logged(&row), json("output"), json("history"))
        }))
    }
}

async fn apply(pool: &SqlitePool, write: Write) -> Result<(), sqlx::Error> {
    match write {
        Write::Started(e) => {
            sqlx::query(
                "INSERT OR IGNORE INTO executions (execution_arn, state_machine, name, status, start_date) \
                 VALUES (?, ?, ?, 'RUNNING', ?)",
            )
            .bind(e.execution_arn)
            .bind(e.state_machine)
            .bind(e.name)
            .bind(e.start_date)
            .execute(pool)
            .await?;
        }
        Write::Finished { arn, status, stop_date, error, cause, output, history } => {
            sqlx::query(
                "UPDATE executions SET status = ?, stop_date = ?, error = ?, cause = ?, output = ?, history = ? \
                 WHERE execution_arn = ?",
            )
            .bind(status)
            .bind(stop_date)
            .bind(error)
            .bind(cause)
            .bind(output)
            .bind(history)
            .bind(arn)
            .execute(pool)
            .await?;
        }
        Write::Flush(done) => {
            let _ = done.send(());
        }
    }
    Ok(())
}

struct Observer(UnboundedSender<Write>);

impl ExecutionObserver for Observer {
    fn started(&self, handle: &ExecutionHandle) {
        let _ = self.0.send(Write::Started(LoggedExecution {
            execution_arn: handle.execution_arn.clone(),
            state_machine: handle.state_machine.clone(),
            name: handle.name.clone(),
            status: "RUNNING".into(),
            start_date: handle.start_date.clone(),
            stop_date: None,
            error: None,
            cause: None,
        }));
    }

    fn finished(&self, result: &ExecutionResult) {
        let _ = self.0.send(Write::Finished {
            arn: result.execution_arn.clone(),
            status: result.status.to_string(),
            stop_date: result.history.events.last().map_or_else(now_rfc3339, |e| e.timestamp.clone()),
            error: result.error.clone(),
            cause: result.cause.clone(),
            output: result.output.as_ref().map(Value::to_string),
            history: result.history.to_json().to_string(),
        });
    }
}
