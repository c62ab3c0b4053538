//! JSONPath as Step Functions reads it (the Jayway flavour), and the intrinsic
//! functions (`States.Format(...)`) that may stand where a path is expected.
//!
//! The parser only checks syntax and returns a typed path; evaluating it
//! against data is left to the callers (typed data paths, a local executor).
//!
//! Grammar accepted:
//!
//! - roots `$` (the state's input) and `$$` (the context object);
//! - `.name`, `['name']` / `["name"]` (with `\'`, `\"` and `\\` escapes), `[n]`
//!   (negative counts from the end), `[*]`, `.*`;
//! - `..name`, `..*`, `..[…]` (recursive descent);
//! - `[a,b]` unions of names or of indices, `[start:end:step]` slices;
//! - `[?(…)]` filters: `@`-relative paths compared with `==`, `!=`, `<`, `<=`,
//!   `>`, `>=` to a string, number, boolean or null literal, or tested for
//!   existence alone, combined with `&&`, `||` and parentheses.

use std::fmt;

use serde_json::Number;

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub root: Root,
    pub segments: Vec<Segment>,
}

/// What a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `$`: the data the state reads.
    Input,
    /// `$$`: the context object (`$$.Execution.Id`, `$$.Map.Item.Value`).
    Context,
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

macro_rules! intrinsics {
    ($($variant:ident => $name:literal, $min:literal, $max:expr;)*) => {
        /// The intrinsic functions of Step Functions.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum IntrinsicFunction { $($variant),* }

        impl IntrinsicFunction {
            pub const ALL: &'static [IntrinsicFunction] = &[$(IntrinsicFunction::$variant),*];

            /// The full name, `States.Format`.
            pub const fn name(self) -> &'static str {
                match self { $(IntrinsicFunction::$variant => $name),* }
            }

            /// The least and (if bounded) the most arguments it takes.
            pub const fn arity(self) -> (usize, Option<usize>) {
                match self { $(IntrinsicFunction::$variant => ($min, $max)),* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(IntrinsicFunction::$variant),)* _ => None }
            }
        }
    };
}

intrinsics! {
    Format => "States.Format", 1, None;
    StringToJson => "States.StringToJson", 1, Some(1);
    JsonToString => "States.JsonToString", 1, Some(1);
    Array => "States.Array", 0, None;
    ArrayPartition => "States.ArrayPartition", 2, Some(2);
    ArrayContains => "States.ArrayContains", 2, Some(2);
    ArrayRange => "States.ArrayRange", 3, Some(3);
    ArrayGetItem => "States.ArrayGetItem", 2, Some(2);
    ArrayLength => "States.ArrayLength", 1, Some(1);
    ArrayUnique => "States.ArrayUnique", 1, Some(1);
    Base64Encode => "States.Base64Encode", 1, Some(1);
    Base64Decode => "States.Base64Decode", 1, Some(1);
    Hash => "States.Hash", 2, Some(2);
    JsonMerge => "States.JsonMerge", 3, Some(3);
    MathRandom => "States.MathRandom", 2, Some(3);
    MathAdd => "States.MathAdd", 2, Some(2);
    StringSplit => "States.StringSplit", 2, Some(2);
    Uuid => "States.UUID", 0, Some(0);
}

/// An intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    pub function: IntrinsicFunction,
    pub args: Vec<IntrinsicArg>,
}

/// An argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum IntrinsicArg {
    /// A `'…'` literal. `raw` keeps the escapes as written (`States.Format`
    /// needs them to tell `\{` from a `{}` placeholder); `value` has them
    /// resolved.
    String {
        raw: String,
        value: String,
    },
    Number(Number),
    Bool(bool),
    Null,
    Path(JsonPath),
    Intrinsic(Intrinsic),
}

impl Intrinsic {
    /// Parses a whole string as one intrinsic call.
    pub fn parse(text: &str) -> Result<Self, JsonPathError> {
        let mut cur = Cursor::new(text);
        let call = cur.intrinsic()?;
        cur.finish()?;
        Ok(call)
    }

