//! How a [`TaskError`] reaches Step Functions: as a Lambda error whose type is
//! the stable error name (`Edba.Transient`, …) that Retry and Catch match.
//!
//! With this conversion a task binary's handler can return
//! `Result<_, TaskError>` directly to `lambda_runtime::run`.

use lambda_runtime::Diagnostic;

use crate::TaskError;

impl From<TaskError> for Diagnostic {
    fn from(err: TaskError) -> Self {
        Diagnostic { error_type: err.name().as_str().to_owned(), error_message: err.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_type_is_the_step_functions_name() {
        let diagnostic = Diagnostic::from(TaskError::Transient("database unreachable".into()));
        assert_eq!(diagnostic.error_type, "Edba.Transient");
        assert_eq!(diagnostic.error_message, "database unreachable");
        let diagnostic = Diagnostic::from(TaskError::InvalidInput("bad".into()));
        assert_eq!(diagnostic.error_type, "Edba.InvalidInput");
    }
}
