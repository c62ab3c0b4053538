//! The `addStep.sync` Parameters, and what kind of step they describe.

use serde_json::{json, Value};

use super::StepError;

/// The runner script whose steps the local runtime runs itself.
pub(crate) const SQL_JOB_SCRIPT: &str = "run_sql_job.py";

/// One step as the aggregate machine sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRequest {
    pub cluster_id: String,
    pub name: String,
    pub action_on_failure: String,
    pub jar: String,
    pub args: Vec<String>,
}

/// An `s3://bucket/key` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    /// Parses `s3://bucket/key` (also `s3a://` and `s3n://`, which Spark users write).
    pub fn parse(url: &str) -> Option<S3Location> {
        let rest = ["s3://", "s3a://", "s3n://"].iter().find_map(|scheme| url.strip_prefix(scheme))?;
        let (bucket, key) = rest.split_once('/')?;
        (!bucket.is_empty()).then(|| S3Location { bucket: bucket.to_owned(), key: key.to_owned() })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// A step of the SQL job kind: `spark-submit … run_sql_job.py --manifest … --sql … --output …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlJobStep {
    pub manifest: S3Location,
    pub sql: S3Location,
    /// The output prefix, always ending with `/`.
    pub output: S3Location,
}

impl StepRequest {
    pub fn from_params(params: &Value) -> Result<StepRequest, StepError> {
        let text = |value: Option<&Value>, what: &str| -> Result<String, StepError> {
            value
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| StepError::invalid(format!("the step parameters have no string {what}")))
        };
        let step = params.get("Step");
        let jar_step = step.and_then(|s| s.get("HadoopJarStep"));
        let args = jar_step
            .and_then(|j| j.get("Args"))
            .and_then(Value::as_array)
            .ok_or_else(|| StepError::invalid("the step parameters have no Step.HadoopJarStep.Args list"))?
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StepError::invalid("Step.HadoopJarStep.Args holds a value that is not a string"))?;
        Ok(StepRequest {
            cluster_id: text(params.get("ClusterId"), "ClusterId")?,
            name: text(step.and_then(|s| s.get("Name")), "Step.Name")?,
            action_on_failure: step
                .and_then(|s| s.get("ActionOnFailure"))
                .and_then(Value::as_str)
                .unwrap_or("CONTINUE")
                .to_owned(),
            jar: text(jar_step.and_then(|j| j.get("Jar")), "Step.HadoopJarStep.Jar")?,
            args,
        })
    }

    /// The step as EMR's DescribeStep shows it (without Id and Status).
    pub(crate) fn describe(&self) -> Value {
        json!({
            "Name": self.name,
            "ActionOnFailure": self.action_on_failure,
            "Config": {"Jar": self.jar, "Args": self.args},
        })
    }

    /// `None` when the step does not run `run_sql_job.py`; otherwise its
    /// three locations, or why they are unusable.
    pub fn sql_job(&self) -> Option<Result<SqlJobStep, StepError>> {
        let script = self.args.iter().position(|a| is_sql_job_script(a))?;
        Some(self.sql_job_args(&self.args[script + 1..]))
    }

    fn sql_job_args(&self, args: &[String]) -> Result<SqlJobStep, StepError> {
        let mut manifest = None;
        let mut sql = None;
        let mut output = None;
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let slot =
                match flag {
                    "--manifest" => &mut manifest,
                    "--sql" => &mut sql,
                    "--output" => &mut output,
                    "--bucket-root" => return Err(StepError::invalid(
                        "--bucket-root (a test-only option of run_sql_job.py) is not supported by the local runtime",
                    )),
                    other => {
                        return Err(StepError::invalid(format!("run_sql_job.py does not take the argument {other:?}")))
                    }
                };
            let value = match inline {
                Some(value) => value,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| StepError::invalid(format!("run_sql_job.py: {flag} needs a value")))?,
            };
            *slot = Some(value);
        }
        let location = |value: Option<String>, flag: &str| -> Result<S3Location, StepError> {
            let value = value.ok_or_else(|| StepError::invalid(format!("run_sql_job.py needs {flag}")))?;
            S3Location::parse(&value).ok_or_else(|| {
                StepError::invalid(format!("run_sql_job.py {flag} {value:?} is not an s3://bucket/key location"))
            })
        };
        let manifest = location(manifest, "--manifest")?;
        let sql = location(sql, "--sql")?;
        let mut output = location(output, "--output")?;
        if !output.key.ends_with('/') {
            output.key.push('/');
        }
        Ok(SqlJobStep { manifest, sql, output })
    }
}

fn is_sql_job_script(arg: &str) -> bool {
    arg.rsplit('/').next() == Some(SQL_JOB_SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(args: &[&str]) -> Value {
        json!({
            "ClusterId": "j-LOCAL",
            "Step": {
                "Name": "il-sales run-1",
                "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
            },
        })
    }

    #[test]
    fn a_sql_job_step_gives_its_three_locations() {
        let request = StepRequest::from_params(&params(&[
            "spark-submit",
            "--deploy-mode",
            "cluster",
            "s3://b/code/scripts/emr/run_sql_job.py",
            "--manifest",
            "s3://b/manifests/j/r.json",
            "--sql=s3://b/code/sql/jobs/sales_summary.sql",
            "--output",
            "s3://b/output/j/r",
        ]))
        .unwrap();
        let job = request.sql_job().unwrap().unwrap();
        assert_eq!(job.manifest, S3Location { bucket: "b".into(), key: "manifests/j/r.json".into() });
        assert_eq!(job.sql.key, "code/sql/jobs/sales_summary.sql");
        assert_eq!(job.output.key, "output/j/r/");
    }

    #[test]
    fn other_steps_are_not_sql_jobs_and_bad_sql_job_args_are_invalid() {
        let other = StepRequest::from_params(&params(&["spark-submit", "s3://b/code/other.py"])).unwrap();
        assert!(other.sql_job().is_none());
        let missing = StepRequest::from_params(&params(&["spark-submit", "run_sql_job.py", "--manifest", "s3://b/m"]));
        let err = missing.unwrap().sql_job().unwrap().unwrap_err();
        assert_eq!(err.message, "run_sql_job.py needs --sql");
        let local = StepRequest::from_params(&params(&[
            "spark-submit",
            "run_sql_job.py",
            "--manifest",
            "/tmp/m.json",
            "--sql",
            "s3://b/s.sql",
            "--output",
            "s3://b/o/",
        ]));
        let err = local.unwrap().sql_job().unwrap().unwrap_err();
        assert!(err.message.contains("--manifest \"/tmp/m.json\" is not an s3://"), "{}", err.message);
        assert!(StepRequest::from_params(&json!({"ClusterId": "j"})).is_err());
    }
}
