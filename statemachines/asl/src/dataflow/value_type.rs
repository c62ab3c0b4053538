//! The type model: what the data at one point of a machine can be.
//!
//! A [`ValueType`] is either a JSON Schema node, expanded lazily against its
//! [`SchemaDocument`] (so recursive types are fine), or a shape the walk built
//! itself: an object made by a `Parameters` template ([`ObjectType`]), the
//! array a Map returns, the tuple a Parallel returns, a constant.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::Value;

/// A schema document: `$ref`s inside it resolve against it.
#[derive(Debug)]
pub(super) struct SchemaDocument {
    schema: Value,
    hash: u64,
}

/// A JSON Schema `type` other than object and array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Primitive {
    String,
    Integer,
    Number,
    Boolean,
    Null,
}

impl Primitive {
    fn from_name(s: &str) -> Option<Primitive> {
        Some(match s {
            "string" => Primitive::String,
            "integer" => Primitive::Integer,
            "number" => Primitive::Number,
            "boolean" => Primitive::Boolean,
            "null" => Primitive::Null,
            _ => return None,
        })
    }
    pub(super) fn of_value(v: &Value) -> Option<Primitive> {
        Some(match v {
            Value::String(_) => Primitive::String,
            Value::Number(n) if n.is_i64() || n.is_u64() => Primitive::Integer,
            Value::Number(_) => Primitive::Number,
            Value::Bool(_) => Primitive::Boolean,
            Value::Null => Primitive::Null,
            _ => return None,
        })
    }
    pub(super) fn describe(self) -> &'static str {
        match self {
            Primitive::String => "a string",
            Primitive::Integer => "an integer",
            Primitive::Number => "a number",
            Primitive::Boolean => "a boolean",
            Primitive::Null => "null",
        }
    }
}

/// What an object says about fields it does not list.
#[derive(Debug, Clone)]
pub(super) enum UnlistedFields {
    /// No field is listed and none is forbidden: anything may be read.
    Open,
    /// Fields are listed; reading another one is a mistake (schemars leaves
    /// `additionalProperties` out for structs that ignore unknown fields).
    Unexpected,
    /// `additionalProperties: false`.
    Forbidden,
    /// A map: every other key has this type.
    OfType(ValueType),
}

/// An object: its fields, which of them are always there, and what it says
/// about the others.
#[derive(Debug, Clone)]
pub(super) struct ObjectType {
    /// How messages name it: the schema's `title` or `$defs` name.
    pub(super) title: Option<String>,
    pub(super) properties: IndexMap<String, ValueType>,
    pub(super) required: BTreeSet<String>,
    pub(super) unlisted: UnlistedFields,
}

impl ObjectType {
    pub(super) fn open() -> ObjectType {
        ObjectType {
            title: None,
            properties: IndexMap::new(),
            required: BTreeSet::new(),
            unlisted: UnlistedFields::Open,
        }
    }

    /// The object type of a constant object: every field required, no others.
    pub(super) fn from_const(m: &serde_json::Map<String, Value>) -> ObjectType {
        ObjectType {
            title: None,
            properties: m.iter().map(|(k, v)| (k.clone(), ValueType::Const(v.clone()))).collect(),
            required: m.keys().cloned().collect(),
            unlisted: UnlistedFields::Forbidden,
        }
    }

    pub(super) fn name(&self) -> String {
        self.title.clone().unwrap_or_else(|| "the object".into())
    }

    pub(super) fn field_list(&self) -> String {
        if self.properties.is_empty() {
            "no fields".into()
        } else {
            self.properties.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
        }
    }
}

/// The type of the data at one point of the walk.
#[derive(Debug, Clone)]
pub(super) enum ValueType {
    /// Anything (`true`, `{}`, an untyped result).
    Any,
    /// A schema node, expanded on demand against its document.
    Schema {
        document: Rc<SchemaDocument>,
        node: Value,
        name: Option<String>,
    },
    Primitive(Primitive),
    Const(Value),
    Object(Rc<ObjectType>),
    Array(Box<ValueType>),
    Tuple(Vec<ValueType>),
    Union(Vec<ValueType>),
}

/// How deep type operations recurse before accepting (recursive schemas).
pub(super) const MAX_DEPTH: usize = 48;

impl ValueType {
    /// The type a whole schema document describes.
    pub(super) fn from_schema(schema: Value) -> ValueType {
        let hash = hash_str(&schema.to_string());
        let document = Rc::new(SchemaDocument { schema: schema.clone(), hash });
        ValueType::Schema { document, node: schema, name: None }
    }

    pub(super) fn object(obj: ObjectType) -> ValueType {
        ValueType::Object(Rc::new(obj))
    }

