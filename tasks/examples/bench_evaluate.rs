//! Benchmarks the evaluate task's decision phase on MariaDB.
//!
//! 1. Scale: `EDBA_BENCH_JOBS` jobs (1000) over `EDBA_BENCH_FILES` tracked
//!    files (1,000,000), bulk-inserted with multi-row INSERTs. EMR is mocked
//!    with no cluster, so jobs whose criteria hold wait for a cluster and
//!    nothing is claimed: the time is reconcile + decide + cluster lookup.
//! 2. Baseline, same invocation: 100 jobs over 100,000 files, edba next to
//!    the original sample's approach (per job a `COUNT(*)` with the pattern in
//!    a leading-wildcard `LIKE` on `file_url`, plus its extra SQL).
//!
//! Prints `key=value` lines; `scripts/bench_evaluate.sh` runs it.
//! Server: `EDBA_BENCH_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/`);
//! each phase uses a fresh database, dropped at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_emr::operation::list_clusters::ListClustersOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use edba_payloads::jobs::JobConfig;
use edba_payloads::{AggregateInput, EvaluateInput, Trigger};
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, FixedClock};
use edba_tasks::store::{JobRow, StateStore};
use edba_testkit::fixtures::{job, with_extra, with_items};
use edba_testkit::{sql_time, ThrowawayDatabase};
use sqlx::MySqlPool;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-27 07:15:00 UTC);
/// Rows per INSERT: 19 columns stay far below MySQL's 65,535 placeholders.
const ROWS_PER_INSERT: usize = 2000;
const REPEATS: usize = 3;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn job_config(j: usize, files_per_job: usize) -> JobConfig {
    // Even jobs have enough fresh files (and then wait for a cluster), odd
    // ones do not.
    let min_files = if j % 2 == 0 { (files_per_job / 2) as u32 } else { (files_per_job * 2) as u32 };
    let config = with_items(job(&format!("J{j:04}"), &format!("P{j:04}-*"), min_files), "Item-Master-Data*", 24);
    if j % 10 == 0 {
        with_extra(config, "SELECT 1 FROM ingested_files WHERE dataset = 'items' LIMIT 1", 2000)
    } else {
        config
    }
}

/// Migrates, writes `jobs` configurations and `jobs * files_per_job` sales
/// files (every 50th INVALID) plus one recent item master file.
async fn populate(db: &ThrowawayDatabase, jobs: usize, files_per_job: usize) -> Result<StateStore, BoxError> {
    let store = StateStore::connect(&db.url).await?;
    store.migrate().await?;
    for j in 0..jobs {
        let config = job_config(j, files_per_job);
        store.put_job_config(&JobRow::from(&config)).await?;
    }
    let pool = MySqlPool::connect(&db.url).await?;
    let now = sql_time(NOW);
    // Track gives every version the next store sequence; so does the bench.
    let mut seq: i64 = 0;
    let mut rows: Vec<(String, String, String, &'static str, String, i64)> = Vec::new();
    let flush = |rows: Vec<(String, String, String, &'static str, String, i64)>| {
        let pool = pool.clone();
        let now = now.clone();
        async move {
            let mut insert = sqlx::QueryBuilder::<sqlx::MySql>::new(
                "INSERT INTO ingested_files (file_url, bucket, object_key, file_name, dataset, \
                 dataset_partition, version_id, etag, sequencer, status, reason, rows_valid, \
                 rows_rejected, lines_skipped, validated_key, rejected_key, last_validated_at, \
                 first_seen_at, updated_at, seq) ",
            );
            insert.push_values(&rows, |mut b, (name, dataset, partition, status, validated, seq)| {
                b.push_bind(format!("s3://bench/incoming/{name}"))
                    .push_bind("bench")
                    .push_bind(format!("incoming/{name}"))
                    .push_bind(name)
                    .push_bind(dataset)
                    .push_bind(partition)
                    .push_bind("v1")
                    .push_bind("etag1")
                    .push_bind("0001")
                    .push_bind(*status)
                    .push_bind(None::<String>)
                    .push_bind(10_i64)
                    .push_bind(0_i64)
                    .push_bind(0_i64)
                    .push_bind(format!("validated/{name}.csv"))
                    .push_bind(None::<String>)
                    .push_bind(validated)
                    .push_bind(&now)
                    .push_bind(&now)
                    .push_bind(*seq);
            });
            insert.build().execute(&pool).await?;
            Ok::<_, BoxError>(())
        }
    };
    for j in 0..jobs {
        for n in 0..files_per_job {
            // Spread over the last 48 hours.
            let age = Duration::from_secs(60 + ((j * 7919 + n * 104_729) % (48 * 3600)) as u64);
            let status = if n % 50 == 0 { "INVALID" } else { "VALIDATED" };
            seq += 1;
            let name = format!("P{j:04}-{n:06}.tdf");
            rows.push((name, "sales".into(), format!("P{j:04}"), status, sql_time(NOW - age), seq));
            if rows.len() == ROWS_PER_INSERT {
                flush(std::mem::take(&mut rows)).await?;
            }
        }
    }
    rows.push((
        "Item-Master-Data.tdf".into(),
        "items".into(),
        String::new(),
        "VALIDATED",
        sql_time(NOW - Duration::from_secs(3600)),
        seq + 1,
    ));
    flush(rows).await?;
    sqlx::query("UPDATE store_sequences SET value = ? WHERE name = 'file_versions'")
        .bind(seq + 1)
        .execute(&pool)
        .await?;
    sqlx::query("ANALYZE TABLE ingested_files, job_configs").execute(&pool).await?;
    pool.close().await;
    Ok(store)
}

fn deps(store: &StateStore) -> EvaluateDeps {
    let no_clusters = mock!(aws_sdk_emr::Client::list_clusters).then_output(|| ListClustersOutput::builder().build());
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build(),
    );
    EvaluateDeps {
        store: store.clone(),
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &[]),
        emr: mock_client!(aws_sdk_emr, RuleMode::MatchAny, &[&no_clusters]),
        s3,
        bucket: "bench".into(),
        clock: Arc::new(FixedClock(NOW)),
        settings: EvaluateSettings::default(),
    }
}

