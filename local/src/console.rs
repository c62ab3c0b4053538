//! `edba serve`'s console: server-rendered pages for a person who wants to
//! look rather than read JSON, as the Step Functions console shows an
//! execution. Works offline: no script, font or style sheet comes from
//! anywhere but this page.
//!
//! - `/`: executions, newest first, by machine and status;
//! - `/executions/{name}`: the error and cause first, the machine drawn as a
//!   graph with each state coloured by what happened (succeeded, failed,
//!   caught, retried, running, not entered), Map iterations, and the event
//!   history with each event's JSON;
//! - `/status`: jobs (why each waits), recent runs, warehouse tables (rows)
//!   and files (counts, the first rejects with line and reason);
//! - `/runs/{id}`: a run's outcome and its exact inputs (`edba impacted`).
//!
//! HTML is built with `maud` (every value escaped); graphs are laid out and
//! drawn as SVG with `layout-rs`, each state a `<g class="state {outcome}"
//! data-state="{name}">`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

use crate::api::{find_execution, list_executions, ApiState, ListQuery};
use crate::pipeline::{first_rejects, warehouse_rows};

/// Executions one page lists.
const PAGE: usize = 200;
/// Runs the status page lists.
const STATUS_RUNS: u32 = 20;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #16191f; background: #f2f3f3; }
header { background: #232f3e; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
header a { color: #fff; text-decoration: none; } header strong { font-size: 16px; }
main { padding: 16px 20px; }
h1 { font-size: 20px; margin: 0 0 12px; } h2 { font-size: 16px; margin: 20px 0 8px; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e9ebed; vertical-align: top; }
th { background: #fafafa; font-weight: 600; }
a { color: #0972d3; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.SUCCEEDED, .succeeded { background: #d5f0d5; color: #1d5e1d; }
.FAILED, .TIMED_OUT, .ABORTED, .failed { background: #fde2e1; color: #a4161a; }
.RUNNING, .running { background: #dbeafe; color: #1e4e8c; }
.caught { background: #ffe8cc; color: #8a4b00; } .retried { background: #fff4bf; color: #6b5900; }
.error-box { border: 2px solid #d91515; background: #fff5f5; padding: 10px 14px; margin-bottom: 16px; }
.error-box .error { font-weight: 700; color: #a4161a; } .error-box pre { white-space: pre-wrap; margin: 6px 0 0; }
.graph { background: #fff; padding: 10px; overflow: auto; }
.legend span { margin-right: 8px; }
pre.json { margin: 4px 0; max-height: 320px; overflow: auto; background: #fafafa; padding: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
.error-box pre { overflow-wrap: anywhere; }
form { margin-bottom: 12px; } select, button { font: inherit; }
.muted { color: #5f6b7a; }
"#;

fn page(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · edba console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "edba" }
                    a href="/" { "Executions" }
                    a href="/status" { "Files, jobs and runs" }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

fn error_page(code: StatusCode, title: &str, message: &str) -> Response {
    let mut response = page(title, html! { h1 { (title) } p { (message) } });
    *response.status_mut() = code;
    response
}

fn badge(status: &str) -> Markup {
    html! { span class={ "badge " (status) } { (status) } }
}

async fn executions_page(State(state): State<ApiState>, Query(q): Query<ListQuery>) -> Response {
    let machine = q.machine.as_deref().filter(|m| !m.is_empty());
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let executions = match list_executions(&state, machine, status, q.max.unwrap_or(PAGE)).await {
        Ok(executions) => executions,
        Err((code, _, message)) => return error_page(code, "Executions", &message),
    };
    let machines: Vec<&str> = state.machines.iter().map(|(name, _)| name.as_str()).collect();
    page(
        "Executions",
        html! {
            h1 { "Executions" }
            form method="get" action="/" {
                "Machine "
                select name="machine" {
                    option value="" { "all" }
                    @for m in &machines {
                        option value=(m) selected[machine == Some(*m)] { (m) }
                    }
                }
                " Status "
                select name="status" {
                    option value="" { "all" }
                    @for s in ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] {
                        option value=(s) selected[status == Some(s)] { (s) }
                    }
                }
                " " button type="submit" { "Filter" }
            }
            @if executions.is_empty() {
                p.muted { "No execution yet. Upload a file under incoming/ through the S3 endpoint." }
            } @else {
                table #executions {
                    thead { tr { th { "Name" } th { "Machine" } th { "Status" } th { "Started" } th { "Ended" } th { "Error" } } }
                    tbody {
                        @for e in &executions {
                            tr data-status=(e.status) {
                                td { a href={ "/executions/" (e.name) } { (e.name) } }
                                td { (e.state_machine) }
                                td { (badge(&e.status)) }
                                td { (e.start_date) }
                                td { (e.stop_date.as_deref().unwrap_or("")) }
                                td { (e.error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What happened to a state, as the graph colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    NotEntered,
    Running,
    Succeeded,
    Retried,
    Caught,
    Failed,
}

impl Outcome {
    fn class(self) -> &'static str {
        match self {
            Outcome::NotEntered => "not-entered",
            Outcome::Running => "running",
            Outcome::Succeeded => "succeeded",
            Outcome::Retried => "retried",
            Outcome::Caught => "caught",
            Outcome::Failed => "failed",
        }
    }

    fn fill(self) -> Color {
        Color::new(match self {
            Outcome::NotEntered => 0xf2f3f3ff,
            Outcome::Running => 0xdbeafeff,
            Outcome::Succeeded => 0xc9efc9ff,
            Outcome::Retried => 0xfff1a8ff,
            Outcome::Caught => 0xffd8a8ff,
            Outcome::Failed => 0xf9b4b4ff,
        })
    }
}

/// Each state's outcome from the history (states of Map iterations and
/// Parallel branches by their own names).
fn outcomes(history: &[Value]) -> BTreeMap<String, Outcome> {
    #[derive(Default)]
    struct Seen {
        entered: u32,
        exited: u32,
        retried: bool,
        failed: u32,
        caught: u32,
    }
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let name = |e: &Value, field: &str| e[field].as_str().map(str::to_owned);
    for e in history {
        match e["type"].as_str().unwrap_or_default() {
            "StateEntered" => name(e, "name").map(|n| seen.entry(n).or_default().entered += 1),
            "StateExited" => name(e, "name").map(|n| seen.entry(n).or_default().exited += 1),
            "TaskRetry" => name(e, "state").map(|n| seen.entry(n).or_default().retried = true),
            "StateFailed" => name(e, "name").map(|n| seen.entry(n).or_default().failed += 1),
            "ErrorCaught" => name(e, "state").map(|n| seen.entry(n).or_default().caught += 1),
            _ => None,
        };
    }
    seen.into_iter()
        .map(|(n, s)| {
            let outcome = if s.failed > s.caught {
                Outcome::Failed
            } else if s.caught > 0 {
                Outcome::Caught
            } else if s.retried {
                Outcome::Retried
            } else if s.exited > 0 && s.exited >= s.entered {
                Outcome::Succeeded
            } else if s.entered > 0 {
                Outcome::Running
            } else {
                Outcome::NotEntered
            };
            (n, outcome)
        })
        .collect()
}

/// `"` `&` `<` `>` as entities, for an attribute value the SVG writer
/// copies as it is.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The machine of `definition` as an SVG graph coloured by `outcomes`;
/// `None` when it cannot be drawn.
fn graph_svg(definition: &Value, outcomes: &BTreeMap<String, Outcome>) -> Option<String> {
    use layout::adt::dag::NodeHandle;

    fn add_states(
        graph: &mut VisualGraph,
        states: &serde_json::Map<String, Value>,
        prefix: &str,
        outcomes: &BTreeMap<String, Outcome>,
        nodes: &mut BTreeMap<String, NodeHandle>,
        edges: &mut Vec<(String, String, String)>,
    ) {
        for (name, state) in states {
            let id = format!("{prefix}{name}");
            let mut outcome = outcomes.get(name).copied().unwrap_or(Outcome::NotEntered);
            // A Fail state entered is the execution failing there.
            if state["Type"] == "Fail" && outcome != Outcome::NotEntered {
                outcome = Outcome::Failed;
            }
            let mut look = StyleAttr::simple();
            look.fill_color = Some(outcome.fill());
            look.rounded = 6;
            if matches!(outcome, Outcome::Failed | Outcome::Caught) {
                look.line_color = Color::new(0xd91515ff);
                look.line_width = 3;
            }
            let size = Point::new((name.chars().count() as f64 * 8.0 + 30.0).max(120.0), 40.0);
            let properties = format!(
                "class=\"state {}\" data-state=\"{}\" data-type=\"{}\"",
                outcome.class(),
                attribute(name),
                attribute(state["Type"].as_str().unwrap_or_default())
            );
            let element = Element::create_with_properties(
                ShapeKind::new_box(name),
                look,
                Orientation::LeftToRight,
                size,
                properties,
            );
            nodes.insert(id.clone(), graph.add_node(element));
            let mut to = |next: &Value, label: &str| {
                if let Some(next) = next.as_str() {
                    edges.push((id.clone(), format!("{prefix}{next}"), label.to_owned()));
                }
            };
            to(&state["Next"], "");
            to(&state["Default"], "default");
            for choice in state["Choices"].as_array().into_iter().flatten() {
                to(&choice["Next"], "");
            }
            for catch in state["Catch"].as_array().into_iter().flatten() {
                to(&catch["Next"], "catch");
            }
            let mut inner = |machine: &Value, label: &str, inner_prefix: String| {
                if let (Some(states), Some(start)) = (machine["States"].as_object(), machine["StartAt"].as_str()) {
                    edges.push((id.clone(), format!("{inner_prefix}{start}"), label.to_owned()));
                    add_states(graph, states, &inner_prefix, outcomes, nodes, edges);
                }
            };
            let processor =
                if state["ItemProcessor"].is_object() { &state["ItemProcessor"] } else { &state["Iterator"] };
            inner(processor, "each item", format!("{id}/"));
            for (i, branch) in state["Branches"].as_array().into_iter().flatten().enumerate() {
                inner(branch, &format!("branch {}", i + 1), format!("{id}/{i}/"));
            }
        }
    }

    let states = definition["States"].as_object()?;
    let drawn = std::panic::catch_unwind(|| {
        let mut graph = VisualGraph::new(Orientation::TopToBottom);
        let (mut nodes, mut edges) = (BTreeMap::new(), Vec::new());
        add_states(&mut graph, states, "", outcomes, &mut nodes, &mut edges);
        for (from, to, label) in edges {
            if let (Some(a), Some(b)) = (nodes.get(&from), nodes.get(&to)) {
                graph.add_edge(Arrow::simple(&label), *a, *b);
            }
        }
        let mut svg = SVGWriter::new();
        graph.do_it(false, false, false, &mut svg);
        svg.finalize()
    });
    drawn.ok()
}

/// The state an event is about, if any.
fn event_state(e: &Value) -> &str {
    e["name"].as_str().or_else(|| e["state"].as_str()).unwrap_or("")
}

async fn execution_page(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    let (execution, output, history) = match find_execution(&state, &name).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return error_page(StatusCode::NOT_FOUND, "No such execution", &format!("No execution is named {name}."))
        }
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "Execution log unavailable", &e),
    };
    let events = history.as_array().cloned().unwrap_or_default();
    let outcomes = outcomes(&events);
    let definition = state
        .machines
        .iter()
        .find(|(machine, _)| *machine == execution.state_machine)
        .and_then(|(_, json)| serde_json::from_str::<Value>(json).ok());
    let graph = definition.as_ref().and_then(|d| graph_svg(d, &outcomes));
    let failures: Vec<&Value> = events.iter().filter(|e| e["type"] == "StateFailed").collect();
    let iterations: Vec<&Value> = events
        .iter()
        .filter(|e| matches!(e["type"].as_str(), Some("MapIterationSucceeded" | "MapIterationFailed")))
        .collect();
    // Milliseconds since the event before, as the console's history shows.
    let elapsed: Vec<u64> = events.iter().map(|e| e["elapsed_ms"].as_u64().unwrap_or(0)).collect();
    let since: Vec<u64> =
        elapsed.iter().enumerate().map(|(i, ms)| ms.saturating_sub(if i == 0 { 0 } else { elapsed[i - 1] })).collect();
    page(
        &execution.name,
        html! {
            h1 { (execution.state_machine) " · " (execution.name) " " (badge(&execution.status)) }
            p.muted { "Started " (execution.start_date) @if let Some(stop) = &execution.stop_date { " · ended " (stop) } }
            @if execution.error.is_some() || !failures.is_empty() {
                div.error-box #error {
                    @if let Some(error) = &execution.error {
                        div { "Execution failed: " span.error { (error) } }
                        @if let Some(cause) = &execution.cause { pre.cause { (cause) } }
                    }
                    @for f in &failures {
                        div.state-failure data-state=(event_state(f)) {
                            "State " strong { (event_state(f)) } " failed: " span.error { (f["error"].as_str().unwrap_or("")) }
                            @if outcomes.get(event_state(f)) == Some(&Outcome::Caught) { " (caught)" }
                            pre.cause { (f["cause"].as_str().unwrap_or("")) }
                        }
                    }
                }
            }
            h2 { "Graph" }
            p.legend {
                @for o in [Outcome::Succeeded, Outcome::Failed, Outcome::Caught, Outcome::Retried, Outcome::Running, Outcome::NotEntered] {
                    span class={ "badge " (o.class()) } { (o.class().replace('-', " ")) }
                }
            }
            div.graph #graph {
                @match &graph {
                    Some(svg) => (PreEscaped(svg)),
                    None => p.muted { "The machine's graph cannot be drawn." },
                }
            }
            @if !iterations.is_empty() {
                h2 { "Map iterations" }
                table #iterations {
                    thead { tr { th { "Map state" } th { "Item" } th { "Status" } th { "Error" } } }
                    tbody {
                        @for it in &iterations {
                            @let failed = it["type"] == "MapIterationFailed";
                            tr {
                                td { (event_state(it)) }
                                td { (it["index"]) }
                                td { (badge(if failed { "FAILED" } else { "SUCCEEDED" })) }
                                td { (it["error"].as_str().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            h2 { "Event history" }
            table #history {
                thead { tr { th { "#" } th { "Type" } th { "State" } th { "Time" } th { "+ms" } th { "Details" } } }
                tbody {
                    @for (e, since) in events.iter().zip(&since) {
                        tr data-type=(e["type"].as_str().unwrap_or("")) {
                            td { (e["id"]) }
                            td { (e["type"].as_str().unwrap_or("")) }
                            td { (event_state(e)) }
                            td { (e["timestamp"].as_str().unwrap_or("")) }
                            td { (since) }
                            td {
                                details {
                                    summary { "JSON" }
                                    pre.json { (serde_json::to_string_pretty(e).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
            @if !output.is_null() {
                h2 { "Output" }
                pre.json #output { (serde_json::to_string_pretty(&output).unwrap_or_default()) }
            }
        },
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn status_page(State(state): State<ApiState>) -> Response {
    let status = match state.store.status(STATUS_RUNS).await {
        Ok(status) => status,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "State store unavailable", &e.to_string()),
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    // The first rejects of each file that has some, read from its rejects CSV.
    let mut rejects: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in &status.files {
        if let (Some(key), true) = (&f.rejected_key, f.rows_rejected > 0) {
            rejects.insert(&f.file_url, first_rejects(&state.s3, key).await);
        }
    }
    let tables = warehouse_rows(&state.s3, &state.warehouse).await;
    page(
        "Files, jobs and runs",
        html! {
            h1 { "Jobs" }
            table #jobs {
                thead { tr { th { "Job" } th { "Last run" } th { "Decision" } th { "Why" } th { "Decided" } } }
                tbody {
                    @for j in &status.jobs {
                        tr {
                            td { (j.job_id) }
                            td {
                                @if let Some(run) = &j.last_run_id {
                                    a href={ "/runs/" (run) } { (run) } " " (badge(&opt(&j.last_status)))
                                }
                            }
                            td { (opt(&j.decision)) }
                            td { (opt(&j.decision_reason)) }
                            td { (opt(&j.decided_at)) }
                        }
                    }
                }
            }
            h2 { "Recent runs" }
            table #runs {
                thead { tr { th { "Run" } th { "Job" } th { "Status" } th { "Inputs" } th { "Started" } th { "Ended" } th { "Error" } } }
                tbody {
                    @for r in &status.runs {
                        tr {
                            td { a href={ "/runs/" (r.run_id) } { (r.run_id) } }
                            td { (r.job_id) }
                            td { (badge(&r.status)) }
                            td { (r.inputs) }
                            td { (r.started_at) }
                            td { (opt(&r.finished_at)) }
                            td { (opt(&r.error)) }
                        }
                    }
                }
            }
            h2 { "Warehouse tables" }
            @match &tables {
                Ok(tables) => table #tables {
                    thead { tr { th { "Table" } th { "Rows" } } }
                    tbody { @for t in tables { tr { td { (t.table) } td { (t.rows) } } } }
                },
                Err(e) => p.muted { "The warehouse cannot be read: " (e) },
            }
            h2 { "Files" }
            table #files {
                thead { tr { th { "File" } th { "Dataset" } th { "Status" } th { "Valid" } th { "Rejected" } th { "Skipped" } th { "Why; first rejects" } } }
                tbody {
                    @for f in &status.files {
                        tr data-file=(f.file_name) {
                            td { (f.file_url) }
                            td { (opt(&f.dataset)) }
                            td { (f.status) }
                            td { (f.rows_valid) }
                            td { (f.rows_rejected) }
                            td { (f.lines_skipped) }
                            td {
                                (opt(&f.reason))
                                @if let Some(first) = rejects.get(f.file_url.as_str()) {
                                    ul.rejects { @for r in first { li { (r) } } }
                                    span.muted { "All of them: " (opt(&f.rejected_key)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn run_page(State(state): State<ApiState>, Path(run_id): Path<String>) -> Response {
    let run = match edba_tasks::record::impacted(&state.store, &run_id).await {
        Ok(run) => serde_json::to_value(run).unwrap_or(Value::Null),
        Err(e) => return error_page(StatusCode::NOT_FOUND, "No such run", &e.to_string()),
    };
    let files = run["files"].as_array().cloned().unwrap_or_default();
    page(
        &run_id,
        html! {
            h1 { "Run " (run_id) " " (badge(&text(&run["status"]))) }
            p.muted { "Job " (text(&run["job_id"])) " · started " (text(&run["started_at"])) " · ended " (text(&run["finished_at"])) }
            @if !run["error"].is_null() {
                div.error-box #error {
                    div { span.error { (text(&run["error"])) } }
                    pre.cause { (text(&run["cause"])) }
                }
            }
            @if let Some(arn) = run["execution_arn"].as_str() {
                p { "Execution: " a href={ "/executions/" (arn.rsplit(':').next().unwrap_or(arn)) } { (arn) } }
            }
            h2 { "Inputs (" (files.len()) "): exactly the versions it read" }
            table #inputs {
                thead { tr { th { "File" } th { "Version" } th { "Details" } } }
                tbody {
                    @for f in &files {
                        tr {
                            td { (text(&f["file_url"])) }
                            td { (text(&f["version_id"])) }
                            td { details { summary { "JSON" } pre.json { (serde_json::to_string_pretty(f).unwrap_or_default()) } } }
                        }
                    }
                }
            }
        },
    )
}

/// The console's pages.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(executions_page))
        .route("/executions/{name}", get(execution_page))
        .route("/status", get(status_page))
        .route("/runs/{id}", get(run_page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_caught_failure_a_retry_and_an_uncaught_failure_colour_their_states() {
        let history = vec![
            json!({"type": "StateEntered", "name": "A"}),
            json!({"type": "StateExited", "name": "A"}),
            json!({"type": "StateEntered", "name": "B"}),
            json!({"type": "TaskRetry", "state": "B"}),
            json!({"type": "StateExited", "name": "B"}),
            json!({"type": "StateEntered", "name": "C"}),
            json!({"type": "StateFailed", "name": "C", "error": "E", "cause": "c"}),
            json!({"type": "ErrorCaught", "state": "C", "next": "D"}),
            json!({"type": "StateEntered", "name": "D"}),
            json!({"type": "StateFailed", "name": "D", "error": "F", "cause": "d"}),
            json!({"type": "StateEntered", "name": "E"}),
        ];
        let o = outcomes(&history);
        assert_eq!(o["A"], Outcome::Succeeded);
        assert_eq!(o["B"], Outcome::Retried);
        assert_eq!(o["C"], Outcome::Caught);
        assert_eq!(o["D"], Outcome::Failed);
        assert_eq!(o["E"], Outcome::Running);

        let definition = json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "r", "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Task", "Resource": "r", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "D"}], "End": true},
                "D": {"Type": "Fail"}
            }}, "Next": "Say \"<done>\""},
            "Say \"<done>\"": {"Type": "Succeed"}
        }});
        let svg = graph_svg(&definition, &o).expect("drawn");
        assert!(svg.contains(r#"class="state caught" data-state="C""#), "{svg}");
        assert!(svg.contains(r#"class="state failed" data-state="D""#), "{svg}");
        assert!(svg.contains(r#"data-state="Say &quot;&lt;done&gt;&quot;""#), "names are escaped: {svg}");
        assert!(svg.contains(r#"class="state not-entered" data-state="M""#), "{svg}");
    }
}
