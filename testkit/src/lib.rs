//! Test support for edba's integration tests, benchmarks included; never a
//! normal dependency.
//!
//! - [`StoreDb`]: a migrated state store on SQLite (a temp file) or on a fresh
//!   MariaDB database dropped afterwards, with an admin pool for the rows a
//!   test sets up by hand (what other tasks would write).
//! - [`on_both_databases!`]: runs each test body once on SQLite and once on
//!   MariaDB.
//! - [`ThrowawayDatabase`]: a fresh MariaDB or PostgreSQL database, dropped
//!   when the value is; [`ThrowawayUser`]: a MariaDB user with privileges on
//!   one such database only (SELECT, or all), whose password a test can
//!   change, dropped likewise.
//! - [`fixtures`]: file events and job configurations with sensible defaults.
//! - [`tls`]: the TLS-only MariaDB (`scripts/services_tls.sh`), its test CA
//!   and an unrelated one; [`ThrowawayDatabase::mariadb_tls`] gives a
//!   database there.
//!
//! MariaDB is `mysql://root@127.0.0.1:3306/` unless `EDBA_TEST_MYSQL_URL` says
//! otherwise, PostgreSQL `postgres://postgres@127.0.0.1:5432/postgres` unless
//! `EDBA_TEST_POSTGRES_URL` does; when a server is unreachable the test fails
//! (never skips) with how to start it.

mod databases;
pub mod fixtures;
pub mod tls;

use edba_payloads::jobs::JobConfig;
use edba_payloads::{TrackInput, TrackOutput};
use edba_tasks::store::{JobRow, StateStore};
use sqlx::{MySqlPool, Row, SqlitePool};
use time::OffsetDateTime;

pub use databases::{database_url, mysql_server_url, postgres_server_url, Grant, ThrowawayDatabase, ThrowawayUser};
pub use fixtures::FileFixture;

/// Runs every listed test body, an `async fn(&StoreDb)`, once on SQLite and
/// once on MariaDB (a fresh database named after `tag`), as
/// `sqlite::<case>` and `mariadb::<case>`.
///
/// ```text
/// edba_testkit::on_both_databases!("store"; first_event_inserts_the_file, older_event_is_ignored);
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($tag:literal; $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(&$crate::StoreDb::sqlite().await).await;
                }
            )*
        }
        mod mariadb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(&$crate::StoreDb::mariadb($tag).await).await;
                }
            )*
        }
    };
}

/// A second connection to the store's database.
#[derive(Debug)]
pub enum Admin {
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

#[derive(Debug)]
enum Cleanup {
    TempDir(#[allow(dead_code)] tempfile::TempDir),
    Database(#[allow(dead_code)] ThrowawayDatabase),
}

/// A migrated store, its URL (for more stores on the same database) and an
/// admin pool.
#[derive(Debug)]
pub struct StoreDb {
    pub url: String,
    pub store: StateStore,
    pub admin: Admin,
    _cleanup: Cleanup,
}

impl StoreDb {
    pub async fn sqlite() -> StoreDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("state.db").display());
        let store = StateStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let admin = SqlitePool::connect(&url).await.unwrap();
        StoreDb { url, store, admin: Admin::Sqlite(admin), _cleanup: Cleanup::TempDir(dir) }
    }

    /// A fresh database `edba_<tag>_test_…` on MariaDB.
    pub async fn mariadb(tag: &str) -> StoreDb {
        let database = ThrowawayDatabase::mariadb(tag).await;
        let url = database.url.clone();
        let store = StateStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let admin = MySqlPool::connect(&url).await.unwrap();
        StoreDb { url, store, admin: Admin::MySql(admin), _cleanup: Cleanup::Database(database) }
    }

