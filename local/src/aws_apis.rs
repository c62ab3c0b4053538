//! In-process stand-ins for the few EMR and Step Functions API calls the
//! evaluate task makes, so that `edba run` drives the *same* `aws-sdk-emr` and
//! `aws-sdk-sfn` code as a deployed Lambda: only the HTTP layer is local.
//!
//! - EMR: one local cluster (`ListClusters`, `DescribeCluster`, `ListSteps`),
//!   tagged so the sample jobs' selector (`edba=true`) finds it. Steps run
//!   through the local executor's `addStep.sync` binding, not this API.
//! - Step Functions: `DescribeExecution` answers from the executions the local
//!   executor has finished or is running; an ARN it never ran (a leftover of an
//!   earlier `edba run`) does not exist, which evaluate treats as ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};

use crate::executor::{state_machine_arn, ExecutionHandle, ExecutionObserver, ExecutionResult};

/// The id of the one local EMR cluster.
pub const LOCAL_CLUSTER_ID: &str = "j-EDBALOCAL0001";

/// What the local Step Functions knows of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub state_machine_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    pub start_date_epoch: f64,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// What [`LocalAwsApis::observer`] hands the executor.
struct Describes(LocalAwsApis);

impl ExecutionObserver for Describes {
    fn started(&self, handle: &ExecutionHandle) {
        let record = ExecutionRecord {
            state_machine_arn: state_machine_arn(&handle.state_machine),
            status: "RUNNING".into(),
            start_date_epoch: 0.0,
            error: None,
            cause: None,
        };
        self.0.set_execution(&handle.execution_arn, record);
    }

    fn finished(&self, result: &ExecutionResult) {
        let record = ExecutionRecord {
            state_machine_arn: state_machine_arn(&result.state_machine),
            status: result.status.to_string(),
            start_date_epoch: 0.0,
            error: result.error.clone(),
            cause: result.cause.clone(),
        };
        self.0.set_execution(&result.execution_arn, record);
    }
}

/// The local EMR and Step Functions APIs; cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalAwsApis {
    cluster_tags: Vec<(String, String)>,
    executions: Arc<Mutex<HashMap<String, ExecutionRecord>>>,
}

impl Default for LocalAwsApis {
    fn default() -> Self {
        LocalAwsApis::new(vec![("edba".into(), "true".into())])
    }
}

impl LocalAwsApis {
    /// A local cluster carrying `cluster_tags`.
    pub fn new(cluster_tags: Vec<(String, String)>) -> Self {
        LocalAwsApis { cluster_tags, executions: Arc::default() }
    }

    /// Records (or updates) what `DescribeExecution` answers for `arn`.
    pub fn set_execution(&self, arn: &str, record: ExecutionRecord) {
        self.executions.lock().expect("not poisoned").insert(arn.to_owned(), record);
    }

    /// Keeps `DescribeExecution` true to an executor: observing it, every
    /// execution is RUNNING from its start and has its status from its end,
    /// so evaluate's reconciliation sees the truth without the executor
    /// keeping what it finished.
    pub fn observer(&self) -> Arc<dyn ExecutionObserver> {
        Arc::new(Describes(self.clone()))
    }

    /// An EMR client whose requests are answered in process.
    pub fn emr_client(&self) -> aws_sdk_emr::Client {
        let config = aws_sdk_emr::Config::builder()
            .behavior_version(aws_sdk_emr::config::BehaviorVersion::latest())
            .region(aws_sdk_emr::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_emr::config::Credentials::new(
                "edba-local",
                "edba-local-secret",
                None,
                None,
                "edba-local",
            ))
            .http_client(self.http_client())
            .build();
        aws_sdk_emr::Client::from_conf(config)
    }

