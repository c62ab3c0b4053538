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

/// `server_url` with its database path replaced by `database`; its query
/// (`?ssl-mode=…`) is kept.
pub fn database_url(server_url: &str, database: &str) -> String {
    let authority_start = server_url.find("://").map_or(0, |i| i + 3);
    let path_start = server_url[authority_start..].find(['/', '?']).map_or(server_url.len(), |i| authority_start + i);
    let query = server_url[path_start..].find('?').map_or("", |i| &server_url[path_start + i..]);
    format!("{}/{database}{query}", &server_url[..path_start])
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

    /// A database on the TLS-only MariaDB server (`scripts/services_tls.sh`),
    /// its URL verifying the server against the test CA
    /// (`ssl-mode=VERIFY_IDENTITY&ssl-ca=…`); panics with how to start it.
    pub async fn mariadb_tls(tag: &str) -> ThrowawayDatabase {
        let server_url = crate::tls::mysql_tls_server_url();
        Self::create(Server::MariaDb, &server_url, tag)
            .await
            .unwrap_or_else(|e| panic!("{} (at {server_url}: {e})", crate::tls::start_the_tls_server()))
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

/// What a [`ThrowawayUser`] may do on its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `SELECT` on the database's tables, nothing else anywhere.
    Select,
    /// Every privilege on the database (a state store's own user).
    All,
}

static USER_SEQ: AtomicU32 = AtomicU32::new(0);

/// The hosts a throwaway user is created for: any, and `localhost` too, so
/// that an anonymous `''@'localhost'` account cannot shadow it on a server
/// that resolves 127.0.0.1 to `localhost`.
const USER_HOSTS: [&str; 2] = ["%", "localhost"];

/// A MariaDB user `edba_user_<pid>_<n>` with privileges on one throwaway
/// database only, dropped (with its sessions) on drop.
#[derive(Debug)]
pub struct ThrowawayUser {
    pub name: String,
    server_url: String,
}

/// MariaDB takes neither a user name nor a password as a bound parameter
/// (`CREATE USER`, `ALTER USER … IDENTIFIED BY` need literals), so both are
/// interpolated, after this check: letters, digits and `_` (and `-` in a
/// password) cannot end a quoted literal or identifier.
fn assert_plain(what: &str, text: &str, extra: &[char]) {
    assert!(
        !text.is_empty()
            && text.len() <= 64
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c)),
        "a throwaway user's {what} must be letters, digits and _ only: {text:?}"
    );
}

impl ThrowawayUser {
    /// A user with `password` and `grant` on `database` only.
    pub async fn mariadb(database: &ThrowawayDatabase, grant: Grant, password: &str) -> ThrowawayUser {
        assert_eq!(database.server, Server::MariaDb, "a throwaway user is a MariaDB user");
        let name = format!("edba_user_{}_{}", std::process::id(), USER_SEQ.fetch_add(1, Ordering::Relaxed));
        assert_plain("name", &name, &[]);
        assert_plain("database", &database.name, &[]);
        assert_plain("password", password, &['-']);
        let user = ThrowawayUser { name, server_url: database.server_url.clone() };
        let privileges = match grant {
            Grant::Select => "SELECT",
            Grant::All => "ALL PRIVILEGES",
        };
        for host in USER_HOSTS {
            user.admin(format!("CREATE USER '{}'@'{host}' IDENTIFIED BY '{password}'", user.name)).await;
            user.admin(format!("GRANT {privileges} ON `{}`.* TO '{}'@'{host}'", database.name, user.name)).await;
        }
        user
    }

    /// `database_url` (a URL of the same server) as this user with `password`.
    pub fn url(&self, database_url: &str, password: &str) -> String {
        let without = Self::url_without_credentials(database_url);
        let (scheme, rest) = without.split_once("://").expect("a URL with a scheme");
        format!("{scheme}://{}:{password}@{rest}", self.name)
    }

    /// `database_url` with no user or password, as the template passes it.
    pub fn url_without_credentials(database_url: &str) -> String {
        let (scheme, rest) = database_url.split_once("://").expect("a URL with a scheme");
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let host_start = rest[..authority_end].rfind('@').map_or(0, |at| at + 1);
        format!("{scheme}://{}", &rest[host_start..])
    }

    /// Changes the password, as a rotation does; open sessions stay logged in.
    pub async fn set_password(&self, password: &str) {
        assert_plain("password", password, &['-']);
        for host in USER_HOSTS {
            self.admin(format!("ALTER USER '{}'@'{host}' IDENTIFIED BY '{password}'", self.name)).await;
        }
    }

    /// Ends every session of the user, so the next connection logs in anew.
    pub async fn disconnect(&self) {
        self.admin(format!("KILL USER '{}'", self.name)).await;
    }

    async fn admin(&self, sql: String) {
        if let Err(e) = Server::MariaDb.run(&self.server_url, sql).await {
            panic!("managing the throwaway user {}: {e}", self.name);
        }
    }
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        // As for a database: a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                Server::MariaDb.run(&server_url, format!("KILL USER '{name}'")).await?;
                for host in USER_HOSTS {
                    Server::MariaDb.run(&server_url, format!("DROP USER IF EXISTS '{name}'@'{host}'")).await?;
                }
                Ok::<_, BoxError>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test user {}", self.name);
        }
    }
}
