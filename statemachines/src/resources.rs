//! The `${…}` placeholders of the generated machines (filled by CloudFormation
//! `DefinitionSubstitutions`, so one JSON deploys to any account), and the
//! payload types of each task resource. The task resources' placeholders and
//! types are the contract crate's descriptors ([`edba_payloads::resource`]);
//! this module adds what deployment needs to know about each placeholder.

use edba_asl::dataflow::ResourceSchemas;
use edba_asl::integrations::{EMR_ADD_STEP_SYNC, SQS_SEND_MESSAGE, START_EXECUTION};
use edba_asl::Task;
use edba_payloads as p;
use serde_json::Value;

/// A placeholder of the generated JSON: its name in `${…}` and what it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder {
    pub name: &'static str,
    pub description: &'static str,
    /// A well-formed example value, for validators and docs.
    pub example: &'static str,
}

impl Placeholder {
    /// `${Name}`, as written in the JSON.
    pub fn token(&self) -> String {
        format!("${{{}}}", self.name)
    }
}

pub const VALIDATE_FUNCTION: Placeholder = Placeholder {
    name: p::resource::VALIDATE.placeholder,
    description: "ARN of the validate Lambda function",
    example: "arn:aws:lambda:us-east-1:123456789012:function:edba-validate",
};
pub const TRACK_FUNCTION: Placeholder = Placeholder {
    name: p::resource::TRACK.placeholder,
    description: "ARN of the track Lambda function",
    example: "arn:aws:lambda:us-east-1:123456789012:function:edba-track",
};
pub const EVALUATE_FUNCTION: Placeholder = Placeholder {
    name: p::resource::EVALUATE.placeholder,
    description: "ARN of the evaluate Lambda function",
    example: "arn:aws:lambda:us-east-1:123456789012:function:edba-evaluate",
};
pub const LOAD_FUNCTION: Placeholder = Placeholder {
    name: p::resource::LOAD.placeholder,
    description: "ARN of the load Lambda function",
    example: "arn:aws:lambda:us-east-1:123456789012:function:edba-load",
};
pub const RECORD_FUNCTION: Placeholder = Placeholder {
    name: p::resource::RECORD.placeholder,
    description: "ARN of the record Lambda function",
    example: "arn:aws:lambda:us-east-1:123456789012:function:edba-record",
};
pub const AGGREGATE_STATE_MACHINE: Placeholder = Placeholder {
    name: "AggregateStateMachineArn",
    description: "ARN of the aggregate state machine, started by ingest",
    example: "arn:aws:states:us-east-1:123456789012:stateMachine:edba-aggregate",
};

pub const INGEST_DEAD_LETTER_QUEUE: Placeholder = Placeholder {
    name: "IngestDeadLetterQueueUrl",
    description: "URL of the SQS queue where ingest parks the events it could not ingest",
    example: "https://sqs.us-east-1.amazonaws.com/123456789012/edba-ingest-dlq",
};

/// Every placeholder the pipeline uses.
pub const ALL: [Placeholder; 7] = [
    VALIDATE_FUNCTION,
    TRACK_FUNCTION,
    EVALUATE_FUNCTION,
    LOAD_FUNCTION,
    RECORD_FUNCTION,
    AGGREGATE_STATE_MACHINE,
    INGEST_DEAD_LETTER_QUEUE,
];

/// Replaces every `${…}` placeholder of `text` with its example value, for
/// validators that need well-formed ARNs.
pub fn with_example_arns(text: &str) -> String {
    ALL.iter().fold(text.to_owned(), |t, p| t.replace(&p.token(), p.example))
}

/// The `${Name}` tokens used in `text`, in order of first appearance.
pub fn placeholders_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].to_owned();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 1..];
    }
    out
}

/// What each pipeline task resource takes and returns, as JSON Schema.
#[derive(Debug, Default, Clone, Copy)]
pub struct PipelineResources;

impl PipelineResources {
    fn lambda_types(resource: &str) -> Option<(Value, Value)> {
        p::resource::task_resource(resource).map(|r| ((r.input_schema)(), (r.output_schema)()))
    }
}

impl ResourceSchemas for PipelineResources {
    fn task_result(&self, _state: &str, task: &Task) -> Option<Value> {
        if let Some((_, out)) = Self::lambda_types(&task.resource) {
            return Some(out);
        }
        match task.resource.as_str() {
            // The optimized EMR integration returns the step description; edba
            // passes it to record as an opaque value and reads nothing from it.
            EMR_ADD_STEP_SYNC => Some(serde_json::json!({"type": "object"})),
            START_EXECUTION => Some(serde_json::json!({
                "type": "object",
                "properties": {
                    "ExecutionArn": {"type": "string"},
                    "StartDate": {"type": "string"}
                },
                "required": ["ExecutionArn", "StartDate"]
            })),
            SQS_SEND_MESSAGE => Some(serde_json::json!({
                "type": "object",
                "properties": {
                    "MessageId": {"type": "string"},
                    "MD5OfMessageBody": {"type": "string"}
                },
                "required": ["MessageId"]
            })),
            _ => None,
        }
    }

    fn task_input(&self, _state: &str, task: &Task) -> Option<Value> {
        Self::lambda_types(&task.resource).map(|(input, _)| input)
    }
}
