//! Every statement of the store, written once and instantiated per backend
//! (`mysql`, `sqlite`) so that sqlx checks each binding against the concrete
//! driver's types. The dialects differ only in the fragments passed to
//! `backend!`; all values are bound parameters.

macro_rules! backend {
    (
        mod $module:ident,
        db = $db:ty,
        // Runs on the connection right before `begin`.
        prelude = $prelude:expr,
        begin = $begin:literal,
        // Appended to the SELECT of the row being tracked.
        lock_row = $lock_row:literal,
        // A predicate on `file_name` with one parameter: the job's glob as
        // `glob_pattern` renders it.
        name_matches = $name_matches:literal,
        glob_pattern = $glob_pattern:path,
    ) => {
        pub(super) mod $module {
            use edba_payloads::{FileStatus, RowCounts, TrackOutcome, TrackOutput};
            use sqlx::{Connection, Executor, Row};

            use crate::store::glob::{glob_matches, prefix_upper_bound};
            use crate::store::time::StoreTime;
            use crate::store::track::{decide, may_change_readiness, FileEvent, StoredVersion};
            use crate::store::{IngestedFileRow, JobRow, JobStatus};

            type Db = $db;
            type Pool = sqlx::Pool<Db>;
            type Tx<'c> = sqlx::Transaction<'c, Db>;

            async fn begin_write(conn: &mut sqlx::pool::PoolConnection<Db>) -> Result<Tx<'_>, sqlx::Error> {
                if let Some(prelude) = $prelude {
                    conn.execute(prelude).await?;
                }
                conn.begin_with($begin).await
            }

            /// One attempt at tracking `event`, in one transaction.
            pub(in crate::store) async fn track(
                pool: &Pool,
                event: &FileEvent<'_>,
            ) -> Result<TrackOutput, sqlx::Error> {
                let file = event.file;
                let mut conn = pool.acquire().await?;
                let mut tx = begin_write(&mut conn).await?;

                let stored = sqlx::query(concat!(
                    "SELECT version_id, etag, sequencer FROM ingested_files WHERE file_url = ?",
                    $lock_row
                ))
                .bind(&file.file_url)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| -> Result<StoredVersion, sqlx::Error> {
                    Ok(StoredVersion {
                        version_id: row.try_get("version_id")?,
                        etag: row.try_get("etag")?,
                        sequencer: row.try_get("sequencer")?,
                    })
                })
                .transpose()?;

                let outcome = decide(stored.as_ref(), file);
                let now = StoreTime::now();
                match outcome {
                    TrackOutcome::Inserted => insert_file(&mut tx, event, now).await?,
                    TrackOutcome::NewVersion => replace_version(&mut tx, event, now).await?,
                    TrackOutcome::Duplicate | TrackOutcome::Stale => {}
                }

                let (candidate_jobs, job_may_be_ready) = if event.usable() {
                    let check_readiness = may_change_readiness(outcome, file.status);
                    candidates(&mut tx, event, check_readiness).await?
                } else {
                    (Vec::new(), false)
                };
                tx.commit().await?;
                Ok(TrackOutput { file_url: file.file_url.clone(), outcome, job_may_be_ready, candidate_jobs })
            }

            async fn insert_file(tx: &mut Tx<'_>, event: &FileEvent<'_>, now: StoreTime) -> Result<(), sqlx::Error> {
                let file = event.file;
                sqlx::query(
                    "INSERT INTO ingested_files (file_url, bucket, object_key, file_name, \
                     dataset, dataset_partition, version_id, etag, sequencer, status, reason, \
                     rows_valid, rows_rejected, lines_skipped, validated_key, rejected_key, \
                     last_validated_at, first_seen_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&file.file_url)
                .bind(&file.bucket)
                .bind(&file.key)
                .bind(event.file_name)
                .bind(&file.dataset)
                .bind(&file.partition)
                .bind(&file.version_id)
                .bind(&file.etag)
                .bind(&file.sequencer)
                .bind(file.status.as_str())
                .bind(&file.reason)
                .bind(event.rows_valid)
                .bind(event.rows_rejected)
                .bind(event.lines_skipped)
                .bind(&file.validated_key)
                .bind(&file.rejected_key)
                .bind(event.validated_at)
                .bind(now)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn replace_version(
                tx: &mut Tx<'_>,
                event: &FileEvent<'_>,
                now: StoreTime,
            ) -> Result<(), sqlx::Error> {
                let file = event.file;
                sqlx::query(
                    "UPDATE ingested_files SET dataset = ?, dataset_partition = ?, \
                     version_id = ?, etag = ?, sequencer = ?, status = ?, reason = ?, \
                     rows_valid = ?, rows_rejected = ?, lines_skipped = ?, validated_key = ?, \
                     rejected_key = ?, last_validated_at = ?, updated_at = ? \
                     WHERE file_url = ?",
                )
                .bind(&file.dataset)
                .bind(&file.partition)
                .bind(&file.version_id)
                .bind(&file.etag)
                .bind(&file.sequencer)
                .bind(file.status.as_str())
                .bind(&file.reason)
                .bind(event.rows_valid)
                .bind(event.rows_rejected)
                .bind(event.lines_skipped)
                .bind(&file.validated_key)
                .bind(&file.rejected_key)
                .bind(event.validated_at)
                .bind(now)
                .bind(&file.file_url)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// The enabled jobs this file is an input or a companion of, and
            /// whether one of them may now be ready.
            async fn candidates(
                tx: &mut Tx<'_>,
                event: &FileEvent<'_>,
                check_readiness: bool,
            ) -> Result<(Vec<String>, bool), sqlx::Error> {
                let Some(dataset) = event.file.dataset.as_deref() else {
                    return Ok((Vec::new(), false));
                };
                let mut jobs = Vec::new();
                let mut ready = false;

                let readers = sqlx::query(
                    "SELECT job_id, input_glob, input_prefix, min_files, last_status, \
                     last_fired_at FROM job_configs \
                     WHERE input_dataset = ? AND enabled = ? ORDER BY job_id",
                )
                .bind(dataset)
                .bind(true)
                .fetch_all(&mut **tx)
                .await?;
                for row in readers {
                    let glob: String = row.try_get("input_glob")?;
                    if !glob_matches(&glob, event.file_name) {
                        continue;
                    }
                    let job_id: String = row.try_get("job_id")?;
                    let last_status: Option<String> = row.try_get("last_status")?;
                    if check_readiness && !ready && !is_running(last_status.as_deref()) {
                        let prefix: String = row.try_get("input_prefix")?;
                        let min_files: i64 = row.try_get::<i32, _>("min_files")?.into();
                        let fired: Option<StoreTime> = row.try_get("last_fired_at")?;
                        let fresh = count_fresh_inputs(tx, dataset, &glob, &prefix, fired).await?;
                        ready = fresh >= min_files;
                    }
                    jobs.push(job_id);
                }

                let companions_of = sqlx::query(
                    "SELECT j.job_id, j.last_status FROM job_companion_datasets c \
                     JOIN job_configs j ON j.job_id = c.job_id \
                     WHERE c.dataset = ? AND j.enabled = ? ORDER BY j.job_id",
                )
                .bind(dataset)
                .bind(true)
                .fetch_all(&mut **tx)
                .await?;
                for row in companions_of {
                    let last_status: Option<String> = row.try_get("last_status")?;
                    if check_readiness && !is_running(last_status.as_deref()) {
                        ready = true;
                    }
                    jobs.push(row.try_get("job_id")?);
                }

                jobs.sort();
                jobs.dedup();
                Ok((jobs, ready))
            }

            fn is_running(last_status: Option<&str>) -> bool {
                last_status == Some(JobStatus::Running.as_str())
            }

            /// Usable files of `dataset` matching `glob`, validated after the
            /// job last fired: one indexed COUNT.
            async fn count_fresh_inputs(
                tx: &mut Tx<'_>,
                dataset: &str,
                glob: &str,
                prefix: &str,
                fired: Option<StoreTime>,
            ) -> Result<i64, sqlx::Error> {
                let after = fired.unwrap_or_else(StoreTime::epoch);
                let pattern = $glob_pattern(glob);
                match prefix_upper_bound(prefix) {
                    Some(upper) => {
                        sqlx::query_scalar(concat!(
                            "SELECT COUNT(*) FROM ingested_files WHERE dataset = ? \
                             AND file_name >= ? AND file_name < ? AND ",
                            $name_matches,
                            " AND last_validated_at > ? AND status <> ?"
                        ))
                        .bind(dataset)
                        .bind(prefix)
                        .bind(upper)
                        .bind(pattern)
                        .bind(after)
                        .bind(FileStatus::Invalid.as_str())
                        .fetch_one(&mut **tx)
                        .await
                    }
                    None => {
                        sqlx::query_scalar(concat!(
                            "SELECT COUNT(*) FROM ingested_files WHERE dataset = ? AND ",
                            $name_matches,
                            " AND last_validated_at > ? AND status <> ?"
                        ))
                        .bind(dataset)
                        .bind(pattern)
                        .bind(after)
                        .bind(FileStatus::Invalid.as_str())
                        .fetch_one(&mut **tx)
                        .await
                    }
                }
            }

            /// Writes a job's configuration, keeping its run state.
            pub(in crate::store) async fn put_job_config(
                pool: &Pool,
                job: &JobRow,
                prefix: &str,
                min_files: i32,
                config: &str,
            ) -> Result<(), sqlx::Error> {
                let mut conn = pool.acquire().await?;
                let mut tx = begin_write(&mut conn).await?;
                let now = StoreTime::now();
                let exists = sqlx::query(concat!("SELECT job_id FROM job_configs WHERE job_id = ?", $lock_row))
                    .bind(&job.job_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if exists {
                    sqlx::query(
                        "UPDATE job_configs SET enabled = ?, config_version = config_version + 1, \
                         config = ?, input_dataset = ?, input_glob = ?, input_prefix = ?, \
                         min_files = ?, updated_at = ? WHERE job_id = ?",
                    )
                    .bind(job.enabled)
                    .bind(config)
                    .bind(&job.input_dataset)
                    .bind(&job.input_glob)
                    .bind(prefix)
                    .bind(min_files)
                    .bind(now)
                    .bind(&job.job_id)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO job_configs (job_id, enabled, config_version, config, \
                         input_dataset, input_glob, input_prefix, min_files, created_at, \
                         updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&job.job_id)
                    .bind(job.enabled)
                    .bind(config)
                    .bind(&job.input_dataset)
                    .bind(&job.input_glob)
                    .bind(prefix)
                    .bind(min_files)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM job_companion_datasets WHERE job_id = ?")
                    .bind(&job.job_id)
                    .execute(&mut *tx)
                    .await?;
                let mut companions: Vec<&String> = job.companion_datasets.iter().collect();
                companions.sort();
                companions.dedup();
                for dataset in companions {
                    sqlx::query("INSERT INTO job_companion_datasets (job_id, dataset) VALUES (?, ?)")
                        .bind(&job.job_id)
                        .bind(dataset)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }

            pub(in crate::store) async fn file(
                pool: &Pool,
                file_url: &str,
            ) -> Result<Option<IngestedFileRow>, sqlx::Error> {
                let sql = "SELECT file_url, bucket, object_key, file_name, dataset, \
                    dataset_partition, version_id, etag, sequencer, status, reason, rows_valid, \
                    rows_rejected, lines_skipped, validated_key, rejected_key, last_validated_at, \
                    first_seen_at, updated_at FROM ingested_files WHERE file_url = ?";
                let Some(row) = sqlx::query(sql).bind(file_url).fetch_optional(pool).await? else {
                    return Ok(None);
                };
                let status: String = row.try_get("status")?;
                let status = crate::store::parse_file_status(&status)
                    .ok_or_else(|| sqlx::Error::Decode(format!("unknown file status {status:?}").into()))?;
                let count = |column: &str| -> Result<u64, sqlx::Error> {
                    let n: i64 = row.try_get(column)?;
                    u64::try_from(n).map_err(|e| sqlx::Error::Decode(Box::new(e)))
                };
                Ok(Some(IngestedFileRow {
                    file_url: row.try_get("file_url")?,
                    bucket: row.try_get("bucket")?,
                    object_key: row.try_get("object_key")?,
                    file_name: row.try_get("file_name")?,
                    dataset: row.try_get("dataset")?,
                    partition: row.try_get("dataset_partition")?,
                    version_id: row.try_get("version_id")?,
                    etag: row.try_get("etag")?,
                    sequencer: row.try_get("sequencer")?,
                    status,
                    reason: row.try_get("reason")?,
                    counts: RowCounts {
                        rows_valid: count("rows_valid")?,
                        rows_rejected: count("rows_rejected")?,
                        lines_skipped: count("lines_skipped")?,
                    },
                    validated_key: row.try_get("validated_key")?,
                    rejected_key: row.try_get("rejected_key")?,
                    last_validated_at: row.try_get::<StoreTime, _>("last_validated_at")?.get(),
                    first_seen_at: row.try_get::<StoreTime, _>("first_seen_at")?.get(),
                    updated_at: row.try_get::<StoreTime, _>("updated_at")?.get(),
                }))
            }
        }
    };
}

backend! {
    mod mysql,
    db = sqlx::MySql,
    // Under READ COMMITTED a SELECT … FOR UPDATE of a missing row takes no gap
    // lock, so concurrent first deliveries of one event queue on the inserted
    // row (the losers get a duplicate key and retry) instead of deadlocking.
    prelude = Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    begin = "BEGIN",
    lock_row = " FOR UPDATE",
    // The tables' binary collation makes LIKE case-sensitive, like GLOB.
    name_matches = "file_name LIKE ? ESCAPE '!'",
    glob_pattern = crate::store::glob::to_like_pattern,
}

backend! {
    mod sqlite,
    db = sqlx::Sqlite,
    prelude = None::<&'static str>,
    // Takes the database's write lock up front: concurrent trackers queue
    // (busy timeout) instead of both reading and then failing to upgrade.
    begin = "BEGIN IMMEDIATE",
    lock_row = "",
    // SQLite's LIKE ignores ASCII case; GLOB does not.
    name_matches = "file_name GLOB ?",
    glob_pattern = crate::store::glob::to_sqlite_glob,
}
