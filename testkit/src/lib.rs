//! A migrated state store for integration tests, on SQLite (a temp file) or on
//! a fresh MariaDB database that is dropped afterwards, plus an admin pool for
//! the rows a test sets up by hand (what other tasks would write).
//!
//! MariaDB is `mysql://root@127.0.0.1:3306/` unless `EDBA_TEST_MYSQL_URL` says
//! otherwise; when it is unreachable the test fails with how to start it.

use std::sync::atomic::{AtomicU32, Ordering};

use edba_tasks::store::StateStore;
use sqlx::{Connection, MySqlConnection, MySqlPool, SqlitePool};

/// A second connection to the store's database.
#[derive(Debug)]
pub enum Admin {
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

#[derive(Debug)]
enum Cleanup {
    TempDir(#[allow(dead_code)] tempfile::TempDir),
    DropDatabase { server_url: String, database: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::DropDatabase { server_url, database } = self {
            let (server_url, name) = (server_url.clone(), database.clone());
            // Drop runs inside the test's runtime, which cannot block on
            // another future: use a thread with its own runtime.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let mut conn = MySqlConnection::connect(&server_url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`")))
                        .execute(&mut conn)
                        .await?;
                    conn.close().await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop test database {database}");
            }
        }
    }
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

static DATABASE_SEQ: AtomicU32 = AtomicU32::new(0);

/// `server_url` with its database path replaced by `database`.
pub fn database_url(server_url: &str, database: &str) -> String {
    let authority_start = server_url.find("://").map_or(0, |i| i + 3);
    let path_start = server_url[authority_start..].find('/').map_or(server_url.len(), |i| authority_start + i);
    format!("{}/{database}", &server_url[..path_start])
}

/// The MariaDB server the tests use.
pub fn mysql_server_url() -> String {
    std::env::var("EDBA_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/".to_owned())
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

    /// A fresh database `edba_<tag>_test_<pid>_<n>` on MariaDB.
    pub async fn mariadb(tag: &str) -> StoreDb {
        let server_url = mysql_server_url();
        // One plain connection, not a pool: a refused connection fails at once
        // with its cause instead of after the pool's acquire timeout.
        let mut server = MySqlConnection::connect(&server_url).await.unwrap_or_else(|e| {
            panic!(
                "MariaDB is required for these tests and is unreachable at {server_url}: {e}\n\
                 start it (scripts/services.sh) or point EDBA_TEST_MYSQL_URL at a \
                 MySQL-compatible server"
            )
        });
        let database =
            format!("edba_{tag}_test_{}_{}", std::process::id(), DATABASE_SEQ.fetch_add(1, Ordering::Relaxed));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{database}`"))).execute(&mut server).await.unwrap();
        server.close().await.unwrap();
        let cleanup = Cleanup::DropDatabase { server_url: server_url.clone(), database: database.clone() };
        let url = database_url(&server_url, &database);
        let store = StateStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let admin = MySqlPool::connect(&url).await.unwrap();
        StoreDb { url, store, admin: Admin::MySql(admin), _cleanup: cleanup }
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
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn database_url_replaces_the_path() {
        assert_eq!(database_url("mysql://root@127.0.0.1:3306/", "x"), "mysql://root@127.0.0.1:3306/x");
        assert_eq!(database_url("mysql://root@127.0.0.1:3306", "x"), "mysql://root@127.0.0.1:3306/x");
        assert_eq!(database_url("mysql://u:p@h/test", "x"), "mysql://u:p@h/x");
    }
}
