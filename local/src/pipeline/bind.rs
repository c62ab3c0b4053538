//! Every resource of the committed machines bound to what stands for it
//! locally: each task resource to the library function its Lambda binary
//! calls, `addStep.sync` to the step runner, `sqs:sendMessage` (the ingest
//! dead-letter queue) to the home's [`crate::deadletter`] folder.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use edba_payloads::resource::{self, TaskResource};
use edba_tasks::evaluate::{evaluate, EvaluateDeps, EvaluateSettings, SystemClock};
use edba_tasks::load::{load, Warehouse};
use edba_tasks::validate::{validate_object, ValidateOptions};
use edba_tasks::TaskError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{LocalPipeline, LOCAL_BUCKET};
use crate::executor::{handler_fn, Executor, TaskFailure};
use crate::steprunner::{S3RunOutput, StepRunner};

const ADD_STEP_SYNC: &str = "arn:aws:states:::elasticmapreduce:addStep.sync";
const SQS_SEND_MESSAGE: &str = "arn:aws:states:::sqs:sendMessage";

fn failure(e: TaskError) -> TaskFailure {
    TaskFailure::new(e.name().as_str(), e.to_string())
}

/// Binds `resource` to `run` as the Lambda runtime wraps a task: the JSON
/// input is deserialized into the resource's input type (a mismatch is
/// `Edba.InvalidInput`), and a `TaskError` becomes its stable error name. A
/// function of other types than the resource's does not compile.
fn bind_task<I, O, F, Fut>(executor: &Executor, resource: TaskResource<I, O>, run: F)
where
    I: DeserializeOwned,
    O: Serialize,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
{
    let name = resource.task;
    let handler = handler_fn(move |input| {
        let call = serde_json::from_value(input).map(&run).map_err(|e| {
            TaskFailure::new("Edba.InvalidInput", format!("{name}: the input does not fit its type: {e}"))
        });
        async move {
            let output = call?.await.map_err(failure)?;
            serde_json::to_value(&output).map_err(|e| TaskFailure::new("Edba.InvalidInput", e.to_string()))
        }
    });
    executor.bind(&resource.token(), handler);
}

impl LocalPipeline {
    pub(super) fn bind_resources(&self) {
        let s3 = self.s3_client.clone();
        bind_task(&self.executor, resource::VALIDATE, move |input| {
            let s3 = s3.clone();
            async move { validate_object(&s3, &input, &ValidateOptions::default()).await }
        });

        let store = self.store.clone();
        bind_task(&self.executor, resource::TRACK, move |input| {
            let store = store.clone();
            async move { store.track(&input).await }
        });

        let deps = Arc::new(EvaluateDeps {
            store: self.store.clone(),
            sfn: self.apis.sfn_client(),
            emr: self.apis.emr_client(),
            s3: self.s3_client.clone(),
            bucket: LOCAL_BUCKET.into(),
            clock: Arc::new(SystemClock),
            settings: EvaluateSettings::default(),
        });
        // What `edba run` reports; serve, which runs on and reports no
        // run, keeps none.
        let evaluations = (!self.options.keep_executions).then(|| self.evaluations.clone());
        bind_task(&self.executor, resource::EVALUATE, move |input| {
            let deps = deps.clone();
            let evaluations = evaluations.clone();
            async move {
                let out = evaluate(&deps, &input).await?;
                if let Some(evaluations) = evaluations {
                    evaluations.lock().expect("not poisoned").push(out.clone());
                }
                Ok(out)
            }
        });

        let warehouse = self.warehouse.clone();
        let reader = Arc::new(S3RunOutput { s3: self.s3_client.clone(), bucket: LOCAL_BUCKET.into() });
        bind_task(&self.executor, resource::LOAD, move |input| {
            let warehouse = warehouse.clone();
            let reader = reader.clone();
            async move {
                // The tables the bucket's project plans, as the load Lambda reads them.
                let planned = edba_tasks::load::load_tables(&reader.s3, &reader.bucket).await?;
                load(Warehouse::Local { warehouse: &warehouse, output: reader.as_ref() }, &input, &planned).await
            }
        });

        let store = self.store.clone();
        bind_task(&self.executor, resource::RECORD, move |input| {
            let store = store.clone();
            async move { edba_tasks::record::record(&store, &input).await }
        });

        let runner = StepRunner::new(
            self.s3_client.clone(),
            LOCAL_BUCKET,
            self.options.repo_root.clone().unwrap_or_else(|| PathBuf::from(".")),
        )
        .with_s3_endpoint(self.s3.endpoint_url());
        let dead_letter = self.dead_letter.clone();
        self.executor.bind(
            SQS_SEND_MESSAGE,
            handler_fn(move |input| {
                let parked = dead_letter.send(&input);
                async move { parked }
            }),
        );

        let step_time = self.options.step_time;
        self.executor.bind(
            ADD_STEP_SYNC,
            handler_fn(move |input| {
                let runner = runner.clone();
                async move {
                    let started = tokio::time::Instant::now();
                    let ran = runner.run_step(&input).await.map_err(TaskFailure::from);
                    tokio::time::sleep_until(started + step_time).await;
                    ran
                }
            }),
        );
    }
}
