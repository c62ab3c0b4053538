//! Choice rules: each rule's `Variable` exists and has the type its operator
//! compares, and the input of the rule's target is narrowed by what the rule
//! proves.

use serde_json::Value;

use super::checker::{Checker, Site};
use super::navigate::{field, require};
use super::value_type::{definitely_not, Primitive, ValueType, MAX_DEPTH};
use crate::choice::{ComparisonOp, Condition, Operand, OperandKind};
use crate::jsonpath::{JsonPath, Root as JsonPathRoot, Segment};

impl Checker<'_> {
    /// Checks the paths of one rule (`at`: `Choices[0]`), recursively.
    pub(super) fn condition(
        &mut self,
        site: &Site<'_>,
        at: &str,
        cond: &Condition,
        input: &ValueType,
        ctx: &ValueType,
    ) {
        match cond {
            Condition::And(cs) | Condition::Or(cs) => {
                let kw = if matches!(cond, Condition::And(_)) { "And" } else { "Or" };
                for (i, c) in cs.iter().enumerate() {
                    self.condition(site, &format!("{at}.{kw}[{i}]"), c, input, ctx);
                }
            }
            Condition::Not(c) => self.condition(site, &format!("{at}.Not"), c, input, ctx),
            // JSONata conditions are checked as expressions, with the state.
            Condition::Jsonata(_) => {}
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
                    let (ok, wanted): (&[Primitive], &str) = match cmp.op.operand_kind() {
                        OperandKind::Bool => (&[Primitive::Boolean], "a boolean"),
                        OperandKind::Number => (&[Primitive::Integer, Primitive::Number], "a number"),
                        OperandKind::String | OperandKind::Timestamp => (&[Primitive::String], "a string"),
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
fn op_prims(op: ComparisonOp) -> &'static [Primitive] {
    let name = op.name();
    if name.starts_with("Numeric") {
        &[Primitive::Integer, Primitive::Number]
    } else if name.starts_with("Boolean") {
        &[Primitive::Boolean]
    } else {
        &[Primitive::String]
    }
}

/// The input of a Choice rule's target, narrowed by what the rule proves:
/// a field tested with `IsPresent: true` is there, and a field compared for
/// equality with a constant selects the variants of a tagged enum (`oneOf`
/// whose tag is a `const`). Only conditions joined by `And` narrow.
pub(super) fn narrow(cond: &Condition, ty: &ValueType) -> ValueType {
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
fn select_variants(ty: &ValueType, segs: &[Segment], value: &Value, depth: usize) -> ValueType {
    let Some((Segment::Child(name), rest)) = segs.split_first() else {
        return ty.clone();
    };
    if depth > MAX_DEPTH {
        return ty.clone();
    }
    match ty.expand() {
        ValueType::Union(vs) if rest.is_empty() => {
            let kept: Vec<ValueType> = vs
                .iter()
                .filter(|v| match field(v, name, true).map(|t| t.expand()) {
                    Ok(ValueType::Const(c)) => &c == value,
                    Ok(_) => true,
                    Err(_) => false,
                })
                .cloned()
                .collect();
            if kept.is_empty() {
                ty.clone()
            } else {
                ValueType::union(kept)
            }
        }
        ValueType::Union(vs) => {
            ValueType::union(vs.iter().map(|v| select_variants(v, segs, value, depth + 1)).collect())
        }
        ValueType::Object(o) if !rest.is_empty() && o.properties.contains_key(name) => {
            let mut obj = (*o).clone();
            let child = select_variants(&obj.properties[name], rest, value, depth + 1);
            obj.properties.insert(name.clone(), child);
            ValueType::object(obj)
        }
        _ => ty.clone(),
    }
}
