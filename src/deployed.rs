//! `edba start` and `edba executions`: the deployed machines, through
//! `aws-sdk-sfn` with the usual AWS environment (region, credentials). The
//! stack names the machines `<stack>-ingest` and `<stack>-aggregate`.

use anyhow::{bail, Context};
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::json;

/// The ARN of `<stack>-<machine>`, found with ListStateMachines.
pub async fn machine_arn(sfn: &aws_sdk_sfn::Client, stack: &str, machine: &str) -> anyhow::Result<String> {
    let wanted = format!("{stack}-{machine}");
    let mut pages = sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| anyhow::anyhow!("ListStateMachines: {}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        if let Some(m) = page.state_machines().iter().find(|m| m.name() == wanted) {
            return Ok(m.state_machine_arn().to_owned());
        }
    }
    bail!("no state machine named {wanted} in this account and region; is the stack `{stack}` deployed (scripts/deploy.sh)?")
}

/// Starts an aggregate execution as a person would: `trigger: manual`, or
/// `trigger: rerun` of one run.
pub async fn start_aggregate(sfn: &aws_sdk_sfn::Client, stack: &str, rerun: Option<&str>) -> anyhow::Result<String> {
    let arn = machine_arn(sfn, stack, "aggregate").await?;
    let input = match rerun {
        Some(run_id) => json!({"trigger": "rerun", "run_id": run_id}),
        None => json!({"trigger": "manual"}),
    };
    let out = sfn
        .start_execution()
        .state_machine_arn(arn)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("StartExecution: {}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
    Ok(out.execution_arn().to_owned())
}

/// Re-drives one object through ingest: the event S3 would have sent.
pub async fn start_ingest(sfn: &aws_sdk_sfn::Client, stack: &str, event: serde_json::Value) -> anyhow::Result<String> {
    let arn = machine_arn(sfn, stack, "ingest").await?;
    let out = sfn
        .start_execution()
        .state_machine_arn(arn)
        .input(event.to_string())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("StartExecution: {}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
    Ok(out.execution_arn().to_owned())
}

/// What `edba start replay` did with one parked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub message_id: String,
    /// The object key the event is about, when the body is an S3 event.
    pub key: Option<String>,
    /// `SUCCEEDED`, `PARKED AGAIN`, or why the message stays in the queue.
    pub outcome: String,
    /// The message was deleted from the queue.
    pub deleted: bool,
}

impl std::fmt::Display for Replayed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = self.key.as_deref().unwrap_or("(not an S3 event)");
        let kept = if self.deleted { "" } else { " (kept in the queue)" };
        write!(f, "{} {key}: {}{kept}", self.message_id, self.outcome)
    }
}

/// How long a received message stays hidden from other consumers while its
/// ingest runs: an EXPRESS execution ends within 5 minutes.
const REPLAY_VISIBILITY_SECONDS: i32 = 600;

/// `edba start replay`: ingests again, one synchronous EXPRESS execution
/// each, up to `max` events parked in `<stack>-ingest-dlq` (by the ingest
/// machine, or by EventBridge when it could not start it). A message is
/// deleted once its ingest succeeded, or once that ingest failed again and
/// so parked the event anew; otherwise it stays hidden until this replay has
/// seen every message, then is made visible again for the next one.
pub async fn replay(
    sqs: &aws_sdk_sqs::Client,
    sfn: &aws_sdk_sfn::Client,
    stack: &str,
    max: usize,
) -> anyhow::Result<Vec<Replayed>> {
    let queue_name = format!("{stack}-ingest-dlq");
    let queue_url = sqs
        .get_queue_url()
        .queue_name(&queue_name)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "GetQueueUrl {queue_name}: {}; is the stack `{stack}` deployed?",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?
        .queue_url()
        .map(str::to_owned)
        .with_context(|| format!("GetQueueUrl {queue_name} returned no URL"))?;
    let ingest = machine_arn(sfn, stack, "ingest").await?;
    let mut done: Vec<Replayed> = Vec::new();
    let mut kept: Vec<(String, String)> = Vec::new();
    while done.len() < max {
        let batch = (max - done.len()).min(10) as i32;
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(batch)
            .visibility_timeout(REPLAY_VISIBILITY_SECONDS)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("ReceiveMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let (replayed, receipt) = replay_message(sqs, sfn, &queue_url, &ingest, message).await?;
            kept.extend(receipt.map(|r| (replayed.message_id.clone(), r)));
            done.push(replayed);
        }
    }
    for (message_id, receipt) in kept {
        sqs.change_message_visibility()
            .queue_url(&queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("ChangeMessageVisibility {message_id}: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
            })?;
    }
    Ok(done)
}

