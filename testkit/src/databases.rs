//! Throwaway databases on the MariaDB and PostgreSQL servers the tests use:
//! created with a name no other test or run uses, dropped when the value is.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, MySqlConnection, PgConnection};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

static DATABASE_SEQ: AtomicU32 = AtomicU32::new(0);

/// The MariaDB server the tests use.
pub fn mysql_server_url() -> String {
    std::env::var("EDBA_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/".to_owned())
}

/// The PostgreSQL server the tests use.
pub fn postgres_server_url() -> String {
    std::env::var("EDBA_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `server_url` with its database path replaced by `database`.
pub fn database_url(server_url: &str, database: &str) -> String {
    let authority_start = server_url.find("://").map_or(0, |i| i + 3);
    let path_start = server_url[authority_start..].find('/').map_or(server_url.len(), |i| authority_start + i);
    format!("{}/{database}", &server_url[..path_start])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    MariaDb,
    Postgres,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::MariaDb => "MariaDB",
            Server::Postgres => "PostgreSQL",
        }
    }

    async fn run(self, server_url: &str, sql: String) -> Result<(), BoxError> {
        // One plain connection, not a pool: a refused connection fails at once
        // with its cause instead of after a pool's acquire timeout.
        match self {
            Server::MariaDb => {
                let mut conn = MySqlConnection::connect(server_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
                conn.close().await?;
            }
            Server::Postgres => {
                let mut conn = PgConnection::connect(server_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
                conn.close().await?;
            }
        }
        Ok(())
    }

    fn drop_sql(self, database: &str) -> String {
        match self {
            Server::MariaDb => format!("DROP DATABASE IF EXISTS `{database}`"),
            Server::Postgres => format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        }
    }

    fn create_sql(self, database: &str) -> String {
        match self {
            Server::MariaDb => format!("CREATE DATABASE `{database}`"),
            Server::Postgres => format!("CREATE DATABASE {database}"),
        }
    }
}

/// A fresh database `edba_<tag>_test_<pid>_<n>_<t>`, dropped on drop.
#[derive(Debug)]
pub struct ThrowawayDatabase {
    /// The database's URL on its server.
    pub url: String,
    pub name: String,
    server: Server,
    server_url: String,
}

impl ThrowawayDatabase {
    /// A database on the tests' MariaDB server; panics with how to start it.
    pub async fn mariadb(tag: &str) -> ThrowawayDatabase {
        Self::create_or_explain(Server::MariaDb, &mysql_server_url(), tag).await
    }

    /// A database on the tests' PostgreSQL server; panics with how to start it.
    pub async fn postgres(tag: &str) -> ThrowawayDatabase {
        Self::create_or_explain(Server::Postgres, &postgres_server_url(), tag).await
    }

    /// A database on the MariaDB server at `server_url` (for benchmarks, which
    /// report rather than panic).
    pub async fn try_mariadb(server_url: &str, tag: &str) -> Result<ThrowawayDatabase, BoxError> {
        Self::create(Server::MariaDb, server_url, tag).await
    }

    async fn create_or_explain(server: Server, server_url: &str, tag: &str) -> ThrowawayDatabase {
        Self::create(server, server_url, tag).await.unwrap_or_else(|e| {
            let variable = match server {
                Server::MariaDb => "EDBA_TEST_MYSQL_URL",
                Server::Postgres => "EDBA_TEST_POSTGRES_URL",
            };
            panic!(
                "{} is required for these tests and could not give a database at {server_url}: {e}\n\
                 start it (scripts/services.sh) or point {variable} at a server",
                server.name()
            )
        })
    }

    async fn create(server: Server, server_url: &str, tag: &str) -> Result<ThrowawayDatabase, BoxError> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "edba_{tag}_test_{}_{}_{}",
            std::process::id(),
            DATABASE_SEQ.fetch_add(1, Ordering::Relaxed),
            nanos % 1_000_000
        );
        server.run(server_url, server.create_sql(&name)).await?;
        Ok(ThrowawayDatabase { url: database_url(server_url, &name), name, server, server_url: server_url.to_owned() })
    }
}

impl Drop for ThrowawayDatabase {
    fn drop(&mut self) {
        let (server, server_url, sql) = (self.server, self.server_url.clone(), self.server.drop_sql(&self.name));
        // Drop may run inside a test's runtime, which cannot block on another
        // future: use a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(server.run(&server_url, sql))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}
