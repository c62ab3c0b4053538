//! Rule 10: workflow variables. `Assign` names, and that every `$name` a
//! state reads is assigned before it on some path from `StartAt`, in its own
//! scope or an enclosing one (a Map iteration or a Parallel branch sees the
//! variables of the scopes around it; what it assigns stays inside).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::language::expression_fields;
use super::Checker;
use crate::choice::Operand;
use crate::jsonata;
use crate::jsonpath::{Intrinsic, IntrinsicArg, JsonPath, PayloadValue};
use crate::model::*;

/// The longest variable name Step Functions accepts.
pub const MAX_VARIABLE_NAME_CHARS: usize = 80;

type Vars = BTreeSet<String>;

impl Checker<'_> {
    pub(super) fn check_assign(&mut self, i: usize) {
        let state = self.states[i].state;
        let jsonpath = state.language(self.language) == QueryLanguage::JsonPath;
        let mut blocks: Vec<(String, &Value)> = Vec::new();
        blocks.extend(state.assign().map(|a| ("Assign".to_string(), a)));
        if let State::Choice(c) = state {
            for (n, rule) in c.choices.iter().enumerate() {
                blocks.extend(rule.assign.as_ref().map(|a| (format!("Choices[{n}].Assign"), a)));
            }
        }
        for (n, c) in state.catchers().iter().enumerate() {
            blocks.extend(c.assign.as_ref().map(|a| (format!("Catch[{n}].Assign"), a)));
        }
        for (field, block) in blocks {
            let Value::Object(map) = block else {
                self.push(Some(i), &field, format!("`Assign` must be an object of variable names, not {block}"));
                continue;
            };
            for key in map.keys() {
                let name = if jsonpath { key.strip_suffix(".$").unwrap_or(key) } else { key };
                if let Err(why) = check_variable_name(name) {
                    self.push(Some(i), format!("{field}.{key}"), why);
                }
            }
            if jsonpath {
                self.check_template(i, &field, Some(block));
            }
        }
    }

    /// The may-be-assigned analysis: the variables assigned on some path
    /// from the scope's `StartAt` to each state's entry, then every read
    /// checked against it.
    pub(super) fn check_variable_reads(&mut self) {
        let mut entry: Vec<Vars> = vec![Vars::new(); self.states.len()];
        // Scopes are numbered parents first, so an owner's entry set is
        // known before its branches are walked.
        for scope in 0..self.scopes.len() {
            let members: HashMap<&str, usize> = (0..self.states.len())
                .filter(|&s| self.states[s].scope == scope)
                .map(|s| (self.states[s].name, s))
                .collect();
            let Some(&start) = members.get(self.scopes[scope].start_at) else { continue };
            let inherited = self.scopes[scope].owner.map(|o| entry[o].clone()).unwrap_or_default();
            entry[start].extend(inherited);
            let mut work = vec![start];
            while let Some(s) = work.pop() {
                for (target, assigned) in edges(self.states[s].state) {
                    let Some(&t) = members.get(target) else { continue };
                    let mut flowing = entry[s].clone();
                    flowing.extend(assigned);
                    if !flowing.is_subset(&entry[t]) {
                        entry[t].extend(flowing);
                        work.push(t);
                    }
                }
            }
        }
        let inner = self.inner_assignments();
        for (s, visible) in entry.iter().enumerate() {
            let state = self.states[s].state;
            for (field, name) in reads(state, state.language(self.language)) {
                if name == "states" || visible.contains(&name) {
                    continue;
                }
                let message = match inner.get(&name).filter(|&&owner| !self.encloses(owner, s)) {
                    Some(&owner) => format!(
                        "reads `${name}`, which is assigned only inside {}; a variable assigned in a Map \
                         iteration or a Parallel branch is not visible outside it",
                        self.describe(owner)
                    ),
                    None => format!("reads `${name}`, which no path from `StartAt` assigns before this state"),
                };
                self.push(Some(s), field, message);
            }
        }
    }

    /// Variable name -> the outermost Map or Parallel state inside which it
    /// is assigned (for the error message).
    fn inner_assignments(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for s in 0..self.states.len() {
            let Some(owner) = self.outermost_owner(self.states[s].scope) else { continue };
            let state = self.states[s].state;
            let mut assigned = names(state.assign());
            assigned.extend(edges(state).into_iter().flat_map(|(_, names)| names));
            for n in assigned {
                out.entry(n).or_insert(owner);
            }
        }
        out
    }

    fn outermost_owner(&self, mut scope: usize) -> Option<usize> {
        let mut owner = None;
        while let Some(o) = self.scopes[scope].owner {
            owner = Some(o);
            scope = self.states[o].scope;
        }
        owner
    }

    /// Whether state `s` lies inside the branches of `owner`.
    fn encloses(&self, owner: usize, s: usize) -> bool {
        let mut scope = self.states[s].scope;
        while let Some(o) = self.scopes[scope].owner {
            if o == owner {
                return true;
            }
            scope = self.states[o].scope;
        }
        false
    }
}