async fn replay_message(
    sqs: &aws_sdk_sqs::Client,
    sfn: &aws_sdk_sfn::Client,
    queue_url: &str,
    ingest: &str,
    message: &aws_sdk_sqs::types::Message,
) -> anyhow::Result<(Replayed, Option<String>)> {
    let message_id = message.message_id().unwrap_or("?").to_owned();
    let body = message.body().unwrap_or_default();
    let event: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let key = event.as_ref().and_then(|e| e.pointer("/detail/object/key")).and_then(|k| k.as_str()).map(str::to_owned);
    let outcome = if key.is_none() {
        Err("its body is not an S3 Object Created event".to_owned())
    } else {
        match sfn.start_sync_execution().state_machine_arn(ingest).input(body).send().await {
            Ok(out) => match (out.status().as_str(), out.error()) {
                ("SUCCEEDED", _) => Ok("SUCCEEDED".to_owned()),
                (_, Some(error)) if error == edba_payloads::ErrorName::IngestParked.as_str() => {
                    Ok("failed again, PARKED AGAIN".to_owned())
                }
                (status, error) => Err(format!("ingest {status}: {}", error.unwrap_or("no error given"))),
            },
            Err(e) => Err(format!("StartSyncExecution: {}", aws_sdk_sfn::error::DisplayErrorContext(e))),
        }
    };
    let receipt = message.receipt_handle().context("a received message has a receipt handle")?;
    Ok(match outcome {
        Ok(outcome) => {
            sqs.delete_message().queue_url(queue_url).receipt_handle(receipt).send().await.map_err(|e| {
                anyhow::anyhow!("DeleteMessage {message_id}: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
            })?;
            (Replayed { message_id, key, outcome, deleted: true }, None)
        }
        Err(why) => (Replayed { message_id, key, outcome: why, deleted: false }, Some(receipt.to_owned())),
    })
}

/// The event for `s3://bucket/key`, from HeadObject.
pub async fn object_event(s3: &aws_sdk_s3::Client, url: &str, region: &str) -> anyhow::Result<serde_json::Value> {
    let rest = url.strip_prefix("s3://").context("give the object as s3://bucket/incoming/<file>")?;
    let (bucket, key) = rest.split_once('/').context("give the object as s3://bucket/incoming/<file>")?;
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("HeadObject {url}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let mut event = serde_json::to_value(edba_payloads::object_created_event(
        bucket,
        key,
        u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0),
        head.e_tag().map(|t| t.trim_matches('"').to_owned()),
        head.version_id().map(str::to_owned),
    ))?;
    event["region"] = json!(region);
    event["account"] = json!("");
    Ok(event)
}

