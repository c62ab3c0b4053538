//! The TLS-only MariaDB the TLS tests talk to, and its certificates:
//! `scripts/services_tls.sh` starts it (`scripts/services.sh` calls it) on
//! 127.0.0.1:`EDBA_TEST_MARIADB_TLS_PORT` (default 3307) with its files in
//! `EDBA_TEST_MARIADB_TLS_DIR` (default `/tmp/edba-mariadb-tls`); the script
//! and these functions read the same variables with the same defaults.

use std::path::PathBuf;

/// Where the TLS server's certificates (and datadir) are.
pub fn mariadb_tls_dir() -> PathBuf {
    std::env::var_os("EDBA_TEST_MARIADB_TLS_DIR").map_or_else(|| PathBuf::from("/tmp/edba-mariadb-tls"), PathBuf::from)
}

/// The TLS server's port on 127.0.0.1 (and 127.0.0.2).
pub fn mariadb_tls_port() -> u16 {
    match std::env::var("EDBA_TEST_MARIADB_TLS_PORT") {
        Ok(port) => port.parse().unwrap_or_else(|_| panic!("EDBA_TEST_MARIADB_TLS_PORT={port} is not a port")),
        Err(_) => 3307,
    }
}

/// How to start the TLS server, for a test that could not use it.
pub fn start_the_tls_server() -> String {
    format!(
        "the TLS-only MariaDB (127.0.0.1:{}, certificates in {}) is required for this test: start it with \
         scripts/services_tls.sh (scripts/services.sh starts it too), with the same EDBA_TEST_MARIADB_TLS_DIR \
         and EDBA_TEST_MARIADB_TLS_PORT as the tests",
        mariadb_tls_port(),
        mariadb_tls_dir().display()
    )
}

fn certificate(name: &str) -> PathBuf {
    let path = mariadb_tls_dir().join(name);
    assert!(path.is_file(), "{} is missing: {}", path.display(), start_the_tls_server());
    path
}

/// The test CA the TLS server's certificate (for 127.0.0.1 and
/// `localhost`) is signed by.
pub fn mariadb_tls_ca() -> PathBuf {
    certificate("ca.pem")
}

/// A CA with the test CA's name and a key of its own: it signed nothing
/// the server presents.
pub fn unrelated_ca() -> PathBuf {
    certificate("unrelated-ca.pem")
}

/// The TLS server as root, no database selected, with the server's
/// identity verified against the test CA:
/// `mysql://root@127.0.0.1:3307/?ssl-mode=VERIFY_IDENTITY&ssl-ca=…`.
pub fn mysql_tls_server_url() -> String {
    mysql_tls_url("127.0.0.1", "VERIFY_IDENTITY", &mariadb_tls_ca())
}

/// The TLS server at `host` as root, with `ssl-mode` and `ssl-ca` as given.
pub fn mysql_tls_url(host: &str, ssl_mode: &str, ca: &std::path::Path) -> String {
    format!("mysql://root@{host}:{}/?ssl-mode={ssl_mode}&ssl-ca={}", mariadb_tls_port(), ca.display())
}
