//! edba on one machine.
//!
//! This crate is never linked by the Lambda binaries: it holds what replaces
//! AWS services locally, starting with [`s3server`], the embedded
//! S3-compatible server that tests and `edba run` point `aws-sdk-s3` at.

pub mod api;
pub mod aws_apis;
pub mod check;
pub mod console;
pub mod deadletter;
pub mod executions;
pub mod executor;
pub mod pipeline;
pub mod s3server;
mod s3small;
pub mod s3versions;
pub mod steprunner;

pub use s3server::EmbeddedS3;

/// `bytes` as lowercase hexadecimal (digests, ETags, UUIDs).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
