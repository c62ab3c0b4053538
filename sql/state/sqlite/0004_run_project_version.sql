-- Which project a run was claimed under. ../mysql/0004_run_project_version.sql
-- is the same design and says why; change both together.
ALTER TABLE job_runs ADD COLUMN project_version TEXT;