    /// Every path among the arguments, depth first.
    pub fn paths(&self) -> Vec<&JsonPath> {
        let mut out = Vec::new();
        for a in &self.args {
            match a {
                IntrinsicArg::Path(p) => out.push(p),
                IntrinsicArg::Intrinsic(i) => out.extend(i.paths()),
                _ => {}
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Parser

/// Characters that end a dot-notation name.
fn ends_name(c: char) -> bool {
    c.is_whitespace() || ".[]()'\",*?@=<>!&|".contains(c)
}

struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, JsonPathError>;

impl<'a> Cursor<'a> {
    fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn err_at<T>(&self, pos: usize, message: impl Into<String>) -> PResult<T> {
        Err(JsonPathError { column: self.src[..pos].chars().count() + 1, message: message.into() })
    }

    fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        self.err_at(self.pos, message)
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("`{c}`"),
            None => "the end".into(),
        }
    }

    fn expect(&mut self, c: char, context: &str) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.err(format!("expected `{c}` {context}, found {}", self.found()))
        }
    }

    fn finish(&self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(c) => self.err(format!("unexpected `{c}`")),
        }
    }

    fn path(&mut self) -> PResult<JsonPath> {
        if !self.eat('$') {
            return self.err(format!("a path starts with `$` or `$$`, not {}", self.found()));
        }
        let root = if self.eat('$') { Root::Context } else { Root::Input };
        let segments = self.segments()?;
        Ok(JsonPath { root, segments })
    }

    fn segments(&mut self) -> PResult<Vec<Segment>> {
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.bump();
                    if self.eat('.') {
                        let inner = match self.peek() {
                            Some('[') => {
                                self.bump();
                                self.bracket()?
                            }
                            Some('*') => {
                                self.bump();
                                Segment::Wildcard
                            }
                            Some('.') => return self.err("`...` is not a path step"),
                            _ => Segment::Child(self.dot_name("`..`")?),
                        };
                        segments.push(Segment::Descendant(Box::new(inner)));
                    } else if self.eat('*') {
                        segments.push(Segment::Wildcard);
                    } else {
                        segments.push(Segment::Child(self.dot_name("`.`")?));
                    }
                }
                Some('[') => {
                    self.bump();
                    segments.push(self.bracket()?);
                }
                _ => return Ok(segments),
            }
        }
    }

    fn dot_name(&mut self, after: &str) -> PResult<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !ends_name(c)) {
            self.bump();
        }
        if self.pos == start {
            return self.err(format!("expected a field name after {after}, found {}", self.found()));
        }
        Ok(self.src[start..self.pos].to_string())
    }

    /// After `[`: everything up to and including `]`.
    fn bracket(&mut self) -> PResult<Segment> {
        self.skip_ws();
        let seg = match self.peek() {
            Some('?') => {
                self.bump();
                self.skip_ws();
                self.expect('(', "after `[?`")?;
                let f = self.filter_or()?;
                self.skip_ws();
                self.expect(')', "to close the filter")?;
                Segment::Filter(f)
            }
            Some('*') => {
                self.bump();
                Segment::Wildcard
            }
            Some('\'' | '"') => {
                let first = self.quoted_name()?;
                self.skip_ws();
                if self.peek() == Some(',') {
                    let mut members = vec![UnionMember::Name(first)];
                    while self.eat(',') {
                        self.skip_ws();
                        if !matches!(self.peek(), Some('\'' | '"')) {
                            return self.err(format!(
                                "a union lists quoted names or indices, not both; found {}",
                                self.found()
                            ));
                        }
                        members.push(UnionMember::Name(self.quoted_name()?));
                        self.skip_ws();
                    }
                    Segment::Union(members)
                } else {
                    Segment::Child(first)
                }
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.index_or_slice()?,
            _ => {
                return self.err(format!(
                    "expected a quoted name, an index, `*`, a slice or a filter after `[`, found {}",
                    self.found()
                ))
            }
        };
        self.skip_ws();
        self.expect(']', "to close `[`")?;
        Ok(seg)
    }

    fn index_or_slice(&mut self) -> PResult<Segment> {
        let first = self.opt_int()?;
        self.skip_ws();
        if self.peek() == Some(':') {
            self.bump();
            self.skip_ws();
            let end = self.opt_int()?;
            self.skip_ws();
            let step = if self.eat(':') {
                self.skip_ws();
                let step = self.opt_int()?;
                if step == Some(0) {
                    return self.err("a slice step cannot be 0");
                }
                step
            } else {
                None
            };
            return Ok(Segment::Slice { start: first, end, step });
        }
        let Some(first) = first else {
            return self.err(format!("expected an index, found {}", self.found()));
        };
        if self.peek() == Some(',') {
            let mut members = vec![UnionMember::Index(first)];
            while self.eat(',') {
                self.skip_ws();
                match self.opt_int()? {
                    Some(i) => members.push(UnionMember::Index(i)),
                    None => {
                        return self
                            .err(format!("a union lists quoted names or indices, not both; found {}", self.found()))
                    }
                }
                self.skip_ws();
            }
            return Ok(Segment::Union(members));
        }
        Ok(Segment::Index(first))
    }

    fn opt_int(&mut self) -> PResult<Option<i64>> {
        let start = self.pos;
        self.eat('-');
        let digits = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == digits {
            if self.pos != start {
                return self.err("expected digits after `-`");
            }
            return Ok(None);
        }
        match self.src[start..self.pos].parse::<i64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => self.err_at(start, "index out of range"),
        }
    }

    /// A `'…'` or `"…"` name with `\'`, `\"` and `\\` escapes.
    fn quoted_name(&mut self) -> PResult<String> {
        let start = self.pos;
        let quote = self.bump().expect("caller saw a quote");
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return self.err_at(start, "unterminated string"),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '"' | '\\')) => out.push(c),
                    Some(c) => return self.err_at(self.pos - c.len_utf8() - 1, format!("unknown escape `\\{c}`")),
                    None => return self.err_at(start, "unterminated string"),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn filter_or(&mut self) -> PResult<Filter> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if !self.eat_str("||") {
                return Ok(left);
            }
            let right = self.filter_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn filter_and(&mut self) -> PResult<Filter> {
        let mut left = self.filter_atom()?;
        loop {
            self.skip_ws();
            if !self.eat_str("&&") {
                return Ok(left);
            }
            let right = self.filter_atom()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    fn filter_atom(&mut self) -> PResult<Filter> {
        self.skip_ws();
        if self.eat('(') {
            let f = self.filter_or()?;
            self.skip_ws();
            self.expect(')', "to close `(`")?;
            return Ok(f);
        }
        if !self.eat('@') {
            return self.err(format!("a filter tests `@`, the current element; found {}", self.found()));
        }
        let path = self.segments()?;
        self.skip_ws();
        let op = if self.eat_str("==") {
            FilterOp::Eq
        } else if self.eat_str("!=") {
            FilterOp::Ne
        } else if self.eat_str("<=") {
            FilterOp::Le
        } else if self.eat_str(">=") {
            FilterOp::Ge
        } else if self.eat('<') {
            FilterOp::Lt
        } else if self.eat('>') {
            FilterOp::Gt
        } else if self.peek() == Some('=') {
            return self.err("use `==` to compare");
        } else {
            return Ok(Filter::Exists(path));
        };
        self.skip_ws();
        let value = self.literal()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn literal(&mut self) -> PResult<Literal> {
        match self.peek() {
            Some('\'' | '"') => Ok(Literal::String(self.quoted_name()?)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Literal::Number(self.number()?)),
            _ => {
                if self.eat_word("true") {
                    Ok(Literal::Bool(true))
                } else if self.eat_word("false") {
                    Ok(Literal::Bool(false))
                } else if self.eat_word("null") {
                    Ok(Literal::Null)
                } else {
                    self.err(format!("expected a string, number, boolean or null, found {}", self.found()))
                }
            }
        }
    }

    /// `word` not followed by a name character.
    fn eat_word(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(word) && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// A JSON number.
    fn number(&mut self) -> PResult<Number> {
        let start = self.pos;
        self.eat('-');
        let int = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == int {
            return self.err("expected digits");
        }
        if self.eat('.') {
            let frac = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if self.pos == frac {
                return self.err("expected digits after `.`");
            }
        }
        if self.eat('e') || self.eat('E') {
            if !self.eat('+') {
                self.eat('-');
            }
            let exp = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if self.pos == exp {
                return self.err("expected digits in the exponent");
            }
        }
        let text = &self.src[start..self.pos];
        match text.parse::<Number>() {
            Ok(n) => Ok(n),
            Err(_) => self.err_at(start, format!("`{text}` is not a valid number")),
        }
    }

    fn intrinsic(&mut self) -> PResult<Intrinsic> {
        let start = self.pos;
        if !self.eat_str("States.") {
            return self.err("an intrinsic function call starts with `States.`");
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.bump();
        }
        let name = &self.src[start..self.pos];
        let Some(function) = IntrinsicFunction::from_name(name) else {
            let known: Vec<&str> = IntrinsicFunction::ALL.iter().map(|f| f.name()).collect();
            return self.err_at(start, format!("unknown intrinsic function `{name}`; known: {}", known.join(", ")));
        };
        self.skip_ws();
        self.expect('(', &format!("after `{name}`"))?;
        let mut args = Vec::new();
        self.skip_ws();
        if !self.eat(')') {
            loop {
                self.skip_ws();
                args.push(self.intrinsic_arg()?);
                self.skip_ws();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return self
                        .err(format!("expected `,` or `)` in the arguments of `{name}`, found {}", self.found()));
                }
            }
        }
        let (min, max) = function.arity();
        let n = args.len();
        if n < min || max.is_some_and(|m| n > m) {
            let expected = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            let s = if expected.ends_with(" 1") || expected == "1" { "" } else { "s" };
            return self.err_at(start, format!("`{name}` takes {expected} argument{s}, not {n}"));
        }
        Ok(Intrinsic { function, args })
    }

    fn intrinsic_arg(&mut self) -> PResult<IntrinsicArg> {
        match self.peek() {
            Some('\'') => self.intrinsic_string(),
            Some('$') => Ok(IntrinsicArg::Path(self.path()?)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(IntrinsicArg::Number(self.number()?)),
            _ if self.rest().starts_with("States.") => Ok(IntrinsicArg::Intrinsic(self.intrinsic()?)),
            _ => {
                if self.eat_word("true") {
                    Ok(IntrinsicArg::Bool(true))
                } else if self.eat_word("false") {
                    Ok(IntrinsicArg::Bool(false))
                } else if self.eat_word("null") {
                    Ok(IntrinsicArg::Null)
                } else {
                    self.err(format!(
                        "expected a string, number, boolean, null, path or intrinsic call, found {}",
                        self.found()
                    ))
                }
            }
        }
    }

    /// `'…'` where `'`, `{`, `}` and `\` are escaped with `\`.
    fn intrinsic_string(&mut self) -> PResult<IntrinsicArg> {
        let start = self.pos;
        self.bump();
        let body = self.pos;
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return self.err_at(start, "unterminated string"),
                Some('\'') => break,
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => value.push(c),
                    Some(c) => {
                        return self.err_at(
                            self.pos - c.len_utf8() - 1,
                            format!("unknown escape `\\{c}`; only \\', \\{{, \\}} and \\\\ are escapes"),
                        )
                    }
                    None => return self.err_at(start, "unterminated string"),
                },
                Some(c) => value.push(c),
            }
        }
        let raw = self.src[body..self.pos - 1].to_string();
        Ok(IntrinsicArg::String { raw, value })
    }
}

