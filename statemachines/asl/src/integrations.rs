//! Builders for the states edba writes, and Task helpers for the service
//! integrations it uses: Lambda, EMR `addStep.sync`, `states:startExecution`.

use serde_json::{json, Value};

use crate::model::*;
use crate::{ChoiceRule, Condition};

/// The error names Lambda's service raises for transient trouble; AWS
/// recommends retrying them on every Lambda task. `TooManyRequestsException`
/// is throttling: the account's or function's concurrency is used up (a burst
/// of uploads does it); the function did not run.
pub const LAMBDA_SERVICE_ERRORS: [&str; 5] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
];

/// The error of a Lambda invocation whose function ran past its own timeout.
/// Retry it only on a task whose function is idempotent.
pub const LAMBDA_TIMED_OUT: &str = "Sandbox.Timedout";

/// The resource of the EMR "add a step and wait for it" integration.
pub const EMR_ADD_STEP_SYNC: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";
/// The resource of the "start another execution" integration (fire and forget).
pub const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";
/// The resource of the SQS "send a message" integration.
pub const SQS_SEND_MESSAGE: &str = "arn:aws:states:::sqs:sendMessage";
/// The errors the SQS integration raises for transient trouble.
pub const SQS_SERVICE_ERRORS: [&str; 2] = ["SQS.SdkClientException", "SQS.AmazonSQSException"];

/// The default Lambda retrier: the service errors, 2 s, 6 attempts, backoff 2.
pub fn lambda_service_retry() -> Retrier {
    Retrier::on(LAMBDA_SERVICE_ERRORS).interval_seconds(2).max_attempts(6).backoff_rate(2.0)
}

/// An EMR step run through `command-runner.jar`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmrStep {
    /// `Name`, or `Name.$` when `name_path` is true.
    pub name: String,
    pub name_is_path: bool,
    /// `TERMINATE_CLUSTER`, `CANCEL_AND_WAIT` or `CONTINUE`.
    pub action_on_failure: String,
    pub jar: String,
    /// A path to the argument array (`Args.$`).
    pub args_path: String,
}

impl Task {
    /// A Task with only its resource set.
    pub fn new(resource: impl Into<String>) -> Self {
        Task {
            resource: resource.into(),
            comment: None,
            query_language: None,
            arguments: None,
            output: None,
            assign: None,
            input_path: None,
            parameters: None,
            result_selector: None,
            result_path: None,
            output_path: None,
            timeout_seconds: None,
            timeout_seconds_path: None,
            heartbeat_seconds: None,
            heartbeat_seconds_path: None,
            credentials: None,
            retry: Vec::new(),
            catch: Vec::new(),
            next: None,
            end: None,
        }
    }

    /// Invokes a Lambda function given by ARN (usually a `${…}` placeholder);
    /// the function's return value is the task result. Carries the default
    /// Lambda service retrier; [`Task::replace_retry`] replaces it.
    pub fn lambda(function_arn: impl Into<String>) -> Self {
        let mut t = Task::new(function_arn);
        t.retry.push(lambda_service_retry());
        t
    }

    /// Adds a step to an EMR cluster and waits until it finishes
    /// (`addStep.sync`: Step Functions polls EMR, no Lambda does).
    pub fn emr_add_step_sync(cluster_id_path: impl Into<String>, step: EmrStep) -> Self {
        let mut step_json = serde_json::Map::new();
        if step.name_is_path {
            step_json.insert("Name.$".into(), Value::String(step.name));
        } else {
            step_json.insert("Name".into(), Value::String(step.name));
        }
        step_json.insert("ActionOnFailure".into(), Value::String(step.action_on_failure));
        step_json.insert("HadoopJarStep".into(), json!({ "Jar": step.jar, "Args.$": step.args_path }));
        Task::new(EMR_ADD_STEP_SYNC).parameters(json!({
            "ClusterId.$": cluster_id_path.into(),
            "Step": Value::Object(step_json),
        }))
    }

    /// Starts an execution of another state machine without waiting for it.
    pub fn start_execution(state_machine_arn: impl Into<String>, input: Value) -> Self {
        Task::new(START_EXECUTION).parameters(json!({
            "StateMachineArn": state_machine_arn.into(),
            "Input": input,
        }))
    }

