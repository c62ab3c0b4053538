//! Input and output types of edba's five tasks (validate, track, evaluate, load,
//! record) and of the two state machines.
//!
//! These types are the contract between the generated state machines and the
//! Lambdas: the machines' JSONPaths are checked against the JSON Schema of these
//! types at `cargo test` time, so renaming a field here without updating the
//! machine fails the build's tests, never a deployed execution.
//!
//! [`resource`] describes each task resource once: its `${…}` placeholder and
//! its input and output types. [`ingest`] also holds the S3 side of the event
//! contract: the "Object Created" event S3 sends ([`object_created_event`]) and
//! its object-key encoding and decoding.
//!
//! This crate knows nothing about AWS SDKs, databases or the local runtime.

pub mod aggregate;
pub mod errors;
pub mod ingest;
pub mod jobs;
pub mod resource;

pub use aggregate::*;
pub use errors::ErrorName;
pub use ingest::*;
pub use resource::{AnyTaskResource, TaskResource, TASK_RESOURCES};

use schemars::JsonSchema;

/// The JSON Schema of a payload type, as written to `statemachines/schemas/`.
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings.into_generator().into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("a JSON Schema serializes")
}

/// Every task payload type, by file stem, for the generator and the tests.
pub fn task_schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("ingest-input", schema_of::<IngestInput>()),
        ("validate-input", schema_of::<ValidateInput>()),
        ("validate-output", schema_of::<ValidateOutput>()),
        ("track-input", schema_of::<TrackInput>()),
        ("track-output", schema_of::<TrackOutput>()),
        ("aggregate-input", schema_of::<AggregateInput>()),
        ("evaluate-input", schema_of::<EvaluateInput>()),
        ("evaluate-output", schema_of::<EvaluateOutput>()),
        ("load-input", schema_of::<LoadInput>()),
        ("load-output", schema_of::<LoadOutput>()),
        ("record-input", schema_of::<RecordInput>()),
        ("record-output", schema_of::<RecordOutput>()),
        ("jobs-file", schema_of::<jobs::JobsFile>()),
    ]
}
