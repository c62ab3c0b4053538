//! JSONata evaluation with Step Functions' semantics, on the `jsonata-core`
//! crate.
//!
//! - An expression sees `$states` (`input`, `context`, and `result` or
//!   `errorOutput` where the state has them) and the workflow variables in
//!   scope, as `$name`. There is no input document: `foo` alone reads
//!   nothing; states read their input as `$states.input.foo`.
//! - Step Functions' own functions are added: `$partition`, `$range`,
//!   `$hash`, `$random` (optionally seeded), `$uuid`, `$parse`; `$eval` is
//!   refused.
//! - A failure (an error raised by the expression, a field that evaluates to
//!   nothing, a `Condition` that is not a boolean) is
//!   `States.QueryEvaluationError`, which `Catch` can route.
//!
//! Parsed expressions are cached per thread (a machine's expressions are few
//! and evaluated many times), with the variables each one names: only those
//! are bound, so a large variable is not copied into every evaluation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use edba_asl::jsonata::Expression;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use super::{errors, random, TaskFailure};

/// What an expression can see.
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'a> {
    /// The `$states` object.
    pub states: &'a Value,
    /// The workflow variables in scope.
    pub vars: &'a Map<String, Value>,
}

/// `{"input": …, "context": …}` plus the optional members.
pub fn states_object(input: &Value, context: &Value, result: Option<&Value>, error_output: Option<&Value>) -> Value {
    let mut m = Map::new();
    m.insert("input".into(), input.clone());
    m.insert("context".into(), context.clone());
    if let Some(r) = result {
        m.insert("result".into(), r.clone());
    }
    if let Some(e) = error_output {
        m.insert("errorOutput".into(), e.clone());
    }
    Value::Object(m)
}

fn query_error(cause: String) -> TaskFailure {
    TaskFailure::new(errors::QUERY_EVALUATION, cause)
}

/// A parsed expression and the variables it names.
struct Parsed {
    expression: Expression,
    names: Vec<String>,
}

thread_local! {
    static PARSED: RefCell<HashMap<String, Rc<Parsed>>> = RefCell::new(HashMap::new());
}

fn parsed(body: &str) -> Result<Rc<Parsed>, String> {
    if let Some(p) = PARSED.with(|p| p.borrow().get(body).cloned()) {
        return Ok(p);
    }
    let expression = edba_asl::jsonata::parse(body).map_err(|e| e.message)?;
    let names = expression.referenced_variables().into_iter().collect();
    let parsed = Rc::new(Parsed { expression, names });
    PARSED.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() > 10_000 {
            p.clear();
        }
        p.insert(body.to_string(), parsed.clone());
    });
    Ok(parsed)
}

/// Evaluates one expression body (between `{%` and `%}`). `Ok(None)` when it
/// evaluates to nothing (undefined).
pub fn evaluate(body: &str, b: Bindings<'_>) -> Result<Option<Value>, String> {
    let parsed = parsed(body)?;
    let mut ctx = Context::new();
    ctx.bind("states".into(), JValue::from(b.states.clone()));
    for name in &parsed.names {
        if let Some(v) = b.vars.get(name) {
            ctx.bind(name.clone(), JValue::from(v.clone()));
        }
    }
    let mut ev = Evaluator::with_context(ctx);
    register_functions(&mut ev).map_err(|e| e.to_string())?;
    let out = ev.evaluate(parsed.expression.ast(), &JValue::Undefined).map_err(|e| e.to_string())?;
    to_json(&out)
}

fn to_json(v: &JValue) -> Result<Option<Value>, String> {
    match v {
        JValue::Undefined => Ok(None),
        JValue::Lambda(_) | JValue::Builtin { .. } => Err("the expression evaluates to a function, not JSON".into()),
        other => Ok(Some(integral(Value::from(other)))),
    }
}

/// JSONata numbers are doubles; JSON from Step Functions (JavaScript) writes
/// an integral one without a fraction (`3`, not `3.0`).
fn integral(v: Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, integral(v))).collect()),
        other => other,
    }
}

