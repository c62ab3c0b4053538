//! Typed data paths: every path a state reads is checked against the JSON
//! Schema of the data that reaches that state.
//!
//! [`check_paths`] walks a machine the way Step Functions moves data (JSONPath
//! flavour): `InputPath`, `Parameters` / `ItemSelector`, the task result,
//! `ResultSelector`, `ResultPath`, `OutputPath`, and the error output of
//! catchers. It does so on *schemas*, not values: the machine's input schema
//! and, for each Task, the schema of its result as [`ResourceSchemas`] gives
//! it. A path to a field that a type does not have, or that the type declares
//! optional, is a [`PathError`] naming the state, the field of the state that
//! holds the path, and the path.
//!
//! Schemas are JSON Schema as `schemars` 1.x writes them (draft 2020-12,
//! `$defs`, `$ref`, `anyOf` for `Option<Struct>`, `type: [.., "null"]`).
//! Schemas are navigated lazily, so recursive types are fine.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::choice::{ComparisonOp, Condition, Operand, OperandKind};
use crate::jsonpath::{
    is_intrinsic, Filter, Intrinsic, IntrinsicArg, IntrinsicFunction, JsonPath, Literal, PayloadValue,
    Root as JsonPathRoot, Segment, UnionMember,
};
use crate::model::*;

/// Where the schemas of task payloads come from. The caller maps resources
/// (Lambda ARN placeholders, service integrations) to payload types.
pub trait ResourceSchemas {
    /// The JSON Schema of what the Task returns (before `ResultSelector`).
    ///
    /// `None` means "unknown", which is an error: a Task whose result type is
    /// unknown cannot be checked. Return `Some(json!(true))` to opt out
    /// explicitly (the result is then accepted as anything).
    fn task_result(&self, state_name: &str, task: &Task) -> Option<Value>;

    /// The JSON Schema of what the Task expects to receive (its effective
    /// input, after `Parameters`); `None` skips that check.
    fn task_input(&self, _state_name: &str, _task: &Task) -> Option<Value> {
        None
    }
}

/// The input and result types of one resource, for [`ResourceTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTypes {
    pub input: Option<Value>,
    pub result: Value,
}

/// A [`ResourceSchemas`] keyed by the Task's `Resource` string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceTable {
    pub by_resource: IndexMap<String, TaskTypes>,
}

impl ResourceTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `resource` with the schema of its input (if it is to be
    /// checked) and of its result.
    pub fn with(mut self, resource: impl Into<String>, input: Option<Value>, result: Value) -> Self {
        self.by_resource.insert(resource.into(), TaskTypes { input, result });
        self
    }
}

impl ResourceSchemas for ResourceTable {
    fn task_result(&self, _state_name: &str, task: &Task) -> Option<Value> {
        self.by_resource.get(&task.resource).map(|t| t.result.clone())
    }
    fn task_input(&self, _state_name: &str, task: &Task) -> Option<Value> {
        self.by_resource.get(&task.resource).and_then(|t| t.input.clone())
    }
}

/// A path that reads data the state does not receive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathError {
    /// The state, with its enclosing Map / Parallel states: `RunReadyJobs/Load`.
    pub state: String,
    /// The field of the state that holds the path: `Parameters.run_id.$`,
    /// `Choices[0].Variable`, `ItemsPath`.
    pub field: String,
    /// The path as written (empty when the error is not about one path).
    pub path: String,
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "state `{}`, {}: {}", self.state, self.field, self.message)
        } else {
            write!(f, "state `{}`, {} = `{}`: {}", self.state, self.field, self.path, self.message)
        }
    }
}

/// Checks every path of `machine` against the data that reaches it, starting
/// from an execution input described by `input_schema`.
pub fn check_paths(
    machine: &StateMachine,
    input_schema: &Value,
    resources: &dyn ResourceSchemas,
) -> Result<(), Vec<PathError>> {
    let input = Ty::from_root(input_schema.clone());
    let mut checker = Checker { resources, execution_input: input.clone(), errors: Vec::new(), seen: HashSet::new() };
    checker.run_graph("", &machine.start_at, &machine.states, input);
    if checker.errors.is_empty() {
        Ok(())
    } else {
        Err(checker.errors)
    }
}

/// One line per error, for test failures and the generator's output.
pub fn render_errors(errors: &[PathError]) -> String {
    errors.iter().map(|e| format!("{e}\n")).collect()
}

// ---------------------------------------------------------------------------
// Types: a lazily expanded view of JSON Schemas, plus the shapes the
// simulation builds (objects made by templates, arrays made by Map, ...).

/// A schema document: `$ref`s inside it resolve against it.
#[derive(Debug)]
struct Root {
    schema: Value,
    hash: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Prim {
    String,
    Integer,
    Number,
    Boolean,
    Null,
}

impl Prim {
    fn from_name(s: &str) -> Option<Prim> {
        Some(match s {
            "string" => Prim::String,
            "integer" => Prim::Integer,
            "number" => Prim::Number,
            "boolean" => Prim::Boolean,
            "null" => Prim::Null,
            _ => return None,
        })
    }
    fn of_value(v: &Value) -> Option<Prim> {
        Some(match v {
            Value::String(_) => Prim::String,
            Value::Number(n) if n.is_i64() || n.is_u64() => Prim::Integer,
            Value::Number(_) => Prim::Number,
            Value::Bool(_) => Prim::Boolean,
            Value::Null => Prim::Null,
            _ => return None,
        })
    }
    fn describe(self) -> &'static str {
        match self {
            Prim::String => "a string",
            Prim::Integer => "an integer",
            Prim::Number => "a number",
            Prim::Boolean => "a boolean",
            Prim::Null => "null",
        }
    }
}

/// What an object says about fields it does not list.
#[derive(Debug, Clone)]
enum Extra {
    /// No field is listed and none is forbidden: anything may be read.
    Open,
    /// Fields are listed; reading another one is a mistake (schemars leaves
    /// `additionalProperties` out for structs that ignore unknown fields).
    Listed,
    /// `additionalProperties: false`.
    Closed,
    /// A map: every other key has this type.
    Map(Ty),
}

#[derive(Debug, Clone)]
struct Obj {
    title: Option<String>,
    props: IndexMap<String, Ty>,
    required: BTreeSet<String>,
    extra: Extra,
}

impl Obj {
    fn open() -> Obj {
        Obj { title: None, props: IndexMap::new(), required: BTreeSet::new(), extra: Extra::Open }
    }

    fn name(&self) -> String {
        self.title.clone().unwrap_or_else(|| "the object".into())
    }

    fn field_list(&self) -> String {
        if self.props.is_empty() {
            "no fields".into()
        } else {
            self.props.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
        }
    }
}

#[derive(Debug, Clone)]
enum Ty {
    /// Anything (`true`, `{}`, an untyped result).
    Any,
    /// A schema node, expanded on demand against its root.
    Schema {
        root: Rc<Root>,
        node: Value,
        name: Option<String>,
    },
    Prim(Prim),
    Const(Value),
    Object(Rc<Obj>),
    Array(Box<Ty>),
    Tuple(Vec<Ty>),
    Union(Vec<Ty>),
}

