-- Why each job waits (or that it fired), as the latest evaluation decided.
-- The evaluate output a Step Functions execution carries is bounded (256 KiB
-- payloads): it lists a summary, and the full decision of every job is here,
-- for `edba status`. Its own table, so writing it never takes the
-- job_configs row locks a claim holds. ../sqlite/0003_job_decisions.sql is
-- the same design; change both together.
CREATE TABLE job_decisions (
    job_id        VARCHAR(128)  NOT NULL,
    -- WAITING or FIRED.
    decision      VARCHAR(16)   NOT NULL,
    reason        TEXT          NOT NULL,
    decided_at    DATETIME(6)   NOT NULL,
    execution_arn VARCHAR(2048) NOT NULL,
    PRIMARY KEY (job_id),
    CONSTRAINT ck_job_decisions_decision CHECK (decision IN ('WAITING', 'FIRED'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
