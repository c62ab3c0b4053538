//! The structural rules Step Functions enforces when a machine is created,
//! checked before anything is written.
//!
//! [`validate`] collects every violation, not only the first; each
//! [`ValidationError`] names the state (by its full scope path,
//! `RunReadyJobs/RunStep`) and the field (`Retry[1].ErrorEquals`,
//! `Parameters.Payload.$`). [`validate_json`] also catches what a typed parse
//! cannot see: duplicate keys, which JSON parsers silently merge.
//!
//! The rules:
//! 1. state names are unique across the whole machine (branches included)
//!    and at most 80 characters long;
//! 2. `StartAt`, `Next`, Choice `Next`, `Default` and Catch `Next` name a state
//!    of their own scope (the machine, a Parallel branch or a Map item
//!    processor); a transition cannot leave or enter a branch;
//! 3. each scope has a terminal state (Succeed, Fail or `End: true`);
//! 4. every state is reachable from its scope's `StartAt`;
//! 5. a Task, Pass, Wait, Parallel or Map has exactly one of `Next` and
//!    `End: true`; a Choice has at least one rule;
//! 6. retriers, catchers, timeouts, Wait, Fail and Map fields are well formed
//!    and in range;
//! 7. every path is valid JSONPath; `ResultPath`, `ItemsPath` and the
//!    `…SecondsPath`/`TimestampPath` fields are reference paths; `.$` fields
//!    hold a path or an intrinsic function call;
//! 8. Choice operands match their operator, timestamps are RFC 3339 and
//!    `StringMatches` patterns escape only `*` and `\`;
//! 9. each state uses only its query language's fields (a JSONPath field in
//!    a JSONata state is an error, and the reverse), a state cannot go back to
//!    JSONPath under a JSONata machine, and every `{% … %}` expression parses
//!    (the error names the column);
//! 10. `Assign` names are valid and not the reserved `states`; every `$name`
//!     a state reads is assigned on some path from `StartAt` before it, and a
//!     variable assigned inside a Map iteration or a Parallel branch is not
//!     read outside it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::choice::{Comparison, ComparisonOp, Condition, Operand, OperandKind};
use crate::jsonpath::{is_intrinsic, JsonPath, PayloadValue};
use crate::model::*;

mod language;
mod variables;

pub(crate) use language::expression_fields;
pub use variables::{check_variable_name, MAX_VARIABLE_NAME_CHARS};

/// The longest state name Step Functions accepts.
pub const MAX_STATE_NAME_CHARS: usize = 80;
/// The upper bound of `TimeoutSeconds`, `HeartbeatSeconds`, `IntervalSeconds`,
/// `MaxAttempts` and Wait `Seconds`.
pub const MAX_SECONDS: u64 = 99_999_999;
/// The upper bound of a retrier's `MaxDelaySeconds` (366 days).
pub const MAX_DELAY_SECONDS: u64 = 31_622_400;

/// One rule a machine breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The full scope path of the state (`RunReadyJobs/RunStep`); `None` for
    /// the machine's own fields and for errors about the whole document.
    pub state: Option<String>,
    /// The field, as ASL spells it (`Next`, `Retry[1].ErrorEquals`,
    /// `Parameters.Payload.$`); empty when the error is about the state
    /// itself (its name, its reachability) or the whole document.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.state, self.field.is_empty()) {
            (Some(s), false) => write!(f, "state \"{s}\", field \"{}\": {}", self.field, self.message),
            (Some(s), true) => write!(f, "state \"{s}\": {}", self.message),
            (None, false) => write!(f, "field \"{}\": {}", self.field, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Checks every rule; `Err` holds all the violations, in document order
/// within each kind of check.
pub fn validate(machine: &StateMachine) -> Result<(), Vec<ValidationError>> {
    let mut c = Checker::new(machine);
    c.check_machine(machine);
    c.check_names();
    for scope in 0..c.scopes.len() {
        c.check_scope(scope);
    }
    for state in 0..c.states.len() {
        c.check_state(state);
        c.check_language(state);
        c.check_assign(state);
    }
    c.check_variable_reads();
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(c.errors)
    }
}

