//! The state-store URL of a deployed Lambda. The template passes the
//! endpoint without credentials (`EDBA_STATE_STORE_URL=mysql://host:port/db`)
//! and the ARN of a Secrets Manager secret (`EDBA_STATE_STORE_SECRET_ARN`,
//! JSON with `username` and `password`, as RDS-managed secrets are). The
//! secret is read once per container, at init, and kept in memory only: the
//! password is never in the template, the environment or a log line.

use serde::Deserialize;

use crate::TaskError;

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

/// `url` with the secret's user and password inserted after the scheme.
fn with_credentials(url: &str, secret: &DatabaseSecret) -> Result<String, TaskError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        TaskError::InvalidInput("EDBA_STATE_STORE_URL must look like mysql://host:port/database".into())
    })?;
    if rest.contains('@') {
        return Err(TaskError::InvalidInput(
            "EDBA_STATE_STORE_URL must not carry credentials when EDBA_STATE_STORE_SECRET_ARN is set".into(),
        ));
    }
    Ok(format!("{scheme}://{}:{}@{rest}", encode_userinfo(&secret.username), encode_userinfo(&secret.password)))
}

/// The state-store URL from the environment: `EDBA_STATE_STORE_URL`, with the
/// credentials of `EDBA_STATE_STORE_SECRET_ARN` when that is set.
pub async fn state_store_url(
    var: impl Fn(&str) -> Option<String>,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<String, TaskError> {
    let url = var("EDBA_STATE_STORE_URL")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| TaskError::InvalidInput("EDBA_STATE_STORE_URL is not set".into()))?;
    let Some(arn) = var("EDBA_STATE_STORE_SECRET_ARN").filter(|a| !a.is_empty()) else {
        return Ok(url);
    };
    let out = secrets.get_secret_value().secret_id(&arn).send().await.map_err(|e| {
        TaskError::Transient(format!(
            "read the state-store secret {arn}: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
        ))
    })?;
    let text =
        out.secret_string().ok_or_else(|| TaskError::InvalidInput(format!("the secret {arn} has no string value")))?;
    let secret: DatabaseSecret = serde_json::from_str(text).map_err(|_| {
        // Never echo the secret's text.
        TaskError::InvalidInput(format!("the secret {arn} is not JSON with `username` and `password`"))
    })?;
    with_credentials(&url, &secret)
}

/// What a Lambda binary calls at init.
pub async fn state_store_url_from_env(aws: &aws_config::SdkConfig) -> Result<String, TaskError> {
    let secrets = aws_sdk_secretsmanager::Client::new(aws);
    state_store_url(|name| std::env::var(name).ok(), &secrets).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::{GetSecretValueError, GetSecretValueOutput};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
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
}
