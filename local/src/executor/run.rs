//! The interpreter: one execution of one machine.
//!
//! Known differences from AWS Step Functions:
//! - only the JSONPath query language (no JSONata, no `Assign` variables);
//! - Map runs inline only (no `ItemReader`, `ItemBatcher`,
//!   `ResultWriter`, `ToleratedFailure…`); `HeartbeatSeconds` and
//!   `Credentials` are ignored;
//! - `startExecution` is fire and forget only (no `.sync`);
//! - payload size limits are not enforced.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use edba_asl::jsonpath::JsonPath;
use edba_asl::model::{
    Catcher, Choice, Fail, JitterStrategy, MapState, NullablePath, Parallel, Pass, Retrier, State, States, Task, Wait,
};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::history::{now_rfc3339, EventKind, Recorder};
use super::payload::{self, Scope};
use super::{
    choice, errors, path, random, Definition, ExecutionResult, ExecutionStatus, Executor, TaskContext, TaskFailure,
    START_EXECUTION,
};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What is fixed for the whole execution.
struct Run {
    exec: Executor,
    rec: Recorder,
    arn: String,
    name: String,
    /// `$$.Execution` and `$$.StateMachine`.
    execution: Value,
    state_machine: Value,
}

enum Flow {
    Next(String, Value),
    End(Value),
}

pub(crate) async fn execute(
    exec: Executor,
    def: Arc<Definition>,
    arn: String,
    name: String,
    input: Value,
    rec: Recorder,
) -> ExecutionResult {
    let run = Run {
        execution: json!({
            "Id": arn,
            "Input": input,
            "Name": name,
            "RoleArn": exec.config().role_arn,
            "StartTime": now_rfc3339(),
        }),
        state_machine: json!({"Id": def.arn, "Name": def.name}),
        exec,
        rec,
        arn,
        name,
    };
    run.rec.record(EventKind::ExecutionStarted {
        execution_arn: run.arn.clone(),
        state_machine_arn: def.arn.clone(),
        input: input.clone(),
    });
    let machine = &def.machine;
    let body = run_scope(&run, &machine.start_at, &machine.states, input);
    let outcome = match machine.timeout_seconds {
        Some(s) => {
            let limit = scaled(s as f64, run.exec.config().timeout_scale);
            match tokio::time::timeout(limit, body).await {
                Ok(r) => r.map_err(|f| (f, ExecutionStatus::Failed)),
                Err(_) => Err((
                    TaskFailure::new(errors::TIMEOUT, format!("The execution exceeded its TimeoutSeconds of {s}")),
                    ExecutionStatus::TimedOut,
                )),
            }
        }
        None => body.await.map_err(|f| (f, ExecutionStatus::Failed)),
    };
    let (status, output, error, cause) = match outcome {
        Ok(output) => {
            run.rec.record(EventKind::ExecutionSucceeded { output: output.clone() });
            (ExecutionStatus::Succeeded, Some(output), None, None)
        }
        Err((f, status)) => {
            let kind = if status == ExecutionStatus::TimedOut {
                EventKind::ExecutionTimedOut { error: f.error.clone(), cause: f.cause.clone() }
            } else {
                EventKind::ExecutionFailed { error: f.error.clone(), cause: f.cause.clone() }
            };
            run.rec.record(kind);
            (status, None, Some(f.error), Some(f.cause))
        }
    };
    ExecutionResult {
        execution_arn: run.arn.clone(),
        state_machine: def.name.clone(),
        name: run.name.clone(),
        status,
        output,
        error,
        cause,
        history: run.rec.snapshot(),
    }
}

fn scaled(seconds: f64, scale: f64) -> Duration {
    Duration::from_secs_f64((seconds * scale).max(0.0))
}

impl Run {
    fn context(&self, state: &str, entered: &str, retry_count: u64) -> Value {
        json!({
            "Execution": self.execution,
            "StateMachine": self.state_machine,
            "State": {"Name": state, "EnteredTime": entered, "RetryCount": retry_count},
        })
    }
}

