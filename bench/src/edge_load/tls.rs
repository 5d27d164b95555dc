//! The client side of TLS 1.3 for `https://` runs: one rustls [`ClientConfig`]
//! per run, shared by every connection, so session tickets one connection
//! receives are used by the next (RFC 8446 §2.2) unless resumption is off.
//!
//! The config trusts only the certificates of the `--ca` file (a CA, or a
//! self-signed server certificate that is not itself a CA), uses the *ring*
//! provider, and speaks TLS 1.3 only: the benchmark compares the same protocol
//! over TCP and QUIC (RFC 9001 requires 1.3), and the nginx baseline is set to 1.3.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::{ClientConfig, RootCertStore};

use super::cli::{HttpVersion, TlsArgs};
use super::counting_verifier::CountingVerifier;

/// Session tickets kept for resumption: one per connection of a large run.
const SESSION_CACHE: usize = 4096;

/// The ALPN protocol ids offered for `version` (RFC 7301; h3 is RFC 9114 §3.1).
pub fn alpn(version: HttpVersion) -> Vec<Vec<u8>> {
    match version {
        HttpVersion::H1 => vec![b"http/1.1".to_vec()],
        HttpVersion::H2 => vec![b"h2".to_vec()],
        HttpVersion::H3 => vec![b"h3".to_vec()],
    }
}

/// Reads every certificate of the PEM file at `path` into a root store.
pub fn roots(path: &Path) -> Result<RootCertStore> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut store = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut BufReader::new(file)) {
        let cert = cert.with_context(|| format!("reading {}", path.display()))?;
        store
            .add(cert)
            .with_context(|| format!("a certificate of {} is not usable", path.display()))?;
    }
    if store.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(store)
}

/// A run's TLS client: the configuration and its verifier, which counts full
/// handshakes.
#[derive(Debug, Clone)]
pub struct TlsClient {
    /// The configuration every connection uses.
    pub config: Arc<ClientConfig>,
    /// Its certificate verifier.
    pub verifier: Arc<CountingVerifier>,
}

/// The TLS 1.3 client configuration for `version` described by `tls`.
pub fn client_config(tls: &TlsArgs, version: HttpVersion) -> Result<TlsClient> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots(&tls.ca)?), provider.clone())
            .build()
            .context("the certificate verifier")?;
    let verifier = Arc::new(CountingVerifier::new(webpki));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 with the ring provider")?
        .dangerous() // only to count: every decision is webpki's
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = alpn(version);
    config.resumption = if tls.resumption {
        Resumption::in_memory_sessions(SESSION_CACHE)
    } else {
        Resumption::disabled()
    };
    Ok(TlsClient {
        config: Arc::new(config),
        verifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("edge-load-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let args = TlsArgs {
            ca: empty,
            server_name: "localhost".into(),
            resumption: true,
        };
        let err = client_config(&args, HttpVersion::H1).unwrap_err();
        assert!(format!("{err:#}").contains("no PEM certificate"), "{err:#}");
        assert!(roots(&dir.join("missing.pem")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn alpn_ids() {
        assert_eq!(alpn(HttpVersion::H2), [b"h2".to_vec()]);
        assert_eq!(alpn(HttpVersion::H3), [b"h3".to_vec()]);
    }
}
