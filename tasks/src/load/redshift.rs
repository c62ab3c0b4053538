//! The load on Amazon Redshift through the Redshift Data API.
//!
//! One `BatchExecuteStatement` per run: Redshift runs a batch's statements as
//! one transaction, so either every table of the run is merged or none is.
//! The Lambda then polls `DescribeStatement` with a bounded backoff until the
//! batch has FINISHED, FAILED or been ABORTED.

use std::time::{Duration, Instant};

use aws_sdk_redshiftdata::config::AsyncSleep;
use aws_sdk_redshiftdata::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput;
use aws_sdk_redshiftdata::types::StatusString;
use aws_sdk_redshiftdata::Client;
use edba_payloads::{LoadInput, TableLoad};

use super::sql::{
    redshift_load, REDSHIFT_COPY_STATEMENT as COPY_STATEMENT, REDSHIFT_MERGE_STATEMENT as MERGE_STATEMENT,
    REDSHIFT_STATEMENTS_PER_TABLE as STATEMENTS_PER_TABLE,
};
use super::table::TableSchema;
use crate::TaskError;

/// Which Redshift the Data API talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedshiftTarget {
    /// Redshift Serverless, by workgroup name.
    Workgroup(String),
    /// A provisioned cluster, by cluster identifier.
    Cluster(String),
}

/// How long and how often the load polls a running batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// The first wait; each next wait doubles, up to `max_interval`.
    pub first_interval: Duration,
    pub max_interval: Duration,
    /// Give up (cancel the batch, `Edba.Transient`) after this long. Below the
    /// Lambda's timeout, so the machine sees a retryable error, not a timeout.
    pub deadline: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            first_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(5),
            deadline: Duration::from_secs(12 * 60),
        }
    }
}

/// Where and as whom the load runs. No password: the Data API authenticates
/// with the Secrets Manager secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedshiftConfig {
    pub target: RedshiftTarget,
    pub database: String,
    /// The Secrets Manager ARN of the database credentials.
    pub secret_arn: String,
    /// The IAM role Redshift assumes to read the run's Parquet for `COPY`.
    pub copy_role_arn: String,
    /// The bucket holding the runs' output.
    pub bucket: String,
    pub poll: PollPolicy,
}

impl RedshiftConfig {
    /// Reads `EDBA_REDSHIFT_WORKGROUP` or `EDBA_REDSHIFT_CLUSTER_ID`,
    /// `EDBA_REDSHIFT_DATABASE`, `EDBA_REDSHIFT_SECRET_ARN`,
    /// `EDBA_REDSHIFT_COPY_ROLE_ARN` and `EDBA_BUCKET` through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<RedshiftConfig, String> {
        let required = |name: &str| var(name).filter(|v| !v.is_empty()).ok_or(format!("{name} is not set"));
        let workgroup = var("EDBA_REDSHIFT_WORKGROUP").filter(|v| !v.is_empty());
        let cluster = var("EDBA_REDSHIFT_CLUSTER_ID").filter(|v| !v.is_empty());
        let target = match (workgroup, cluster) {
            (Some(w), None) => RedshiftTarget::Workgroup(w),
            (None, Some(c)) => RedshiftTarget::Cluster(c),
            (Some(_), Some(_)) => {
                return Err("set EDBA_REDSHIFT_WORKGROUP or EDBA_REDSHIFT_CLUSTER_ID, not both".into())
            }
            (None, None) => return Err("EDBA_REDSHIFT_WORKGROUP or EDBA_REDSHIFT_CLUSTER_ID must be set".into()),
        };
        Ok(RedshiftConfig {
            target,
            database: required("EDBA_REDSHIFT_DATABASE")?,
            secret_arn: required("EDBA_REDSHIFT_SECRET_ARN")?,
            copy_role_arn: required("EDBA_REDSHIFT_COPY_ROLE_ARN")?,
            bucket: required("EDBA_BUCKET")?,
            poll: PollPolicy::default(),
        })
    }
}

