//! The interpreter: one execution of one machine.
//!
//! Both query languages run, and workflow variables: each scope (the
//! machine, a Parallel branch, a Map iteration) holds its own variables,
//! starting from a copy of the enclosing scope's; a state's `Assign` is
//! evaluated with the values from before the state (so all its assignments,
//! and its `Output`, see the old values) and takes effect when it moves on.
//! In JSONPath states `Assign` reads `$` as the state's result (after
//! `ResultSelector`), or its effective input where it has no result, and a
//! catcher's `Assign` reads the error output.
//!
//! Known differences from AWS Step Functions:
//! - Map runs inline only (no `ItemReader`, `ItemBatcher`,
//!   `ResultWriter`, `ToleratedFailure…`); `HeartbeatSeconds` and
//!   `Credentials` are ignored;
//! - `startExecution` is fire and forget only (no `.sync`);
//! - payload size limits are not enforced, nor the 256 KiB / 10 MiB limits
//!   on variables;
//! - a Choice rule without its own `Output` takes the state's `Output` (the
//!   guide does not say). The state's `Assign` applies whichever rule
//!   matches (the guide's rule), the matched rule's on top of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use edba_asl::choice::Condition;
use edba_asl::jsonpath::JsonPath;
use edba_asl::model::{
    Catcher, Choice, Fail, IntegerField, JitterStrategy, MapState, NullablePath, Parallel, Pass, QueryLanguage,
    Retrier, State, States, Task, Wait,
};
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use super::history::{now_rfc3339, EventKind, Recorder};
use super::jsonata::{self, Bindings};
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
    /// The machine's `QueryLanguage`.
    language: Option<QueryLanguage>,
}

/// Workflow variables of one scope.
type Vars = Map<String, Value>;

enum Flow {
    Next(String, Value),
    End(Value),
}

/// A state's outcome: where it goes and the variables it assigns.
struct Step {
    flow: Flow,
    assigned: Vars,
}

impl Step {
    fn new(flow: Flow, assigned: Vars) -> Self {
        Step { flow, assigned }
    }
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
        language: def.machine.query_language,
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
    let body = run_scope(&run, &machine.start_at, &machine.states, input, Vars::new());
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

/// What one state evaluation sees besides its input.
#[derive(Clone, Copy)]
struct Env<'a> {
    run: &'a Run,
    name: &'a str,
    entered: &'a str,
    vars: &'a Vars,
    jsonata: bool,
}

impl<'a> Env<'a> {
    fn context(&self, retries: u64) -> Value {
        self.run.context(self.name, self.entered, retries)
    }

    fn scope<'b>(&'b self, input: &'b Value, context: &'b Value) -> Scope<'b> {
        Scope { input, context, vars: self.vars }
    }

    fn bindings<'b>(&'b self, states: &'b Value) -> Bindings<'b> {
        Bindings { states, vars: self.vars }
    }

    /// `Assign`: in JSONata its values are templates over `$states`; in
    /// JSONPath a payload template over `data` (`$`).
    fn assign(&self, assign: Option<&Value>, states: &Value, data: &Value, ctx: &Value) -> Result<Vars, TaskFailure> {
        let Some(a) = assign else { return Ok(Vars::new()) };
        let out = if self.jsonata {
            jsonata::eval_template(a, self.bindings(states), "Assign")?
        } else {
            payload::resolve_template(a, self.scope(data, ctx), "Assign")?
        };
        match out {
            Value::Object(m) => Ok(m),
            other => Err(TaskFailure::runtime(format!("`Assign` must be an object, not {other}"))),
        }
    }

    /// JSONata `Output`, or `default` when the state has none.
    fn output(&self, output: Option<&Value>, states: &Value, default: Value) -> Result<Value, TaskFailure> {
        match output {
            Some(o) => jsonata::eval_template(o, self.bindings(states), "Output"),
            None => Ok(default),
        }
    }
}

