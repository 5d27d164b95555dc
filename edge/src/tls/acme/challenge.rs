//! Answering ACME challenges: TLS-ALPN-01 certificates (RFC 8737) and HTTP-01
//! tokens (RFC 8555 §8.3).
//!
//! - TLS-ALPN-01: the CA connects to the name's TLS port (443), offers ALPN
//!   `acme-tls/1` and SNI = the name, and expects a self-signed certificate for that
//!   name carrying the critical `acmeIdentifier` extension whose value is the SHA-256
//!   of the key authorization (RFC 8737 §3). [`tls_alpn_certificate`] makes it; the
//!   node's [`ReloadableResolver`](crate::tls::ReloadableResolver) serves it only to
//!   ClientHellos offering `acme-tls/1`.
//! - HTTP-01: the CA fetches `http://{name}/.well-known/acme-challenge/{token}` on
//!   port 80 and expects the key authorization as the body. [`Http01Tokens`] is a
//!   pipeline local route on the plain-text listener.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::{Method, StatusCode};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use crate::pipeline::{LocalRoutes, RequestCtx};
use crate::upstream::{ObjectKind, UpstreamBody, UpstreamFuture, UpstreamResponse};

/// Path prefix of HTTP-01 (RFC 8555 §8.3).
pub const HTTP01_PREFIX: &str = "/.well-known/acme-challenge/";

/// The TLS-ALPN-01 certificate for `name` and the SHA-256 `digest` of the key
/// authorization (RFC 8737 §3).
pub fn tls_alpn_certificate(name: &str, digest: &[u8]) -> Result<CertifiedKey, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])?;
    // id-pe-acmeIdentifier, critical, OCTET STRING of the digest.
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not `CertifiedKey::from_der`: its consistency check parses the certificate
    // with webpki, which rejects the (deliberately) critical acmeIdentifier.
    let signer = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| rcgen::Error::PemError(e.to_string()))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signer))
}

/// Pending HTTP-01 tokens and their key authorizations; answers them as a local
/// route. Paths under [`HTTP01_PREFIX`] with an unknown token get 404, never the
/// upstream.
#[derive(Debug, Default)]
pub struct Http01Tokens {
    tokens: RwLock<HashMap<String, String>>,
}

impl Http01Tokens {
    /// Answers `token` with `key_authorization` until removed.
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Stops answering `token`.
    pub fn remove(&self, token: &str) {
        self.tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    /// The answer to `method path`: `None` outside [`HTTP01_PREFIX`], else the
    /// status and body (the key authorization, or a short error text).
    pub fn lookup(&self, method: &Method, path: &str) -> Option<(StatusCode, Bytes)> {
        let token = path.strip_prefix(HTTP01_PREFIX)?;
        if method != Method::GET && method != Method::HEAD {
            return Some((
                StatusCode::METHOD_NOT_ALLOWED,
                Bytes::from_static(b"GET only\n"),
            ));
        }
        let found = self
            .tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned();
        Some(match found {
            Some(key_authorization) => (StatusCode::OK, Bytes::from(key_authorization)),
            None => (
                StatusCode::NOT_FOUND,
                Bytes::from_static(b"no such challenge\n"),
            ),
        })
    }

    fn answer(&self, ctx: &RequestCtx) -> Option<UpstreamResponse> {
        let (status, body) = self.lookup(&ctx.method, &ctx.path)?;
        Some(UpstreamResponse {
            status,
            kind: ObjectKind::Other,
            // RFC 8555 §8.3: the body is the key authorization.
            content_type: "application/octet-stream",
            cache_control: "no-store".into(),
            headers: http::HeaderMap::new(),
            body: UpstreamBody::Full(body),
        })
    }
}

impl LocalRoutes for Http01Tokens {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let response = self.answer(ctx)?;
        Some(Box::pin(async move { response }))
    }
}

/// Several [`LocalRoutes`], asked in order.
pub struct RouteChain(pub Vec<Arc<dyn LocalRoutes>>);

impl LocalRoutes for RouteChain {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        self.0.iter().find_map(|r| r.route(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http01_answers_only_known_tokens_under_its_prefix() {
        let tokens = Http01Tokens::default();
        tokens.insert("tok", "tok.thumb");
        let get = |path: &str| tokens.lookup(&Method::GET, path);
        assert_eq!(
            get("/.well-known/acme-challenge/tok"),
            Some((StatusCode::OK, Bytes::from_static(b"tok.thumb")))
        );
        assert_eq!(
            get("/.well-known/acme-challenge/other").unwrap().0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(get("/live/a/master.m3u8"), None);
        assert_eq!(
            tokens
                .lookup(&Method::POST, "/.well-known/acme-challenge/tok")
                .unwrap()
                .0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        tokens.remove("tok");
        assert_eq!(
            get("/.well-known/acme-challenge/tok").unwrap().0,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_challenge_certificate_carries_the_critical_acme_identifier() {
        let digest = [7u8; 32];
        let key = tls_alpn_certificate("a.example.net", &digest).unwrap();
        let der = key.cert[0].as_ref();
        // id-pe-acmeIdentifier 1.3.6.1.5.5.7.1.31, critical TRUE, OCTET STRING
        // wrapping OCTET STRING(32) of the digest (RFC 8737 §3).
        let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        let mut expected = oid.to_vec();
        expected.extend([0x01, 0x01, 0xff, 0x04, 0x22, 0x04, 0x20]);
        expected.extend(digest);
        assert!(der.windows(expected.len()).any(|w| w == expected));
    }
}
