//! `scripts/deploy.sh` and `scripts/bootstrap_db.sh` as an operator runs them.
//! AWS itself is out of reach: a stand-in `aws` (and `sam`, `cargo`) on PATH
//! answers the one call each script makes and records every call. The
//! migrations run for real on the TLS-only MariaDB (`scripts/services_tls.sh`),
//! its identity verified with the test CA, as bootstrap_db.sh verifies RDS
//! with its CA bundle.

use crate::deploy_support;

use deploy_support::repo;
use edba_testkit::tls::{mariadb_tls_ca, mariadb_tls_port, start_the_tls_server, unrelated_ca};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BINARIES: [&str; 5] = ["validate", "track", "evaluate", "load", "record"];

/// A directory of stand-in commands; each appends its name and arguments to
/// `calls.log` and answers from the environment: `aws secretsmanager
/// get-secret-value` prints `$FAKE_CRITERIA_SECRET` for the secret id
/// `$FAKE_CRITERIA_SECRET_ARN` and `$FAKE_SECRET` for any other.
struct FakeTools {
    dir: tempfile::TempDir,
}

impl FakeTools {
    fn new(names: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in names {
            let script = format!(
                "#!/bin/sh\necho \"{name} $*\" >> \"{log}\"\n\
                 if [ \"{name} $1 $2\" = \"aws secretsmanager get-secret-value\" ]; then\n\
                   if [ -n \"$FAKE_CRITERIA_SECRET_ARN\" ] && [ \"$4\" = \"$FAKE_CRITERIA_SECRET_ARN\" ]; then\n\
                     printf '%s\\n' \"$FAKE_CRITERIA_SECRET\"; exit 0\n\
                   fi\n\
                   printf '%s\\n' \"$FAKE_SECRET\"; exit 0\n\
                 fi\n\
                 exit 0\n",
                log = dir.path().join("calls.log").display()
            );
            let path = dir.path().join(name);
            std::fs::write(&path, script).expect("write fake tool");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        FakeTools { dir }
    }

    fn path_env(&self) -> String {
        format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default())
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
    }
}

fn script(name: &str) -> PathBuf {
    repo().join("scripts").join(name)
}

