//! Display: a normalized spelling that parses back to the same value.

use std::fmt;

use super::parser::ends_name;
use super::{Filter, JsonPath, Literal, PayloadValue, Root, Segment, UnionMember};

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(ends_name)
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("'")
}

fn write_segments(f: &mut fmt::Formatter<'_>, segments: &[Segment]) -> fmt::Result {
    segments.iter().try_for_each(|s| write!(f, "{s}"))
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Input => f.write_str("$")?,
            Root::Context => f.write_str("$$")?,
            Root::Variable(v) => write!(f, "${v}")?,
        }
        write_segments(f, &self.segments)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Child(n) if is_plain_name(n) => write!(f, ".{n}"),
            Segment::Child(n) => {
                f.write_str("[")?;
                write_quoted(f, n)?;
                f.write_str("]")
            }
            Segment::Index(i) => write!(f, "[{i}]"),
            Segment::Wildcard => f.write_str("[*]"),
            Segment::Union(members) => {
                f.write_str("[")?;
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    match m {
                        UnionMember::Name(n) => write_quoted(f, n)?,
                        UnionMember::Index(i) => write!(f, "{i}")?,
                    }
                }
                f.write_str("]")
            }
            Segment::Slice { start, end, step } => {
                f.write_str("[")?;
                if let Some(s) = start {
                    write!(f, "{s}")?;
                }
                f.write_str(":")?;
                if let Some(e) = end {
                    write!(f, "{e}")?;
                }
                if let Some(s) = step {
                    write!(f, ":{s}")?;
                }
                f.write_str("]")
            }
            Segment::Filter(filter) => write!(f, "[?({filter})]"),
            Segment::Descendant(inner) => match inner.as_ref() {
                Segment::Child(n) if is_plain_name(n) => write!(f, "..{n}"),
                Segment::Wildcard => f.write_str("..*"),
                other => write!(f, "..{other}"),
            },
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Exists(path) => {
                f.write_str("@")?;
                write_segments(f, path)
            }
            Filter::Compare { path, op, value } => {
                f.write_str("@")?;
                write_segments(f, path)?;
                write!(f, " {} {value}", op.symbol())
            }
            Filter::And(a, b) => write!(f, "({a} && {b})"),
            Filter::Or(a, b) => write!(f, "({a} || {b})"),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write_quoted(f, s),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for PayloadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadValue::Path(p) => write!(f, "{p}"),
            PayloadValue::Intrinsic(i) => write!(f, "{i}"),
        }
    }
}