/// The fastest of `REPEATS` evaluations, and its output's counts.
async fn time_edba(store: &StateStore) -> Result<(Duration, usize, usize), BoxError> {
    let deps = deps(store);
    let input = EvaluateInput {
        request: AggregateInput { trigger: Trigger::Schedule, file_url: None, run_id: None, started_by: None },
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:bench:1".into(),
    };
    let mut best = Duration::MAX;
    let mut counts = (0, 0);
    for _ in 0..REPEATS {
        let started = Instant::now();
        let output = evaluate(&deps, &input).await?;
        best = best.min(started.elapsed());
        let no_cluster = output.waiting.iter().filter(|w| w.reason.starts_with("no EMR cluster")).count();
        counts = (output.waiting.len(), no_cluster);
        assert!(output.runs.is_empty(), "nothing may fire without a cluster");
    }
    Ok((best, counts.0, counts.1))
}

/// The original sample's evaluation: per job, its pattern in a
/// leading-wildcard LIKE over every file, then its additional SQL.
async fn time_baseline(db: &ThrowawayDatabase, jobs: usize) -> Result<(Duration, i64), BoxError> {
    let pool = MySqlPool::connect(&db.url).await?;
    let mut best = Duration::MAX;
    let mut total = 0;
    for _ in 0..REPEATS {
        total = 0;
        let started = Instant::now();
        for j in 0..jobs {
            let (count, _oldest): (i64, Option<sqlx::types::time::PrimitiveDateTime>) = sqlx::query_as(
                "select count(*), min(last_validated_at) from ingested_files \
                     where file_url like ?",
            )
            .bind(format!("%P{j:04}-%"))
            .fetch_one(&pool)
            .await?;
            let _items: i64 = sqlx::query_scalar(
                "select count(*) from ingested_files where file_url like '%Item-Master-Data%' \
                 and last_validated_at > ?",
            )
            .bind(sql_time(NOW - Duration::from_secs(24 * 3600)))
            .fetch_one(&pool)
            .await?;
            total += count;
        }
        best = best.min(started.elapsed());
    }
    pool.close().await;
    Ok((best, total))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server = std::env::var("EDBA_BENCH_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/".into());
    let jobs = env_usize("EDBA_BENCH_JOBS", 1000);
    let files = env_usize("EDBA_BENCH_FILES", 1_000_000);
    let base_jobs = env_usize("EDBA_BENCH_BASE_JOBS", 100);
    let base_files = env_usize("EDBA_BENCH_BASE_FILES", 100_000);

    // Phase 1: scale.
    let db = ThrowawayDatabase::try_mariadb(&server, "bench_evaluate_scale").await?;
    let result = async {
        let started = Instant::now();
        let store = populate(&db, jobs, files / jobs).await?;
        println!("scale_populate_s={:.1}", started.elapsed().as_secs_f64());
        let (best, waiting, no_cluster) = time_edba(&store).await?;
        println!(
            "scale_jobs={jobs} scale_files={} scale_evaluate_ms={:.1} scale_waiting={waiting} \
             scale_waiting_for_cluster={no_cluster}",
            jobs * (files / jobs) + 1,
            best.as_secs_f64() * 1000.0
        );
        store.close().await;
        Ok::<_, BoxError>(())
    }
    .await;
    drop(db);
    result?;

    // Phase 2: edba next to the original approach on the same data.
    let db = ThrowawayDatabase::try_mariadb(&server, "bench_evaluate_baseline").await?;
    let result = async {
        let store = populate(&db, base_jobs, base_files / base_jobs).await?;
        let (edba, _, _) = time_edba(&store).await?;
        let (baseline, matched) = time_baseline(&db, base_jobs).await?;
        println!(
            "base_jobs={base_jobs} base_files={} edba_ms={:.2} original_ms={:.1} \
             original_rows_matched={matched} speedup={:.0}",
            base_jobs * (base_files / base_jobs) + 1,
            edba.as_secs_f64() * 1000.0,
            baseline.as_secs_f64() * 1000.0,
            baseline.as_secs_f64() / edba.as_secs_f64()
        );
        store.close().await;
        Ok::<_, BoxError>(())
    }
    .await;
    drop(db);
    result
}
