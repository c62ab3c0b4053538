//! The load task on Redshift, with the Redshift Data API mocked at the SDK
//! boundary: the exact SQL batch sent for a run, the rows merged taken from
//! the statement result, and how Redshift's answers become error names.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_redshiftdata::config::retry::RetryConfig;
use aws_sdk_redshiftdata::config::{AsyncSleep, Sleep};
use aws_sdk_redshiftdata::error::ErrorMetadata;
use aws_sdk_redshiftdata::operation::batch_execute_statement::{
    BatchExecuteStatementError, BatchExecuteStatementInput, BatchExecuteStatementOutput,
};
use aws_sdk_redshiftdata::operation::cancel_statement::CancelStatementOutput;
use aws_sdk_redshiftdata::operation::describe_statement::{DescribeStatementError, DescribeStatementOutput};
use aws_sdk_redshiftdata::types::{StatementStatusString, StatusString, SubStatementData};
use aws_sdk_redshiftdata::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use edba_payloads::{LoadInput, LoadOutput, TableLoad};
use edba_tasks::load::{
    load, sql, PlannedTables, PollPolicy, RedshiftConfig, RedshiftTarget, RedshiftWarehouse, Warehouse,
};
use edba_tasks::TaskError;
use pretty_assertions::assert_eq;

const ROLE: &str = "arn:aws:iam::123456789012:role/edba-redshift-copy";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:edba-warehouse-AbCdEf";

fn config(target: RedshiftTarget) -> RedshiftConfig {
    RedshiftConfig {
        target,
        database: "analytics".into(),
        secret_arn: SECRET.into(),
        copy_role_arn: ROLE.into(),
        bucket: "edba-data".into(),
        poll: PollPolicy {
            first_interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(4),
            deadline: Duration::from_secs(5),
        },
    }
}

fn input(tables: &[&str]) -> LoadInput {
    LoadInput {
        run_id: "run-42".into(),
        job_id: "il-sales".into(),
        output_prefix: "output/il-sales/run-42/".into(),
        tables: tables.iter().map(|t| t.to_string()).collect(),
    }
}

fn client(rules: &[&Rule]) -> Client {
    client_with(RuleMode::Sequential, rules)
}

fn client_with(mode: RuleMode, rules: &[&Rule]) -> Client {
    // No SDK retries: each mocked answer is seen by the load exactly once.
    // The test config has no sleep; a Lambda's client has the SDK's default.
    mock_client!(aws_sdk_redshiftdata, mode, rules, |b| b.retry_config(RetryConfig::disabled()).sleep_impl(TokioSleep))
}

#[derive(Debug)]
struct TokioSleep;

impl AsyncSleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::new(tokio::time::sleep(duration))
    }
}

/// Records the batch the load submits and answers with statement id "batch-1".
fn submit(sent: Arc<Mutex<Vec<BatchExecuteStatementInput>>>) -> Rule {
    mock!(Client::batch_execute_statement)
        .match_requests(move |req| {
            sent.lock().unwrap().push(req.clone());
            true
        })
        .then_output(|| BatchExecuteStatementOutput::builder().id("batch-1").build())
}

fn status(status: StatusString) -> DescribeStatementOutput {
    DescribeStatementOutput::builder().id("batch-1").status(status).build().unwrap()
}

/// FINISHED with 5 sub-statements per table; COPY (3rd) and MERGE (4th) report `merged`.
fn finished(merged: &[i64]) -> DescribeStatementOutput {
    let mut out = DescribeStatementOutput::builder().id("batch-1").status(StatusString::Finished);
    for (t, rows) in merged.iter().enumerate() {
        for (n, result_rows) in [0, 0, *rows, *rows, 0].into_iter().enumerate() {
            out = out.sub_statements(
                SubStatementData::builder()
                    .id(format!("batch-1:{}", t * 5 + n + 1))
                    .status(StatementStatusString::Finished)
                    .result_rows(result_rows)
                    .build()
                    .unwrap(),
            );
        }
    }
    out.build().unwrap()
}

fn describe_sequence(outputs: Vec<DescribeStatementOutput>) -> Rule {
    let mut rule = mock!(Client::describe_statement).match_requests(|req| req.id() == Some("batch-1")).sequence();
    for output in outputs {
        rule = rule.output(move || output.clone());
    }
    rule.build()
}

