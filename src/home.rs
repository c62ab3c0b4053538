//! The local home (`.edba/` by default): where `edba run` keeps the embedded S3
//! data, the SQLite state store and the warehouse, and where `status`,
//! `impacted` and `jobs apply` look unless given `--state-store`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use edba_tasks::store::StateStore;
use edba_tasks::TaskError;

/// Where the state store is: a home folder, or an explicit URL.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// The local home folder (embedded S3 data, SQLite state store and warehouse).
    #[arg(long, env = "EDBA_HOME", default_value = ".edba")]
    pub home: PathBuf,
    /// A state store URL (`mysql://…` or `sqlite://…`) instead of the home's SQLite file.
    #[arg(long, env = "EDBA_STATE_STORE_URL")]
    pub state_store: Option<String>,
}

impl StoreArgs {
    /// The state store URL these arguments name.
    pub fn url(&self) -> String {
        match &self.state_store {
            Some(url) => url.clone(),
            None => sqlite_url(&self.home.join("state.db")),
        }
    }

    /// Connects and brings the schema up to date.
    pub async fn open(&self) -> anyhow::Result<StateStore> {
        if self.state_store.is_none() {
            std::fs::create_dir_all(&self.home)
                .with_context(|| format!("cannot create the home folder {}", self.home.display()))?;
        }
        let store = StateStore::connect(&self.url()).await.map_err(task_error)?;
        store.migrate().await.map_err(task_error)?;
        Ok(store)
    }
}

/// `sqlite://` URL of a database file, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A task error as the CLI reports it: its stable name, then the message.
pub fn task_error(e: TaskError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e, e.name())
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
