//! The local executor: runs ASL JSON documents (the *generated* files, not the
//! Rust definitions) with the semantics of AWS Step Functions, so a local run
//! proves the committed JSON is right.
//!
//! - Definitions are parsed and checked with [`edba_asl::validate::validate_json`]:
//!   an invalid one is refused with the validator's messages.
//! - Task resources are bound to [`TaskHandler`]s by their exact resource
//!   string (`${ValidateFunctionArn}`, `arn:aws:states:::elasticmapreduce:addStep.sync`).
//!   `arn:aws:states:::states:startExecution` is built in: it starts another
//!   registered machine on the same executor (fire and forget).
//! - Wait and Retry sleeps are multiplied by [`ExecutorConfig::time_scale`];
//!   `TimeoutSeconds` (of tasks and of executions) by
//!   [`ExecutorConfig::timeout_scale`], so tests run in milliseconds while a
//!   real local run keeps real task timeouts.
//! - Every execution keeps a [`History`] of events with timestamps.
//!
//! Differences from AWS are listed in [`run`]'s module docs.

mod choice;
pub(crate) mod history;
pub mod jsonata;
mod path;
mod payload;
pub(crate) mod random;
mod run;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use edba_asl::model::StateMachine;
use edba_asl::validate::{validate_json, ValidationError};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

pub use history::{EventKind, History, HistoryEvent};

/// Error names the executor raises, as Step Functions spells them.
pub mod errors {
    pub const ALL: &str = "States.ALL";
    pub const RUNTIME: &str = "States.Runtime";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    /// Named by the ASL spec, but never raised: Step Functions reports a
    /// failed intrinsic call as [`RUNTIME`].
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// A JSONata expression failed, gave nothing, or gave the wrong type.
    pub const QUERY_EVALUATION: &str = "States.QueryEvaluationError";
    /// A Task whose resource has no local binding. AWS would refuse such a
    /// definition up front; locally it fails the execution, and like
    /// `States.Runtime` it is never retried or caught, so a missing binding
    /// cannot pass for a task outcome.
    pub const UNBOUND_RESOURCE: &str = "Local.UnboundResource";
    /// A task handler panicked.
    pub const HANDLER_PANICKED: &str = "Local.HandlerPanicked";
}

/// The resource of the built-in `startExecution` integration.
pub const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";

/// How a task (or a state) failed: the `Error` and `Cause` of Step Functions'
/// error output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFailure {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure { error: error.into(), cause: cause.into() }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        TaskFailure::new(errors::RUNTIME, cause)
    }

    /// The error output a Catch passes on: `{"Error": …, "Cause": …}`.
    pub fn to_error_output(&self) -> Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskFailure {}

/// What a task handler knows about the call.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_name: String,
    /// How many times this state has been retried so far.
    pub retry_count: u64,
    /// The whole context object (`$$`).
    pub context: Value,
}

/// The local stand-in for a Task resource (a Lambda function, an EMR step,
/// any service integration).
#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn invoke(&self, resource: &str, input: Value, ctx: &TaskContext) -> Result<Value, TaskFailure>;
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send,
{
    async fn invoke(&self, _resource: &str, input: Value, _ctx: &TaskContext) -> Result<Value, TaskFailure> {
        (self.0)(input).await
    }
}

/// A handler with a fault in front of it ([`Executor::inject_fault`]).
struct Faulty {
    inner: Arc<dyn TaskHandler>,
    #[allow(clippy::type_complexity)]
    fault: Box<dyn Fn(&Value) -> Option<TaskFailure> + Send + Sync>,
}

#[async_trait]
impl TaskHandler for Faulty {
    async fn invoke(&self, resource: &str, input: Value, ctx: &TaskContext) -> Result<Value, TaskFailure> {
        if let Some(failure) = (self.fault)(&input) {
            return Err(failure);
        }
        self.inner.invoke(resource, input, ctx).await
    }
}

