//! What differs between the two stores, and the one way statements run on
//! either.
//!
//! [`SqlDialect`] is the whole list of differences: the SQL fragments that
//! really differ (write-transaction prelude and begin, row lock, glob
//! matching, JSON as text), how a glob becomes a bound
//! pattern, the migrations and the extra criterion's sandbox. It is
//! implemented for `sqlx::MySql` and `sqlx::Sqlite`; nothing else in the
//! store is per dialect.
//!
//! [`Backend`] is implemented once, for every dialect, and is how statements
//! run: SQL text (written once, with dialect fragments spliced in from the
//! constants below, never data) and a list of bound [`Param`]s. Statement
//! functions elsewhere in the store are generic over `B: Backend` and written
//! once; `StateStore` picks the backend with `dispatch!`.

use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Connection, Database, Decode, Encode, Executor, IntoArguments, MySql, Sqlite, Type};

use super::glob;
use super::pool::StorePool;
use super::time::StoreTime;
use super::types::CriterionOutcome;
use crate::TaskError;

/// A running extra criterion.
pub(crate) type Criterion<'a> = BoxFuture<'a, Result<CriterionOutcome, TaskError>>;

/// The fragments and behaviour in which MySQL and SQLite differ.
pub(crate) trait SqlDialect: Database {
    /// Which dialect this is, for callers outside the store.
    const DIALECT: super::Dialect;
    /// Run on the connection right before [`Self::BEGIN_WRITE`].
    const PRELUDE: Option<&'static str>;
    /// Starts a transaction that writes.
    const BEGIN_WRITE: &'static str;
    /// Appended to a `SELECT` of the row a write transaction is about to change.
    const LOCK_ROW: &'static str;
    /// A predicate on `file_name` with one parameter: a glob as
    /// [`Self::glob_pattern`] renders it.
    const NAME_MATCHES: &'static str;
    /// The embedded migrations of the dialect (`sql/state/<dialect>`).
    fn migrations() -> &'static Migrator;

    /// A JSON column read as text.
    fn json_text(column: &str) -> String;

    /// A job glob as the pattern [`Self::NAME_MATCHES`] binds.
    fn glob_pattern(glob: &str) -> String;

    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// The parser dialect that checks an extra criterion is one `SELECT`.
    fn criterion_parser() -> Box<dyn sqlparser::dialect::Dialect>;

    /// Runs an extra criterion read-only under a statement timeout (see
    /// `criterion.rs`: each dialect has its own sandbox).
    fn run_criterion<'a>(pool: &'a StorePool<Self>, sql: &'a str, timeout: Duration) -> Criterion<'a>;
}

impl SqlDialect for MySql {
    const DIALECT: super::Dialect = super::Dialect::MySql;
    // Under READ COMMITTED a SELECT … FOR UPDATE of a missing row takes no gap
    // lock, so concurrent first deliveries of one event queue on the inserted
    // row (the losers get a duplicate key and retry) instead of deadlocking,
    // and concurrent claims of different jobs never deadlock on the runs they
    // insert.
    const PRELUDE: Option<&'static str> = Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    const BEGIN_WRITE: &'static str = "BEGIN";
    const LOCK_ROW: &'static str = " FOR UPDATE";
    // The tables' binary collation makes LIKE case-sensitive, like GLOB.
    const NAME_MATCHES: &'static str = "file_name LIKE ? ESCAPE '!'";

    fn migrations() -> &'static Migrator {
        static MIGRATIONS: Migrator = sqlx::migrate!("../sql/state/mysql");
        &MIGRATIONS
    }

    // MySQL 8's JSON type is not a string type to the driver; MariaDB's is text.
    fn json_text(column: &str) -> String {
        format!("CAST({column} AS CHAR)")
    }

    fn glob_pattern(glob: &str) -> String {
        glob::to_like_pattern(glob)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn criterion_parser() -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::MySqlDialect {})
    }

    fn run_criterion<'a>(pool: &'a StorePool<Self>, sql: &'a str, timeout: Duration) -> Criterion<'a> {
        Box::pin(super::criterion::mysql(pool, sql, timeout))
    }
}

