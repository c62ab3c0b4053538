//! The walk over a machine: each graph (the machine, a Parallel branch, a
//! Map's item processor) from its start, each state with every input type
//! that reaches it, one method per state type.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;

use super::choice::narrow;
use super::conformance::conforms;
use super::navigate::items;
use super::value_type::{definitely_not, ObjectType, Primitive, UnlistedFields, ValueType};
use super::{PathError, ResourceSchemas};
use crate::jsonpath::{JsonPath, Root as JsonPathRoot, Segment};
use crate::model::{
    Catcher, Choice, Fail, MapState, Parallel, Pass, QueryLanguage, State, States, Succeed, Task, Wait,
};

/// Visits of one state with distinct input schemas before giving up; a loop
/// that grows its data at each turn would otherwise never settle.
const MAX_INPUTS_PER_STATE: usize = 12;

/// The walk's state: where result types come from, and the errors so far
/// (each reported once, however often its state is visited).
pub(super) struct Checker<'a> {
    resources: &'a dyn ResourceSchemas,
    execution_input: ValueType,
    errors: Vec<PathError>,
    seen: HashSet<PathError>,
    /// The machine's `QueryLanguage`.
    pub(super) language: Option<QueryLanguage>,
}

/// Where a state sends its output.
struct Outcome {
    next: Vec<(String, ValueType)>,
    /// The output, when the state ends its graph (End, Succeed).
    terminal: Option<ValueType>,
}

/// Where an error is reported.
pub(super) struct Site<'s> {
    /// The state, qualified by its enclosing Map / Parallel states.
    pub(super) state: &'s str,
}

impl<'a> Checker<'a> {
    pub(super) fn new(resources: &'a dyn ResourceSchemas, execution_input: ValueType) -> Self {
        Checker { resources, execution_input, errors: Vec::new(), seen: HashSet::new(), language: None }
    }

    pub(super) fn into_errors(self) -> Vec<PathError> {
        self.errors
    }

    pub(super) fn error(
        &mut self,
        site: &Site<'_>,
        field: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let e =
            PathError { state: site.state.to_owned(), field: field.into(), path: path.into(), message: message.into() };
        if self.seen.insert(e.clone()) {
            self.errors.push(e);
        }
    }

    /// Runs one graph (the machine, a branch or an item processor) and returns
    /// the union of what it can end with.
    pub(super) fn run_graph(&mut self, scope: &str, start: &str, states: &States, input: ValueType) -> ValueType {
        let mut queue = VecDeque::from([(start.to_owned(), input)]);
        let mut visited: HashSet<(String, u64)> = HashSet::new();
        let mut visits: HashMap<String, usize> = HashMap::new();
        let mut outputs = Vec::new();
        while let Some((name, ty)) = queue.pop_front() {
            if !visited.insert((name.clone(), ty.fingerprint())) {
                continue;
            }
            let count = visits.entry(name.clone()).or_default();
            *count += 1;
            if *count > MAX_INPUTS_PER_STATE {
                continue;
            }
            // An unknown target is the validator's to report.
            let Some(state) = states.get(&name) else {
                continue;
            };
            let qualified = if scope.is_empty() { name.clone() } else { format!("{scope}/{name}") };
            let outcome = self.state(&qualified, &name, state, &ty);
            queue.extend(outcome.next);
            if let Some(out) = outcome.terminal {
                outputs.push(out);
            }
        }
        ValueType::union(outputs)
    }

