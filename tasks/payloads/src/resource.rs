//! The five task resources of the machines: for each, the `${…}` placeholder
//! the generated ASL names it by (CloudFormation fills it with the function's
//! ARN) and the types it takes and returns.
//!
//! This is the one place a task's name and types are spelled. The generator
//! looks a resource's schemas up here, the local runtime binds each handler
//! through its descriptor (so a handler of the wrong types does not compile),
//! and the deployment template's `DefinitionSubstitutions` are tested against
//! [`TASK_RESOURCES`].

use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde_json::Value;

use crate::aggregate::{EvaluateInput, EvaluateOutput, LoadInput, LoadOutput, RecordInput, RecordOutput};
use crate::ingest::{TrackInput, TrackOutput, ValidateInput, ValidateOutput};
use crate::schema_of;

/// A task resource whose input is `I` and whose output is `O`.
pub struct TaskResource<I, O> {
    /// The task's name (`validate`), as in its Lambda binary and messages.
    pub task: &'static str,
    /// The placeholder's name (`ValidateFunctionArn`), without `${…}`.
    pub placeholder: &'static str,
    /// The function's Lambda timeout (the template's `Timeout`). The
    /// machines' Task states wait [`LAMBDA_TIMEOUT_GRACE_SECONDS`] longer, so
    /// the function's own timeout (`Sandbox.Timedout`, retried) fires first.
    pub timeout_seconds: u64,
    types: PhantomData<fn(I) -> O>,
}

/// How much longer a Task state waits than its function's Lambda timeout.
pub const LAMBDA_TIMEOUT_GRACE_SECONDS: u64 = 2;

impl<I, O> TaskResource<I, O> {
    const fn new(task: &'static str, placeholder: &'static str, timeout_seconds: u64) -> Self {
        TaskResource { task, placeholder, timeout_seconds, types: PhantomData }
    }

    /// The `TimeoutSeconds` of a Task state that invokes this function.
    pub const fn state_timeout_seconds(&self) -> u64 {
        self.timeout_seconds + LAMBDA_TIMEOUT_GRACE_SECONDS
    }

    /// `${Placeholder}`: the resource as the generated JSON writes it.
    pub fn token(&self) -> String {
        token(self.placeholder)
    }
}

impl<I: JsonSchema, O: JsonSchema> TaskResource<I, O> {
    /// The same resource with its types as JSON Schema, for lists and lookups.
    pub const fn schemas(&self) -> AnyTaskResource {
        AnyTaskResource {
            task: self.task,
            placeholder: self.placeholder,
            timeout_seconds: self.timeout_seconds,
            input_schema: schema_of::<I>,
            output_schema: schema_of::<O>,
        }
    }
}

// Written by hand: derives would require `I` and `O` to be `Clone`, `Debug`, ….
impl<I, O> Clone for TaskResource<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for TaskResource<I, O> {}

impl<I, O> fmt::Debug for TaskResource<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskResource").field("task", &self.task).field("placeholder", &self.placeholder).finish()
    }
}

/// A task resource with its types erased to their JSON Schemas.
#[derive(Debug, Clone, Copy)]
pub struct AnyTaskResource {
    pub task: &'static str,
    pub placeholder: &'static str,
    pub timeout_seconds: u64,
    pub input_schema: fn() -> Value,
    pub output_schema: fn() -> Value,
}

impl AnyTaskResource {
    /// `${Placeholder}`: the resource as the generated JSON writes it.
    pub fn token(&self) -> String {
        token(self.placeholder)
    }
}

fn token(placeholder: &str) -> String {
    format!("${{{placeholder}}}")
}

// The ingest machine is EXPRESS: AWS ends its executions after 5 minutes,
// so validate and track are short (the machine's whole retry budget is
// computed from the generated JSON by a test). Evaluate's timeout bounds its
// criteria's time budget (`edba_tasks::evaluate`).
pub const VALIDATE: TaskResource<ValidateInput, ValidateOutput> =
    TaskResource::new("validate", "ValidateFunctionArn", 50);
pub const TRACK: TaskResource<TrackInput, TrackOutput> = TaskResource::new("track", "TrackFunctionArn", 10);
pub const EVALUATE: TaskResource<EvaluateInput, EvaluateOutput> =
    TaskResource::new("evaluate", "EvaluateFunctionArn", 300);
pub const LOAD: TaskResource<LoadInput, LoadOutput> = TaskResource::new("load", "LoadFunctionArn", 900);
pub const RECORD: TaskResource<RecordInput, RecordOutput> = TaskResource::new("record", "RecordFunctionArn", 30);

/// Every task resource, in pipeline order.
pub const TASK_RESOURCES: [AnyTaskResource; 5] =
    [VALIDATE.schemas(), TRACK.schemas(), EVALUATE.schemas(), LOAD.schemas(), RECORD.schemas()];

/// The task resource the generated JSON names `resource` (`${…}`), if any.
pub fn task_resource(resource: &str) -> Option<AnyTaskResource> {
    TASK_RESOURCES.into_iter().find(|r| r.token() == resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_placeholders_are_unique_and_tokens_are_placeholders() {
        let mut tasks: Vec<&str> = TASK_RESOURCES.iter().map(|r| r.task).collect();
        let mut placeholders: Vec<&str> = TASK_RESOURCES.iter().map(|r| r.placeholder).collect();
        tasks.sort_unstable();
        tasks.dedup();
        placeholders.sort_unstable();
        placeholders.dedup();
        assert_eq!((tasks.len(), placeholders.len()), (5, 5));
        assert_eq!(VALIDATE.token(), "${ValidateFunctionArn}");
        for r in TASK_RESOURCES {
            assert_eq!(task_resource(&r.token()).map(|found| found.task), Some(r.task));
        }
        assert!(task_resource("ValidateFunctionArn").is_none(), "only the ${{…}} token names a resource");
    }

    #[test]
    fn the_erased_schemas_are_the_types_schemas() {
        let track = task_resource("${TrackFunctionArn}").unwrap();
        assert_eq!((track.input_schema)(), schema_of::<TrackInput>());
        assert_eq!((track.output_schema)(), schema_of::<TrackOutput>());
    }
}
