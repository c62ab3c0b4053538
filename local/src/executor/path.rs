//! JSONPath evaluation over `serde_json::Value`, as Step Functions (Jayway)
//! does it: a *definite* path (only names and indices) selects one node or
//! nothing; any other path (wildcards, filters, slices, unions, `..`) selects
//! a list, possibly empty, and yields it as an array.

use edba_asl::jsonpath::{Filter, FilterOp, JsonPath, Literal, Root, Segment, UnionMember};
use serde_json::{Map, Value};

/// Whether Jayway treats the path as selecting at most one node.
pub fn is_definite(segments: &[Segment]) -> bool {
    segments.iter().all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)))
}

/// The value a path reads: `None` when a definite path matches nothing (or
/// reads a variable that is not set).
pub fn read(path: &JsonPath, input: &Value, context: &Value, vars: &Map<String, Value>) -> Option<Value> {
    let root = match &path.root {
        Root::Input => input,
        Root::Context => context,
        Root::Variable(v) => vars.get(v)?,
    };
    read_from(root, &path.segments)
}

/// What a path reads from, for error messages: its name (`input`, `context
/// object`, `variables`) and the data.
pub fn source(path: &JsonPath, input: &Value, context: &Value, vars: &Map<String, Value>) -> (&'static str, Value) {
    match &path.root {
        Root::Input => ("input", input.clone()),
        Root::Context => ("context object", context.clone()),
        Root::Variable(_) => ("variables", Value::Object(vars.clone())),
    }
}

/// Like [`read`], from an explicit root.
pub fn read_from(root: &Value, segments: &[Segment]) -> Option<Value> {
    if is_definite(segments) {
        definite(root, segments).cloned()
    } else {
        Some(Value::Array(select(root, segments).into_iter().cloned().collect()))
    }
}

fn definite<'a>(root: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    let mut cur = root;
    for s in segments {
        cur = match (s, cur) {
            (Segment::Child(name), Value::Object(m)) => m.get(name)?,
            (Segment::Index(i), Value::Array(a)) => a.get(resolve_index(*i, a.len())?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    if i >= 0 {
        usize::try_from(i).ok().filter(|&i| i < len)
    } else {
        let back = usize::try_from(i.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

/// Every node a path selects, in document order.
pub fn select<'a>(root: &'a Value, segments: &[Segment]) -> Vec<&'a Value> {
    let mut nodes = vec![root];
    for s in segments {
        let mut next = Vec::new();
        for n in nodes {
            apply(s, n, &mut next);
        }
        nodes = next;
    }
    nodes
}

fn apply<'a>(seg: &Segment, node: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Segment::Child(name) => {
            if let Some(v) = node.as_object().and_then(|m| m.get(name)) {
                out.push(v);
            }
        }
        Segment::Index(i) => {
            if let Value::Array(a) = node {
                if let Some(v) = resolve_index(*i, a.len()).and_then(|i| a.get(i)) {
                    out.push(v);
                }
            }
        }
        Segment::Wildcard => match node {
            Value::Object(m) => out.extend(m.values()),
            Value::Array(a) => out.extend(a.iter()),
            _ => {}
        },
        Segment::Union(members) => {
            for m in members {
                match m {
                    UnionMember::Name(n) => apply(&Segment::Child(n.clone()), node, out),
                    UnionMember::Index(i) => apply(&Segment::Index(*i), node, out),
                }
            }
        }
        Segment::Slice { start, end, step } => {
            if let Value::Array(a) = node {
                for i in slice_indices(a.len(), *start, *end, *step) {
                    out.push(&a[i]);
                }
            }
        }
        Segment::Filter(f) => {
            let candidates: Vec<&Value> = match node {
                Value::Array(a) => a.iter().collect(),
                Value::Object(m) => m.values().collect(),
                _ => Vec::new(),
            };
            out.extend(candidates.into_iter().filter(|c| filter_holds(f, c)));
        }
        Segment::Descendant(inner) => {
            let mut all = Vec::new();
            descendants(node, &mut all);
            for n in all {
                apply(inner, n, out);
            }
        }
    }
}

/// The node and everything under it, parents before children.
fn descendants<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Object(m) => m.values().for_each(|v| descendants(v, out)),
        Value::Array(a) => a.iter().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