impl SqlDialect for Sqlite {
    const DIALECT: super::Dialect = super::Dialect::Sqlite;
    const PRELUDE: Option<&'static str> = None;
    // Takes the database's write lock up front: concurrent writers queue
    // (busy timeout) instead of both reading and then failing to upgrade.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // BEGIN IMMEDIATE already holds the only write lock.
    const LOCK_ROW: &'static str = "";
    // SQLite's LIKE ignores ASCII case; GLOB does not.
    const NAME_MATCHES: &'static str = "file_name GLOB ?";

    fn migrations() -> &'static Migrator {
        static MIGRATIONS: Migrator = sqlx::migrate!("../sql/state/sqlite");
        &MIGRATIONS
    }

    fn json_text(column: &str) -> String {
        column.to_owned()
    }

    fn glob_pattern(glob: &str) -> String {
        glob::to_sqlite_glob(glob)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn criterion_parser() -> Box<dyn sqlparser::dialect::Dialect> {
        Box::new(sqlparser::dialect::SQLiteDialect {})
    }

    fn run_criterion<'a>(pool: &'a StorePool<Self>, sql: &'a str, timeout: Duration) -> Criterion<'a> {
        Box::pin(super::criterion::sqlite(pool, sql, timeout))
    }
}

/// A bound parameter. Every value a statement uses is one of these; SQL text
/// never holds data.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Int32(i32),
    Bool(bool),
    Time(StoreTime),
    OptTime(Option<StoreTime>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::OptText(v)
    }
}
impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::OptText(v.as_deref())
    }
}
impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::OptInt(v)
    }
}
impl From<i32> for Param<'_> {
    fn from(v: i32) -> Self {
        Param::Int32(v)
    }
}
impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}
impl From<StoreTime> for Param<'_> {
    fn from(v: StoreTime) -> Self {
        Param::Time(v)
    }
}
impl From<Option<StoreTime>> for Param<'_> {
    fn from(v: Option<StoreTime>) -> Self {
        Param::OptTime(v)
    }
}

/// A value a statement reads from a column: `let id: String = row.read("job_id")?`.
pub(crate) trait Value: Sized {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error>;
}

impl Value for String {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::text(row, column)
    }
}
impl Value for Option<String> {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::opt_text(row, column)
    }
}
impl Value for i64 {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::int(row, column)
    }
}
impl Value for Option<i64> {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::opt_int(row, column)
    }
}
impl Value for i32 {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::int32(row, column)
    }
}
impl Value for bool {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::boolean(row, column)
    }
}
impl Value for StoreTime {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::time(row, column)
    }
}
impl Value for Option<StoreTime> {
    fn get<B: Backend>(row: &B::Row, column: &str) -> Result<Self, sqlx::Error> {
        B::opt_time(row, column)
    }
}

/// `row.read(column)` on any row of a [`Backend`].
pub(crate) trait ReadRow {
    fn read<T: Value>(&self, column: &str) -> Result<T, sqlx::Error>;
}

impl<R> ReadRow for R
where
    R: sqlx::Row,
    R::Database: Backend,
{
    fn read<T: Value>(&self, column: &str) -> Result<T, sqlx::Error> {
        T::get::<R::Database>(self, column)
    }
}