/// Parses an ASL document and validates it. Unlike [`StateMachine::from_json`],
/// a key that appears twice in one object (two states of the same name, most
/// dangerously) is an error rather than silently merged.
pub fn validate_json(text: &str) -> Result<StateMachine, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let mut path = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let scanned = KeyScan { path: &mut path, errors: &mut errors }.deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = scanned {
        return Err(vec![document_error(&e)]);
    }
    match StateMachine::from_json(text) {
        Err(e) => {
            errors.push(document_error(&e));
            Err(errors)
        }
        Ok(machine) => {
            if let Err(more) = validate(&machine) {
                errors.extend(more);
            }
            if errors.is_empty() {
                Ok(machine)
            } else {
                Err(errors)
            }
        }
    }
}

fn document_error(e: &serde_json::Error) -> ValidationError {
    ValidationError { state: None, field: String::new(), message: format!("not a valid ASL document: {e}") }
}

// ---------------------------------------------------------------------------
// The machine as scopes and states

/// The machine, a Parallel branch or a Map item processor.
struct Scope<'a> {
    /// The Parallel or Map state that holds it; `None` for the machine.
    owner: Option<usize>,
    parent: Option<usize>,
    start_at: &'a str,
    states: &'a States,
    /// The prefix of the scope's own fields in the owner: `Branches[0].`.
    field_prefix: String,
}

struct StateRef<'a> {
    path: String,
    name: &'a str,
    state: &'a State,
    scope: usize,
}

struct Checker<'a> {
    scopes: Vec<Scope<'a>>,
    states: Vec<StateRef<'a>>,
    /// Name -> every state of that name, in document order.
    by_name: HashMap<&'a str, Vec<usize>>,
    errors: Vec<ValidationError>,
    /// The machine's `QueryLanguage`.
    language: Option<QueryLanguage>,
}

impl<'a> Checker<'a> {
    fn new(machine: &'a StateMachine) -> Self {
        let mut c = Checker {
            scopes: Vec::new(),
            states: Vec::new(),
            by_name: HashMap::new(),
            errors: Vec::new(),
            language: machine.query_language,
        };
        c.add_scope(None, None, &machine.start_at, &machine.states, String::new());
        c
    }