const MAX_DEPTH: usize = 48;

impl Ty {
    fn from_root(schema: Value) -> Ty {
        let hash = hash_str(&schema.to_string());
        let root = Rc::new(Root { schema: schema.clone(), hash });
        Ty::Schema { root, node: schema, name: None }
    }

    fn object(obj: Obj) -> Ty {
        Ty::Object(Rc::new(obj))
    }

    fn union(mut tys: Vec<Ty>) -> Ty {
        let mut seen = HashSet::new();
        tys.retain(|t| seen.insert(t.fingerprint()));
        match tys.len() {
            0 => Ty::Any,
            1 => tys.pop().expect("one type"),
            _ => Ty::Union(tys),
        }
    }

    /// The structural form: never `Schema`.
    fn expand(&self) -> Ty {
        let mut ty = self.clone();
        for _ in 0..MAX_DEPTH {
            match ty {
                Ty::Schema { root, node, name } => ty = expand_node(&root, &node, name),
                other => return other,
            }
        }
        Ty::Any
    }

    fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash_into(&mut h, 0);
        h.finish()
    }

    fn hash_into(&self, h: &mut DefaultHasher, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match self {
            Ty::Any => 0u8.hash(h),
            Ty::Schema { root, node, name } => {
                1u8.hash(h);
                root.hash.hash(h);
                node.to_string().hash(h);
                name.hash(h);
            }
            Ty::Prim(p) => {
                2u8.hash(h);
                p.hash(h);
            }
            Ty::Const(v) => {
                3u8.hash(h);
                v.to_string().hash(h);
            }
            Ty::Object(o) => {
                4u8.hash(h);
                o.title.hash(h);
                for (k, v) in &o.props {
                    k.hash(h);
                    v.hash_into(h, depth + 1);
                }
                o.required.hash(h);
                match &o.extra {
                    Extra::Open => 0u8.hash(h),
                    Extra::Listed => 1u8.hash(h),
                    Extra::Closed => 2u8.hash(h),
                    Extra::Map(t) => {
                        3u8.hash(h);
                        t.hash_into(h, depth + 1);
                    }
                }
            }
            Ty::Array(t) => {
                5u8.hash(h);
                t.hash_into(h, depth + 1);
            }
            Ty::Tuple(ts) | Ty::Union(ts) => {
                (if matches!(self, Ty::Tuple(_)) { 6u8 } else { 7u8 }).hash(h);
                ts.len().hash(h);
                for t in ts {
                    t.hash_into(h, depth + 1);
                }
            }
        }
    }

    fn describe(&self) -> String {
        self.describe_at(0)
    }

    fn describe_at(&self, depth: usize) -> String {
        if depth > 3 {
            return "a value".into();
        }
        match self.expand() {
            Ty::Any => "anything".into(),
            Ty::Prim(p) => p.describe().into(),
            Ty::Const(v) => {
                let mut s = v.to_string();
                if s.len() > 40 {
                    s.truncate(37);
                    s.push_str("...");
                }
                format!("the constant {s}")
            }
            Ty::Object(o) => match &o.title {
                Some(t) => t.clone(),
                None => format!("an object with {}", o.field_list()),
            },
            Ty::Array(_) | Ty::Tuple(_) => "an array".into(),
            Ty::Union(ts) => ts.iter().map(|t| t.describe_at(depth + 1)).collect::<Vec<_>>().join(" or "),
            Ty::Schema { .. } => "a value".into(),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.expand(), Ty::Prim(Prim::Null) | Ty::Const(Value::Null))
    }
}

