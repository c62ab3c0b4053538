//! JSONata in ASL: the `{% … %}` strings of JSONata states, parsed with the
//! `jsonata-core` crate, and what the static checks need from them (syntax
//! errors with a column, the workflow variables an expression reads, whether
//! it is a plain path into the state input).
//!
//! Evaluation lives in the executor (`edba-local`); this module only reads.

use std::collections::BTreeSet;

pub use jsonata_core::ast::AstNode;
use jsonata_core::ast::PathStep;
use serde_json::Value;

/// The body of a JSONata expression string (`"{% $states.input.x %}"` ->
/// `" $states.input.x "`), or `None` when the string is a plain literal.
pub fn expression(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

/// Whether a string was meant as an expression but is not delimited as one
/// (`"{% $x"`): Step Functions refuses these.
pub fn is_malformed(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with("{%") || t.ends_with("%}")) && expression(text).is_none()
}

/// A JSONata syntax error. `column` is 1-based, counted in characters of the
/// whole field value (delimiters included), at the token where the
/// expression stops making sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub column: usize,
    pub message: String,
}

/// A parsed JSONata expression.
#[derive(Debug)]
pub struct Expression {
    ast: AstNode,
}

/// Parses the body of a `{% … %}` string.
pub fn parse(body: &str) -> Result<Expression, SyntaxError> {
    match jsonata_core::parser::parse(body) {
        Ok(ast) => Ok(Expression { ast }),
        Err(e) => Err(SyntaxError { column: error_column(body) + 2, message: e.to_string() }),
    }
}

/// Parses a whole field value: `Ok(None)` for a literal string.
pub fn parse_field(text: &str) -> Result<Option<Expression>, SyntaxError> {
    match expression(text) {
        Some(body) => parse(body).map(Some),
        None => Ok(None),
    }
}

/// `jsonata-core` reports no position, so the column is found the way a
/// reader would: the shortest prefix of the expression that is already wrong
/// (and not merely unfinished) ends at the offending token.
fn error_column(body: &str) -> usize {
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    for (n, (i, c)) in chars.iter().enumerate() {
        let end = i + c.len_utf8();
        if let Err(e) = jsonata_core::parser::parse(&body[..end]) {
            if !unfinished(&e) {
                return n + 1;
            }
        }
    }
    chars.len()
}

fn unfinished(e: &jsonata_core::parser::ParserError) -> bool {
    use jsonata_core::parser::ParserError as P;
    match e {
        P::UnexpectedEnd | P::UnclosedString | P::UnclosedComment | P::UnclosedBacktick => true,
        P::Expected { found, .. } => found == "Eof",
        other => {
            let m = other.to_string();
            m.contains("end of expression") || m.contains("Eof")
        }
    }
}

impl Expression {
    pub fn ast(&self) -> &AstNode {
        &self.ast
    }

    /// The variables the expression reads from outside itself: every `$name`
    /// except those it binds (`:=`, lambda parameters, `@$x`, `#$i`) and the
    /// functions it calls. `$states` is included; `$` and `$$` are not.
    pub fn free_variables(&self) -> BTreeSet<String> {
        let (mut read, bound) = self.variables();
        read.retain(|v| !bound.contains(v));
        read
    }

    /// Every `$name` the expression mentions (bound in it or not): what an
    /// evaluator must bind, since a name the expression binds may also be
    /// read before it is bound (`$n := $n + 1`).
    pub fn referenced_variables(&self) -> BTreeSet<String> {
        self.variables().0
    }

    /// (names read, names bound), without `$` and `$$`.
    fn variables(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let tree = serde_json::to_value(&self.ast).unwrap_or(Value::Null);
        let mut read = BTreeSet::new();
        let mut bound = BTreeSet::new();
        walk(&tree, &mut read, &mut bound);
        read.retain(|v| !v.is_empty());
        (read, bound)
    }