    /// The context object (`$$`); `map_item` inside a Map's `ItemSelector`.
    fn context(&self, map_item: Option<ValueType>) -> ValueType {
        let obj = |title: &str, fields: Vec<(&str, ValueType)>| {
            ValueType::object(ObjectType {
                title: Some(title.into()),
                required: fields.iter().map(|(k, _)| (*k).to_owned()).collect(),
                properties: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                unlisted: UnlistedFields::Forbidden,
            })
        };
        let s = || ValueType::Primitive(Primitive::String);
        let mut fields = vec![
            (
                "Execution",
                obj(
                    "the context object's Execution",
                    vec![
                        ("Id", s()),
                        ("Name", s()),
                        ("StartTime", s()),
                        ("Input", self.execution_input.clone()),
                        ("RoleArn", s()),
                    ],
                ),
            ),
            (
                "State",
                obj(
                    "the context object's State",
                    vec![("Name", s()), ("EnteredTime", s()), ("RetryCount", ValueType::Primitive(Primitive::Integer))],
                ),
            ),
            ("StateMachine", obj("the context object's StateMachine", vec![("Id", s()), ("Name", s())])),
            ("Task", obj("the context object's Task", vec![("Token", s())])),
        ];
        if let Some(item) = map_item {
            fields.push((
                "Map",
                obj(
                    "the context object's Map",
                    vec![(
                        "Item",
                        obj(
                            "the context object's Map.Item",
                            vec![("Index", ValueType::Primitive(Primitive::Integer)), ("Value", item)],
                        ),
                    )],
                ),
            ));
        }
        obj("the context object ($$)", fields)
    }