fn run(cmd: &mut Command) -> Output {
    cmd.current_dir(repo()).output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_function_in_the_template_is_a_binary_of_the_tasks_crate() {
    for b in BINARIES {
        let src = repo().join(format!("tasks/src/bin/{b}.rs"));
        assert!(src.is_file(), "{} is the {b} Lambda", src.display());
    }
}

#[test]
fn deploy_dry_run_prints_the_build_and_deploy_commands_and_runs_nothing() {
    let fakes = FakeTools::new(&["cargo", "cargo-lambda", "sam", "aws"]);
    let out = run(Command::new("bash").arg(script("deploy.sh")).env("PATH", fakes.path_env()).args([
        "--dry-run",
        "--stack-name",
        "edba-ci",
        "--region",
        "eu-west-1",
        "SubnetIds=subnet-0a,subnet-0b",
        "SecurityGroupIds=sg-01",
        "StateStoreSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-state-AbCdEf",
        "StateStoreHost=db.internal",
        "ScheduleRate=rate(5 minutes)",
    ]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "deploy.sh --dry-run failed:\n{stdout}\n{stderr}");
    assert_eq!(fakes.calls(), "", "--dry-run executed a command");

    let build = stdout
        .lines()
        .find(|l| l.starts_with("cargo lambda build"))
        .unwrap_or_else(|| panic!("no cargo lambda build command in:\n{stdout}"));
    assert!(build.contains("--release") && build.contains("--arm64"), "{build}");
    for b in BINARIES {
        assert!(build.contains(&format!("--bin {b}")), "{b} is not built: {build}");
    }
    let deploy = stdout
        .lines()
        .find(|l| l.starts_with("sam deploy"))
        .unwrap_or_else(|| panic!("no sam deploy command in:\n{stdout}"));
    assert!(deploy.contains("--stack-name edba-ci"), "{deploy}");
    assert!(deploy.contains("--region eu-west-1"), "{deploy}");
    assert!(deploy.contains("--capabilities CAPABILITY_IAM"), "{deploy}");
    assert!(deploy.contains("--parameter-overrides"), "{deploy}");
    for p in ["SubnetIds=subnet-0a", "SecurityGroupIds=sg-01", "StateStoreHost=db.internal"] {
        assert!(deploy.contains(p), "{p} missing from {deploy}");
    }
    // The parameters are listed for the operator too.
    assert!(stdout.contains("#   ScheduleRate=rate(5 minutes)"), "{stdout}");
    // The project (the sample by default) is checked and pushed to code/
    // (job SQL, planned tables, edba.toml) by `edba project push`.
    assert!(
        stdout.lines().any(|l| l.contains("AWS_REGION=eu-west-1")
            && l.contains("cargo run --quiet --bin edba -- project push sampledata --bucket ")),
        "the project is not pushed:\n{stdout}"
    );
}

#[test]
fn deploy_refuses_a_folder_without_a_project_file() {
    let fakes = FakeTools::new(&["cargo", "cargo-lambda", "sam", "aws"]);
    let empty = tempfile::tempdir().unwrap();
    let out = run(Command::new("bash")
        .arg(script("deploy.sh"))
        .env("PATH", fakes.path_env())
        .args(["--dry-run", "--stack-name", "edba-ci", "--project"])
        .arg(empty.path()));
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "deploy.sh accepted a folder without edba.toml:\n{stdout}");
    assert!(stderr.contains("no project file") && stderr.contains("edba.toml"), "{stderr}");
    assert_eq!(fakes.calls(), "");
}

#[test]
fn deploy_refuses_parameters_the_template_does_not_have() {
    let out = run(Command::new("bash").arg(script("deploy.sh")).args([
        "--dry-run",
        "--stack-name",
        "edba-ci",
        "SubnetId=subnet-0a",
    ]));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no parameter SubnetId"), "{stderr}");

    let out = run(Command::new("bash").arg(script("deploy.sh")).arg("--dry-run"));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--stack-name is required") && stderr.contains("Usage:"), "{stderr}");
}

#[test]
fn deploy_names_the_missing_tools_instead_of_failing_halfway() {
    // Only system directories: no cargo, sam or aws there.
    let out = run(Command::new("bash")
        .arg(script("deploy.sh"))
        .env("PATH", "/usr/bin:/bin")
        .args(["--stack-name", "edba-ci"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("missing tools") && stderr.contains("sam"), "{stderr}");
    assert!(stdout.is_empty(), "nothing ran: {stdout}");
}

#[test]
fn bootstrap_dry_run_lists_the_migrations_in_order_and_fetches_no_secret() {
    let fakes = FakeTools::new(&["aws"]);
    let out = run(Command::new("bash")
        .arg(script("bootstrap_db.sh"))
        .env("PATH", fakes.path_env())
        .env("FAKE_SECRET", r#"{"username":"u","password":"never-shown"}"#)
        .args(["--dry-run", "--stack-name", "edba-ci", "--jobs", "sampledata/jobs.toml"]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(fakes.calls(), "", "--dry-run called AWS");
    let mut migrations: Vec<String> = std::fs::read_dir(repo().join("sql/state/mysql"))
        .expect("sql/state/mysql")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    migrations.sort();
    let positions: Vec<usize> = migrations
        .iter()
        .map(|m| stdout.find(&format!("< sql/state/mysql/{m}")).unwrap_or_else(|| panic!("{m} not applied:\n{stdout}")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "migrations out of order:\n{stdout}");
    assert!(stdout.contains("aws secretsmanager get-secret-value"), "{stdout}");
    // The criteria user's secret is the stack's CriteriaSecret; the user may SELECT only.
    assert!(
        stdout.contains("describe-stack-resource --stack-name edba-ci --logical-resource-id CriteriaSecret"),
        "{stdout}"
    );
    assert!(stdout.contains("get-secret-value --secret-id \\{CriteriaSecret\\}"), "{stdout}");
    assert!(stdout.contains("GRANT SELECT ON `{StateStoreDatabase}`.* only"), "{stdout}");
    assert!(stdout.contains("jobs apply sampledata/jobs.toml --state-store"), "{stdout}");
    assert!(!stdout.contains("never-shown") && !stderr.contains("never-shown"));
    // Every client connection verifies the server against the CA bundle, and
    // so does the URL given to edba.
    let clients: Vec<&str> = stdout.lines().filter(|l| l.contains("--defaults-extra-file=")).collect();
    assert!(!clients.is_empty(), "{stdout}");
    for line in clients {
        assert!(line.contains("--ssl-ca=") && line.contains("rds-global-bundle.pem"), "{line}");
        assert!(line.contains("--ssl-verify-server-cert") || line.contains("--ssl-mode=VERIFY_IDENTITY"), "{line}");
    }
    assert!(stdout.contains("?ssl-mode=VERIFY_IDENTITY&ssl-ca="), "{stdout}");
}

/// A MariaDB database and a user that owns it, dropped at the end with the
/// criteria user bootstrap_db.sh may have created.
struct ScratchDatabase {
    name: String,
    user: String,
    password: String,
    criteria_user: String,
}

const CRITERIA_SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-criteria-GhIjKl";

/// The mysql client on the TLS server as `user`, its identity verified.
fn mysql_tls(user: &str) -> Command {
    let mut cmd = Command::new("mysql");
    cmd.args(["-h", "127.0.0.1", "-P", &mariadb_tls_port().to_string(), "-u", user])
        .arg(format!("--ssl-ca={}", mariadb_tls_ca().display()))
        .args(["--ssl-verify-server-cert", "--batch", "--skip-column-names"]);
    cmd
}

/// `sql` as `user` (the password in the client's environment, not its command line).
fn mysql_as(user: &str, password: &str, sql: &str) -> Output {
    mysql_tls(user).env("MYSQL_PWD", password).args(["-e", sql]).output().expect("the mysql client is installed")
}

fn mysql_root(sql: &str) -> Output {
    mysql_tls("root").args(["-e", sql]).output().expect("the mysql client is installed (bootstrap_db.sh needs it too)")
}

/// bootstrap_db.sh's arguments for the TLS server, verified with `ca`.
fn tls_server_args(ca: &std::path::Path) -> Vec<String> {
    let port = mariadb_tls_port().to_string();
    ["--host", "127.0.0.1", "--port", &port, "--ssl-ca", &ca.display().to_string()].map(str::to_owned).to_vec()
}

impl ScratchDatabase {
    fn create() -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").subsec_nanos();
        let tag = format!("{}_{}_{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let db = ScratchDatabase {
            name: format!("edba_bootstrap_{tag}"),
            user: format!("edba_boot_{tag}"),
            // '#' starts a comment in option files and '"', ':' and '@' need
            // escaping in URLs: the script must quote both.
            password: format!("Pw#{nanos}\"q:@x"),
            criteria_user: format!("edba_crit_{tag}"),
        };
        // Like an RDS master user, the owner may create users and grant what it has.
        let sql = format!(
            "CREATE DATABASE `{n}`; CREATE USER '{u}'@'%' IDENTIFIED BY '{p}'; CREATE USER '{u}'@'localhost' IDENTIFIED BY '{p}'; \
             GRANT ALL ON `{n}`.* TO '{u}'@'%' WITH GRANT OPTION; GRANT ALL ON `{n}`.* TO '{u}'@'localhost' WITH GRANT OPTION; \
             GRANT CREATE USER ON *.* TO '{u}'@'%'; GRANT CREATE USER ON *.* TO '{u}'@'localhost';",
            n = db.name,
            u = db.user,
            p = db.password
        );
        let out = mysql_root(&sql);
        assert!(out.status.success(), "{} ({})", start_the_tls_server(), String::from_utf8_lossy(&out.stderr));
        db
    }

    fn secret_json(&self) -> String {
        serde_json::json!({"username": self.user, "password": self.password}).to_string()
    }

    fn criteria_secret_json(&self, password: &str) -> String {
        serde_json::json!({"username": self.criteria_user, "password": password}).to_string()
    }

    fn tables(&self) -> Vec<String> {
        let out = mysql_root(&format!("SHOW TABLES FROM `{}`", self.name));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = mysql_root(&format!(
            "DROP DATABASE IF EXISTS `{n}`; DROP USER IF EXISTS '{u}'@'%'; DROP USER IF EXISTS '{u}'@'localhost'; \
             DROP USER IF EXISTS '{c}'@'%';",
            n = self.name,
            u = self.user,
            c = self.criteria_user
        ));
    }
}

fn bootstrap(db: &ScratchDatabase, fakes: &FakeTools, extra: &[&str]) -> Output {
    bootstrap_verified_with(&mariadb_tls_ca(), db, fakes, extra)
}

fn bootstrap_verified_with(ca: &std::path::Path, db: &ScratchDatabase, fakes: &FakeTools, extra: &[&str]) -> Output {
    run(Command::new("bash")
        .arg(script("bootstrap_db.sh"))
        .env("PATH", fakes.path_env())
        .env("FAKE_SECRET", db.secret_json())
        .env("EDBA", fakes.dir.path().join("edba"))
        .args(["--secret-arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-state-AbCdEf"])
        .args(tls_server_args(ca))
        .args(["--database", &db.name])
        .args(extra))
}

#[test]
fn bootstrap_migrates_mariadb_from_the_secret_once_and_sqlx_agrees() {
    let db = ScratchDatabase::create();
    let fakes = FakeTools::new(&["aws", "edba"]);

    let first = bootstrap(&db, &fakes, &["--jobs", "sampledata/jobs.toml"]);
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "bootstrap_db.sh failed:\n{stdout}\n{stderr}");
    for t in ["ingested_files", "job_configs", "job_runs", "run_inputs", "_sqlx_migrations"] {
        assert!(db.tables().contains(&t.to_owned()), "{t} missing: {:?}", db.tables());
    }
    assert!(stderr.contains("0001_state_store.sql: applying"), "{stderr}");

    let calls = fakes.calls();
    assert!(
        calls.contains("aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-state-AbCdEf"),
        "{calls}"
    );
    // `edba jobs apply FILE --state-store URL`, the URL carrying the secret's credentials.
    let apply = calls.lines().find(|l| l.starts_with("edba ")).unwrap_or_else(|| panic!("edba not run: {calls}"));
    let url = apply
        .strip_prefix("edba jobs apply sampledata/jobs.toml --state-store ")
        .unwrap_or_else(|| panic!("unexpected call: {apply}"));
    let verified = format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", mariadb_tls_ca().display());
    assert!(url.ends_with(&verified), "edba verifies the server as the script did: {url}");

    // The password reached the database, never the operator's terminal.
    for output in [&stdout, &stderr] {
        assert!(!output.contains(&db.password), "the password was printed:\n{output}");
    }

    // Running it again changes nothing.
    let second = bootstrap(&db, &fakes, &[]);
    let (stdout2, stderr2) = text(&second);
    assert!(second.status.success(), "second run failed:\n{stdout2}\n{stderr2}");
    assert!(stderr2.contains("0001_state_store.sql: already applied"), "{stderr2}");

    // The state store's own migrator (sqlx) sees the migrations as applied
    // with the same checksums, and the URL given to edba connects.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let store = edba_tasks::store::StateStore::connect(url)
            .await
            .unwrap_or_else(|e| panic!("the --state-store URL does not connect: {e}"));
        store.migrate().await.expect("sqlx accepts the migrations bootstrap_db.sh recorded");
        store.close().await;
    });
}

#[test]
fn bootstrap_refuses_a_migration_changed_after_it_was_applied() {
    let db = ScratchDatabase::create();
    let fakes = FakeTools::new(&["aws", "edba"]);
    let first = bootstrap(&db, &fakes, &[]);
    assert!(first.status.success(), "{:?}", text(&first));
    let out =
        mysql_root(&format!("UPDATE `{}`._sqlx_migrations SET checksum = UNHEX('00') WHERE version = 1", db.name));
    assert!(out.status.success());
    let again = bootstrap(&db, &fakes, &[]);
    let (_, stderr) = text(&again);
    assert!(!again.status.success());
    assert!(stderr.contains("was changed after it was applied"), "{stderr}");
}

#[test]
fn bootstrap_creates_the_criteria_user_that_may_only_select_the_state_store() {
    let db = ScratchDatabase::create();
    let fakes = FakeTools::new(&["aws", "edba"]);
    let with_criteria = |password: &str| {
        run(Command::new("bash")
            .arg(script("bootstrap_db.sh"))
            .env("PATH", fakes.path_env())
            .env("FAKE_SECRET", db.secret_json())
            .env("FAKE_CRITERIA_SECRET_ARN", CRITERIA_SECRET_ARN)
            .env("FAKE_CRITERIA_SECRET", db.criteria_secret_json(password))
            .args(["--secret-arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-state-AbCdEf"])
            .args(tls_server_args(&mariadb_tls_ca()))
            .args(["--database", &db.name])
            .args(["--criteria-secret-arn", CRITERIA_SECRET_ARN]))
    };
    // '#', ':' and '@' are fine in the SQL literal and the URL; quotes and backslashes are refused.
    let first_password = "Crit#1:@first-x";
    let first = with_criteria(first_password);
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "bootstrap_db.sh failed:\n{stdout}\n{stderr}");
    assert!(
        fakes.calls().contains(&format!("get-secret-value --secret-id {CRITERIA_SECRET_ARN}")),
        "{}",
        fakes.calls()
    );
    assert!(!stdout.contains(first_password) && !stderr.contains(first_password), "{stdout}\n{stderr}");

    let as_criteria = |password: &str, sql: &str| mysql_as(&db.criteria_user, password, sql);
    let read = as_criteria(first_password, &format!("SELECT COUNT(*) FROM `{}`.job_configs", db.name));
    assert!(read.status.success(), "the criteria user reads the state store: {:?}", text(&read));
    for sql in [
        format!("INSERT INTO `{}`.job_configs (job_id) VALUES ('x')", db.name),
        format!("CREATE TABLE `{}`.scratch (a INT)", db.name),
        "SELECT 1 FROM mysql.user LIMIT 1".to_owned(),
    ] {
        let out = as_criteria(first_password, &sql);
        assert!(!out.status.success(), "the criteria user may not run {sql}");
    }

    // Run again after the secret rotated: the user gets the new password.
    let second_password = "Crit-2-second-x";
    let second = with_criteria(second_password);
    assert!(second.status.success(), "{:?}", text(&second));
    assert!(as_criteria(second_password, "SELECT 1").status.success());
    assert!(!as_criteria(first_password, "SELECT 1").status.success(), "the old password no longer works");

    // A secret that would make the state store's own user read-only, or
    // break out of the SQL literal, is refused before anything runs.
    let own = run(Command::new("bash")
        .arg(script("bootstrap_db.sh"))
        .env("PATH", fakes.path_env())
        .env("FAKE_SECRET", db.secret_json())
        .env("FAKE_CRITERIA_SECRET_ARN", CRITERIA_SECRET_ARN)
        .env("FAKE_CRITERIA_SECRET", db.secret_json())
        .args(["--secret-arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-state-AbCdEf"])
        .args(tls_server_args(&mariadb_tls_ca()))
        .args(["--database", &db.name])
        .args(["--criteria-secret-arn", CRITERIA_SECRET_ARN]));
    let (_, stderr) = text(&own);
    assert!(!own.status.success() && stderr.contains("the state store's own user"), "{stderr}");
    let quoted = with_criteria("x'; DROP DATABASE mysql; --");
    let (_, stderr) = text(&quoted);
    assert!(!quoted.status.success() && stderr.contains("without quotes"), "{stderr}");
    assert!(!stderr.contains("DROP DATABASE"), "the password is not echoed: {stderr}");
}

#[test]
fn bootstrap_refuses_a_server_without_tls_or_one_its_ca_file_does_not_vouch_for() {
    let db = ScratchDatabase::create();
    let fakes = FakeTools::new(&["aws", "edba"]);
    let out = bootstrap_verified_with(&unrelated_ca(), &db, &fakes, &["--jobs", "sampledata/jobs.toml"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "bootstrap_db.sh trusted a server the CA did not sign:\n{stdout}\n{stderr}");
    assert!(stderr.contains("TLS") || stderr.contains("SSL"), "the client says why: {stderr}");
    assert_eq!(db.tables(), Vec::<String>::new(), "nothing was applied");
    assert!(!fakes.calls().contains("edba "), "no jobs applied: {}", fakes.calls());

    // The plain server (3306, no TLS) with the right CA: refused, not used in plaintext.
    let plain = run(Command::new("bash")
        .arg(script("bootstrap_db.sh"))
        .env("PATH", fakes.path_env())
        .env("FAKE_SECRET", db.secret_json())
        .args(["--secret-arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edba-state-AbCdEf"])
        .args(["--host", "127.0.0.1", "--port", "3306", "--database", &db.name, "--ssl-ca"])
        .arg(mariadb_tls_ca()));
    let (stdout, stderr) = text(&plain);
    assert!(!plain.status.success(), "bootstrap_db.sh used a server without TLS:\n{stdout}\n{stderr}");
    assert!(stderr.contains("TLS") || stderr.contains("SSL"), "the client says why: {stderr}");
}

#[test]
fn deploy_puts_the_rds_ca_bundle_in_every_package_whose_url_names_it() {
    let fakes = FakeTools::new(&["cargo", "cargo-lambda", "sam", "aws", "curl"]);
    let out = run(Command::new("bash").arg(script("deploy.sh")).env("PATH", fakes.path_env()).args([
        "--dry-run",
        "--stack-name",
        "edba-ci",
    ]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let position = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix));
    let download = position("curl ").unwrap_or_else(|| panic!("the bundle is not downloaded:\n{stdout}"));
    assert!(
        lines[download].contains("https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem")
            && lines[download].contains("--output .aws-sam/rds-global-bundle.pem")
            && lines[download].contains("--fail"),
        "{}",
        lines[download]
    );

    // The functions whose URL names a CA file, and the file's name there.
    let t = deploy_support::template();
    let mut expected = Vec::new();
    for (name, function) in deploy_support::resources_of_type(&t, "AWS::Serverless::Function") {
        let url = function["Properties"]["Environment"]["Variables"]["EDBA_STATE_STORE_URL"].to_string();
        if let Some((_, ca)) = url.split_once("ssl-ca=/var/task/") {
            let file = &ca[..ca.find(['"', '&']).unwrap_or(ca.len())];
            expected.push(format!("cp .aws-sam/rds-global-bundle.pem .aws-sam/build/{name}/{file}"));
        }
    }
    assert_eq!(expected.len(), 3, "track, evaluate and record read the state store");
    let build = position("sam build").expect("sam build");
    let deploy = position("sam deploy").expect("sam deploy");
    for copy in &expected {
        let at = position(copy).unwrap_or_else(|| panic!("missing: {copy}\n{stdout}"));
        assert!(download < at && build < at && at < deploy, "after the build and download, before the deploy: {copy}");
    }
    let copies = lines.iter().filter(|l| l.starts_with("cp ") && l.contains(".aws-sam/build/")).count();
    assert_eq!(copies, expected.len(), "only the state-store functions get it:\n{stdout}");

    // Another server's CA instead of the RDS bundle: copied, not downloaded.
    let ca = mariadb_tls_ca();
    let out = run(Command::new("bash")
        .arg(script("deploy.sh"))
        .env("PATH", fakes.path_env())
        .args(["--dry-run", "--skip-build", "--stack-name", "edba-ci", "--state-store-ca"])
        .arg(&ca));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("curl "), "{stdout}");
    assert!(stdout.contains(&format!("cp {} .aws-sam/rds-global-bundle.pem", ca.display())), "{stdout}");
    assert_eq!(fakes.calls(), "", "--dry-run executed a command");
}