/// How statements run, the same for both dialects. Implemented once, below,
/// for every [`SqlDialect`]; the driver bounds live there and nowhere else.
pub(crate) trait Backend: SqlDialect {
    /// A statement with its parameters bound.
    fn query(sql: &str, params: &[Param<'_>]) -> sqlx::query::Query<'static, Self, Self::Arguments>;

    /// Runs a statement; the number of rows it changed.
    fn execute<'c>(
        conn: &'c mut Self::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> BoxFuture<'c, Result<u64, sqlx::Error>>;

    fn fetch_all<'c>(
        conn: &'c mut Self::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> BoxFuture<'c, Result<Vec<Self::Row>, sqlx::Error>>;

    fn fetch_optional<'c>(
        conn: &'c mut Self::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> BoxFuture<'c, Result<Option<Self::Row>, sqlx::Error>>;

    /// Runs statement text as is, without preparing it (session settings).
    fn run_raw<'c>(conn: &'c mut Self::Connection, sql: &'static str) -> BoxFuture<'c, Result<(), sqlx::Error>>;

    fn text(row: &Self::Row, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(row: &Self::Row, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(row: &Self::Row, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(row: &Self::Row, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn int32(row: &Self::Row, column: &str) -> Result<i32, sqlx::Error>;
    fn boolean(row: &Self::Row, column: &str) -> Result<bool, sqlx::Error>;
    fn time(row: &Self::Row, column: &str) -> Result<StoreTime, sqlx::Error>;
    fn opt_time(row: &Self::Row, column: &str) -> Result<Option<StoreTime>, sqlx::Error>;
}

impl<D> Backend for D
where
    D: SqlDialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D> + sqlx::ColumnIndex<D::Row>,
    for<'q> Option<&'q str>: Encode<'q, D> + Type<D>,
    String: for<'r> Decode<'r, D> + Type<D>,
    i64: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    Option<i64>: for<'q> Encode<'q, D> + Type<D>,
    i32: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    bool: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    StoreTime: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    Option<StoreTime>: for<'q> Encode<'q, D> + Type<D>,
{
    fn query(sql: &str, params: &[Param<'_>]) -> sqlx::query::Query<'static, D, D::Arguments> {
        // The text is the store's own: constants with dialect fragments spliced in.
        let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
        for param in params {
            query = match *param {
                Param::Text(v) => query.bind(v),
                Param::OptText(v) => query.bind(v),
                Param::Int(v) => query.bind(v),
                Param::OptInt(v) => query.bind(v),
                Param::Int32(v) => query.bind(v),
                Param::Bool(v) => query.bind(v),
                Param::Time(v) => query.bind(v),
                Param::OptTime(v) => query.bind(v),
            };
        }
        query
    }

    fn execute<'c>(
        conn: &'c mut Self::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> BoxFuture<'c, Result<u64, sqlx::Error>> {
        let query = D::query(sql, params);
        Box::pin(async move { Ok(D::rows_affected(&query.execute(conn).await?)) })
    }

    fn fetch_all<'c>(
        conn: &'c mut Self::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> BoxFuture<'c, Result<Vec<Self::Row>, sqlx::Error>> {
        let query = D::query(sql, params);
        Box::pin(query.fetch_all(conn))
    }

    fn fetch_optional<'c>(
        conn: &'c mut Self::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> BoxFuture<'c, Result<Option<Self::Row>, sqlx::Error>> {
        let query = D::query(sql, params);
        Box::pin(query.fetch_optional(conn))
    }

    fn run_raw<'c>(conn: &'c mut Self::Connection, sql: &'static str) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            conn.execute(sql).await?;
            Ok(())
        })
    }

    fn text(row: &Self::Row, column: &str) -> Result<String, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn opt_text(row: &Self::Row, column: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn int(row: &Self::Row, column: &str) -> Result<i64, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn opt_int(row: &Self::Row, column: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn int32(row: &Self::Row, column: &str) -> Result<i32, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn boolean(row: &Self::Row, column: &str) -> Result<bool, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn time(row: &Self::Row, column: &str) -> Result<StoreTime, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn opt_time(row: &Self::Row, column: &str) -> Result<Option<StoreTime>, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
}

/// The store's one way to start a transaction that writes: the dialect's
/// prelude, then its begin (MySQL: READ COMMITTED, `BEGIN`, and the rows to
/// change are read `FOR UPDATE`; SQLite: `BEGIN IMMEDIATE`).
pub(crate) fn begin_write<B: Backend>(
    conn: &mut PoolConnection<B>,
) -> BoxFuture<'_, Result<sqlx::Transaction<'_, B>, sqlx::Error>> {
    // Boxed so that callers' futures are `Send` for every lifetime: rustc
    // cannot see through `begin_with` in a generic async fn.
    Box::pin(async move {
        if let Some(prelude) = B::PRELUDE {
            B::run_raw(conn, prelude).await?;
        }
        Connection::begin_with(&mut **conn, B::BEGIN_WRITE).await
    })
}
