//! An S3-compatible server on loopback, backed by a directory.
//!
//! Tests and the local runtime point `aws-sdk-s3` at it with an endpoint
//! override, so the tasks run exactly the S3 code they run in AWS: signed
//! requests, path-style addressing, multipart uploads, streaming bodies.
//!
//! Each bucket is a sub-directory of the root; objects are files below it
//! (`s3s-fs`), and every bucket is versioned like the deployed one
//! (`s3versions.rs`). Requests must be signed (SigV4) with the fixed local
//! credentials below, so an unsigned or mis-signed request fails here as it
//! would in AWS.
//!
//! The server runs on its own thread with its own Tokio runtime: it keeps
//! serving however the caller's runtime is configured (a `current_thread`
//! test runtime that blocks, or several runtimes in turn) and it stops when
//! [`EmbeddedS3::shutdown`] is awaited or the handle is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_sdk_s3::config::{Credentials, Region};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey, SimpleAuth};
use s3s::path::S3Path;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{s3_error, S3Result};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::s3versions::{ObjectCreated, VersionedBuckets};

/// Access key id of the embedded server. A local, made-up value: it opens
/// nothing but this process's loopback server.
pub const ACCESS_KEY_ID: &str = "edba-local";
/// Secret key of the embedded server; as fake as [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "edba-local-secret";
/// The region clients sign for. The server accepts any region in the
/// signature scope, but a fixed one keeps every client alike.
pub const REGION: &str = "us-east-1";

/// How long shutdown waits for in-flight requests before dropping them.
const GRACEFUL_SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// Why the embedded server could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedS3Error {
    #[error("embedded S3 root directory {path}: {source}")]
    Root { path: PathBuf, source: std::io::Error },
    #[error("embedded S3 root directory {path}: {message}")]
    Backend { path: PathBuf, message: String },
    #[error("embedded S3 could not listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("embedded S3 thread: {0}")]
    Thread(std::io::Error),
    #[error("embedded S3 bucket {bucket}: {message}")]
    CreateBucket { bucket: String, message: String },
}

pub type Result<T, E = EmbeddedS3Error> = std::result::Result<T, E>;

/// How [`EmbeddedS3::start_with`] serves: the port, the credentials clients
/// sign with, and who hears of created objects.
#[derive(Debug, Clone)]
pub struct S3ServerOptions {
    /// 0: any free port.
    pub port: u16,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Every object version a client request creates (PutObject,
    /// CompleteMultipartUpload, CopyObject), as S3 event notifications tell.
    pub created: Option<tokio::sync::mpsc::UnboundedSender<ObjectCreated>>,
}

impl Default for S3ServerOptions {
    fn default() -> Self {
        S3ServerOptions {
            port: 0,
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: SECRET_ACCESS_KEY.to_owned(),
            created: None,
        }
    }
}

/// A request as an injected fault sees it ([`EmbeddedS3::inject_fault`]).
#[derive(Debug, Clone, Copy)]
pub struct S3Request<'a> {
    /// The S3 operation: `PutObject`, `GetObject`, `HeadObject`, …
    pub operation: &'a str,
    pub bucket: &'a str,
    /// The object key; empty for a bucket request.
    pub key: &'a str,
}

/// Which requests fail, and how often so far.
type FaultFilter = Arc<dyn Fn(&S3Request<'_>) -> bool + Send + Sync>;

#[derive(Default, Clone)]
struct Faults(Arc<RwLock<Option<FaultFilter>>>);

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.0.read().map(|g| g.is_some()).unwrap_or(false);
        f.debug_struct("Faults").field("injected", &set).finish()
    }
}

/// A running embedded S3 server. Dropping it stops the server (without
/// waiting); [`EmbeddedS3::shutdown`] stops it and waits until it has.
#[derive(Debug)]
pub struct EmbeddedS3 {
    addr: SocketAddr,
    root: PathBuf,
    access_key_id: String,
    secret_access_key: String,
    faults: Faults,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<oneshot::Receiver<()>>,
}

impl EmbeddedS3 {
    /// Serves the directory `root_dir` (created if missing) on
    /// `127.0.0.1:<free port>`. Existing sub-directories are buckets.
    pub fn start(root_dir: &Path) -> Result<EmbeddedS3> {
        EmbeddedS3::start_with(root_dir, S3ServerOptions::default())
    }

