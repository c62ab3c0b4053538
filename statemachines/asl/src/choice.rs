//! Choice rules: every comparison operator of the ASL specification, and the
//! `And` / `Or` / `Not` combinators.
//!
//! A rule is serialized by hand because its operator is a field *name*
//! (`{"Variable": "$.x", "NumericGreaterThan": 3, "Next": "Big"}`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// A top-level rule of a Choice state: a condition and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
    pub comment: Option<String>,
    /// Variables set when this rule matches.
    pub assign: Option<Value>,
    /// JSONata: the state's output when this rule matches.
    pub output: Option<Value>,
}

impl ChoiceRule {
    pub fn new(condition: Condition, next: impl Into<String>) -> Self {
        ChoiceRule { condition, next: next.into(), comment: None, assign: None, output: None }
    }

    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
}

/// A Boolean expression over the state's input.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare(Comparison),
    /// JSONata: `"Condition": "{% … %}"` (or a literal boolean), top level
    /// only.
    Jsonata(Value),
}

/// `Variable` compared with an operand by one operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub variable: String,
    pub op: ComparisonOp,
    pub operand: Operand,
}

/// The operand of a comparison, typed as the operator requires.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    String(String),
    Number(Number),
    Bool(bool),
    /// A reference path, for the `…Path` operators.
    Path(String),
}

/// What kind of operand an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandKind {
    String,
    Number,
    Bool,
    Timestamp,
    Path,
}

macro_rules! ops {
    ($($variant:ident => $name:literal, $kind:ident;)*) => {
        /// Every comparison operator of the specification.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ComparisonOp { $($variant),* }

        impl ComparisonOp {
            pub const ALL: &'static [ComparisonOp] = &[$(ComparisonOp::$variant),*];

            /// The field name, as ASL spells it.
            pub const fn name(self) -> &'static str {
                match self { $(ComparisonOp::$variant => $name),* }
            }

            /// The operand this operator takes.
            pub const fn operand_kind(self) -> OperandKind {
                match self { $(ComparisonOp::$variant => OperandKind::$kind),* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(ComparisonOp::$variant),)* _ => None }
            }
        }
    };
}

ops! {
    StringEquals => "StringEquals", String;
    StringEqualsPath => "StringEqualsPath", Path;
    StringLessThan => "StringLessThan", String;
    StringLessThanPath => "StringLessThanPath", Path;
    StringGreaterThan => "StringGreaterThan", String;
    StringGreaterThanPath => "StringGreaterThanPath", Path;
    StringLessThanEquals => "StringLessThanEquals", String;
    StringLessThanEqualsPath => "StringLessThanEqualsPath", Path;
    StringGreaterThanEquals => "StringGreaterThanEquals", String;
    StringGreaterThanEqualsPath => "StringGreaterThanEqualsPath", Path;
    StringMatches => "StringMatches", String;
    NumericEquals => "NumericEquals", Number;
    NumericEqualsPath => "NumericEqualsPath", Path;
    NumericLessThan => "NumericLessThan", Number;
    NumericLessThanPath => "NumericLessThanPath", Path;
    NumericGreaterThan => "NumericGreaterThan", Number;
    NumericGreaterThanPath => "NumericGreaterThanPath", Path;
    NumericLessThanEquals => "NumericLessThanEquals", Number;
    NumericLessThanEqualsPath => "NumericLessThanEqualsPath", Path;
    NumericGreaterThanEquals => "NumericGreaterThanEquals", Number;
    NumericGreaterThanEqualsPath => "NumericGreaterThanEqualsPath", Path;
    BooleanEquals => "BooleanEquals", Bool;
    BooleanEqualsPath => "BooleanEqualsPath", Path;
    TimestampEquals => "TimestampEquals", Timestamp;
    TimestampEqualsPath => "TimestampEqualsPath", Path;
    TimestampLessThan => "TimestampLessThan", Timestamp;
    TimestampLessThanPath => "TimestampLessThanPath", Path;
    TimestampGreaterThan => "TimestampGreaterThan", Timestamp;
    TimestampGreaterThanPath => "TimestampGreaterThanPath", Path;
    TimestampLessThanEquals => "TimestampLessThanEquals", Timestamp;
    TimestampLessThanEqualsPath => "TimestampLessThanEqualsPath", Path;
    TimestampGreaterThanEquals => "TimestampGreaterThanEquals", Timestamp;
    TimestampGreaterThanEqualsPath => "TimestampGreaterThanEqualsPath", Path;
    IsNull => "IsNull", Bool;
    IsPresent => "IsPresent", Bool;
    IsNumeric => "IsNumeric", Bool;
    IsString => "IsString", Bool;
    IsBoolean => "IsBoolean", Bool;
    IsTimestamp => "IsTimestamp", Bool;
}

