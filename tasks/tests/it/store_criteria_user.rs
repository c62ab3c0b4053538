//! Extra criteria run as their own database user, one that may only SELECT
//! the state store's tables, on a pool of their own; the store's own pool
//! goes on writing. On MariaDB (the deployed dialect; SQLite's sandbox is
//! `query_only`), through the evaluate task as the Lambda runs it. EMR lists
//! no cluster, so a job whose criteria all hold waits for a cluster, and one
//! whose extra criterion fails waits for that.

use std::sync::Arc;

use aws_sdk_emr::operation::list_clusters::ListClustersOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use edba_payloads::{AggregateInput, EvaluateInput, EvaluateOutput, Trigger};
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, FixedClock};
use edba_tasks::secrets::DatabaseLogin;
use edba_tasks::store::{JobRow, StateStore};
use edba_testkit::fixtures::{job, sales, with_extra, BUCKET};
use edba_testkit::{Grant, ThrowawayDatabase, ThrowawayUser};
use pretty_assertions::assert_eq;
use time::macros::datetime;

const CRITERIA_PASSWORD: &str = "criteria-pw-1";
pub(crate) const NO_CLUSTER: &str = "no EMR cluster tagged edba=true is WAITING or RUNNING";

pub(crate) async fn evaluate_jobs(store: &StateStore) -> EvaluateOutput {
    let list = mock!(aws_sdk_emr::Client::list_clusters).then_output(|| ListClustersOutput::builder().build());
    let emr = mock_client!(aws_sdk_emr, RuleMode::MatchAny, [&list]);
    // No run is RUNNING and nothing is superseded: neither client is called.
    let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, []);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::from_static("us-east-1"))
            .build(),
    );
    let deps = EvaluateDeps {
        store: store.clone(),
        sfn,
        emr,
        s3,
        bucket: BUCKET.into(),
        clock: Arc::new(FixedClock(datetime!(2026-11-27 07:15 UTC))),
        settings: EvaluateSettings::default(),
    };
    let input = EvaluateInput {
        request: AggregateInput { trigger: Trigger::Schedule, file_url: None, run_id: None, started_by: None },
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:now".into(),
    };
    evaluate(&deps, &input).await.unwrap()
}

pub(crate) fn reason_of<'a>(output: &'a EvaluateOutput, job_id: &str) -> &'a str {
    let waiting = output.waiting.iter().find(|w| w.job_id == job_id);
    &waiting.unwrap_or_else(|| panic!("{job_id} does not wait: {output:?}")).reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn criteria_run_as_a_select_only_user_and_the_store_still_writes() {
    let db = ThrowawayDatabase::mariadb("criteria").await;
    // Another schema, with a table the criteria user was never granted.
    let other = ThrowawayDatabase::mariadb("criteria_other").await;
    let root = sqlx::MySqlPool::connect(&other.url).await.unwrap();
    sqlx::query("CREATE TABLE payroll (salary INT)").execute(&root).await.unwrap();
    sqlx::query("INSERT INTO payroll VALUES (90000)").execute(&root).await.unwrap();
    let criteria_user = ThrowawayUser::mariadb(&db, Grant::Select, CRITERIA_PASSWORD).await;

    let own = StateStore::connect(&db.url).await.unwrap();
    own.migrate().await.unwrap();
    own.track(&sales("IL-101.tdf", "2026-11-27T06:00:00Z").input()).await.unwrap();
    // The criteria are configuration SQL; the other schema's name is the test's own.
    let jobs = [
        (
            "J-STATE",
            "SELECT 1 FROM ingested_files f JOIN job_configs j ON j.job_id = 'J-STATE' WHERE f.dataset = 'sales'",
        ),
        ("J-MYSQL", "SELECT 1 FROM mysql.user LIMIT 1"),
        ("J-OTHER", &format!("SELECT salary FROM `{}`.payroll", other.name)),
    ];
    for (id, sql) in jobs {
        own.put_job_config(&JobRow::from(&with_extra(job(id, "IL-*", 1), sql, 5_000))).await.unwrap();
    }

    // Today's behaviour, without a criteria login: criteria run as the
    // store's own user, which may read every schema.
    let before = evaluate_jobs(&own).await;
    for id in ["J-STATE", "J-MYSQL", "J-OTHER"] {
        assert_eq!(reason_of(&before, id), NO_CLUSTER, "{id} as the store's own user");
    }

    let store = own
        .clone()
        .with_criteria_login(DatabaseLogin::url(criteria_user.url(&db.url, CRITERIA_PASSWORD)))
        .await
        .unwrap();
    let output = evaluate_jobs(&store).await;
    // (a) A criterion over the state store's tables holds: the job got as far as choosing a cluster.
    assert_eq!(reason_of(&output, "J-STATE"), NO_CLUSTER);
    // (b) Another schema is out of reach; the reason says which kind of error
    // (MariaDB's ER_TABLEACCESS_DENIED_ERROR), never the server's message.
    for id in ["J-MYSQL", "J-OTHER"] {
        let reason = reason_of(&output, id);
        assert_eq!(
            reason, "extra criterion failed: the database rejected it (Other; SQLSTATE 42000, MySQL error 1142)",
            "{id}"
        );
        assert!(!reason.contains("denied") && !reason.contains(&criteria_user.name), "{id}: {reason}");
    }

    // (c) The store's own pool still writes: a new version is tracked, a job is stored.
    let newer = sales("IL-101.tdf", "2026-11-27T07:00:00Z").version("v-IL-101-b", "0200");
    store.track(&newer.input()).await.unwrap();
    let row = store.file(&newer.url()).await.unwrap().expect("tracked");
    assert_eq!(row.version_id.as_deref(), Some("v-IL-101-b"));
    store.put_job_config(&JobRow::from(&job("J-NEW", "CA-*", 1))).await.unwrap();
    let stored: Vec<String> = store.job_configs().await.unwrap().into_iter().map(|j| j.row.job_id).collect();
    assert!(stored.contains(&"J-NEW".to_owned()), "{stored:?}");

    store.close().await;
    root.close().await;
}

#[tokio::test]
async fn a_sqlite_store_keeps_its_one_pool() {
    let store = StateStore::connect("sqlite::memory:").await.unwrap();
    let err = store.with_criteria_login(DatabaseLogin::url("mysql://u:p@127.0.0.1:3306/db")).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("MySQL state store only"), "{err}");
}
