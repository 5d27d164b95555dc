//! [`Certificates`]: one node's certificates, and the rustls configurations every
//! TLS listener of the node is built from.
//!
//! The TCP listener (ALPN `h2`, `http/1.1`), the HTTP/3 listener (ALPN `h3`, TLS 1.3
//! only, RFC 9001 §4.2) and RTMPS (no ALPN) share one certificate resolver, so
//! whatever certificate the node holds is served on every port.

use std::sync::Arc;

use rustls::server::ResolvesServerCert;
use rustls::ServerConfig;

use super::{SniResolver, TlsError, TlsSection, ALPN_PROTOCOLS};

/// ALPN identifier of HTTP/3 (RFC 9114 §3.1).
pub const ALPN_H3: &[u8] = b"h3";

/// A node's certificates; see the module docs.
pub struct Certificates {
    resolver: Arc<dyn ResolvesServerCert>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates").finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads `[tls]`; `None` when no certificate is configured.
    pub fn load(section: &TlsSection) -> Result<Option<Arc<Self>>, TlsError> {
        let (Some(cert), Some(key)) = (&section.cert, &section.key) else {
            return Ok(None);
        };
        let provider = rustls::crypto::ring::default_provider();
        let (certs, key_der) = super::load_pem(cert, key)?;
        let default = rustls::sign::CertifiedKey::from_der(certs, key_der, &provider)?;
        let mut resolver = SniResolver::new(default);
        for entry in &section.sni {
            let (certs, key_der) = super::load_pem(&entry.cert, &entry.key)?;
            resolver.add(
                &entry.names,
                rustls::sign::CertifiedKey::from_der(certs, key_der, &provider)?,
            )?;
        }
        Ok(Some(Arc::new(Self {
            resolver: Arc::new(resolver),
        })))
    }

    /// Certificates answered by `resolver` (tests, generated certificates).
    pub fn from_resolver(resolver: Arc<dyn ResolvesServerCert>) -> Arc<Self> {
        Arc::new(Self { resolver })
    }

    fn builder(&self, tls13_only: bool) -> Result<ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider);
        let builder = if tls13_only {
            builder.with_protocol_versions(&[&rustls::version::TLS13])?
        } else {
            builder.with_safe_default_protocol_versions()?
        };
        Ok(builder
            .with_no_client_auth()
            .with_cert_resolver(self.resolver.clone()))
    }

    /// HTTPS over TCP: TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`.
    pub fn tcp_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = self.builder(false)?;
        config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// HTTP/3 over QUIC: TLS 1.3 only, ALPN `h3`. With `early_data`, 0-RTT is
    /// offered (RFC 9001 §4.6.1: quinn needs `max_early_data_size` = u32::MAX).
    pub fn quic_config(&self, early_data: bool) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = self.builder(true)?;
        config.alpn_protocols = vec![ALPN_H3.to_vec()];
        config.max_early_data_size = if early_data { u32::MAX } else { 0 };
        Ok(Arc::new(config))
    }

    /// RTMPS: TLS 1.2 and 1.3, no ALPN (RTMP clients send none).
    pub fn rtmps_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        Ok(Arc::new(self.builder(false)?))
    }
}
