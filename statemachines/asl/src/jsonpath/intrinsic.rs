//! The intrinsic functions (`States.Format(...)`): the table of names and
//! arities, the call types, and the call grammar on the shared `Cursor`.

use std::fmt;

use serde_json::Number;

use super::parser::{Cursor, PResult};
use super::{JsonPath, JsonPathError};

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

impl Cursor<'_> {
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
