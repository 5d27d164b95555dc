//! `[tls]`: the certificate keys shared by `ferrocast-edge` and `ferrocast-origin`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::acme::AcmeSection;
use super::SniCertificate;

/// Default `[tls] reload_check_s`: how often the certificate, key and staple files are
/// checked for changes.
pub const DEFAULT_RELOAD_CHECK_S: u64 = 5;
/// Default `[tls] session_cache_size`: TLS 1.2 session IDs (and TLS 1.3 stateful
/// sessions when tickets are off) remembered per process.
pub const DEFAULT_SESSION_CACHE_SIZE: usize = 4096;
/// Default `[tls] tickets`: stateless session tickets (RFC 5077, RFC 8446 §4.6.1).
pub const DEFAULT_TICKETS: bool = true;

/// `[tls]`. TLS is on when `cert` and `key` are both set, or `[tls.acme] names`
/// is not empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// DER OCSP response stapled to `cert` (RFC 6066 §8); reloaded like the cert.
    pub ocsp: Option<PathBuf>,
    /// Seconds between checks of the certificate, key and staple files; a changed
    /// size or modification time reloads them all. 0: only SIGHUP reloads.
    pub reload_check_s: u64,
    /// Stateless session tickets, with a key rotated every 6 hours.
    pub tickets: bool,
    /// Server-side session cache entries (TLS 1.2 session IDs); 0 disables it.
    pub session_cache_size: usize,
    /// More certificates, chosen by the client's SNI name; `cert`/`key` stay the
    /// default for other names and clients without SNI.
    pub sni: Vec<SniCertificate>,
    /// `[tls.acme]`: certificates obtained and renewed through ACME (RFC 8555).
    pub acme: AcmeSection,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            cert: None,
            key: None,
            ocsp: None,
            reload_check_s: DEFAULT_RELOAD_CHECK_S,
            tickets: DEFAULT_TICKETS,
            session_cache_size: DEFAULT_SESSION_CACHE_SIZE,
            sni: Vec::new(),
            acme: AcmeSection::default(),
        }
    }
}

impl TlsSection {
    /// Whether a certificate is configured (files, or ACME names).
    pub fn enabled(&self) -> bool {
        (self.cert.is_some() && self.key.is_some()) || self.acme.enabled()
    }

    /// Whether certificate files (`cert`, `key`) are configured.
    pub fn enabled_files(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }

    /// Rejects combinations that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.cert.is_some() != self.key.is_some() {
            return Err("[tls] needs both cert and key".into());
        }
        if self.ocsp.is_some() && self.cert.is_none() {
            return Err("[tls] ocsp needs cert and key".into());
        }
        if !self.sni.is_empty() && self.cert.is_none() {
            return Err("[[tls.sni]] certificates need the default [tls] cert and key too".into());
        }
        if self.sni.iter().any(|s| s.names.is_empty()) {
            return Err("[[tls.sni]] entries need at least one name".into());
        }
        self.acme.validate()
    }
}