/// Runs the states of a machine, a Parallel branch or a Map iteration from
/// `start_at` until one ends it.
fn run_scope<'a>(
    run: &'a Run,
    start_at: &'a str,
    states: &'a States,
    input: Value,
) -> BoxFuture<'a, Result<Value, TaskFailure>> {
    Box::pin(async move {
        let mut current = start_at.to_string();
        let mut data = input;
        loop {
            let state =
                states.get(&current).ok_or_else(|| TaskFailure::runtime(format!("no state named \"{current}\"")))?;
            run.rec.record(EventKind::StateEntered { name: current.clone(), input: data.clone() });
            let entered = now_rfc3339();
            match run_state(run, &current, state, data, &entered).await {
                Ok(Flow::Next(next, output)) => {
                    run.rec.record(EventKind::StateExited { name: current.clone(), output: output.clone() });
                    current = next;
                    data = output;
                }
                Ok(Flow::End(output)) => {
                    run.rec.record(EventKind::StateExited { name: current.clone(), output: output.clone() });
                    return Ok(output);
                }
                Err(f) => return Err(f),
            }
        }
    })
}

/// Where a retrying state goes: a catcher's `Next` if one took over.
fn flow(caught: Option<String>, next: &Option<String>, out: Value) -> Flow {
    match caught {
        Some(n) => Flow::Next(n, out),
        None => after(next, out),
    }
}

fn after(next: &Option<String>, output: Value) -> Flow {
    match next {
        Some(n) => Flow::Next(n.clone(), output),
        None => Flow::End(output),
    }
}

async fn run_state(run: &Run, name: &str, state: &State, raw: Value, entered: &str) -> Result<Flow, TaskFailure> {
    let simple = |r: Result<Flow, TaskFailure>| {
        if let Err(f) = &r {
            run.rec.record(EventKind::StateFailed {
                name: name.to_string(),
                error: f.error.clone(),
                cause: f.cause.clone(),
            });
        }
        r
    };
    match state {
        State::Pass(p) => simple(pass(run, name, p, raw, entered)),
        State::Choice(c) => simple(choose(run, name, c, raw, entered)),
        State::Wait(w) => simple(wait(run, name, w, raw, entered).await),
        State::Succeed(s) => {
            let ctx = run.context(name, entered, 0);
            simple(
                input_path(&s.input_path, &raw, &ctx).and_then(|v| output_path(&s.output_path, v, &ctx)).map(Flow::End),
            )
        }
        State::Fail(f) => Err(fail(run, name, f, &raw, entered)),
        State::Task(t) => with_retry_and_catch(run, name, &t.retry, &t.catch, &raw, |retries| {
            task(run, name, t, &raw, entered, retries)
        })
        .await
        .map(|(out, next)| flow(next, &t.next, out)),
        State::Map(m) => with_retry_and_catch(run, name, &m.retry, &m.catch, &raw, |retries| {
            map(run, name, m, &raw, entered, retries)
        })
        .await
        .map(|(out, next)| flow(next, &m.next, out)),
        State::Parallel(p) => with_retry_and_catch(run, name, &p.retry, &p.catch, &raw, |retries| {
            parallel(run, name, p, &raw, entered, retries)
        })
        .await
        .map(|(out, next)| flow(next, &p.next, out)),
    }
}

// ---------------------------------------------------------------------------
// Input and output processing

fn parse_path(text: &str, field: &str) -> Result<JsonPath, TaskFailure> {
    JsonPath::parse(text).map_err(|e| TaskFailure::runtime(format!("Invalid {field} '{text}': {e}")))
}

/// `InputPath`: absent = `$`, `null` = `{}`; a `$$` path reads the context
/// object, as in Step Functions.
fn input_path(p: &NullablePath, raw: &Value, ctx: &Value) -> Result<Value, TaskFailure> {
    select_path(p, raw, ctx, "InputPath")
}

/// `OutputPath`: absent = `$`, `null` = `{}`; `$$` reads the context object.
fn output_path(p: &NullablePath, v: Value, ctx: &Value) -> Result<Value, TaskFailure> {
    match p {
        None => Ok(v),
        _ => select_path(p, &v, ctx, "OutputPath"),
    }
}

fn select_path(p: &NullablePath, v: &Value, ctx: &Value, field: &str) -> Result<Value, TaskFailure> {
    match p {
        None => Ok(v.clone()),
        Some(None) => Ok(json!({})),
        Some(Some(text)) => {
            let jp = parse_path(text, field)?;
            let data = if jp.is_context() { ctx } else { v };
            path::read(&jp, v, ctx).ok_or_else(|| {
                TaskFailure::runtime(format!(
                    "Invalid path '{text}' : No results for path: {text} in {field} of '{data}'"
                ))
            })
        }
    }
}

