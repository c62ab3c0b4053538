//! The store's connection pools, and the one place a rejected login is
//! mended: a [`StorePool`] is sqlx's pool plus, when its credentials come
//! from a Secrets Manager secret, the [`DatabaseLogin`] to read them again.
//!
//! RDS rotates a managed master password (every 7 days by default) while warm
//! Lambda containers keep pools built with the old one. Connections already
//! open stay logged in; the next *new* connection is refused (MySQL error
//! 1045). Every statement of the store gets its connection from
//! [`StorePool::acquire`], which on that error reads the secret again, gives
//! the pool the new credentials (connections already open are kept) and
//! tries once more: the statement has not started yet, so retrying it is
//! safe. A second refusal is a permanent error naming the secret, never its
//! contents. A login without a secret (a URL with its credentials) has
//! nothing to re-read: its refusal is reported as it is.
//!
//! A MySQL pool also knows its URL's TLS settings (`tls.rs`): a connection
//! that cannot be opened because TLS could not be set up as the URL asks
//! (no TLS on the server, a certificate the CA does not vouch for, a missing
//! CA file) is a permanent error saying so, never a retried transient one.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database};

use super::tls::TlsSettings;
use crate::secrets::DatabaseLogin;
use crate::TaskError;

/// A connection pool of the store. Cloning shares the pool and its login.
#[derive(Debug)]
pub(crate) struct StorePool<B: Database> {
    pool: sqlx::Pool<B>,
    renewal: Option<Arc<Renewal>>,
    /// A MySQL URL's TLS settings: which connection failures are permanent.
    tls: Option<Arc<TlsSettings>>,
}

impl<B: Database> Clone for StorePool<B> {
    fn clone(&self) -> Self {
        StorePool { pool: self.pool.clone(), renewal: self.renewal.clone(), tls: self.tls.clone() }
    }
}

/// How a pool's credentials are read again.
#[derive(Debug)]
struct Renewal {
    login: DatabaseLogin,
    /// How many times the credentials were renewed: callers that were refused
    /// with the same credentials renew them once between them.
    renewed: AtomicU64,
    /// One renewal at a time.
    renewing: tokio::sync::Mutex<()>,
}

impl<B: Database> StorePool<B> {
    /// A pool whose credentials never change (a URL that carries them, a
    /// SQLite file).
    pub(crate) fn fixed(pool: sqlx::Pool<B>) -> Self {
        StorePool { pool, renewal: None, tls: None }
    }

    /// A pool built with `login`'s current credentials, read again when the
    /// database refuses them. Only for pools whose connect options are the
    /// URL's and nothing more (MySQL): a renewal rebuilds them from the URL.
    pub(crate) fn renewable(pool: sqlx::Pool<B>, login: DatabaseLogin) -> Self {
        let renewal = login
            .secret_arn()
            .is_some()
            .then(|| Arc::new(Renewal { login, renewed: AtomicU64::new(0), renewing: tokio::sync::Mutex::new(()) }));
        StorePool { pool, renewal, tls: None }
    }

    /// The pool with its URL's TLS settings (the same for every login the
    /// pool renews: they are the URL's, not the secret's).
    pub(crate) fn with_tls(self, tls: TlsSettings) -> Self {
        StorePool { tls: Some(Arc::new(tls)), ..self }
    }

    /// A connection, with the credentials renewed once if the database
    /// refused them (see the module docs). An error that is not a statement's
    /// own carries its [`TaskError`]; [`database_error`] unwraps it.
    pub(crate) fn acquire(&self) -> BoxFuture<'_, Result<PoolConnection<B>, sqlx::Error>> {
        // Boxed so that the generic statement functions' futures stay `Send`.
        Box::pin(async move {
            let Some(renewal) = &self.renewal else {
                return self.connection().await;
            };
            let seen = renewal.renewed.load(Ordering::SeqCst);
            match self.connection().await {
                Err(e) if is_access_denied(&e) => {}
                other => return other,
            }
            renewal.renew(&self.pool, seen).await.map_err(task_error)?;
            match self.connection().await {
                Err(e) if is_access_denied(&e) => Err(task_error(renewal.refused())),
                other => other,
            }
        })
    }

    /// A connection from sqlx's pool; a TLS failure the URL's settings make
    /// permanent carries its [`TaskError`].
    async fn connection(&self) -> Result<PoolConnection<B>, sqlx::Error> {
        self.pool.acquire().await.map_err(|e| match self.tls.as_ref().and_then(|tls| tls.refusal(&e)) {
            Some(refusal) => task_error(refusal),
            None => e,
        })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

impl Renewal {
    /// Reads the secret again and gives the pool its credentials, unless
    /// another caller did since `seen`.
    async fn renew<B: Database>(&self, pool: &sqlx::Pool<B>, seen: u64) -> Result<(), TaskError> {
        let _one_at_a_time = self.renewing.lock().await;
        if self.renewed.load(Ordering::SeqCst) != seen {
            return Ok(());
        }
        let arn = self.login.secret_arn().unwrap_or_default();
        tracing::warn!("the database refused the credentials of the secret {arn}; reading it again (rotated?)");
        let url = self.login.current_url().await?;
        let options = <<B::Connection as Connection>::Options as FromStr>::from_str(&url).map_err(|_| {
            TaskError::InvalidInput(format!("the credentials of the secret {arn} do not make a valid database URL"))
        })?;
        pool.set_connect_options(options);
        self.renewed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn refused(&self) -> TaskError {
        let arn = self.login.secret_arn().unwrap_or_default();
        TaskError::InvalidInput(format!(
            "the database refused the credentials of the secret {arn} (MySQL error 1045, access denied), \
             also after reading the secret again: the secret's username and password do not match a database user"
        ))
    }
}

/// MySQL's ER_ACCESS_DENIED_ERROR: the user or password is wrong.
fn is_access_denied(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|e| e.number() == 1045)
        }
        _ => false,
    }
}

/// A [`TaskError`] carried through sqlx's error type.
fn task_error(e: TaskError) -> sqlx::Error {
    sqlx::Error::Configuration(Box::new(e))
}

/// A database error as a task's error: the [`TaskError`] a pool carried
/// (a refused login is permanent), anything else is trouble reaching the
/// database (`Edba.Transient`).
pub(crate) fn database_error(context: &str, e: sqlx::Error) -> TaskError {
    match e {
        sqlx::Error::Configuration(source) => match source.downcast::<TaskError>() {
            Ok(task) => *task,
            Err(source) => TaskError::transient(context, sqlx::Error::Configuration(source)),
        },
        e => TaskError::transient(context, e),
    }
}
