//! Stable error names. A task that fails raises one of these as the Lambda
//! error type; the state machines' Retry and Catch match on the strings, so the
//! strings are part of the contract and never change.

use serde::{Deserialize, Serialize};

/// The error names a task may raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorName {
    /// S3, network or database trouble; the same call may succeed later.
    /// Every task state retries it with backoff.
    #[serde(rename = "Edba.Transient")]
    Transient,
    /// The task's input does not match its contract (a bug or a hand-made
    /// execution input); retrying does not help.
    #[serde(rename = "Edba.InvalidInput")]
    InvalidInput,
    /// No EMR cluster matched a job's selector when a step had to be submitted.
    #[serde(rename = "Edba.NoCluster")]
    NoCluster,
    /// A job configuration in the state store is unusable.
    #[serde(rename = "Edba.InvalidJobConfig")]
    InvalidJobConfig,
    /// Loading a run's output into the warehouse failed for a reason that a
    /// retry will not fix (missing output, schema mismatch).
    #[serde(rename = "Edba.LoadFailed")]
    LoadFailed,
    /// Raised by the aggregate machine itself when one or more runs failed.
    #[serde(rename = "Edba.RunsFailed")]
    RunsFailed,
    /// Raised by the ingest machine itself when validate or track still
    /// failed after its retries: the event was parked in the dead-letter
    /// queue, and `edba replay` ingests it again.
    #[serde(rename = "Edba.IngestParked")]
    IngestParked,
}

impl ErrorName {
    pub const ALL: [ErrorName; 7] = [
        ErrorName::Transient,
        ErrorName::InvalidInput,
        ErrorName::NoCluster,
        ErrorName::InvalidJobConfig,
        ErrorName::LoadFailed,
        ErrorName::RunsFailed,
        ErrorName::IngestParked,
    ];

    /// The name as Step Functions sees it in `Error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorName::Transient => "Edba.Transient",
            ErrorName::InvalidInput => "Edba.InvalidInput",
            ErrorName::NoCluster => "Edba.NoCluster",
            ErrorName::InvalidJobConfig => "Edba.InvalidJobConfig",
            ErrorName::LoadFailed => "Edba.LoadFailed",
            ErrorName::RunsFailed => "Edba.RunsFailed",
            ErrorName::IngestParked => "Edba.IngestParked",
        }
    }
}

impl std::fmt::Display for ErrorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_name_is_the_step_functions_name() {
        for name in ErrorName::ALL {
            assert_eq!(serde_json::to_value(name).unwrap(), name.as_str());
        }
    }
}
