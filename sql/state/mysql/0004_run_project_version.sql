-- Which project (code/edba.toml: its S3 version id, else its ETag) a run was
-- claimed under: the datasets' declared columns its step read the inputs
-- with. NULL for runs claimed before projects, or under the built-in sample.
-- ../sqlite/0004_run_project_version.sql is the same design; change both together.
ALTER TABLE job_runs ADD COLUMN project_version VARCHAR(1024) NULL;
