//! What record keeps of a run's EMR step and of a caught failure: the step id
//! (from the `addStep.sync` result, or dug out of a failure's cause) and an
//! error and cause that fit their columns.

use edba_payloads::TaskFailure;
use serde_json::Value;

/// `job_runs.error` is `VARCHAR(256)`: characters, not bytes.
const MAX_ERROR_CHARS: usize = 256;
/// `job_runs.cause` is a MySQL `TEXT` (65,535 bytes). A failed `.sync` task's
/// cause can be a whole DescribeStep document; its head says what went wrong.
pub(crate) const MAX_CAUSE_BYTES: usize = 32 * 1024;
/// `job_runs.step_id` is `VARCHAR(64)`.
const MAX_STEP_ID: usize = 64;
/// EMR step ids are `s-` and upper-case letters and digits (`s-2V7X5X1XQ7ZTZ`).
/// Requiring a few of them keeps words like `cross-site` out of the text scan.
const MIN_STEP_ID_SUFFIX: usize = 8;

/// The EMR step id of a run: from the `addStep.sync` result when the step
/// ran, else from the cause of the failure that ended it.
pub(crate) fn step_id(emr: Option<&Value>, failure: Option<&TaskFailure>) -> Option<String> {
    emr.and_then(step_id_of_result).or_else(|| failure.and_then(|f| f.cause.as_deref()).and_then(step_id_in_cause))
}

/// `{"StepId": …}` (the AddJobFlowSteps shape) or `{"Step": {"Id": …}}` (the
/// DescribeStep shape `.sync` returns); anything else has no step id.
fn step_id_of_result(result: &Value) -> Option<String> {
    let id = result.get("StepId").or_else(|| result.get("Step").and_then(|step| step.get("Id")))?.as_str()?;
    is_plausible_id(id).then(|| id.to_owned())
}

/// The cause of a failed `.sync` task is often the DescribeStep document or an
/// error object serialized as a string; otherwise free text may name the step.
fn step_id_in_cause(cause: &str) -> Option<String> {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|doc| step_id_of_result(&doc).or_else(|| step_id_anywhere(&doc)))
        .or_else(|| step_id_in_text(cause))
}

/// The first `StepId` or `Id` field anywhere in the document whose value looks
/// like an EMR step id (a cluster's `Id` is `j-…`, so the prefix matters).
fn step_id_anywhere(doc: &Value) -> Option<String> {
    match doc {
        Value::Object(map) => {
            let own = ["StepId", "Id"]
                .iter()
                .find_map(|key| map.get(*key).and_then(Value::as_str).filter(|id| looks_like_step_id(id)));
            own.map(str::to_owned).or_else(|| map.values().find_map(step_id_anywhere))
        }
        Value::Array(items) => items.iter().find_map(step_id_anywhere),
        _ => None,
    }
}

fn step_id_in_text(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = text[from..].find("s-") {
        let start = from + offset;
        from = start + 2;
        let glued_to_a_word = start > 0 && {
            let before = bytes[start - 1];
            before.is_ascii_alphanumeric() || before == b'-' || before == b'_'
        };
        if glued_to_a_word {
            continue;
        }
        let suffix_len = bytes[start + 2..].iter().take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit()).count();
        let end = start + 2 + suffix_len;
        let glued_after = bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        if suffix_len >= MIN_STEP_ID_SUFFIX && !glued_after && end - start <= MAX_STEP_ID {
            return Some(text[start..end].to_owned());
        }
    }
    None
}

fn looks_like_step_id(id: &str) -> bool {
    id.strip_prefix("s-").is_some_and(|suffix| {
        suffix.len() >= MIN_STEP_ID_SUFFIX && suffix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }) && id.len() <= MAX_STEP_ID
}

/// An id EMR handed back in a field meant for it: trusted as long as it fits
/// the column and is a plain token.
fn is_plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_STEP_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The Step Functions error name, cut to its column.
pub(crate) fn error_name(failure: Option<&TaskFailure>) -> Option<String> {
    let error = failure?.error.as_deref()?;
    Some(error.chars().take(MAX_ERROR_CHARS).collect())
}

