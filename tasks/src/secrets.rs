//! Database logins of a deployed Lambda. The template passes the endpoint
//! without credentials (`EDBA_STATE_STORE_URL=mysql://host:port/db?ssl-mode=…`,
//! its TLS settings in the query, which the credentials leave as it is) and the
//! ARN of a Secrets Manager secret (`EDBA_STATE_STORE_SECRET_ARN`, JSON with
//! `username` and `password`, as RDS-managed secrets are). The evaluate
//! function also gets `EDBA_CRITERIA_SECRET_ARN`: the same endpoint, as the
//! SELECT-only user that runs jobs' extra criteria.
//!
//! A [`DatabaseLogin`] is where a pool's credentials come from. The store
//! reads the secret when it builds the pool and again when the database
//! rejects the password (RDS rotates managed passwords; a warm container
//! would otherwise keep the old one forever). The password lives in the
//! pool's connect options only: never in the template, the environment, an
//! error or a log line.

use serde::Deserialize;

use crate::TaskError;

const STATE_STORE_URL: &str = "EDBA_STATE_STORE_URL";
const STATE_STORE_SECRET_ARN: &str = "EDBA_STATE_STORE_SECRET_ARN";
const CRITERIA_SECRET_ARN: &str = "EDBA_CRITERIA_SECRET_ARN";

#[derive(Deserialize)]
struct DatabaseSecret {
    username: String,
    password: String,
}

impl std::fmt::Debug for DatabaseSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSecret").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Where a database login comes from: a URL, and the Secrets Manager secret
/// holding its user and password when the URL carries none.
#[derive(Debug, Clone)]
pub struct DatabaseLogin {
    url: String,
    secret: Option<SecretSource>,
}

#[derive(Debug, Clone)]
struct SecretSource {
    arn: String,
    client: aws_sdk_secretsmanager::Client,
}

impl DatabaseLogin {
    /// A URL used as given: its credentials (if any) are in it and never change.
    pub fn url(url: impl Into<String>) -> Self {
        DatabaseLogin { url: url.into(), secret: None }
    }

    /// `url` without credentials (`mysql://host:port/db`); the user and
    /// password are those of the secret `arn`, read when a pool needs them.
    /// `variable` names the setting the URL came from, for errors.
    pub fn from_secret(
        url: &str,
        arn: &str,
        client: aws_sdk_secretsmanager::Client,
        variable: &str,
    ) -> Result<Self, TaskError> {
        let Some((_, rest)) = url.split_once("://") else {
            return Err(TaskError::InvalidInput(format!("{variable} must look like mysql://host:port/database")));
        };
        if rest.contains('@') {
            return Err(TaskError::InvalidInput(format!(
                "{variable} must not carry credentials when they come from the secret {arn}"
            )));
        }
        Ok(DatabaseLogin { url: url.to_owned(), secret: Some(SecretSource { arn: arn.to_owned(), client }) })
    }

    /// The secret the credentials come from, if they do.
    pub fn secret_arn(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.arn.as_str())
    }

    /// The URL with the login's current credentials: the secret, if any, is
    /// read now. Unreachable Secrets Manager is `Edba.Transient`; a secret
    /// that is not a login is `Edba.InvalidInput`, without its text.
    pub async fn current_url(&self) -> Result<String, TaskError> {
        let Some(SecretSource { arn, client }) = &self.secret else {
            return Ok(self.url.clone());
        };
        let out = client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
            TaskError::Transient(format!(
                "read the database secret {arn}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
        })?;
        let text = out
            .secret_string()
            .ok_or_else(|| TaskError::InvalidInput(format!("the secret {arn} has no string value")))?;
        let secret: DatabaseSecret = serde_json::from_str(text).map_err(|_| {
            // Never echo the secret's text.
            TaskError::InvalidInput(format!("the secret {arn} is not JSON with `username` and `password`"))
        })?;
        Ok(with_credentials(&self.url, &secret))
    }
}