impl Condition {
    /// `variable <op> operand`, with the operand given as JSON and checked
    /// against the operator's kind.
    pub fn compare(variable: impl Into<String>, op: ComparisonOp, operand: impl Into<Value>) -> Self {
        let variable = variable.into();
        let operand =
            Operand::from_json(op, operand.into()).unwrap_or_else(|e| panic!("Choice rule on {variable}: {e}"));
        Condition::Compare(Comparison { variable, op, operand })
    }

    pub fn and(conditions: Vec<Condition>) -> Self {
        Condition::And(conditions)
    }

    pub fn or(conditions: Vec<Condition>) -> Self {
        Condition::Or(conditions)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Self {
        Condition::Not(Box::new(condition))
    }

    fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            Condition::And(cs) => {
                m.insert("And".into(), Value::Array(cs.iter().map(|c| Value::Object(c.to_map())).collect()));
            }
            Condition::Or(cs) => {
                m.insert("Or".into(), Value::Array(cs.iter().map(|c| Value::Object(c.to_map())).collect()));
            }
            Condition::Not(c) => {
                m.insert("Not".into(), Value::Object(c.to_map()));
            }
            Condition::Compare(c) => {
                m.insert("Variable".into(), Value::String(c.variable.clone()));
                m.insert(c.op.name().into(), c.operand.to_json());
            }
            Condition::Jsonata(v) => {
                m.insert("Condition".into(), v.clone());
            }
        }
        m
    }

    /// Parses a condition from a JSON object, taking out the keys it uses.
    /// `allow` lists keys the caller handles (`Next`, `Comment`).
    fn from_map(m: &Map<String, Value>, allow: &[&str]) -> Result<Self, String> {
        if let Some(c) = m.get("Condition") {
            if let Some(k) = m.keys().find(|k| *k != "Condition" && !allow.contains(&k.as_str())) {
                return Err(format!("a JSONata Choice rule (`Condition`) cannot also have `{k}`"));
            }
            return match c {
                Value::String(_) | Value::Bool(_) => Ok(Condition::Jsonata(c.clone())),
                other => Err(format!("`Condition` must be a JSONata expression string or a boolean, not {other}")),
            };
        }
        let combinator_keys: Vec<&str> = ["And", "Or", "Not"].into_iter().filter(|k| m.contains_key(*k)).collect();
        let op_keys: Vec<(&String, ComparisonOp)> =
            m.keys().filter_map(|k| ComparisonOp::from_name(k).map(|op| (k, op))).collect();
        for k in m.keys() {
            let known = k == "Variable"
                || k == "And"
                || k == "Or"
                || k == "Not"
                || ComparisonOp::from_name(k).is_some()
                || allow.contains(&k.as_str());
            if !known {
                return Err(format!("unknown field `{k}` in a Choice rule"));
            }
        }
        match (combinator_keys.as_slice(), op_keys.as_slice()) {
            ([], [(_, op)]) => {
                let variable = match m.get("Variable") {
                    Some(Value::String(v)) => v.clone(),
                    Some(_) => return Err("`Variable` must be a string".into()),
                    None => return Err(format!("`{}` needs a `Variable`", op.name())),
                };
                let operand = Operand::from_json(*op, m[op.name()].clone())?;
                Ok(Condition::Compare(Comparison { variable, op: *op, operand }))
            }
            ([], []) => Err("a Choice rule needs a comparison operator or And/Or/Not".into()),
            ([], many) => Err(format!(
                "a Choice rule has more than one comparison operator: {}",
                many.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
            )),
            ([k], []) => {
                if m.contains_key("Variable") {
                    return Err(format!("`{k}` cannot have a `Variable`"));
                }
                match *k {
                    "Not" => match &m["Not"] {
                        Value::Object(inner) => Ok(Condition::Not(Box::new(Condition::from_map(inner, &[])?))),
                        _ => Err("`Not` must be an object".into()),
                    },
                    _ => match &m[*k] {
                        Value::Array(items) => {
                            let mut cs = Vec::with_capacity(items.len());
                            for item in items {
                                match item {
                                    Value::Object(inner) => cs.push(Condition::from_map(inner, &[])?),
                                    _ => return Err(format!("`{k}` must hold objects")),
                                }
                            }
                            Ok(if *k == "And" { Condition::And(cs) } else { Condition::Or(cs) })
                        }
                        _ => Err(format!("`{k}` must be an array")),
                    },
                }
            }
            _ => Err("a Choice rule mixes And/Or/Not with other operators".into()),
        }
    }

    /// Every comparison in this condition, depth first.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut out = Vec::new();
        fn walk<'a>(c: &'a Condition, out: &mut Vec<&'a Comparison>) {
            match c {
                Condition::And(cs) | Condition::Or(cs) => cs.iter().for_each(|c| walk(c, out)),
                Condition::Not(c) => walk(c, out),
                Condition::Compare(cmp) => out.push(cmp),
                Condition::Jsonata(_) => {}
            }
        }
        walk(self, &mut out);
        out
    }
}