/// Python slice semantics, which Jayway follows for `[start:end:step]`.
fn slice_indices(len: usize, start: Option<i64>, end: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let len = len as i64;
    let step = step.unwrap_or(1);
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let norm = |v: i64| if v < 0 { v + len } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let s = clamp(start.map_or(0, norm), 0, len);
        let e = clamp(end.map_or(len, norm), 0, len);
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else if step < 0 {
        let s = clamp(start.map_or(len - 1, norm), -1, len - 1);
        let e = clamp(end.map_or(-1, norm), -1, len - 1);
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn filter_holds(f: &Filter, item: &Value) -> bool {
    match f {
        Filter::Exists(path) => definite(item, path).is_some(),
        Filter::Compare { path, op, value } => match definite(item, path) {
            Some(v) => compare(v, *op, value),
            None => false,
        },
        Filter::And(a, b) => filter_holds(a, item) && filter_holds(b, item),
        Filter::Or(a, b) => filter_holds(a, item) || filter_holds(b, item),
    }
}

fn compare(v: &Value, op: FilterOp, lit: &Literal) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (Value::String(a), Literal::String(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::Number(a), Literal::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::Bool(a), Literal::Bool(b)) => (a == b).then_some(Ordering::Equal),
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        _ => None,
    };
    match op {
        FilterOp::Eq => ord == Some(Ordering::Equal),
        // Values of different types are unequal.
        FilterOp::Ne => ord != Some(Ordering::Equal),
        FilterOp::Lt => ord == Some(Ordering::Less),
        FilterOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        FilterOp::Gt => ord == Some(Ordering::Greater),
        FilterOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// Why a `ResultPath` could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError(pub String);

/// Writes `value` at a reference path inside `target`, creating the objects
/// on the way (`ResultPath` semantics).
pub fn write(target: &mut Value, segments: &[Segment], value: Value) -> Result<(), WriteError> {
    let Some((first, rest)) = segments.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        Segment::Child(name) => {
            let map: &mut Map<String, Value> = match target {
                Value::Object(m) => m,
                other => return Err(WriteError(format!("cannot set field '{name}' on a {}", type_name(other)))),
            };
            if rest.is_empty() {
                map.insert(name.clone(), value);
                return Ok(());
            }
            let slot = map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            write(slot, rest, value)
        }
        Segment::Index(i) => match target {
            Value::Array(a) => {
                let len = a.len();
                let idx = resolve_index(*i, len)
                    .ok_or_else(|| WriteError(format!("index {i} is out of range for an array of {len}")))?;
                write(&mut a[idx], rest, value)
            }
            other => Err(WriteError(format!("cannot index a {}", type_name(other)))),
        },
        other => Err(WriteError(format!("`{other}` is not allowed in a reference path"))),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(path: &str, v: &Value) -> Option<Value> {
        read(&JsonPath::parse(path).unwrap(), v, &Value::Null, &Map::new())
    }

    #[test]
    fn reads_every_selector() {
        let v = json!({"a": {"b": [1, 2, 3, 4]}, "items": [{"x": "y", "n": 1}, {"x": "z", "n": 5}], "c d": 7});
        assert_eq!(r("$.a.b[0]", &v), Some(json!(1)));
        assert_eq!(r("$.a.b[-1]", &v), Some(json!(4)));
        assert_eq!(r("$['c d']", &v), Some(json!(7)));
        assert_eq!(r("$.missing", &v), None);
        assert_eq!(r("$.a.b[*]", &v), Some(json!([1, 2, 3, 4])));
        assert_eq!(r("$.a.b[1:3]", &v), Some(json!([2, 3])));
        assert_eq!(r("$.a.b[::-2]", &v), Some(json!([4, 2])));
        assert_eq!(r("$.a.b[0,2]", &v), Some(json!([1, 3])));
        assert_eq!(r("$..x", &v), Some(json!(["y", "z"])));
        assert_eq!(r("$.items[?(@.x == 'y')].n", &v), Some(json!([1])));
        assert_eq!(r("$.items[?(@.n > 2)].x", &v), Some(json!(["z"])));
        assert_eq!(r("$.items[?(@.nope)]", &v), Some(json!([])));
    }

    #[test]
    fn writes_creating_objects() {
        let mut v = json!({"a": 1});
        write(&mut v, &JsonPath::parse("$.b.c").unwrap().segments, json!(2)).unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        let err = write(&mut v, &JsonPath::parse("$.a.x").unwrap().segments, json!(2));
        assert!(err.is_err());
    }
}