/// RFC 3986 userinfo encoding: everything but unreserved characters.
fn encode_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` (checked by [`DatabaseLogin::from_secret`]) with the secret's user
/// and password inserted after the scheme.
fn with_credentials(url: &str, secret: &DatabaseSecret) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("mysql", url));
    format!("{scheme}://{}:{}@{rest}", encode_userinfo(&secret.username), encode_userinfo(&secret.password))
}

fn state_store_url_var(var: &impl Fn(&str) -> Option<String>) -> Result<String, TaskError> {
    var(STATE_STORE_URL)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| TaskError::InvalidInput(format!("{STATE_STORE_URL} is not set")))
}

/// The state store's login from the environment: `EDBA_STATE_STORE_URL`,
/// with the credentials of `EDBA_STATE_STORE_SECRET_ARN` when that is set.
pub fn state_store_login(
    var: impl Fn(&str) -> Option<String>,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<DatabaseLogin, TaskError> {
    let url = state_store_url_var(&var)?;
    match var(STATE_STORE_SECRET_ARN).filter(|a| !a.is_empty()) {
        Some(arn) => DatabaseLogin::from_secret(&url, &arn, secrets.clone(), STATE_STORE_URL),
        None => Ok(DatabaseLogin::url(url)),
    }
}

/// The extra criteria's login from the environment: the state store's
/// endpoint (`EDBA_STATE_STORE_URL`) as the user of `EDBA_CRITERIA_SECRET_ARN`,
/// or `None` when that is not set (criteria then run as the state store's
/// own user, and the store warns once).
pub fn criteria_login(
    var: impl Fn(&str) -> Option<String>,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Option<DatabaseLogin>, TaskError> {
    let Some(arn) = var(CRITERIA_SECRET_ARN).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let url = state_store_url_var(&var)?;
    DatabaseLogin::from_secret(&url, &arn, secrets.clone(), STATE_STORE_URL).map(Some)
}

/// What a Lambda binary calls at init for the state store.
pub fn state_store_login_from_env(aws: &aws_config::SdkConfig) -> Result<DatabaseLogin, TaskError> {
    state_store_login(|name| std::env::var(name).ok(), &aws_sdk_secretsmanager::Client::new(aws))
}

/// What the evaluate Lambda calls at init for the extra criteria.
pub fn criteria_login_from_env(aws: &aws_config::SdkConfig) -> Result<Option<DatabaseLogin>, TaskError> {
    criteria_login(|name| std::env::var(name).ok(), &aws_sdk_secretsmanager::Client::new(aws))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::{GetSecretValueError, GetSecretValueOutput};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    async fn state_store_url(
        var: impl Fn(&str) -> Option<String>,
        client: &aws_sdk_secretsmanager::Client,
    ) -> Result<String, TaskError> {
        state_store_login(var, client)?.current_url().await
    }

    #[tokio::test]
    async fn credentials_come_from_the_secret_and_are_url_encoded() {
        let get = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some("arn:aws:secretsmanager:us-east-1:1:secret:db"))
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .secret_string(r#"{"username":"edba","password":"p@ss:w/rd#1","engine":"mysql"}"#)
                    .build()
            });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&get]);
        let url = state_store_url(
            env(&[
                ("EDBA_STATE_STORE_URL", "mysql://db.example:3306/edba"),
                ("EDBA_STATE_STORE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:db"),
            ]),
            &client,
        )
        .await
        .unwrap();
        assert_eq!(url, "mysql://edba:p%40ss%3Aw%2Frd%231@db.example:3306/edba");
    }

    #[tokio::test]
    async fn without_a_secret_the_url_is_used_as_given() {
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, []);
        let url = state_store_url(env(&[("EDBA_STATE_STORE_URL", "sqlite::memory:")]), &client).await.unwrap();
        assert_eq!(url, "sqlite::memory:");
        let missing = state_store_url(env(&[]), &client).await.unwrap_err();
        assert_eq!(missing.name().as_str(), "Edba.InvalidInput");
        let with_user = [("EDBA_STATE_STORE_URL", "mysql://u:p@h/db"), ("EDBA_STATE_STORE_SECRET_ARN", "arn:s")];
        let both = state_store_login(env(&with_user), &client).unwrap_err();
        assert!(both.to_string().contains("must not carry credentials"), "{both}");
    }

    #[tokio::test]
    async fn an_unreadable_secret_is_transient_and_a_malformed_one_is_not_echoed() {
        let denied = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_error(|| GetSecretValueError::unhandled("AccessDeniedException"));
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&denied]);
        let vars = [("EDBA_STATE_STORE_URL", "mysql://h/db"), ("EDBA_STATE_STORE_SECRET_ARN", "arn:s")];
        let err = state_store_url(env(&vars), &client).await.unwrap_err();
        assert_eq!(err.name().as_str(), "Edba.Transient");

        let bad = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_output(|| GetSecretValueOutput::builder().secret_string("hunter2").build());
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&bad]);
        let err = state_store_url(env(&vars), &client).await.unwrap_err().to_string();
        assert!(!err.contains("hunter2") && err.contains("username"), "{err}");
    }

    #[tokio::test]
    async fn the_criteria_login_is_the_state_store_endpoint_as_its_own_user() {
        let get = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some("arn:criteria"))
            .then_output(|| {
                GetSecretValueOutput::builder().secret_string(r#"{"username":"edba_criteria","password":"pw"}"#).build()
            });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&get]);
        let vars = [
            ("EDBA_STATE_STORE_URL", "mysql://db.example:3306/edba"),
            ("EDBA_STATE_STORE_SECRET_ARN", "arn:main"),
            ("EDBA_CRITERIA_SECRET_ARN", "arn:criteria"),
        ];
        let login = criteria_login(env(&vars), &client).unwrap().expect("a criteria login");
        assert_eq!(login.secret_arn(), Some("arn:criteria"));
        assert_eq!(login.current_url().await.unwrap(), "mysql://edba_criteria:pw@db.example:3306/edba");
        assert_eq!(get.num_calls(), 1, "read when asked, not before");

        // Not set: no criteria login (the store warns and runs criteria as its own user).
        assert!(criteria_login(env(&vars[..2]), &client).unwrap().is_none());
        let without_url = criteria_login(env(&vars[2..]), &client).unwrap_err();
        assert!(without_url.to_string().contains("EDBA_STATE_STORE_URL"), "{without_url}");
    }
}
