//! Rule 9: the query languages. Which fields each language allows, the
//! machine/state `QueryLanguage` rule, and the syntax of every JSONata
//! expression.

use serde_json::Value;

use super::Checker;
use crate::choice::Condition;
use crate::jsonata;
use crate::model::*;

impl Checker<'_> {
    pub(super) fn check_language(&mut self, i: usize) {
        let state = self.states[i].state;
        if self.language == Some(QueryLanguage::Jsonata) && state.query_language() == Some(QueryLanguage::JsonPath) {
            self.push(
                Some(i),
                "QueryLanguage",
                "a state cannot use JSONPath when the machine's `QueryLanguage` is JSONata",
            );
        }
        match state.language(self.language) {
            QueryLanguage::Jsonata => {
                for (field, instead) in jsonpath_fields(state) {
                    self.push(
                        Some(i),
                        &field,
                        format!("`{}` is a JSONPath field; a JSONata state uses {instead}", last(&field)),
                    );
                }
                self.check_expressions(i, state);
            }
            QueryLanguage::JsonPath => {
                for field in jsonata_fields(state) {
                    self.push(
                        Some(i),
                        &field,
                        format!(
                            "`{}` is a JSONata field; set `\"QueryLanguage\": \"JSONata\"` on the state or the \
                             machine to use it",
                            last(&field)
                        ),
                    );
                }
            }
        }
    }

    /// Every `{% … %}` string of a JSONata state parses; fields that must be
    /// expressions are.
    fn check_expressions(&mut self, i: usize, state: &State) {
        for (field, text) in expression_fields(state) {
            if jsonata::is_malformed(text) {
                self.push(Some(i), &field, format!("\"{text}\" must start with `{{%` and end with `%}}`"));
                continue;
            }
            if let Err(e) = jsonata::parse_field(text) {
                self.push(Some(i), &field, format!("JSONata syntax error at column {}: {}", e.column, e.message));
            }
        }
        let literal_string = |v: &Value| match v {
            Value::String(s) => jsonata::expression(s).is_none(),
            _ => false,
        };
        if let State::Choice(c) = state {
            for (n, rule) in c.choices.iter().enumerate() {
                if let Condition::Jsonata(v) = &rule.condition {
                    if literal_string(v) {
                        self.push(
                            Some(i),
                            format!("Choices[{n}].Condition"),
                            format!("must be a `{{% … %}}` expression or a boolean, not the string {v}"),
                        );
                    }
                }
            }
        }
        for (field, value) in integer_fields(state) {
            if let IntegerField::Expression(text) = value {
                if jsonata::expression(text).is_none() {
                    self.push(
                        Some(i),
                        field,
                        format!("must be an integer or a `{{% … %}}` expression, not \"{text}\""),
                    );
                }
            }
        }
        if let State::Map(m) = state {
            if let Some(items) = &m.items {
                let ok = matches!(items, Value::Array(_))
                    || matches!(items, Value::String(s) if jsonata::expression(s).is_some());
                if !ok {
                    self.push(Some(i), "Items", format!("must be an array or a `{{% … %}}` expression, not {items}"));
                }
            }
        }
    }
}

fn last(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// The JSONPath-only fields a state sets, with what JSONata uses instead.
fn jsonpath_fields(state: &State) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut add = |set: bool, field: &str, instead: &'static str| {
        if set {
            out.push((field.to_string(), instead));
        }
    };
    let io = "`Arguments` and `Output`";
    match state {
        State::Task(t) => {
            add(t.input_path.is_some(), "InputPath", io);
            add(t.parameters.is_some(), "Parameters", "`Arguments`");
            add(t.result_selector.is_some(), "ResultSelector", "`Output`");
            add(t.result_path.is_some(), "ResultPath", "`Output` and `Assign`");
            add(t.output_path.is_some(), "OutputPath", "`Output`");
            add(t.timeout_seconds_path.is_some(), "TimeoutSecondsPath", "`TimeoutSeconds` with an expression");
            add(t.heartbeat_seconds_path.is_some(), "HeartbeatSecondsPath", "`HeartbeatSeconds` with an expression");
        }
        State::Pass(p) => {
            add(p.input_path.is_some(), "InputPath", "`Output`");
            add(p.parameters.is_some(), "Parameters", "`Output`");
            add(p.result.is_some(), "Result", "`Output`");
            add(p.result_path.is_some(), "ResultPath", "`Output` and `Assign`");
            add(p.output_path.is_some(), "OutputPath", "`Output`");
        }
        State::Choice(c) => {
            add(c.input_path.is_some(), "InputPath", "`Output`");
            add(c.output_path.is_some(), "OutputPath", "`Output`");
        }
        State::Wait(w) => {
            add(w.input_path.is_some(), "InputPath", "`Output`");
            add(w.output_path.is_some(), "OutputPath", "`Output`");
            add(w.seconds_path.is_some(), "SecondsPath", "`Seconds` with an expression");
            add(w.timestamp_path.is_some(), "TimestampPath", "`Timestamp` with an expression");
        }
        State::Succeed(s) => {
            add(s.input_path.is_some(), "InputPath", "`Output`");
            add(s.output_path.is_some(), "OutputPath", "`Output`");
        }
        State::Fail(f) => {
            add(f.error_path.is_some(), "ErrorPath", "`Error` with an expression");
            add(f.cause_path.is_some(), "CausePath", "`Cause` with an expression");
        }
        State::Parallel(p) => {
            add(p.input_path.is_some(), "InputPath", io);
            add(p.parameters.is_some(), "Parameters", "`Arguments`");
            add(p.result_selector.is_some(), "ResultSelector", "`Output`");
            add(p.result_path.is_some(), "ResultPath", "`Output` and `Assign`");
            add(p.output_path.is_some(), "OutputPath", "`Output`");
        }
        State::Map(m) => {
            add(m.input_path.is_some(), "InputPath", "`Items` and `Output`");
            add(m.items_path.is_some(), "ItemsPath", "`Items`");
            add(m.parameters.is_some(), "Parameters", "`ItemSelector`");
            add(m.result_selector.is_some(), "ResultSelector", "`Output`");
            add(m.result_path.is_some(), "ResultPath", "`Output` and `Assign`");
            add(m.output_path.is_some(), "OutputPath", "`Output`");
        }
    }
    if let State::Choice(c) = state {
        for (n, rule) in c.choices.iter().enumerate() {
            if !matches!(rule.condition, Condition::Jsonata(_)) {
                out.push((format!("Choices[{n}].Variable"), "`Condition`"));
            }
        }
    }
    for (n, c) in state.catchers().iter().enumerate() {
        if c.result_path.is_some() {
            out.push((format!("Catch[{n}].ResultPath"), "`Output` and `Assign`"));
        }
    }
    if let Some(Value::Object(assign)) = state.assign() {
        for k in assign.keys().filter(|k| k.ends_with(".$")) {
            out.push((format!("Assign.{k}"), "a plain name with a `{% … %}` value"));
        }
    }
    out
}