/// Runs the states of a machine, a Parallel branch or a Map iteration from
/// `start_at` until one ends it. `vars` starts as a copy of the enclosing
/// scope's variables; what this scope assigns stays in it.
fn run_scope<'a>(
    run: &'a Run,
    start_at: &'a str,
    states: &'a States,
    input: Value,
    mut vars: Vars,
) -> BoxFuture<'a, Result<Value, TaskFailure>> {
    Box::pin(async move {
        let mut current = start_at.to_string();
        let mut data = input;
        loop {
            let state =
                states.get(&current).ok_or_else(|| TaskFailure::runtime(format!("no state named \"{current}\"")))?;
            run.rec.record(EventKind::StateEntered { name: current.clone(), input: data.clone() });
            let entered = now_rfc3339();
            let env = Env {
                run,
                name: &current,
                entered: &entered,
                vars: &vars,
                jsonata: state.language(run.language) == QueryLanguage::Jsonata,
            };
            let step = run_state(env, state, data).await?;
            vars.extend(step.assigned);
            match step.flow {
                Flow::Next(next, output) => {
                    run.rec.record(EventKind::StateExited { name: current.clone(), output: output.clone() });
                    current = next;
                    data = output;
                }
                Flow::End(output) => {
                    run.rec.record(EventKind::StateExited { name: current.clone(), output: output.clone() });
                    return Ok(output);
                }
            }
        }
    })
}

fn after(next: &Option<String>, output: Value) -> Flow {
    match next {
        Some(n) => Flow::Next(n.clone(), output),
        None => Flow::End(output),
    }
}

/// Where a retrying state goes: a catcher's `Next` if one took over.
fn caught_or_next(done: Caught, next: &Option<String>) -> Step {
    match done.catcher {
        Some(n) => Step::new(Flow::Next(n, done.output), done.assigned),
        None => Step::new(after(next, done.output), done.assigned),
    }
}

async fn run_state(env: Env<'_>, state: &State, raw: Value) -> Result<Step, TaskFailure> {
    let name = env.name;
    let simple = |r: Result<Step, TaskFailure>| {
        if let Err(f) = &r {
            env.run.rec.record(EventKind::StateFailed {
                name: name.to_string(),
                error: f.error.clone(),
                cause: f.cause.clone(),
            });
        }
        r
    };
    match state {
        State::Pass(p) => simple(pass(env, p, raw)),
        State::Choice(c) => simple(choose(env, c, raw)),
        State::Wait(w) => simple(wait(env, w, raw).await),
        State::Succeed(s) => {
            let ctx = env.context(0);
            simple(
                if env.jsonata {
                    let states = jsonata::states_object(&raw, &ctx, None, None);
                    env.output(s.output.as_ref(), &states, raw.clone())
                } else {
                    input_path(&s.input_path, &raw, &ctx, env.vars)
                        .and_then(|v| output_path(&s.output_path, v, &ctx, env.vars))
                }
                .map(|out| Step::new(Flow::End(out), Vars::new())),
            )
        }
        State::Fail(f) => Err(fail(env, f, &raw)),
        State::Task(t) => with_retry_and_catch(env, &t.retry, &t.catch, &raw, |retries| task(env, t, &raw, retries))
            .await
            .map(|done| caught_or_next(done, &t.next)),
        State::Map(m) => with_retry_and_catch(env, &m.retry, &m.catch, &raw, |retries| map(env, m, &raw, retries))
            .await
            .map(|done| caught_or_next(done, &m.next)),
        State::Parallel(p) => {
            with_retry_and_catch(env, &p.retry, &p.catch, &raw, |retries| parallel(env, p, &raw, retries))
                .await
                .map(|done| caught_or_next(done, &p.next))
        }
    }
}

// ---------------------------------------------------------------------------
// Input and output processing (JSONPath)

fn parse_path(text: &str, field: &str) -> Result<JsonPath, TaskFailure> {
    JsonPath::parse(text).map_err(|e| TaskFailure::runtime(format!("Invalid {field} '{text}': {e}")))
}