    /// `Some(["a", "b"])` when the expression is exactly `$states.input.a.b`
    /// (plain names, no predicates): a read the payload schema can check.
    pub fn input_path(&self) -> Option<Vec<String>> {
        let AstNode::Path { steps } = &self.ast else { return None };
        let plain = |s: &PathStep| s.stages.is_empty() && s.focus.is_none() && s.index_var.is_none();
        let mut it = steps.iter();
        let first = it.next()?;
        let second = it.next()?;
        if !plain(first) || !plain(second) {
            return None;
        }
        if !matches!(&first.node, AstNode::Variable(v) if v == "states")
            || !matches!(&second.node, AstNode::Name(n) if n == "input")
        {
            return None;
        }
        let mut out = Vec::new();
        for s in it {
            match &s.node {
                AstNode::Name(n) if plain(s) => out.push(n.clone()),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// A generic walk of the serialized syntax tree: robust to the crate's many
/// node kinds, it only needs the spelling of variables and binders.
fn walk(v: &Value, read: &mut BTreeSet<String>, bound: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("Variable", Value::String(name)) => {
                        read.insert(name.clone());
                    }
                    ("params", Value::Array(ps)) => {
                        bound
                            .extend(ps.iter().filter_map(Value::as_str).map(|s| s.trim_start_matches('$').to_string()));
                    }
                    ("focus" | "index_var", Value::String(name)) => {
                        bound.insert(name.clone());
                    }
                    ("Binary", Value::Object(b)) if b.get("op").and_then(Value::as_str) == Some("ColonEqual") => {
                        if let Some(Value::Object(lhs)) = b.get("lhs") {
                            if let Some(Value::String(name)) = lhs.get("Variable") {
                                bound.insert(name.clone());
                            }
                        }
                    }
                    _ => {}
                }
                walk(x, read, bound);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| walk(x, read, bound)),
        _ => {}
    }
}

/// Adds `text` with its field when it is (or tries to be) an expression.
pub fn push_expression<'a>(text: &'a str, field: &str, out: &mut Vec<(String, &'a str)>) {
    if expression(text).is_some() || is_malformed(text) {
        out.push((field.to_string(), text));
    }
}

/// Every JSONata string inside a JSON template (`Arguments`, `Output`,
/// `Assign`, `ItemSelector`, …), with its field path (`Arguments.Payload.id`).
/// Keys are never expressions; only string values are.
pub fn template_strings<'a>(v: &'a Value, field: &str, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => push_expression(s, field, out),
        Value::Object(m) => {
            for (k, x) in m {
                template_strings(x, &format!("{field}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                template_strings(x, &format!("{field}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_variables_leave_out_what_the_expression_binds() {
        let e = parse("($a := $x + 1; $map($list, function($v) { $v * $a }) ~> $sum()) + $states.input.n").unwrap();
        let vars: Vec<String> = e.free_variables().into_iter().collect();
        assert_eq!(vars, ["list", "states", "x"]);
        let e = parse("items@$i#$n.[$i, $n, $outer]").unwrap();
        assert_eq!(e.free_variables().into_iter().collect::<Vec<_>>(), ["outer"]);
    }

    #[test]
    fn plain_input_paths_are_recognized() {
        assert_eq!(parse("$states.input.a.b").unwrap().input_path(), Some(vec!["a".into(), "b".into()]));
        assert_eq!(parse("$states.input").unwrap().input_path(), Some(vec![]));
        assert_eq!(parse("$states.input.a[0]").unwrap().input_path(), None);
        assert_eq!(parse("$states.result.a").unwrap().input_path(), None);
        assert_eq!(parse("$x.a").unwrap().input_path(), None);
    }

    #[test]
    fn a_syntax_error_names_its_column() {
        let e = parse_field("{% $states.input.a + ) %}").unwrap_err();
        assert_eq!(e.column, 22, "{e:?}");
        let e = parse_field("{% (1 + 2 %}").unwrap_err();
        assert!(e.column >= 10, "{e:?}");
        assert!(parse_field("plain").unwrap().is_none());
        assert!(is_malformed("{% $x"));
        assert!(!is_malformed("50%"));
    }
}
