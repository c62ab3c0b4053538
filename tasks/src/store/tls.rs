//! TLS to a MySQL state store: what a URL asks for, and which failures to
//! set it up no retry mends.
//!
//! sqlx reads the URL's `ssl-mode` and `ssl-ca` (rustls, with the CA file
//! read when a connection opens). Without `ssl-mode` it is PREFERRED:
//! encrypted when the server offers TLS, plaintext otherwise, the server's
//! certificate not checked: for local servers. A deployed store's URL says
//! `ssl-mode=VERIFY_IDENTITY&ssl-ca=<the RDS CA bundle>` (the template's),
//! so a connection is encrypted to a server whose certificate names the
//! host and chains to that bundle, or is not made. A connection that asked
//! for TLS (REQUIRED, VERIFY_CA, VERIFY_IDENTITY) never falls back to
//! plaintext: a server without TLS, a certificate the CA does not vouch
//! for, a missing or empty CA file are permanent `Edba.InvalidInput`
//! errors naming what to fix, never `Edba.Transient` (the machines would
//! retry them for nothing).

use std::path::{Path, PathBuf};

use crate::TaskError;

/// The TLS settings of a MySQL URL (`ssl-mode`, `ssl-ca`), as sqlx reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// `ssl-mode` as written (upper case), `PREFERRED` when absent.
    mode: String,
    /// `ssl-ca`: the file of PEM certificates the server's must chain to.
    ca_file: Option<PathBuf>,
    /// `host:port`, for errors.
    server: String,
}

impl TlsSettings {
    /// The settings of `url` (a valid MySQL URL: sqlx parsed it). `what`
    /// names the URL in errors. A CA given without a mode that verifies
    /// would be silently ignored by sqlx: refused.
    pub(crate) fn of_url(url: &str, what: &str) -> Result<Self, TaskError> {
        // The URL may hold a password: errors never repeat it.
        let parsed = url::Url::parse(url)
            .map_err(|_| TaskError::InvalidInput(format!("the {what} URL is not a valid MySQL URL")))?;
        let mut mode = None;
        let mut ca_file = None;
        for (key, value) in parsed.query_pairs() {
            match &*key {
                "ssl-mode" | "sslmode" => mode = Some(value.to_ascii_uppercase()),
                "ssl-ca" | "sslca" => ca_file = Some(PathBuf::from(&*value)),
                _ => {}
            }
        }
        let server = format!("{}:{}", parsed.host_str().unwrap_or("localhost"), parsed.port().unwrap_or(3306));
        let settings = TlsSettings { mode: mode.unwrap_or_else(|| "PREFERRED".to_owned()), ca_file, server };
        if settings.ca_file.is_some() && !settings.verifies() {
            return Err(TaskError::InvalidInput(format!(
                "the {what} URL names an ssl-ca but its ssl-mode is {}, which does not check the server's \
                 certificate: use ssl-mode=VERIFY_IDENTITY (or VERIFY_CA)",
                settings.mode
            )));
        }
        Ok(settings)
    }

    /// Whether the server's certificate is checked against a CA.
    fn verifies(&self) -> bool {
        matches!(self.mode.as_str(), "VERIFY_CA" | "VERIFY_IDENTITY")
    }

    /// The permanent error `e` (a failure to open a connection) stands for,
    /// if it is one; `None` leaves it as it is (a dropped or refused TCP
    /// connection is `Edba.Transient`).
    pub(crate) fn refusal(&self, e: &sqlx::Error) -> Option<TaskError> {
        let server = &self.server;
        let mode = &self.mode;
        // A CA file that cannot be used fails every connection; whatever
        // else went wrong, it must be fixed first.
        if let Some(why) = self.ca_file.as_deref().and_then(unusable_ca_file) {
            return Some(TaskError::InvalidInput(format!(
                "the state store's CA file (ssl-mode={mode}, ssl-ca) {why}: no connection to {server} is made \
                 without it"
            )));
        }
        match e {
            // sqlx's own TLS errors: the server offers no TLS, a CA file
            // that is not PEM, TLS not compiled in.
            sqlx::Error::Tls(cause) => Some(TaskError::InvalidInput(format!(
                "the state store connection asks for TLS (ssl-mode={mode}) and {server} could not provide it: \
                 {cause}; it is never made in plaintext instead"
            ))),
            sqlx::Error::Io(io) => {
                let tls = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())?;
                permanent_handshake_error(tls).then(|| {
                    let trusted = match (&self.ca_file, self.verifies()) {
                        (Some(ca), _) => format!("trusting the CA file {}", ca.display()),
                        (None, true) => "trusting the public web roots only (no ssl-ca)".to_owned(),
                        (None, false) => "the certificate unchecked".to_owned(),
                    };
                    TaskError::InvalidInput(format!(
                        "the TLS handshake with the state store {server} failed (ssl-mode={mode}, {trusted}): \
                         {tls}; check the URL's host and ssl-ca"
                    ))
                })
            }
            _ => None,
        }
    }
}

