//! `edba serve` as a process, driven as a deployed system is: an S3 client
//! (`aws-sdk-s3`, signed requests) uploads the sample files through the
//! endpoint, the created objects start the ingest machine, J101's run
//! completes, and the JSON API and `edba impacted` (on the same home, while
//! serve runs) tell what happened.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use edba_local::pipeline::Chaos;
use serde_json::Value;

use crate::pipeline_local::{expected_item_days_of, repo, warehouse};

const ACCESS_KEY: &str = "serve-test-uploader";
pub(crate) const SECRET_KEY: &str = "serve-test-secret-not-a-real-one";

/// A running `edba serve`, killed when dropped.
pub(crate) struct Serve {
    pub child: Child,
    pub endpoint: String,
    pub api: String,
    /// What it has written to stderr so far.
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Serve {
    /// Waits for serve to exit; its exit status and all it wrote to stderr.
    fn wait_exit(&mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().unwrap();
        }
        (status, self.stderr.lock().unwrap().clone())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_serve(home: &Path, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edba"))
        .args(["serve", "--port", "0", "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, "--home"])
        .arg(home)
        .args(extra)
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("edba serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut endpoint, mut api) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("S3 endpoint: ") {
            endpoint = url.to_owned();
        } else if let Some(url) = line.strip_prefix("API: ") {
            api = url.trim_end_matches("/api/executions").to_owned();
        } else if line == "ready" {
            break;
        }
    }
    assert!(!endpoint.is_empty() && !api.is_empty(), "serve printed its endpoint and API");
    // Keep draining both pipes so serve never blocks on a full one.
    std::thread::spawn(move || lines.for_each(drop));
    let err = BufReader::new(child.stderr.take().unwrap());
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr.clone();
    let stderr_reader = std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    Serve { child, endpoint, api, stderr, stderr_reader: Some(stderr_reader) }
}

pub(crate) fn client(endpoint: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(ACCESS_KEY, secret, None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// GET `url` (plain HTTP/1.1 on loopback); the status code and JSON body.
pub(crate) fn get_json(url: &str) -> (u16, Value) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, serde_json::from_str(body).unwrap_or_else(|e| panic!("{url}: {e}: {body}")))
}

/// Polls `probe` until it returns `Some`, for at most `limit`.
pub(crate) async fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn sample_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("sampledata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tdf" || e == "txt"))
        .collect();
    files.sort();
    files
}

/// Uploads every sample file as uploaders send them: most with PutObject,
/// the item master as a multipart upload, IL-114 copied from a staging key
/// (whose own creation is an event serve ignores: it is not under
/// `incoming/`). Returns the files, in the order their objects were created.
async fn upload_sample(s3: &aws_sdk_s3::Client) -> Vec<PathBuf> {
    let files = sample_files();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let key = format!("incoming/{name}");
        let bytes = std::fs::read(path).unwrap();
        match name {
            "Item-Master-Data.tdf" => {
                let upload = s3.create_multipart_upload().bucket("edba-local").key(&key).send().await.unwrap();
                let id = upload.upload_id().unwrap();
                let part = s3
                    .upload_part()
                    .bucket("edba-local")
                    .key(&key)
                    .upload_id(id)
                    .part_number(1)
                    .body(bytes.into())
                    .send()
                    .await
                    .unwrap();
                let parts = CompletedMultipartUpload::builder()
                    .parts(CompletedPart::builder().part_number(1).e_tag(part.e_tag().unwrap()).build())
                    .build();
                s3.complete_multipart_upload()
                    .bucket("edba-local")
                    .key(&key)
                    .upload_id(id)
                    .multipart_upload(parts)
                    .send()
                    .await
                    .unwrap();
            }
            "IL-114.tdf" => {
                s3.put_object().bucket("edba-local").key("staging/IL-114.tdf").body(bytes.into()).send().await.unwrap();
                s3.copy_object()
                    .bucket("edba-local")
                    .key(&key)
                    .copy_source("edba-local/staging/IL-114.tdf")
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                s3.put_object().bucket("edba-local").key(&key).body(bytes.into()).send().await.unwrap();
            }
        }
    }

    files
}

