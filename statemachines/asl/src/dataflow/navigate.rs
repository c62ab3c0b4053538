//! Reading and writing the parts of a [`ValueType`]: a field, an element,
//! the elements of an array; setting a field (`ResultPath`) and marking one
//! present (after `IsPresent`). Each error says why, for the message of the
//! path that failed.

use serde_json::{json, Value};

use super::value_type::{ObjectType, UnlistedFields, ValueType};
use crate::jsonpath::Segment;

/// Reads field `name`. `allow_optional`: the field may be absent (IsPresent,
/// filter expressions) without that being an error.
pub(super) fn field(ty: &ValueType, name: &str, allow_optional: bool) -> Result<ValueType, String> {
    match ty.expand() {
        ValueType::Any => Ok(ValueType::Any),
        ValueType::Object(o) => object_field(&o, name, allow_optional),
        ValueType::Const(Value::Object(m)) => object_field(&ObjectType::from_const(&m), name, allow_optional),
        ValueType::Union(vs) => {
            let candidates: Vec<&ValueType> = vs.iter().filter(|v| !v.is_null()).collect();
            let results: Vec<Result<ValueType, String>> =
                candidates.iter().map(|v| field(v, name, allow_optional)).collect();
            let oks: Vec<ValueType> = results.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
            if oks.len() == results.len() || (allow_optional && !oks.is_empty()) {
                Ok(ValueType::union(oks))
            } else if oks.is_empty() {
                Err(results.into_iter().find_map(Result::err).unwrap_or_default())
            } else {
                let have: Vec<String> =
                    candidates.iter().zip(&results).filter(|(_, r)| r.is_ok()).map(|(v, _)| v.describe()).collect();
                Err(format!(
                    "field \"{name}\" exists only in some of the shapes the data can take ({}), \
                     so it may be absent at run time",
                    have.join(", ")
                ))
            }
        }
        other => Err(format!("cannot read field \"{name}\" of {}: it is not an object", other.describe())),
    }
}

fn object_field(o: &ObjectType, name: &str, allow_optional: bool) -> Result<ValueType, String> {
    if let Some(t) = o.properties.get(name) {
        if o.required.contains(name) || allow_optional {
            return Ok(t.clone());
        }
        return Err(format!(
            "field \"{name}\" of {} is optional (not in `required`): when it is absent at run time \
             Step Functions fails the execution with States.Runtime; test it first with a Choice \
             `IsPresent`, or make it required",
            o.name()
        ));
    }
    match &o.unlisted {
        UnlistedFields::Open => Ok(ValueType::Any),
        UnlistedFields::OfType(t) => Ok(t.clone()),
        UnlistedFields::Unexpected | UnlistedFields::Forbidden => {
            Err(format!("field \"{name}\" does not exist in {}; it has: {}", o.name(), o.field_list()))
        }
    }
}

pub(super) fn index(ty: &ValueType, n: i64) -> Result<ValueType, String> {
    match ty.expand() {
        ValueType::Any => Ok(ValueType::Any),
        ValueType::Array(t) => Ok(*t),
        ValueType::Tuple(ts) => {
            let len = ts.len() as i64;
            let i = if n < 0 { len + n } else { n };
            if (0..len).contains(&i) {
                Ok(ts[i as usize].clone())
            } else {
                Err(format!("index [{n}] is out of range of an array of {len} elements"))
            }
        }
        ValueType::Const(Value::Array(vs)) => {
            let len = vs.len() as i64;
            let i = if n < 0 { len + n } else { n };
            if (0..len).contains(&i) {
                Ok(ValueType::Const(vs[i as usize].clone()))
            } else {
                Err(format!("index [{n}] is out of range of an array of {len} elements"))
            }
        }
        ValueType::Union(vs) => {
            let r: Result<Vec<ValueType>, String> = vs.iter().filter(|v| !v.is_null()).map(|v| index(v, n)).collect();
            r.map(ValueType::union)
        }
        other => Err(format!("cannot index [{n}] into {}: it is not an array", other.describe())),
    }
}

/// The type of the elements of an array (`[*]`, slices, filters, ItemsPath).
pub(super) fn items(ty: &ValueType, allow_object: bool) -> Result<ValueType, String> {
    match ty.expand() {
        ValueType::Any => Ok(ValueType::Any),
        ValueType::Array(t) => Ok(*t),
        ValueType::Tuple(ts) => Ok(ValueType::union(ts)),
        ValueType::Const(Value::Array(vs)) => Ok(ValueType::union(vs.into_iter().map(ValueType::Const).collect())),
        ValueType::Object(o) if allow_object => Ok(match &o.unlisted {
            UnlistedFields::Open => ValueType::Any,
            UnlistedFields::OfType(t) => ValueType::union(o.properties.values().cloned().chain([t.clone()]).collect()),
            _ => ValueType::union(o.properties.values().cloned().collect()),
        }),
        ValueType::Const(Value::Object(m)) if allow_object => {
            Ok(ValueType::union(m.into_iter().map(|(_, v)| ValueType::Const(v)).collect()))
        }
        ValueType::Union(vs) => {
            let r: Result<Vec<ValueType>, String> =
                vs.iter().filter(|v| !v.is_null()).map(|v| items(v, allow_object)).collect();
            r.map(ValueType::union)
        }
        other => Err(format!("{} is not an array", other.describe())),
    }
}

/// Sets `fields` of `ty` to `value`, creating objects on the way (ResultPath).
pub(super) fn set(ty: &ValueType, fields: &[String], value: ValueType) -> Result<ValueType, String> {
    let Some((name, rest)) = fields.split_first() else {
        return Ok(value);
    };
    let mut obj = match ty.expand() {
        ValueType::Object(o) => (*o).clone(),
        ValueType::Const(Value::Object(m)) => ObjectType::from_const(&m),
        ValueType::Any => ObjectType::open(),
        ValueType::Union(vs) => {
            let r: Result<Vec<ValueType>, String> =
                vs.iter().filter(|v| !v.is_null()).map(|v| set(v, fields, value.clone())).collect();
            return r.map(ValueType::union);
        }
        other => return Err(format!("cannot set field \"{name}\" in {}: it is not an object", other.describe())),
    };
    let child = obj.properties.get(name).cloned().unwrap_or_else(|| ValueType::Const(json!({})));
    let new_child = set(&child, rest, value)?;
    obj.properties.insert(name.clone(), new_child);
    obj.required.insert(name.clone());
    Ok(ValueType::object(obj))
}

/// Marks the field at `fields` as present (after a Choice `IsPresent: true`).
pub(super) fn require(ty: &ValueType, fields: &[Segment]) -> ValueType {
    let Some((Segment::Child(name), rest)) = fields.split_first() else {
        return ty.clone();
    };
    match ty.expand() {
        ValueType::Object(o) if o.properties.contains_key(name) => {
            let mut obj = (*o).clone();
            let child = require(&obj.properties[name], rest);
            obj.properties.insert(name.clone(), child);
            obj.required.insert(name.clone());
            ValueType::object(obj)
        }
        _ => ty.clone(),
    }
}