    /// [`EmbeddedS3::start`] on a chosen port, with chosen credentials, and
    /// telling `options.created` about every object version created.
    pub fn start_with(root_dir: &Path, options: S3ServerOptions) -> Result<EmbeddedS3> {
        std::fs::create_dir_all(root_dir)
            .map_err(|source| EmbeddedS3Error::Root { path: root_dir.to_owned(), source })?;
        let root =
            root_dir.canonicalize().map_err(|source| EmbeddedS3Error::Root { path: root_dir.to_owned(), source })?;
        let files = s3s_fs::FileSystem::new(&root)
            .map_err(|e| EmbeddedS3Error::Backend { path: root.clone(), message: format!("{e:?}") })?;
        let faults = Faults::default();
        let access = SignedAndExisting { root: root.clone(), faults: faults.clone() };
        let auth = OneKey(SimpleAuth::from_single(options.access_key_id.as_str(), options.secret_access_key.as_str()));

        // Bind here, synchronously, so the port is known and already accepting
        // connections (queued by the kernel) when `start` returns.
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, options.port))
            .map_err(EmbeddedS3Error::Bind)?;
        listener.set_nonblocking(true).map_err(EmbeddedS3Error::Bind)?;
        let addr = listener.local_addr().map_err(EmbeddedS3Error::Bind)?;

        // The backend (its version index is a SQLite pool) is opened on the
        // server's own runtime, which it then serves on; `start` waits for it.
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(EmbeddedS3Error::Thread)?;
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let (stopped_tx, stopped_rx) = oneshot::channel();
        let created = options.created.clone();
        let backend_root = root.clone();
        std::thread::Builder::new()
            .name(format!("edba-s3-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let mut backend = match VersionedBuckets::open(files, &backend_root).await {
                        Ok(backend) => backend,
                        Err(e) => {
                            let _ = opened_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    if let Some(created) = created {
                        backend = backend.notify_created(created);
                    }
                    let mut builder = S3ServiceBuilder::new(backend);
                    builder.set_auth(auth);
                    builder.set_access(access);
                    let service = builder.build();
                    let _ = opened_tx.send(Ok(()));
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, service, stop_rx).await,
                        Err(err) => eprintln!("embedded S3: cannot use listener: {err}"),
                    }
                });
                let _ = stopped_tx.send(());
            })
            .map_err(EmbeddedS3Error::Thread)?;
        match opened_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err(EmbeddedS3Error::Backend { path: root, message }),
            Err(_) => return Err(EmbeddedS3Error::Backend { path: root, message: "the server thread ended".into() }),
        }

        Ok(EmbeddedS3 {
            addr,
            root,
            access_key_id: options.access_key_id,
            secret_access_key: options.secret_access_key,
            faults,
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
        })
    }

    /// Makes every request `fails` picks answer `503 SlowDown`, as S3 does
    /// under load, until [`EmbeddedS3::clear_faults`]: for fault-injection
    /// tests through real S3 clients (which retry it, then give up).
    pub fn inject_fault(&self, fails: impl Fn(&S3Request<'_>) -> bool + Send + Sync + 'static) {
        *self.faults.0.write().expect("not poisoned") = Some(Arc::new(fails));
    }

    /// Ends an injected fault.
    pub fn clear_faults(&self) {
        *self.faults.0.write().expect("not poisoned") = None;
    }

    /// `http://127.0.0.1:<port>`, for an endpoint override.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory the buckets live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration of a client of this server: path-style addressing,
    /// the local credentials, [`REGION`]. Callers may adjust it (timeouts,
    /// retries) before building a client.
    pub fn client_config(&self) -> aws_sdk_s3::config::Builder {
        let credentials =
            Credentials::new(self.access_key_id.clone(), self.secret_access_key.clone(), None, None, "edba-local");
        aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint_url())
            .force_path_style(true)
            .credentials_provider(credentials)
    }

    /// An `aws-sdk-s3` client of this server.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(self.client_config().build())
    }

    /// Creates a bucket through the S3 API (idempotent for buckets this server
    /// already has).
    pub async fn create_bucket(&self, name: &str) -> Result<()> {
        let client = self.client().await;
        match client.create_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(err) => {
                let already_ours = err
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists());
                if already_ours {
                    Ok(())
                } else {
                    Err(EmbeddedS3Error::CreateBucket {
                        bucket: name.to_owned(),
                        message: aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
                    })
                }
            }
        }
    }

    /// Stops accepting connections, lets in-flight requests finish (for at most
    /// a few seconds) and returns when the server thread is done.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The server's one key pair; an unknown access key id is refused with S3's
/// `InvalidAccessKeyId` (`SimpleAuth` alone answers `NotSignedUp`).
struct OneKey(SimpleAuth);

#[async_trait::async_trait]
impl S3Auth for OneKey {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.lookup(access_key) {
            Some(secret) => Ok(secret.clone()),
            None => {
                Err(s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records."))
            }
        }
    }
}

/// Admits signed requests only, and answers `NoSuchBucket` for an object in a
/// bucket that does not exist, as S3 does (`s3s-fs` alone would say
/// `NoSuchKey`, which callers rightly treat differently).
#[derive(Debug)]
struct SignedAndExisting {
    root: PathBuf,
    faults: Faults,
}

#[async_trait::async_trait]
impl S3Access for SignedAndExisting {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_none() {
            return Err(s3_error!(AccessDenied, "requests must be signed"));
        }
        let fault = self.faults.0.read().expect("not poisoned").clone();
        if let Some(fails) = fault {
            let (bucket, key) = match cx.s3_path() {
                S3Path::Object { bucket, key } => (&**bucket, &**key),
                S3Path::Bucket { bucket } => (&**bucket, ""),
                S3Path::Root => ("", ""),
            };
            if fails(&S3Request { operation: cx.s3_op().name(), bucket, key }) {
                return Err(s3_error!(SlowDown, "an injected fault (EmbeddedS3::inject_fault)"));
            }
        }
        if let S3Path::Object { bucket, .. } = cx.s3_path() {
            if !self.root.join(&**bucket).is_dir() {
                return Err(s3_error!(NoSuchBucket));
            }
        }
        Ok(())
    }
}

/// Accepts connections until `stop` fires (or its sender is dropped), then
/// shuts down gracefully.
async fn serve(listener: TcpListener, service: S3Service, mut stop: oneshot::Receiver<()>) {
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                // Transient accept errors (for example too many open files)
                // must not end the server; back off briefly instead.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Small responses go out at once: with Nagle on, a response written
        // in two pieces waits for the client's delayed ACK (~40 ms a request).
        let _ = socket.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(GRACEFUL_SHUTDOWN_LIMIT) => {}
    }
}
