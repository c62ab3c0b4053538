//! The cursor over a path's text and the JSONPath grammar; the intrinsic
//! call grammar (in `intrinsic`) uses the same cursor.

use serde_json::Number;

use super::{Filter, FilterOp, JsonPath, JsonPathError, Literal, Root, Segment, UnionMember};

/// Characters that end a dot-notation name.
pub(super) fn ends_name(c: char) -> bool {
    c.is_whitespace() || ".[]()'\",*?@=<>!&|".contains(c)
}

pub(super) struct Cursor<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
}

pub(super) type PResult<T> = Result<T, JsonPathError>;

impl<'a> Cursor<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    pub(super) fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    pub(super) fn err_at<T>(&self, pos: usize, message: impl Into<String>) -> PResult<T> {
        Err(JsonPathError { column: self.src[..pos].chars().count() + 1, message: message.into() })
    }

    pub(super) fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        self.err_at(self.pos, message)
    }

    pub(super) fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("`{c}`"),
            None => "the end".into(),
        }
    }

    pub(super) fn expect(&mut self, c: char, context: &str) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.err(format!("expected `{c}` {context}, found {}", self.found()))
        }
    }

    pub(super) fn finish(&self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(c) => self.err(format!("unexpected `{c}`")),
        }
    }

    pub(super) fn path(&mut self) -> PResult<JsonPath> {
        if !self.eat('$') {
            return self.err(format!("a path starts with `$` or `$$`, not {}", self.found()));
        }
        let root = if self.eat('$') {
            Root::Context
        } else if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
            let mut name = String::new();
            while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                name.push(c);
                self.bump();
            }
            Root::Variable(name)
        } else {
            Root::Input
        };
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
    pub(super) fn eat_word(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(word) && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// A JSON number.
    pub(super) fn number(&mut self) -> PResult<Number> {
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
}