/// `InputPath`: absent = `$`, `null` = `{}`; a `$$` path reads the context
/// object, as in Step Functions, and a `$name` path a variable.
fn input_path(p: &NullablePath, raw: &Value, ctx: &Value, vars: &Vars) -> Result<Value, TaskFailure> {
    select_path(p, raw, ctx, vars, "InputPath")
}

/// `OutputPath`: absent = `$`, `null` = `{}`; `$$` reads the context object.
fn output_path(p: &NullablePath, v: Value, ctx: &Value, vars: &Vars) -> Result<Value, TaskFailure> {
    match p {
        None => Ok(v),
        _ => select_path(p, &v, ctx, vars, "OutputPath"),
    }
}

fn select_path(p: &NullablePath, v: &Value, ctx: &Value, vars: &Vars, field: &str) -> Result<Value, TaskFailure> {
    match p {
        None => Ok(v.clone()),
        Some(None) => Ok(json!({})),
        Some(Some(text)) => {
            let jp = parse_path(text, field)?;
            path::read(&jp, v, ctx, vars).ok_or_else(|| {
                let (_, data) = path::source(&jp, v, ctx, vars);
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

fn template(
    t: &Option<Value>,
    input: Value,
    scope_ctx: &Value,
    vars: &Vars,
    field: &str,
) -> Result<Value, TaskFailure> {
    match t {
        Some(t) => payload::resolve_template(t, Scope { input: &input, context: scope_ctx, vars }, field),
        None => Ok(input),
    }
}

/// An integer field: its literal, or (JSONata) its expression's value.
fn integer(env: &Env<'_>, v: &IntegerField, states: &Value, field: &str) -> Result<u64, TaskFailure> {
    match v {
        IntegerField::Literal(n) => Ok(*n),
        IntegerField::Expression(text) => jsonata::eval_integer(text, env.bindings(states), field),
    }
}

// ---------------------------------------------------------------------------
// States without retries

fn pass(env: Env<'_>, p: &Pass, raw: Value) -> Result<Step, TaskFailure> {
    let ctx = env.context(0);
    if env.jsonata {
        let states = jsonata::states_object(&raw, &ctx, None, None);
        let assigned = env.assign(p.assign.as_ref(), &states, &raw, &ctx)?;
        let out = env.output(p.output.as_ref(), &states, raw.clone())?;
        return Ok(Step::new(after(&p.next, out), assigned));
    }
    let effective = input_path(&p.input_path, &raw, &ctx, env.vars)?;
    let result = match &p.result {
        Some(r) => r.clone(),
        None => template(&p.parameters, effective, &ctx, env.vars, "Parameters")?,
    };
    let assigned = env.assign(p.assign.as_ref(), &Value::Null, &result, &ctx)?;
    let out = output_path(&p.output_path, result_path(&p.result_path, &raw, result)?, &ctx, env.vars)?;
    Ok(Step::new(after(&p.next, out), assigned))
}

fn choose(env: Env<'_>, c: &Choice, raw: Value) -> Result<Step, TaskFailure> {
    let ctx = env.context(0);
    let (states, effective) = if env.jsonata {
        (jsonata::states_object(&raw, &ctx, None, None), raw.clone())
    } else {
        (Value::Null, input_path(&c.input_path, &raw, &ctx, env.vars)?)
    };
    let mut matched = None;
    for (n, rule) in c.choices.iter().enumerate() {
        let holds = match (&rule.condition, env.jsonata) {
            (Condition::Jsonata(cond), true) => {
                jsonata::eval_condition(cond, env.bindings(&states), &format!("Choices[{n}].Condition"))?
            }
            (cond, _) => choice::holds(cond, &effective, &ctx, env.vars)?,
        };
        if holds {
            matched = Some(rule);
            break;
        }
    }
    let (next, rule_assign, output) = match matched {
        Some(rule) => (rule.next.clone(), rule.assign.as_ref(), rule.output.as_ref().or(c.output.as_ref())),
        None => match &c.default {
            Some(d) => (d.clone(), None, c.output.as_ref()),
            None => {
                return Err(TaskFailure::new(
                    errors::NO_CHOICE_MATCHED,
                    format!("No Choice rule of state \"{}\" matched and it has no Default", env.name),
                ))
            }
        },
    };
    env.run.rec.record(EventKind::ChoiceMatched { state: env.name.to_string(), next: next.clone() });
    // The state's `Assign` applies whichever way it goes; the matched rule's
    // adds to it (and wins on a name both set).
    let mut assigned = env.assign(c.assign.as_ref(), &states, &effective, &ctx)?;
    assigned.extend(env.assign(rule_assign, &states, &effective, &ctx)?);
    let out = if env.jsonata {
        env.output(output, &states, raw)?
    } else {
        output_path(&c.output_path, effective, &ctx, env.vars)?
    };
    Ok(Step::new(Flow::Next(next, out), assigned))
}

async fn wait(env: Env<'_>, w: &Wait, raw: Value) -> Result<Step, TaskFailure> {
    let ctx = env.context(0);
    let (states, effective) = if env.jsonata {
        (jsonata::states_object(&raw, &ctx, None, None), raw.clone())
    } else {
        (Value::Null, input_path(&w.input_path, &raw, &ctx, env.vars)?)
    };
    let seconds_until = |ts: &str, field: &str| -> Result<f64, TaskFailure> {
        let t = choice::parse_timestamp(ts)
            .ok_or_else(|| TaskFailure::runtime(format!("{field} '{ts}' is not an RFC 3339 timestamp")))?;
        let now = time::OffsetDateTime::now_utc();
        Ok((t - now).as_seconds_f64().max(0.0))
    };
    let read = |text: &str, field: &str| -> Result<Value, TaskFailure> {
        payload::read_for_field(&parse_path(text, field)?, env.scope(&effective, &ctx), field)
    };
    let seconds = if let Some(s) = &w.seconds {
        integer(&env, s, &states, "Seconds")? as f64
    } else if let Some(ts) = &w.timestamp {
        if env.jsonata {
            match jsonata::eval_value(ts, env.bindings(&states), "Timestamp")? {
                Value::String(t) => seconds_until(&t, "Timestamp")?,
                other => {
                    return Err(TaskFailure::new(
                        errors::QUERY_EVALUATION,
                        format!("The field 'Timestamp' must evaluate to a timestamp string, not {other}."),
                    ))
                }
            }
        } else {
            seconds_until(ts, "Timestamp")?
        }
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
    let assigned = env.assign(w.assign.as_ref(), &states, &effective, &ctx)?;
    let out = if env.jsonata {
        env.output(w.output.as_ref(), &states, raw)?
    } else {
        output_path(&w.output_path, effective, &ctx, env.vars)?
    };
    env.run.rec.record(EventKind::WaitStarted { state: env.name.to_string(), seconds });
    tokio::time::sleep(scaled(seconds, env.run.exec.config().time_scale)).await;
    Ok(Step::new(after(&w.next, out), assigned))
}

fn fail(env: Env<'_>, f: &Fail, raw: &Value) -> TaskFailure {
    let ctx = env.context(0);
    let states = if env.jsonata { jsonata::states_object(raw, &ctx, None, None) } else { Value::Null };
    let scope = env.scope(raw, &ctx);
    let field = |literal: &Option<String>, expr: &Option<String>, field: &str| -> Result<String, TaskFailure> {
        match (literal, expr) {
            (Some(l), _) if env.jsonata => match jsonata::eval_value(l, env.bindings(&states), field)? {
                Value::String(s) => Ok(s),
                other => Err(TaskFailure::new(
                    errors::QUERY_EVALUATION,
                    format!("The field '{field}' must evaluate to a string, not {other}."),
                )),
            },
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
    env.run.rec.record(EventKind::StateFailed {
        name: env.name.to_string(),
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

/// A state body's outcome: its output and assignments.
struct Done {
    output: Value,
    assigned: Vars,
}

/// A retrying state's outcome: `catcher` is the state a catcher sent it to.
struct Caught {
    output: Value,
    assigned: Vars,
    catcher: Option<String>,
}

/// Runs a state body, retrying it by its retriers and, when they give up,
/// routing the error to the first matching catcher (its `ResultPath`, or in
/// JSONata its `Output`, shapes the output; its `Assign` sets variables).
async fn with_retry_and_catch<'a, F, Fut>(
    env: Env<'_>,
    retriers: &[Retrier],
    catchers: &[Catcher],
    raw: &Value,
    mut body: F,
) -> Result<Caught, TaskFailure>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Done, TaskFailure>> + 'a,
{
    let (run, name) = (env.run, env.name);
    let mut attempts = vec![0u64; retriers.len()];
    let mut retries = 0u64;
    loop {
        let failure = match body(retries).await {
            Ok(done) => return Ok(Caught { output: done.output, assigned: done.assigned, catcher: None }),
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
            let error_output = failure.to_error_output();
            let ctx = env.context(retries);
            let (output, assigned) = if env.jsonata {
                let states = jsonata::states_object(raw, &ctx, None, Some(&error_output));
                let assigned = env.assign(c.assign.as_ref(), &states, &error_output, &ctx)?;
                (env.output(c.output.as_ref(), &states, error_output)?, assigned)
            } else {
                let assigned = env.assign(c.assign.as_ref(), &Value::Null, &error_output, &ctx)?;
                (result_path(&c.result_path, raw, error_output)?, assigned)
            };
            return Ok(Caught { output, assigned, catcher: Some(c.next.clone()) });
        }
        return Err(failure);
    }
}

/// After a Task, Map or Parallel produced `result`: JSONata `Output` and
/// `Assign` over `$states.result`, or JSONPath `ResultSelector`, `Assign`,
/// `ResultPath` and `OutputPath`.
struct Shaping<'a> {
    result_selector: &'a Option<Value>,
    result_path: &'a NullablePath,
    output_path: &'a NullablePath,
    output: Option<&'a Value>,
    assign: Option<&'a Value>,
}

fn finish(env: &Env<'_>, s: Shaping<'_>, raw: &Value, ctx: &Value, result: Value) -> Result<Done, TaskFailure> {
    if env.jsonata {
        let states = jsonata::states_object(raw, ctx, Some(&result), None);
        let assigned = env.assign(s.assign, &states, &result, ctx)?;
        let output = env.output(s.output, &states, result)?;
        return Ok(Done { output, assigned });
    }
    let selected = template(s.result_selector, result, ctx, env.vars, "ResultSelector")?;
    let assigned = env.assign(s.assign, &Value::Null, &selected, ctx)?;
    let output = output_path(s.output_path, result_path(s.result_path, raw, selected)?, ctx, env.vars)?;
    Ok(Done { output, assigned })
}

// ---------------------------------------------------------------------------
// Task, Map, Parallel

async fn task(env: Env<'_>, t: &Task, raw: &Value, retries: u64) -> Result<Done, TaskFailure> {
    let (run, name) = (env.run, env.name);
    let ctx = env.context(retries);
    let (timeout, params) = if env.jsonata {
        let states = jsonata::states_object(raw, &ctx, None, None);
        let timeout = match &t.timeout_seconds {
            Some(v) => Some(integer(&env, v, &states, "TimeoutSeconds")?),
            None => None,
        };
        let params = match &t.arguments {
            Some(a) => jsonata::eval_template(a, env.bindings(&states), "Arguments")?,
            None => raw.clone(),
        };
        (timeout, params)
    } else {
        let effective = input_path(&t.input_path, raw, &ctx, env.vars)?;
        let timeout = match (&t.timeout_seconds, &t.timeout_seconds_path) {
            (Some(s), _) => Some(integer(&env, s, &Value::Null, "TimeoutSeconds")?),
            (None, Some(p)) => {
                let v = payload::read_for_field(
                    &parse_path(p, "TimeoutSecondsPath")?,
                    env.scope(&effective, &ctx),
                    "TimeoutSecondsPath",
                )?;
                Some(v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
                    TaskFailure::runtime(format!("TimeoutSecondsPath '{p}' must select a positive integer, not {v}"))
                })?)
            }
            (None, None) => None,
        };
        (timeout, template(&t.parameters, effective, &ctx, env.vars, "Parameters")?)
    };
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
    let shaping = Shaping {
        result_selector: &t.result_selector,
        result_path: &t.result_path,
        output_path: &t.output_path,
        output: t.output.as_ref(),
        assign: t.assign.as_ref(),
    };
    finish(&env, shaping, raw, &ctx, result)
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

async fn map(env: Env<'_>, m: &MapState, raw: &Value, retries: u64) -> Result<Done, TaskFailure> {
    let (run, name) = (env.run, env.name);
    let ctx = env.context(retries);
    let states = if env.jsonata { jsonata::states_object(raw, &ctx, None, None) } else { Value::Null };
    let (effective, items) = if env.jsonata {
        let items = match &m.items {
            Some(i) => jsonata::eval_template(i, env.bindings(&states), "Items")?,
            None => raw.clone(),
        };
        let Value::Array(items) = items else {
            return Err(TaskFailure::new(
                errors::QUERY_EVALUATION,
                format!("The field 'Items' must evaluate to a JSON array, not {items}."),
            ));
        };
        (raw.clone(), items)
    } else {
        let effective = input_path(&m.input_path, raw, &ctx, env.vars)?;
        let items_text = m.items_path.as_deref().unwrap_or("$");
        let items =
            payload::read_for_field(&parse_path(items_text, "ItemsPath")?, env.scope(&effective, &ctx), "ItemsPath")?;
        let Value::Array(items) = items else {
            return Err(TaskFailure::runtime(format!("ItemsPath '{items_text}' must select an array, not {items}")));
        };
        (effective, items)
    };
    let max = match &m.max_concurrency {
        Some(v) => integer(&env, v, &states, "MaxConcurrency")?,
        None => 0,
    };
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
                    if env.jsonata {
                        let states = jsonata::states_object(effective, &item_ctx, None, None);
                        jsonata::eval_template(sel, env.bindings(&states), "ItemSelector")?
                    } else {
                        payload::resolve_template(sel, env.scope(effective, &item_ctx), "ItemSelector")?
                    }
                }
                None => item,
            };
            match run_scope(run, &processor.start_at, &processor.states, input, env.vars.clone()).await {
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
    let shaping = Shaping {
        result_selector: &m.result_selector,
        result_path: &m.result_path,
        output_path: &m.output_path,
        output: m.output.as_ref(),
        assign: m.assign.as_ref(),
    };
    finish(&env, shaping, raw, &ctx, Value::Array(results))
}

async fn parallel(env: Env<'_>, p: &Parallel, raw: &Value, retries: u64) -> Result<Done, TaskFailure> {
    let (run, name) = (env.run, env.name);
    let ctx = env.context(retries);
    let input = if env.jsonata {
        let states = jsonata::states_object(raw, &ctx, None, None);
        match &p.arguments {
            Some(a) => jsonata::eval_template(a, env.bindings(&states), "Arguments")?,
            None => raw.clone(),
        }
    } else {
        let effective = input_path(&p.input_path, raw, &ctx, env.vars)?;
        template(&p.parameters, effective, &ctx, env.vars, "Parameters")?
    };
    run.rec.record(EventKind::ParallelStarted { state: name.to_string(), branches: p.branches.len() });
    let branches = p.branches.iter().map(|b| run_scope(run, &b.start_at, &b.states, input.clone(), env.vars.clone()));
    // A failing branch fails the state with its error; the others stop.
    let results = futures::future::try_join_all(branches).await?;
    let shaping = Shaping {
        result_selector: &p.result_selector,
        result_path: &p.result_path,
        output_path: &p.output_path,
        output: p.output.as_ref(),
        assign: p.assign.as_ref(),
    };
    finish(&env, shaping, raw, &ctx, Value::Array(results))
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
