//! `[tls]`: the certificate keys shared by `ferrocast-edge` and `ferrocast-origin`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SniCertificate;

/// `[tls]`. TLS is on when `cert` and `key` are both set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// More certificates, chosen by the client's SNI name; `cert`/`key` stay the
    /// default for other names and clients without SNI.
    pub sni: Vec<SniCertificate>,
}

impl TlsSection {
    /// Whether a certificate is configured.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }

    /// Rejects combinations that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.cert.is_some() != self.key.is_some() {
            return Err("[tls] needs both cert and key".into());
        }
        if !self.sni.is_empty() && self.cert.is_none() {
            return Err("[[tls.sni]] certificates need the default [tls] cert and key too".into());
        }
        if self.sni.iter().any(|s| s.names.is_empty()) {
            return Err("[[tls.sni]] entries need at least one name".into());
        }
        Ok(())
    }
}
