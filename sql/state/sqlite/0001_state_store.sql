-- edba state store, SQLite dialect (the embedded local store).
-- ../mysql/0001_state_store.sql is the same design; change both together.
-- The MySQL-only compatibility views for the original sample's operator
-- queries need JSON_ARRAYAGG/JSON_CONTAINS and are not reproduced here.
--
-- STRICT tables so a wrong type fails here as it would on MySQL. Text compares
-- with BINARY (code-point) order, matching MySQL's utf8mb4_bin.
-- Times are TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, always six fractional
-- digits, so text order is time order.

CREATE TABLE ingested_files (
    file_url          TEXT    NOT NULL PRIMARY KEY,
    bucket            TEXT    NOT NULL,
    object_key        TEXT    NOT NULL,
    file_name         TEXT    NOT NULL,
    dataset           TEXT    NULL,
    dataset_partition TEXT    NULL,
    version_id        TEXT    NULL,
    etag              TEXT    NULL,
    sequencer         TEXT    NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('VALIDATED', 'VALIDATED_WITH_REJECTS', 'INVALID')),
    reason            TEXT    NULL,
    rows_valid        INTEGER NOT NULL CHECK (rows_valid >= 0),
    rows_rejected     INTEGER NOT NULL CHECK (rows_rejected >= 0),
    lines_skipped     INTEGER NOT NULL CHECK (lines_skipped >= 0),
    validated_key     TEXT    NULL,
    rejected_key      TEXT    NULL,
    last_validated_at TEXT    NOT NULL,
    first_seen_at     TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT;

CREATE INDEX ix_ingested_files_dataset_name
    ON ingested_files (dataset, file_name, last_validated_at, status);
CREATE INDEX ix_ingested_files_dataset_validated
    ON ingested_files (dataset, last_validated_at);

CREATE TABLE job_configs (
    job_id           TEXT    NOT NULL PRIMARY KEY,
    enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    config_version   INTEGER NOT NULL,
    config           TEXT    NOT NULL CHECK (json_valid(config)),
    input_dataset    TEXT    NOT NULL,
    input_glob       TEXT    NOT NULL,
    input_prefix     TEXT    NOT NULL,
    min_files        INTEGER NOT NULL CHECK (min_files >= 0),
    last_status      TEXT    NULL
        CHECK (last_status IS NULL OR last_status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    last_run_id      TEXT    NULL,
    last_fired_at    TEXT    NULL,
    last_finished_at TEXT    NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
) STRICT;

CREATE INDEX ix_job_configs_input ON job_configs (input_dataset, enabled);

CREATE TABLE job_companion_datasets (
    job_id  TEXT NOT NULL REFERENCES job_configs (job_id) ON DELETE CASCADE,
    dataset TEXT NOT NULL,
    PRIMARY KEY (job_id, dataset)
) STRICT;

CREATE INDEX ix_job_companion_datasets_dataset ON job_companion_datasets (dataset);

CREATE TABLE job_runs (
    run_id         TEXT    NOT NULL PRIMARY KEY,
    job_id         TEXT    NOT NULL REFERENCES job_configs (job_id),
    config_version INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    cluster_id     TEXT    NULL,
    step_id        TEXT    NULL,
    execution_arn  TEXT    NULL,
    manifest_key   TEXT    NULL,
    output_prefix  TEXT    NULL,
    started_at     TEXT    NOT NULL,
    finished_at    TEXT    NULL,
    error          TEXT    NULL,
    cause          TEXT    NULL
) STRICT;

CREATE INDEX ix_job_runs_job_started ON job_runs (job_id, started_at);
CREATE INDEX ix_job_runs_status_started ON job_runs (status, started_at);

CREATE TABLE run_inputs (
    run_id     TEXT NOT NULL REFERENCES job_runs (run_id) ON DELETE CASCADE,
    file_url   TEXT NOT NULL,
    version_id TEXT NULL,
    etag       TEXT NULL,
    PRIMARY KEY (run_id, file_url)
) STRICT;

CREATE INDEX ix_run_inputs_file ON run_inputs (file_url);