    /// A Step Functions client whose requests are answered in process.
    pub fn sfn_client(&self) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "edba-local",
                "edba-local-secret",
                None,
                None,
                "edba-local",
            ))
            .http_client(self.http_client())
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    fn http_client(&self) -> SharedHttpClient {
        self.clone().into_shared()
    }

    /// Answers one JSON-protocol request (`X-Amz-Target: Service.Operation`).
    fn answer(&self, target: &str, body: &Value) -> (u16, Value) {
        match target {
            "ElasticMapReduce.ListClusters" => (
                200,
                json!({"Clusters": [{
                    "Id": LOCAL_CLUSTER_ID,
                    "Name": "edba-local",
                    "Status": {"State": "WAITING"}
                }]}),
            ),
            "ElasticMapReduce.DescribeCluster" => {
                if body["ClusterId"] != LOCAL_CLUSTER_ID {
                    return (400, json!({"__type": "InvalidRequestException", "Message": "no such cluster"}));
                }
                let tags: Vec<Value> = self.cluster_tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
                (
                    200,
                    json!({"Cluster": {
                        "Id": LOCAL_CLUSTER_ID,
                        "Name": "edba-local",
                        "Status": {"State": "WAITING"},
                        "Tags": tags
                    }}),
                )
            }
            "ElasticMapReduce.ListSteps" => (200, json!({"Steps": []})),
            "AWSStepFunctions.DescribeExecution" => {
                let arn = body["executionArn"].as_str().unwrap_or_default();
                let record = self.executions.lock().expect("not poisoned").get(arn).cloned();
                match record {
                    Some(r) => {
                        let mut out = json!({
                            "executionArn": arn,
                            "stateMachineArn": r.state_machine_arn,
                            "status": r.status,
                            "startDate": r.start_date_epoch,
                        });
                        if let Some(e) = r.error {
                            out["error"] = json!(e);
                        }
                        if let Some(c) = r.cause {
                            out["cause"] = json!(c);
                        }
                        (200, out)
                    }
                    None => (
                        400,
                        json!({"__type": "ExecutionDoesNotExist", "message": format!("Execution does not exist: '{arn}'")}),
                    ),
                }
            }
            other => (
                400,
                json!({"__type": "UnknownOperationException", "message": format!("edba's local AWS stand-in does not implement {other}")}),
            ),
        }
    }
}

impl HttpConnector for LocalAwsApis {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default().to_owned();
        let body: Value = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let (status, answer) = self.answer(&target, &body);
        let content_type = if target.starts_with("AWSStepFunctions") {
            "application/x-amz-json-1.0"
        } else {
            "application/x-amz-json-1.1"
        };
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).expect("a valid status code"),
            SdkBody::from(answer.to_string()),
        );
        response.headers_mut().insert("content-type", content_type);
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for LocalAwsApis {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.clone().into_shared()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_cluster_is_listed_with_its_tags() {
        let apis = LocalAwsApis::default();
        let emr = apis.emr_client();
        let clusters = emr.list_clusters().send().await.unwrap();
        let ids: Vec<_> = clusters.clusters().iter().filter_map(|c| c.id()).collect();
        assert_eq!(ids, [LOCAL_CLUSTER_ID]);
        let described = emr.describe_cluster().cluster_id(LOCAL_CLUSTER_ID).send().await.unwrap();
        let tags = described.cluster().unwrap().tags();
        assert_eq!(tags[0].key(), Some("edba"));
        assert_eq!(tags[0].value(), Some("true"));
        assert!(emr.list_steps().cluster_id(LOCAL_CLUSTER_ID).send().await.unwrap().steps().is_empty());
    }

    #[tokio::test]
    async fn describe_execution_answers_from_what_the_executor_recorded() {
        let apis = LocalAwsApis::default();
        let sfn = apis.sfn_client();
        let arn = "arn:aws:states:local:000000000000:execution:aggregate:one";
        let missing = sfn.describe_execution().execution_arn(arn).send().await.unwrap_err();
        assert!(missing.into_service_error().is_execution_does_not_exist());
        apis.set_execution(
            arn,
            ExecutionRecord {
                state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:aggregate".into(),
                status: "ABORTED".into(),
                start_date_epoch: 1_700_000_000.0,
                error: None,
                cause: None,
            },
        );
        let out = sfn.describe_execution().execution_arn(arn).send().await.unwrap();
        assert_eq!(out.status().as_str(), "ABORTED");
    }
}
