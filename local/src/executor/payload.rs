//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): fields
//! whose name ends in `.$` take the value of a path (`$` the state's data,
//! `$$` the context object) or of an intrinsic function call.

use base64::Engine as _;
use edba_asl::jsonpath::{Intrinsic, IntrinsicArg, IntrinsicFunction, JsonPath, PayloadValue};
use serde_json::{Map, Number, Value};

use super::path;
use super::random;
use super::TaskFailure;

/// What `$` and `$$` stand for while a template is resolved.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    /// The workflow variables in scope (`$name`).
    pub vars: &'a Map<String, Value>,
}

/// Resolves a payload template; `field` names the template in error causes
/// (`Parameters`, `ResultSelector`), which name the failing field by its full
/// path (`Parameters.Step.Name.$`).
pub fn resolve_template(template: &Value, scope: Scope<'_>, field: &str) -> Result<Value, TaskFailure> {
    match template {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match (k.strip_suffix(".$"), v) {
                    (Some(name), Value::String(expr)) => {
                        let value = eval_expression(expr, scope, &format!("{field}.{k}"))?;
                        out.insert(name.to_string(), value);
                    }
                    _ => {
                        out.insert(k.clone(), resolve_template(v, scope, &format!("{field}.{k}"))?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| resolve_template(v, scope, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// The value of a `.$` field, an `ErrorPath`/`CausePath`: a path or an
/// intrinsic call.
pub fn eval_expression(expr: &str, scope: Scope<'_>, field: &str) -> Result<Value, TaskFailure> {
    let parsed = PayloadValue::parse(expr).map_err(|e| {
        TaskFailure::runtime(format!("the value of field '{field}' is not a valid path or intrinsic function: {e}"))
    })?;
    match parsed {
        PayloadValue::Path(p) => read_for_field(&p, scope, field),
        PayloadValue::Intrinsic(call) => eval_intrinsic(&call, scope),
    }
}

/// Reads a path, failing with `States.Runtime` (as Step Functions does) when
/// a definite path matches nothing.
pub fn read_for_field(p: &JsonPath, scope: Scope<'_>, field: &str) -> Result<Value, TaskFailure> {
    path::read(p, scope.input, scope.context, scope.vars).ok_or_else(|| {
        let (what, data) = path::source(p, scope.input, scope.context, scope.vars);
        TaskFailure::runtime(format!(
            "The JSONPath '{p}' specified for the field '{field}' could not be found in the {what} '{data}'"
        ))
    })
}

/// A failed intrinsic call. Step Functions reports it as `States.Runtime`
/// (cause "Invalid arguments in States.…"), not the spec's
/// `States.IntrinsicFailure`, so `States.ALL` cannot catch it.
fn fail(f: IntrinsicFunction, why: impl std::fmt::Display) -> TaskFailure {
    TaskFailure::runtime(format!("Invalid arguments in {}: {why}", f.name()))
}

/// Evaluates an intrinsic call, its arguments first.
pub fn eval_intrinsic(call: &Intrinsic, scope: Scope<'_>) -> Result<Value, TaskFailure> {
    use IntrinsicFunction as F;
    let f = call.function;
    if f == F::Format {
        return format(call, scope);
    }
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(eval_arg(a, scope, f)?);
    }
    let want_int = |v: &Value, what: &str| -> Result<i64, TaskFailure> {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15).map(|x| x as i64))
            .ok_or_else(|| fail(f, format!("{what} must be an integer, not {v}")))
    };
    // States.MathAdd and States.MathRandom take any number: the developer
    // guide says a non-integer is rounded to the nearest integer (halves away
    // from zero here).
    let want_rounded = |v: &Value, what: &str| -> Result<i64, TaskFailure> {
        v.as_i64()
            .or_else(|| v.as_f64().map(f64::round).filter(|x| x.abs() < 9.0e15).map(|x| x as i64))
            .ok_or_else(|| fail(f, format!("{what} must be a number, not {v}")))
    };
    let want_str = |v: &Value, what: &str| -> Result<String, TaskFailure> {
        v.as_str().map(str::to_string).ok_or_else(|| fail(f, format!("{what} must be a string, not {v}")))
    };
    let want_array = |v: &Value, what: &str| -> Result<Vec<Value>, TaskFailure> {
        v.as_array().cloned().ok_or_else(|| fail(f, format!("{what} must be an array, not {v}")))
    };
    Ok(match f {
        F::Format => unreachable!("handled above"),
        F::StringToJson => {
            let s = want_str(&args[0], "the argument")?;
            serde_json::from_str(&s).map_err(|e| fail(f, format!("'{s}' is not JSON: {e}")))?
        }
        F::JsonToString => Value::String(args[0].to_string()),
        F::Array => Value::Array(args),
        F::ArrayPartition => {
            let items = want_array(&args[0], "the first argument")?;
            let size = want_int(&args[1], "the chunk size")?;
            if size <= 0 {
                return Err(fail(f, format!("the chunk size must be greater than 0, not {size}")));
            }
            Value::Array(items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect())
        }
        F::ArrayContains => {
            let items = want_array(&args[0], "the first argument")?;
            Value::Bool(items.iter().any(|v| json_eq(v, &args[1])))
        }
        F::ArrayRange => {
            let start = want_int(&args[0], "the start")?;
            let end = want_int(&args[1], "the end")?;
            let step = want_int(&args[2], "the step")?;
            if step == 0 {
                return Err(fail(f, "the step cannot be 0"));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                if out.len() == 1000 {
                    return Err(fail(f, "the range has more than 1000 items"));
                }
                out.push(Value::from(i));
                i += step;
            }
            Value::Array(out)
        }
        F::ArrayGetItem => {
            let items = want_array(&args[0], "the first argument")?;
            let i = want_int(&args[1], "the index")?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| fail(f, format!("index {i} is out of bounds for an array of {}", items.len())))?
        }
        F::ArrayLength => Value::from(want_array(&args[0], "the argument")?.len()),
        F::ArrayUnique => {
            let items = want_array(&args[0], "the argument")?;
            let mut out: Vec<Value> = Vec::new();
            for v in items {
                if !out.iter().any(|o| json_eq(o, &v)) {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        F::Base64Encode => {
            let s = want_str(&args[0], "the argument")?;
            if s.chars().count() > 10_000 {
                return Err(fail(f, "the input is longer than 10000 characters"));
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }
        F::Base64Decode => {
            let s = want_str(&args[0], "the argument")?;
            if s.chars().count() > 10_000 {
                return Err(fail(f, "the input is longer than 10000 characters"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| fail(f, format!("'{s}' is not base64: {e}")))?;
            Value::String(String::from_utf8(bytes).map_err(|_| fail(f, "the decoded data is not UTF-8 text"))?)
        }
        F::Hash => {
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if data.chars().count() > 10_000 {
                return Err(fail(f, "the input is longer than 10000 characters"));
            }
            let algorithm = want_str(&args[1], "the algorithm")?;
            Value::String(hash(&algorithm, data.as_bytes()).ok_or_else(|| {
                fail(f, format!("unknown algorithm '{algorithm}'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"))
            })?)
        }
        F::JsonMerge => {
            if args[2] != Value::Bool(false) {
                return Err(fail(f, "only a shallow merge is supported: the third argument must be false"));
            }
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err(fail(f, "both objects to merge must be JSON objects"));
            };
            let mut out = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Value::Object(out)
        }
        F::MathRandom => {
            let start = want_rounded(&args[0], "the start")?;
            let end = want_rounded(&args[1], "the end")?;
            if end < start {
                return Err(fail(f, format!("the end {end} is less than the start {start}")));
            }
            let r = match args.get(2) {
                Some(seed) => random::seeded(want_int(seed, "the seed")? as u64),
                None => random::next_u64(),
            };
            let span = (end - start) as u64 + 1;
            Value::from(start + (r % span) as i64)
        }
        F::MathAdd => {
            let a = want_rounded(&args[0], "the first number")?;
            let b = want_rounded(&args[1], "the second number")?;
            Value::from(a.checked_add(b).ok_or_else(|| fail(f, "the sum overflows"))?)
        }
        F::StringSplit => {
            let s = want_str(&args[0], "the string")?;
            let delims = want_str(&args[1], "the delimiter")?;
            Value::Array(
                s.split(|c: char| delims.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            )
        }
        F::Uuid => Value::String(random::uuid_v4()),
    })
}

fn eval_arg(a: &IntrinsicArg, scope: Scope<'_>, f: IntrinsicFunction) -> Result<Value, TaskFailure> {
    Ok(match a {
        IntrinsicArg::String { value, .. } => Value::String(value.clone()),
        IntrinsicArg::Number(n) => Value::Number(n.clone()),
        IntrinsicArg::Bool(b) => Value::Bool(*b),
        IntrinsicArg::Null => Value::Null,
        IntrinsicArg::Path(p) => path::read(p, scope.input, scope.context, scope.vars)
            .ok_or_else(|| fail(f, format!("the JSONPath '{p}' could not be found in the input '{}'", scope.input)))?,
        IntrinsicArg::Intrinsic(i) => eval_intrinsic(i, scope)?,
    })
}

fn format(call: &Intrinsic, scope: Scope<'_>) -> Result<Value, TaskFailure> {
    let f = IntrinsicFunction::Format;
    let Some(IntrinsicArg::String { raw, .. }) = call.args.first() else {
        return Err(fail(f, "the first argument must be a string literal template"));
    };
    // Pieces of literal text between `{}` placeholders; `\{` and `\}` are
    // literal braces, which is why the raw (unescaped) text is needed.
    let mut pieces = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    pieces.last_mut().expect("non-empty").push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                pieces.push(String::new());
            }
            c => pieces.last_mut().expect("non-empty").push(c),
        }
    }
    let placeholders = pieces.len() - 1;
    let given = call.args.len() - 1;
    if placeholders != given {
        return Err(fail(
            f,
            format!("the template has {placeholders} placeholder(s) but {given} argument(s) were given"),
        ));
    }
    let mut out = pieces[0].clone();
    for (i, a) in call.args[1..].iter().enumerate() {
        let v = eval_arg(a, scope, f)?;
        match v {
            Value::String(s) => out.push_str(&s),
            Value::Number(_) | Value::Bool(_) | Value::Null => out.push_str(&v.to_string()),
            other => {
                return Err(fail(
                    f,
                    format!(
                        "argument {} is {}; only strings, numbers, booleans and null can be formatted",
                        i + 2,
                        other
                    ),
                ))
            }
        }
        out.push_str(&pieces[i + 1]);
    }
    Ok(Value::String(out))
}

/// JSON equality where `1` equals `1.0`.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn num_eq(x: &Number, y: &Number) -> bool {
    x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(a, b)| a == b)
}

pub(super) fn hash(algorithm: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    let bytes: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(crate::hex(&bytes))
}
