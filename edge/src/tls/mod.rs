//! TLS configuration for the HTTPS listener: certificate chains and keys from PEM.
//!
//! The config advertises ALPN `h2` then `http/1.1` (RFC 7301; RFC 9113 §3.2 for the
//! `h2` identifier), so browsers negotiate HTTP/2 and older clients HTTP/1.1 on the same
//! port. The `ring` crypto provider is named explicitly rather than installed process
//! wide, so nothing depends on which crate installs a default first. TLS 1.2 and 1.3
//! (rustls's safe defaults).
//!
//! One certificate ([`server_config`]) or several chosen by the client's SNI name
//! ([`server_config_with_sni`], [`sni`]).
//!
//! [`Certificates`] is what the binaries use: built from `[tls]` ([`TlsSection`]),
//! it gives the TCP, QUIC and RTMPS configurations one resolver.
//!
//! | module | concept |
//! |---|---|
//! | [`section`] | the `[tls]` keys and their defaults |
//! | [`sni`] | choosing a certificate by SNI name |
//! | [`files`] | reading the PEM/OCSP files, noticing that they changed |
//! | [`reloadable`] | the one resolver every configuration shares, swapped atomically |
//! | [`reload`] | the SIGHUP / file-change task |
//! | [`resumption`] | session tickets and the session cache, one per process |
//! | [`acme`] | certificates obtained and renewed through ACME (RFC 8555) |
//! | [`metrics`] | reload and ACME metrics |
//!
//! Loading reads files synchronously: call it at start-up, not on a request path.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

pub mod acme;
pub mod certificates;
pub mod files;
pub mod metrics;
pub mod reload;
pub mod reloadable;
pub mod resumption;
pub mod section;
pub mod sni;

pub use certificates::{Certificates, ALPN_H3};
pub use metrics::TlsMetrics;
pub use reloadable::{ReloadableResolver, ALPN_ACME_TLS};
pub use section::TlsSection;
pub use sni::{SniCertificate, SniResolver};

/// ALPN protocol identifiers offered, most preferred first.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be opened or read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("no certificate found in {0}")]
    NoCertificates(PathBuf),
    /// The key file holds no PKCS#8, PKCS#1 or SEC1 private key.
    #[error("no private key found in {0}")]
    NoPrivateKey(PathBuf),
    /// A name listed for an SNI certificate is not a DNS name, or the certificate is
    /// not valid for it.
    #[error("[tls] sni name {name:?}: {reason}")]
    SniName {
        /// The configured name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate/key pair (mismatch, unsupported algorithm…).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// An OCSP staple file is empty.
    #[error("OCSP staple {0} is empty")]
    EmptyStaple(PathBuf),
    /// A reload found no `[tls] cert`/`key` to read.
    #[error("[tls] has no cert and key to reload")]
    NothingToReload,
    /// `[tls.acme] http01_listen` could not be bound.
    #[error("cannot listen on [tls.acme] http01_listen = {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS metrics could not be registered.
    #[error("registering TLS metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Load `cert` (PEM chain, leaf first) and `key` (PEM private key) into a server
/// config with ALPN `h2`, `http/1.1`.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let (certs, key_der) = load_pem(cert, key)?;
    server_config_from_der(certs, key_der)
}

/// A server config that picks the certificate by SNI among `sni`, and uses `default`
/// (`cert`, `key`) for clients that send no name or an unknown one.
pub fn server_config_with_sni(
    default: (&Path, &Path),
    sni: &[SniCertificate],
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = |cert: &Path, key: &Path| -> Result<CertifiedKey, TlsError> {
        let (certs, key_der) = load_pem(cert, key)?;
        Ok(CertifiedKey::from_der(certs, key_der, &provider)?)
    };
    let mut resolver = SniResolver::new(certified(default.0, default.1)?);
    for entry in sni {
        resolver.add(&entry.names, certified(&entry.cert, &entry.key)?)?;
    }
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Reads a PEM certificate chain and private key.
pub(crate) fn load_pem(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Read { path, source }
    };
    let mut reader = BufReader::new(File::open(cert).map_err(read_err(cert))?);
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err(cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates(cert.to_owned()));
    }
    let mut reader = BufReader::new(File::open(key).map_err(read_err(key))?);
    let key_der = rustls_pemfile::private_key(&mut reader)
        .map_err(read_err(key))?
        .ok_or_else(|| TlsError::NoPrivateKey(key.to_owned()))?;
    Ok((certs, key_der))
}

/// A server config from a DER certificate chain and key already in memory (tests,
/// certificates generated at start-up).
pub fn server_config_from_der(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn loads_a_self_signed_pair() {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = write(dir.path(), "cert.pem", &ck.cert.pem());
        let key = write(dir.path(), "key.pem", &ck.key_pair.serialize_pem());
        let config = server_config(&cert, &key).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn names_each_failure() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "empty.pem", "");
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            server_config(&missing, &empty),
            Err(TlsError::Read { .. })
        ));
        assert!(matches!(
            server_config(&empty, &empty),
            Err(TlsError::NoCertificates(_))
        ));
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = write(dir.path(), "cert.pem", &ck.cert.pem());
        assert!(matches!(
            server_config(&cert, &empty),
            Err(TlsError::NoPrivateKey(_))
        ));
        let other = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        let wrong_key = write(dir.path(), "wrong.pem", &other.key_pair.serialize_pem());
        // rustls checks that the key matches the leaf certificate.
        assert!(matches!(
            server_config(&cert, &wrong_key),
            Err(TlsError::Rustls(_))
        ));
    }
}
