-- Freshness by store order, exact lineage per run input, re-runnable runs.
-- ../mysql/0002_freshness_by_sequence.sql is the same design and says why;
-- change both together. (SQLite's BEGIN IMMEDIATE serialises every write
-- transaction, so sequences commit in order here by construction.)

CREATE TABLE store_sequences (
    name  TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

ALTER TABLE ingested_files ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingested_files ADD COLUMN validated_etag TEXT NULL;
CREATE INDEX ix_ingested_files_dataset_seq ON ingested_files (dataset, file_name, seq, status, last_validated_at);
DROP INDEX ix_ingested_files_dataset_name;

-- Existing rows are numbered in the order they were validated.
UPDATE ingested_files SET seq = (
    SELECT COUNT(*) FROM ingested_files AS f
     WHERE (f.last_validated_at, f.file_url) <= (ingested_files.last_validated_at, ingested_files.file_url));
INSERT INTO store_sequences (name, value) SELECT 'file_versions', COUNT(*) FROM ingested_files;

ALTER TABLE job_configs ADD COLUMN claimed_seq INTEGER NOT NULL DEFAULT 0;
UPDATE job_configs
   SET claimed_seq = COALESCE(
       (SELECT MAX(f.seq) FROM ingested_files AS f WHERE f.last_validated_at <= job_configs.last_fired_at), 0)
 WHERE last_fired_at IS NOT NULL;

ALTER TABLE job_runs ADD COLUMN seq_before INTEGER NULL;
ALTER TABLE job_runs ADD COLUMN seq_claimed INTEGER NULL;
ALTER TABLE job_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;

ALTER TABLE run_inputs ADD COLUMN seq INTEGER NULL;
ALTER TABLE run_inputs ADD COLUMN object_key TEXT NULL;
ALTER TABLE run_inputs ADD COLUMN validated_key TEXT NULL;
ALTER TABLE run_inputs ADD COLUMN validated_etag TEXT NULL;

-- Derived objects of superseded raw versions, waiting to be tagged
-- `edba-superseded=true` (see the MySQL migration for why).
CREATE TABLE superseded_objects (
    id            INTEGER NOT NULL PRIMARY KEY,
    bucket        TEXT    NOT NULL,
    object_key    TEXT    NOT NULL,
    superseded_at TEXT    NOT NULL
) STRICT;
