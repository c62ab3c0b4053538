//! The contract between the machines and the task payload types: both machines
//! read only fields their inputs have, and renaming a field of a task's output
//! type fails here with the state and the path named.

use edba_asl::dataflow::{check_paths, ResourceSchemas};
use edba_asl::Task;
use edba_payloads::resource::{self, AnyTaskResource};
use edba_statemachines::generate::machines;
use edba_statemachines::resources::PipelineResources;
use serde_json::Value;

#[test]
fn both_machines_read_only_fields_that_exist() {
    for m in machines() {
        if let Err(errors) = check_paths(&m.definition, &m.input_schema, &PipelineResources) {
            panic!("{}: {}", m.name, edba_asl::dataflow::render_errors(&errors));
        }
    }
}

/// The pipeline's resources, with one field of one task's types renamed, as a
/// data engineer would by editing `edba-payloads`.
struct Renamed {
    resource: AnyTaskResource,
    output: bool,
    from: &'static str,
    to: &'static str,
}

fn rename_field(schema: &mut Value, from: &str, to: &str) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                if let Some(v) = props.remove(from) {
                    props.insert(to.to_owned(), v);
                }
            }
            if let Some(Value::Array(req)) = map.get_mut("required") {
                for r in req.iter_mut() {
                    if r == from {
                        *r = Value::String(to.to_owned());
                    }
                }
            }
            for v in map.values_mut() {
                rename_field(v, from, to);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_field(v, from, to)),
        _ => {}
    }
}

impl ResourceSchemas for Renamed {
    fn task_result(&self, state: &str, task: &Task) -> Option<Value> {
        let mut s = PipelineResources.task_result(state, task)?;
        if self.output && task.resource == self.resource.token() {
            rename_field(&mut s, self.from, self.to);
        }
        Some(s)
    }
    fn task_input(&self, state: &str, task: &Task) -> Option<Value> {
        let mut s = PipelineResources.task_input(state, task)?;
        if !self.output && task.resource == self.resource.token() {
            rename_field(&mut s, self.from, self.to);
        }
        Some(s)
    }
}

fn errors_for(machine: &str, renamed: Renamed) -> String {
    let m = machines().into_iter().find(|m| m.name == machine).unwrap();
    let errors = check_paths(&m.definition, &m.input_schema, &renamed).expect_err("a renamed field must be caught");
    edba_asl::dataflow::render_errors(&errors)
}

#[test]
fn renaming_an_output_field_of_evaluate_names_the_map_and_its_items_path() {
    let text = errors_for(
        "aggregate",
        Renamed { resource: resource::EVALUATE.schemas(), output: true, from: "runs", to: "tickets" },
    );
    assert!(text.contains("Run ready jobs") && text.contains("$.evaluation.runs"), "{text}");
    assert!(text.contains("\"runs\" does not exist"), "{text}");
}

#[test]
fn renaming_a_field_of_a_run_ticket_names_the_state_inside_the_map() {
    let text = errors_for(
        "aggregate",
        Renamed { resource: resource::EVALUATE.schemas(), output: true, from: "cluster_id", to: "cluster" },
    );
    assert!(text.contains("Run ready jobs/Run EMR step") && text.contains("$.cluster_id"), "{text}");
}

#[test]
fn renaming_tracks_readiness_flag_names_the_choice() {
    let text = errors_for(
        "ingest",
        Renamed { resource: resource::TRACK.schemas(), output: true, from: "job_may_be_ready", to: "ready" },
    );
    assert!(text.contains("Could a job be ready?") && text.contains("$.tracking.job_may_be_ready"), "{text}");
}

#[test]
fn renaming_a_field_of_a_task_input_names_the_parameters_that_no_longer_fit() {
    let text = errors_for(
        "aggregate",
        Renamed { resource: resource::LOAD.schemas(), output: false, from: "output_prefix", to: "prefix" },
    );
    assert!(text.contains("Run ready jobs/Load into warehouse") && text.contains("prefix"), "{text}");
}

#[test]
fn renaming_a_record_output_field_breaks_the_failed_run_summary() {
    let text = errors_for(
        "aggregate",
        Renamed { resource: resource::RECORD.schemas(), output: true, from: "failed_runs", to: "failures" },
    );
    assert!(text.contains("Summarize runs") && text.contains("$.outcomes[*].failed_runs[*]"), "{text}");
}