    /// One of `tys`, without repeats; a single type stays itself.
    pub(super) fn union(mut tys: Vec<ValueType>) -> ValueType {
        let mut seen = HashSet::new();
        tys.retain(|t| seen.insert(t.fingerprint()));
        match tys.len() {
            0 => ValueType::Any,
            1 => tys.pop().expect("one type"),
            _ => ValueType::Union(tys),
        }
    }

    /// The structural form: never `Schema`.
    pub(super) fn expand(&self) -> ValueType {
        let mut ty = self.clone();
        for _ in 0..MAX_DEPTH {
            match ty {
                ValueType::Schema { document, node, name } => ty = expand_node(&document, &node, name),
                other => return other,
            }
        }
        ValueType::Any
    }

    /// Equal for types that are structurally the same (the walk's visited set).
    pub(super) fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash_into(&mut h, 0);
        h.finish()
    }

    fn hash_into(&self, h: &mut DefaultHasher, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match self {
            ValueType::Any => 0u8.hash(h),
            ValueType::Schema { document, node, name } => {
                1u8.hash(h);
                document.hash.hash(h);
                node.to_string().hash(h);
                name.hash(h);
            }
            ValueType::Primitive(p) => {
                2u8.hash(h);
                p.hash(h);
            }
            ValueType::Const(v) => {
                3u8.hash(h);
                v.to_string().hash(h);
            }
            ValueType::Object(o) => {
                4u8.hash(h);
                o.title.hash(h);
                for (k, v) in &o.properties {
                    k.hash(h);
                    v.hash_into(h, depth + 1);
                }
                o.required.hash(h);
                match &o.unlisted {
                    UnlistedFields::Open => 0u8.hash(h),
                    UnlistedFields::Unexpected => 1u8.hash(h),
                    UnlistedFields::Forbidden => 2u8.hash(h),
                    UnlistedFields::OfType(t) => {
                        3u8.hash(h);
                        t.hash_into(h, depth + 1);
                    }
                }
            }
            ValueType::Array(t) => {
                5u8.hash(h);
                t.hash_into(h, depth + 1);
            }
            ValueType::Tuple(ts) | ValueType::Union(ts) => {
                (if matches!(self, ValueType::Tuple(_)) { 6u8 } else { 7u8 }).hash(h);
                ts.len().hash(h);
                for t in ts {
                    t.hash_into(h, depth + 1);
                }
            }
        }
    }

    /// How an error message names the type.
    pub(super) fn describe(&self) -> String {
        self.describe_at(0)
    }

    fn describe_at(&self, depth: usize) -> String {
        if depth > 3 {
            return "a value".into();
        }
        match self.expand() {
            ValueType::Any => "anything".into(),
            ValueType::Primitive(p) => p.describe().into(),
            ValueType::Const(v) => {
                let mut s = v.to_string();
                if s.len() > 40 {
                    s.truncate(37);
                    s.push_str("...");
                }
                format!("the constant {s}")
            }
            ValueType::Object(o) => match &o.title {
                Some(t) => t.clone(),
                None => format!("an object with {}", o.field_list()),
            },
            ValueType::Array(_) | ValueType::Tuple(_) => "an array".into(),
            ValueType::Union(ts) => ts.iter().map(|t| t.describe_at(depth + 1)).collect::<Vec<_>>().join(" or "),
            ValueType::Schema { .. } => "a value".into(),
        }
    }

    pub(super) fn is_null(&self) -> bool {
        matches!(self.expand(), ValueType::Primitive(Primitive::Null) | ValueType::Const(Value::Null))
    }
}

fn hash_str(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn lazy(document: &Rc<SchemaDocument>, node: &Value) -> ValueType {
    ValueType::Schema { document: document.clone(), node: node.clone(), name: None }
}

/// Resolves a `$ref` (a JSON pointer into the root document).
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<(&'a Value, Option<String>)> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some((root, None));
    }
    let target = root.pointer(pointer)?;
    let name = pointer.rsplit('/').next().map(|s| s.replace("~1", "/").replace("~0", "~"));
    Some((target, name))
}

