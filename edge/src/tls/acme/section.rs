//! `[tls.acme]`: the names to obtain certificates for, and from where.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Default `[tls.acme] directory`: Let's Encrypt's production directory.
pub const DEFAULT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Default `[tls.acme] challenge`.
pub const DEFAULT_CHALLENGE: &str = TLS_ALPN_01;
/// `challenge = "tls-alpn-01"` (RFC 8737): answered on the TLS port (443 for a CA).
pub const TLS_ALPN_01: &str = "tls-alpn-01";
/// `challenge = "http-01"` (RFC 8555 §8.3): answered on the plain `[http] listen`
/// port (80 for a CA).
pub const HTTP_01: &str = "http-01";
/// Default `[tls.acme] renew_before_days`.
pub const DEFAULT_RENEW_BEFORE_DAYS: f64 = 30.0;
/// Default `[tls.acme] check_interval_s`: how often expiry is looked at.
pub const DEFAULT_CHECK_INTERVAL_S: u64 = 3600;
/// Default `[tls.acme] dir` of `ferrocast-edge`, which has no data dir. The origin
/// uses `[storage] data_dir`/acme.
pub const DEFAULT_EDGE_DIR: &str = "/var/lib/ferrocast-edge/acme";

/// `[tls.acme]`; ACME is on when `names` is not empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcmeSection {
    /// DNS names to obtain one certificate for (all names in one order).
    pub names: Vec<String>,
    /// The ACME server's directory URL (RFC 8555 §7.1.1).
    pub directory: String,
    /// Contact e-mail for the account (`mailto:` is added); empty: none.
    pub email: String,
    /// `"tls-alpn-01"` or `"http-01"`.
    pub challenge: String,
    /// Renew when the certificate expires within this many days.
    pub renew_before_days: f64,
    /// Seconds between expiry checks (failed orders retry sooner, with backoff).
    pub check_interval_s: u64,
    /// Where the account key and certificates are stored (keys mode 0600). Unset:
    /// the origin's `[storage] data_dir`/acme, the edge's `DEFAULT_EDGE_DIR`.
    pub dir: Option<PathBuf>,
    /// With `challenge = "http-01"`: a plain-text listener (port 80 for a public
    /// CA) that answers only the challenges. Unset: only a plain-text `[http]
    /// listen` answers them.
    pub http01_listen: Option<std::net::SocketAddr>,
    /// PEM root certificate trusted for the ACME server's own HTTPS (a test CA such
    /// as Pebble's); unset: the public web roots.
    pub ca_root: Option<PathBuf>,
}

impl Default for AcmeSection {
    fn default() -> Self {
        Self {
            names: Vec::new(),
            directory: DEFAULT_DIRECTORY.into(),
            email: String::new(),
            challenge: DEFAULT_CHALLENGE.into(),
            renew_before_days: DEFAULT_RENEW_BEFORE_DAYS,
            check_interval_s: DEFAULT_CHECK_INTERVAL_S,
            dir: None,
            http01_listen: None,
            ca_root: None,
        }
    }
}

impl AcmeSection {
    /// Whether certificates are to be obtained.
    pub fn enabled(&self) -> bool {
        !self.names.is_empty()
    }

    /// Whether TLS-ALPN-01 answers challenges (the TCP listener then also offers
    /// ALPN `acme-tls/1`).
    pub fn uses_tls_alpn(&self) -> bool {
        self.enabled() && self.challenge == TLS_ALPN_01
    }

    /// Whether HTTP-01 answers challenges (a local route on the HTTP listener).
    pub fn uses_http01(&self) -> bool {
        self.enabled() && self.challenge == HTTP_01
    }

    /// Rejects values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if self.challenge != TLS_ALPN_01 && self.challenge != HTTP_01 {
            return Err(format!(
                "[tls.acme] challenge must be \"{TLS_ALPN_01}\" or \"{HTTP_01}\", not {:?}",
                self.challenge
            ));
        }
        if let Some(bad) = self.names.iter().find(|n| {
            n.starts_with("*.") || rustls::pki_types::DnsName::try_from(n.as_str()).is_err()
        }) {
            return Err(format!(
                "[tls.acme] names: {bad:?} is not a DNS name (wildcards need DNS-01, which is not supported)"
            ));
        }
        if self.renew_before_days.is_nan() || self.renew_before_days <= 0.0 {
            return Err("[tls.acme] renew_before_days must be positive".into());
        }
        if self.check_interval_s == 0 {
            return Err("[tls.acme] check_interval_s must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_key() {
        let ok = AcmeSection {
            names: vec!["a.example.net".into()],
            ..AcmeSection::default()
        };
        assert!(ok.validate().is_ok());
        assert!(ok.uses_tls_alpn() && !ok.uses_http01());
        let bad = AcmeSection {
            challenge: "dns-01".into(),
            ..ok.clone()
        };
        assert!(bad.validate().unwrap_err().contains("challenge"));
        let bad = AcmeSection {
            names: vec!["*.example.net".into()],
            ..ok.clone()
        };
        assert!(bad.validate().unwrap_err().contains("names"));
        assert!(AcmeSection::default().validate().is_ok(), "off is valid");
    }
}
