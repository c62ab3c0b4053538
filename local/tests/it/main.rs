//! edba-local's integration tests, in one test binary: each binary links
//! DataFusion and the AWS SDKs, and one link instead of a dozen keeps
//! `cargo test` after a change fast. Each module is one subject; run one with
//! `cargo test -p edba-local --test it <module>::`.

mod evaluate_support;
mod support;

mod check_project;
mod evaluate_aws;
mod evaluate_concurrency;
mod evaluate_criteria;
mod executor_dataflow;
mod executor_jsonata;
mod executor_pipelines;
mod executor_states;
mod jsonata_differential;
mod lineage_model;
mod s3_versions;
mod s3server;
mod steprunner_bench;
mod steprunner_sql_job;
mod validate_s3;