    /// The input of a Catch target: the error output at the catcher's ResultPath.
    fn catches(&mut self, site: &Site<'_>, catchers: &[Catcher], input: &ValueType) -> Vec<(String, ValueType)> {
        let error_output = ValueType::object(ObjectType {
            title: Some("the error output".into()),
            properties: [
                ("Error".to_owned(), ValueType::Primitive(Primitive::String)),
                ("Cause".to_owned(), ValueType::Primitive(Primitive::String)),
            ]
            .into_iter()
            .collect(),
            required: ["Error".to_owned()].into_iter().collect(),
            unlisted: UnlistedFields::Forbidden,
        });
        catchers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let out = self.result_path(
                    site,
                    &format!("Catch[{i}].ResultPath"),
                    &c.result_path,
                    input,
                    error_output.clone(),
                );
                (c.next.clone(), out)
            })
            .collect()
    }

    fn finish(
        next: Option<&String>,
        end: Option<bool>,
        output: ValueType,
        mut others: Vec<(String, ValueType)>,
    ) -> Outcome {
        let mut terminal = None;
        match next {
            Some(n) => others.insert(0, (n.clone(), output)),
            None if end == Some(true) => terminal = Some(output),
            None => {}
        }
        Outcome { next: others, terminal }
    }

    /// Checks one state against its input and says where its output goes.
    fn state(&mut self, qualified: &str, name: &str, state: &State, input: &ValueType) -> Outcome {
        let site = &Site { state: qualified };
        if state.language(self.language) == QueryLanguage::Jsonata {
            return self.jsonata_state(site, state, input);
        }
        let ctx = &self.context(None);
        match state {
            State::Task(t) => self.task(site, name, t, input, ctx),
            State::Pass(p) => self.pass(site, p, input, ctx),
            State::Choice(c) => self.choice(site, c, input, ctx),
            State::Wait(w) => self.wait(site, w, input, ctx),
            State::Succeed(s) => self.succeed(site, s, input, ctx),
            State::Fail(f) => self.fail(site, f, input, ctx),
            State::Parallel(p) => self.parallel(site, p, input, ctx),
            State::Map(m) => self.map(site, m, input, ctx),
        }
    }

    /// A JSONata state: its plain reads of the input (`$states.input.a.b`)
    /// are checked like JSONPath reads; what it outputs is not typed (any).
    fn jsonata_state(&mut self, site: &Site<'_>, state: &State, input: &ValueType) -> Outcome {
        let ctx = self.context(None);
        for (field, text) in crate::validate::expression_fields(state) {
            let Ok(Some(e)) = crate::jsonata::parse_field(text) else { continue };
            if let Some(segments) = e.input_path() {
                let segments = segments.into_iter().map(Segment::Child).collect();
                let path = JsonPath { root: JsonPathRoot::Input, segments }.to_string();
                self.read(site, &field, &path, input, &ctx, false);
            }
        }
        for (start, states) in state.nested() {
            self.run_graph(site.state, start, states, ValueType::Any);
        }
        let next = state.transitions().into_iter().map(|t| (t.target.to_owned(), ValueType::Any)).collect();
        Outcome { next, terminal: state.is_terminal().then_some(ValueType::Any) }
    }

    fn task(&mut self, site: &Site<'_>, name: &str, t: &Task, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &t.input_path, input, ctx);
        let sent = self.parameters(site, &t.parameters, &effective, ctx);
        for (f, p) in
            [("TimeoutSecondsPath", &t.timeout_seconds_path), ("HeartbeatSecondsPath", &t.heartbeat_seconds_path)]
        {
            if let Some(p) = p {
                let ty = self.read(site, f, p, &effective, ctx, false);
                self.expect_kind(site, f, p, &ty, &[Primitive::Integer], "a number of seconds");
            }
        }
        if let Some(c) = &t.credentials {
            self.template(site, "Credentials", c, &effective, ctx);
        }
        self.check_task_input(site, name, t, &sent);
        let result = self.task_result(site, name, t);
        let catches = self.catches(site, &t.catch, input);
        let output = self.after_result(site, input, result, &t.result_selector, &t.result_path, &t.output_path, ctx);
        Self::finish(t.next.as_ref(), t.end, output, catches)
    }

    /// What the Task is sent against the input type its resource declares.
    fn check_task_input(&mut self, site: &Site<'_>, name: &str, t: &Task, sent: &ValueType) {
        let Some(expected) = self.resources.task_input(name, t) else {
            return;
        };
        let expected = ValueType::from_schema(expected);
        let what = if t.parameters.is_some() { "Parameters" } else { "the state's input" };
        let mut problems = Vec::new();
        conforms(sent, &expected, what, &mut problems, 0);
        let field_name = if t.parameters.is_some() { "Parameters" } else { "InputPath" };
        for p in problems {
            self.error(site, field_name, "", p);
        }
    }

    /// The type of the Task's result, before `ResultSelector`.
    fn task_result(&mut self, site: &Site<'_>, name: &str, t: &Task) -> ValueType {
        match self.resources.task_result(name, t) {
            Some(schema) => ValueType::from_schema(schema),
            None => {
                self.error(
                    site,
                    "Resource",
                    "",
                    format!(
                        "the result type of resource \"{}\" is unknown, so the paths that read it \
                         cannot be checked; map it in ResourceSchemas (return `true` to accept anything)",
                        t.resource
                    ),
                );
                ValueType::Any
            }
        }
    }

    fn pass(&mut self, site: &Site<'_>, p: &Pass, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &p.input_path, input, ctx);
        let sent = self.parameters(site, &p.parameters, &effective, ctx);
        let result = match &p.result {
            Some(r) => ValueType::Const(r.clone()),
            None => sent,
        };
        let output = self.after_result(site, input, result, &None, &p.result_path, &p.output_path, ctx);
        Self::finish(p.next.as_ref(), p.end, output, Vec::new())
    }

    fn choice(&mut self, site: &Site<'_>, c: &Choice, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &c.input_path, input, ctx);
        let mut next = Vec::new();
        for (i, rule) in c.choices.iter().enumerate() {
            self.condition(site, &format!("Choices[{i}]"), &rule.condition, &effective, ctx);
            let narrowed = narrow(&rule.condition, &effective);
            let out = self.filter_path(site, "OutputPath", &c.output_path, &narrowed, ctx);
            next.push((rule.next.clone(), out));
        }
        if let Some(d) = &c.default {
            let out = self.filter_path(site, "OutputPath", &c.output_path, &effective, ctx);
            next.push((d.clone(), out));
        }
        Outcome { next, terminal: None }
    }

    fn wait(&mut self, site: &Site<'_>, w: &Wait, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &w.input_path, input, ctx);
        if let Some(p) = &w.seconds_path {
            let t = self.read(site, "SecondsPath", p, &effective, ctx, false);
            let seconds = [Primitive::Integer, Primitive::Number];
            self.expect_kind(site, "SecondsPath", p, &t, &seconds, "a number of seconds");
        }
        if let Some(p) = &w.timestamp_path {
            let t = self.read(site, "TimestampPath", p, &effective, ctx, false);
            self.expect_kind(site, "TimestampPath", p, &t, &[Primitive::String], "a timestamp string");
        }
        let output = self.filter_path(site, "OutputPath", &w.output_path, &effective, ctx);
        Self::finish(w.next.as_ref(), w.end, output, Vec::new())
    }

    fn succeed(&mut self, site: &Site<'_>, s: &Succeed, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &s.input_path, input, ctx);
        let output = self.filter_path(site, "OutputPath", &s.output_path, &effective, ctx);
        Outcome { next: Vec::new(), terminal: Some(output) }
    }

    fn fail(&mut self, site: &Site<'_>, f: &Fail, input: &ValueType, ctx: &ValueType) -> Outcome {
        for (field_name, p) in [("ErrorPath", &f.error_path), ("CausePath", &f.cause_path)] {
            if let Some(p) = p {
                // ErrorPath / CausePath may also be an intrinsic call.
                let t = self.dynamic_value(site, field_name, &Value::String(p.clone()), input, ctx);
                self.expect_kind(site, field_name, p, &t, &[Primitive::String], "a string");
            }
        }
        Outcome { next: Vec::new(), terminal: None }
    }

    fn parallel(&mut self, site: &Site<'_>, p: &Parallel, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &p.input_path, input, ctx);
        let sent = self.parameters(site, &p.parameters, &effective, ctx);
        let outputs: Vec<ValueType> =
            p.branches.iter().map(|b| self.run_graph(site.state, &b.start_at, &b.states, sent.clone())).collect();
        let catches = self.catches(site, &p.catch, input);
        let result = ValueType::Tuple(outputs);
        let output = self.after_result(site, input, result, &p.result_selector, &p.result_path, &p.output_path, ctx);
        Self::finish(p.next.as_ref(), p.end, output, catches)
    }

    fn map(&mut self, site: &Site<'_>, m: &MapState, input: &ValueType, ctx: &ValueType) -> Outcome {
        let effective = self.filter_path(site, "InputPath", &m.input_path, input, ctx);
        let item = self.map_item(site, m, &effective, ctx);
        let (selector, selector_name) = match (&m.item_selector, &m.parameters) {
            (Some(s), _) => (Some(s), "ItemSelector"),
            (None, Some(s)) => (Some(s), "Parameters"),
            (None, None) => (None, "ItemSelector"),
        };
        let processor_input = match selector {
            Some(tpl) => {
                let map_ctx = self.context(Some(item));
                self.template(site, selector_name, tpl, &effective, &map_ctx)
            }
            None => item,
        };
        let processor = &m.item_processor;
        let out = self.run_graph(site.state, &processor.start_at, &processor.states, processor_input);
        let catches = self.catches(site, &m.catch, input);
        let result = ValueType::Array(Box::new(out));
        let output = self.after_result(site, input, result, &m.result_selector, &m.result_path, &m.output_path, ctx);
        Self::finish(m.next.as_ref(), m.end, output, catches)
    }

    /// The type of one item the Map iterates over: an element of the array at
    /// `ItemsPath`, or of the effective input itself.
    fn map_item(&mut self, site: &Site<'_>, m: &MapState, effective: &ValueType, ctx: &ValueType) -> ValueType {
        match &m.items_path {
            Some(p) => {
                let array = self.read(site, "ItemsPath", p, effective, ctx, false);
                match items(&array, false) {
                    Ok(t) => t,
                    Err(_) => {
                        self.error(
                            site,
                            "ItemsPath",
                            p.as_str(),
                            format!("ItemsPath must point to an array; this is {}", array.describe()),
                        );
                        ValueType::Any
                    }
                }
            }
            None => match items(effective, false) {
                Ok(t) => t,
                Err(_) => {
                    self.error(
                        site,
                        "ItemsPath",
                        "$",
                        format!("the Map's input must be an array (no ItemsPath); it is {}", effective.describe()),
                    );
                    ValueType::Any
                }
            },
        }
    }

    fn expect_kind(
        &mut self,
        site: &Site<'_>,
        field_name: &str,
        path: &str,
        ty: &ValueType,
        ok: &[Primitive],
        wanted: &str,
    ) {
        if let Some(found) = definitely_not(ty, ok) {
            self.error(site, field_name, path, format!("{field_name} needs {wanted}, but `{path}` is {found}"));
        }
    }
}
