//! Choice rules evaluated against a state's input. A comparison whose
//! variable has another type than the operator reads is false, as in Step
//! Functions; a variable that is missing fails the state (`States.Runtime`),
//! except for `IsPresent`.

use std::cmp::Ordering;

use edba_asl::choice::{Comparison, ComparisonOp, Condition, Operand};
use edba_asl::jsonpath::JsonPath;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::path;
use super::TaskFailure;

/// Evaluates a condition; `input` is `$`, `context` is `$$`.
pub fn holds(c: &Condition, input: &Value, context: &Value, vars: &Map<String, Value>) -> Result<bool, TaskFailure> {
    match c {
        Condition::And(cs) => {
            for c in cs {
                if !holds(c, input, context, vars)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Or(cs) => {
            for c in cs {
                if holds(c, input, context, vars)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(c) => Ok(!holds(c, input, context, vars)?),
        Condition::Compare(cmp) => compare(cmp, input, context, vars),
        Condition::Jsonata(_) => Err(TaskFailure::runtime("a JSONata `Condition` in a JSONPath state".to_string())),
    }
}

fn read(text: &str, input: &Value, context: &Value, vars: &Map<String, Value>) -> Result<Option<Value>, TaskFailure> {
    let p = JsonPath::parse(text)
        .map_err(|e| TaskFailure::runtime(format!("Invalid path '{text}' in a Choice rule: {e}")))?;
    Ok(path::read(&p, input, context, vars))
}

/// RFC 3339 with the upper-case `T` and `Z` (or an offset) Step Functions requires.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    if s.contains('t') || s.contains('z') {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn compare(cmp: &Comparison, input: &Value, context: &Value, vars: &Map<String, Value>) -> Result<bool, TaskFailure> {
    use ComparisonOp as Op;
    let variable = read(&cmp.variable, input, context, vars)?;
    if cmp.op == Op::IsPresent {
        let want = matches!(cmp.operand, Operand::Bool(true));
        return Ok(variable.is_some() == want);
    }
    let Some(v) = variable else {
        return Err(TaskFailure::runtime(format!(
            "Invalid path '{}': The choice state's condition path references an invalid value.",
            cmp.variable
        )));
    };
    let operand: Value = match &cmp.operand {
        Operand::String(s) => Value::String(s.clone()),
        Operand::Number(n) => Value::Number(n.clone()),
        Operand::Bool(b) => Value::Bool(*b),
        Operand::Path(p) => match read(p, input, context, vars)? {
            Some(x) => x,
            None => {
                return Err(TaskFailure::runtime(format!(
                    "Invalid path '{p}': The choice state's condition path references an invalid value."
                )))
            }
        },
    };
    let is = |b: bool| Ok(matches!(cmp.operand, Operand::Bool(x) if x == b));
    let name = cmp.op.name();
    let family = if name.starts_with("String") && cmp.op != Op::StringMatches {
        "String"
    } else if name.starts_with("Numeric") {
        "Numeric"
    } else if name.starts_with("Timestamp") {
        "Timestamp"
    } else {
        ""
    };
    let relation = name.trim_start_matches(family).trim_end_matches("Path").to_string();
    let ordering: Option<Ordering> = match family {
        "String" => match (&v, &operand) {
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        },
        "Numeric" => match (v.as_f64(), operand.as_f64()) {
            (Some(a), Some(b)) if v.is_number() && operand.is_number() => a.partial_cmp(&b),
            _ => None,
        },
        "Timestamp" => match (v.as_str().and_then(parse_timestamp), operand.as_str().and_then(parse_timestamp)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        _ => {
            return match cmp.op {
                Op::BooleanEquals | Op::BooleanEqualsPath => {
                    Ok(matches!((&v, &operand), (Value::Bool(a), Value::Bool(b)) if a == b))
                }
                Op::StringMatches => Ok(match (&v, &operand) {
                    (Value::String(s), Value::String(p)) => string_matches(s, p),
                    _ => false,
                }),
                Op::IsNull => is(v.is_null()),
                Op::IsNumeric => is(v.is_number()),
                Op::IsString => is(v.is_string()),
                Op::IsBoolean => is(v.is_boolean()),
                Op::IsTimestamp => is(v.as_str().and_then(parse_timestamp).is_some()),
                other => Err(TaskFailure::runtime(format!("unsupported Choice operator {}", other.name()))),
            }
        }
    };
    let Some(o) = ordering else { return Ok(false) };
    Ok(match relation.as_str() {
        "Equals" => o == Ordering::Equal,
        "LessThan" => o == Ordering::Less,
        "GreaterThan" => o == Ordering::Greater,
        "LessThanEquals" => o != Ordering::Greater,
        "GreaterThanEquals" => o != Ordering::Less,
        other => return Err(TaskFailure::runtime(format!("unsupported Choice relation {other}"))),
    })
}

/// `StringMatches`: `*` matches any run of characters, `\*` a literal star
/// and `\\` a literal backslash.
pub fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Tok::Char(it.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(!string_matches("log.csv", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("abcabc", "*c*c"));
    }
}
