//! The states, retriers and catchers of an ASL document.
//!
//! Field names serialize exactly as the specification spells them. Optional
//! fields are omitted when unset, so a generated document contains only what a
//! machine uses. Path fields that accept `null` (`InputPath`, `OutputPath`,
//! `ResultPath`) are `Option<Option<String>>`: `None` = absent (`$`),
//! `Some(None)` = `null`, `Some(Some(p))` = a path.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::choice::ChoiceRule;
use crate::serde_util::{deserialize_nullable_path, serialize_rate};

/// The query language of a machine or a state (`QueryLanguage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueryLanguage {
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}

impl QueryLanguage {
    pub fn name(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }
}

/// An integer field that JSONata states may also give as an expression
/// (`TimeoutSeconds`, `HeartbeatSeconds`, Wait `Seconds`, `MaxConcurrency`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum IntegerField {
    Literal(u64),
    /// `"{% … %}"`, as written.
    Expression(String),
}

impl IntegerField {
    /// The literal value, if the field is one.
    pub fn literal(&self) -> Option<u64> {
        match self {
            IntegerField::Literal(n) => Some(*n),
            IntegerField::Expression(_) => None,
        }
    }
}

impl From<u64> for IntegerField {
    fn from(n: u64) -> Self {
        IntegerField::Literal(n)
    }
}

impl<'de> Deserialize<'de> for IntegerField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(IntegerField::Literal)
                .ok_or_else(|| D::Error::custom(format!("expected a non-negative integer, not {n}"))),
            Value::String(s) => Ok(IntegerField::Expression(s)),
            other => Err(D::Error::custom(format!(
                "expected a non-negative integer or a JSONata expression string, not {other}"
            ))),
        }
    }
}

/// A tri-state ASL path field; see the module docs.
pub type NullablePath = Option<Option<String>>;

/// The states of a machine or a branch, in definition order.
pub type States = IndexMap<String, State>;

/// A whole state machine definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateMachine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    pub start_at: String,
    pub states: States,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

/// A branch of a Parallel state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Branch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub start_at: String,
    pub states: States,
}

/// The iteration of a Map state (`ItemProcessor`; the legacy `Iterator` field
/// parses into the same type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemProcessor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_config: Option<ProcessorConfig>,
    pub start_at: String,
    pub states: States,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProcessorConfig {
    /// `INLINE` or `DISTRIBUTED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `STANDARD` or `EXPRESS` (distributed mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<String>,
}

/// One state. The `Type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
pub enum State {
    Task(Task),
    Pass(Pass),
    Choice(Choice),
    Wait(Wait),
    Succeed(Succeed),
    Fail(Fail),
    Parallel(Parallel),
    Map(MapState),
}

/// How Step Functions retries a failed state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "serialize_rate")]
    pub backoff_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<JitterStrategy>,
}

impl Retrier {
    /// A retrier for `errors` with ASL's defaults left unset.
    pub fn on<I, S>(errors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Retrier {
            error_equals: errors.into_iter().map(Into::into).collect(),
            comment: None,
            interval_seconds: None,
            max_attempts: None,
            backoff_rate: None,
            max_delay_seconds: None,
            jitter_strategy: None,
        }
    }

    pub fn interval_seconds(mut self, s: u64) -> Self {
        self.interval_seconds = Some(s);
        self
    }
    pub fn max_attempts(mut self, n: u64) -> Self {
        self.max_attempts = Some(n);
        self
    }
    pub fn backoff_rate(mut self, r: f64) -> Self {
        self.backoff_rate = Some(r);
        self
    }
    pub fn max_delay_seconds(mut self, s: u64) -> Self {
        self.max_delay_seconds = Some(s);
        self
    }
    pub fn jitter(mut self, j: JitterStrategy) -> Self {
        self.jitter_strategy = Some(j);
        self
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    Full,
    None,
}

/// Where a caught error goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub result_path: NullablePath,
    /// JSONata: the state's output when this catcher takes over (default:
    /// `$states.errorOutput`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Variables set when this catcher takes over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
}

impl Catcher {
    pub fn on<I, S>(errors: I, next: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Catcher {
            error_equals: errors.into_iter().map(Into::into).collect(),
            next: next.into(),
            comment: None,
            result_path: None,
            output: None,
            assign: None,
        }
    }

    pub fn result_path(mut self, p: impl Into<String>) -> Self {
        self.result_path = Some(Some(p.into()));
        self
    }
}

/// A Task state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Task {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the input of the task or branches (replaces `Parameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables this state sets (both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub result_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<IntegerField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<IntegerField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Pass state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Pass {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables this state sets (both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub result_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Choice state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Choice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables this state sets (both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
    pub choices: Vec<ChoiceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A Wait state: exactly one of the four wait fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Wait {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables this state sets (both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<IntegerField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Succeed state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Succeed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
}

/// A Fail state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Fail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
}

/// A Parallel state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Parallel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the input of the task or branches (replaces `Parameters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables this state sets (both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
    pub branches: Vec<Branch>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub result_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Map state (inline mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MapState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// JSONata: the state's output (default: the result, or the input where
    /// there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Workflow variables this state sets (both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// JSONata: the items (an array, or an expression giving one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_selector: Option<Value>,
    /// The legacy name of `ItemSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<IntegerField>,
    #[serde(alias = "Iterator")]
    pub item_processor: ItemProcessor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub result_path: NullablePath,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "deserialize_nullable_path")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