/// The Redshift warehouse: a Data API client and its configuration.
#[derive(Debug, Clone)]
pub struct RedshiftWarehouse {
    client: Client,
    config: RedshiftConfig,
}

impl RedshiftWarehouse {
    /// Checks the values that end up inside SQL text (the bucket and the
    /// role ARN): they must match their AWS formats exactly.
    pub fn new(client: Client, config: RedshiftConfig) -> Result<RedshiftWarehouse, String> {
        if !is_bucket_name(&config.bucket) {
            return Err(format!("{:?} is not an S3 bucket name", config.bucket));
        }
        if !is_role_arn(&config.copy_role_arn) {
            return Err(format!(
                "{:?} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                config.copy_role_arn
            ));
        }
        Ok(RedshiftWarehouse { client, config })
    }

    /// The SQL of a run's load batch, in order. `input` and `tables` are
    /// checked by [`super::load`] first.
    pub fn statements<T: AsRef<TableSchema>>(&self, input: &LoadInput, tables: &[T]) -> Vec<String> {
        let mut sqls = Vec::with_capacity(tables.len() * STATEMENTS_PER_TABLE);
        for table in tables {
            let table = table.as_ref();
            let output_url = format!("s3://{}/{}{}/", self.config.bucket, input.output_prefix, table.name);
            sqls.extend(redshift_load(table, &output_url, &self.config.copy_role_arn));
        }
        sqls
    }

    pub(super) async fn merge_run(
        &self,
        input: &LoadInput,
        tables: &[std::sync::Arc<TableSchema>],
    ) -> Result<Vec<TableLoad>, TaskError> {
        let context = format!("load of run {}", input.run_id);
        let request = self
            .client
            .batch_execute_statement()
            .set_sqls(Some(self.statements(input, tables)))
            .database(&self.config.database)
            .secret_arn(&self.config.secret_arn)
            .statement_name(format!("edba-load-{}", input.run_id))
            .with_event(false);
        let request = match &self.config.target {
            RedshiftTarget::Workgroup(name) => request.workgroup_name(name),
            RedshiftTarget::Cluster(id) => request.cluster_identifier(id),
        };
        let submitted = request.send().await.map_err(|e| sdk_error(&format!("{context}: BatchExecuteStatement"), e))?;
        let id = submitted
            .id()
            .ok_or_else(|| TaskError::Transient(format!("{context}: BatchExecuteStatement returned no id")))?
            .to_owned();

        let finished = self.wait(&context, &id).await?;
        let sub = finished.sub_statements();
        Ok(tables
            .iter()
            .enumerate()
            .map(|(i, table)| {
                let rows = |n: usize| sub.get(i * STATEMENTS_PER_TABLE + n).map(|s| s.result_rows());
                // MERGE reports inserted + updated rows; if it reports none
                // (-1), COPY's count is the same number (the staged rows).
                let rows_merged =
                    [rows(MERGE_STATEMENT), rows(COPY_STATEMENT)].into_iter().flatten().find(|n| *n >= 0).unwrap_or(0);
                TableLoad { table: table.name.clone(), rows_merged: rows_merged as u64 }
            })
            .collect())
    }

