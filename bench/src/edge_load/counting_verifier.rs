//! A server certificate verifier that counts the certificates it verified, so a
//! run can tell full TLS 1.3 handshakes from resumed ones over QUIC too, where
//! quinn does not expose rustls' `HandshakeKind`.
//!
//! A full handshake carries the server's Certificate and CertificateVerify
//! (RFC 8446 §4.4.2); a PSK (resumed) handshake carries neither (§2.2), so the
//! client verifies no certificate. Resumed handshakes over a phase are therefore
//! the connections made minus the certificates verified. Every decision is the
//! wrapped webpki verifier's: this only counts.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

/// Wraps webpki's verifier and counts successful certificate verifications.
#[derive(Debug)]
pub struct CountingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verified: AtomicU64,
}

impl CountingVerifier {
    /// Counts for `inner`, starting at zero.
    pub fn new(inner: Arc<WebPkiServerVerifier>) -> Self {
        CountingVerifier {
            inner,
            verified: AtomicU64::new(0),
        }
    }

    /// Certificates verified so far (one per full handshake).
    pub fn verified(&self) -> u64 {
        self.verified.load(Relaxed)
    }
}

impl ServerCertVerifier for CountingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        self.verified.fetch_add(1, Relaxed);
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
