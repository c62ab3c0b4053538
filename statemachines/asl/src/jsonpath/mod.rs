//! JSONPath as Step Functions reads it (the Jayway flavour), and the intrinsic
//! functions (`States.Format(...)`) that may stand where a path is expected.
//!
//! The parser only checks syntax and returns a typed path; evaluating it
//! against data is left to the callers (typed data paths, a local executor).
//!
//! Grammar accepted:
//!
//! - roots `$` (the state's input), `$$` (the context object) and `$name`
//!   (a workflow variable);
//! - `.name`, `['name']` / `["name"]` (with `\'`, `\"` and `\\` escapes), `[n]`
//!   (negative counts from the end), `[*]`, `.*`;
//! - `..name`, `..*`, `..[…]` (recursive descent);
//! - `[a,b]` unions of names or of indices, `[start:end:step]` slices;
//! - `[?(…)]` filters: `@`-relative paths compared with `==`, `!=`, `<`, `<=`,
//!   `>`, `>=` to a string, number, boolean or null literal, or tested for
//!   existence alone, combined with `&&`, `||` and parentheses.
//!
//! Layout: the path types and entry points are here; `parser` holds the
//! cursor and the path grammar, `intrinsic` the intrinsic functions (their
//! table, call types and call grammar) and `display` the normalized spelling.

use std::fmt;

use serde_json::Number;

mod display;
mod intrinsic;
mod parser;
#[cfg(test)]
mod tests;

pub use intrinsic::{Intrinsic, IntrinsicArg, IntrinsicFunction};
use parser::Cursor;

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub root: Root,
    pub segments: Vec<Segment>,
}

/// What a path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the data the state reads.
    Input,
    /// `$$`: the context object (`$$.Execution.Id`, `$$.Map.Item.Value`).
    Context,
    /// `$name`: a workflow variable (`$order.id`).
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Child(String),
    /// `[n]`; negative counts from the end.
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
    /// `['a','b']` or `[0,2]`.
    Union(Vec<UnionMember>),
    /// `[start:end:step]`, each part optional.
    Slice { start: Option<i64>, end: Option<i64>, step: Option<i64> },
    /// `[?(…)]`.
    Filter(Filter),
    /// `..` followed by a selector (never another `Descendant`).
    Descendant(Box<Segment>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnionMember {
    Name(String),
    Index(i64),
}

/// The expression of a `[?(…)]` filter, evaluated for each element `@`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `@.a.b`: the element has that field.
    Exists(Vec<Segment>),
    /// `@.a == 'x'`.
    Compare {
        path: Vec<Segment>,
        op: FilterOp,
        value: Literal,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl FilterOp {
    pub fn symbol(self) -> &'static str {
        match self {
            FilterOp::Eq => "==",
            FilterOp::Ne => "!=",
            FilterOp::Lt => "<",
            FilterOp::Le => "<=",
            FilterOp::Gt => ">",
            FilterOp::Ge => ">=",
        }
    }
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(Number),
    Bool(bool),
    Null,
}

/// Why a path or an intrinsic call does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPathError {
    /// 1-based character position in the text.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.column)
    }
}

impl std::error::Error for JsonPathError {}

impl JsonPath {
    /// Parses a whole string as a path.
    pub fn parse(text: &str) -> Result<Self, JsonPathError> {
        let mut cur = Cursor::new(text);
        let path = cur.path()?;
        cur.finish()?;
        Ok(path)
    }

    /// A Reference Path identifies a single node: only `.name`, `['name']`
    /// and `[n]` steps (no wildcard, filter, slice, union or `..`).
    pub fn is_reference_path(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)))
    }

    pub fn is_context(&self) -> bool {
        self.root == Root::Context
    }

    /// The workflow variable the path reads, if it starts at one.
    pub fn variable(&self) -> Option<&str> {
        match &self.root {
            Root::Variable(v) => Some(v),
            _ => None,
        }
    }
}

impl std::str::FromStr for JsonPath {
    type Err = JsonPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JsonPath::parse(s)
    }
}

/// The value of a `.$` field: a path or an intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadValue {
    Path(JsonPath),
    Intrinsic(Intrinsic),
}

impl PayloadValue {
    /// `States.…` parses as an intrinsic call, anything else as a path.
    pub fn parse(text: &str) -> Result<Self, JsonPathError> {
        if is_intrinsic(text) {
            Intrinsic::parse(text).map(PayloadValue::Intrinsic)
        } else {
            JsonPath::parse(text).map(PayloadValue::Path)
        }
    }

    /// Every path the value reads, including those nested in intrinsic calls.
    pub fn paths(&self) -> Vec<&JsonPath> {
        match self {
            PayloadValue::Path(p) => vec![p],
            PayloadValue::Intrinsic(i) => i.paths(),
        }
    }
}

/// Whether a `.$` value is an intrinsic call rather than a path.
pub fn is_intrinsic(text: &str) -> bool {
    text.starts_with("States.")
}
