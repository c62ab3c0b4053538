-- Freshness by store order, exact lineage per run input, re-runnable runs.
-- ../sqlite/0002_freshness_by_sequence.sql is the same design; change both together.
--
-- Why a sequence and not clocks: `last_validated_at` comes from validate's
-- clock and a job's last firing from evaluate's, so a file validated before an
-- evaluation started but tracked after its claim read the table was never
-- fresh again, and one tracked in between was counted twice. Now track takes
-- the next value of `store_sequences` in its own transaction. The counter row
-- stays locked until that transaction commits, so sequences commit in order:
-- whatever a claim's one SELECT sees is every version up to some sequence,
-- with no gaps. A job's watermark (`job_configs.claimed_seq`) is the highest
-- sequence among the inputs its latest run claimed; a version is fresh for
-- the job iff its sequence is above the watermark (a key's row always holds
-- its newest version, so superseded versions are never fresh).

CREATE TABLE store_sequences (
    name  VARCHAR(32) NOT NULL,
    value BIGINT      NOT NULL,
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE ingested_files
    -- The store-assigned sequence of the key's current version.
    ADD COLUMN seq BIGINT NOT NULL DEFAULT 0,
    -- The ETag of the validated object validate wrote for this version.
    ADD COLUMN validated_etag VARCHAR(255) NULL,
    -- "How many usable files of dataset D named P* are newer than sequence S"
    -- (and, for `within_hours`, validated after T): a range on
    -- (dataset, file_name) answered from the index alone. It replaces the
    -- index on validation time, which freshness no longer reads.
    ADD KEY ix_ingested_files_dataset_seq (dataset, file_name, seq, status, last_validated_at),
    DROP KEY ix_ingested_files_dataset_name;

-- Existing rows are numbered in the order they were validated.
SET @edba_seq := 0;
UPDATE ingested_files SET seq = (@edba_seq := @edba_seq + 1) ORDER BY last_validated_at, file_url;
INSERT INTO store_sequences (name, value) SELECT 'file_versions', COUNT(*) FROM ingested_files;

ALTER TABLE job_configs
    -- The job's watermark: the highest sequence its latest holding claim read.
    ADD COLUMN claimed_seq BIGINT NOT NULL DEFAULT 0;

-- A job that fired before this migration has seen what was validated by then.
UPDATE job_configs j
   SET claimed_seq = COALESCE(
       (SELECT MAX(f.seq) FROM ingested_files f WHERE f.last_validated_at <= j.last_fired_at), 0)
 WHERE j.last_fired_at IS NOT NULL;

ALTER TABLE job_runs
    -- The job's watermark before this run's claim (restored when the run
    -- gives its inputs back) and the one the claim set.
    ADD COLUMN seq_before BIGINT NULL,
    ADD COLUMN seq_claimed BIGINT NULL,
    -- 1, plus one for every `edba rerun`.
    ADD COLUMN attempts INT NOT NULL DEFAULT 1;

ALTER TABLE run_inputs
    ADD COLUMN seq BIGINT NULL,
    ADD COLUMN object_key VARCHAR(1024) NULL,
    ADD COLUMN validated_key VARCHAR(1024) NULL,
    ADD COLUMN validated_etag VARCHAR(255) NULL;

-- Derived objects (validated/, rejected/) of raw versions that will never be
-- read by a new run again: the version a newer one superseded, or a stale
-- version that arrived after a newer one. Track writes them in the
-- transaction that decides it; evaluate tags each object
-- `edba-superseded=true` and deletes the row. A lifecycle rule of the
-- template expires tagged objects after a number of days, so no task ever
-- deletes an object (a run claimed before the supersession still reads it).
CREATE TABLE superseded_objects (
    id            BIGINT        NOT NULL AUTO_INCREMENT,
    bucket        VARCHAR(63)   NOT NULL,
    object_key    VARCHAR(1024) NOT NULL,
    superseded_at DATETIME(6)   NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