/// A handler from an async function of the task's input.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Settings of an [`Executor`].
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Multiplies every Wait and Retry delay (`0.001` makes a 2 s backoff 2 ms).
    pub time_scale: f64,
    /// Multiplies `TimeoutSeconds` of tasks and executions.
    pub timeout_scale: f64,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
    /// Keep every execution's handle (and so its history) after it ends, for
    /// [`Executor::executions`] and [`Executor::wait_all`]'s results: what a
    /// bounded batch (`edba run`) reports. `false` for a process that runs
    /// on (`edba serve`, whose execution log keeps them): only running
    /// executions are kept, so memory stays flat however many have run.
    pub keep_finished: bool,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            time_scale: 1.0,
            timeout_scale: 1.0,
            role_arn: "arn:aws:iam::000000000000:role/edba-local".into(),
            keep_finished: true,
        }
    }
}

/// Why the executor refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutorError {
    /// The definition breaks ASL rules; every violation is listed.
    InvalidDefinition { name: String, errors: Vec<ValidationError> },
    /// No definition is registered under that name, ARN or alias.
    UnknownStateMachine(String),
    /// An execution of that name already exists for the machine.
    ExecutionAlreadyExists(String),
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::InvalidDefinition { name, errors } => {
                write!(f, "state machine \"{name}\" is not valid ASL:")?;
                for e in errors {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
            ExecutorError::UnknownStateMachine(n) => write!(f, "no state machine \"{n}\" is registered"),
            ExecutorError::ExecutionAlreadyExists(arn) => write!(f, "execution {arn} already exists"),
        }
    }
}

impl std::error::Error for ExecutorError {}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
        })
    }
}

/// The end of an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionResult {
    pub execution_arn: String,
    pub state_machine: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: History,
}

/// Hears of every execution's start and end (the execution log).
pub trait ExecutionObserver: Send + Sync {
    fn started(&self, handle: &ExecutionHandle);
    fn finished(&self, result: &ExecutionResult);
}

/// A started execution; [`wait`](ExecutionHandle::wait) for its result.
#[derive(Debug, Clone)]
pub struct ExecutionHandle {
    pub execution_arn: String,
    pub state_machine: String,
    pub name: String,
    /// When it started, RFC 3339 UTC.
    pub start_date: String,
    done: watch::Receiver<Option<Arc<ExecutionResult>>>,
    recorder: history::Recorder,
}

impl ExecutionHandle {
    /// Waits until the execution ends.
    pub async fn wait(&self) -> ExecutionResult {
        let mut rx = self.done.clone();
        let result = match rx.wait_for(Option::is_some).await {
            Ok(r) => r.as_ref().expect("checked by wait_for").clone(),
            Err(_) => unreachable!("the execution task always sends its result"),
        };
        (*result).clone()
    }

    pub fn is_finished(&self) -> bool {
        self.done.borrow().is_some()
    }

    /// The result, if it has ended.
    pub fn result(&self) -> Option<Arc<ExecutionResult>> {
        self.done.borrow().clone()
    }

    /// Its history so far (all of it once it has ended).
    pub fn history(&self) -> History {
        self.recorder.snapshot()
    }
}

pub(crate) struct Definition {
    pub name: String,
    pub arn: String,
    pub machine: StateMachine,
}

pub(crate) struct Inner {
    pub config: ExecutorConfig,
    definitions: RwLock<HashMap<String, Arc<Definition>>>,
    aliases: RwLock<HashMap<String, String>>,
    handlers: RwLock<HashMap<String, Arc<dyn TaskHandler>>>,
    executions: Mutex<Vec<ExecutionHandle>>,
    observers: RwLock<Vec<Arc<dyn ExecutionObserver>>>,
}

