-- Why each job waits (or that it fired), as the latest evaluation decided.
-- ../mysql/0003_job_decisions.sql is the same design and says why; change
-- both together.
CREATE TABLE job_decisions (
    job_id        TEXT NOT NULL PRIMARY KEY,
    decision      TEXT NOT NULL CHECK (decision IN ('WAITING', 'FIRED')),
    reason        TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    execution_arn TEXT NOT NULL
) STRICT;
