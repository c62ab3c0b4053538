//! TLS to a MySQL state store, against a real TLS-only MariaDB
//! (`scripts/services_tls.sh`: a self-signed test CA, a server certificate
//! for 127.0.0.1 and `localhost`, `require_secure_transport=ON`) and the
//! plain one on 3306. A URL that asks for verified TLS
//! (`ssl-mode=VERIFY_IDENTITY&ssl-ca=…`, as the template's) gets an encrypted
//! session with the server it names, or a permanent `Edba.InvalidInput`
//! saying why: never a plaintext session, never a retried `Edba.Transient`.
//! These tests fail, with how to start it, when the TLS server is not running.

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use edba_tasks::secrets::DatabaseLogin;
use edba_tasks::store::StateStore;
use edba_tasks::TaskError;
use edba_testkit::fixtures::sales;
use edba_testkit::tls::{mariadb_tls_ca, mysql_tls_url, start_the_tls_server, unrelated_ca};
use edba_testkit::{database_url, Grant, ThrowawayDatabase, ThrowawayUser};
use sqlx::{Connection, MySqlConnection, Row};

/// `Ssl_cipher` and `Ssl_version` of a session opened with `url`, and
/// whether its server requires secure transport.
async fn session_tls(url: &str) -> (String, String, bool) {
    let mut conn = MySqlConnection::connect(url).await.unwrap_or_else(|e| panic!("connecting with {url}: {e}"));
    let status: Vec<(String, String)> = sqlx::query("SHOW SESSION STATUS LIKE 'Ssl_%'")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let value = |name: &str| status.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let (cipher, version) = (value("Ssl_cipher"), value("Ssl_version"));
    let required: i64 = sqlx::query_scalar("SELECT @@require_secure_transport + 0").fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (cipher, version, required == 1)
}

/// What the store says when it first needs a connection (migrations), and
/// again from a statement (track): the same permanent error.
async fn refusal(url: &str) -> TaskError {
    let store = StateStore::connect(url).await.unwrap_or_else(|e| panic!("{url} is a valid URL: {e}"));
    let migrate = store.migrate().await.expect_err("no connection");
    let track = store.track(&sales("IL-101.tdf", "2026-11-27T06:00:00Z").input()).await.expect_err("no connection");
    for err in [&migrate, &track] {
        assert_eq!(err.name().as_str(), "Edba.InvalidInput", "permanent, not retried: {err}");
    }
    assert_eq!(migrate.to_string(), track.to_string());
    store.close().await;
    migrate
}

