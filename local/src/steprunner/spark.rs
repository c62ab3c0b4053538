//! Any step that is not a SQL job: `spark-submit` on this machine, when installed.
//!
//! `command-runner.jar` runs its arguments as a command; locally only a
//! `spark-submit` command can run. The arguments are adapted to one machine:
//! `--master local[*]` instead of the cluster's YARN (and no `--deploy-mode
//! cluster`, which local mode refuses), `s3://` locations read through S3A,
//! and S3A pointed at the embedded server with path-style addressing and the
//! client's (local, made-up) credentials.

use std::path::PathBuf;
use std::process::Command;

use crate::s3server::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

use super::request::StepRequest;
use super::{StepError, StepRunner, NO_SPARK_SUBMIT};

const SPARK_SUBMIT: &str = "spark-submit";
/// How much of the program's stderr a failure's message carries.
const STDERR_TAIL_BYTES: usize = 2000;

pub(crate) async fn run(runner: &StepRunner, request: &StepRequest) -> Result<(), StepError> {
    if request.args.first().map(String::as_str) != Some(SPARK_SUBMIT) {
        return Err(StepError::invalid(format!(
            "the local runtime runs only spark-submit steps; this step runs {:?}",
            request.args.first().map(String::as_str).unwrap_or("nothing")
        )));
    }
    let program = find_program(runner, SPARK_SUBMIT).ok_or_else(|| StepError::failed(NO_SPARK_SUBMIT))?;
    let endpoint = runner.s3_endpoint.clone().ok_or_else(|| {
        StepError::failed("the local S3 endpoint is not set (StepRunner::with_s3_endpoint), so Spark cannot reach it")
    })?;
    let mut args = vec!["--master".to_owned(), "local[*]".to_owned()];
    let mut conf = |key: &str, value: &str| {
        args.push("--conf".into());
        args.push(format!("{key}={value}"));
    };
    conf("spark.hadoop.fs.s3a.endpoint", &endpoint);
    conf("spark.hadoop.fs.s3a.path.style.access", "true");
    conf("spark.hadoop.fs.s3a.connection.ssl.enabled", if endpoint.starts_with("https:") { "true" } else { "false" });
    conf("spark.hadoop.fs.s3.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem");
    conf("spark.hadoop.fs.s3a.access.key", ACCESS_KEY_ID);
    conf("spark.hadoop.fs.s3a.secret.key", SECRET_ACCESS_KEY);
    args.extend(local_args(&request.args[1..]));

    let output = tokio::task::spawn_blocking(move || Command::new(&program).args(&args).output())
        .await
        .map_err(|e| StepError::failed(format!("spark-submit did not finish: {e}")))?
        .map_err(|e| StepError::failed(format!("cannot start spark-submit: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail_start = stderr.len().saturating_sub(STDERR_TAIL_BYTES);
    let tail_start = (tail_start..stderr.len()).find(|&i| stderr.is_char_boundary(i)).unwrap_or(stderr.len());
    Err(StepError::failed(format!("spark-submit exited with {}: {}", output.status, stderr[tail_start..].trim())))
}

/// The step's arguments (after `spark-submit`) for a local run.
fn local_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--deploy-mode" | "--master" => {
                rest.next();
            }
            a if a.starts_with("--deploy-mode=") || a.starts_with("--master=") => {}
            a => out.push(match a.strip_prefix("s3://") {
                Some(rest) => format!("s3a://{rest}"),
                None => a.to_owned(),
            }),
        }
    }
    out
}

fn find_program(runner: &StepRunner, name: &str) -> Option<PathBuf> {
    let path = match &runner.search_path {
        Some(path) => path.clone(),
        None => std::env::var_os("PATH")?,
    };
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_arguments_become_local_ones() {
        let args: Vec<String> =
            ["--deploy-mode", "cluster", "--master=yarn", "s3://b/code/x.py", "--in", "s3://b/k", "plain"]
                .map(str::to_owned)
                .to_vec();
        assert_eq!(local_args(&args), ["s3a://b/code/x.py", "--in", "s3a://b/k", "plain"]);
    }

    #[test]
    fn programs_are_found_only_where_asked() {
        let runner_dir = tempfile::tempdir().unwrap();
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder().behavior_version(aws_sdk_s3::config::BehaviorVersion::latest()).build(),
        );
        let runner = StepRunner::new(client, "b", ".").with_search_path(runner_dir.path());
        assert!(find_program(&runner, SPARK_SUBMIT).is_none());
    }
}
