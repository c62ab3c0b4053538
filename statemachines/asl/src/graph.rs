//! A Mermaid flowchart of a state machine, for the README and for people.
//!
//! Normal transitions are solid arrows, Choice rules carry their condition as
//! a label, Catch edges are dashed and labelled with the errors they catch.
//! Map and Parallel bodies are drawn as subgraphs.

use std::fmt::Write;

use crate::choice::{Comparison, Condition, Operand};
use crate::model::{State, StateMachine, States, TransitionKind};

/// Renders `machine` as a Mermaid `flowchart TD`.
pub fn mermaid(machine: &StateMachine) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str("    start((start))\n");
    let _ = writeln!(out, "    start --> {}", node_id(&[], &machine.start_at));
    render_scope(&mut out, &[], &machine.states, 1);
    out
}

fn render_scope(out: &mut String, scope: &[&str], states: &States, depth: usize) {
    let pad = "    ".repeat(depth);
    for (name, state) in states {
        let id = node_id(scope, name);
        let label = escape(name);
        match state {
            State::Choice(_) => {
                let _ = writeln!(out, "{pad}{id}{{\"{label}\"}}");
            }
            State::Succeed(_) => {
                let _ = writeln!(out, "{pad}{id}([\"{label}\"])");
            }
            State::Fail(_) => {
                let _ = writeln!(out, "{pad}{id}[[\"{label}\"]]");
            }
            State::Map(_) | State::Parallel(_) => {
                let _ = writeln!(out, "{pad}subgraph {id} [\"{} {label}\"]", state.type_name());
                let mut inner: Vec<&str> = scope.to_vec();
                inner.push(name);
                for (i, (start, body)) in state.nested().into_iter().enumerate() {
                    let mut branch = inner.clone();
                    let idx = i.to_string();
                    if matches!(state, State::Parallel(_)) {
                        branch.push(&idx);
                    }
                    let _ = writeln!(out, "{pad}    {id}_start(( )) --> {}", node_id(&branch, start));
                    render_scope(out, &branch, body, depth + 1);
                }
                let _ = writeln!(out, "{pad}end");
            }
            _ => {
                let _ = writeln!(out, "{pad}{id}[\"{label}\"]");
            }
        }
    }
    for (name, state) in states {
        let id = node_id(scope, name);
        if state.end() == Some(true) {
            let _ = writeln!(out, "{pad}{id} --> stop_{id}((end))");
        }
        let mut rule_index = 0;
        for t in state.transitions() {
            let target = node_id(scope, t.target);
            match t.kind {
                TransitionKind::Next => {
                    let _ = writeln!(out, "{pad}{id} --> {target}");
                }
                TransitionKind::Choice => {
                    let label = match state {
                        State::Choice(c) => describe(&c.choices[rule_index].condition),
                        _ => String::new(),
                    };
                    rule_index += 1;
                    let _ = writeln!(out, "{pad}{id} -->|\"{}\"| {target}", escape(&label));
                }
                TransitionKind::Default => {
                    let _ = writeln!(out, "{pad}{id} -->|otherwise| {target}");
                }
                TransitionKind::Catch => {}
            }
        }
        for c in state.catchers() {
            let target = node_id(scope, &c.next);
            let _ = writeln!(out, "{pad}{id} -.->|\"catch {}\"| {target}", escape(&c.error_equals.join(", ")));
        }
    }
}

/// A short human reading of a condition for edge labels.
fn describe(c: &Condition) -> String {
    match c {
        Condition::And(cs) => cs.iter().map(describe).collect::<Vec<_>>().join(" and "),
        Condition::Or(cs) => cs.iter().map(describe).collect::<Vec<_>>().join(" or "),
        Condition::Not(c) => format!("not ({})", describe(c)),
        Condition::Compare(Comparison { variable, op, operand }) => {
            let v = match operand {
                Operand::String(s) => format!("'{s}'"),
                Operand::Number(n) => n.to_string(),
                Operand::Bool(b) => b.to_string(),
                Operand::Path(p) => p.clone(),
            };
            format!("{variable} {} {v}", op.name())
        }
        Condition::Jsonata(v) => match v {
            serde_json::Value::String(s) => crate::jsonata::expression(s).unwrap_or(s).trim().to_string(),
            other => other.to_string(),
        },
    }
}

fn node_id(scope: &[&str], name: &str) -> String {
    let mut id = String::new();
    for part in scope.iter().copied().chain(std::iter::once(name)) {
        if !id.is_empty() {
            id.push_str("__");
        }
        id.extend(part.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }));
    }
    id
}

fn escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::{Catcher, ComparisonOp};

    #[test]
    fn catch_edges_are_dashed_and_choices_labelled() {
        let m = StateMachine::new("Work")
            .state("Work", Task::new("arn:x").catch(Catcher::on(["States.ALL"], "Failed")).next("Check"))
            .state(
                "Check",
                Choice::new()
                    .when(Condition::compare("$.ok", ComparisonOp::BooleanEquals, true), "Done")
                    .otherwise("Failed"),
            )
            .state("Done", Succeed::new())
            .state("Failed", Fail::new().error("E"));
        let g = mermaid(&m);
        assert!(g.starts_with("flowchart TD\n"), "{g}");
        assert!(g.contains("Work -.->|\"catch States.ALL\"| Failed"), "{g}");
        assert!(g.contains("Check -->|\"$.ok BooleanEquals true\"| Done"), "{g}");
        assert!(g.contains("Check -->|otherwise| Failed"), "{g}");
        assert!(g.contains("Work --> Check"), "{g}");
    }
}
