-- edba state store, MySQL dialect (RDS MySQL 8, Aurora MySQL 3, MariaDB 10.6+).
-- ../sqlite/0001_state_store.sql is the same design; change both together.
--
-- Every table uses the binary collation: S3 keys and job ids are case-sensitive,
-- and the evaluator's prefix ranges (file_name >= ? AND file_name < ?) rely on
-- code-point order, which is also SQLite's BINARY order.
-- Times are UTC with microseconds. The 700-character URL keeps
-- run_inputs' primary key (run_id, file_url) within InnoDB's 3072-byte limit.

-- One row per S3 object key; a new version replaces the row (see track).
CREATE TABLE ingested_files (
    file_url          VARCHAR(700)  NOT NULL,
    bucket            VARCHAR(63)   NOT NULL,
    object_key        VARCHAR(1024) NOT NULL,
    -- The key's last path segment: what job globs such as `IL-*` match.
    file_name         VARCHAR(255)  NOT NULL,
    -- NULL when the key maps to no known dataset.
    dataset           VARCHAR(64)   NULL,
    dataset_partition VARCHAR(64)   NULL,
    version_id        VARCHAR(255)  NULL,
    etag              VARCHAR(255)  NULL,
    -- As S3 sent it; compared in the application after left-padding.
    sequencer         VARCHAR(64)   NOT NULL,
    status            VARCHAR(32)   NOT NULL,
    reason            TEXT          NULL,
    rows_valid        BIGINT        NOT NULL,
    rows_rejected     BIGINT        NOT NULL,
    lines_skipped     BIGINT        NOT NULL,
    validated_key     VARCHAR(1024) NULL,
    rejected_key      VARCHAR(1024) NULL,
    -- Freshness: reset when a new version of the key is validated.
    last_validated_at DATETIME(6)   NOT NULL,
    first_seen_at     DATETIME(6)   NOT NULL,
    updated_at        DATETIME(6)   NOT NULL,
    PRIMARY KEY (file_url),
    -- "How many usable files of dataset D named P* were validated after T":
    -- a range on (dataset, file_name) answered from the index alone.
    KEY ix_ingested_files_dataset_name (dataset, file_name, last_validated_at, status),
    -- "Newest file of dataset D validated".
    KEY ix_ingested_files_dataset_validated (dataset, last_validated_at),
    CONSTRAINT ck_ingested_files_status
        CHECK (status IN ('VALIDATED', 'VALIDATED_WITH_REJECTS', 'INVALID')),
    CONSTRAINT ck_ingested_files_counts
        CHECK (rows_valid >= 0 AND rows_rejected >= 0 AND lines_skipped >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A job's configuration and the state of its latest run.
CREATE TABLE job_configs (
    job_id           VARCHAR(128) NOT NULL,
    enabled          BOOLEAN      NOT NULL,
    config_version   INT          NOT NULL,
    -- The typed configuration (criteria, step definition, cluster selector);
    -- the columns below are the parts queries need, copied from it on write.
    config           JSON         NOT NULL,
    input_dataset    VARCHAR(64)  NOT NULL,
    -- `*` and `?` only.
    input_glob       VARCHAR(255) NOT NULL,
    -- The glob's text before its first wildcard, for an index range.
    input_prefix     VARCHAR(255) NOT NULL,
    min_files        INT          NOT NULL,
    last_status      VARCHAR(16)  NULL,
    last_run_id      VARCHAR(64)  NULL,
    last_fired_at    DATETIME(6)  NULL,
    last_finished_at DATETIME(6)  NULL,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6)  NOT NULL,
    PRIMARY KEY (job_id),
    KEY ix_job_configs_input (input_dataset, enabled),
    CONSTRAINT ck_job_configs_last_status
        CHECK (last_status IS NULL OR last_status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    CONSTRAINT ck_job_configs_min_files CHECK (min_files >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Datasets a job needs besides its input (the item master for the sales
-- jobs): a new file of one may make the job ready. Derived from config.
CREATE TABLE job_companion_datasets (
    job_id  VARCHAR(128) NOT NULL,
    dataset VARCHAR(64)  NOT NULL,
    PRIMARY KEY (job_id, dataset),
    KEY ix_job_companion_datasets_dataset (dataset),
    CONSTRAINT fk_job_companion_datasets_job
        FOREIGN KEY (job_id) REFERENCES job_configs (job_id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE job_runs (
    run_id         VARCHAR(64)   NOT NULL,
    job_id         VARCHAR(128)  NOT NULL,
    config_version INT           NOT NULL,
    status         VARCHAR(16)   NOT NULL,
    cluster_id     VARCHAR(64)   NULL,
    step_id        VARCHAR(64)   NULL,
    execution_arn  VARCHAR(2048) NULL,
    manifest_key   VARCHAR(1024) NULL,
    output_prefix  VARCHAR(1024) NULL,
    started_at     DATETIME(6)   NOT NULL,
    finished_at    DATETIME(6)   NULL,
    -- The Step Functions error name and cause of a FAILED run.
    error          VARCHAR(256)  NULL,
    cause          TEXT          NULL,
    PRIMARY KEY (run_id),
    KEY ix_job_runs_job_started (job_id, started_at),
    -- Reconciliation finds RUNNING runs older than a deadline.
    KEY ix_job_runs_status_started (status, started_at),
    CONSTRAINT fk_job_runs_job FOREIGN KEY (job_id) REFERENCES job_configs (job_id),
    CONSTRAINT ck_job_runs_status CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The exact object versions a run read (its manifest, queryable).
CREATE TABLE run_inputs (
    run_id     VARCHAR(64)  NOT NULL,
    file_url   VARCHAR(700) NOT NULL,
    version_id VARCHAR(255) NULL,
    etag       VARCHAR(255) NULL,
    PRIMARY KEY (run_id, file_url),
    -- "Which runs read this file" (impacted runs of a bad file).
    KEY ix_run_inputs_file (file_url),
    CONSTRAINT fk_run_inputs_run FOREIGN KEY (run_id) REFERENCES job_runs (run_id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Compatibility views with the original sample's table and column names, so
-- operators' existing queries keep working, for example
--   select job_config_id from aggrjobconfiguration where last_exec_status = 'RUNNING'
--   select t1.job_config_id, t2.file_url, t2.last_validated_timestamp
--     from aggrjobconfiguration t1 join ingestedfilestatus t2
--       on json_contains(t2.submitted_jobs, json_array(t1.job_config_id)) = 1
--    where t1.last_exec_status = 'FAILED'
-- They are read-only: edba never writes the original tables.
CREATE VIEW aggrjobconfiguration AS
SELECT j.job_id         AS job_config_id,
       j.input_glob     AS job_input_pattern,
       j.min_files      AS job_min_file_count,
       j.config         AS job_addl_criteria,
       -- The step parameters live in the typed config (job_addl_criteria).
       CAST(NULL AS CHAR(1000)) AS job_params,
       r.step_id        AS last_exec_stepid,
       j.last_status    AS last_exec_status,
       j.last_fired_at  AS last_run_timestamp
  FROM job_configs j
  LEFT JOIN job_runs r ON r.run_id = j.last_run_id;

-- submitted_jobs: the jobs whose LAST run read the file, so a FAILED job lists
-- exactly the inputs of the run that failed.
CREATE VIEW ingestedfilestatus AS
SELECT f.file_url,
       COALESCE(
           (SELECT JSON_ARRAYAGG(j.job_id)
              FROM run_inputs ri
              JOIN job_configs j ON j.last_run_id = ri.run_id
             WHERE ri.file_url = f.file_url),
           JSON_ARRAY()) AS submitted_jobs,
       f.status             AS last_update_status,
       f.last_validated_at  AS last_validated_timestamp
  FROM ingested_files f;