/// The TLS server's database `db` at `host` with `ssl_mode` and `ca`.
fn tls_database_url(db: &ThrowawayDatabase, host: &str, ssl_mode: &str, ca: &std::path::Path) -> String {
    database_url(&mysql_tls_url(host, ssl_mode, ca), &db.name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_identity_with_the_test_ca_connects_migrates_and_tracks_over_an_encrypted_session() {
    let db = ThrowawayDatabase::mariadb_tls("tls").await;
    assert!(db.url.contains("ssl-mode=VERIFY_IDENTITY&ssl-ca="), "{}", db.url);

    let store = StateStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let file = sales("IL-101.tdf", "2026-11-27T06:00:00Z");
    store.track(&file.input()).await.unwrap();
    assert!(store.file(&file.url()).await.unwrap().is_some(), "tracked");
    store.close().await;

    let (cipher, version, required) = session_tls(&db.url).await;
    assert!(!cipher.is_empty(), "a session with the store's URL is encrypted");
    assert!(version.starts_with("TLSv1.2") || version.starts_with("TLSv1.3"), "{version}");
    assert!(required, "and its server takes no other kind (require_secure_transport)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deployed_login_keeps_its_urls_tls_settings_when_the_secret_adds_the_credentials() {
    const PASSWORD: &str = "tls-owner-pw-1";
    let db = ThrowawayDatabase::mariadb_tls("tls_secret").await;
    let owner = ThrowawayUser::mariadb(&db, Grant::All, PASSWORD).await;
    let (name, arn) = (owner.name.clone(), "arn:aws:secretsmanager:us-east-1:123456789012:secret:edba-state-AbCdEf");
    let get = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(move || {
        let json = serde_json::json!({"username": name, "password": PASSWORD});
        GetSecretValueOutput::builder().secret_string(json.to_string()).build()
    });
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&get]);

    // As the template passes it: no credentials, the TLS settings in the query.
    let url = ThrowawayUser::url_without_credentials(&db.url);
    assert!(url.contains("?ssl-mode=VERIFY_IDENTITY&ssl-ca="), "{url}");
    let login = DatabaseLogin::from_secret(&url, arn, secrets, "EDBA_STATE_STORE_URL").unwrap();
    let with_credentials = login.current_url().await.unwrap();
    assert!(with_credentials.ends_with(&url[url.find('?').unwrap()..]), "the query is kept");
    let store = StateStore::open(login).await.unwrap();
    store.migrate().await.unwrap();
    store.track(&sales("IL-101.tdf", "2026-11-27T06:00:00Z").input()).await.unwrap();
    store.close().await;
    assert!(!session_tls(&with_credentials).await.0.is_empty(), "encrypted");

    // The same login with an unrelated CA is refused, naming the CA file.
    let other = url.replace(&mariadb_tls_ca().display().to_string(), &unrelated_ca().display().to_string());
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&get]);
    let login = DatabaseLogin::from_secret(&other, arn, secrets, "EDBA_STATE_STORE_URL").unwrap();
    let err = StateStore::open(login).await.unwrap().migrate().await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput", "{err}");
    assert!(err.to_string().contains("unrelated-ca.pem") && !err.to_string().contains(PASSWORD), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_certificate_the_ca_does_not_vouch_for_is_refused_permanently() {
    let db = ThrowawayDatabase::mariadb_tls("tls_refused").await;

    // Another CA, with the test CA's very name: signatures count, not names.
    for mode in ["VERIFY_IDENTITY", "VERIFY_CA"] {
        let url = tls_database_url(&db, "127.0.0.1", mode, &unrelated_ca());
        let message = refusal(&url).await.to_string();
        assert!(message.contains("TLS handshake") && message.contains("certificate"), "{mode}: {message}");
        assert!(message.contains(&unrelated_ca().display().to_string()), "names the CA file: {message}");
        assert!(message.contains(&format!("ssl-mode={mode}")), "{message}");
    }

    // The right CA, another host name: VERIFY_IDENTITY checks the name (the
    // certificate is for 127.0.0.1 and localhost), VERIFY_CA only the chain.
    let elsewhere = tls_database_url(&db, "127.0.0.2", "VERIFY_IDENTITY", &mariadb_tls_ca());
    let message = refusal(&elsewhere).await.to_string();
    assert!(message.contains("127.0.0.2") && message.contains("certificate"), "{message}");
    let chain_only = tls_database_url(&db, "127.0.0.2", "VERIFY_CA", &mariadb_tls_ca());
    let store = StateStore::connect(&chain_only).await.unwrap();
    store.migrate().await.unwrap_or_else(|e| panic!("VERIFY_CA does not check the name: {e}"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_or_empty_ca_file_is_a_permanent_error_naming_it() {
    let db = ThrowawayDatabase::mariadb_tls("tls_ca_file").await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("rds-global-bundle.pem");
    let message = refusal(&tls_database_url(&db, "127.0.0.1", "VERIFY_IDENTITY", &missing)).await.to_string();
    assert!(message.contains(&missing.display().to_string()) && message.contains("cannot be read"), "{message}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let message = refusal(&tls_database_url(&db, "127.0.0.1", "VERIFY_IDENTITY", &empty)).await.to_string();
    assert!(message.contains(&empty.display().to_string()) && message.contains("no PEM certificate"), "{message}");

    // A CA that a mode would ignore is refused before any connection.
    let ignored = format!("{}?ssl-mode=REQUIRED&ssl-ca={}", db.url.split('?').next().unwrap(), empty.display());
    let err = StateStore::connect(&ignored).await.unwrap_err();
    assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    assert!(err.to_string().contains("VERIFY_IDENTITY"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn asking_a_server_without_tls_for_it_fails_instead_of_falling_back_to_plaintext() {
    let plain = ThrowawayDatabase::mariadb("tls_plain").await;
    for query in
        ["?ssl-mode=REQUIRED".to_owned(), format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", mariadb_tls_ca().display())]
    {
        let message = refusal(&format!("{}{query}", plain.url)).await.to_string();
        assert!(message.contains("server does not support TLS"), "{query}: {message}");
        assert!(message.contains("never made in plaintext"), "{message}");
    }

    // Without ssl-mode (PREFERRED, for local servers): plaintext where the
    // server has no TLS, encrypted where it has, certificate unchecked.
    let store = StateStore::connect(&plain.url).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    assert_eq!(session_tls(&plain.url).await.0, "", "the plain server offers no TLS");
    let tls = ThrowawayDatabase::mariadb_tls("tls_preferred").await;
    let preferred = tls.url.split('?').next().unwrap().to_owned();
    assert!(!session_tls(&preferred).await.0.is_empty(), "PREFERRED uses the TLS a server offers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_tls_server_refuses_a_plaintext_login() {
    let verified = mysql_tls_url("127.0.0.1", "VERIFY_IDENTITY", &mariadb_tls_ca());
    // First the server must be there, or the refusal below proves nothing.
    if let Err(e) = MySqlConnection::connect(&verified).await {
        panic!("{} ({verified}: {e})", start_the_tls_server());
    }
    let plaintext = verified.split('?').next().unwrap().to_owned() + "?ssl-mode=DISABLED";
    let err = MySqlConnection::connect(&plaintext).await.expect_err("a plaintext login is refused");
    // MariaDB refuses insecure transport as it refuses a wrong password
    // (ER_ACCESS_DENIED_ERROR): root has none, so the transport is why.
    let db = err.as_database_error().unwrap_or_else(|| panic!("refused by the server: {err}"));
    let number = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number());
    assert_eq!(number, Some(1045), "{err}");
}