impl Operand {
    fn from_json(op: ComparisonOp, v: Value) -> Result<Self, String> {
        match (op.operand_kind(), v) {
            (OperandKind::String | OperandKind::Timestamp, Value::String(s)) => Ok(Operand::String(s)),
            (OperandKind::Path, Value::String(s)) => Ok(Operand::Path(s)),
            (OperandKind::Number, Value::Number(n)) => Ok(Operand::Number(n)),
            (OperandKind::Bool, Value::Bool(b)) => Ok(Operand::Bool(b)),
            (kind, other) => Err(format!(
                "`{}` takes a {} operand, not {}",
                op.name(),
                match kind {
                    OperandKind::String => "string",
                    OperandKind::Timestamp => "timestamp string",
                    OperandKind::Path => "path string",
                    OperandKind::Number => "number",
                    OperandKind::Bool => "boolean",
                },
                other
            )),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Operand::String(s) | Operand::Path(s) => Value::String(s.clone()),
            Operand::Number(n) => Value::Number(n.clone()),
            Operand::Bool(b) => Value::Bool(*b),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        Condition::from_map(&m, &[]).map_err(D::Error::custom)
    }
}

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = self.condition.to_map();
        m.insert("Next".into(), Value::String(self.next.clone()));
        if let Some(c) = &self.comment {
            m.insert("Comment".into(), Value::String(c.clone()));
        }
        if let Some(a) = &self.assign {
            m.insert("Assign".into(), a.clone());
        }
        if let Some(o) = &self.output {
            m.insert("Output".into(), o.clone());
        }
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        let next = match m.get("Next") {
            Some(Value::String(n)) => n.clone(),
            Some(_) => return Err(D::Error::custom("`Next` of a Choice rule must be a string")),
            None => return Err(D::Error::custom("a top-level Choice rule needs `Next`")),
        };
        let comment = match m.get("Comment") {
            Some(Value::String(c)) => Some(c.clone()),
            Some(_) => return Err(D::Error::custom("`Comment` must be a string")),
            None => None,
        };
        let condition = Condition::from_map(&m, &["Next", "Comment", "Assign", "Output"]).map_err(D::Error::custom)?;
        Ok(ChoiceRule { condition, next, comment, assign: m.get("Assign").cloned(), output: m.get("Output").cloned() })
    }
}