    fn add_scope(
        &mut self,
        parent: Option<usize>,
        owner: Option<usize>,
        start_at: &'a str,
        states: &'a States,
        field_prefix: String,
    ) {
        let scope = self.scopes.len();
        self.scopes.push(Scope { owner, parent, start_at, states, field_prefix });
        let prefix = owner.map(|o| format!("{}/", self.states[o].path)).unwrap_or_default();
        for (name, state) in states {
            let index = self.states.len();
            self.states.push(StateRef { path: format!("{prefix}{name}"), name, state, scope });
            self.by_name.entry(name).or_default().push(index);
            match state {
                State::Parallel(p) => {
                    for (i, b) in p.branches.iter().enumerate() {
                        self.add_scope(Some(scope), Some(index), &b.start_at, &b.states, format!("Branches[{i}]."));
                    }
                }
                State::Map(m) => {
                    let ip = &m.item_processor;
                    self.add_scope(Some(scope), Some(index), &ip.start_at, &ip.states, "ItemProcessor.".into());
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, state: Option<usize>, field: impl Into<String>, message: impl Into<String>) {
        let state = state.map(|s| self.states[s].path.clone());
        self.errors.push(ValidationError { state, field: field.into(), message: message.into() });
    }

    fn describe(&self, state: usize) -> String {
        let s = &self.states[state];
        format!("{} \"{}\"", s.state.type_name(), s.path)
    }

    fn is_ancestor(&self, ancestor: usize, mut scope: usize) -> bool {
        while let Some(parent) = self.scopes[scope].parent {
            if parent == ancestor {
                return true;
            }
            scope = parent;
        }
        false
    }

    // -- rule 1 -------------------------------------------------------------

    fn check_names(&mut self) {
        for i in 0..self.states.len() {
            let name = self.states[i].name;
            if name.is_empty() {
                self.push(Some(i), "", "a state name cannot be empty");
            }
            let chars = name.chars().count();
            if chars > MAX_STATE_NAME_CHARS {
                self.push(
                    Some(i),
                    "",
                    format!("the state name is {chars} characters long; at most {MAX_STATE_NAME_CHARS} are allowed"),
                );
            }
            let first = self.by_name[name][0];
            if first != i {
                let other = self.states[first].path.clone();
                self.push(
                    Some(i),
                    "",
                    format!(
                        "the state name \"{name}\" is also used by \"{other}\"; \
                         names are unique across the machine, branches included"
                    ),
                );
            }
        }
    }

    // -- rules 2 to 4, per scope ---------------------------------------------

    fn check_scope(&mut self, scope: usize) {
        let Scope { owner, start_at, states, ref field_prefix, .. } = self.scopes[scope];
        let prefix = field_prefix.clone();
        let start_ok = self.check_target(scope, owner, format!("{prefix}StartAt"), start_at);
        if states.is_empty() {
            self.push(owner, format!("{prefix}States"), "there are no states");
            return;
        }
        if !states.values().any(State::is_terminal) {
            self.push(
                owner,
                format!("{prefix}States"),
                "there is no terminal state: a Succeed or Fail state, or a state with `End: true`",
            );
        }
        if !start_ok {
            return;
        }
        // Reachability within the scope; edges that leave it are reported
        // by `check_transitions`.
        let mut seen: HashSet<&str> = HashSet::from([start_at]);
        let mut queue = VecDeque::from([start_at]);
        while let Some(name) = queue.pop_front() {
            for t in states[name].transitions() {
                if states.contains_key(t.target) && seen.insert(t.target) {
                    queue.push_back(t.target);
                }
            }
        }
        let unreachable: Vec<usize> = (0..self.states.len())
            .filter(|&i| self.states[i].scope == scope && !seen.contains(self.states[i].name))
            .collect();
        for i in unreachable {
            self.push(Some(i), "", format!("the state is not reachable from `StartAt` \"{start_at}\""));
        }
    }

    /// Checks that `target` names a state of `scope`; the error goes to
    /// `state` (the state holding the field, or the scope owner for
    /// `StartAt`).
    fn check_target(&mut self, scope: usize, state: Option<usize>, field: String, target: &str) -> bool {
        if self.scopes[scope].states.contains_key(target) {
            return true;
        }
        let key = field.rsplit('.').next().unwrap_or(&field).to_string();
        let rule = "a transition stays within its scope (the machine, a Parallel branch or a Map item processor)";
        let message = match self.by_name.get(target).map(|v| v[0]) {
            None => format!("`{key}` \"{target}\" does not name any state"),
            Some(t) => {
                let target_scope = self.states[t].scope;
                if self.is_ancestor(scope, target_scope) {
                    let mut s = target_scope;
                    while self.scopes[s].parent != Some(scope) {
                        s = self.scopes[s].parent.expect("scope is an ancestor");
                    }
                    let owner = self.scopes[s].owner.expect("a nested scope has an owner");
                    format!("`{key}` \"{target}\" enters the branch of {}; {rule}", self.describe(owner))
                } else {
                    let owner = self.scopes[scope].owner.expect("the machine scope is everyone's ancestor");
                    format!("`{key}` \"{target}\" leaves the branch of {}; {rule}", self.describe(owner))
                }
            }
        };
        self.push(state, field, message);
        false
    }

    // -- per state -------------------------------------------------------------

    fn check_state(&mut self, i: usize) {
        let StateRef { state, scope, .. } = self.states[i];
        self.check_transitions(i, scope, state);
        self.check_next_end(i, state);
        self.check_retry_catch(i, state.retriers(), state.catchers());
        match state {
            State::Task(t) => {
                self.check_io(i, &t.input_path, &t.output_path, Some(&t.result_path));
                self.check_template(i, "Parameters", t.parameters.as_ref());
                self.check_template(i, "ResultSelector", t.result_selector.as_ref());
                self.check_template(i, "Credentials", t.credentials.as_ref());
                self.check_timeouts(i, t);
            }
            State::Pass(p) => {
                self.check_io(i, &p.input_path, &p.output_path, Some(&p.result_path));
                self.check_template(i, "Parameters", p.parameters.as_ref());
            }
            State::Choice(c) => {
                self.check_io(i, &c.input_path, &c.output_path, None);
                for (n, rule) in c.choices.iter().enumerate() {
                    self.check_condition(i, &format!("Choices[{n}]."), &rule.condition);
                }
            }
            State::Wait(w) => {
                self.check_io(i, &w.input_path, &w.output_path, None);
                self.check_wait(i, w);
            }
            State::Succeed(s) => self.check_io(i, &s.input_path, &s.output_path, None),
            State::Fail(f) => self.check_fail(i, f),
            State::Parallel(p) => {
                self.check_io(i, &p.input_path, &p.output_path, Some(&p.result_path));
                self.check_template(i, "Parameters", p.parameters.as_ref());
                self.check_template(i, "ResultSelector", p.result_selector.as_ref());
                if p.branches.is_empty() {
                    self.push(Some(i), "Branches", "a Parallel state needs at least one branch");
                }
            }
            State::Map(m) => {
                self.check_io(i, &m.input_path, &m.output_path, Some(&m.result_path));
                self.check_map(i, m);
            }
        }
    }

    fn check_transitions(&mut self, i: usize, scope: usize, state: &State) {
        if let Some(next) = state.next() {
            self.check_target(scope, Some(i), "Next".into(), next);
        }
        if let State::Choice(c) = state {
            for (n, rule) in c.choices.iter().enumerate() {
                self.check_target(scope, Some(i), format!("Choices[{n}].Next"), &rule.next);
            }
            if let Some(d) = &c.default {
                self.check_target(scope, Some(i), "Default".into(), d);
            }
        }
        for (n, catcher) in state.catchers().iter().enumerate() {
            self.check_target(scope, Some(i), format!("Catch[{n}].Next"), &catcher.next);
        }
    }

    // -- rule 5 ---------------------------------------------------------------

    fn check_next_end(&mut self, i: usize, state: &State) {
        match state {
            State::Choice(c) => {
                if c.choices.is_empty() {
                    self.push(Some(i), "Choices", "a Choice state needs at least one rule");
                }
            }
            State::Succeed(_) | State::Fail(_) => {}
            _ => match (state.next(), state.end() == Some(true)) {
                (Some(_), true) => self.push(Some(i), "End", "`Next` and `End: true` are exclusive"),
                (None, false) => {
                    self.push(Some(i), "Next", format!("a {} state needs `Next` or `End: true`", state.type_name()))
                }
                _ => {}
            },
        }
    }

    // -- rule 6 ---------------------------------------------------------------

    fn check_error_names(&mut self, i: usize, field: &str, names: &[String], last: bool, what: &str) {
        if names.is_empty() {
            self.push(Some(i), field, "`ErrorEquals` needs at least one error name");
        } else if names.iter().any(|n| n == "States.ALL") && (names.len() > 1 || !last) {
            self.push(Some(i), field, format!("States.ALL must be the only error name and in the last {what}"));
        }
    }

    fn check_range(&mut self, i: Option<usize>, field: &str, value: Option<u64>, min: u64, max: u64) {
        if let Some(v) = value {
            if v < min || v > max {
                self.push(i, field, format!("must be between {min} and {max}, not {v}"));
            }
        }
    }

    fn check_retry_catch(&mut self, i: usize, retry: &[Retrier], catch: &[Catcher]) {
        for (n, r) in retry.iter().enumerate() {
            let f = |name: &str| format!("Retry[{n}].{name}");
            self.check_error_names(i, &f("ErrorEquals"), &r.error_equals, n + 1 == retry.len(), "retrier");
            self.check_range(Some(i), &f("IntervalSeconds"), r.interval_seconds, 1, MAX_SECONDS);
            self.check_range(Some(i), &f("MaxAttempts"), r.max_attempts, 0, MAX_SECONDS);
            self.check_range(Some(i), &f("MaxDelaySeconds"), r.max_delay_seconds, 1, MAX_DELAY_SECONDS);
            if let Some(rate) = r.backoff_rate {
                if !(rate.is_finite() && rate >= 1.0) {
                    self.push(Some(i), f("BackoffRate"), format!("must be at least 1.0, not {rate}"));
                }
            }
        }
        for (n, c) in catch.iter().enumerate() {
            let field = format!("Catch[{n}].ErrorEquals");
            self.check_error_names(i, &field, &c.error_equals, n + 1 == catch.len(), "catcher");
            self.check_result_path(i, &format!("Catch[{n}].ResultPath"), &c.result_path);
        }
    }

    fn check_machine(&mut self, m: &StateMachine) {
        if let Some(v) = &m.version {
            if v != "1.0" {
                self.push(None, "Version", format!("the only ASL version is \"1.0\", not \"{v}\""));
            }
        }
        self.check_range(None, "TimeoutSeconds", m.timeout_seconds, 1, MAX_SECONDS);
    }

    fn check_timeouts(&mut self, i: usize, t: &Task) {
        let timeout = t.timeout_seconds.as_ref().and_then(IntegerField::literal);
        let heartbeat = t.heartbeat_seconds.as_ref().and_then(IntegerField::literal);
        self.check_range(Some(i), "TimeoutSeconds", timeout, 1, MAX_SECONDS);
        self.check_range(Some(i), "HeartbeatSeconds", heartbeat, 1, MAX_SECONDS);
        if let (Some(h), Some(t)) = (heartbeat, timeout) {
            if h >= t {
                self.push(Some(i), "HeartbeatSeconds", format!("must be smaller than `TimeoutSeconds` ({t}), not {h}"));
            }
        }
        for (value, path, name) in [
            (t.timeout_seconds.is_some(), &t.timeout_seconds_path, "TimeoutSeconds"),
            (t.heartbeat_seconds.is_some(), &t.heartbeat_seconds_path, "HeartbeatSeconds"),
        ] {
            if let Some(p) = path {
                let field = format!("{name}Path");
                if value {
                    self.push(Some(i), &field, format!("`{name}` and `{name}Path` are exclusive"));
                }
                self.check_reference_path(i, &field, p);
            }
        }
    }

    fn check_wait(&mut self, i: usize, w: &Wait) {
        let given: Vec<&str> = [
            (w.seconds.is_some(), "Seconds"),
            (w.timestamp.is_some(), "Timestamp"),
            (w.seconds_path.is_some(), "SecondsPath"),
            (w.timestamp_path.is_some(), "TimestampPath"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        match given.as_slice() {
            [] => self.push(
                Some(i),
                "Seconds",
                "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath and TimestampPath",
            ),
            [_] => {}
            [_, second, ..] => self.push(
                Some(i),
                *second,
                format!(
                    "a Wait state takes exactly one of Seconds, Timestamp, SecondsPath and TimestampPath, not {}",
                    given.join(" and ")
                ),
            ),
        }
        self.check_range(Some(i), "Seconds", w.seconds.as_ref().and_then(IntegerField::literal), 0, MAX_SECONDS);
        if let Some(ts) = w.timestamp.as_ref().filter(|t| crate::jsonata::expression(t).is_none()) {
            if let Err(why) = check_timestamp(ts) {
                self.push(Some(i), "Timestamp", why);
            }
        }
        if let Some(p) = &w.seconds_path {
            self.check_reference_path(i, "SecondsPath", p);
        }
        if let Some(p) = &w.timestamp_path {
            self.check_reference_path(i, "TimestampPath", p);
        }
    }

    fn check_fail(&mut self, i: usize, f: &Fail) {
        for (value, path, name) in [(&f.error, &f.error_path, "Error"), (&f.cause, &f.cause_path, "Cause")] {
            if let Some(p) = path {
                let field = format!("{name}Path");
                if value.is_some() {
                    self.push(Some(i), &field, format!("`{name}` and `{name}Path` are exclusive"));
                }
                self.check_payload_value(i, &field, p);
            }
        }
    }

    fn check_map(&mut self, i: usize, m: &MapState) {
        if let Some(p) = &m.items_path {
            self.check_reference_path(i, "ItemsPath", p);
        }
        if m.item_selector.is_some() && m.parameters.is_some() {
            self.push(Some(i), "Parameters", "`ItemSelector` and `Parameters` (its legacy name) are exclusive");
        }
        self.check_template(i, "ItemSelector", m.item_selector.as_ref());
        self.check_template(i, "Parameters", m.parameters.as_ref());
        self.check_template(i, "ResultSelector", m.result_selector.as_ref());
        if let Some(config) = &m.item_processor.processor_config {
            if let Some(mode) = &config.mode {
                if mode != "INLINE" && mode != "DISTRIBUTED" {
                    self.push(
                        Some(i),
                        "ItemProcessor.ProcessorConfig.Mode",
                        format!("must be INLINE or DISTRIBUTED, not \"{mode}\""),
                    );
                }
            }
            if let Some(t) = &config.execution_type {
                if t != "STANDARD" && t != "EXPRESS" {
                    self.push(
                        Some(i),
                        "ItemProcessor.ProcessorConfig.ExecutionType",
                        format!("must be STANDARD or EXPRESS, not \"{t}\""),
                    );
                }
            }
        }
    }

    // -- rule 7 ---------------------------------------------------------------

    fn parse_path(&mut self, i: usize, field: &str, text: &str) -> Option<JsonPath> {
        match JsonPath::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.push(Some(i), field, format!("\"{text}\" is not a valid JSONPath: {e}"));
                None
            }
        }
    }

    fn check_reference_path(&mut self, i: usize, field: &str, text: &str) {
        if let Some(p) = self.parse_path(i, field, text) {
            if !p.is_reference_path() {
                self.push(
                    Some(i),
                    field,
                    format!("\"{text}\" is not a reference path: only `.name`, `['name']` and `[n]` steps are allowed"),
                );
            }
        }
    }

    fn check_result_path(&mut self, i: usize, field: &str, path: &NullablePath) {
        if let Some(Some(text)) = path {
            if text.starts_with("$$") {
                self.push(Some(i), field, format!("\"{text}\": a result cannot be written to the context object `$$`"));
            } else {
                self.check_reference_path(i, field, text);
            }
        }
    }

    fn check_io(&mut self, i: usize, input: &NullablePath, output: &NullablePath, result: Option<&NullablePath>) {
        if let Some(Some(p)) = input {
            self.parse_path(i, "InputPath", p);
        }
        if let Some(Some(p)) = output {
            self.parse_path(i, "OutputPath", p);
        }
        if let Some(r) = result {
            self.check_result_path(i, "ResultPath", r);
        }
    }

    fn check_payload_value(&mut self, i: usize, field: &str, text: &str) {
        if let Err(e) = PayloadValue::parse(text) {
            let what = if is_intrinsic(text) { "intrinsic function call" } else { "JSONPath" };
            self.push(Some(i), field, format!("\"{text}\" is not a valid {what}: {e}"));
        }
    }

    /// `Parameters`, `ResultSelector`, `ItemSelector`: every `.$` field, at
    /// any depth, holds a path or an intrinsic call.
    fn check_template(&mut self, i: usize, field: &str, value: Option<&Value>) {
        let Some(value) = value else { return };
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let child = format!("{field}.{key}");
                    if let Some(plain) = key.strip_suffix(".$") {
                        if map.contains_key(plain) {
                            self.push(Some(i), &child, format!("`{plain}` and `{key}` both set the field `{plain}`"));
                        }
                        match v {
                            Value::String(text) => self.check_payload_value(i, &child, text),
                            other => self.push(
                                Some(i),
                                &child,
                                format!(
                                    "a `.$` field takes a path or an intrinsic function call as a string, not {other}"
                                ),
                            ),
                        }
                    } else {
                        self.check_template(i, &child, Some(v));
                    }
                }
            }
            Value::Array(items) => {
                for (n, v) in items.iter().enumerate() {
                    self.check_template(i, &format!("{field}[{n}]"), Some(v));
                }
            }
            _ => {}
        }
    }