// ---------------------------------------------------------------------------
// Display: a normalized spelling that parses back to the same value.

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
        f.write_str(match self.root {
            Root::Input => "$",
            Root::Context => "$$",
        })?;
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

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.function.name())?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match a {
                IntrinsicArg::String { raw, .. } => write!(f, "'{raw}'")?,
                IntrinsicArg::Number(n) => write!(f, "{n}")?,
                IntrinsicArg::Bool(b) => write!(f, "{b}")?,
                IntrinsicArg::Null => f.write_str("null")?,
                IntrinsicArg::Path(p) => write!(f, "{p}")?,
                IntrinsicArg::Intrinsic(i) => write!(f, "{i}")?,
            }
        }
        f.write_str(")")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> JsonPath {
        JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn bad(text: &str) -> String {
        match JsonPath::parse(text) {
            Ok(p) => panic!("{text} parsed as {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn child(n: &str) -> Segment {
        Segment::Child(n.into())
    }

    #[test]
    fn parses_roots_and_simple_steps() {
        assert_eq!(ok("$"), JsonPath { root: Root::Input, segments: vec![] });
        assert_eq!(ok("$$"), JsonPath { root: Root::Context, segments: vec![] });
        assert_eq!(ok("$$.Map.Item.Value").segments, vec![child("Map"), child("Item"), child("Value")]);
        assert_eq!(
            ok("$.jobs[0]['run id'][\"x\"].a-b:c").segments,
            vec![child("jobs"), Segment::Index(0), child("run id"), child("x"), child("a-b:c")]
        );
        assert_eq!(ok("$.a[-1]").segments, vec![child("a"), Segment::Index(-1)]);
        assert_eq!(ok("$['it\\'s']").segments, vec![child("it's")]);
    }

    #[test]
    fn parses_wildcards_unions_slices_and_descent() {
        assert_eq!(ok("$.a.*").segments, vec![child("a"), Segment::Wildcard]);
        assert_eq!(ok("$.a[*]").segments, vec![child("a"), Segment::Wildcard]);
        assert_eq!(ok("$..name").segments, vec![Segment::Descendant(Box::new(child("name")))]);
        assert_eq!(ok("$..*").segments, vec![Segment::Descendant(Box::new(Segment::Wildcard))]);
        assert_eq!(ok("$..[0]").segments, vec![Segment::Descendant(Box::new(Segment::Index(0)))]);
        assert_eq!(
            ok("$['a', 'b']").segments,
            vec![Segment::Union(vec![UnionMember::Name("a".into()), UnionMember::Name("b".into())])]
        );
        assert_eq!(ok("$[0,2]").segments, vec![Segment::Union(vec![UnionMember::Index(0), UnionMember::Index(2)])]);
        assert_eq!(ok("$[1:3]").segments, vec![Segment::Slice { start: Some(1), end: Some(3), step: None }]);
        assert_eq!(ok("$[:-1]").segments, vec![Segment::Slice { start: None, end: Some(-1), step: None }]);
        assert_eq!(ok("$[::2]").segments, vec![Segment::Slice { start: None, end: None, step: Some(2) }]);
    }

    #[test]
    fn parses_filters() {
        let p = ok("$.jobs[?(@.status == 'READY')]");
        assert_eq!(
            p.segments[1],
            Segment::Filter(Filter::Compare {
                path: vec![child("status")],
                op: FilterOp::Eq,
                value: Literal::String("READY".into())
            })
        );
        for (text, op) in [
            ("==", FilterOp::Eq),
            ("!=", FilterOp::Ne),
            ("<", FilterOp::Lt),
            ("<=", FilterOp::Le),
            (">", FilterOp::Gt),
            (">=", FilterOp::Ge),
        ] {
            let p = ok(&format!("$[?(@.n{text}3)]"));
            assert!(matches!(&p.segments[0], Segment::Filter(Filter::Compare { op: o, .. }) if *o == op), "{text}");
        }
        assert!(matches!(
            ok("$[?(@.ok == true)]").segments[0],
            Segment::Filter(Filter::Compare { value: Literal::Bool(true), .. })
        ));
        assert!(matches!(
            ok("$[?(@.x != null)]").segments[0],
            Segment::Filter(Filter::Compare { value: Literal::Null, .. })
        ));
        assert!(matches!(
            ok("$[?(@.n > -1.5e2)]").segments[0],
            Segment::Filter(Filter::Compare { value: Literal::Number(_), .. })
        ));
        assert!(matches!(ok("$[?(@.tags)]").segments[0], Segment::Filter(Filter::Exists(_))));
        let p = ok("$[?(@.a == 1 && (@.b == 'x)]' || @.c))]");
        assert!(matches!(&p.segments[0], Segment::Filter(Filter::And(_, b)) if matches!(**b, Filter::Or(..))));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "$",
            "$$.Execution.Id",
            "$.a['b c'][0][*]..d..*[1:2][::3]['x','y'][0,1]",
            "$[?(@.a == 'it\\'s')]",
            "$[?((@.a < 1 && @.b) || @.c >= 2.5)]",
        ] {
            let p = ok(text);
            assert_eq!(ok(&p.to_string()), p, "{text} -> {p}");
        }
        assert_eq!(ok("$['plain'].*").to_string(), "$.plain[*]");
    }

    #[test]
    fn reference_paths() {
        assert!(ok("$").is_reference_path());
        assert!(ok("$.a['b'][3]").is_reference_path());
        for text in ["$.a[*]", "$.a.*", "$..a", "$[0:1]", "$[0,1]", "$[?(@.a)]"] {
            assert!(!ok(text).is_reference_path(), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_paths_with_a_reason() {
        assert!(bad("").contains("a path starts with `$`"), "{}", bad(""));
        assert!(bad("a.b").contains("a path starts with `$`"));
        assert!(bad("$.").contains("expected a field name after `.`"));
        assert!(bad("$.a.").contains("expected a field name after `.`, found the end (at character 5)"));
        assert!(bad("$...a").contains("`...` is not a path step"));
        assert!(bad("$.a[").contains("after `[`"));
        assert!(bad("$.a[0").contains("expected `]` to close `[`"));
        assert!(bad("$['a").contains("unterminated string"));
        assert!(bad("$['a\\n']").contains("unknown escape `\\n`"));
        assert!(bad("$[abc]").contains("expected a quoted name"));
        assert!(bad("$['a',0]").contains("not both"));
        assert!(bad("$[::0]").contains("step cannot be 0"));
        assert!(bad("$[?(@.a = 1)]").contains("use `==`"));
        assert!(bad("$[?(a == 1)]").contains("a filter tests `@`"));
        assert!(bad("$[?(@.a == )]").contains("expected a string, number"));
        assert!(bad("$[?(@.a == 1]").contains("expected `)` to close the filter"));
        assert!(bad("$.a b").contains("unexpected ` `"));
        assert!(bad("$x").contains("unexpected `x`"));
        assert!(bad("$[99999999999999999999]").contains("index out of range"));
    }

    fn call(text: &str) -> Intrinsic {
        Intrinsic::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn bad_call(text: &str) -> String {
        match PayloadValue::parse(text) {
            Ok(v) => panic!("{text} parsed as {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_intrinsics_with_nesting_and_escapes() {
        let c = call("States.Format('s3://{}/{}', $.bucket, States.ArrayGetItem($.keys[0,1], 0))");
        assert_eq!(c.function, IntrinsicFunction::Format);
        assert_eq!(c.args.len(), 3);
        assert_eq!(c.args[0], IntrinsicArg::String { raw: "s3://{}/{}".into(), value: "s3://{}/{}".into() });
        let IntrinsicArg::Intrinsic(inner) = &c.args[2] else { panic!("{:?}", c.args[2]) };
        assert_eq!(inner.function, IntrinsicFunction::ArrayGetItem);
        assert_eq!(inner.args[1], IntrinsicArg::Number(0.into()));
        let paths: Vec<String> = c.paths().iter().map(|p| p.to_string()).collect();
        assert_eq!(paths, ["$.bucket", "$.keys[0,1]"]);

        let c = call(r"States.Format('it\'s \{literal\} {} \\', $$.Execution.Id)");
        assert_eq!(
            c.args[0],
            IntrinsicArg::String { raw: r"it\'s \{literal\} {} \\".into(), value: r"it's {literal} {} \".into() }
        );
        assert_eq!(call("States.UUID()").args, vec![]);
        assert_eq!(
            call("States.Array(1, -2.5, true, false, null, 'a,b)')").args,
            vec![
                IntrinsicArg::Number(1.into()),
                IntrinsicArg::Number("-2.5".parse().unwrap()),
                IntrinsicArg::Bool(true),
                IntrinsicArg::Bool(false),
                IntrinsicArg::Null,
                IntrinsicArg::String { raw: "a,b)".into(), value: "a,b)".into() },
            ]
        );
        assert_eq!(call("States.MathRandom($.lo,$.hi,7)").args.len(), 3);
        assert!(matches!(PayloadValue::parse("States.JsonToString($.a)"), Ok(PayloadValue::Intrinsic(_))));
        assert!(matches!(PayloadValue::parse("$.a"), Ok(PayloadValue::Path(_))));
        let text = "States.Format('{}-{}', $.a[?(@.x == ')')], States.UUID())";
        assert_eq!(call(text).to_string(), text);
    }

    #[test]
    fn rejects_malformed_intrinsics_with_a_reason() {
        assert!(bad_call("States.Nope($.a)").contains("unknown intrinsic function `States.Nope`; known: States.Format"));
        assert!(bad_call("States.Format").contains("expected `(` after `States.Format`"));
        assert!(bad_call("States.Format('a'").contains("expected `,` or `)`"));
        assert!(bad_call("States.Format('a)").contains("unterminated string"));
        assert!(bad_call(r"States.Format('\n')").contains("unknown escape `\\n`"));
        assert!(bad_call("States.ArrayRange(1, 2)").contains("`States.ArrayRange` takes 3 arguments, not 2"));
        assert!(bad_call("States.UUID(1)").contains("takes 0 arguments, not 1"));
        assert!(bad_call("States.StringToJson($.a, $.b)").contains("takes 1 argument, not 2"));
        assert!(bad_call("States.Format()").contains("takes at least 1 argument, not 0"));
        assert!(bad_call("States.Format('{}', $.a..)").contains("expected a field name after `..`"));
        assert!(bad_call("States.Format('{}', x)").contains("expected a string, number, boolean, null, path"));
        assert!(bad_call("States.Format('{}', $.a) x").contains("unexpected ` `"));
        assert!(bad_call("States.Array(States.Bad())").contains("unknown intrinsic function `States.Bad`"));
    }
}
