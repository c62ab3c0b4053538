//! The one error type tasks return. Each variant maps to a stable Step Functions
//! error name ([`ErrorName`]) that the machines' Retry and Catch match.

use edba_payloads::ErrorName;

/// A task failure a caller (Step Functions, through the Lambda error type) can act on.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// S3, network or database trouble; retried by the state machine.
    #[error("{0}")]
    Transient(String),
    /// The task's input breaks its contract; not retried.
    #[error("{0}")]
    InvalidInput(String),
    /// No EMR cluster matches a job's selector.
    #[error("{0}")]
    NoCluster(String),
    /// A job configuration is unusable.
    #[error("{0}")]
    InvalidJobConfig(String),
    /// A run's output could not be merged into the warehouse.
    #[error("{0}")]
    LoadFailed(String),
}

impl TaskError {
    /// The Step Functions error name of this failure.
    pub fn name(&self) -> ErrorName {
        match self {
            TaskError::Transient(_) => ErrorName::Transient,
            TaskError::InvalidInput(_) => ErrorName::InvalidInput,
            TaskError::NoCluster(_) => ErrorName::NoCluster,
            TaskError::InvalidJobConfig(_) => ErrorName::InvalidJobConfig,
            TaskError::LoadFailed(_) => ErrorName::LoadFailed,
        }
    }

    pub fn transient(context: &str, err: impl std::fmt::Display) -> Self {
        TaskError::Transient(format!("{context}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_step_functions_name() {
        assert_eq!(TaskError::Transient("x".into()).name().as_str(), "Edba.Transient");
        assert_eq!(TaskError::InvalidInput("x".into()).name().as_str(), "Edba.InvalidInput");
        assert_eq!(TaskError::NoCluster("x".into()).name().as_str(), "Edba.NoCluster");
        assert_eq!(TaskError::LoadFailed("x".into()).name().as_str(), "Edba.LoadFailed");
    }
}