    // -- rule 8 ---------------------------------------------------------------

    fn check_condition(&mut self, i: usize, prefix: &str, condition: &Condition) {
        match condition {
            Condition::And(cs) | Condition::Or(cs) => {
                let op = if matches!(condition, Condition::And(_)) { "And" } else { "Or" };
                if cs.is_empty() {
                    self.push(Some(i), format!("{prefix}{op}"), format!("`{op}` needs at least one rule"));
                }
                for (n, c) in cs.iter().enumerate() {
                    self.check_condition(i, &format!("{prefix}{op}[{n}]."), c);
                }
            }
            Condition::Not(c) => self.check_condition(i, &format!("{prefix}Not."), c),
            Condition::Compare(cmp) => self.check_comparison(i, prefix, cmp),
            // Checked with the state's language (rule 9); nested, it cannot parse.
            Condition::Jsonata(_) => {}
        }
    }

    fn check_comparison(&mut self, i: usize, prefix: &str, cmp: &Comparison) {
        self.parse_path(i, &format!("{prefix}Variable"), &cmp.variable);
        let field = format!("{prefix}{}", cmp.op.name());
        let kind = cmp.op.operand_kind();
        match (&cmp.operand, kind) {
            (Operand::Path(p), OperandKind::Path) => {
                self.parse_path(i, &field, p);
            }
            (Operand::String(s), OperandKind::Timestamp) => {
                if let Err(why) = check_timestamp(s) {
                    self.push(Some(i), &field, why);
                }
            }
            (Operand::String(s), OperandKind::String) => {
                if cmp.op == ComparisonOp::StringMatches {
                    if let Err(why) = check_string_matches(s) {
                        self.push(Some(i), &field, why);
                    }
                }
            }
            (Operand::Number(_), OperandKind::Number) | (Operand::Bool(_), OperandKind::Bool) => {}
            (_, kind) => {
                let expected = match kind {
                    OperandKind::String => "a string",
                    OperandKind::Timestamp => "a timestamp string",
                    OperandKind::Path => "a path string",
                    OperandKind::Number => "a number",
                    OperandKind::Bool => "a boolean",
                };
                self.push(Some(i), &field, format!("`{}` takes {expected} operand", cmp.op.name()));
            }
        }
    }
}