async fn run_load(client: Client, target: RedshiftTarget, input: &LoadInput) -> Result<LoadOutput, TaskError> {
    let warehouse = RedshiftWarehouse::new(client, config(target)).unwrap();
    load(Warehouse::Redshift(&warehouse), input, &PlannedTables::sample()).await
}

/// The batch's statements for one sample table: generated from the table's
/// plan (the generated text itself is snapshot-tested in `warehouse_sql`).
fn expected(table: &str) -> Vec<String> {
    let planned = PlannedTables::sample();
    let url = format!("s3://edba-data/output/il-sales/run-42/{table}/");
    sql::redshift_load(planned.table(table).unwrap(), &url, ROLE)
}

#[tokio::test]
async fn a_run_is_one_batch_that_copies_its_output_and_merges_each_table() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let submit = submit(sent.clone());
    let describe =
        describe_sequence(vec![status(StatusString::Submitted), status(StatusString::Started), finished(&[120, 17])]);
    let client = client(&[&submit, &describe]);

    let output =
        run_load(client, RedshiftTarget::Workgroup("edba".into()), &input(&["saleitemsummary", "salessummary"]))
            .await
            .unwrap();

    assert_eq!(
        output,
        LoadOutput {
            run_id: "run-42".into(),
            tables: vec![
                TableLoad { table: "saleitemsummary".into(), rows_merged: 120 },
                TableLoad { table: "salessummary".into(), rows_merged: 17 },
            ],
        }
    );
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1, "one batch, so one transaction");
    let batch = &sent[0];
    let expected: Vec<String> = [expected("saleitemsummary"), expected("salessummary")].concat();
    assert_eq!(batch.sqls(), expected.as_slice());
    assert!(batch.sqls()[0].starts_with("CREATE TABLE IF NOT EXISTS \"saleitemsummary\" ("), "{}", batch.sqls()[0]);
    assert!(batch.sqls()[2].contains("FROM 's3://edba-data/output/il-sales/run-42/saleitemsummary/'"));
    assert!(batch.sqls()[2].contains("IAM_ROLE 'arn:aws:iam::123456789012:role/edba-redshift-copy'"));
    assert_eq!(batch.workgroup_name(), Some("edba"));
    assert_eq!(batch.cluster_identifier(), None);
    assert_eq!(batch.database(), Some("analytics"));
    assert_eq!(batch.secret_arn(), Some(SECRET));
    assert_eq!(batch.statement_name(), Some("edba-load-run-42"));
    assert_eq!(describe.num_calls(), 3, "polled until FINISHED");
}

#[tokio::test]
async fn a_provisioned_cluster_is_addressed_by_its_id_and_tables_keep_payload_order() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let submit = submit(sent.clone());
    let describe = describe_sequence(vec![finished(&[5])]);

    let output = run_load(
        client(&[&submit, &describe]),
        RedshiftTarget::Cluster("edba-cluster".into()),
        &input(&["salessummary"]),
    )
    .await
    .unwrap();

    assert_eq!(output.tables, vec![TableLoad { table: "salessummary".into(), rows_merged: 5 }]);
    let batch = &sent.lock().unwrap()[0];
    assert_eq!(batch.cluster_identifier(), Some("edba-cluster"));
    assert_eq!(batch.workgroup_name(), None);
    assert_eq!(batch.sqls(), expected("salessummary").as_slice());
}

#[tokio::test]
async fn a_failed_statement_is_load_failed_with_redshift_error() {
    let submit = submit(Arc::default());
    let failed = DescribeStatementOutput::builder()
        .id("batch-1")
        .status(StatusString::Failed)
        .error("ERROR: Spectrum Scan Error: column sale_amount has type INT64, expected DECIMAL(14,2)")
        .build()
        .unwrap();
    let describe = describe_sequence(vec![status(StatusString::Started), failed]);

    let err =
        run_load(client(&[&submit, &describe]), RedshiftTarget::Workgroup("edba".into()), &input(&["salessummary"]))
            .await
            .unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.LoadFailed");
    let message = err.to_string();
    assert!(message.contains("run-42"), "{message}");
    assert!(message.contains("column sale_amount has type INT64"), "{message}");
}

#[tokio::test]
async fn a_serialization_conflict_with_another_load_is_transient() {
    let submit = submit(Arc::default());
    let failed = DescribeStatementOutput::builder()
        .id("batch-1")
        .status(StatusString::Failed)
        .error("ERROR: 1023 DETAIL: Serializable isolation violation on table - 123456, transactions forming the cycle are: 1, 2")
        .build()
        .unwrap();
    let describe = describe_sequence(vec![failed]);

    let err =
        run_load(client(&[&submit, &describe]), RedshiftTarget::Workgroup("edba".into()), &input(&["salessummary"]))
            .await
            .unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.Transient");
}

