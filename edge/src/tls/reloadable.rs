//! [`ReloadableResolver`]: the one certificate resolver of a node, whose contents
//! can be replaced while it serves.
//!
//! Every TLS configuration of the node (TCP, QUIC, RTMPS) holds the same
//! `Arc<ReloadableResolver>`, and rustls asks it for a certificate once per
//! handshake. Replacing what it holds therefore changes the certificate of every new
//! handshake on every port at once, while established connections keep the keys
//! they negotiated: nothing is dropped.
//!
//! It answers, in this order:
//!
//! 1. a ClientHello offering ALPN `acme-tls/1`: the TLS-ALPN-01 challenge
//!    certificate for its SNI name, or no certificate at all (RFC 8737 §3: this
//!    protocol is only for validation; §4: the name is in SNI);
//! 2. a name with an ACME certificate: that certificate;
//! 3. the files of `[tls]` ([`SniResolver`]: exact, wildcard, default);
//! 4. with no files configured, any ACME certificate (clients without SNI).
//!
//! Each part sits behind its own `RwLock<Arc<…>>`: a reader clones an `Arc` and
//! releases the lock at once, so a reload never waits on handshakes, nor they on it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::SniResolver;

/// ALPN protocol of TLS-ALPN-01 validation (RFC 8737 §6.2).
pub const ALPN_ACME_TLS: &[u8] = b"acme-tls/1";

/// Certificates by lower-case DNS name.
type ByName = HashMap<String, Arc<CertifiedKey>>;

/// See the module docs.
#[derive(Debug, Default)]
pub struct ReloadableResolver {
    files: RwLock<Option<Arc<SniResolver>>>,
    acme: RwLock<Arc<ByName>>,
    challenges: RwLock<Arc<ByName>>,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    // A panic while holding the lock cannot leave a half-written Arc behind.
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

impl ReloadableResolver {
    /// A resolver serving `files` (and no ACME certificates yet).
    pub fn new(files: Option<SniResolver>) -> Self {
        Self {
            files: RwLock::new(files.map(Arc::new)),
            ..Self::default()
        }
    }

    /// Replaces the file certificates (a successful reload).
    pub fn replace_files(&self, files: SniResolver) {
        write(&self.files, Some(Arc::new(files)));
    }

    /// Serves `key` for `name` from now on (an issued or renewed ACME certificate).
    pub fn set_acme(&self, name: &str, key: Arc<CertifiedKey>) {
        let mut map = (*read(&self.acme)).clone();
        map.insert(name.to_ascii_lowercase(), key);
        write(&self.acme, Arc::new(map));
    }

    /// The ACME certificate for `name`, if one was installed.
    pub fn acme(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        read(&self.acme).get(&name.to_ascii_lowercase()).cloned()
    }

    /// Answers TLS-ALPN-01 validation for `name` with `key` until removed.
    pub fn set_challenge(&self, name: &str, key: Arc<CertifiedKey>) {
        let mut map = (*read(&self.challenges)).clone();
        map.insert(name.to_ascii_lowercase(), key);
        write(&self.challenges, Arc::new(map));
    }

    /// Stops answering TLS-ALPN-01 validation for `name`.
    pub fn remove_challenge(&self, name: &str) {
        let mut map = (*read(&self.challenges)).clone();
        map.remove(&name.to_ascii_lowercase());
        write(&self.challenges, Arc::new(map));
    }

    /// The certificate for a handshake with `server_name` offering `alpn`.
    pub fn pick(
        &self,
        server_name: Option<&str>,
        offers_acme_tls: bool,
    ) -> Option<Arc<CertifiedKey>> {
        let name = server_name.map(str::to_ascii_lowercase);
        if offers_acme_tls {
            return read(&self.challenges).get(name.as_deref()?).cloned();
        }
        let acme = read(&self.acme);
        if let Some(key) = name.as_deref().and_then(|n| acme.get(n)) {
            return Some(key.clone());
        }
        match read(&self.files) {
            Some(files) => Some(files.pick(name.as_deref())),
            None => acme.values().next().cloned(),
        }
    }
}

impl ResolvesServerCert for ReloadableResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme_tls = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ALPN_ACME_TLS));
        self.pick(hello.server_name(), acme_tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    fn key_for(name: &str) -> Arc<CertifiedKey> {
        let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
        let provider = rustls::crypto::ring::default_provider();
        Arc::new(CertifiedKey::from_der(vec![ck.cert.der().clone()], key, &provider).unwrap())
    }

    fn is(a: Option<Arc<CertifiedKey>>, b: &Arc<CertifiedKey>) -> bool {
        a.is_some_and(|a| a.cert == b.cert)
    }

    #[test]
    fn answers_in_the_documented_order() {
        let files_default = key_for("default.test");
        let r = ReloadableResolver::new(Some(SniResolver::new((*files_default).clone())));
        assert!(is(r.pick(Some("a.test"), false), &files_default));
        assert!(
            r.pick(Some("a.test"), true).is_none(),
            "no challenge: no certificate"
        );

        let issued = key_for("a.test");
        r.set_acme("A.test", issued.clone());
        assert!(is(r.pick(Some("a.test"), false), &issued));
        assert!(is(r.pick(None, false), &files_default));

        let challenge = key_for("a.test");
        r.set_challenge("a.test", challenge.clone());
        assert!(is(r.pick(Some("a.test"), true), &challenge));
        assert!(r.pick(None, true).is_none());
        r.remove_challenge("a.test");
        assert!(r.pick(Some("a.test"), true).is_none());

        let newer = key_for("default.test");
        r.replace_files(SniResolver::new((*newer).clone()));
        assert!(is(r.pick(Some("other.test"), false), &newer));
    }

    #[test]
    fn without_files_any_acme_certificate_serves_clients_without_sni() {
        let r = ReloadableResolver::new(None);
        assert!(r.pick(None, false).is_none());
        let issued = key_for("a.test");
        r.set_acme("a.test", issued.clone());
        assert!(is(r.pick(None, false), &issued));
    }
}