    /// Runs setup SQL with text parameters (both servers convert them).
    pub async fn exec(&self, sql: &'static str, params: &[&str]) {
        match &self.admin {
            Admin::MySql(pool) => {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = query.bind(*p);
                }
                query.execute(pool).await.unwrap();
            }
            Admin::Sqlite(pool) => {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = query.bind(*p);
                }
                query.execute(pool).await.unwrap();
            }
        }
    }

    /// Rows of a query with one string parameter, every column read as text
    /// (NULL as "NULL").
    pub async fn rows(&self, sql: &'static str, param: &str) -> Vec<Vec<String>> {
        fn text<R: Row>(row: &R, i: usize) -> String
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            row.try_get::<Option<String>, _>(i).unwrap().unwrap_or_else(|| "NULL".into())
        }
        fn all<R: Row>(rows: Vec<R>) -> Vec<Vec<String>>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            rows.iter().map(|r| (0..r.len()).map(|i| text(r, i)).collect()).collect()
        }
        match &self.admin {
            Admin::MySql(pool) => all(sqlx::query(sql).bind(param).fetch_all(pool).await.unwrap()),
            Admin::Sqlite(pool) => all(sqlx::query(sql).bind(param).fetch_all(pool).await.unwrap()),
        }
    }

    /// Tracks a file event as the track task would.
    pub async fn track(&self, file: &FileFixture) -> TrackOutput {
        self.store.track(&TrackInput { file: file.0.clone() }).await.unwrap()
    }

    /// Stores a job configuration as `edba jobs apply` would.
    pub async fn put_job(&self, config: &JobConfig) {
        self.store.put_job_config(&JobRow::from(config)).await.unwrap();
    }

    /// What evaluate writes when it claims `run_id` of `job_id` at
    /// `started_at` (store time text, see [`sql_time`]): the RUNNING run and
    /// its job's run state. Inputs are the caller's.
    pub async fn claim_run(&self, run_id: &str, job_id: &str, started_at: &str) {
        self.exec(
            "INSERT INTO job_runs (run_id, job_id, config_version, status, cluster_id, \
             execution_arn, manifest_key, output_prefix, started_at) \
             VALUES (?, ?, 1, 'RUNNING', 'j-TESTCLUSTER1', ?, ?, ?, ?)",
            &[
                run_id,
                job_id,
                &format!("arn:aws:states:us-east-1:123456789012:execution:aggregate:{run_id}"),
                &format!("manifests/{job_id}/{run_id}.json"),
                &format!("output/{job_id}/{run_id}/"),
                started_at,
            ],
        )
        .await;
        self.exec(
            "UPDATE job_configs SET last_status = 'RUNNING', last_run_id = ?, last_fired_at = ? WHERE job_id = ?",
            &[run_id, started_at, job_id],
        )
        .await;
    }

    /// Sets a job's run state as a finished (or still running) earlier run
    /// fired at `fired_at` leaves it: its watermark covers every file
    /// validated by then (the rule the store's migration applies to jobs that
    /// fired before sequences existed).
    pub async fn set_job_state(&self, job_id: &str, status: &str, fired_at: OffsetDateTime) {
        let fired_at = sql_time(fired_at);
        self.exec(
            "UPDATE job_configs SET last_status = ?, last_fired_at = ? WHERE job_id = ?",
            &[status, &fired_at, job_id],
        )
        .await;
        self.exec(
            "UPDATE job_configs SET claimed_seq = COALESCE(\
             (SELECT MAX(f.seq) FROM ingested_files f WHERE f.last_validated_at <= ?), 0) WHERE job_id = ?",
            &[&fired_at, job_id],
        )
        .await;
    }
}

/// An instant as the store writes it (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC), for
/// rows set up with SQL.
pub fn sql_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"))
        .expect("a UTC instant formats")
}

#[cfg(test)]
mod tests {
    use super::{database_url, sql_time};

    #[test]
    fn database_url_replaces_the_path() {
        assert_eq!(database_url("mysql://root@127.0.0.1:3306/", "x"), "mysql://root@127.0.0.1:3306/x");
        assert_eq!(database_url("mysql://root@127.0.0.1:3306", "x"), "mysql://root@127.0.0.1:3306/x");
        assert_eq!(database_url("mysql://u:p@h/test", "x"), "mysql://u:p@h/x");
        let tls = "?ssl-mode=VERIFY_IDENTITY&ssl-ca=/tmp/t/ca.pem";
        assert_eq!(database_url(&format!("mysql://root@h:3307/{tls}"), "x"), format!("mysql://root@h:3307/x{tls}"));
        assert_eq!(database_url(&format!("mysql://root@h:3307{tls}"), "x"), format!("mysql://root@h:3307/x{tls}"));
        assert_eq!(database_url(&format!("mysql://h/test{tls}"), "x"), format!("mysql://h/x{tls}"));
    }

    #[test]
    fn sql_time_has_six_fractional_digits() {
        let at = time::macros::datetime!(2024-05-01 12:01:00.5 +02:00);
        assert_eq!(sql_time(at), "2024-05-01 10:01:00.500000");
    }
}