/// `ResultPath`: absent = `$` (the result replaces the input), `null` = the
/// input unchanged, a path = the result merged into the raw input there.
fn result_path(p: &NullablePath, raw: &Value, result: Value) -> Result<Value, TaskFailure> {
    match p {
        None => Ok(result),
        Some(None) => Ok(raw.clone()),
        Some(Some(text)) => {
            let jp = parse_path(text, "ResultPath")?;
            let mut out = raw.clone();
            path::write(&mut out, &jp.segments, result).map_err(|e| {
                TaskFailure::runtime(format!("Unable to apply ResultPath '{text}' to input '{raw}': {}", e.0))
            })?;
            Ok(out)
        }
    }
}

fn template(t: &Option<Value>, input: Value, context: &Value, field: &str) -> Result<Value, TaskFailure> {
    match t {
        Some(t) => payload::resolve_template(t, Scope { input: &input, context }, field),
        None => Ok(input),
    }
}

// ---------------------------------------------------------------------------
// States without retries

fn pass(run: &Run, name: &str, p: &Pass, raw: Value, entered: &str) -> Result<Flow, TaskFailure> {
    let ctx = run.context(name, entered, 0);
    let effective = input_path(&p.input_path, &raw, &ctx)?;
    let result = match &p.result {
        Some(r) => r.clone(),
        None => template(&p.parameters, effective, &ctx, "Parameters")?,
    };
    let out = output_path(&p.output_path, result_path(&p.result_path, &raw, result)?, &ctx)?;
    Ok(after(&p.next, out))
}

fn choose(run: &Run, name: &str, c: &Choice, raw: Value, entered: &str) -> Result<Flow, TaskFailure> {
    let ctx = run.context(name, entered, 0);
    let effective = input_path(&c.input_path, &raw, &ctx)?;
    let mut next = None;
    for rule in &c.choices {
        if choice::holds(&rule.condition, &effective, &ctx)? {
            next = Some(rule.next.clone());
            break;
        }
    }
    let next = next.or_else(|| c.default.clone()).ok_or_else(|| {
        TaskFailure::new(
            errors::NO_CHOICE_MATCHED,
            format!("No Choice rule of state \"{name}\" matched and it has no Default"),
        )
    })?;
    run.rec.record(EventKind::ChoiceMatched { state: name.to_string(), next: next.clone() });
    Ok(Flow::Next(next, output_path(&c.output_path, effective, &ctx)?))
}

async fn wait(run: &Run, name: &str, w: &Wait, raw: Value, entered: &str) -> Result<Flow, TaskFailure> {
    let ctx = run.context(name, entered, 0);
    let effective = input_path(&w.input_path, &raw, &ctx)?;
    let seconds_until = |ts: &str, field: &str| -> Result<f64, TaskFailure> {
        let t = choice::parse_timestamp(ts)
            .ok_or_else(|| TaskFailure::runtime(format!("{field} '{ts}' is not an RFC 3339 timestamp")))?;
        let now = time::OffsetDateTime::now_utc();
        Ok((t - now).as_seconds_f64().max(0.0))
    };
    let read = |text: &str, field: &str| -> Result<Value, TaskFailure> {
        payload::read_for_field(&parse_path(text, field)?, Scope { input: &effective, context: &ctx }, field)
    };
    let seconds = if let Some(s) = w.seconds {
        s as f64
    } else if let Some(ts) = &w.timestamp {
        seconds_until(ts, "Timestamp")?
    } else if let Some(p) = &w.seconds_path {
        let v = read(p, "SecondsPath")?;
        match v.as_u64() {
            Some(s) => s as f64,
            None => {
                return Err(TaskFailure::runtime(format!(
                    "SecondsPath '{p}' must select a non-negative integer, not {v}"
                )))
            }
        }
    } else if let Some(p) = &w.timestamp_path {
        let v = read(p, "TimestampPath")?;
        match v.as_str() {
            Some(ts) => seconds_until(ts, "TimestampPath")?,
            None => {
                return Err(TaskFailure::runtime(format!(
                    "TimestampPath '{p}' must select a timestamp string, not {v}"
                )))
            }
        }
    } else {
        0.0
    };
    run.rec.record(EventKind::WaitStarted { state: name.to_string(), seconds });
    tokio::time::sleep(scaled(seconds, run.exec.config().time_scale)).await;
    Ok(after(&w.next, output_path(&w.output_path, effective, &ctx)?))
}

