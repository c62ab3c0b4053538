//! Rotated database passwords: a store whose login is a Secrets Manager
//! secret reads the secret again when MariaDB refuses the password (error
//! 1045), once, and the call goes through; a password refused again is a
//! permanent error naming the secret, never the password. Secrets Manager is
//! mocked at the SDK boundary: the first GetSecretValue answers the old
//! password, later ones the new.

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use edba_tasks::secrets::DatabaseLogin;
use edba_tasks::store::{JobRow, StateStore};
use edba_testkit::fixtures::{job, sales, with_extra};
use edba_testkit::{Grant, ThrowawayDatabase, ThrowawayUser};

use crate::store_criteria_user::{evaluate_jobs, reason_of, NO_CLUSTER};

const STORE_SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:edba-state-AbCdEf";
const CRITERIA_SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:edba-criteria-GhIjKl";
const OLD: &str = "old-password-A";
const NEW: &str = "new-password-B";

fn secret(user: &str, password: &str) -> GetSecretValueOutput {
    let json = serde_json::json!({"username": user, "password": password, "engine": "mysql"});
    GetSecretValueOutput::builder().secret_string(json.to_string()).build()
}

/// GetSecretValue of `arn`: `first` once, then `later` on every read.
fn rotating_secret(arn: &'static str, user: &ThrowawayUser, first: &'static str, later: &'static str) -> Rule {
    let (a, b) = (user.name.clone(), user.name.clone());
    mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(move |r| r.secret_id() == Some(arn))
        .sequence()
        .output(move || secret(&a, first))
        .output(move || secret(&b, later))
        .repeatedly()
        .build()
}

fn login(db: &ThrowawayDatabase, arn: &str, client: &aws_sdk_secretsmanager::Client) -> DatabaseLogin {
    let url = ThrowawayUser::url_without_credentials(&db.url);
    DatabaseLogin::from_secret(&url, arn, client.clone(), "EDBA_STATE_STORE_URL").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_password_is_read_again_once_and_the_call_goes_through() {
    let db = ThrowawayDatabase::mariadb("rotation").await;
    let owner = ThrowawayUser::mariadb(&db, Grant::All, OLD).await;
    let reader = ThrowawayUser::mariadb(&db, Grant::Select, OLD).await;
    let store_secret = rotating_secret(STORE_SECRET, &owner, OLD, NEW);
    let criteria_secret = rotating_secret(CRITERIA_SECRET, &reader, OLD, NEW);
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&store_secret, &criteria_secret]);

    let store = StateStore::open(login(&db, STORE_SECRET, &secrets))
        .await
        .unwrap()
        .with_criteria_login(login(&db, CRITERIA_SECRET, &secrets))
        .await
        .unwrap();
    assert_eq!((store_secret.num_calls(), criteria_secret.num_calls()), (1, 1), "each secret read at init");
    store.migrate().await.unwrap();
    store.track(&sales("IL-101.tdf", "2026-11-27T06:00:00Z").input()).await.unwrap();
    let criterion = "SELECT 1 FROM ingested_files WHERE dataset = 'sales'";
    store.put_job_config(&JobRow::from(&with_extra(job("J101", "IL-*", 1), criterion, 5_000))).await.unwrap();
    assert_eq!(reason_of(&evaluate_jobs(&store).await, "J101"), NO_CLUSTER, "the criterion holds");

    // The rotation: new passwords on the server, and the pool's open sessions
    // gone, so the next call must log in again.
    owner.set_password(NEW).await;
    reader.set_password(NEW).await;
    owner.disconnect().await;
    reader.disconnect().await;

    let newer = sales("IL-101.tdf", "2026-11-27T07:00:00Z").version("v-IL-101-b", "0200");
    store.track(&newer.input()).await.unwrap();
    assert_eq!(store_secret.num_calls(), 2, "the store's secret was read again");
    let row = store.file(&newer.url()).await.unwrap().expect("tracked");
    assert_eq!(row.version_id.as_deref(), Some("v-IL-101-b"));

    // The criteria pool (a connection per criterion) renews its own login.
    assert_eq!(reason_of(&evaluate_jobs(&store).await, "J101"), NO_CLUSTER, "the criterion still holds");
    assert_eq!(criteria_secret.num_calls(), 2, "the criteria secret was read again");

    // Renewed once: later calls and new connections use the new password.
    owner.disconnect().await;
    store.file(&newer.url()).await.unwrap().expect("tracked");
    assert_eq!((store_secret.num_calls(), criteria_secret.num_calls()), (2, 2));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_refused_again_after_a_fresh_read_is_permanent_and_names_the_secret_only() {
    const WRONG: &str = "wrong-password-C";
    let db = ThrowawayDatabase::mariadb("rotation").await;
    let owner = ThrowawayUser::mariadb(&db, Grant::All, OLD).await;
    let store_secret = rotating_secret(STORE_SECRET, &owner, WRONG, WRONG);
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&store_secret]);

    let store = StateStore::open(login(&db, STORE_SECRET, &secrets)).await.unwrap();
    let err = store.track(&sales("IL-101.tdf", "2026-11-27T06:00:00Z").input()).await.unwrap_err();
    let message = err.to_string();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput", "not retried: {message}");
    assert!(message.contains(STORE_SECRET) && message.contains("1045"), "{message}");
    assert!(!message.contains(WRONG) && !message.contains(OLD), "{message}");
    assert_eq!(store_secret.num_calls(), 2, "read at init and once more after the refusal, no more");

    // The same for migrations, which open their own connection.
    let err = store.migrate().await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput", "{err}");
    assert!(!err.to_string().contains(WRONG), "{err}");
    store.close().await;
}

/// A criteria user whose secret no longer matches (rotated, bootstrap not
/// run again) holds up only the jobs with an extra criterion, saying why;
/// every other job is decided as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_criteria_login_makes_only_the_jobs_with_a_criterion_wait() {
    const WRONG: &str = "wrong-password-C";
    let db = ThrowawayDatabase::mariadb("rotation").await;
    let reader = ThrowawayUser::mariadb(&db, Grant::Select, OLD).await;
    let criteria_secret = rotating_secret(CRITERIA_SECRET, &reader, WRONG, WRONG);
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&criteria_secret]);

    let own = StateStore::connect(&db.url).await.unwrap();
    own.migrate().await.unwrap();
    own.track(&sales("IL-101.tdf", "2026-11-27T06:00:00Z").input()).await.unwrap();
    own.put_job_config(&JobRow::from(&with_extra(job("J-CRIT", "IL-*", 1), "SELECT 1", 5_000))).await.unwrap();
    own.put_job_config(&JobRow::from(&job("J-PLAIN", "IL-*", 1))).await.unwrap();
    let store = own.with_criteria_login(login(&db, CRITERIA_SECRET, &secrets)).await.unwrap();

    let output = evaluate_jobs(&store).await;
    assert_eq!(reason_of(&output, "J-PLAIN"), NO_CLUSTER, "decided as usual");
    let reason = reason_of(&output, "J-CRIT");
    assert!(reason.starts_with("extra criterion not run: the database refused the credentials"), "{reason}");
    assert!(reason.contains(CRITERIA_SECRET) && !reason.contains(WRONG), "{reason}");
    store.close().await;
}
