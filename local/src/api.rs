//! `edba serve`'s JSON API: the executions the local executor ran (with
//! their histories, as the Step Functions console shows them) and the state
//! store's status (the document `edba status --json` prints).
//!
//! - `GET /api/executions?machine=&status=&max=`: newest first;
//! - `GET /api/executions/{name}`: one execution, its input-free summary,
//!   output, error, cause and its history so far;
//! - `GET /api/status?runs=N`;
//! - `GET /api/schema.json`: the JSON Schema of every response.
//!
//! Errors are JSON too: `{"error": "...", "message": "..."}` with 400 or 404.

use std::net::SocketAddr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use edba_tasks::store::StateStore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::executions::{ExecutionFilter, ExecutionLog};
use crate::executor::{Executor, HistoryEvent};
use edba_tasks::store::status::StoreStatus;

/// The most executions one list returns unless `max` says otherwise.
const DEFAULT_MAX: usize = 100;
/// The runs `/api/status` lists unless `runs` says otherwise (as `edba status`).
const DEFAULT_RUNS: u32 = 5;

/// What the API reads: the execution log (every execution of this home,
/// earlier serves' too), and the executor for the live history of a running
/// execution.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub executor: Executor,
    pub store: StateStore,
    pub log: ExecutionLog,
    /// The machines' ASL JSON by name, for the console's graphs.
    pub machines: Vec<(String, String)>,
    /// The local bucket's client (rejects, planned tables) and the
    /// warehouse (row counts), for the console.
    pub s3: aws_sdk_s3::Client,
    pub warehouse: edba_tasks::load::LocalWarehouse,
}

/// One execution in a list, as `ListExecutions` describes it.
pub use crate::executions::LoggedExecution as ExecutionItem;

/// `GET /api/executions`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ExecutionList {
    pub executions: Vec<ExecutionItem>,
}

/// `GET /api/executions/{name}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: ExecutionItem,
    /// The execution's output once it has succeeded; else null.
    pub output: Value,
    pub history: Vec<HistoryEvent>,
}

/// Any error the API answers, with a 4xx or 5xx status.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ApiProblem {
    /// A stable name: `ExecutionDoesNotExist`, `InvalidStatus`, `NotFound`, …
    pub error: String,
    pub message: String,
}

/// The JSON Schema (draft 2020-12) of every response (`GET /api/schema.json`):
/// `$defs` holds each type; `responses` names the one each path answers
/// with on success (and `ApiProblem` on error).
pub fn api_schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let list = generator.subschema_for::<ExecutionList>();
    let detail = generator.subschema_for::<ExecutionDetail>();
    let status = generator.subschema_for::<StoreStatus>();
    let problem = generator.subschema_for::<ApiProblem>();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://edba.local/api/schema.json",
        "title": "edba serve API",
        "responses": {
            "/api/executions": list,
            "/api/executions/{name}": detail,
            "/api/status": status,
            "error": problem,
        },
        "$defs": generator.take_definitions(true),
    })
}

async fn schema() -> Response {
    Json(api_schema()).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    pub machine: Option<String>,
    pub status: Option<String>,
    pub max: Option<usize>,
}

const STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// Why a list or lookup could not be answered: HTTP status, error name, message.
pub(crate) type Problem = (StatusCode, &'static str, String);

/// Executions newest first, by machine and status, at most `max`.
pub(crate) async fn list_executions(
    state: &ApiState,
    machine: Option<&str>,
    status: Option<&str>,
    max: usize,
) -> Result<Vec<ExecutionItem>, Problem> {
    if let Some(status) = status {
        if !STATUSES.contains(&status) {
            return Err((
                StatusCode::BAD_REQUEST,
                "InvalidStatus",
                format!("status {status:?} is none of {}", STATUSES.join(", ")),
            ));
        }
    }
    let filter = ExecutionFilter {
        machine: machine.map(str::to_owned),
        status: status.map(str::to_owned),
        max: u32::try_from(max).unwrap_or(u32::MAX),
    };
    state
        .log
        .list(&filter)
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, "ExecutionLogUnavailable", e.to_string()))
}

async fn list(State(state): State<ApiState>, Query(q): Query<ListQuery>) -> Response {
    let max = q.max.unwrap_or(DEFAULT_MAX);
    match list_executions(&state, q.machine.as_deref(), q.status.as_deref(), max).await {
        Ok(executions) => Json(json!({ "executions": executions })).into_response(),
        Err((code, error, message)) => problem(code, error, message),
    }
}

/// One execution as the API and the console show it: its summary, output
/// and history (live while it runs); `Ok(None)` when there is none of that
/// name (or ARN).
pub(crate) async fn find_execution(
    state: &ApiState,
    name: &str,
) -> Result<Option<(ExecutionItem, Value, Value)>, String> {
    let Some((e, output, mut history)) = state.log.get(name).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    // Running: its history so far is the executor's.
    if e.status == "RUNNING" {
        if let Some(live) = state.executor.executions().iter().find(|h| h.execution_arn == e.execution_arn) {
            history = live.history().to_json();
        }
    }
    Ok(Some((e, output, history)))
}

async fn describe(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    match find_execution(&state, &name).await {
        Ok(Some((item, output, history))) => {
            let mut body = serde_json::to_value(item).unwrap_or_else(|_| json!({}));
            if let Value::Object(map) = &mut body {
                map.insert("output".into(), output);
                map.insert("history".into(), history);
            }
            Json(body).into_response()
        }
        Ok(None) => problem(StatusCode::NOT_FOUND, "ExecutionDoesNotExist", format!("no execution is named {name:?}")),
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, "ExecutionLogUnavailable", e),
    }
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
    runs: Option<u32>,
}

async fn status(State(state): State<ApiState>, Query(q): Query<StatusQuery>) -> Response {
    match state.store.status(q.runs.unwrap_or(DEFAULT_RUNS)).await {
        Ok(status) => Json(status).into_response(),
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.name().as_str(), e.to_string()),
    }
}

pub(crate) fn problem(code: StatusCode, error: &str, message: String) -> Response {
    (code, Json(json!({ "error": error, "message": message }))).into_response()
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no such page: the console is at /, the API at /api/executions, /api/executions/{name} and /api/status".into(),
    )
}

/// The API's routes and the console's pages.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .merge(crate::console::routes())
        .route("/api/executions", get(list))
        .route("/api/executions/{name}", get(describe))
        .route("/api/status", get(status))
        .route("/api/schema.json", get(schema))
        .fallback(not_found)
        .with_state(state)
}

/// A bound API server; [`ApiServer::run`] serves it until `shutdown`.
#[derive(Debug)]
pub struct ApiServer {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
}

impl ApiServer {
    /// Listens on `127.0.0.1:port` (0: any free port).
    pub async fn bind(port: u16) -> std::io::Result<ApiServer> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        Ok(ApiServer { listener, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `state` until `shutdown` resolves.
    pub async fn run(
        self,
        state: ApiState,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, router(state)).with_graceful_shutdown(shutdown).await
    }
}