fn fail(run: &Run, name: &str, f: &Fail, raw: &Value, entered: &str) -> TaskFailure {
    let ctx = run.context(name, entered, 0);
    let scope = Scope { input: raw, context: &ctx };
    let field = |literal: &Option<String>, expr: &Option<String>, field: &str| -> Result<String, TaskFailure> {
        match (literal, expr) {
            (Some(l), _) => Ok(l.clone()),
            (None, Some(e)) => match payload::eval_expression(e, scope, field)? {
                Value::String(s) => Ok(s),
                other => Err(TaskFailure::runtime(format!("{field} '{e}' must give a string, not {other}"))),
            },
            (None, None) => Ok(String::new()),
        }
    };
    let result = field(&f.error, &f.error_path, "ErrorPath")
        .and_then(|error| Ok(TaskFailure::new(error, field(&f.cause, &f.cause_path, "CausePath")?)));
    let failure = result.unwrap_or_else(|e| e);
    run.rec.record(EventKind::StateFailed {
        name: name.to_string(),
        error: failure.error.clone(),
        cause: failure.cause.clone(),
    });
    failure
}

// ---------------------------------------------------------------------------
// Retry and Catch

/// Whether an error is matched by `ErrorEquals`. `States.Runtime` (and the
/// executor's own configuration errors) are never retried or caught.
fn error_matches(patterns: &[String], error: &str) -> bool {
    if [errors::RUNTIME, errors::UNBOUND_RESOURCE, errors::HANDLER_PANICKED].contains(&error) {
        return false;
    }
    patterns.iter().any(|p| p == error || p == errors::ALL || (p == errors::TASK_FAILED && error != errors::TIMEOUT))
}

/// The delay before a retrier's `attempt`-th retry (1-based), before scaling.
fn retry_delay(r: &Retrier, attempt: u64) -> f64 {
    let interval = r.interval_seconds.unwrap_or(1) as f64;
    let rate = r.backoff_rate.unwrap_or(2.0);
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let mut delay = interval * rate.powi(exponent);
    if let Some(max) = r.max_delay_seconds {
        delay = delay.min(max as f64);
    }
    if r.jitter_strategy == Some(JitterStrategy::Full) {
        delay *= random::unit();
    }
    delay
}

/// Runs a state body, retrying it by its retriers and, when they give up,
/// routing the error to the first matching catcher. Returns the output and,
/// when a catcher took over, the state to go to.
async fn with_retry_and_catch<'a, F, Fut>(
    run: &Run,
    name: &str,
    retriers: &[Retrier],
    catchers: &[Catcher],
    raw: &Value,
    mut body: F,
) -> Result<(Value, Option<String>), TaskFailure>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Value, TaskFailure>> + 'a,
{
    let mut attempts = vec![0u64; retriers.len()];
    let mut retries = 0u64;
    loop {
        let failure = match body(retries).await {
            Ok(out) => return Ok((out, None)),
            Err(f) => f,
        };
        run.rec.record(EventKind::StateFailed {
            name: name.to_string(),
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        });
        // The first retrier that matches decides; if it is exhausted, no
        // later retrier is tried.
        if let Some(i) = retriers.iter().position(|r| error_matches(&r.error_equals, &failure.error)) {
            let r = &retriers[i];
            if attempts[i] < r.max_attempts.unwrap_or(3) {
                attempts[i] += 1;
                retries += 1;
                let delay = retry_delay(r, attempts[i]);
                run.rec.record(EventKind::TaskRetry {
                    state: name.to_string(),
                    error: failure.error.clone(),
                    attempt: attempts[i],
                    delay_seconds: delay,
                });
                tokio::time::sleep(scaled(delay, run.exec.config().time_scale)).await;
                continue;
            }
        }
        if let Some(c) = catchers.iter().find(|c| error_matches(&c.error_equals, &failure.error)) {
            run.rec.record(EventKind::ErrorCaught {
                state: name.to_string(),
                error: failure.error.clone(),
                next: c.next.clone(),
            });
            let out = result_path(&c.result_path, raw, failure.to_error_output())?;
            return Ok((out, Some(c.next.clone())));
        }
        return Err(failure);
    }
}

