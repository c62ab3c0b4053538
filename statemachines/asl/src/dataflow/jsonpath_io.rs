//! The JSONPath flavour of a state's data: what a path reads from a type
//! (fields, indices, wildcards, slices, filters, `$$`), and input and output
//! processing: `InputPath`, the `Parameters` / `ItemSelector` /
//! `ResultSelector` templates with their intrinsic function calls,
//! `ResultPath` and `OutputPath`.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde_json::{json, Value};

use super::checker::{Checker, Site};
use super::navigate::{field, index, items, set};
use super::value_type::{definitely_not, ObjectType, Primitive, UnlistedFields, ValueType};
use crate::jsonpath::{
    is_intrinsic, Filter, Intrinsic, IntrinsicArg, IntrinsicFunction, JsonPath, Literal, PayloadValue,
    Root as JsonPathRoot, Segment, UnionMember,
};
use crate::model::NullablePath;

/// Reads `path` from `input` (or from `context` for `$$` paths).
fn read(path: &str, input: &ValueType, context: &ValueType, allow_optional: bool) -> Result<ValueType, String> {
    let parsed = JsonPath::parse(path).map_err(|e| format!("`{path}` is not a valid path: {e}"))?;
    read_path(&parsed, input, context, allow_optional)
}

fn read_path(
    path: &JsonPath,
    input: &ValueType,
    context: &ValueType,
    allow_optional: bool,
) -> Result<ValueType, String> {
    let (start, walked) = match &path.root {
        JsonPathRoot::Context => (context, "$$"),
        JsonPathRoot::Input => (input, "$"),
        // A variable's type is not tracked; its reads are checked by the
        // variable rules instead.
        JsonPathRoot::Variable(_) => return Ok(ValueType::Any),
    };
    read_segments(&path.segments, start, walked, context, allow_optional)
}

fn read_segments(
    segs: &[Segment],
    start: &ValueType,
    root: &str,
    context: &ValueType,
    allow_optional: bool,
) -> Result<ValueType, String> {
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
                    .map(ValueType::union)
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
                Ok(ValueType::Any)
            }
        };
        ty = match step {
            Ok(t) => t,
            Err(e) if i == 0 => return Err(e),
            Err(e) => return Err(format!("at `{walked}`: {e}")),
        };
        walked.push_str(&seg.to_string());
    }
    Ok(if many { ValueType::Array(Box::new(ty)) } else { ty })
}

