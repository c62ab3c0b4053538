//! The deployed table plan: `code/edba.tables.json`, written by `edba project
//! push` from what `edba check` planned, read by the load task and cached per
//! container by its ETag ([`crate::code`]). A bucket without it loads the
//! sample's tables.

use std::sync::{Arc, OnceLock};

use aws_sdk_s3::Client;

use super::table::{PlannedTables, TABLES_KEY};
use crate::code::{load_document, DocumentCache, Loaded};
use crate::TaskError;

/// The plan a load runs with, and which version of the object it is.
pub type LoadedTables = Loaded<PlannedTables>;

fn shared_cache() -> &'static DocumentCache<PlannedTables> {
    static SHARED: OnceLock<DocumentCache<PlannedTables>> = OnceLock::new();
    SHARED.get_or_init(DocumentCache::default)
}

/// Reads the bucket's table plan, or the sample's when it has none.
pub async fn load_tables(s3: &Client, bucket: &str) -> Result<Arc<PlannedTables>, TaskError> {
    Ok(load_document(s3, bucket, TABLES_KEY, shared_cache(), PlannedTables::parse, PlannedTables::sample).await?.value)
}
