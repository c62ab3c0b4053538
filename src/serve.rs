//! `edba serve`: the deployed system on one machine, until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use edba_local::api::{ApiServer, ApiState};
use edba_local::executor::ExecutionResult;
use edba_local::pipeline::{
    Chaos, LocalPipeline, PipelineOptions, ProjectWatch, ServeEvent, ServeOptions, INCOMING_PREFIX, LOCAL_BUCKET,
};
use edba_local::s3server::{S3ServerOptions, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

use crate::home::StoreArgs;

/// `edba serve`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The project to deploy (its edba.toml, else DIR/jobs.toml with the
    /// sample datasets); the sample project when not given. Watched: a
    /// changed .toml or .sql file is checked and applied while serve runs.
    #[arg(long)]
    pub project: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The warehouse (`postgres://…` or `sqlite://…`) instead of <home>/warehouse.db.
    #[arg(long, env = "EDBA_WAREHOUSE_URL")]
    pub warehouse: Option<String>,
    /// The S3 endpoint's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 9470)]
    pub port: u16,
    /// The console's and JSON API's port on 127.0.0.1 (0: any free port; default: --port + 1).
    #[arg(long)]
    pub api_port: Option<u16>,
    /// How often the aggregate machine starts as scheduled (`10m`, `30s`,
    /// `1h`; `off`: never), as the template's EventBridge schedule does.
    #[arg(long, default_value = "10m")]
    pub schedule: String,
    /// The access key id S3 clients sign with.
    #[arg(long, env = "EDBA_S3_ACCESS_KEY_ID", default_value = ACCESS_KEY_ID)]
    pub access_key: String,
    /// The secret key S3 clients sign with.
    #[arg(long, env = "EDBA_S3_SECRET_ACCESS_KEY", default_value = SECRET_ACCESS_KEY, hide_default_value = true)]
    pub secret_key: String,
    /// Ingest executions run at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Each EMR step takes at least this long (`30s`; a cluster's take
    /// minutes): to watch a running step, or to try stopping serve mid-run.
    #[arg(long, default_value = "0s")]
    pub step_time: String,
    /// Deliver S3 events as S3 and EventBridge may: some twice
    /// (--chaos-duplicate), each late by up to --chaos-delay, so out of order.
    #[arg(long)]
    pub chaos: bool,
    /// With --chaos: the share of events delivered twice (0 to 1).
    #[arg(long, default_value_t = 0.5, requires = "chaos")]
    pub chaos_duplicate: f64,
    /// With --chaos: the longest a delivery is held back.
    #[arg(long, default_value = "2s", requires = "chaos")]
    pub chaos_delay: String,
    /// With --chaos: the seed of the duplicates and delays (random by default).
    #[arg(long, requires = "chaos")]
    pub chaos_seed: Option<u64>,
}

/// The chaos `args` ask for, if any.
fn chaos(args: &ServeArgs) -> anyhow::Result<Option<Chaos>> {
    if !args.chaos {
        return Ok(None);
    }
    if !(0.0..=1.0).contains(&args.chaos_duplicate) {
        bail!("--chaos-duplicate {}: a share from 0 to 1", args.chaos_duplicate);
    }
    let max_delay = humantime::parse_duration(&args.chaos_delay)
        .with_context(|| format!("--chaos-delay {:?}: a duration such as 2s or 500ms", args.chaos_delay))?;
    let seed = args.chaos_seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    });
    Ok(Some(Chaos { duplicate: args.chaos_duplicate, max_delay, seed }))
}

/// `10m`, `30s`, `1h30m`, or `off`.
pub fn parse_schedule(text: &str) -> anyhow::Result<Option<Duration>> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let every = humantime::parse_duration(text)
        .with_context(|| format!("--schedule {text:?}: a duration such as 10m, 30s or 1h, or off"))?;
    if every < Duration::from_secs(1) {
        bail!("--schedule {text:?}: at least 1s");
    }
    Ok(Some(every))
}

fn log_event(event: ServeEvent<'_>) {
    match event {
        ServeEvent::Finished(result) => log_finished(result),
        ServeEvent::ProjectApplied(applied) => eprintln!("project: changed, checked and applied ({applied})"),
        ServeEvent::ProjectRejected(why) => {
            eprintln!("project: changed but NOT applied (the deployed project stays): {why}")
        }
    }
}