/// One line per execution of the aggregate machine, newest first.
pub async fn list_executions(
    sfn: &aws_sdk_sfn::Client,
    stack: &str,
    machine: &str,
    status: Option<&str>,
    max: i32,
) -> anyhow::Result<Vec<String>> {
    if machine == "ingest" {
        bail!("ingest is an EXPRESS machine: Step Functions does not list its executions; read them in the CloudWatch log group /edba/{stack}/ingest-machine");
    }
    let arn = machine_arn(sfn, stack, machine).await?;
    let mut request = sfn.list_executions().state_machine_arn(arn).max_results(max);
    if let Some(s) = status {
        let upper = s.to_ascii_uppercase();
        if !ExecutionStatus::values().contains(&upper.as_str()) {
            bail!("unknown status {s}; use one of {}", ExecutionStatus::values().join(", "));
        }
        let filter = ExecutionStatus::from(upper.as_str());
        request = request.status_filter(filter);
    }
    let out = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("ListExecutions: {}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
    Ok(out
        .executions()
        .iter()
        .map(|e| format!("{:<10} {}  {}", e.status().as_str(), e.start_date(), e.execution_arn()))
        .collect())
}

/// `edba project push DIR --bucket B`: checks the project, then uploads its
/// job SQL files and `edba.toml` to `s3://B/code/` (the project file last, so
/// a task never reads a project whose SQL is not there yet).
pub async fn push_project(dir: &std::path::Path, bucket: &str) -> anyhow::Result<std::process::ExitCode> {
    let checked = edba_local::check::check_project_dir(dir, crate::find_root().ok().as_deref())
        .await
        .map_err(|failure| anyhow::anyhow!("{}: {failure}\nnothing was pushed", dir.join("edba.toml").display()))?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // An S3-compatible endpoint (AWS_ENDPOINT_URL) is addressed path-style.
    let path_style =
        std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(path_style).build());
    let put = |key: String, bytes: Vec<u8>| {
        let s3 = s3.clone();
        async move {
            s3.put_object().bucket(bucket).key(&key).body(bytes.into()).send().await.map_err(|e| {
                anyhow::anyhow!("PutObject s3://{bucket}/{key}: {}", aws_sdk_s3::error::DisplayErrorContext(e))
            })
        }
    };
    for object in checked.deployment()? {
        let out = put(object.key.clone(), object.bytes).await?;
        println!(
            "s3://{bucket}/{} (version {})",
            object.key,
            out.version_id().or(out.e_tag()).unwrap_or("unversioned")
        );
    }
    eprintln!(
        "pushed {} datasets, {} tables, {} job SQL files; the tasks read the new project at their next invocation",
        checked.project.datasets.len(),
        checked.project.tables.len(),
        checked.sql_files.len()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::list_state_machines::ListStateMachinesOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::types::{StateMachineListItem, StateMachineType};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn machines() -> ListStateMachinesOutput {
        let item = |name: &str| {
            StateMachineListItem::builder()
                .state_machine_arn(format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"))
                .name(name)
                .r#type(StateMachineType::Standard)
                .creation_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                .build()
                .unwrap()
        };
        ListStateMachinesOutput::builder()
            .state_machines(item("other-aggregate"))
            .state_machines(item("edba-aggregate"))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn start_aggregate_finds_the_stacks_machine_and_sends_a_manual_trigger() {
        let list = mock!(aws_sdk_sfn::Client::list_state_machines).then_output(machines);
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| {
                r.state_machine_arn() == Some("arn:aws:states:us-east-1:123456789012:stateMachine:edba-aggregate")
                    && r.input() == Some(r#"{"trigger":"manual"}"#)
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:x")
                    .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&list, &start]);
        let arn = start_aggregate(&sfn, "edba", None).await.unwrap();
        assert!(arn.ends_with(":execution:edba-aggregate:x"));
        assert_eq!(start.num_calls(), 1);
    }

    #[tokio::test]
    async fn start_rerun_sends_the_rerun_trigger_with_the_run_id() {
        let list = mock!(aws_sdk_sfn::Client::list_state_machines).then_output(machines);
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| {
                r.state_machine_arn() == Some("arn:aws:states:us-east-1:123456789012:stateMachine:edba-aggregate")
                    && r.input() == Some(r#"{"trigger":"rerun","run_id":"J101-20261127T071500Z-abcdef"}"#)
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:r")
                    .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&list, &start]);
        let arn = start_aggregate(&sfn, "edba", Some("J101-20261127T071500Z-abcdef")).await.unwrap();
        assert!(arn.ends_with(":execution:edba-aggregate:r"));
        assert_eq!(start.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_stack_is_named_in_the_error() {
        let list = mock!(aws_sdk_sfn::Client::list_state_machines).then_output(machines);
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&list]);
        let err = start_aggregate(&sfn, "prod", None).await.unwrap_err().to_string();
        assert!(err.contains("prod-aggregate") && err.contains("deploy"), "{err}");
    }

    #[tokio::test]
    async fn ingest_executions_are_not_listable() {
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, []);
        let err = list_executions(&sfn, "edba", "ingest", None, 10).await.unwrap_err().to_string();
        assert!(err.contains("EXPRESS"), "{err}");
    }

    /// Three parked messages: one ingests, one fails again (and so is parked
    /// anew), one fails otherwise; plus a body that is no S3 event.
    #[tokio::test]
    async fn replay_deletes_what_was_ingested_or_parked_again_and_keeps_the_rest_visible() {
        use aws_sdk_sfn::operation::start_sync_execution::StartSyncExecutionOutput;
        use aws_sdk_sfn::types::SyncExecutionStatus;
        use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityOutput;
        use aws_sdk_sqs::operation::delete_message::DeleteMessageOutput;
        use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput;
        use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
        use aws_sdk_sqs::types::Message;

        let queue = "https://sqs.us-east-1.amazonaws.com/123456789012/edba-ingest-dlq";
        let event =
            |key: &str| json!({"detail-type": "Object Created", "detail": {"object": {"key": key}}}).to_string();
        let message = |id: &str, body: String| {
            Message::builder().message_id(id).receipt_handle(format!("rh-{id}")).body(body).build()
        };
        let url = mock!(aws_sdk_sqs::Client::get_queue_url)
            .match_requests(|r| r.queue_name() == Some("edba-ingest-dlq"))
            .then_output(move || GetQueueUrlOutput::builder().queue_url(queue).build());
        let batch = ReceiveMessageOutput::builder()
            .messages(message("m1", event("incoming/IL-101.tdf")))
            .messages(message("m2", event("incoming/IL-102.tdf")))
            .messages(message("m3", event("incoming/IL-103.tdf")))
            .messages(message("m4", "not json".into()))
            .build();
        let receive = mock!(aws_sdk_sqs::Client::receive_message)
            .match_requests(move |r| r.queue_url() == Some(queue))
            .sequence()
            .output(move || batch.clone())
            .output(|| ReceiveMessageOutput::builder().build())
            .build();
        let delete = mock!(aws_sdk_sqs::Client::delete_message)
            .match_requests(|r| matches!(r.receipt_handle(), Some("rh-m1" | "rh-m2")))
            .then_output(|| DeleteMessageOutput::builder().build());
        let visible = mock!(aws_sdk_sqs::Client::change_message_visibility)
            .match_requests(|r| {
                matches!(r.receipt_handle(), Some("rh-m3" | "rh-m4")) && r.visibility_timeout() == Some(0)
            })
            .then_output(|| ChangeMessageVisibilityOutput::builder().build());
        let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&url, &receive, &delete, &visible]);

        let ingest_machine = ListStateMachinesOutput::builder()
            .state_machines(
                StateMachineListItem::builder()
                    .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:edba-ingest")
                    .name("edba-ingest")
                    .r#type(StateMachineType::Express)
                    .creation_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let list = mock!(aws_sdk_sfn::Client::list_state_machines).then_output(move || ingest_machine.clone());
        let sync = |key: &'static str, status: SyncExecutionStatus, error: Option<&'static str>| {
            mock!(aws_sdk_sfn::Client::start_sync_execution)
                .match_requests(move |r| {
                    r.state_machine_arn() == Some("arn:aws:states:us-east-1:123456789012:stateMachine:edba-ingest")
                        && r.input().is_some_and(|i| i.contains(key))
                })
                .then_output(move || {
                    StartSyncExecutionOutput::builder()
                        .execution_arn("arn:aws:states:us-east-1:123456789012:express:edba-ingest:x:y")
                        .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                        .stop_date(aws_sdk_sfn::primitives::DateTime::from_secs(1))
                        .status(status.clone())
                        .set_error(error.map(str::to_owned))
                        .build()
                        .unwrap()
                })
        };
        let ok = sync("IL-101", SyncExecutionStatus::Succeeded, None);
        let parked_again = sync("IL-102", SyncExecutionStatus::Failed, Some("Edba.IngestParked"));
        let timed_out = sync("IL-103", SyncExecutionStatus::TimedOut, Some("States.Timeout"));
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&list, &ok, &parked_again, &timed_out]);

        let done = replay(&sqs, &sfn, "edba", 100).await.unwrap();
        let shown: Vec<(String, bool)> = done.iter().map(|r| (r.to_string(), r.deleted)).collect();
        assert_eq!(
            shown,
            [
                ("m1 incoming/IL-101.tdf: SUCCEEDED".to_owned(), true),
                ("m2 incoming/IL-102.tdf: failed again, PARKED AGAIN".to_owned(), true),
                ("m3 incoming/IL-103.tdf: ingest TIMED_OUT: States.Timeout (kept in the queue)".to_owned(), false),
                (
                    "m4 (not an S3 event): its body is not an S3 Object Created event (kept in the queue)".to_owned(),
                    false
                ),
            ]
        );
        assert_eq!((delete.num_calls(), visible.num_calls()), (2, 2));
        assert_eq!(receive.num_calls(), 2, "until the queue answers empty");
        assert_eq!(parked_again.num_calls(), 1);
    }
}