/// Runs state machines locally. Cheap to clone; clones share definitions,
/// bindings and executions.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.inner.config)
            .field("definitions", &self.inner.definitions.read().expect("lock").keys().collect::<Vec<_>>())
            .field("bindings", &self.inner.handlers.read().expect("lock").keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The ARN a registered machine gets.
pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:local:000000000000:stateMachine:{name}")
}

/// The ARN of an execution of a machine.
pub fn execution_arn(machine: &str, execution: &str) -> String {
    format!("arn:aws:states:local:000000000000:execution:{machine}:{execution}")
}

fn parse_definition(name: &str, json: &str) -> Result<Definition, ExecutorError> {
    let machine =
        validate_json(json).map_err(|errors| ExecutorError::InvalidDefinition { name: name.to_string(), errors })?;
    Ok(Definition { name: name.to_string(), arn: state_machine_arn(name), machine })
}

impl Executor {
    pub fn new(config: ExecutorConfig) -> Self {
        Executor {
            inner: Arc::new(Inner {
                config,
                definitions: RwLock::new(HashMap::new()),
                aliases: RwLock::new(HashMap::new()),
                handlers: RwLock::new(HashMap::new()),
                executions: Mutex::new(Vec::new()),
                observers: RwLock::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &ExecutorConfig {
        &self.inner.config
    }

    /// Validates and registers a definition under `name`; its ARN is
    /// [`state_machine_arn`]`(name)`. Registering a name again replaces it.
    pub fn register_definition(&self, name: &str, json: &str) -> Result<String, ExecutorError> {
        let def = Arc::new(parse_definition(name, json)?);
        let arn = def.arn.clone();
        self.inner.definitions.write().expect("lock").insert(name.to_string(), def);
        Ok(arn)
    }

    /// Makes `alias` (for example the placeholder `${AggregateStateMachineArn}`
    /// a definition uses as `StateMachineArn`) name the registered machine `name`.
    pub fn alias(&self, alias: &str, name: &str) {
        self.inner.aliases.write().expect("lock").insert(alias.to_string(), name.to_string());
    }

    /// Binds a resource string to a handler (replacing an earlier binding).
    pub fn bind(&self, resource: &str, handler: Arc<dyn TaskHandler>) {
        self.inner.handlers.write().expect("lock").insert(resource.to_string(), handler);
    }

    /// Puts `fault` in front of the handler bound to `resource`: every call
    /// asks it first and fails with the failure it returns, if any, without
    /// reaching the handler. For fault-injection tests (throttling, a store
    /// that is down); `false` when nothing is bound to `resource`.
    pub fn inject_fault(
        &self,
        resource: &str,
        fault: impl Fn(&Value) -> Option<TaskFailure> + Send + Sync + 'static,
    ) -> bool {
        let Some(inner) = self.handler(resource) else { return false };
        self.bind(resource, Arc::new(Faulty { inner, fault: Box::new(fault) }));
        true
    }

    pub(crate) fn handler(&self, resource: &str) -> Option<Arc<dyn TaskHandler>> {
        self.inner.handlers.read().expect("lock").get(resource).cloned()
    }

    /// A registered machine by name, ARN or alias.
    fn definition(&self, key: &str) -> Option<Arc<Definition>> {
        let defs = self.inner.definitions.read().expect("lock");
        if let Some(d) = defs.get(key) {
            return Some(d.clone());
        }
        if let Some(d) = defs.values().find(|d| d.arn == key) {
            return Some(d.clone());
        }
        let alias = self.inner.aliases.read().expect("lock").get(key).cloned()?;
        defs.get(&alias).cloned()
    }

    /// Starts an execution of a registered machine (by name, ARN or alias),
    /// or of a definition given as JSON text (named `anonymous`, not
    /// registered). Must be called inside a Tokio runtime.
    /// `execution_name` defaults to a random UUID.
    pub fn start(
        &self,
        machine: &str,
        input: Value,
        execution_name: Option<String>,
    ) -> Result<ExecutionHandle, ExecutorError> {
        let def = if machine.trim_start().starts_with('{') {
            Arc::new(parse_definition("anonymous", machine)?)
        } else {
            self.definition(machine).ok_or_else(|| ExecutorError::UnknownStateMachine(machine.to_string()))?
        };
        let name = execution_name.unwrap_or_else(random::uuid_v4);
        let arn = execution_arn(&def.name, &name);
        let mut executions = self.inner.executions.lock().expect("lock");
        if executions.iter().any(|h| h.execution_arn == arn) {
            return Err(ExecutorError::ExecutionAlreadyExists(arn));
        }
        let (tx, rx) = watch::channel(None);
        let recorder = history::Recorder::new();
        let handle = ExecutionHandle {
            execution_arn: arn.clone(),
            state_machine: def.name.clone(),
            name: name.clone(),
            start_date: history::now_rfc3339(),
            done: rx,
            recorder: recorder.clone(),
        };
        executions.push(handle.clone());
        drop(executions);
        let observers = self.observers();
        for observer in &observers {
            observer.started(&handle);
        }
        let exec = self.clone();
        let registry = self.clone();
        tokio::spawn(async move {
            let job = tokio::spawn(run::execute(exec, def.clone(), arn.clone(), name.clone(), input, recorder.clone()));
            let result = match job.await {
                Ok(r) => r,
                Err(e) => {
                    let cause = format!("the execution panicked: {e}");
                    recorder.record(EventKind::ExecutionFailed {
                        error: errors::HANDLER_PANICKED.into(),
                        cause: cause.clone(),
                    });
                    ExecutionResult {
                        execution_arn: arn,
                        state_machine: def.name.clone(),
                        name,
                        status: ExecutionStatus::Failed,
                        output: None,
                        error: Some(errors::HANDLER_PANICKED.into()),
                        cause: Some(cause),
                        history: recorder.snapshot(),
                    }
                }
            };
            for observer in &observers {
                observer.finished(&result);
            }
            // Before its waiters hear of the end, so `wait_all` never finds
            // an ended execution among the running ones.
            if !registry.inner.config.keep_finished {
                registry.inner.executions.lock().expect("lock").retain(|h| h.execution_arn != result.execution_arn);
            }
            let _ = tx.send(Some(Arc::new(result)));
        });
        Ok(handle)
    }

    /// Runs `json` (as a machine named `anonymous`, not registered) with
    /// `input` and waits for the result.
    pub async fn run_definition(&self, json: &str, input: Value) -> Result<ExecutionResult, ExecutorError> {
        let handle = self.start(json, input, None)?;
        Ok(handle.wait().await)
    }

    /// Tells `observer` (besides those already observing) of every
    /// execution started from now on, and of its end.
    pub fn observe(&self, observer: Arc<dyn ExecutionObserver>) {
        self.inner.observers.write().expect("lock").push(observer);
    }

    fn observers(&self) -> Vec<Arc<dyn ExecutionObserver>> {
        self.inner.observers.read().expect("lock").clone()
    }

    /// Every execution started so far (running ones only, unless
    /// [`ExecutorConfig::keep_finished`]), in start order.
    pub fn executions(&self) -> Vec<ExecutionHandle> {
        self.inner.executions.lock().expect("lock").clone()
    }

    /// Waits until every execution (including those started meanwhile, by
    /// `startExecution`) has ended; returns their results in start order
    /// (those of the executions running when called, unless
    /// [`ExecutorConfig::keep_finished`]).
    pub async fn wait_all(&self) -> Vec<ExecutionResult> {
        let mut results = Vec::new();
        if !self.inner.config.keep_finished {
            loop {
                let running = self.executions();
                if running.is_empty() {
                    return results;
                }
                for h in &running {
                    results.push(h.wait().await);
                }
            }
        }
        loop {
            let handles = self.executions();
            if handles.len() == results.len() {
                return results;
            }
            for h in &handles[results.len()..] {
                results.push(h.wait().await);
            }
        }
    }
}