    /// Sends one message to an SQS queue; `body_path` selects the message
    /// body (a JSON value is sent as its text); `attributes` are string
    /// message attributes, each value a path.
    pub fn sqs_send_message(queue_url: impl Into<String>, body_path: &str, attributes: &[(&str, &str)]) -> Self {
        let mut params = serde_json::Map::new();
        params.insert("QueueUrl".into(), Value::String(queue_url.into()));
        params.insert("MessageBody.$".into(), Value::String(body_path.into()));
        if !attributes.is_empty() {
            let attrs: serde_json::Map<String, Value> = attributes
                .iter()
                .map(|(name, path)| ((*name).to_owned(), json!({"DataType": "String", "StringValue.$": path})))
                .collect();
            params.insert("MessageAttributes".into(), Value::Object(attrs));
        }
        Task::new(SQS_SEND_MESSAGE).parameters(Value::Object(params))
    }

    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
    pub fn input_path(mut self, p: Option<&str>) -> Self {
        self.input_path = Some(p.map(str::to_owned));
        self
    }
    pub fn parameters(mut self, p: Value) -> Self {
        self.parameters = Some(p);
        self
    }
    pub fn result_selector(mut self, s: Value) -> Self {
        self.result_selector = Some(s);
        self
    }
    pub fn result_path(mut self, p: Option<&str>) -> Self {
        self.result_path = Some(p.map(str::to_owned));
        self
    }
    pub fn output_path(mut self, p: Option<&str>) -> Self {
        self.output_path = Some(p.map(str::to_owned));
        self
    }
    pub fn timeout_seconds(mut self, s: u64) -> Self {
        self.timeout_seconds = Some(s.into());
        self
    }
    pub fn heartbeat_seconds(mut self, s: u64) -> Self {
        self.heartbeat_seconds = Some(s.into());
        self
    }
    /// Adds a retrier after the existing ones.
    pub fn retry(mut self, r: Retrier) -> Self {
        self.retry.push(r);
        self
    }
    /// Replaces every retrier, including the Lambda default.
    pub fn replace_retry(mut self, rs: Vec<Retrier>) -> Self {
        self.retry = rs;
        self
    }
    pub fn catch(mut self, c: Catcher) -> Self {
        self.catch.push(c);
        self
    }
    pub fn next(mut self, n: impl Into<String>) -> Self {
        self.next = Some(n.into());
        self
    }
    pub fn end(mut self) -> Self {
        self.end = Some(true);
        self
    }
}

impl Pass {
    pub fn new() -> Self {
        Pass::default()
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
    pub fn parameters(mut self, p: Value) -> Self {
        self.parameters = Some(p);
        self
    }
    pub fn result(mut self, r: Value) -> Self {
        self.result = Some(r);
        self
    }
    pub fn result_path(mut self, p: Option<&str>) -> Self {
        self.result_path = Some(p.map(str::to_owned));
        self
    }
    pub fn next(mut self, n: impl Into<String>) -> Self {
        self.next = Some(n.into());
        self
    }
    pub fn end(mut self) -> Self {
        self.end = Some(true);
        self
    }
}

impl Choice {
    pub fn new() -> Self {
        Choice::default()
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
    pub fn when(mut self, condition: Condition, next: impl Into<String>) -> Self {
        self.choices.push(ChoiceRule::new(condition, next));
        self
    }
    pub fn otherwise(mut self, next: impl Into<String>) -> Self {
        self.default = Some(next.into());
        self
    }
}

impl Succeed {
    pub fn new() -> Self {
        Succeed::default()
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
}

impl Fail {
    pub fn new() -> Self {
        Fail::default()
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
    pub fn error(mut self, e: impl Into<String>) -> Self {
        self.error = Some(e.into());
        self
    }
    pub fn cause(mut self, c: impl Into<String>) -> Self {
        self.cause = Some(c.into());
        self
    }
    pub fn cause_path(mut self, p: impl Into<String>) -> Self {
        self.cause_path = Some(p.into());
        self
    }
}

impl MapState {
    /// An inline Map over `items_path` running `processor`.
    pub fn inline(items_path: impl Into<String>, start_at: impl Into<String>, states: States) -> Self {
        MapState {
            item_processor: ItemProcessor {
                comment: None,
                processor_config: Some(ProcessorConfig { mode: Some("INLINE".into()), execution_type: None }),
                start_at: start_at.into(),
                states,
            },
            comment: None,
            query_language: None,
            output: None,
            assign: None,
            items: None,
            input_path: None,
            items_path: Some(items_path.into()),
            item_selector: None,
            parameters: None,
            max_concurrency: None,
            result_selector: None,
            result_path: None,
            output_path: None,
            retry: Vec::new(),
            catch: Vec::new(),
            next: None,
            end: None,
        }
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
    pub fn max_concurrency(mut self, n: u64) -> Self {
        self.max_concurrency = Some(n.into());
        self
    }
    pub fn result_path(mut self, p: Option<&str>) -> Self {
        self.result_path = Some(p.map(str::to_owned));
        self
    }
    pub fn next(mut self, n: impl Into<String>) -> Self {
        self.next = Some(n.into());
        self
    }
}

impl StateMachine {
    pub fn new(start_at: impl Into<String>) -> Self {
        StateMachine {
            comment: None,
            query_language: None,
            start_at: start_at.into(),
            states: States::new(),
            version: None,
            timeout_seconds: None,
        }
    }
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
    pub fn timeout_seconds(mut self, s: u64) -> Self {
        self.timeout_seconds = Some(s);
        self
    }
    /// Adds a state; a duplicate name is kept for the validator to report.
    pub fn state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        let name = name.into();
        let state = state.into();
        if self.states.contains_key(&name) {
            // IndexMap cannot hold a duplicate key; keep the first and let the
            // generator's own checks catch that the caller meant two states.
            panic!("state `{name}` is defined twice");
        }
        self.states.insert(name, state);
        self
    }
}

macro_rules! into_state {
    ($($t:ident => $v:ident),*) => {$(
        impl From<$t> for State {
            fn from(s: $t) -> State { State::$v(s) }
        }
    )*};
}
into_state!(Task => Task, Pass => Pass, Choice => Choice, Wait => Wait, Succeed => Succeed, Fail => Fail, Parallel => Parallel, MapState => Map);
