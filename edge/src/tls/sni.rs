//! Certificate selection by the client's SNI name (RFC 6066 §3).
//!
//! One edge often answers for several hostnames (a customer's CDN name, the ISP's
//! own name). [`SniResolver`] maps each configured name to its certificate:
//!
//! - exact names, matched case-insensitively (DNS names are, RFC 4343);
//! - wildcards `*.example.net`, matching exactly one more label
//!   (`a.example.net`, not `example.net` nor `a.b.example.net`; RFC 6125 §6.4.3);
//! - everything else — no SNI, an IP address, an unknown name — gets the default
//!   certificate (`[tls] cert, key`), so old clients still connect.
//!
//! Each name is checked against its certificate when loaded (with rustls's own
//! verifier), so a typo fails at start-up instead of as handshake errors in the field.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert, ResolvesServerCertUsingSni};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

use super::TlsError;

/// One `[[tls.sni]]` entry: a certificate and the names it is served for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SniCertificate {
    /// Host names (`edge.example.net`) or wildcards (`*.cdn.example.net`).
    pub names: Vec<String>,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// DER OCSP response stapled to this certificate (RFC 6066 §8), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<PathBuf>,
}

/// Picks a certificate by SNI name; see the module docs.
#[derive(Debug)]
pub struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the part after `*.`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl SniResolver {
    /// A resolver answering every name with `default` until names are added.
    pub fn new(default: CertifiedKey) -> Self {
        Self {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default: Arc::new(default),
        }
    }

    /// Serve `key` for `names`, after checking it is valid for each of them.
    pub fn add(&mut self, names: &[String], key: CertifiedKey) -> Result<(), TlsError> {
        let key = Arc::new(key);
        for name in names {
            let lower = name.to_ascii_lowercase();
            let (map, checked_as, stored_as) = match lower.strip_prefix("*.") {
                // A concrete name under the wildcard exercises the certificate's own
                // wildcard (or exact) entry in the verifier.
                Some(parent) => (&mut self.wildcard, format!("sni-check.{parent}"), parent),
                None => (&mut self.exact, lower.clone(), lower.as_str()),
            };
            let mut check = ResolvesServerCertUsingSni::new();
            check
                .add(&checked_as, (*key).clone())
                .map_err(|e| TlsError::SniName {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
            map.insert(stored_as.to_owned(), key.clone());
        }
        Ok(())
    }

    /// The certificate for exactly `name` (lower case), without wildcard or
    /// default fallback.
    pub fn exact(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.exact.get(name).cloned()
    }

    /// The certificate for `server_name` (as the client sent it, or none).
    pub fn pick(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        let Some(name) = server_name else {
            return self.default.clone();
        };
        let name = name.to_ascii_lowercase();
        if let Some(key) = self.exact.get(&name) {
            return key.clone();
        }
        name.split_once('.')
            .and_then(|(_, parent)| self.wildcard.get(parent))
            .unwrap_or(&self.default)
            .clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.pick(client_hello.server_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    fn key_for(names: &[&str]) -> CertifiedKey {
        let ck = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
        let provider = rustls::crypto::ring::default_provider();
        CertifiedKey::from_der(vec![ck.cert.der().clone()], key, &provider).unwrap()
    }

    fn same(a: &Arc<CertifiedKey>, b: &Arc<CertifiedKey>) -> bool {
        a.cert == b.cert
    }

    #[test]
    fn exact_wildcard_and_default() {
        let default = key_for(&["default.test"]);
        let mut r = SniResolver::new(default.clone());
        let a = key_for(&["a.example.net"]);
        let wild = key_for(&["*.cdn.example.net"]);
        r.add(&["A.Example.NET".into()], a.clone()).unwrap();
        r.add(&["*.cdn.example.net".into()], wild.clone()).unwrap();
        let (a, wild, default) = (Arc::new(a), Arc::new(wild), Arc::new(default));

        assert!(same(&r.pick(Some("a.example.net")), &a));
        assert!(same(&r.pick(Some("a.EXAMPLE.net")), &a));
        assert!(same(&r.pick(Some("x.cdn.example.net")), &wild));
        assert!(same(&r.pick(Some("cdn.example.net")), &default));
        assert!(same(&r.pick(Some("x.y.cdn.example.net")), &default));
        assert!(same(&r.pick(Some("unknown.test")), &default));
        assert!(same(&r.pick(None), &default));
    }

    #[test]
    fn a_name_the_certificate_does_not_cover_is_refused() {
        let mut r = SniResolver::new(key_for(&["default.test"]));
        let err = r
            .add(&["b.example.net".into()], key_for(&["a.example.net"]))
            .unwrap_err();
        assert!(err.to_string().contains("b.example.net"), "{err}");
        let err = r
            .add(&["*.other.net".into()], key_for(&["*.cdn.example.net"]))
            .unwrap_err();
        assert!(err.to_string().contains("*.other.net"), "{err}");
        let err = r
            .add(&["not a name".into()], key_for(&["a.example.net"]))
            .unwrap_err();
        assert!(err.to_string().contains("not a name"), "{err}");
    }
}
