//! Typed data paths: every path a state reads is checked against the JSON
//! Schema of the data that reaches that state.
//!
//! [`check_paths`] walks a machine the way Step Functions moves data (JSONPath
//! flavour): `InputPath`, `Parameters` / `ItemSelector`, the task result,
//! `ResultSelector`, `ResultPath`, `OutputPath`, and the error output of
//! catchers. It does so on *schemas*, not values: the machine's input schema
//! and, for each Task, the schema of its result as [`ResourceSchemas`] gives
//! it. A path to a field that a type does not have, or that the type declares
//! optional, is a [`PathError`] naming the state, the field of the state that
//! holds the path, and the path.
//!
//! Schemas are JSON Schema as `schemars` 1.x writes them (draft 2020-12,
//! `$defs`, `$ref`, `anyOf` for `Option<Struct>`, `type: [.., "null"]`).
//! Schemas are navigated lazily, so recursive types are fine.
//!
//! The parts:
//!
//! - `value_type`: the type model (`ValueType`: a lazily expanded JSON
//!   Schema node, or a shape the walk built) and how it describes itself;
//! - `navigate`: reading a field or an element of a type, and setting one;
//! - `conformance`: whether what a Task is sent fits its input type;
//! - `checker`: the walk over the graphs, one method per state type;
//! - `jsonpath_io`: the JSONPath flavour: what a path reads from a type, and
//!   (as `Checker` methods) the input and output processing of a state
//!   (`InputPath` to `OutputPath`, templates, intrinsic functions);
//! - `choice`: Choice rules, as `Checker` methods: operand types, and
//!   narrowing a rule's target.
//!
//! `value_type` and `conformance` know nothing about ASL or JSONPath, and
//! `navigate` only about path segments.

use std::fmt;

use indexmap::IndexMap;
use serde_json::Value;

use crate::model::{StateMachine, Task};

mod checker;
mod choice;
mod conformance;
mod jsonpath_io;
mod navigate;
mod value_type;

use checker::Checker;
use value_type::ValueType;

/// Where the schemas of task payloads come from. The caller maps resources
/// (Lambda ARN placeholders, service integrations) to payload types.
pub trait ResourceSchemas {
    /// The JSON Schema of what the Task returns (before `ResultSelector`).
    ///
    /// `None` means "unknown", which is an error: a Task whose result type is
    /// unknown cannot be checked. Return `Some(json!(true))` to opt out
    /// explicitly (the result is then accepted as anything).
    fn task_result(&self, state_name: &str, task: &Task) -> Option<Value>;

    /// The JSON Schema of what the Task expects to receive (its effective
    /// input, after `Parameters`); `None` skips that check.
    fn task_input(&self, _state_name: &str, _task: &Task) -> Option<Value> {
        None
    }
}

/// The input and result types of one resource, for [`ResourceTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTypes {
    pub input: Option<Value>,
    pub result: Value,
}

/// A [`ResourceSchemas`] keyed by the Task's `Resource` string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceTable {
    pub by_resource: IndexMap<String, TaskTypes>,
}

impl ResourceTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `resource` with the schema of its input (if it is to be
    /// checked) and of its result.
    pub fn with(mut self, resource: impl Into<String>, input: Option<Value>, result: Value) -> Self {
        self.by_resource.insert(resource.into(), TaskTypes { input, result });
        self
    }
}

impl ResourceSchemas for ResourceTable {
    fn task_result(&self, _state_name: &str, task: &Task) -> Option<Value> {
        self.by_resource.get(&task.resource).map(|t| t.result.clone())
    }
    fn task_input(&self, _state_name: &str, task: &Task) -> Option<Value> {
        self.by_resource.get(&task.resource).and_then(|t| t.input.clone())
    }
}

/// A path that reads data the state does not receive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathError {
    /// The state, with its enclosing Map / Parallel states: `RunReadyJobs/Load`.
    pub state: String,
    /// The field of the state that holds the path: `Parameters.run_id.$`,
    /// `Choices[0].Variable`, `ItemsPath`.
    pub field: String,
    /// The path as written (empty when the error is not about one path).
    pub path: String,
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "state `{}`, {}: {}", self.state, self.field, self.message)
        } else {
            write!(f, "state `{}`, {} = `{}`: {}", self.state, self.field, self.path, self.message)
        }
    }
}

/// Checks every path of `machine` against the data that reaches it, starting
/// from an execution input described by `input_schema`.
pub fn check_paths(
    machine: &StateMachine,
    input_schema: &Value,
    resources: &dyn ResourceSchemas,
) -> Result<(), Vec<PathError>> {
    let input = ValueType::from_schema(input_schema.clone());
    let mut checker = Checker::new(resources, input.clone());
    checker.language = machine.query_language;
    checker.run_graph("", &machine.start_at, &machine.states, input);
    let errors = checker.into_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One line per error, for test failures and the generator's output.
pub fn render_errors(errors: &[PathError]) -> String {
    errors.iter().map(|e| format!("{e}\n")).collect()
}