// ---------------------------------------------------------------------------
// Task, Map, Parallel

async fn task(run: &Run, name: &str, t: &Task, raw: &Value, entered: &str, retries: u64) -> Result<Value, TaskFailure> {
    let ctx = run.context(name, entered, retries);
    let effective = input_path(&t.input_path, raw, &ctx)?;
    let timeout = match (&t.timeout_seconds, &t.timeout_seconds_path) {
        (Some(s), _) => Some(*s),
        (None, Some(p)) => {
            let v = payload::read_for_field(
                &parse_path(p, "TimeoutSecondsPath")?,
                Scope { input: &effective, context: &ctx },
                "TimeoutSecondsPath",
            )?;
            Some(v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
                TaskFailure::runtime(format!("TimeoutSecondsPath '{p}' must select a positive integer, not {v}"))
            })?)
        }
        (None, None) => None,
    };
    let params = template(&t.parameters, effective, &ctx, "Parameters")?;
    let resource = t.resource.as_str();
    let task_ctx = TaskContext {
        execution_arn: run.arn.clone(),
        execution_name: run.name.clone(),
        state_name: name.to_string(),
        retry_count: retries,
        context: ctx.clone(),
    };
    run.rec.record(EventKind::TaskScheduled {
        state: name.to_string(),
        resource: resource.to_string(),
        parameters: params.clone(),
    });
    let call = invoke(run, resource, params, &task_ctx);
    let outcome = match timeout {
        Some(s) => match tokio::time::timeout(scaled(s as f64, run.exec.config().timeout_scale), call).await {
            Ok(r) => r,
            Err(_) => {
                Err(TaskFailure::new(errors::TIMEOUT, format!("The task did not finish within TimeoutSeconds ({s})")))
            }
        },
        None => call.await,
    };
    let result = match outcome {
        Ok(v) => {
            run.rec.record(EventKind::TaskSucceeded {
                state: name.to_string(),
                resource: resource.to_string(),
                output: v.clone(),
            });
            v
        }
        Err(f) => {
            run.rec.record(EventKind::TaskFailed {
                state: name.to_string(),
                resource: resource.to_string(),
                error: f.error.clone(),
                cause: f.cause.clone(),
            });
            return Err(f);
        }
    };
    let selected = template(&t.result_selector, result, &ctx, "ResultSelector")?;
    output_path(&t.output_path, result_path(&t.result_path, raw, selected)?, &ctx)
}

async fn invoke(run: &Run, resource: &str, params: Value, ctx: &TaskContext) -> Result<Value, TaskFailure> {
    if let Some(h) = run.exec.handler(resource) {
        return h.invoke(resource, params, ctx).await;
    }
    if resource == START_EXECUTION {
        return start_execution(run, params);
    }
    Err(TaskFailure::new(errors::UNBOUND_RESOURCE, format!("no local binding for resource \"{resource}\"")))
}

/// The `startExecution` integration: starts the machine named by
/// `StateMachineArn` (a registered name, ARN or alias) and returns at once.
fn start_execution(run: &Run, params: Value) -> Result<Value, TaskFailure> {
    let bad = |why: String| TaskFailure::new("StepFunctions.InvalidInputException", why);
    let machine = params
        .get("StateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("startExecution needs a StateMachineArn string, got {params}")))?;
    let input = match params.get("Input") {
        None => json!({}),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| bad(format!("Input is not JSON: {e}")))?,
        Some(v) => v.clone(),
    };
    let name = params.get("Name").and_then(Value::as_str).map(str::to_string);
    let handle = run.exec.start(machine, input, name).map_err(|e| match e {
        super::ExecutorError::UnknownStateMachine(_) => {
            TaskFailure::new("StepFunctions.StateMachineDoesNotExistException", e.to_string())
        }
        super::ExecutorError::ExecutionAlreadyExists(_) => {
            TaskFailure::new("StepFunctions.ExecutionAlreadyExistsException", e.to_string())
        }
        other => bad(other.to_string()),
    })?;
    let start_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    Ok(json!({"ExecutionArn": handle.execution_arn, "StartDate": start_ms as i64}))
}