/// A field value: a `{% … %}` string is evaluated, anything else is literal.
/// Nothing (undefined) is an error, as in Step Functions.
pub fn eval_value(text: &str, b: Bindings<'_>, field: &str) -> Result<Value, TaskFailure> {
    match edba_asl::jsonata::expression(text) {
        None => Ok(Value::String(text.to_string())),
        Some(body) => match evaluate(body, b) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(query_error(format!(
                "The JSONata expression '{body}' specified for the field '{field}' returned nothing (undefined)."
            ))),
            Err(e) => Err(query_error(format!(
                "An error occurred while evaluating the expression '{body}' specified for the field '{field}': {e}"
            ))),
        },
    }
}

/// A JSON template (`Arguments`, `Output`, `Assign` values, `ItemSelector`):
/// every `{% … %}` string in it, at any depth, is replaced by its value.
pub fn eval_template(t: &Value, b: Bindings<'_>, field: &str) -> Result<Value, TaskFailure> {
    match t {
        Value::String(s) => eval_value(s, b, field),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), eval_template(v, b, &format!("{field}.{k}"))?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| eval_template(v, b, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// A Choice rule's `Condition`: must give a boolean.
pub fn eval_condition(c: &Value, b: Bindings<'_>, field: &str) -> Result<bool, TaskFailure> {
    match eval_template(c, b, field)? {
        Value::Bool(x) => Ok(x),
        other => Err(query_error(format!(
            "The Condition field '{field}' must evaluate to a boolean, but evaluated to {other}."
        ))),
    }
}

/// An integer field given as an expression (`Seconds`, `TimeoutSeconds`,
/// `MaxConcurrency`).
pub fn eval_integer(text: &str, b: Bindings<'_>, field: &str) -> Result<u64, TaskFailure> {
    let v = eval_value(text, b, field)?;
    v.as_u64()
        .or_else(|| v.as_f64().filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x < 9.0e15).map(|x| x as u64))
        .ok_or_else(|| query_error(format!("The field '{field}' must evaluate to a non-negative integer, not {v}.")))
}

// ---------------------------------------------------------------------------
// Step Functions' functions

fn fn_error(name: &str, why: impl std::fmt::Display) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("${name}: {why}"))
}

fn arg_json(args: &[JValue], i: usize) -> Option<Value> {
    args.get(i).and_then(|v| to_json(v).ok().flatten())
}

fn register_functions(ev: &mut Evaluator) -> Result<(), EvaluatorError> {
    ev.register_fn("partition", |args: &[JValue]| {
        let (Some(Value::Array(items)), Some(size)) = (arg_json(args, 0), arg_json(args, 1)) else {
            return Err(fn_error("partition", "takes an array and a chunk size"));
        };
        let size = size
            .as_f64()
            .filter(|s| *s >= 1.0 && s.fract() == 0.0)
            .ok_or_else(|| fn_error("partition", format!("the chunk size must be a positive integer, not {size}")))?;
        let chunks: Vec<Value> = items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect();
        Ok(JValue::from(Value::Array(chunks)))
    })?;
    ev.register_fn("range", |args: &[JValue]| {
        let num = |i: usize, what: &str| -> Result<f64, EvaluatorError> {
            arg_json(args, i)
                .and_then(|v| v.as_f64())
                .filter(|x| x.fract() == 0.0)
                .ok_or_else(|| fn_error("range", format!("the {what} must be an integer")))
        };
        let (start, end, step) = (num(0, "start")?, num(1, "end")?, num(2, "step")?);
        if step == 0.0 {
            return Err(fn_error("range", "the step cannot be 0"));
        }
        let mut out = Vec::new();
        let mut x = start;
        while (step > 0.0 && x <= end) || (step < 0.0 && x >= end) {
            if out.len() >= 1000 {
                return Err(fn_error("range", "at most 1000 items"));
            }
            out.push(Value::from(x as i64));
            x += step;
        }
        Ok(JValue::from(Value::Array(out)))
    })?;
    ev.register_fn("hash", |args: &[JValue]| {
        let (Some(Value::String(data)), Some(Value::String(alg))) = (arg_json(args, 0), arg_json(args, 1)) else {
            return Err(fn_error("hash", "takes a string and an algorithm name"));
        };
        super::payload::hash(&alg, data.as_bytes()).map(JValue::from).ok_or_else(|| {
            fn_error("hash", format!("unknown algorithm \"{alg}\" (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"))
        })
    })?;
    ev.register_fn_override("random", |args: &[JValue]| {
        let x = match arg_json(args, 0) {
            None => random::unit(),
            Some(seed) => {
                let seed = seed.as_f64().ok_or_else(|| fn_error("random", "the seed must be a number"))?;
                (random::seeded(seed.to_bits()) >> 11) as f64 / (1u64 << 53) as f64
            }
        };
        Ok(JValue::from(Value::from(x.min(0.999_999_999_999))))
    })?;
    ev.register_fn("uuid", |_: &[JValue]| Ok(JValue::from(random::uuid_v4())))?;
    ev.register_fn("parse", |args: &[JValue]| {
        let Some(Value::String(text)) = arg_json(args, 0) else {
            return Err(fn_error("parse", "takes a JSON string"));
        };
        serde_json::from_str::<Value>(&text).map(JValue::from).map_err(|e| fn_error("parse", format!("not JSON: {e}")))
    })?;
    // jsonata-core 2.2.13 leaves spaces (and other characters JavaScript's
    // encodeURI escapes) as they are; the reference escapes them.
    ev.register_fn_override("encodeUrl", |args: &[JValue]| match arg_json(args, 0) {
        None => Ok(JValue::Undefined),
        Some(Value::String(s)) => Ok(JValue::from(encode_uri(&s))),
        Some(other) => Err(fn_error("encodeUrl", format!("takes a string, not {other}"))),
    })?;
    ev.register_fn_override("eval", |_: &[JValue]| {
        Err(fn_error("eval", "is not supported in Step Functions; use $parse to read JSON"))
    })?;
    Ok(())
}