/// The fields a filter reads must exist in the element type (they may be
/// optional: a missing field makes the filter false, not the execution fail),
/// and a comparison must be able to hold.
fn check_filter(filter: &Filter, item: &ValueType, context: &ValueType) -> Result<(), String> {
    match filter {
        Filter::Exists(segs) => read_segments(segs, item, "@", context, true).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let t = read_all_optional(path, item, context)?;
            let ok: &[Primitive] = match value {
                Literal::String(_) => &[Primitive::String],
                Literal::Number(_) => &[Primitive::Integer, Primitive::Number],
                Literal::Bool(_) => &[Primitive::Boolean],
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
fn read_all_optional(segs: &[Segment], item: &ValueType, context: &ValueType) -> Result<ValueType, String> {
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

impl Checker<'_> {
    /// Reads a path, reporting an error (and returning `Any`) when it fails.
    pub(super) fn read(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        path: &str,
        input: &ValueType,
        ctx: &ValueType,
        allow_optional: bool,
    ) -> ValueType {
        match read(path, input, ctx, allow_optional) {
            Ok(t) => t,
            Err(e) => {
                self.error(site, field_name, path, e);
                ValueType::Any
            }
        }
    }

    /// `InputPath` / `OutputPath`: absent keeps, `null` gives `{}`.
    pub(super) fn filter_path(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        p: &NullablePath,
        input: &ValueType,
        ctx: &ValueType,
    ) -> ValueType {
        match p {
            None => input.clone(),
            Some(None) => ValueType::Const(json!({})),
            Some(Some(path)) => self.read(site, field_name, path, input, ctx, false),
        }
    }

    /// The effective input after `Parameters` (the input itself without one).
    pub(super) fn parameters(
        &mut self,
        site: &Site<'_>,
        tpl: &Option<Value>,
        effective: &ValueType,
        ctx: &ValueType,
    ) -> ValueType {
        match tpl {
            Some(tpl) => self.template(site, "Parameters", tpl, effective, ctx),
            None => effective.clone(),
        }
    }

    /// Evaluates a `Parameters` / `ItemSelector` / `ResultSelector` template.
    pub(super) fn template(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        tpl: &Value,
        input: &ValueType,
        ctx: &ValueType,
    ) -> ValueType {
        match tpl {
            Value::Object(m) => {
                let mut obj = ObjectType {
                    title: Some(format!("the {field_name} of state \"{}\"", site.state)),
                    properties: IndexMap::new(),
                    required: BTreeSet::new(),
                    unlisted: UnlistedFields::Forbidden,
                };
                for (k, v) in m {
                    let sub = format!("{field_name}.{k}");
                    let (name, ty) = match k.strip_suffix(".$") {
                        Some(name) => (name, self.dynamic_value(site, &sub, v, input, ctx)),
                        None => (k.as_str(), self.template(site, &sub, v, input, ctx)),
                    };
                    obj.properties.insert(name.to_owned(), ty);
                    obj.required.insert(name.to_owned());
                }
                ValueType::object(obj)
            }
            Value::Array(vs) => ValueType::Tuple(
                vs.iter()
                    .enumerate()
                    .map(|(i, v)| self.template(site, &format!("{field_name}[{i}]"), v, input, ctx))
                    .collect(),
            ),
            other => ValueType::Const(other.clone()),
        }
    }

    pub(super) fn dynamic_value(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        v: &Value,
        input: &ValueType,
        ctx: &ValueType,
    ) -> ValueType {
        let Some(text) = v.as_str() else {
            self.error(site, field_name, "", "the value of a `.$` field must be a path or an intrinsic function call");
            return ValueType::Any;
        };
        match PayloadValue::parse(text) {
            Ok(PayloadValue::Intrinsic(call)) => self.intrinsic(site, field_name, text, &call, input, ctx),
            Ok(PayloadValue::Path(path)) => match read_path(&path, input, ctx, false) {
                Ok(t) => t,
                Err(e) => {
                    self.error(site, field_name, text, e);
                    ValueType::Any
                }
            },
            Err(e) => {
                let what = if is_intrinsic(text) { "intrinsic function call" } else { "path" };
                self.error(site, field_name, text, format!("not a valid {what}: {e}"));
                ValueType::Any
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
        input: &ValueType,
        ctx: &ValueType,
    ) -> ValueType {
        let mut args = Vec::with_capacity(call.args.len());
        for a in &call.args {
            args.push(match a {
                IntrinsicArg::String { value, .. } => ValueType::Const(Value::String(value.clone())),
                IntrinsicArg::Number(n) => ValueType::Const(Value::Number(n.clone())),
                IntrinsicArg::Bool(b) => ValueType::Const(Value::Bool(*b)),
                IntrinsicArg::Null => ValueType::Const(Value::Null),
                IntrinsicArg::Path(p) => match read_path(p, input, ctx, false) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(site, field_name, text, format!("argument `{p}` of {}: {e}", call.function.name()));
                        ValueType::Any
                    }
                },
                IntrinsicArg::Intrinsic(inner) => self.intrinsic(site, field_name, text, inner, input, ctx),
            });
        }
        let string = ValueType::Primitive(Primitive::String);
        let items_of = |t: Option<&ValueType>| t.and_then(|t| items(t, false).ok()).unwrap_or(ValueType::Any);
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
            F::ArrayLength | F::MathAdd | F::MathRandom => ValueType::Primitive(Primitive::Integer),
            F::ArrayContains => ValueType::Primitive(Primitive::Boolean),
            F::Array => ValueType::Tuple(args),
            F::ArrayPartition => ValueType::Array(Box::new(ValueType::Array(Box::new(items_of(args.first()))))),
            F::ArrayUnique => ValueType::Array(Box::new(items_of(args.first()))),
            F::ArrayRange => ValueType::Array(Box::new(ValueType::Primitive(Primitive::Integer))),
            F::StringSplit => ValueType::Array(Box::new(string)),
            F::StringToJson | F::JsonMerge | F::ArrayGetItem => ValueType::Any,
        }
    }

    /// `ResultPath`: where the result goes in the state's raw input.
    pub(super) fn result_path(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        p: &NullablePath,
        input: &ValueType,
        result: ValueType,
    ) -> ValueType {
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
                ValueType::Any
            }
        }
    }

    /// `ResultSelector`, then `ResultPath` into the raw input, then `OutputPath`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn after_result(
        &mut self,
        site: &Site<'_>,
        input: &ValueType,
        result: ValueType,
        selector: &Option<Value>,
        result_path: &NullablePath,
        output_path: &NullablePath,
        ctx: &ValueType,
    ) -> ValueType {
        let selected = match selector {
            Some(tpl) => self.template(site, "ResultSelector", tpl, &result, ctx),
            None => result,
        };
        let merged = self.result_path(site, "ResultPath", result_path, input, selected);
        self.filter_path(site, "OutputPath", output_path, &merged, ctx)
    }
}