    async fn wait(&self, context: &str, id: &str) -> Result<DescribeStatementOutput, TaskError> {
        let poll = self.config.poll;
        let started = Instant::now();
        let mut interval = poll.first_interval;
        loop {
            let statement = self
                .client
                .describe_statement()
                .id(id)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("{context}: DescribeStatement {id}"), e))?;
            match statement.status() {
                Some(StatusString::Finished) => return Ok(statement),
                Some(StatusString::Failed) => {
                    let error = statement.error().unwrap_or("no error message");
                    let message = format!("{context}: Redshift statement {id} failed: {error}");
                    // Two loads merging into one table at once: Redshift
                    // aborts one of them; it succeeds when retried.
                    return Err(if error.contains("Serializable isolation violation") {
                        TaskError::Transient(message)
                    } else {
                        TaskError::LoadFailed(message)
                    });
                }
                Some(StatusString::Aborted) => {
                    return Err(TaskError::LoadFailed(format!(
                        "{context}: Redshift statement {id} was aborted (cancelled or the session ended)"
                    )))
                }
                _ => {}
            }
            if started.elapsed() + interval > poll.deadline {
                // Best effort: a batch left running would still commit; its
                // MERGE is idempotent, so a retried load is safe either way.
                let _ = self.client.cancel_statement().id(id).send().await;
                return Err(TaskError::Transient(format!(
                    "{context}: Redshift statement {id} still running after {:?}; cancelled",
                    started.elapsed()
                )));
            }
            let sleep = self.client.config().sleep_impl().ok_or_else(|| {
                TaskError::Transient(format!("{context}: the SDK client has no sleep implementation"))
            })?;
            sleep.sleep(interval).await;
            interval = (interval * 2).min(poll.max_interval);
        }
    }
}

/// Request problems no retry fixes are `Edba.LoadFailed`; everything else
/// (throttling, too many active statements, 5xx, network) is `Edba.Transient`.
fn sdk_error<E, R>(context: &str, err: SdkError<E, R>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.as_service_error().and_then(|e| e.code().map(str::to_owned));
    let message = format!("{context}: {}", DisplayErrorContext(&err));
    match code.as_deref() {
        Some("ValidationException" | "ResourceNotFoundException" | "AccessDeniedException") => {
            TaskError::LoadFailed(message)
        }
        _ => TaskError::Transient(message),
    }
}

/// S3 bucket naming rules (lowercase letters, digits, `-` and `.`, 3–63).
fn is_bucket_name(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.as_bytes()[0].is_ascii_alphanumeric()
        && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric()
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn is_role_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let name = resource.strip_prefix("role/").unwrap_or("");
    partition.starts_with("aws")
        && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_buckets_and_role_arns_reach_sql() {
        assert!(is_bucket_name("edba-data.prod"));
        for bad in ["ab", "Edba", "edba_data", "edba'x", "-edba", "edba-"] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
        assert!(is_role_arn("arn:aws:iam::123456789012:role/edba/redshift-copy"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/copy"));
        for bad in [
            "arn:aws:iam::123456789012:user/copy",
            "arn:aws:iam::12345:role/copy",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/x' --",
            "arn:aws:s3:::bucket",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn configuration_comes_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let base = [
            ("EDBA_REDSHIFT_DATABASE", "dev"),
            ("EDBA_REDSHIFT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:wh"),
            ("EDBA_REDSHIFT_COPY_ROLE_ARN", "arn:aws:iam::123456789012:role/copy"),
            ("EDBA_BUCKET", "edba-data"),
        ];
        let with = |extra: &'static [(&'static str, &'static str)]| -> &'static [(&'static str, &'static str)] {
            Vec::leak([&base[..], extra].concat())
        };
        let config = RedshiftConfig::from_vars(env(with(&[("EDBA_REDSHIFT_WORKGROUP", "edba")]))).unwrap();
        assert_eq!(config.target, RedshiftTarget::Workgroup("edba".into()));
        let config = RedshiftConfig::from_vars(env(with(&[("EDBA_REDSHIFT_CLUSTER_ID", "c1")]))).unwrap();
        assert_eq!(config.target, RedshiftTarget::Cluster("c1".into()));
        assert!(RedshiftConfig::from_vars(env(with(&[]))).is_err());
        assert!(RedshiftConfig::from_vars(env(with(&[
            ("EDBA_REDSHIFT_WORKGROUP", "edba"),
            ("EDBA_REDSHIFT_CLUSTER_ID", "c1")
        ])))
        .is_err());
        let missing = RedshiftConfig::from_vars(env(&[("EDBA_REDSHIFT_WORKGROUP", "edba")])).unwrap_err();
        assert_eq!(missing, "EDBA_REDSHIFT_DATABASE is not set");
    }
}
