//! edba's domain library: everything a task does, testable without Lambda.
//!
//! Each Lambda binary in `src/bin/` only builds its clients from the environment
//! and calls one function here. This crate knows nothing about the local
//! runtime, the embedded S3 server or the query engine.

pub mod code;
pub mod dataset;
pub mod diagnostic;
pub mod error;
pub mod evaluate;
pub mod jobs;
pub mod load;
pub mod metrics;
pub mod project;
pub mod record;
pub mod s3;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod validate;

pub use error::TaskError;
