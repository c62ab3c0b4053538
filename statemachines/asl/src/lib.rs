//! A typed model of the Amazon States Language (ASL): both query languages
//! (JSONPath and JSONata) and workflow variables (`Assign`).
//!
//! - [`model`]: the eight state types with every field edba relies on; any ASL
//!   document parses into it and serializes back without loss.
//! - [`choice`]: Choice rules with every comparison operator of the specification.
//! - [`integrations`]: Task builders for Lambda, EMR `addStep.sync` and
//!   `states:startExecution`.
//! - [`jsonata`]: `{% … %}` expressions: syntax, the variables they read.
//! - [`jsonpath`]: JSONPath and intrinsic-function syntax, shared by
//!   validation, typed data paths and any executor.
//! - [`validate`]: the structural rules Step Functions enforces, checked before
//!   anything is written, with errors that name the state and the field.
//! - [`dataflow`]: typed data paths: every path a state reads is checked against
//!   the JSON Schema of the data that reaches it.
//! - [`graph`]: a Mermaid flowchart of a machine.
//!
//! This crate knows nothing about edba's tasks, AWS SDKs or databases.

pub mod choice;
pub mod dataflow;
pub mod graph;
pub mod integrations;
pub mod jsonata;
pub mod jsonpath;
pub mod model;
mod serde_util;
pub mod validate;

pub use choice::{ChoiceRule, Comparison, ComparisonOp, Condition, Operand};
pub use model::*;