/// JavaScript's `encodeURI`: everything but letters, digits and
/// `;,/?:@&=+$-_.!~*'()#` is percent-encoded as UTF-8.
fn encode_uri(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b';')
        .remove(b',')
        .remove(b'/')
        .remove(b'?')
        .remove(b':')
        .remove(b'@')
        .remove(b'&')
        .remove(b'=')
        .remove(b'+')
        .remove(b'$')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b'#');
    utf8_percent_encode(s, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str) -> Result<Value, TaskFailure> {
        let states =
            states_object(&json!({"n": 3, "list": [1, 2, 3, 4, 5]}), &json!({"Execution": {"Id": "x"}}), None, None);
        let vars = json!({"limit": 2}).as_object().cloned().unwrap();
        eval_value(expr, Bindings { states: &states, vars: &vars }, "Output")
    }

    #[test]
    fn step_functions_functions() {
        assert_eq!(eval("{% $partition($states.input.list, $limit) %}").unwrap(), json!([[1, 2], [3, 4], [5]]));
        assert_eq!(eval("{% $range(0, 10, 5) %}").unwrap(), json!([0, 5, 10]));
        assert_eq!(eval("{% $hash('abc', 'MD5') %}").unwrap(), json!("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(eval("{% $parse('{\"a\": [1]}') %}").unwrap(), json!({"a": [1]}));
        assert_eq!(eval("{% $random(7) %}").unwrap(), eval("{% $random(7) %}").unwrap());
        assert_eq!(eval("{% $uuid() %}").unwrap().as_str().unwrap().len(), 36);
        let e = eval("{% $eval('1 + 1') %}").unwrap_err();
        assert_eq!(e.error, errors::QUERY_EVALUATION);
        assert!(e.cause.contains("$parse"), "{}", e.cause);
    }

    #[test]
    fn nothing_is_an_error_and_literals_stay() {
        let e = eval("{% $states.input.missing %}").unwrap_err();
        assert!(e.cause.contains("returned nothing (undefined)"), "{}", e.cause);
        assert_eq!(eval("plain text").unwrap(), json!("plain text"));
        assert_eq!(eval("{% $states.input.n * $limit %}").unwrap(), json!(6));
        assert_eq!(eval("{% $states.context.Execution.Id %}").unwrap(), json!("x"));
        // A variable the expression rebinds is still read from outside first.
        assert_eq!(eval("{% ($limit := $limit + 1; $limit) %}").unwrap(), json!(3));
    }
}
