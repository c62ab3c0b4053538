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
}
