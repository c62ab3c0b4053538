//! "Fresh files": the usable files of one selector, written once for track
//! (may a job be ready?) and evaluate (count, look for companions, list a
//! run's inputs). Every count is answered from the index on
//! (dataset, file_name, seq, status, last_validated_at) alone: the glob's
//! literal prefix gives a range on `file_name`, the dialect's name predicate
//! does the rest. Freshness is the store's sequence (`seq > watermark`), never a
//! comparison of clocks; time bounds are for companions and `within_hours`.

use edba_payloads::FileStatus;

use super::dialect::{Backend, Param, ReadRow};
use super::glob;
use super::time::StoreTime;
use super::types::{FileSelector, RunInput};

/// `FROM … WHERE …` over one selector's usable files, with its parameters.
struct FreshFiles<'a> {
    clause: String,
    dataset: &'a str,
    /// `(prefix, upper bound)`; none when the glob starts with a wildcard.
    range: Option<(String, String)>,
    pattern: String,
    seq_above: i64,
    after: Option<StoreTime>,
}

impl<'a> FreshFiles<'a> {
    fn new<B: Backend>(files: &FileSelector<'a>) -> Self {
        let prefix = glob::literal_prefix(files.glob);
        let range = glob::prefix_upper_bound(prefix).map(|upper| (prefix.to_owned(), upper));
        let mut clause = String::from(" FROM ingested_files WHERE dataset = ?");
        if range.is_some() {
            clause.push_str(" AND file_name >= ? AND file_name < ?");
        }
        clause.push_str(" AND ");
        clause.push_str(B::NAME_MATCHES);
        clause.push_str(" AND seq > ?");
        if files.validated_after.is_some() {
            clause.push_str(" AND last_validated_at > ?");
        }
        clause.push_str(" AND status <> ?");
        FreshFiles {
            clause,
            dataset: files.dataset,
            range,
            pattern: B::glob_pattern(files.glob),
            seq_above: files.seq_above,
            after: files.validated_after.map(StoreTime::new),
        }
    }

    fn params(&self) -> Vec<Param<'_>> {
        let mut params = vec![Param::Text(self.dataset)];
        if let Some((prefix, upper)) = &self.range {
            params.extend([Param::from(prefix), Param::from(upper)]);
        }
        params.extend([Param::from(&self.pattern), self.seq_above.into()]);
        if let Some(after) = self.after {
            params.push(after.into());
        }
        params.push(FileStatus::Invalid.as_str().into());
        params
    }
}

/// Usable files the selector matches, counted up to `limit`: one COUNT that
/// stops as soon as the job has enough.
pub(crate) async fn count<B: Backend>(
    conn: &mut B::Connection,
    files: &FileSelector<'_>,
    limit: u64,
) -> Result<u64, sqlx::Error> {
    let fresh = FreshFiles::new::<B>(files);
    let mut params = fresh.params();
    params.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let sql = format!("SELECT COUNT(*) AS n FROM (SELECT 1 AS one{} LIMIT ?) AS capped", fresh.clause);
    let row = B::fetch_optional(conn, &sql, &params).await?.ok_or(sqlx::Error::RowNotFound)?;
    Ok(u64::try_from(row.read::<i64>("n")?).unwrap_or(0))
}

/// Whether the selector matches at least one usable file.
pub(crate) async fn any<B: Backend>(conn: &mut B::Connection, files: &FileSelector<'_>) -> Result<bool, sqlx::Error> {
    let fresh = FreshFiles::new::<B>(files);
    let sql = format!("SELECT 1 AS one{} LIMIT 1", fresh.clause);
    Ok(B::fetch_optional(conn, &sql, &fresh.params()).await?.is_some())
}

/// The selector's usable files as a run reads them, by name.
pub(crate) async fn list<B: Backend>(
    conn: &mut B::Connection,
    files: &FileSelector<'_>,
) -> Result<Vec<RunInput>, sqlx::Error> {
    let fresh = FreshFiles::new::<B>(files);
    let sql = format!(
        "SELECT file_url, object_key, dataset, validated_key, validated_etag, version_id, etag, seq{} \
         ORDER BY file_name, file_url",
        fresh.clause
    );
    B::fetch_all(conn, &sql, &fresh.params())
        .await?
        .iter()
        .map(|row| {
            Ok(RunInput {
                dataset: row.read::<Option<String>>("dataset")?.unwrap_or_default(),
                file_url: row.read("file_url")?,
                key: row.read("object_key")?,
                validated_key: row.read("validated_key")?,
                validated_etag: row.read("validated_etag")?,
                version_id: row.read("version_id")?,
                etag: row.read("etag")?,
                seq: row.read("seq")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders_match_params<B: Backend>() {
        for glob in ["IL-*", "*.tdf", "IL-101.tdf"] {
            for validated_after in [None, Some(time::OffsetDateTime::UNIX_EPOCH)] {
                let fresh =
                    FreshFiles::new::<B>(&FileSelector { dataset: "sales", glob, seq_above: 7, validated_after });
                assert_eq!(fresh.clause.matches('?').count(), fresh.params().len(), "{glob}");
            }
        }
    }

    #[test]
    fn every_placeholder_has_its_parameter_in_both_dialects() {
        placeholders_match_params::<sqlx::MySql>();
        placeholders_match_params::<sqlx::Sqlite>();
    }
}
