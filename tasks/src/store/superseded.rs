//! The outbox of superseded derived objects: track writes a row in the
//! transaction that supersedes a version (or finds one stale), evaluate tags
//! the object `edba-superseded=true` and deletes the row. A failed tagging
//! leaves the row for the next evaluation; nothing is ever lost between the
//! decision and the tag.

use super::dialect::{Backend, Param, ReadRow};
use super::pool::{database_error, StorePool};
use super::StateStore;
use crate::TaskError;

/// A derived object waiting for its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SupersededObject {
    pub(crate) id: i64,
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl StateStore {
    /// The oldest `limit` objects waiting for their tag.
    pub(crate) async fn superseded_objects(&self, limit: u32) -> Result<Vec<SupersededObject>, TaskError> {
        dispatch!(&self.pool, pool => pending(pool, limit).await)
            .map_err(|e| database_error("reading superseded objects", e))
    }

    /// Forgets objects that are tagged (or gone).
    pub(crate) async fn forget_superseded(&self, ids: &[i64]) -> Result<(), TaskError> {
        if ids.is_empty() {
            return Ok(());
        }
        dispatch!(&self.pool, pool => forget(pool, ids).await)
            .map_err(|e| database_error("forgetting tagged objects", e))
    }
}

async fn pending<B: Backend>(pool: &StorePool<B>, limit: u32) -> Result<Vec<SupersededObject>, sqlx::Error> {
    let rows = B::fetch_all(
        &mut *pool.acquire().await?,
        "SELECT id, bucket, object_key FROM superseded_objects ORDER BY id LIMIT ?",
        &[i64::from(limit).into()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SupersededObject { id: row.read("id")?, bucket: row.read("bucket")?, key: row.read("object_key")? })
        })
        .collect()
}

async fn forget<B: Backend>(pool: &StorePool<B>, ids: &[i64]) -> Result<(), sqlx::Error> {
    let placeholders = vec!["?"; ids.len()].join(", ");
    let sql = format!("DELETE FROM superseded_objects WHERE id IN ({placeholders})");
    let params: Vec<Param<'_>> = ids.iter().map(|id| (*id).into()).collect();
    B::execute(&mut *pool.acquire().await?, &sql, &params).await?;
    Ok(())
}