async fn map(
    run: &Run,
    name: &str,
    m: &MapState,
    raw: &Value,
    entered: &str,
    retries: u64,
) -> Result<Value, TaskFailure> {
    let ctx = run.context(name, entered, retries);
    let effective = input_path(&m.input_path, raw, &ctx)?;
    let items_text = m.items_path.as_deref().unwrap_or("$");
    let items = payload::read_for_field(
        &parse_path(items_text, "ItemsPath")?,
        Scope { input: &effective, context: &ctx },
        "ItemsPath",
    )?;
    let Value::Array(items) = items else {
        return Err(TaskFailure::runtime(format!("ItemsPath '{items_text}' must select an array, not {items}")));
    };
    let max = m.max_concurrency.unwrap_or(0);
    run.rec.record(EventKind::MapStarted { state: name.to_string(), items: items.len(), max_concurrency: max });
    let permits = if max == 0 { items.len().max(1) } else { max as usize };
    let gate = Semaphore::new(permits);
    let selector = m.item_selector.as_ref().or(m.parameters.as_ref());
    let processor = &m.item_processor;
    let iterations = items.into_iter().enumerate().map(|(index, item)| {
        let gate = &gate;
        let ctx = &ctx;
        let effective = &effective;
        async move {
            let _permit = gate.acquire().await.expect("the gate is never closed");
            run.rec.record(EventKind::MapIterationStarted { state: name.to_string(), index });
            let input = match selector {
                Some(sel) => {
                    let mut item_ctx = ctx.clone();
                    item_ctx["Map"] = json!({"Item": {"Index": index, "Value": item}});
                    payload::resolve_template(sel, Scope { input: effective, context: &item_ctx }, "ItemSelector")?
                }
                None => item,
            };
            match run_scope(run, &processor.start_at, &processor.states, input).await {
                Ok(v) => {
                    run.rec.record(EventKind::MapIterationSucceeded { state: name.to_string(), index });
                    Ok(v)
                }
                Err(f) => {
                    run.rec.record(EventKind::MapIterationFailed {
                        state: name.to_string(),
                        index,
                        error: f.error.clone(),
                    });
                    Err(f)
                }
            }
        }
    });
    // The first failing iteration fails the Map; the others are dropped.
    let results = futures::future::try_join_all(iterations).await?;
    let selected = template(&m.result_selector, Value::Array(results), &ctx, "ResultSelector")?;
    output_path(&m.output_path, result_path(&m.result_path, raw, selected)?, &ctx)
}

async fn parallel(
    run: &Run,
    name: &str,
    p: &Parallel,
    raw: &Value,
    entered: &str,
    retries: u64,
) -> Result<Value, TaskFailure> {
    let ctx = run.context(name, entered, retries);
    let effective = input_path(&p.input_path, raw, &ctx)?;
    let input = template(&p.parameters, effective, &ctx, "Parameters")?;
    run.rec.record(EventKind::ParallelStarted { state: name.to_string(), branches: p.branches.len() });
    let branches = p.branches.iter().map(|b| run_scope(run, &b.start_at, &b.states, input.clone()));
    // A failing branch fails the state with its error; the others stop.
    let results = futures::future::try_join_all(branches).await?;
    let selected = template(&p.result_selector, Value::Array(results), &ctx, "ResultSelector")?;
    output_path(&p.output_path, result_path(&p.result_path, raw, selected)?, &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let r = Retrier::on(["E"]).interval_seconds(2).backoff_rate(3.0).max_delay_seconds(10);
        assert_eq!(retry_delay(&r, 1), 2.0);
        assert_eq!(retry_delay(&r, 2), 6.0);
        assert_eq!(retry_delay(&r, 3), 10.0);
        let d = Retrier::on(["E"]);
        assert_eq!([retry_delay(&d, 1), retry_delay(&d, 2), retry_delay(&d, 3)], [1.0, 2.0, 4.0]);
    }

    #[test]
    fn matching_rules() {
        let all = vec![errors::ALL.to_string()];
        let task_failed = vec![errors::TASK_FAILED.to_string()];
        assert!(error_matches(&all, "Edba.Transient"));
        assert!(!error_matches(&all, errors::RUNTIME));
        assert!(error_matches(&all, errors::TIMEOUT));
        assert!(error_matches(&task_failed, "Edba.Transient"));
        assert!(!error_matches(&task_failed, errors::TIMEOUT));
    }
}