/// An RFC 3339 timestamp as Step Functions reads it: uppercase `T`, and `Z`
/// unless a numeric offset is given (`2016-03-14T01:59:00Z`).
fn check_timestamp(text: &str) -> Result<(), String> {
    let why = || format!("\"{text}\" is not an RFC 3339 timestamp like 2016-03-14T01:59:00Z");
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let s = b.get(from..from + len)?;
        s.iter().all(u8::is_ascii_digit).then(|| s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let parsed = (|| {
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest = &frac[digits..];
        }
        if rest == "Z" {
            return Some(());
        }
        let offset = rest.as_bytes();
        let two =
            |s: &[u8]| s.iter().all(u8::is_ascii_digit).then(|| u32::from(s[0] - b'0') * 10 + u32::from(s[1] - b'0'));
        if offset.len() == 6 && matches!(offset[0], b'+' | b'-') && offset[3] == b':' {
            let (h, m) = (two(&offset[1..3])?, two(&offset[4..6])?);
            if h <= 23 && m <= 59 {
                return Some(());
            }
        }
        None
    })();
    parsed.ok_or_else(why)
}

/// `StringMatches` patterns: `*` is the only wildcard; `\*` and `\\` are the
/// only escapes.
fn check_string_matches(pattern: &str) -> Result<(), String> {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('*' | '\\') => {}
                Some(other) => {
                    return Err(format!(
                        "\"{pattern}\": `\\{other}` is not an escape; StringMatches only escapes `*` and `\\`"
                    ))
                }
                None => return Err(format!("\"{pattern}\" ends with a lone `\\`")),
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Duplicate keys

/// Walks a JSON document without building it, recording keys that appear
/// twice in one object. `path` holds the keys and `[n]` indices leading to
/// the current value.
struct KeyScan<'p> {
    path: &'p mut Vec<String>,
    errors: &'p mut Vec<ValidationError>,
}

