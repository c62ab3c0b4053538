//! The execution history: what happened, in order, with timestamps, in the
//! spirit of Step Functions' `GetExecutionHistory` events.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One event of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HistoryEvent {
    /// 1-based, in the order the events happened.
    pub id: u64,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// Milliseconds since the execution started.
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum EventKind {
    ExecutionStarted {
        execution_arn: String,
        state_machine_arn: String,
        input: Value,
    },
    StateEntered {
        name: String,
        input: Value,
    },
    StateExited {
        name: String,
        output: Value,
    },
    TaskScheduled {
        state: String,
        resource: String,
        parameters: Value,
    },
    TaskSucceeded {
        state: String,
        resource: String,
        output: Value,
    },
    TaskFailed {
        state: String,
        resource: String,
        error: String,
        cause: String,
    },
    /// A retrier matched: `attempt` is its own count (1 for the first retry);
    /// `delay_seconds` is the delay in definition time, before the time scale.
    TaskRetry {
        state: String,
        error: String,
        attempt: u64,
        delay_seconds: f64,
    },
    /// A state failed with an error (before any Catch applies).
    StateFailed {
        name: String,
        error: String,
        cause: String,
    },
    ErrorCaught {
        state: String,
        error: String,
        next: String,
    },
    ChoiceMatched {
        state: String,
        next: String,
    },
    WaitStarted {
        state: String,
        seconds: f64,
    },
    MapStarted {
        state: String,
        items: usize,
        max_concurrency: u64,
    },
    MapIterationStarted {
        state: String,
        index: usize,
    },
    MapIterationSucceeded {
        state: String,
        index: usize,
    },
    MapIterationFailed {
        state: String,
        index: usize,
        error: String,
    },
    ParallelStarted {
        state: String,
        branches: usize,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
    ExecutionTimedOut {
        error: String,
        cause: String,
    },
}

impl EventKind {
    /// The event's type name (`TaskRetry`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ExecutionStarted { .. } => "ExecutionStarted",
            EventKind::StateEntered { .. } => "StateEntered",
            EventKind::StateExited { .. } => "StateExited",
            EventKind::TaskScheduled { .. } => "TaskScheduled",
            EventKind::TaskSucceeded { .. } => "TaskSucceeded",
            EventKind::TaskFailed { .. } => "TaskFailed",
            EventKind::TaskRetry { .. } => "TaskRetry",
            EventKind::StateFailed { .. } => "StateFailed",
            EventKind::ErrorCaught { .. } => "ErrorCaught",
            EventKind::ChoiceMatched { .. } => "ChoiceMatched",
            EventKind::WaitStarted { .. } => "WaitStarted",
            EventKind::MapStarted { .. } => "MapStarted",
            EventKind::MapIterationStarted { .. } => "MapIterationStarted",
            EventKind::MapIterationSucceeded { .. } => "MapIterationSucceeded",
            EventKind::MapIterationFailed { .. } => "MapIterationFailed",
            EventKind::ParallelStarted { .. } => "ParallelStarted",
            EventKind::ExecutionSucceeded { .. } => "ExecutionSucceeded",
            EventKind::ExecutionFailed { .. } => "ExecutionFailed",
            EventKind::ExecutionTimedOut { .. } => "ExecutionTimedOut",
        }
    }
}

/// The events of one execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct History {
    pub events: Vec<HistoryEvent>,
}

impl History {
    /// The events of one type (`"TaskRetry"`), in order.
    pub fn of_type<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a EventKind> + 'a {
        self.events.iter().map(|e| &e.kind).filter(move |k| k.name() == name)
    }

    /// The names of the states entered, in order.
    pub fn states_entered(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::StateEntered { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// `(attempt, delay_seconds)` of every retry of a state, in order.
    pub fn retries(&self, state: &str) -> Vec<(u64, f64)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::TaskRetry { state: s, attempt, delay_seconds, .. } if s == state => {
                    Some((*attempt, *delay_seconds))
                }
                _ => None,
            })
            .collect()
    }

    /// The JSON array of events.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("history serializes")
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<22}", self.name())?;
        match self {
            EventKind::ExecutionStarted { execution_arn, input, .. } => {
                write!(f, "{execution_arn} input={}", short(input))
            }
            EventKind::StateEntered { name, input } => write!(f, "{name:?} input={}", short(input)),
            EventKind::StateExited { name, output } => write!(f, "{name:?} output={}", short(output)),
            EventKind::TaskScheduled { state, resource, parameters } => {
                write!(f, "{state:?} {resource} parameters={}", short(parameters))
            }
            EventKind::TaskSucceeded { state, resource, output } => {
                write!(f, "{state:?} {resource} output={}", short(output))
            }
            EventKind::TaskFailed { state, resource, error, cause } => {
                write!(f, "{state:?} {resource} {error}: {cause}")
            }
            EventKind::TaskRetry { state, error, attempt, delay_seconds } => {
                write!(f, "{state:?} retry #{attempt} in {delay_seconds}s after {error}")
            }
            EventKind::StateFailed { name, error, cause } => write!(f, "{name:?} {error}: {cause}"),
            EventKind::ErrorCaught { state, error, next } => write!(f, "{state:?} caught {error} -> {next:?}"),
            EventKind::ChoiceMatched { state, next } => write!(f, "{state:?} -> {next:?}"),
            EventKind::WaitStarted { state, seconds } => write!(f, "{state:?} {seconds}s"),
            EventKind::MapStarted { state, items, max_concurrency } => {
                write!(f, "{state:?} {items} item(s), max concurrency {max_concurrency}")
            }
            EventKind::MapIterationStarted { state, index } | EventKind::MapIterationSucceeded { state, index } => {
                write!(f, "{state:?} [{index}]")
            }
            EventKind::MapIterationFailed { state, index, error } => write!(f, "{state:?} [{index}] {error}"),
            EventKind::ParallelStarted { state, branches } => write!(f, "{state:?} {branches} branch(es)"),
            EventKind::ExecutionSucceeded { output } => write!(f, "output={}", short(output)),
            EventKind::ExecutionFailed { error, cause } | EventKind::ExecutionTimedOut { error, cause } => {
                write!(f, "{error}: {cause}")
            }
        }
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.events {
            writeln!(f, "{:>4} {:>9.3}s  {}", e.id, e.elapsed_ms as f64 / 1000.0, e.kind)?;
        }
        Ok(())
    }
}

/// The shared, growing history of a running execution.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    started: Instant,
    events: Arc<Mutex<Vec<HistoryEvent>>>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Recorder { started: Instant::now(), events: Arc::new(Mutex::new(Vec::new())) }
    }

    pub(crate) fn record(&self, kind: EventKind) {
        let mut events = self.events.lock().expect("history lock");
        let id = events.len() as u64 + 1;
        events.push(HistoryEvent {
            id,
            timestamp: now_rfc3339(),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            kind,
        });
    }

    pub(crate) fn snapshot(&self) -> History {
        History { events: self.events.lock().expect("history lock").clone() }
    }
}

/// Now, as Step Functions writes times in the context object
/// (`2024-01-31T12:00:00.123Z`).
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    now.format(&Rfc3339).unwrap_or_default()
}