fn hash_str(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn lazy(root: &Rc<Root>, node: &Value) -> Ty {
    Ty::Schema { root: root.clone(), node: node.clone(), name: None }
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

fn expand_node(root: &Rc<Root>, node: &Value, name: Option<String>) -> Ty {
    let m = match node {
        Value::Object(m) => m,
        // `true`, `false` and anything malformed accept anything here.
        _ => return Ty::Any,
    };
    if let Some(Value::String(r)) = m.get("$ref") {
        return match resolve_ref(&root.schema, r) {
            Some((target, ref_name)) => {
                Ty::Schema { root: root.clone(), node: target.clone(), name: ref_name.or(name) }
            }
            None => Ty::Any,
        };
    }
    let title = m.get("title").and_then(Value::as_str).map(str::to_owned).or(name);
    if let Some(c) = m.get("const") {
        return Ty::Const(c.clone());
    }
    if let Some(Value::Array(vs)) = m.get("enum") {
        return Ty::union(vs.iter().cloned().map(Ty::Const).collect());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(vs)) = m.get(key) {
            return Ty::union(vs.iter().map(|v| lazy(root, v)).collect());
        }
    }
    if let Some(Value::Array(vs)) = m.get("allOf") {
        let parts: Vec<Ty> = vs.iter().map(|v| lazy(root, v).expand()).collect();
        return merge_all_of(parts, title);
    }
    match m.get("type") {
        Some(Value::String(t)) => typed_node(root, m, t, title),
        Some(Value::Array(ts)) => {
            Ty::union(ts.iter().filter_map(Value::as_str).map(|t| typed_node(root, m, t, title.clone())).collect())
        }
        _ if m.contains_key("properties") || m.contains_key("additionalProperties") => {
            typed_node(root, m, "object", title)
        }
        _ if m.contains_key("items") || m.contains_key("prefixItems") => typed_node(root, m, "array", title),
        _ => Ty::Any,
    }
}

fn typed_node(root: &Rc<Root>, m: &serde_json::Map<String, Value>, t: &str, title: Option<String>) -> Ty {
    match t {
        "object" => {
            let props: IndexMap<String, Ty> = match m.get("properties") {
                Some(Value::Object(ps)) => ps.iter().map(|(k, v)| (k.clone(), lazy(root, v))).collect(),
                _ => IndexMap::new(),
            };
            let required = match m.get("required") {
                Some(Value::Array(rs)) => rs.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => BTreeSet::new(),
            };
            let extra = match m.get("additionalProperties") {
                Some(Value::Bool(false)) => Extra::Closed,
                Some(Value::Bool(true)) | None if props.is_empty() => Extra::Open,
                Some(Value::Bool(true)) => Extra::Map(Ty::Any),
                None => Extra::Listed,
                Some(schema) => Extra::Map(lazy(root, schema)),
            };
            Ty::object(Obj { title, props, required, extra })
        }
        "array" => match (m.get("prefixItems"), m.get("items")) {
            (Some(Value::Array(ps)), _) => Ty::Tuple(ps.iter().map(|v| lazy(root, v)).collect()),
            (_, Some(items)) => Ty::Array(Box::new(lazy(root, items))),
            _ => Ty::Array(Box::new(Ty::Any)),
        },
        other => Prim::from_name(other).map(Ty::Prim).unwrap_or(Ty::Any),
    }
}

/// `allOf`: objects merge (a field of any part is a field of the whole).
fn merge_all_of(parts: Vec<Ty>, title: Option<String>) -> Ty {
    let parts: Vec<Ty> = parts.into_iter().filter(|p| !matches!(p, Ty::Any)).collect();
    if parts.len() <= 1 {
        return parts.into_iter().next().unwrap_or(Ty::Any);
    }
    if parts.iter().all(|p| matches!(p, Ty::Object(_))) {
        let mut merged = Obj { title, props: IndexMap::new(), required: BTreeSet::new(), extra: Extra::Listed };
        for p in parts {
            if let Ty::Object(o) = p {
                for (k, v) in &o.props {
                    merged.props.entry(k.clone()).or_insert_with(|| v.clone());
                }
                merged.required.extend(o.required.iter().cloned());
                if matches!(o.extra, Extra::Open | Extra::Map(_)) && o.props.is_empty() {
                    merged.extra = Extra::Open;
                }
            }
        }
        return Ty::object(merged);
    }
    parts.into_iter().next().unwrap_or(Ty::Any)
}

fn obj_from_const(m: &serde_json::Map<String, Value>) -> Obj {
    Obj {
        title: None,
        props: m.iter().map(|(k, v)| (k.clone(), Ty::Const(v.clone()))).collect(),
        required: m.keys().cloned().collect(),
        extra: Extra::Closed,
    }
}

// ---------------------------------------------------------------------------
// Navigation.

/// Reads field `name`. `allow_optional`: the field may be absent (IsPresent,
/// filter expressions) without that being an error.
fn field(ty: &Ty, name: &str, allow_optional: bool) -> Result<Ty, String> {
    match ty.expand() {
        Ty::Any => Ok(Ty::Any),
        Ty::Object(o) => object_field(&o, name, allow_optional),
        Ty::Const(Value::Object(m)) => object_field(&obj_from_const(&m), name, allow_optional),
        Ty::Union(vs) => {
            let candidates: Vec<&Ty> = vs.iter().filter(|v| !v.is_null()).collect();
            let results: Vec<Result<Ty, String>> = candidates.iter().map(|v| field(v, name, allow_optional)).collect();
            let oks: Vec<Ty> = results.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
            if oks.len() == results.len() || (allow_optional && !oks.is_empty()) {
                Ok(Ty::union(oks))
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

fn object_field(o: &Obj, name: &str, allow_optional: bool) -> Result<Ty, String> {
    if let Some(t) = o.props.get(name) {
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
    match &o.extra {
        Extra::Open => Ok(Ty::Any),
        Extra::Map(t) => Ok(t.clone()),
        Extra::Listed | Extra::Closed => {
            Err(format!("field \"{name}\" does not exist in {}; it has: {}", o.name(), o.field_list()))
        }
    }
}

fn index(ty: &Ty, n: i64) -> Result<Ty, String> {
    match ty.expand() {
        Ty::Any => Ok(Ty::Any),
        Ty::Array(t) => Ok(*t),
        Ty::Tuple(ts) => {
            let len = ts.len() as i64;
            let i = if n < 0 { len + n } else { n };
            if (0..len).contains(&i) {
                Ok(ts[i as usize].clone())
            } else {
                Err(format!("index [{n}] is out of range of an array of {len} elements"))
            }
        }
        Ty::Const(Value::Array(vs)) => {
            let len = vs.len() as i64;
            let i = if n < 0 { len + n } else { n };
            if (0..len).contains(&i) {
                Ok(Ty::Const(vs[i as usize].clone()))
            } else {
                Err(format!("index [{n}] is out of range of an array of {len} elements"))
            }
        }
        Ty::Union(vs) => {
            let r: Result<Vec<Ty>, String> = vs.iter().filter(|v| !v.is_null()).map(|v| index(v, n)).collect();
            r.map(Ty::union)
        }
        other => Err(format!("cannot index [{n}] into {}: it is not an array", other.describe())),
    }
}

/// The type of the elements of an array (`[*]`, slices, filters, ItemsPath).
fn items(ty: &Ty, allow_object: bool) -> Result<Ty, String> {
    match ty.expand() {
        Ty::Any => Ok(Ty::Any),
        Ty::Array(t) => Ok(*t),
        Ty::Tuple(ts) => Ok(Ty::union(ts)),
        Ty::Const(Value::Array(vs)) => Ok(Ty::union(vs.into_iter().map(Ty::Const).collect())),
        Ty::Object(o) if allow_object => Ok(match &o.extra {
            Extra::Open => Ty::Any,
            Extra::Map(t) => Ty::union(o.props.values().cloned().chain([t.clone()]).collect()),
            _ => Ty::union(o.props.values().cloned().collect()),
        }),
        Ty::Const(Value::Object(m)) if allow_object => {
            Ok(Ty::union(m.into_iter().map(|(_, v)| Ty::Const(v)).collect()))
        }
        Ty::Union(vs) => {
            let r: Result<Vec<Ty>, String> =
                vs.iter().filter(|v| !v.is_null()).map(|v| items(v, allow_object)).collect();
            r.map(Ty::union)
        }
        other => Err(format!("{} is not an array", other.describe())),
    }
}

/// Reads `path` from `input` (or from `context` for `$$` paths).
fn read(path: &str, input: &Ty, context: &Ty, allow_optional: bool) -> Result<Ty, String> {
    let parsed = JsonPath::parse(path).map_err(|e| format!("`{path}` is not a valid path: {e}"))?;
    read_path(&parsed, input, context, allow_optional)
}

fn read_path(path: &JsonPath, input: &Ty, context: &Ty, allow_optional: bool) -> Result<Ty, String> {
    let (start, walked) = match path.root {
        JsonPathRoot::Context => (context, "$$"),
        JsonPathRoot::Input => (input, "$"),
    };
    read_segments(&path.segments, start, walked, context, allow_optional)
}

fn read_segments(segs: &[Segment], start: &Ty, root: &str, context: &Ty, allow_optional: bool) -> Result<Ty, String> {
    let mut ty = start.clone();
    let mut many = false;
    let mut walked = String::from(root);
    let last = segs.len().saturating_sub(1);
    for (i, seg) in segs.iter().enumerate() {
        // Only the last field of an IsPresent path may be absent.
        let optional_ok = allow_optional && i == last;
        let step = match seg {
            Segment::Child(name) => field(&ty, name, optional_ok),
            Segment::Index(n) => index(&ty, *n),
            Segment::Wildcard => {
                many = true;
                items(&ty, true)
            }
            Segment::Union(members) => {
                many = true;
                members
                    .iter()
                    .map(|m| match m {
                        UnionMember::Name(n) => field(&ty, n, false),
                        UnionMember::Index(n) => index(&ty, *n),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Ty::union)
            }
            Segment::Slice { .. } => {
                many = true;
                items(&ty, false)
            }
            Segment::Filter(filter) => {
                many = true;
                items(&ty, false).and_then(|item| {
                    check_filter(filter, &item, context).map_err(|e| format!("in the filter `{seg}`: {e}"))?;
                    Ok(item)
                })
            }
            Segment::Descendant(_) => {
                // Any depth: the schema cannot say where; accept.
                many = true;
                Ok(Ty::Any)
            }
        };
        ty = match step {
            Ok(t) => t,
            Err(e) if i == 0 => return Err(e),
            Err(e) => return Err(format!("at `{walked}`: {e}")),
        };
        walked.push_str(&seg.to_string());
    }
    Ok(if many { Ty::Array(Box::new(ty)) } else { ty })
}

/// The fields a filter reads must exist in the element type (they may be
/// optional: a missing field makes the filter false, not the execution fail),
/// and a comparison must be able to hold.
fn check_filter(filter: &Filter, item: &Ty, context: &Ty) -> Result<(), String> {
    match filter {
        Filter::Exists(segs) => read_segments(segs, item, "@", context, true).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let t = read_all_optional(path, item, context)?;
            let ok: &[Prim] = match value {
                Literal::String(_) => &[Prim::String],
                Literal::Number(_) => &[Prim::Integer, Prim::Number],
                Literal::Bool(_) => &[Prim::Boolean],
                Literal::Null => return Ok(()),
            };
            match definitely_not(&t, ok) {
                Some(found) => Err(format!(
                    "`@{}` is {found}, so `{} {value}` never holds",
                    path.iter().map(ToString::to_string).collect::<String>(),
                    op.symbol()
                )),
                None => Ok(()),
            }
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter(a, item, context)?;
            check_filter(b, item, context)
        }
    }
}

/// Like [`read_segments`], with every field allowed to be optional.
fn read_all_optional(segs: &[Segment], item: &Ty, context: &Ty) -> Result<Ty, String> {
    let mut ty = item.clone();
    for (i, seg) in segs.iter().enumerate() {
        ty = read_segments(std::slice::from_ref(seg), &ty, "@", context, true).map_err(|e| {
            if i == 0 {
                e
            } else {
                format!("at `@{}`: {e}", segs[..i].iter().map(ToString::to_string).collect::<String>())
            }
        })?;
    }
    Ok(ty)
}

/// Sets `fields` of `ty` to `value`, creating objects on the way (ResultPath).
fn set(ty: &Ty, fields: &[String], value: Ty) -> Result<Ty, String> {
    let Some((name, rest)) = fields.split_first() else {
        return Ok(value);
    };
    let mut obj = match ty.expand() {
        Ty::Object(o) => (*o).clone(),
        Ty::Const(Value::Object(m)) => obj_from_const(&m),
        Ty::Any => Obj::open(),
        Ty::Union(vs) => {
            let r: Result<Vec<Ty>, String> =
                vs.iter().filter(|v| !v.is_null()).map(|v| set(v, fields, value.clone())).collect();
            return r.map(Ty::union);
        }
        other => return Err(format!("cannot set field \"{name}\" in {}: it is not an object", other.describe())),
    };
    let child = obj.props.get(name).cloned().unwrap_or_else(|| Ty::Const(json!({})));
    let new_child = set(&child, rest, value)?;
    obj.props.insert(name.clone(), new_child);
    obj.required.insert(name.clone());
    Ok(Ty::object(obj))
}

/// Marks the field at `fields` as present (after a Choice `IsPresent: true`).
fn require(ty: &Ty, fields: &[Segment]) -> Ty {
    let Some((Segment::Child(name), rest)) = fields.split_first() else {
        return ty.clone();
    };
    match ty.expand() {
        Ty::Object(o) if o.props.contains_key(name) => {
            let mut obj = (*o).clone();
            let child = require(&obj.props[name], rest);
            obj.props.insert(name.clone(), child);
            obj.required.insert(name.clone());
            Ty::object(obj)
        }
        _ => ty.clone(),
    }
}

// ---------------------------------------------------------------------------
// Intrinsic functions.

/// The `{}` placeholders of a `States.Format` template (`raw`, escapes kept).
fn count_placeholders(template: &str) -> usize {
    let mut n = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                n += 1;
            }
            _ => {}
        }
    }
    n
}

// ---------------------------------------------------------------------------
// The walk over the machine.

/// Visits of one state with distinct input schemas before giving up; a loop
/// that grows its data at each turn would otherwise never settle.
const MAX_INPUTS_PER_STATE: usize = 12;

struct Checker<'a> {
    resources: &'a dyn ResourceSchemas,
    execution_input: Ty,
    errors: Vec<PathError>,
    seen: HashSet<PathError>,
}

/// Where a state sends its output.
struct Outcome {
    next: Vec<(String, Ty)>,
    /// The output, when the state ends its graph (End, Succeed).
    terminal: Option<Ty>,
}

/// Where an error is reported.
struct Site<'s> {
    state: &'s str,
}

impl Checker<'_> {
    fn error(
        &mut self,
        site: &Site<'_>,
        field: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let e =
            PathError { state: site.state.to_owned(), field: field.into(), path: path.into(), message: message.into() };
        if self.seen.insert(e.clone()) {
            self.errors.push(e);
        }
    }

    /// Runs one graph (the machine, a branch or an item processor) and returns
    /// the union of what it can end with.
    fn run_graph(&mut self, scope: &str, start: &str, states: &States, input: Ty) -> Ty {
        let mut queue = VecDeque::from([(start.to_owned(), input)]);
        let mut visited: HashSet<(String, u64)> = HashSet::new();
        let mut visits: HashMap<String, usize> = HashMap::new();
        let mut outputs = Vec::new();
        while let Some((name, ty)) = queue.pop_front() {
            if !visited.insert((name.clone(), ty.fingerprint())) {
                continue;
            }
            let count = visits.entry(name.clone()).or_default();
            *count += 1;
            if *count > MAX_INPUTS_PER_STATE {
                continue;
            }
            // An unknown target is the validator's to report.
            let Some(state) = states.get(&name) else {
                continue;
            };
            let qualified = if scope.is_empty() { name.clone() } else { format!("{scope}/{name}") };
            let outcome = self.state(&qualified, &name, state, &ty);
            queue.extend(outcome.next);
            if let Some(out) = outcome.terminal {
                outputs.push(out);
            }
        }
        Ty::union(outputs)
    }

    fn context(&self, map_item: Option<Ty>) -> Ty {
        let obj = |title: &str, fields: Vec<(&str, Ty)>| {
            Ty::object(Obj {
                title: Some(title.into()),
                required: fields.iter().map(|(k, _)| (*k).to_owned()).collect(),
                props: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                extra: Extra::Closed,
            })
        };
        let s = || Ty::Prim(Prim::String);
        let mut fields = vec![
            (
                "Execution",
                obj(
                    "the context object's Execution",
                    vec![
                        ("Id", s()),
                        ("Name", s()),
                        ("StartTime", s()),
                        ("Input", self.execution_input.clone()),
                        ("RoleArn", s()),
                    ],
                ),
            ),
            (
                "State",
                obj(
                    "the context object's State",
                    vec![("Name", s()), ("EnteredTime", s()), ("RetryCount", Ty::Prim(Prim::Integer))],
                ),
            ),
            ("StateMachine", obj("the context object's StateMachine", vec![("Id", s()), ("Name", s())])),
            ("Task", obj("the context object's Task", vec![("Token", s())])),
        ];
        if let Some(item) = map_item {
            fields.push((
                "Map",
                obj(
                    "the context object's Map",
                    vec![(
                        "Item",
                        obj("the context object's Map.Item", vec![("Index", Ty::Prim(Prim::Integer)), ("Value", item)]),
                    )],
                ),
            ));
        }
        obj("the context object ($$)", fields)
    }

    /// Reads a path, reporting an error (and returning `Any`) when it fails.
    fn read(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        path: &str,
        input: &Ty,
        ctx: &Ty,
        allow_optional: bool,
    ) -> Ty {
        match read(path, input, ctx, allow_optional) {
            Ok(t) => t,
            Err(e) => {
                self.error(site, field_name, path, e);
                Ty::Any
            }
        }
    }

    /// `InputPath` / `OutputPath`: absent keeps, `null` gives `{}`.
    fn filter_path(&mut self, site: &Site<'_>, field_name: &str, p: &NullablePath, input: &Ty, ctx: &Ty) -> Ty {
        match p {
            None => input.clone(),
            Some(None) => Ty::Const(json!({})),
            Some(Some(path)) => self.read(site, field_name, path, input, ctx, false),
        }
    }

    /// Evaluates a `Parameters` / `ItemSelector` / `ResultSelector` template.
    fn template(&mut self, site: &Site<'_>, field_name: &str, tpl: &Value, input: &Ty, ctx: &Ty) -> Ty {
        match tpl {
            Value::Object(m) => {
                let mut obj = Obj {
                    title: Some(format!("the {field_name} of state \"{}\"", site.state)),
                    props: IndexMap::new(),
                    required: BTreeSet::new(),
                    extra: Extra::Closed,
                };
                for (k, v) in m {
                    let sub = format!("{field_name}.{k}");
                    let (name, ty) = match k.strip_suffix(".$") {
                        Some(name) => (name, self.dynamic_value(site, &sub, v, input, ctx)),
                        None => (k.as_str(), self.template(site, &sub, v, input, ctx)),
                    };
                    obj.props.insert(name.to_owned(), ty);
                    obj.required.insert(name.to_owned());
                }
                Ty::object(obj)
            }
            Value::Array(vs) => Ty::Tuple(
                vs.iter()
                    .enumerate()
                    .map(|(i, v)| self.template(site, &format!("{field_name}[{i}]"), v, input, ctx))
                    .collect(),
            ),
            other => Ty::Const(other.clone()),
        }
    }

    fn dynamic_value(&mut self, site: &Site<'_>, field_name: &str, v: &Value, input: &Ty, ctx: &Ty) -> Ty {
        let Some(text) = v.as_str() else {
            self.error(site, field_name, "", "the value of a `.$` field must be a path or an intrinsic function call");
            return Ty::Any;
        };
        match PayloadValue::parse(text) {
            Ok(PayloadValue::Intrinsic(call)) => self.intrinsic(site, field_name, text, &call, input, ctx),
            Ok(PayloadValue::Path(path)) => match read_path(&path, input, ctx, false) {
                Ok(t) => t,
                Err(e) => {
                    self.error(site, field_name, text, e);
                    Ty::Any
                }
            },
            Err(e) => {
                let what = if is_intrinsic(text) { "intrinsic function call" } else { "path" };
                self.error(site, field_name, text, format!("not a valid {what}: {e}"));
                Ty::Any
            }
        }
    }

    /// The type of an intrinsic call's result; the paths among its arguments
    /// are read (and reported) on the way.
    fn intrinsic(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        text: &str,
        call: &Intrinsic,
        input: &Ty,
        ctx: &Ty,
    ) -> Ty {
        let mut args = Vec::with_capacity(call.args.len());
        for a in &call.args {
            args.push(match a {
                IntrinsicArg::String { value, .. } => Ty::Const(Value::String(value.clone())),
                IntrinsicArg::Number(n) => Ty::Const(Value::Number(n.clone())),
                IntrinsicArg::Bool(b) => Ty::Const(Value::Bool(*b)),
                IntrinsicArg::Null => Ty::Const(Value::Null),
                IntrinsicArg::Path(p) => match read_path(p, input, ctx, false) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(site, field_name, text, format!("argument `{p}` of {}: {e}", call.function.name()));
                        Ty::Any
                    }
                },
                IntrinsicArg::Intrinsic(inner) => self.intrinsic(site, field_name, text, inner, input, ctx),
            });
        }
        let string = Ty::Prim(Prim::String);
        let items_of = |t: Option<&Ty>| t.and_then(|t| items(t, false).ok()).unwrap_or(Ty::Any);
        use IntrinsicFunction as F;
        match call.function {
            F::Format => {
                if let Some(IntrinsicArg::String { raw, .. }) = call.args.first() {
                    let wanted = count_placeholders(raw);
                    let given = call.args.len() - 1;
                    if wanted != given {
                        self.error(
                            site,
                            field_name,
                            text,
                            format!(
                                "States.Format has {wanted} `{{}}` placeholders but {given} arguments to put in them"
                            ),
                        );
                    }
                }
                string
            }
            F::JsonToString | F::Base64Encode | F::Base64Decode | F::Hash | F::Uuid => string,
            F::ArrayLength | F::MathAdd | F::MathRandom => Ty::Prim(Prim::Integer),
            F::ArrayContains => Ty::Prim(Prim::Boolean),
            F::Array => Ty::Tuple(args),
            F::ArrayPartition => Ty::Array(Box::new(Ty::Array(Box::new(items_of(args.first()))))),
            F::ArrayUnique => Ty::Array(Box::new(items_of(args.first()))),
            F::ArrayRange => Ty::Array(Box::new(Ty::Prim(Prim::Integer))),
            F::StringSplit => Ty::Array(Box::new(string)),
            F::StringToJson | F::JsonMerge | F::ArrayGetItem => Ty::Any,
        }
    }

    /// `ResultPath`: where the result goes in the state's raw input.
    fn result_path(&mut self, site: &Site<'_>, field_name: &str, p: &NullablePath, input: &Ty, result: Ty) -> Ty {
        let path = match p {
            None => return result,
            Some(None) => return input.clone(),
            Some(Some(path)) => path,
        };
        let fields = match JsonPath::parse(path) {
            Ok(JsonPath { root: JsonPathRoot::Input, segments }) => segments
                .into_iter()
                .map(|s| match s {
                    Segment::Child(n) => Ok(n),
                    other => Err(format!("ResultPath may only name fields, not `{other}`")),
                })
                .collect::<Result<Vec<_>, _>>(),
            Ok(_) => Err("ResultPath cannot write into the context object".into()),
            Err(e) => Err(format!("`{path}` is not a valid path: {e}")),
        };
        match fields.and_then(|fs| set(input, &fs, result)) {
            Ok(t) => t,
            Err(e) => {
                self.error(site, field_name, path.as_str(), e);
                Ty::Any
            }
        }
    }

    /// The input of a Catch target: the error output at the catcher's ResultPath.
    fn catches(&mut self, site: &Site<'_>, catchers: &[Catcher], input: &Ty) -> Vec<(String, Ty)> {
        let error_output = Ty::object(Obj {
            title: Some("the error output".into()),
            props: [("Error".to_owned(), Ty::Prim(Prim::String)), ("Cause".to_owned(), Ty::Prim(Prim::String))]
                .into_iter()
                .collect(),
            required: ["Error".to_owned()].into_iter().collect(),
            extra: Extra::Closed,
        });
        catchers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let out = self.result_path(
                    site,
                    &format!("Catch[{i}].ResultPath"),
                    &c.result_path,
                    input,
                    error_output.clone(),
                );
                (c.next.clone(), out)
            })
            .collect()
    }

    fn finish(next: Option<&String>, end: Option<bool>, output: Ty, mut others: Vec<(String, Ty)>) -> Outcome {
        let mut terminal = None;
        match next {
            Some(n) => others.insert(0, (n.clone(), output)),
            None if end == Some(true) => terminal = Some(output),
            None => {}
        }
        Outcome { next: others, terminal }
    }

    fn state(&mut self, qualified: &str, name: &str, state: &State, input: &Ty) -> Outcome {
        let site = Site { state: qualified };
        let site = &site;
        let ctx = self.context(None);
        match state {
            State::Task(t) => {
                let effective = self.filter_path(site, "InputPath", &t.input_path, input, &ctx);
                let sent = match &t.parameters {
                    Some(p) => self.template(site, "Parameters", p, &effective, &ctx),
                    None => effective.clone(),
                };
                for (f, p) in [
                    ("TimeoutSecondsPath", &t.timeout_seconds_path),
                    ("HeartbeatSecondsPath", &t.heartbeat_seconds_path),
                ] {
                    if let Some(p) = p {
                        let ty = self.read(site, f, p, &effective, &ctx, false);
                        self.expect_kind(site, f, p, &ty, &[Prim::Integer], "a number of seconds");
                    }
                }
                if let Some(c) = &t.credentials {
                    self.template(site, "Credentials", c, &effective, &ctx);
                }
                if let Some(expected) = self.resources.task_input(name, t) {
                    let expected = Ty::from_root(expected);
                    let what = if t.parameters.is_some() { "Parameters" } else { "the state's input" };
                    let mut problems = Vec::new();
                    conforms(&sent, &expected, what, &mut problems, 0);
                    let field_name = if t.parameters.is_some() { "Parameters" } else { "InputPath" };
                    for p in problems {
                        self.error(site, field_name, "", p);
                    }
                }
                let result = match self.resources.task_result(name, t) {
                    Some(schema) => Ty::from_root(schema),
                    None => {
                        self.error(
                            site,
                            "Resource",
                            "",
                            format!(
                                "the result type of resource \"{}\" is unknown, so the paths that read it \
                                 cannot be checked; map it in ResourceSchemas (return `true` to accept anything)",
                                t.resource
                            ),
                        );
                        Ty::Any
                    }
                };
                let catches = self.catches(site, &t.catch, input);
                let output =
                    self.after_result(site, input, result, &t.result_selector, &t.result_path, &t.output_path, &ctx);
                Self::finish(t.next.as_ref(), t.end, output, catches)
            }
            State::Pass(p) => {
                let effective = self.filter_path(site, "InputPath", &p.input_path, input, &ctx);
                let sent = match &p.parameters {
                    Some(tpl) => self.template(site, "Parameters", tpl, &effective, &ctx),
                    None => effective,
                };
                let result = match &p.result {
                    Some(r) => Ty::Const(r.clone()),
                    None => sent,
                };
                let output = self.after_result(site, input, result, &None, &p.result_path, &p.output_path, &ctx);
                Self::finish(p.next.as_ref(), p.end, output, Vec::new())
            }
            State::Choice(c) => {
                let effective = self.filter_path(site, "InputPath", &c.input_path, input, &ctx);
                let mut next = Vec::new();
                for (i, rule) in c.choices.iter().enumerate() {
                    self.condition(site, &format!("Choices[{i}]"), &rule.condition, &effective, &ctx);
                    let narrowed = narrow(&rule.condition, &effective);
                    let out = self.filter_path(site, "OutputPath", &c.output_path, &narrowed, &ctx);
                    next.push((rule.next.clone(), out));
                }
                if let Some(d) = &c.default {
                    let out = self.filter_path(site, "OutputPath", &c.output_path, &effective, &ctx);
                    next.push((d.clone(), out));
                }
                Outcome { next, terminal: None }
            }
            State::Wait(w) => {
                let effective = self.filter_path(site, "InputPath", &w.input_path, input, &ctx);
                if let Some(p) = &w.seconds_path {
                    let t = self.read(site, "SecondsPath", p, &effective, &ctx, false);
                    self.expect_kind(site, "SecondsPath", p, &t, &[Prim::Integer, Prim::Number], "a number of seconds");
                }
                if let Some(p) = &w.timestamp_path {
                    let t = self.read(site, "TimestampPath", p, &effective, &ctx, false);
                    self.expect_kind(site, "TimestampPath", p, &t, &[Prim::String], "a timestamp string");
                }
                let output = self.filter_path(site, "OutputPath", &w.output_path, &effective, &ctx);
                Self::finish(w.next.as_ref(), w.end, output, Vec::new())
            }
            State::Succeed(s) => {
                let effective = self.filter_path(site, "InputPath", &s.input_path, input, &ctx);
                let output = self.filter_path(site, "OutputPath", &s.output_path, &effective, &ctx);
                Outcome { next: Vec::new(), terminal: Some(output) }
            }
            State::Fail(f) => {
                for (field_name, p) in [("ErrorPath", &f.error_path), ("CausePath", &f.cause_path)] {
                    if let Some(p) = p {
                        // ErrorPath / CausePath may also be an intrinsic call.
                        let t = self.dynamic_value(site, field_name, &Value::String(p.clone()), input, &ctx);
                        self.expect_kind(site, field_name, p, &t, &[Prim::String], "a string");
                    }
                }
                Outcome { next: Vec::new(), terminal: None }
            }
            State::Parallel(p) => {
                let effective = self.filter_path(site, "InputPath", &p.input_path, input, &ctx);
                let sent = match &p.parameters {
                    Some(tpl) => self.template(site, "Parameters", tpl, &effective, &ctx),
                    None => effective,
                };
                let outputs: Vec<Ty> = p
                    .branches
                    .iter()
                    .map(|b| self.run_graph(qualified, &b.start_at, &b.states, sent.clone()))
                    .collect();
                let catches = self.catches(site, &p.catch, input);
                let output = self.after_result(
                    site,
                    input,
                    Ty::Tuple(outputs),
                    &p.result_selector,
                    &p.result_path,
                    &p.output_path,
                    &ctx,
                );
                Self::finish(p.next.as_ref(), p.end, output, catches)
            }
            State::Map(m) => {
                let effective = self.filter_path(site, "InputPath", &m.input_path, input, &ctx);
                let item = match &m.items_path {
                    Some(p) => {
                        let array = self.read(site, "ItemsPath", p, &effective, &ctx, false);
                        match items(&array, false) {
                            Ok(t) => t,
                            Err(_) => {
                                self.error(
                                    site,
                                    "ItemsPath",
                                    p.as_str(),
                                    format!("ItemsPath must point to an array; this is {}", array.describe()),
                                );
                                Ty::Any
                            }
                        }
                    }
                    None => match items(&effective, false) {
                        Ok(t) => t,
                        Err(_) => {
                            self.error(
                                site,
                                "ItemsPath",
                                "$",
                                format!(
                                    "the Map's input must be an array (no ItemsPath); it is {}",
                                    effective.describe()
                                ),
                            );
                            Ty::Any
                        }
                    },
                };
                let (selector, selector_name) = match (&m.item_selector, &m.parameters) {
                    (Some(s), _) => (Some(s), "ItemSelector"),
                    (None, Some(s)) => (Some(s), "Parameters"),
                    (None, None) => (None, "ItemSelector"),
                };
                let processor_input = match selector {
                    Some(tpl) => {
                        let map_ctx = self.context(Some(item));
                        self.template(site, selector_name, tpl, &effective, &map_ctx)
                    }
                    None => item,
                };
                let out =
                    self.run_graph(qualified, &m.item_processor.start_at, &m.item_processor.states, processor_input);
                let catches = self.catches(site, &m.catch, input);
                let output = self.after_result(
                    site,
                    input,
                    Ty::Array(Box::new(out)),
                    &m.result_selector,
                    &m.result_path,
                    &m.output_path,
                    &ctx,
                );
                Self::finish(m.next.as_ref(), m.end, output, catches)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn after_result(
        &mut self,
        site: &Site<'_>,
        input: &Ty,
        result: Ty,
        selector: &Option<Value>,
        result_path: &NullablePath,
        output_path: &NullablePath,
        ctx: &Ty,
    ) -> Ty {
        let selected = match selector {
            Some(tpl) => self.template(site, "ResultSelector", tpl, &result, ctx),
            None => result,
        };
        let merged = self.result_path(site, "ResultPath", result_path, input, selected);
        self.filter_path(site, "OutputPath", output_path, &merged, ctx)
    }

    fn expect_kind(&mut self, site: &Site<'_>, field_name: &str, path: &str, ty: &Ty, ok: &[Prim], wanted: &str) {
        if let Some(found) = definitely_not(ty, ok) {
            self.error(site, field_name, path, format!("{field_name} needs {wanted}, but `{path}` is {found}"));
        }
    }

    fn condition(&mut self, site: &Site<'_>, at: &str, cond: &Condition, input: &Ty, ctx: &Ty) {
        match cond {
            Condition::And(cs) | Condition::Or(cs) => {
                let kw = if matches!(cond, Condition::And(_)) { "And" } else { "Or" };
                for (i, c) in cs.iter().enumerate() {
                    self.condition(site, &format!("{at}.{kw}[{i}]"), c, input, ctx);
                }
            }
            Condition::Not(c) => self.condition(site, &format!("{at}.Not"), c, input, ctx),
            Condition::Compare(cmp) => {
                let is_test = matches!(
                    cmp.op,
                    ComparisonOp::IsPresent
                        | ComparisonOp::IsNull
                        | ComparisonOp::IsNumeric
                        | ComparisonOp::IsString
                        | ComparisonOp::IsBoolean
                        | ComparisonOp::IsTimestamp
                );
                let allow_optional = cmp.op == ComparisonOp::IsPresent;
                let var_field = format!("{at}.Variable");
                let t = self.read(site, &var_field, &cmp.variable, input, ctx, allow_optional);
                if !is_test {
                    let (ok, wanted): (&[Prim], &str) = match cmp.op.operand_kind() {
                        OperandKind::Bool => (&[Prim::Boolean], "a boolean"),
                        OperandKind::Number => (&[Prim::Integer, Prim::Number], "a number"),
                        OperandKind::String | OperandKind::Timestamp => (&[Prim::String], "a string"),
                        OperandKind::Path => (op_prims(cmp.op), "a value of the operator's type"),
                    };
                    if let Some(found) = definitely_not(&t, ok) {
                        self.error(
                            site,
                            var_field,
                            cmp.variable.as_str(),
                            format!("{} compares {wanted}, but `{}` is {found}", cmp.op.name(), cmp.variable),
                        );
                    }
                }
                if let Operand::Path(p) = &cmp.operand {
                    self.read(site, &format!("{at}.{}", cmp.op.name()), p, input, ctx, false);
                }
            }
        }
    }
}

/// The primitive types a `…Path` comparison works on.
fn op_prims(op: ComparisonOp) -> &'static [Prim] {
    let name = op.name();
    if name.starts_with("Numeric") {
        &[Prim::Integer, Prim::Number]
    } else if name.starts_with("Boolean") {
        &[Prim::Boolean]
    } else {
        &[Prim::String]
    }
}

/// `Some(description)` when `ty` can never be one of `ok` (nor null, which
/// Step Functions compares as "not equal" rather than failing on).
fn definitely_not(ty: &Ty, ok: &[Prim]) -> Option<String> {
    fn possible(ty: &Ty, ok: &[Prim], depth: usize) -> bool {
        if depth > 8 {
            return true;
        }
        match ty.expand() {
            Ty::Prim(p) => ok.contains(&p) || (p == Prim::Integer && ok.contains(&Prim::Number)) || p == Prim::Null,
            Ty::Const(v) => Prim::of_value(&v).is_some_and(|p| possible(&Ty::Prim(p), ok, depth + 1)),
            Ty::Object(_) | Ty::Array(_) | Ty::Tuple(_) => false,
            Ty::Union(vs) => vs.iter().any(|v| possible(v, ok, depth + 1)),
            Ty::Any | Ty::Schema { .. } => true,
        }
    }
    if possible(ty, ok, 0) {
        None
    } else {
        Some(ty.describe())
    }
}

/// The input of a Choice rule's target, narrowed by what the rule proves:
/// a field tested with `IsPresent: true` is there, and a field compared for
/// equality with a constant selects the variants of a tagged enum (`oneOf`
/// whose tag is a `const`). Only conditions joined by `And` narrow.
fn narrow(cond: &Condition, ty: &Ty) -> Ty {
    let input_path = |variable: &str| match JsonPath::parse(variable) {
        Ok(JsonPath { root: JsonPathRoot::Input, segments }) => Some(segments),
        _ => None,
    };
    match cond {
        Condition::Compare(c) if c.op == ComparisonOp::IsPresent && c.operand == Operand::Bool(true) => {
            input_path(&c.variable).map_or_else(|| ty.clone(), |segs| require(ty, &segs))
        }
        Condition::Compare(c)
            if matches!(
                c.op,
                ComparisonOp::StringEquals | ComparisonOp::BooleanEquals | ComparisonOp::NumericEquals
            ) =>
        {
            let value = match &c.operand {
                Operand::String(v) => Value::String(v.clone()),
                Operand::Bool(b) => Value::Bool(*b),
                Operand::Number(n) => Value::Number(n.clone()),
                Operand::Path(_) => return ty.clone(),
            };
            input_path(&c.variable).map_or_else(|| ty.clone(), |segs| select_variants(ty, &segs, &value, 0))
        }
        Condition::And(cs) => cs.iter().fold(ty.clone(), |t, c| narrow(c, &t)),
        _ => ty.clone(),
    }
}

/// Drops the variants of a union whose field at `segs` is a constant other
/// than `value`.
fn select_variants(ty: &Ty, segs: &[Segment], value: &Value, depth: usize) -> Ty {
    let Some((Segment::Child(name), rest)) = segs.split_first() else {
        return ty.clone();
    };
    if depth > MAX_DEPTH {
        return ty.clone();
    }
    match ty.expand() {
        Ty::Union(vs) if rest.is_empty() => {
            let kept: Vec<Ty> = vs
                .iter()
                .filter(|v| match field(v, name, true).map(|t| t.expand()) {
                    Ok(Ty::Const(c)) => &c == value,
                    Ok(_) => true,
                    Err(_) => false,
                })
                .cloned()
                .collect();
            if kept.is_empty() {
                ty.clone()
            } else {
                Ty::union(kept)
            }
        }
        Ty::Union(vs) => Ty::union(vs.iter().map(|v| select_variants(v, segs, value, depth + 1)).collect()),
        Ty::Object(o) if !rest.is_empty() && o.props.contains_key(name) => {
            let mut obj = (*o).clone();
            let child = select_variants(&obj.props[name], rest, value, depth + 1);
            obj.props.insert(name.clone(), child);
            Ty::object(obj)
        }
        _ => ty.clone(),
    }
}

// ---------------------------------------------------------------------------
// What a task receives against what its input type expects.

fn conforms(actual: &Ty, expected: &Ty, at: &str, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let (a, e) = (actual.expand(), expected.expand());
    match (&a, &e) {
        (Ty::Any, _) | (_, Ty::Any) => {}
        (Ty::Union(vs), _) => {
            for v in vs {
                conforms(v, expected, at, out, depth + 1);
            }
        }
        (_, Ty::Union(es)) => {
            let mut best: Option<Vec<String>> = None;
            for v in es {
                let mut trial = Vec::new();
                conforms(&a, v, at, &mut trial, depth + 1);
                if trial.is_empty() {
                    return;
                }
                // Report against the variant of the same kind, if any.
                let same_kind =
                    matches!((&a, v.expand()), (Ty::Object(_) | Ty::Const(Value::Object(_)), Ty::Object(_)));
                if best.is_none() || same_kind {
                    best = Some(trial);
                }
            }
            if let Some(b) = best {
                out.extend(b);
            }
        }
        (_, Ty::Object(eo)) => {
            let ao = match &a {
                Ty::Object(o) => (**o).clone(),
                Ty::Const(Value::Object(m)) => obj_from_const(m),
                _ => {
                    out.push(format!("{at} is {} but {} expects an object", a.describe(), eo.name()));
                    return;
                }
            };
            for r in &eo.required {
                match ao.props.get(r) {
                    None if matches!(ao.extra, Extra::Open | Extra::Map(_)) => {}
                    None => out.push(format!("{at} does not produce \"{r}\", which {} requires", eo.name())),
                    Some(_) if !ao.required.contains(r) => out.push(format!(
                        "{at} produces \"{r}\" only sometimes (it is optional there), but {} requires it",
                        eo.name()
                    )),
                    Some(_) => {}
                }
            }
            for (k, v) in &ao.props {
                match eo.props.get(k) {
                    Some(ev) => conforms(v, ev, &format!("{at}.{k}"), out, depth + 1),
                    None => match &eo.extra {
                        Extra::Open => {}
                        Extra::Map(t) => conforms(v, t, &format!("{at}.{k}"), out, depth + 1),
                        Extra::Listed | Extra::Closed => out.push(format!(
                            "{at} produces \"{k}\" which {} does not have; it has: {}",
                            eo.name(),
                            eo.field_list()
                        )),
                    },
                }
            }
        }
        (_, Ty::Array(et)) => match &a {
            Ty::Array(at_) => conforms(at_, et, &format!("{at}[]"), out, depth + 1),
            Ty::Tuple(ts) => {
                for (i, t) in ts.iter().enumerate() {
                    conforms(t, et, &format!("{at}[{i}]"), out, depth + 1);
                }
            }
            Ty::Const(Value::Array(vs)) => {
                for (i, v) in vs.iter().enumerate() {
                    conforms(&Ty::Const(v.clone()), et, &format!("{at}[{i}]"), out, depth + 1);
                }
            }
            _ => out.push(format!("{at} is {} but the task expects an array", a.describe())),
        },
        (_, Ty::Tuple(ets)) => {
            if let Ty::Tuple(ts) = &a {
                for (i, (t, et)) in ts.iter().zip(ets).enumerate() {
                    conforms(t, et, &format!("{at}[{i}]"), out, depth + 1);
                }
            } else if !matches!(a, Ty::Array(_) | Ty::Const(Value::Array(_))) {
                out.push(format!("{at} is {} but the task expects an array", a.describe()));
            }
        }
        (_, Ty::Prim(p)) => {
            let ok = match &a {
                Ty::Prim(q) => q == p || (*q == Prim::Integer && *p == Prim::Number),
                Ty::Const(v) => {
                    Prim::of_value(v).is_some_and(|q| q == *p || (q == Prim::Integer && *p == Prim::Number))
                }
                _ => false,
            };
            if !ok {
                out.push(format!("{at} is {} but the task expects {}", a.describe(), p.describe()));
            }
        }
        (_, Ty::Const(ev)) => {
            let ok = match &a {
                Ty::Const(v) => v == ev,
                Ty::Prim(q) => Prim::of_value(ev) == Some(*q),
                _ => false,
            };
            if !ok {
                out.push(format!("{at} is {} but the task expects {}", a.describe(), e.describe()));
            }
        }
        (_, Ty::Schema { .. }) => {}
    }
}