impl KeyScan<'_> {
    fn duplicate(&mut self, key: &str) {
        let (names, rest, in_states) = locate(self.path);
        let error = if in_states {
            let mut state = names;
            state.push(key);
            ValidationError {
                state: Some(state.join("/")),
                field: String::new(),
                message: "the state is defined twice in the same `States` object; \
                          a JSON parser would silently keep only the last one"
                    .into(),
            }
        } else {
            let mut field = String::new();
            for part in rest.iter().map(String::as_str).chain([key]) {
                if !field.is_empty() && !part.starts_with('[') {
                    field.push('.');
                }
                field.push_str(part);
            }
            ValidationError {
                state: (!names.is_empty()).then(|| names.join("/")),
                field,
                message:
                    "the key appears twice in the same object; a JSON parser would silently keep only the last one"
                        .into(),
            }
        };
        self.errors.push(error);
    }
}

/// Splits a document path into the state names it goes through and the
/// rest; the flag says whether the path ends at a `States` object.
fn locate(path: &[String]) -> (Vec<&str>, &[String], bool) {
    let mut names = Vec::new();
    let mut i = 0;
    while path.get(i).map(String::as_str) == Some("States") {
        let Some(name) = path.get(i + 1) else {
            return (names, &[], true);
        };
        names.push(name.as_str());
        i += 2;
        match path.get(i).map(String::as_str) {
            Some("Branches") if path.get(i + 1).is_some_and(|s| s.starts_with('[')) => i += 2,
            Some("ItemProcessor" | "Iterator") => i += 1,
            _ => break,
        }
    }
    (names, &path[i..], false)
}

impl<'de> DeserializeSeed<'de> for KeyScan<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyScan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for n in 0.. {
            self.path.push(format!("[{n}]"));
            let more = seq.next_element_seed(KeyScan { path: &mut *self.path, errors: &mut *self.errors })?;
            self.path.pop();
            if more.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                self.duplicate(&key);
            }
            self.path.push(key);
            map.next_value_seed(KeyScan { path: &mut *self.path, errors: &mut *self.errors })?;
            self.path.pop();
        }
        Ok(())
    }
}