/// Waits until `ingests` ingest executions have ended, all succeeded, and
/// J101's run has completed; those executions and the status then.
async fn settled(api: &str, ingests: usize) -> (Vec<Value>, Value) {
    // One ingest execution per file (the staging object starts none), all done.
    let ingests = wait_for("every ingest execution to end", Duration::from_secs(120), || {
        let (_, list) = get_json(&format!("{api}/api/executions?machine=ingest"));
        let executions = list["executions"].as_array().unwrap().clone();
        (executions.len() == ingests && executions.iter().all(|e| e["status"] != "RUNNING")).then_some(executions)
    })
    .await;
    assert!(ingests.iter().all(|e| e["status"] == "SUCCEEDED"), "{ingests:#?}");

    // J101 ran and completed; J102 waits for more CA files.
    let status = wait_for("J101's run to complete", Duration::from_secs(120), || {
        let (_, status) = get_json(&format!("{api}/api/status"));
        let j101 = status["jobs"].as_array().unwrap().iter().find(|j| j["job_id"] == "J101").cloned().unwrap();
        (j101["last_status"] == "COMPLETED").then_some(status)
    })
    .await;
    (ingests, status)
}

/// `edba impacted` (reading the home serve is using) lists the exact inputs
/// of J101's run: the item master and at least 13 IL files, each once; the
/// warehouse holds exactly their aggregation, computed here.
async fn the_run_read_its_inputs_once(home: &Path, run_id: &str) {
    let impacted = Command::new(env!("CARGO_BIN_EXE_edba"))
        .args(["impacted", run_id, "--json", "--home"])
        .arg(home)
        .output()
        .unwrap();
    assert!(impacted.status.success(), "{}", String::from_utf8_lossy(&impacted.stderr));
    let impacted: Value = serde_json::from_slice(&impacted.stdout).unwrap();
    let inputs: Vec<PathBuf> = impacted["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| repo().join("sampledata").join(f["file_url"].as_str().unwrap().rsplit('/').next().unwrap()))
        .collect();
    assert!(inputs.iter().any(|p| p.ends_with("Item-Master-Data.tdf")), "{impacted:#}");
    let il: Vec<PathBuf> = inputs.iter().filter(|p| !p.ends_with("Item-Master-Data.tdf")).cloned().collect();
    assert!(il.len() >= 13, "J101 needs 13 fresh IL files: {impacted:#}");
    assert!(il.iter().all(|p| p.file_name().unwrap().to_str().unwrap().starts_with("IL-1")), "{impacted:#}");

    // The warehouse holds exactly the aggregation of those inputs, computed here.
    let (items, _days, names) = warehouse(home).await;
    assert_eq!(items, expected_item_days_of(&il));
    assert_eq!(names.get("ITEM-001").map(String::as_str), Some("Sample item 1"));

    let distinct: std::collections::BTreeSet<&PathBuf> = inputs.iter().collect();
    assert_eq!(distinct.len(), inputs.len(), "no file counted twice: {impacted:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_through_the_endpoint_run_the_pipeline_and_the_api_shows_it() {
    let home = tempfile::tempdir().unwrap();
    let mut serve = start_serve(home.path(), &["--schedule", "1s"]);
    let s3 = client(&serve.endpoint, SECRET_KEY);

    // A client with the wrong secret is refused, as S3 refuses it.
    let refused = client(&serve.endpoint, "not-the-secret")
        .put_object()
        .bucket("edba-local")
        .key("incoming/IL-101.tdf")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.as_service_error().and_then(|e| e.meta().code()), Some("SignatureDoesNotMatch"));

    let files = upload_sample(&s3).await;

    let api = serve.api.clone();
    let (ingests, status) = settled(&api, files.len()).await;
    let j102 = status["jobs"].as_array().unwrap().iter().find(|j| j["job_id"] == "J102").unwrap();
    assert_eq!(j102["decision"], "WAITING", "{j102}");
    assert!(j102["decision_reason"].as_str().unwrap().contains("CA-* files fresh"), "{j102}");
    let files_by_name: BTreeMap<&str, &str> = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file_name"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(files_by_name.len(), files.len());
    assert_eq!(files_by_name["CA-203.tdf"], "VALIDATED_WITH_REJECTS");
    assert_eq!(files_by_name["IL-114.tdf"], "VALIDATED", "the copied object was ingested");
    assert_eq!(files_by_name["Item-Master-Data.tdf"], "VALIDATED", "the multipart upload was ingested");
    assert_eq!(files_by_name["IL-199.tdf"], "INVALID");

    assert_eq!(status["runs"].as_array().unwrap().len(), 1, "one run: {status:#}");
    the_run_read_its_inputs_once(home.path(), status["runs"][0]["run_id"].as_str().unwrap()).await;

    // An execution with its history, as the console shows it; an unknown one is a 404.
    let name = ingests[0]["name"].as_str().unwrap();
    let (code, execution) = get_json(&format!("{api}/api/executions/{name}"));
    assert_eq!(code, 200);
    assert_eq!(execution["status"], "SUCCEEDED");
    let history = execution["history"].as_array().unwrap();
    assert_eq!(history[0]["type"], "ExecutionStarted");
    assert_eq!(history.last().unwrap()["type"], "ExecutionSucceeded");
    assert!(history.iter().any(|e| e["type"] == "TaskStateEntered" || e["type"] == "StateEntered"), "{history:#?}");
    let (code, missing) = get_json(&format!("{api}/api/executions/no-such-execution"));
    assert_eq!((code, missing["error"].as_str()), (404, Some("ExecutionDoesNotExist")));

    // Every response conforms to the schema the API publishes (ajv).
    let tools = repo().join("scripts/tools");
    let checked = Command::new("node")
        .arg(tools.join("check_api.mjs"))
        .args([&api, name])
        .current_dir(&tools)
        .output()
        .expect("node runs (scripts/tools/install.sh installs ajv)");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // The schedule starts the aggregate machine on its own.
    wait_for("a scheduled aggregate execution", Duration::from_secs(30), || {
        let (_, list) = get_json(&format!("{api}/api/executions?machine=aggregate&status=SUCCEEDED"));
        list["executions"].as_array().unwrap().iter().find_map(|e| {
            let (_, detail) = get_json(&format!("{api}/api/executions/{}", e["name"].as_str().unwrap()));
            (detail["history"][0]["input"]["trigger"] == "schedule").then_some(())
        })
    })
    .await;

    // SIGTERM: serve stops gracefully and says what it ran: each execution's
    // end, the aggregate executions ingest started (J101's run) too.
    let (_, all) = get_json(&format!("{api}/api/executions?max=1000"));
    let mut ran = Vec::new();
    let mut started_by_ingest = Vec::new();
    for e in all["executions"].as_array().unwrap() {
        let (machine, name) = (e["stateMachine"].as_str().unwrap(), e["name"].as_str().unwrap());
        ran.push(format!("{machine} {name}: "));
        if machine == "aggregate" {
            let (_, detail) = get_json(&format!("{api}/api/executions/{name}"));
            if detail["history"][0]["input"]["trigger"] != "schedule" {
                started_by_ingest.push(format!("aggregate {name}: SUCCEEDED"));
            }
        }
    }
    assert!(!started_by_ingest.is_empty(), "no aggregate execution started by ingest: {all:#}");
    let pid = serve.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let (exit, stderr) = serve.wait_exit();
    assert!(exit.success(), "{exit:?}\n{stderr}");
    assert!(stderr.contains(&format!("{} ingest and", files.len())), "{stderr}");
    for line in ran.iter().chain(&started_by_ingest) {
        assert!(stderr.contains(line.as_str()), "{line:?} is not on stderr:\n{stderr}");
    }
}

/// Status of each file: (name, status, valid, rejected, skipped).
fn file_rows(status: &Value) -> BTreeMap<String, (String, u64, u64, u64)> {
    status["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file_name"].as_str().unwrap().to_owned(),
                (
                    f["status"].as_str().unwrap().to_owned(),
                    f["rows_valid"].as_u64().unwrap(),
                    f["rows_rejected"].as_u64().unwrap(),
                    f["lines_skipped"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Events delivered twice and out of order (`--chaos`) change nothing: the
/// same files with the same outcomes as without chaos, one J101 run over
/// distinct inputs, the warehouse exactly their aggregation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_events_give_the_same_result() {
    let plain_home = tempfile::tempdir().unwrap();
    let plain = start_serve(plain_home.path(), &["--schedule", "off"]);
    let files = upload_sample(&client(&plain.endpoint, SECRET_KEY)).await;
    let (_, plain_status) = settled(&plain.api, files.len()).await;
    drop(plain);

    let (seed, duplicate, delay) = (11u64, 0.5, Duration::from_millis(800));
    let home = tempfile::tempdir().unwrap();
    let serve = start_serve(
        home.path(),
        &["--schedule", "off", "--chaos", "--chaos-duplicate", "0.5", "--chaos-delay", "800ms", "--chaos-seed", "11"],
    );
    upload_sample(&client(&serve.endpoint, SECRET_KEY)).await;
    // Every delivery starts an ingest execution: the created objects are the
    // files' and, just before IL-114's, the staging copy's (ignored).
    let chaos = Chaos { duplicate, max_delay: delay, seed };
    let staging = files.iter().position(|f| f.ends_with("IL-114.tdf")).unwrap();
    let deliveries: usize =
        (0..=files.len() as u64).filter(|n| *n != staging as u64).map(|n| chaos.deliveries(n).len()).sum();
    assert!(deliveries > files.len(), "the seed duplicates some events");
    let (_, status) = settled(&serve.api, deliveries).await;
    // A duplicate that arrives after J101 fired may start another
    // evaluation; let every execution end before comparing.
    wait_for("every execution to end", Duration::from_secs(60), || {
        let (_, list) = get_json(&format!("{}/api/executions?status=RUNNING", serve.api));
        list["executions"].as_array().unwrap().is_empty().then_some(())
    })
    .await;
    let (_, status_after) = get_json(&format!("{}/api/status", serve.api));
    assert_eq!(status_after["runs"], status["runs"], "no second run");

    assert_eq!(file_rows(&status_after), file_rows(&plain_status));
    let decisions = |s: &Value| -> Vec<(Value, Value)> {
        s["jobs"].as_array().unwrap().iter().map(|j| (j["job_id"].clone(), j["last_status"].clone())).collect()
    };
    assert_eq!(decisions(&status_after), decisions(&plain_status));
    assert_eq!(status_after["runs"].as_array().unwrap().len(), 1, "one run: {status_after:#}");
    the_run_read_its_inputs_once(home.path(), status_after["runs"][0]["run_id"].as_str().unwrap()).await;
}

/// Killed mid-aggregate (SIGKILL, nothing flushed on purpose), serve starts
/// again on the same home: the executions it ran are still listed, the one
/// it was running is ABORTED, its run is reconciled (FAILED, inputs given
/// back) and the job fires again and completes over the same files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_kill_mid_aggregate_reconciles_the_run_and_the_job_fires_again() {
    let home = tempfile::tempdir().unwrap();
    let mut first = start_serve(home.path(), &["--schedule", "off", "--step-time", "5m"]);
    let files = upload_sample(&client(&first.endpoint, SECRET_KEY)).await;
    let api = first.api.clone();
    let (stuck, first_run) = wait_for("J101's run to be in its EMR step", Duration::from_secs(120), || {
        let (_, status) = get_json(&format!("{api}/api/status"));
        let run = status["runs"].as_array().unwrap().first().cloned()?;
        let (_, running) = get_json(&format!("{api}/api/executions?machine=aggregate&status=RUNNING"));
        let execution = running["executions"].as_array().unwrap().first().cloned()?;
        // Its live history shows the step submitted (the run records the
        // step id only once the step ends).
        let (_, detail) = get_json(&format!("{api}/api/executions/{}", execution["name"].as_str().unwrap()));
        let in_step = detail["history"].to_string().contains("elasticmapreduce:addStep.sync");
        (run["status"] == "RUNNING" && in_step).then_some((execution, run))
    })
    .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = start_serve(home.path(), &["--schedule", "1s"]);
    let api = second.api.clone();
    // The earlier serve's executions are still there; the stuck one is ABORTED.
    let (_, ingests) = get_json(&format!("{api}/api/executions?machine=ingest"));
    let ingests = ingests["executions"].as_array().unwrap().clone();
    assert_eq!(ingests.len(), files.len(), "{ingests:#?}");
    assert!(ingests.iter().all(|e| e["status"] == "SUCCEEDED"));
    let (_, one) = get_json(&format!("{api}/api/executions/{}", ingests[0]["name"].as_str().unwrap()));
    assert_eq!(one["history"].as_array().unwrap().last().unwrap()["type"], "ExecutionSucceeded");
    let (_, aborted) = get_json(&format!("{api}/api/executions/{}", stuck["name"].as_str().unwrap()));
    assert_eq!(aborted["status"], "ABORTED", "{aborted:#}");
    assert_eq!(aborted["error"], "Edba.ServeStopped");

    // The schedule evaluates: the stuck run is reconciled, J101 fires again.
    let status = wait_for("J101 to complete a second run", Duration::from_secs(120), || {
        let (_, status) = get_json(&format!("{api}/api/status"));
        let runs = status["runs"].as_array().unwrap();
        (runs.len() == 2 && runs.iter().any(|r| r["status"] == "COMPLETED")).then_some(status)
    })
    .await;
    let runs = status["runs"].as_array().unwrap();
    let old = runs.iter().find(|r| r["run_id"] == first_run["run_id"]).expect("the first run is listed");
    assert_eq!(old["status"], "FAILED", "{old:#}");
    assert_eq!(old["error"], "Edba.ExecutionEnded", "{old:#}");
    assert!(old["cause"].as_str().unwrap().contains("ABORTED"), "{old:#}");
    let new = runs.iter().find(|r| r["run_id"] != first_run["run_id"]).unwrap();
    assert_eq!(new["status"], "COMPLETED");
    assert_eq!(new["inputs"], first_run["inputs"], "the same files, given back");
    the_run_read_its_inputs_once(home.path(), new["run_id"].as_str().unwrap()).await;
}

/// A project changed while serve runs is checked and applied; a change that
/// does not check is reported, and the deployed project stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_changed_while_serve_runs_is_checked_and_applied() {
    let project = tempfile::tempdir().unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_edba")).arg("init").arg(project.path()).output().unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let toml = project.path().join("edba.toml");
    let original = std::fs::read_to_string(&toml).unwrap();
    assert!(original.contains("min_files = 2"), "the init template changed: update this test");

    let home = tempfile::tempdir().unwrap();
    let dir = project.path().to_str().unwrap().to_owned();
    let serve = start_serve(home.path(), &["--schedule", "1s", "--project", &dir]);
    let applied = |n: usize| {
        let stderr = serve.stderr.clone();
        move || (stderr.lock().unwrap().matches("project: changed, checked and applied").count() >= n).then_some(())
    };

    // Three files fire the job now, not two.
    std::fs::write(&toml, original.replace("min_files = 2", "min_files = 3")).unwrap();
    wait_for("the change to apply", Duration::from_secs(30), applied(1)).await;

    // A job loading a table the project does not declare does not check.
    std::fs::write(
        &toml,
        original.replace("min_files = 2", "min_files = 3").replace("[\"daily_energy\"]", "[\"nope\"]"),
    )
    .unwrap();
    let stderr = serve.stderr.clone();
    wait_for("the broken change to be refused", Duration::from_secs(30), || {
        stderr.lock().unwrap().contains("project: changed but NOT applied").then_some(())
    })
    .await;
    assert!(stderr.lock().unwrap().contains("nope"), "{}", stderr.lock().unwrap());

    // Two files: the job (still three files, as last applied) waits.
    let s3 = client(&serve.endpoint, SECRET_KEY);
    for name in ["north-2026-12-01.csv", "north-2026-12-02.csv"] {
        let bytes = std::fs::read(project.path().join("readings").join(name)).unwrap();
        s3.put_object()
            .bucket("edba-local")
            .key(format!("incoming/readings/{name}"))
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }
    let api = serve.api.clone();
    let job = |api: &str| {
        let (_, status) = get_json(&format!("{api}/api/status"));
        status["jobs"].as_array().unwrap().iter().find(|j| j["job_id"] == "daily-energy").cloned().unwrap()
    };
    let waiting = wait_for("the job to wait for a third file", Duration::from_secs(60), || {
        let j = job(&api);
        j["decision_reason"].as_str().is_some_and(|r| r.contains("2 of 3")).then_some(j)
    })
    .await;
    assert_eq!(waiting["last_status"], Value::Null, "{waiting}");

    // Back to two: applied, and the schedule fires the job.
    std::fs::write(&toml, &original).unwrap();
    wait_for("the fix to apply", Duration::from_secs(30), applied(2)).await;
    wait_for("the job to complete", Duration::from_secs(60), || {
        (job(&api)["last_status"] == "COMPLETED").then_some(())
    })
    .await;
}