/// The JSONata-only fields a JSONPath state sets.
fn jsonata_fields(state: &State) -> Vec<String> {
    let mut out = Vec::new();
    let arguments = match state {
        State::Task(t) => t.arguments.is_some(),
        State::Parallel(p) => p.arguments.is_some(),
        _ => false,
    };
    if arguments {
        out.push("Arguments".to_string());
    }
    if state.output().is_some() {
        out.push("Output".to_string());
    }
    if let State::Map(m) = state {
        if m.items.is_some() {
            out.push("Items".to_string());
        }
    }
    if let State::Choice(c) = state {
        for (n, rule) in c.choices.iter().enumerate() {
            if matches!(rule.condition, Condition::Jsonata(_)) {
                out.push(format!("Choices[{n}].Condition"));
            }
            if rule.output.is_some() {
                out.push(format!("Choices[{n}].Output"));
            }
        }
    }
    for (n, c) in state.catchers().iter().enumerate() {
        if c.output.is_some() {
            out.push(format!("Catch[{n}].Output"));
        }
    }
    for (field, value) in integer_fields(state) {
        if matches!(value, IntegerField::Expression(_)) {
            out.push(field.to_string());
        }
    }
    out
}

fn integer_fields(state: &State) -> Vec<(&'static str, &IntegerField)> {
    let mut out = Vec::new();
    match state {
        State::Task(t) => {
            out.extend(t.timeout_seconds.as_ref().map(|v| ("TimeoutSeconds", v)));
            out.extend(t.heartbeat_seconds.as_ref().map(|v| ("HeartbeatSeconds", v)));
        }
        State::Wait(w) => out.extend(w.seconds.as_ref().map(|v| ("Seconds", v))),
        State::Map(m) => out.extend(m.max_concurrency.as_ref().map(|v| ("MaxConcurrency", v))),
        _ => {}
    }
    out
}

/// Every string of a JSONata state that is (or tries to be) an expression,
/// with its field.
pub(crate) fn expression_fields(state: &State) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    fn template<'v>(v: Option<&'v Value>, field: &str, out: &mut Vec<(String, &'v str)>) {
        if let Some(v) = v {
            jsonata::template_strings(v, field, out);
        }
    }
    template(state.output(), "Output", &mut out);
    template(state.assign(), "Assign", &mut out);
    match state {
        State::Task(t) => {
            template(t.arguments.as_ref(), "Arguments", &mut out);
            template(t.credentials.as_ref(), "Credentials", &mut out);
        }
        State::Parallel(p) => template(p.arguments.as_ref(), "Arguments", &mut out),
        State::Map(m) => {
            template(m.items.as_ref(), "Items", &mut out);
            template(m.item_selector.as_ref(), "ItemSelector", &mut out);
        }
        State::Choice(c) => {
            for (n, rule) in c.choices.iter().enumerate() {
                if let Condition::Jsonata(v) = &rule.condition {
                    template(Some(v), &format!("Choices[{n}].Condition"), &mut out);
                }
                template(rule.output.as_ref(), &format!("Choices[{n}].Output"), &mut out);
                template(rule.assign.as_ref(), &format!("Choices[{n}].Assign"), &mut out);
            }
        }
        State::Wait(w) => {
            if let Some(ts) = &w.timestamp {
                jsonata::push_expression(ts, "Timestamp", &mut out);
            }
        }
        State::Fail(f) => {
            for (v, field) in [(&f.error, "Error"), (&f.cause, "Cause")] {
                if let Some(s) = v {
                    jsonata::push_expression(s, field, &mut out);
                }
            }
        }
        _ => {}
    }
    for (n, c) in state.catchers().iter().enumerate() {
        template(c.output.as_ref(), &format!("Catch[{n}].Output"), &mut out);
        template(c.assign.as_ref(), &format!("Catch[{n}].Assign"), &mut out);
    }
    for (field, value) in integer_fields(state) {
        if let IntegerField::Expression(text) = value {
            if jsonata::expression(text).is_some() {
                out.push((field.to_string(), text.as_str()));
            }
        }
    }
    out
}