#[tokio::test]
async fn an_aborted_statement_is_load_failed() {
    let submit = submit(Arc::default());
    let describe = describe_sequence(vec![status(StatusString::Aborted)]);

    let err =
        run_load(client(&[&submit, &describe]), RedshiftTarget::Workgroup("edba".into()), &input(&["salessummary"]))
            .await
            .unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.LoadFailed");
    assert!(err.to_string().contains("aborted"), "{err}");
}

#[tokio::test]
async fn throttling_is_transient() {
    let throttled = mock!(Client::batch_execute_statement).then_error(|| {
        BatchExecuteStatementError::generic(
            ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build(),
        )
    });

    let err = run_load(client(&[&throttled]), RedshiftTarget::Workgroup("edba".into()), &input(&["salessummary"]))
        .await
        .unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.Transient");
    assert!(err.to_string().contains("Rate exceeded"), "{err}");
}

#[tokio::test]
async fn throttled_polling_is_transient_and_a_rejected_request_is_load_failed() {
    let submit = submit(Arc::default());
    let throttled = mock!(Client::describe_statement).then_error(|| {
        DescribeStatementError::generic(
            ErrorMetadata::builder().code("ThrottlingException").message("slow down").build(),
        )
    });
    let err =
        run_load(client(&[&submit, &throttled]), RedshiftTarget::Workgroup("edba".into()), &input(&["salessummary"]))
            .await
            .unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.Transient");

    let invalid = mock!(Client::batch_execute_statement).then_error(|| {
        BatchExecuteStatementError::generic(
            ErrorMetadata::builder().code("ValidationException").message("Workgroup edba not found").build(),
        )
    });
    let err = run_load(client(&[&invalid]), RedshiftTarget::Workgroup("edba".into()), &input(&["salessummary"]))
        .await
        .unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.LoadFailed");
}

#[tokio::test]
async fn a_statement_still_running_at_the_deadline_is_cancelled_and_transient() {
    let submit = submit(Arc::default());
    let running =
        mock!(Client::describe_statement).sequence().output(|| status(StatusString::Started)).repeatedly().build();
    let cancel = mock!(Client::cancel_statement)
        .match_requests(|req| req.id() == Some("batch-1"))
        .then_output(|| CancelStatementOutput::builder().status(true).build());
    let client = client_with(RuleMode::MatchAny, &[&submit, &running, &cancel]);
    let mut config = config(RedshiftTarget::Workgroup("edba".into()));
    config.poll.deadline = Duration::from_millis(30);
    let warehouse = RedshiftWarehouse::new(client, config).unwrap();

    let err =
        load(Warehouse::Redshift(&warehouse), &input(&["salessummary"]), &PlannedTables::sample()).await.unwrap_err();

    assert_eq!(err.name().as_str(), "Edba.Transient");
    assert!(err.to_string().contains("still running"), "{err}");
    assert_eq!(cancel.num_calls(), 1);
    assert!(running.num_calls() >= 2, "polled more than once before giving up");
}

#[tokio::test]
async fn unknown_tables_and_unsafe_prefixes_never_reach_redshift() {
    let submit = submit(Arc::default());
    for bad in [
        input(&["saleitemsummary", "users"]),
        LoadInput { output_prefix: "output/x/'; DROP TABLE salessummary; --/".into(), ..input(&["salessummary"]) },
    ] {
        let err = run_load(client(&[&submit]), RedshiftTarget::Workgroup("edba".into()), &bad).await.unwrap_err();
        assert_eq!(err.name().as_str(), "Edba.InvalidInput", "{bad:?}");
    }
    assert_eq!(submit.num_calls(), 0);
}

#[test]
fn a_bucket_or_role_that_would_break_the_copy_string_is_refused() {
    let client = client(&[]);
    let mut bad_role = config(RedshiftTarget::Workgroup("edba".into()));
    bad_role.copy_role_arn = "arn:aws:iam::123456789012:role/x' CREDENTIALS 'y".into();
    assert!(RedshiftWarehouse::new(client.clone(), bad_role).is_err());
    let mut bad_bucket = config(RedshiftTarget::Workgroup("edba".into()));
    bad_bucket.bucket = "edba/data".into();
    assert!(RedshiftWarehouse::new(client, bad_bucket).is_err());
}