fn log_finished(result: &ExecutionResult) {
    let detail = match (&result.error, &result.cause) {
        (Some(e), Some(c)) => format!(": {e}: {c}"),
        (Some(e), None) => format!(": {e}"),
        _ => String::new(),
    };
    eprintln!("{} {}: {}{detail}", result.state_machine, result.name, result.status);
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let schedule = parse_schedule(&args.schedule)?;
    let chaos = chaos(&args)?;
    if let Some(dir) = &args.project {
        if !dir.is_dir() {
            bail!("--project {}: not a folder", dir.display());
        }
    }
    if args.access_key.is_empty() || args.secret_key.is_empty() {
        bail!("--access-key and --secret-key must not be empty");
    }
    let api_port = match args.api_port {
        Some(port) => port,
        None if args.port == 0 => 0,
        None => args.port.checked_add(1).context("--port 65535 leaves no port for the API; give --api-port")?,
    };
    // Bind the API first: a port in use stops serve before anything runs.
    let api = ApiServer::bind(api_port)
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{api_port} for the API"))?;

    let (created_tx, created_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut options = PipelineOptions::new(&args.store.home);
    options.state_store_url = args.store.state_store.clone();
    options.warehouse_url = args.warehouse.clone();
    options.repo_root = crate::find_root().ok();
    options.concurrency = args.concurrency.max(1);
    options.keep_executions = true;
    options.step_time = humantime::parse_duration(&args.step_time)
        .with_context(|| format!("--step-time {:?}: a duration such as 30s", args.step_time))?;
    options.s3 = S3ServerOptions {
        port: args.port,
        access_key_id: args.access_key.clone(),
        secret_access_key: args.secret_key.clone(),
        created: Some(created_tx),
    };
    let pipeline = LocalPipeline::open(options).await?;
    // Watched from before it is deployed: no change is missed in between.
    let watch = args.project.as_deref().map(ProjectWatch::new);
    let deployed = match &args.project {
        Some(dir) => pipeline.deploy_dir(dir, &crate::run::show_progress).await,
        // The sample project and jobs, whatever folder serve runs in.
        None => pipeline.deploy_sample(&crate::run::show_progress).await,
    };
    if let Err(e) = deployed {
        pipeline.close().await;
        return Err(e.into());
    }

    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let state = ApiState {
        executor: pipeline.executor().clone(),
        store: pipeline.store().clone(),
        log: pipeline.execution_log().cloned().context("serve keeps executions, so it has an execution log")?,
        machines: vec![
            ("ingest".to_owned(), edba_local::pipeline::INGEST_ASL.to_owned()),
            ("aggregate".to_owned(), edba_local::pipeline::AGGREGATE_ASL.to_owned()),
        ],
        s3: pipeline.s3_client().clone(),
        warehouse: pipeline.warehouse().clone(),
    };
    for aborted in state.log.aborted() {
        eprintln!(
            "{} {}: ABORTED (the serve that ran it stopped first; its run is reconciled at the next evaluation)",
            aborted.state_machine, aborted.name
        );
    }

    let api_addr = api.addr();
    let api_task = tokio::spawn(api.run(state, async move {
        let _ = api_stopped.await;
    }));

    // What a client needs, on stdout, one `name: value` per line.
    println!("S3 endpoint: {}", pipeline.s3_endpoint());
    println!("bucket: {LOCAL_BUCKET} (objects under {INCOMING_PREFIX} start the ingest machine)");
    println!("access key id: {}", args.access_key);
    println!("secret access key: {}", args.secret_key);
    println!("region: {}", edba_local::s3server::REGION);
    println!("console: http://{api_addr}/");
    println!("API: http://{api_addr}/api/executions");
    match schedule {
        Some(every) => println!("schedule: the aggregate machine every {}", humantime::format_duration(every)),
        None => println!("schedule: off"),
    }
    if let Some(c) = chaos {
        println!(
            "chaos: {:.0}% of events delivered twice, each up to {} late (seed {})",
            c.duplicate * 100.0,
            humantime::format_duration(c.max_delay),
            c.seed
        );
    }
    println!("ready");
    eprintln!("edba serve: home {}; Ctrl-C stops (running executions finish first)", args.store.home.display());

    let summary =
        pipeline.serve(created_rx, &ServeOptions { schedule, chaos, watch }, shutdown_signal(), &log_event).await;
    eprintln!("edba serve: stopping; the executions that were running have finished");
    let _ = stop_api.send(());
    let _ = api_task.await;
    pipeline.close().await;
    let summary = summary?;
    eprintln!(
        "edba serve: {} ingest and {} scheduled aggregate executions started; {} other objects created",
        summary.ingest_started, summary.scheduled_started, summary.ignored
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_read_as_durations_or_off() {
        assert_eq!(parse_schedule("10m").unwrap(), Some(Duration::from_secs(600)));
        assert_eq!(parse_schedule("1h30m").unwrap(), Some(Duration::from_secs(5400)));
        assert_eq!(parse_schedule("OFF").unwrap(), None);
        let err = parse_schedule("ten minutes").unwrap_err().to_string();
        assert!(err.contains("a duration such as 10m"), "{err}");
        assert!(parse_schedule("500ms").unwrap_err().to_string().contains("at least 1s"));
    }
}
