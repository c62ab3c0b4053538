//! What a Task is sent against what its input type expects: every field the
//! input type requires is produced (and always), nothing it does not have is
//! produced, and each value fits.

use serde_json::Value;

use super::value_type::{ObjectType, Primitive, UnlistedFields, ValueType, MAX_DEPTH};

/// Appends to `out` one message per way `actual` does not fit `expected`;
/// `at` names where `actual` comes from (`Parameters.run.id`).
pub(super) fn conforms(actual: &ValueType, expected: &ValueType, at: &str, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let (a, e) = (actual.expand(), expected.expand());
    match (&a, &e) {
        (ValueType::Any, _) | (_, ValueType::Any) => {}
        (ValueType::Union(vs), _) => {
            for v in vs {
                conforms(v, expected, at, out, depth + 1);
            }
        }
        (_, ValueType::Union(es)) => {
            let mut best: Option<Vec<String>> = None;
            for v in es {
                let mut trial = Vec::new();
                conforms(&a, v, at, &mut trial, depth + 1);
                if trial.is_empty() {
                    return;
                }
                // Report against the variant of the same kind, if any.
                let same_kind = matches!(
                    (&a, v.expand()),
                    (ValueType::Object(_) | ValueType::Const(Value::Object(_)), ValueType::Object(_))
                );
                if best.is_none() || same_kind {
                    best = Some(trial);
                }
            }
            if let Some(b) = best {
                out.extend(b);
            }
        }
        (_, ValueType::Object(eo)) => {
            let ao = match &a {
                ValueType::Object(o) => (**o).clone(),
                ValueType::Const(Value::Object(m)) => ObjectType::from_const(m),
                _ => {
                    out.push(format!("{at} is {} but {} expects an object", a.describe(), eo.name()));
                    return;
                }
            };
            for r in &eo.required {
                match ao.properties.get(r) {
                    None if matches!(ao.unlisted, UnlistedFields::Open | UnlistedFields::OfType(_)) => {}
                    None => out.push(format!("{at} does not produce \"{r}\", which {} requires", eo.name())),
                    Some(_) if !ao.required.contains(r) => out.push(format!(
                        "{at} produces \"{r}\" only sometimes (it is optional there), but {} requires it",
                        eo.name()
                    )),
                    Some(_) => {}
                }
            }
            for (k, v) in &ao.properties {
                match eo.properties.get(k) {
                    Some(ev) => conforms(v, ev, &format!("{at}.{k}"), out, depth + 1),
                    None => match &eo.unlisted {
                        UnlistedFields::Open => {}
                        UnlistedFields::OfType(t) => conforms(v, t, &format!("{at}.{k}"), out, depth + 1),
                        UnlistedFields::Unexpected | UnlistedFields::Forbidden => out.push(format!(
                            "{at} produces \"{k}\" which {} does not have; it has: {}",
                            eo.name(),
                            eo.field_list()
                        )),
                    },
                }
            }
        }
        (_, ValueType::Array(et)) => match &a {
            ValueType::Array(at_) => conforms(at_, et, &format!("{at}[]"), out, depth + 1),
            ValueType::Tuple(ts) => {
                for (i, t) in ts.iter().enumerate() {
                    conforms(t, et, &format!("{at}[{i}]"), out, depth + 1);
                }
            }
            ValueType::Const(Value::Array(vs)) => {
                for (i, v) in vs.iter().enumerate() {
                    conforms(&ValueType::Const(v.clone()), et, &format!("{at}[{i}]"), out, depth + 1);
                }
            }
            _ => out.push(format!("{at} is {} but the task expects an array", a.describe())),
        },
        (_, ValueType::Tuple(ets)) => {
            if let ValueType::Tuple(ts) = &a {
                for (i, (t, et)) in ts.iter().zip(ets).enumerate() {
                    conforms(t, et, &format!("{at}[{i}]"), out, depth + 1);
                }
            } else if !matches!(a, ValueType::Array(_) | ValueType::Const(Value::Array(_))) {
                out.push(format!("{at} is {} but the task expects an array", a.describe()));
            }
        }
        (_, ValueType::Primitive(p)) => {
            let ok = match &a {
                ValueType::Primitive(q) => q == p || (*q == Primitive::Integer && *p == Primitive::Number),
                ValueType::Const(v) => Primitive::of_value(v)
                    .is_some_and(|q| q == *p || (q == Primitive::Integer && *p == Primitive::Number)),
                _ => false,
            };
            if !ok {
                out.push(format!("{at} is {} but the task expects {}", a.describe(), p.describe()));
            }
        }
        (_, ValueType::Const(ev)) => {
            let ok = match &a {
                ValueType::Const(v) => v == ev,
                ValueType::Primitive(q) => Primitive::of_value(ev) == Some(*q),
                _ => false,
            };
            if !ok {
                out.push(format!("{at} is {} but the task expects {}", a.describe(), e.describe()));
            }
        }
        (_, ValueType::Schema { .. }) => {}
    }
}