/// The failure's cause, cut at [`MAX_CAUSE_BYTES`] with a marker saying how
/// long it was.
pub(crate) fn cause(failure: Option<&TaskFailure>) -> Option<String> {
    let cause = failure?.cause.as_deref()?;
    if cause.len() <= MAX_CAUSE_BYTES {
        return Some(cause.to_owned());
    }
    let mut cut = MAX_CAUSE_BYTES;
    while !cause.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(format!("{}… [cause truncated: {} bytes in total]", &cause[..cut], cause.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failure(error: Option<&str>, cause: Option<&str>) -> TaskFailure {
        TaskFailure { error: error.map(str::to_owned), cause: cause.map(str::to_owned) }
    }

    #[test]
    fn step_id_comes_from_either_result_shape() {
        let add_steps = json!({ "StepId": "s-2V7X5X1XQ7ZTZ" });
        let describe = json!({ "Step": { "Id": "s-3ABCDEFGH1234", "Status": { "State": "COMPLETED" } } });
        assert_eq!(step_id(Some(&add_steps), None).as_deref(), Some("s-2V7X5X1XQ7ZTZ"));
        assert_eq!(step_id(Some(&describe), None).as_deref(), Some("s-3ABCDEFGH1234"));
        for other in [
            json!({}),
            json!({ "Id": "s-3ABCDEFGH1234" }),
            json!("s-3ABCDEFGH1234"),
            json!({ "StepId": 7 }),
            json!({ "StepId": "" }),
        ] {
            assert_eq!(step_id(Some(&other), None), None, "{other}");
        }
    }

    #[test]
    fn step_id_is_dug_out_of_a_failure_cause() {
        let describe = json!({
            "Step": {
                "Id": "s-1K5YJ2BDSF8OO",
                "Status": { "State": "FAILED", "FailureDetails": { "Reason": "Unknown Error." } }
            }
        })
        .to_string();
        let nested = json!({ "errorMessage": "x", "details": [{ "Cluster": { "Id": "j-3SD91U2E1L2QX" } }, { "StepId": "s-1K5YJ2BDSF8OO" }] }).to_string();
        let text = "Step s-1K5YJ2BDSF8OO failed: exit code 1";
        for cause in [describe.as_str(), nested.as_str(), text] {
            let failed = failure(Some("States.TaskFailed"), Some(cause));
            assert_eq!(step_id(None, Some(&failed)).as_deref(), Some("s-1K5YJ2BDSF8OO"), "{cause}");
        }
    }

    #[test]
    fn causes_without_a_step_id_give_none() {
        for cause in [
            "States.Timeout",
            "cross-site request forged",
            "s-short",
            "class-s-ABCDEFGHIJ is glued to a word",
            r#"{"Cluster": {"Id": "j-3SD91U2E1L2QX"}}"#,
            "",
        ] {
            assert_eq!(step_id(None, Some(&failure(None, Some(cause)))), None, "{cause}");
        }
        assert_eq!(step_id(None, Some(&failure(Some("States.Timeout"), None))), None);
        assert_eq!(step_id(None, None), None);
    }

    #[test]
    fn the_result_wins_over_the_cause() {
        let emr = json!({ "StepId": "s-FROMRESULT01" });
        let failed = failure(None, Some("step s-FROMCAUSE001 failed"));
        assert_eq!(step_id(Some(&emr), Some(&failed)).as_deref(), Some("s-FROMRESULT01"));
        let odd = json!({ "Something": "else" });
        assert_eq!(step_id(Some(&odd), Some(&failed)).as_deref(), Some("s-FROMCAUSE001"));
    }

    #[test]
    fn long_causes_are_cut_on_a_char_boundary_with_a_marker() {
        let long = "é".repeat(MAX_CAUSE_BYTES); // 2 bytes each
        let cut = cause(Some(&failure(None, Some(&long)))).unwrap();
        assert!(cut.ends_with(&format!("… [cause truncated: {} bytes in total]", long.len())));
        assert!(cut.len() < MAX_CAUSE_BYTES + 64);
        assert!(cut.starts_with(&"é".repeat(MAX_CAUSE_BYTES / 2)));

        let exact = "x".repeat(MAX_CAUSE_BYTES);
        assert_eq!(cause(Some(&failure(None, Some(&exact)))).as_deref(), Some(exact.as_str()));
    }

    #[test]
    fn error_names_fit_their_column() {
        let long = "E".repeat(300);
        assert_eq!(error_name(Some(&failure(Some(&long), None))).unwrap().len(), MAX_ERROR_CHARS);
        assert_eq!(error_name(Some(&failure(Some("States.TaskFailed"), None))).as_deref(), Some("States.TaskFailed"));
        assert_eq!(error_name(None), None);
    }
}