impl StateMachine {
    /// Parses an ASL JSON document.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The document as pretty-printed JSON with a trailing newline, the form
    /// committed to the repository.
    pub fn to_pretty_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a state machine serializes");
        s.push('\n');
        s
    }
}

impl State {
    /// The `Type` of the state as ASL spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            State::Task(_) => "Task",
            State::Pass(_) => "Pass",
            State::Choice(_) => "Choice",
            State::Wait(_) => "Wait",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
            State::Parallel(_) => "Parallel",
            State::Map(_) => "Map",
        }
    }

    pub fn comment(&self) -> Option<&str> {
        match self {
            State::Task(s) => s.comment.as_deref(),
            State::Pass(s) => s.comment.as_deref(),
            State::Choice(s) => s.comment.as_deref(),
            State::Wait(s) => s.comment.as_deref(),
            State::Succeed(s) => s.comment.as_deref(),
            State::Fail(s) => s.comment.as_deref(),
            State::Parallel(s) => s.comment.as_deref(),
            State::Map(s) => s.comment.as_deref(),
        }
    }

    /// The state's own `QueryLanguage`, if it sets one.
    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            State::Task(s) => s.query_language,
            State::Pass(s) => s.query_language,
            State::Choice(s) => s.query_language,
            State::Wait(s) => s.query_language,
            State::Succeed(s) => s.query_language,
            State::Fail(s) => s.query_language,
            State::Parallel(s) => s.query_language,
            State::Map(s) => s.query_language,
        }
    }

    /// The language the state is evaluated in: its own, else the machine's,
    /// else JSONPath.
    pub fn language(&self, machine: Option<QueryLanguage>) -> QueryLanguage {
        self.query_language().or(machine).unwrap_or(QueryLanguage::JsonPath)
    }

    /// `Assign` (every state type but Succeed and Fail).
    pub fn assign(&self) -> Option<&Value> {
        match self {
            State::Task(s) => s.assign.as_ref(),
            State::Pass(s) => s.assign.as_ref(),
            State::Choice(s) => s.assign.as_ref(),
            State::Wait(s) => s.assign.as_ref(),
            State::Parallel(s) => s.assign.as_ref(),
            State::Map(s) => s.assign.as_ref(),
            State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// JSONata `Output` (every state type but Fail).
    pub fn output(&self) -> Option<&Value> {
        match self {
            State::Task(s) => s.output.as_ref(),
            State::Pass(s) => s.output.as_ref(),
            State::Choice(s) => s.output.as_ref(),
            State::Wait(s) => s.output.as_ref(),
            State::Succeed(s) => s.output.as_ref(),
            State::Parallel(s) => s.output.as_ref(),
            State::Map(s) => s.output.as_ref(),
            State::Fail(_) => None,
        }
    }

    /// `Next` of states that have one (not Choice, Succeed, Fail).
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Task(s) => s.next.as_deref(),
            State::Pass(s) => s.next.as_deref(),
            State::Wait(s) => s.next.as_deref(),
            State::Parallel(s) => s.next.as_deref(),
            State::Map(s) => s.next.as_deref(),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// `End` of states that have one.
    pub fn end(&self) -> Option<bool> {
        match self {
            State::Task(s) => s.end,
            State::Pass(s) => s.end,
            State::Wait(s) => s.end,
            State::Parallel(s) => s.end,
            State::Map(s) => s.end,
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// Whether an execution can stop in this state.
    pub fn is_terminal(&self) -> bool {
        matches!(self, State::Succeed(_) | State::Fail(_)) || self.end() == Some(true)
    }

    pub fn retriers(&self) -> &[Retrier] {
        match self {
            State::Task(s) => &s.retry,
            State::Parallel(s) => &s.retry,
            State::Map(s) => &s.retry,
            _ => &[],
        }
    }

    pub fn catchers(&self) -> &[Catcher] {
        match self {
            State::Task(s) => &s.catch,
            State::Parallel(s) => &s.catch,
            State::Map(s) => &s.catch,
            _ => &[],
        }
    }

    /// Every state this one can move to, in a stable order: `Next`, Choice
    /// targets and `Default`, then Catch targets.
    pub fn transitions(&self) -> Vec<Transition<'_>> {
        let mut out = Vec::new();
        if let Some(n) = self.next() {
            out.push(Transition { target: n, kind: TransitionKind::Next });
        }
        if let State::Choice(c) = self {
            for rule in &c.choices {
                out.push(Transition { target: &rule.next, kind: TransitionKind::Choice });
            }
            if let Some(d) = &c.default {
                out.push(Transition { target: d, kind: TransitionKind::Default });
            }
        }
        for c in self.catchers() {
            out.push(Transition { target: &c.next, kind: TransitionKind::Catch });
        }
        out
    }

    /// The nested graphs of Parallel branches and the Map item processor.
    pub fn nested(&self) -> Vec<(&str, &States)> {
        match self {
            State::Parallel(p) => p.branches.iter().map(|b| (b.start_at.as_str(), &b.states)).collect(),
            State::Map(m) => vec![(m.item_processor.start_at.as_str(), &m.item_processor.states)],
            _ => Vec::new(),
        }
    }
}

/// An edge of the state graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition<'a> {
    pub target: &'a str,
    pub kind: TransitionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    Next,
    Choice,
    Default,
    Catch,
}