/// Step Functions' rule for names: a letter or `_`, then letters, digits and
/// `_`; at most 80 characters; `states` is reserved.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid =
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "\"{name}\" is not a valid variable name: it starts with a letter or `_` and holds only letters, digits \
             and `_`"
        ));
    }
    if name == "states" {
        return Err("`states` is reserved: Step Functions sets `$states` itself".into());
    }
    let n = name.chars().count();
    if n > MAX_VARIABLE_NAME_CHARS {
        return Err(format!("the variable name is {n} characters long; at most {MAX_VARIABLE_NAME_CHARS} are allowed"));
    }
    Ok(())
}

fn names(assign: Option<&Value>) -> Vec<String> {
    match assign {
        Some(Value::Object(m)) => m.keys().map(|k| k.strip_suffix(".$").unwrap_or(k).to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Each transition of a state with the variables assigned along it: `Next`
/// and `Default` carry the state's `Assign`, a Choice rule the state's and
/// its own, a catcher its own.
fn edges(state: &State) -> Vec<(&str, Vec<String>)> {
    let mut out = Vec::new();
    if let Some(n) = state.next() {
        out.push((n, names(state.assign())));
    }
    if let State::Choice(c) = state {
        for rule in &c.choices {
            let mut assigned = names(c.assign.as_ref());
            assigned.extend(names(rule.assign.as_ref()));
            out.push((rule.next.as_str(), assigned));
        }
        if let Some(d) = &c.default {
            out.push((d.as_str(), names(c.assign.as_ref())));
        }
    }
    for c in state.catchers() {
        out.push((c.next.as_str(), names(c.assign.as_ref())));
    }
    out
}

/// Every workflow variable a state reads, with the field that reads it.
fn reads(state: &State, language: QueryLanguage) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match language {
        QueryLanguage::Jsonata => {
            for (field, text) in expression_fields(state) {
                if let Ok(Some(e)) = jsonata::parse_field(text) {
                    out.extend(e.free_variables().into_iter().map(|v| (field.clone(), v)));
                }
            }
        }
        QueryLanguage::JsonPath => jsonpath_reads(state, &mut out),
    }
    out
}

fn jsonpath_reads(state: &State, out: &mut Vec<(String, String)>) {
    let template = |v: Option<&Value>, field: &str, out: &mut Vec<(String, String)>| {
        if let Some(v) = v {
            template_reads(v, field, out);
        }
    };
    template(state.assign(), "Assign", out);
    let mut paths: Vec<(&str, &Option<String>)> = Vec::new();
    let nullable = |p: &NullablePath| p.clone().flatten();
    let io = |input: &NullablePath, output: &NullablePath, out: &mut Vec<(String, String)>| {
        for (field, p) in [("InputPath", nullable(input)), ("OutputPath", nullable(output))] {
            if let Some(p) = p {
                path_reads(&p, field, out);
            }
        }
    };
    match state {
        State::Task(t) => {
            io(&t.input_path, &t.output_path, out);
            template(t.parameters.as_ref(), "Parameters", out);
            template(t.result_selector.as_ref(), "ResultSelector", out);
            template(t.credentials.as_ref(), "Credentials", out);
            paths.push(("TimeoutSecondsPath", &t.timeout_seconds_path));
            paths.push(("HeartbeatSecondsPath", &t.heartbeat_seconds_path));
        }
        State::Pass(p) => {
            io(&p.input_path, &p.output_path, out);
            template(p.parameters.as_ref(), "Parameters", out);
        }
        State::Choice(c) => {
            io(&c.input_path, &c.output_path, out);
            for (n, rule) in c.choices.iter().enumerate() {
                template(rule.assign.as_ref(), &format!("Choices[{n}].Assign"), out);
                for cmp in rule.condition.comparisons() {
                    path_reads(&cmp.variable, &format!("Choices[{n}].Variable"), out);
                    if let Operand::Path(p) = &cmp.operand {
                        path_reads(p, &format!("Choices[{n}].{}", cmp.op.name()), out);
                    }
                }
            }
        }
        State::Wait(w) => {
            io(&w.input_path, &w.output_path, out);
            paths.push(("SecondsPath", &w.seconds_path));
            paths.push(("TimestampPath", &w.timestamp_path));
        }
        State::Succeed(s) => io(&s.input_path, &s.output_path, out),
        State::Fail(f) => {
            paths.push(("ErrorPath", &f.error_path));
            paths.push(("CausePath", &f.cause_path));
        }
        State::Parallel(p) => {
            io(&p.input_path, &p.output_path, out);
            template(p.parameters.as_ref(), "Parameters", out);
            template(p.result_selector.as_ref(), "ResultSelector", out);
        }
        State::Map(m) => {
            io(&m.input_path, &m.output_path, out);
            template(m.item_selector.as_ref(), "ItemSelector", out);
            template(m.parameters.as_ref(), "Parameters", out);
            template(m.result_selector.as_ref(), "ResultSelector", out);
            paths.push(("ItemsPath", &m.items_path));
        }
    }
    for (n, c) in state.catchers().iter().enumerate() {
        template(c.assign.as_ref(), &format!("Catch[{n}].Assign"), out);
    }
    for (field, p) in paths {
        if let Some(p) = p {
            path_reads(p, field, out);
        }
    }
}

fn path_reads(text: &str, field: &str, out: &mut Vec<(String, String)>) {
    match PayloadValue::parse(text) {
        Ok(PayloadValue::Path(p)) => push_path(&p, field, out),
        Ok(PayloadValue::Intrinsic(call)) => intrinsic_reads(&call, field, out),
        Err(_) => {}
    }
}

fn push_path(p: &JsonPath, field: &str, out: &mut Vec<(String, String)>) {
    if let Some(v) = p.variable() {
        out.push((field.to_string(), v.to_string()));
    }
}

fn intrinsic_reads(call: &Intrinsic, field: &str, out: &mut Vec<(String, String)>) {
    for a in &call.args {
        match a {
            IntrinsicArg::Path(p) => push_path(p, field, out),
            IntrinsicArg::Intrinsic(inner) => intrinsic_reads(inner, field, out),
            _ => {}
        }
    }
}

/// The `.$` fields of a JSONPath template, at any depth.
fn template_reads(v: &Value, field: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let child = format!("{field}.{k}");
                match (k.ends_with(".$"), x) {
                    (true, Value::String(text)) => path_reads(text, &child, out),
                    _ => template_reads(x, &child, out),
                }
            }
        }
        Value::Array(items) => {
            for (n, x) in items.iter().enumerate() {
                template_reads(x, &format!("{field}[{n}]"), out);
            }
        }
        _ => {}
    }
}
