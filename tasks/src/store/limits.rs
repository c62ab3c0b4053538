//! How long the values the store keeps may be, in characters: one set of
//! limits that the jobs-file checker (`jobs/check.rs`) and the store's own
//! checks both use. MySQL enforces its column widths; checking here makes
//! SQLite behave the same and turns an oversized value into a clear
//! `Edba.InvalidInput` / `Edba.InvalidJobConfig` instead of a database error
//! retried forever.

/// A job id (the contract says at most 64; `job_configs.job_id` holds 128,
/// and a run id keeps only the first 40, see `evaluate::new_run_id`).
pub const MAX_JOB_ID_CHARS: usize = 64;
/// `job_configs.input_dataset`, `job_companion_datasets.dataset` and
/// `ingested_files.dataset`.
pub const MAX_DATASET_CHARS: usize = 64;
/// `job_configs.input_glob` is a VARCHAR(255).
pub const MAX_GLOB_CHARS: usize = 255;

/// `ingested_files.file_url`.
pub const MAX_URL_CHARS: usize = 700;
/// `ingested_files.file_name`.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// `ingested_files.bucket` (S3's own limit is 63).
pub const MAX_BUCKET_CHARS: usize = 63;
/// `ingested_files.dataset_partition` and `sequencer`.
pub const MAX_SHORT_CHARS: usize = 64;
/// `ingested_files.version_id` and `etag`.
pub const MAX_VERSION_CHARS: usize = 255;
/// `ingested_files.object_key`, `validated_key` and `rejected_key` (S3's limit).
pub const MAX_OBJECT_KEY_CHARS: usize = 1024;

/// A time window in hours (`within_hours`, a companion's `max_age_hours`):
/// ten years. Larger values are rejected when a jobs file is applied, and
/// evaluate's time arithmetic is checked anyway.
pub const MAX_WINDOW_HOURS: u32 = 24 * 366 * 10;