fn expand_node(document: &Rc<SchemaDocument>, node: &Value, name: Option<String>) -> ValueType {
    let m = match node {
        Value::Object(m) => m,
        // `true`, `false` and anything malformed accept anything here.
        _ => return ValueType::Any,
    };
    if let Some(Value::String(r)) = m.get("$ref") {
        return match resolve_ref(&document.schema, r) {
            Some((target, ref_name)) => {
                ValueType::Schema { document: document.clone(), node: target.clone(), name: ref_name.or(name) }
            }
            None => ValueType::Any,
        };
    }
    let title = m.get("title").and_then(Value::as_str).map(str::to_owned).or(name);
    if let Some(c) = m.get("const") {
        return ValueType::Const(c.clone());
    }
    if let Some(Value::Array(vs)) = m.get("enum") {
        return ValueType::union(vs.iter().cloned().map(ValueType::Const).collect());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(vs)) = m.get(key) {
            return ValueType::union(vs.iter().map(|v| lazy(document, v)).collect());
        }
    }
    if let Some(Value::Array(vs)) = m.get("allOf") {
        let parts: Vec<ValueType> = vs.iter().map(|v| lazy(document, v).expand()).collect();
        return merge_all_of(parts, title);
    }
    match m.get("type") {
        Some(Value::String(t)) => typed_node(document, m, t, title),
        Some(Value::Array(ts)) => ValueType::union(
            ts.iter().filter_map(Value::as_str).map(|t| typed_node(document, m, t, title.clone())).collect(),
        ),
        _ if m.contains_key("properties") || m.contains_key("additionalProperties") => {
            typed_node(document, m, "object", title)
        }
        _ if m.contains_key("items") || m.contains_key("prefixItems") => typed_node(document, m, "array", title),
        _ => ValueType::Any,
    }
}

fn typed_node(
    document: &Rc<SchemaDocument>,
    m: &serde_json::Map<String, Value>,
    t: &str,
    title: Option<String>,
) -> ValueType {
    match t {
        "object" => {
            let properties: IndexMap<String, ValueType> = match m.get("properties") {
                Some(Value::Object(ps)) => ps.iter().map(|(k, v)| (k.clone(), lazy(document, v))).collect(),
                _ => IndexMap::new(),
            };
            let required = match m.get("required") {
                Some(Value::Array(rs)) => rs.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => BTreeSet::new(),
            };
            let unlisted = match m.get("additionalProperties") {
                Some(Value::Bool(false)) => UnlistedFields::Forbidden,
                Some(Value::Bool(true)) | None if properties.is_empty() => UnlistedFields::Open,
                Some(Value::Bool(true)) => UnlistedFields::OfType(ValueType::Any),
                None => UnlistedFields::Unexpected,
                Some(schema) => UnlistedFields::OfType(lazy(document, schema)),
            };
            ValueType::object(ObjectType { title, properties, required, unlisted })
        }
        "array" => match (m.get("prefixItems"), m.get("items")) {
            (Some(Value::Array(ps)), _) => ValueType::Tuple(ps.iter().map(|v| lazy(document, v)).collect()),
            (_, Some(items)) => ValueType::Array(Box::new(lazy(document, items))),
            _ => ValueType::Array(Box::new(ValueType::Any)),
        },
        other => Primitive::from_name(other).map(ValueType::Primitive).unwrap_or(ValueType::Any),
    }
}

/// `allOf`: objects merge (a field of any part is a field of the whole).
fn merge_all_of(parts: Vec<ValueType>, title: Option<String>) -> ValueType {
    let parts: Vec<ValueType> = parts.into_iter().filter(|p| !matches!(p, ValueType::Any)).collect();
    if parts.len() <= 1 {
        return parts.into_iter().next().unwrap_or(ValueType::Any);
    }
    if parts.iter().all(|p| matches!(p, ValueType::Object(_))) {
        let mut merged = ObjectType {
            title,
            properties: IndexMap::new(),
            required: BTreeSet::new(),
            unlisted: UnlistedFields::Unexpected,
        };
        for p in parts {
            if let ValueType::Object(o) = p {
                for (k, v) in &o.properties {
                    merged.properties.entry(k.clone()).or_insert_with(|| v.clone());
                }
                merged.required.extend(o.required.iter().cloned());
                if matches!(o.unlisted, UnlistedFields::Open | UnlistedFields::OfType(_)) && o.properties.is_empty() {
                    merged.unlisted = UnlistedFields::Open;
                }
            }
        }
        return ValueType::object(merged);
    }
    parts.into_iter().next().unwrap_or(ValueType::Any)
}

/// `Some(description)` when `ty` can never be one of `ok` (nor null, which
/// Step Functions compares as "not equal" rather than failing on).
pub(super) fn definitely_not(ty: &ValueType, ok: &[Primitive]) -> Option<String> {
    fn possible(ty: &ValueType, ok: &[Primitive], depth: usize) -> bool {
        if depth > 8 {
            return true;
        }
        match ty.expand() {
            ValueType::Primitive(p) => {
                ok.contains(&p) || (p == Primitive::Integer && ok.contains(&Primitive::Number)) || p == Primitive::Null
            }
            ValueType::Const(v) => {
                Primitive::of_value(&v).is_some_and(|p| possible(&ValueType::Primitive(p), ok, depth + 1))
            }
            ValueType::Object(_) | ValueType::Array(_) | ValueType::Tuple(_) => false,
            ValueType::Union(vs) => vs.iter().any(|v| possible(v, ok, depth + 1)),
            ValueType::Any | ValueType::Schema { .. } => true,
        }
    }
    if possible(ty, ok, 0) {
        None
    } else {
        Some(ty.describe())
    }
}
