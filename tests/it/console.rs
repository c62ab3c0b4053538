//! `edba serve`'s console in a real browser: Debian's Chromium, headless,
//! driven by playwright-core (`scripts/tools/console_check.mjs`, installed
//! by `scripts/tools/install.sh`). An `edba init` project whose job SQL
//! fails at run time gives a failed aggregate execution to look at.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::pipeline_local::repo;
use crate::serve::{client, get_json, start_serve, wait_for, SECRET_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_a_failed_execution_with_its_failed_state_in_a_real_browser() {
    let tools = repo().join("scripts/tools");
    assert!(
        tools.join("node_modules/playwright-core").is_dir() && std::path::Path::new("/usr/bin/chromium").exists(),
        "the console test needs playwright-core and chromium: run scripts/tools/install.sh"
    );

    // A project whose job casts the meter id ("M1") to a number: `edba
    // check` plans it, the step fails on the first row.
    let project = tempfile::tempdir().unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_edba")).arg("init").arg(project.path()).output().unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let sql = project.path().join("daily_energy.sql");
    let text = std::fs::read_to_string(&sql).unwrap();
    let failing = text.replace("COUNT(DISTINCT meter) AS meters", "SUM(CAST(meter AS BIGINT)) AS meters");
    assert_ne!(failing, text, "the init template changed: update this test");
    std::fs::write(&sql, failing).unwrap();

    let home = tempfile::tempdir().unwrap();
    let project_arg = project.path().to_str().unwrap().to_owned();
    let serve = start_serve(home.path(), &["--schedule", "off", "--project", &project_arg]);
    let s3 = client(&serve.endpoint, SECRET_KEY);
    for name in ["north-2026-12-01.csv", "north-2026-12-02.csv"] {
        let bytes = std::fs::read(project.path().join("readings").join(name)).unwrap();
        let key = format!("incoming/readings/{name}");
        s3.put_object().bucket("edba-local").key(key).body(bytes.into()).send().await.unwrap();
    }
    let api = serve.api.clone();
    let failed = wait_for("the aggregate execution to fail", Duration::from_secs(120), || {
        let (_, list) = get_json(&format!("{api}/api/executions?machine=aggregate&status=FAILED"));
        list["executions"].as_array().unwrap().first().map(|e| e["name"].as_str().unwrap().to_owned())
    })
    .await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let out = Command::new("node")
        .arg(tools.join("console_check.mjs"))
        .args([&format!("{api}/"), &failed, "Run EMR step"])
        .arg(&shots)
        .current_dir(&tools)
        .output()
        .expect("node runs");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for page in ["executions", "execution-failed", "status", "run"] {
        assert!(shots.join(format!("{page}.png")).is_file(), "no screenshot of {page}");
    }
}
