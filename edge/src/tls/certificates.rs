//! [`Certificates`]: one node's certificates, and the rustls configurations every
//! TLS listener of the node is built from.
//!
//! The TCP listener (ALPN `h2`, `http/1.1`), the HTTP/3 listener (ALPN `h3`, TLS 1.3
//! only, RFC 9001 §4.2) and RTMPS (no ALPN) share one certificate resolver
//! ([`ReloadableResolver`]) and one session ticketer and cache ([`Resumption`]), so
//! whatever certificate the node holds — after a reload or an ACME renewal too — is
//! served on every port, and a session resumes on any of them.
//!
//! [`Certificates::start`] runs the background work: the reload task (SIGHUP, file
//! changes) and, with `[tls.acme]`, the ACME manager.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::ResolvesServerCert;
use rustls::ServerConfig;
use tokio::sync::watch;

use super::acme::{AcmeManager, AcmeStore, Http01Tokens};
use super::reload::Reloader;
use super::resumption::Resumption;
use super::{ReloadableResolver, TlsError, TlsMetrics, TlsSection, ALPN_ACME_TLS, ALPN_PROTOCOLS};
use crate::pipeline::LocalRoutes;

/// ALPN identifier of HTTP/3 (RFC 9114 §3.1).
pub const ALPN_H3: &[u8] = b"h3";

/// A node's certificates; see the module docs.
pub struct Certificates {
    resolver: Arc<dyn ResolvesServerCert>,
    reloadable: Option<Arc<ReloadableResolver>>,
    section: TlsSection,
    resumption: Resumption,
    http01: Arc<Http01Tokens>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates").finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads `[tls]`; `None` when neither a certificate nor ACME is configured.
    pub fn load(section: &TlsSection) -> Result<Option<Arc<Self>>, TlsError> {
        if !section.enabled() {
            return Ok(None);
        }
        let reloadable = Arc::new(ReloadableResolver::new(super::files::load_resolver(
            section,
        )?));
        Ok(Some(Arc::new(Self {
            resolver: reloadable.clone(),
            reloadable: Some(reloadable),
            section: section.clone(),
            resumption: Resumption::new(section)?,
            http01: Arc::default(),
        })))
    }

    /// Certificates answered by `resolver` (tests, generated certificates); they
    /// never reload.
    pub fn from_resolver(resolver: Arc<dyn ResolvesServerCert>) -> Arc<Self> {
        let section = TlsSection::default();
        Arc::new(Self {
            resolver,
            reloadable: None,
            resumption: Resumption::new(&section).expect("the ring ticketer starts"),
            section,
            http01: Arc::default(),
        })
    }

    /// The shared resolver, when built from `[tls]`.
    pub fn resolver(&self) -> Option<&Arc<ReloadableResolver>> {
        self.reloadable.as_ref()
    }

    /// The HTTP-01 challenge route, when `[tls.acme] challenge = "http-01"`: add it
    /// to the plain-text listener's pipeline.
    pub fn acme_http01_routes(&self) -> Option<Arc<dyn LocalRoutes>> {
        self.section
            .acme
            .uses_http01()
            .then(|| self.http01.clone() as Arc<dyn LocalRoutes>)
    }

    /// Starts the reload task and, with `[tls.acme]`, the ACME manager (state in
    /// `[tls.acme] dir`, else `default_acme_dir`), registering the metrics into
    /// `registry`. The task ends when `stop` turns true.
    pub fn start(
        &self,
        default_acme_dir: &Path,
        stop: watch::Receiver<bool>,
        registry: &prometheus::Registry,
    ) -> Result<tokio::task::JoinHandle<()>, TlsError> {
        let metrics = TlsMetrics::register(registry)?;
        let Some(resolver) = self.reloadable.clone() else {
            return Ok(tokio::spawn(async {}));
        };
        let reload = self
            .section
            .enabled_files()
            .then(|| Reloader::new(self.section.clone(), resolver.clone(), metrics.clone()));
        let acme = if self.section.acme.enabled() {
            let dir: PathBuf = self
                .section
                .acme
                .dir
                .clone()
                .unwrap_or_else(|| default_acme_dir.to_owned());
            let store = AcmeStore::open(&dir).map_err(|source| TlsError::Read {
                path: dir.clone(),
                source,
            })?;
            let manager = AcmeManager::new(
                self.section.acme.clone(),
                store,
                resolver,
                self.http01.clone(),
                metrics,
            );
            // Serve a stored certificate before the listeners' first handshake.
            let expiry = manager.load_stored();
            Some((manager, expiry))
        } else {
            None
        };
        let http01 = match (
            self.section.acme.http01_listen,
            self.section.acme.uses_http01(),
        ) {
            (Some(addr), true) => {
                let listener = std::net::TcpListener::bind(addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .and_then(tokio::net::TcpListener::from_std)
                    .map_err(|source| TlsError::Listen { addr, source })?;
                Some(listener)
            }
            _ => None,
        };
        let tokens = self.http01.clone();
        Ok(tokio::spawn(async move {
            let http01 = async {
                if let Some(listener) = http01 {
                    super::acme::http01_listener::serve(listener, tokens, stop.clone()).await;
                }
            };
            let reload = async {
                if let Some(r) = reload {
                    r.run(stop.clone()).await;
                }
            };
            let acme = async {
                if let Some((m, expiry)) = acme {
                    m.run(expiry, stop.clone()).await;
                }
            };
            tokio::join!(reload, acme, http01);
        }))
    }

    fn builder(&self, tls13_only: bool) -> Result<ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider);
        let builder = if tls13_only {
            builder.with_protocol_versions(&[&rustls::version::TLS13])?
        } else {
            builder.with_safe_default_protocol_versions()?
        };
        let mut config = builder
            .with_no_client_auth()
            .with_cert_resolver(self.resolver.clone());
        self.resumption.apply(&mut config);
        Ok(config)
    }

    /// HTTPS over TCP: TLS 1.2 and 1.3, ALPN `h2` then `http/1.1` (and
    /// `acme-tls/1` when TLS-ALPN-01 answers ACME challenges, RFC 8737 §3).
    pub fn tcp_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = self.builder(false)?;
        config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
        if self.section.acme.uses_tls_alpn() {
            config.alpn_protocols.push(ALPN_ACME_TLS.to_vec());
        }
        Ok(Arc::new(config))
    }

    /// HTTP/3 over QUIC: TLS 1.3 only, ALPN `h3`. With `early_data`, 0-RTT is
    /// offered (RFC 9001 §4.6.1: quinn needs `max_early_data_size` = u32::MAX).
    pub fn quic_config(&self, early_data: bool) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = self.builder(true)?;
        config.alpn_protocols = vec![ALPN_H3.to_vec()];
        if early_data {
            config.max_early_data_size = u32::MAX;
            // rustls accepts 0-RTT only with stateful, single-use tickets from the
            // session cache (a stateless ticket could be replayed at will): with
            // early data, QUIC clients resume from the shared cache instead.
            config.ticketer = Arc::new(super::resumption::NoTickets);
        }
        Ok(Arc::new(config))
    }

    /// RTMPS: TLS 1.2 and 1.3, no ALPN (RTMP clients send none).
    pub fn rtmps_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        Ok(Arc::new(self.builder(false)?))
    }
}
