//! edba-tasks' integration tests, in one test binary (one link instead of nine);
//! run one subject with `cargo test -p edba-tasks --test it <module>::`.

mod dataset_convert;
mod dataset_declared;
mod dataset_props;
mod jobs_apply;
mod jobs_props;
mod load_local;
mod load_redshift;
mod record_outcomes;
mod store_criteria_user;
mod store_secret_rotation;
mod store_tls;
mod store_track;
mod telemetry;
mod warehouse_sql;