/// Why the CA file cannot be used, if it cannot: missing, unreadable, or
/// without a PEM certificate (sqlx would then trust the public roots only,
/// and the handshake would fail with a less helpful error).
fn unusable_ca_file(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Err(e) => Some(format!("{} cannot be read: {e}", path.display())),
        Ok(bytes) if !bytes.windows(CERTIFICATE.len()).any(|w| w == CERTIFICATE) => {
            Some(format!("{} holds no PEM certificate", path.display()))
        }
        Ok(_) => None,
    }
}

const CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Handshake failures that are the configuration's, not the network's: the
/// certificate (unknown issuer, another name, expired), a server that
/// offers nothing in common or rejects us.
fn permanent_handshake_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType
            | rustls::Error::PeerIncompatible(_)
            | rustls::Error::AlertReceived(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Result<TlsSettings, TaskError> {
        TlsSettings::of_url(url, "state store")
    }

    #[test]
    fn a_url_without_ssl_mode_is_preferred_and_one_with_a_ca_must_verify() {
        let plain = settings("mysql://u:p@db.example:3306/edba").unwrap();
        assert_eq!((plain.mode.as_str(), plain.ca_file.as_deref()), ("PREFERRED", None));
        assert_eq!(plain.server, "db.example:3306");

        let verified =
            settings("mysql://db.example/edba?ssl-mode=verify_identity&ssl-ca=/var/task/rds-global-bundle.pem")
                .unwrap();
        assert_eq!(verified.mode, "VERIFY_IDENTITY");
        assert_eq!(verified.ca_file.as_deref(), Some(Path::new("/var/task/rds-global-bundle.pem")));
        assert_eq!(verified.server, "db.example:3306");

        for ignored in ["?ssl-ca=/ca.pem", "?ssl-mode=REQUIRED&ssl-ca=/ca.pem", "?sslmode=PREFERRED&sslca=/ca.pem"] {
            let err = settings(&format!("mysql://u:secret@h/db{ignored}")).unwrap_err();
            assert_eq!(err.name().as_str(), "Edba.InvalidInput", "{ignored}");
            assert!(err.to_string().contains("VERIFY_IDENTITY") && !err.to_string().contains("secret"), "{err}");
        }
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_permanent_and_named_whatever_the_connection_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let dropped = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        for (ca, why) in [(&missing, "cannot be read"), (&empty, "holds no PEM certificate")] {
            let tls = settings(&format!("mysql://h:3306/db?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca.display())).unwrap();
            let err = tls.refusal(&dropped).expect("permanent");
            assert_eq!(err.name().as_str(), "Edba.InvalidInput");
            let message = err.to_string();
            assert!(message.contains(&ca.display().to_string()) && message.contains(why), "{message}");
        }
    }

    #[test]
    fn a_dropped_connection_stays_transient_and_a_refused_certificate_does_not() {
        let tls = settings("mysql://h:3306/db?ssl-mode=VERIFY_CA").unwrap();
        assert!(tls.refusal(&sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into())).is_none());
        assert!(tls.refusal(&sqlx::Error::PoolTimedOut).is_none());

        let unknown_issuer = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown_issuer);
        let err = tls.refusal(&sqlx::Error::Io(io)).expect("permanent");
        assert!(err.to_string().contains("public web roots") && err.to_string().contains("h:3306"), "{err}");

        let no_tls = sqlx::Error::Tls("server does not support TLS".into());
        let err = tls.refusal(&no_tls).expect("permanent");
        assert_eq!(err.name().as_str(), "Edba.InvalidInput");
        assert!(err.to_string().contains("ssl-mode=VERIFY_CA") && err.to_string().contains("never"), "{err}");
    }
}
