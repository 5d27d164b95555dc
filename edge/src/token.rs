//! Playback tokens: Ed25519-signed, compact, carried in the path (`/t/{token}/…`).
//!
//! ARCHITECTURE.md: a token carries a path prefix, an expiry and optionally a client
//! address; the control plane signs, origins and edges verify with the public key
//! only, and the token is stripped before the cache key, so one cached object serves
//! every viewer.
//!
//! Wire form: `base64url(payload) "." base64url(signature)`, no padding (RFC 4648
//! §5). The payload is
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version, [`TOKEN_VERSION`] |
//! | 8 | expiry, Unix seconds, big-endian |
//! | 1 | client address: 0 none, 4 IPv4, 6 IPv6 |
//! | 0/4/16 | the address |
//! | rest | the path prefix, UTF-8, starting with `/` |
//!
//! The signature is Ed25519 (RFC 8032 §5.1) over [`SIGNING_CONTEXT`] followed by the
//! payload, so a signature made for anything else never verifies as a token.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The payload version this module reads and writes.
pub const TOKEN_VERSION: u8 = 1;
/// Domain separation prefix of every signed payload.
pub const SIGNING_CONTEXT: &[u8] = b"ferrocast-playback-token-v1\0";
/// Longest token accepted in a path (base64 of a payload with a long prefix).
pub const MAX_TOKEN_BYTES: usize = 1024;

/// Why a token was refused (the 403's text; the token itself is never logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The path needs a token and has none.
    #[error("a playback token is required")]
    Missing,
    /// Not `payload.signature` in base64url, too long, or a truncated payload.
    #[error("malformed playback token")]
    Malformed,
    /// A payload version this edge does not know.
    #[error("unsupported playback token version {0}")]
    Version(u8),
    /// The signature does not verify with the configured public key.
    #[error("playback token signature is invalid")]
    BadSignature,
    /// The expiry has passed.
    #[error("playback token expired")]
    Expired,
    /// The requested path is outside the token's prefix.
    #[error("playback token does not cover this path")]
    WrongPrefix,
    /// The token is bound to another client address.
    #[error("playback token is bound to another client address")]
    WrongClient,
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// Paths starting with this are covered.
    pub prefix: String,
    /// Unix seconds after which the token is refused.
    pub expires_at_s: u64,
    /// When set, only this client address may use the token.
    pub client: Option<IpAddr>,
}

impl TokenClaims {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(30 + self.prefix.len());
        out.push(TOKEN_VERSION);
        out.extend_from_slice(&self.expires_at_s.to_be_bytes());
        match self.client {
            None => out.push(0),
            Some(IpAddr::V4(a)) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            Some(IpAddr::V6(a)) => {
                out.push(6);
                out.extend_from_slice(&a.octets());
            }
        }
        out.extend_from_slice(self.prefix.as_bytes());
        out
    }

    fn decode(payload: &[u8]) -> Result<Self, TokenError> {
        let (&version, rest) = payload.split_first().ok_or(TokenError::Malformed)?;
        if version != TOKEN_VERSION {
            return Err(TokenError::Version(version));
        }
        let (expiry, rest) = rest.split_at_checked(8).ok_or(TokenError::Malformed)?;
        let expires_at_s = u64::from_be_bytes(expiry.try_into().expect("8 bytes"));
        let (&family, rest) = rest.split_first().ok_or(TokenError::Malformed)?;
        let (client, rest) = match family {
            0 => (None, rest),
            4 => {
                let (a, r) = rest.split_at_checked(4).ok_or(TokenError::Malformed)?;
                let a: [u8; 4] = a.try_into().expect("4 bytes");
                (Some(IpAddr::from(a)), r)
            }
            6 => {
                let (a, r) = rest.split_at_checked(16).ok_or(TokenError::Malformed)?;
                let a: [u8; 16] = a.try_into().expect("16 bytes");
                (Some(IpAddr::from(a)), r)
            }
            _ => return Err(TokenError::Malformed),
        };
        let prefix = std::str::from_utf8(rest).map_err(|_| TokenError::Malformed)?;
        if !prefix.starts_with('/') {
            return Err(TokenError::Malformed);
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            expires_at_s,
            client,
        })
    }
}

/// Signs tokens (the control plane's side; tests use it too).
pub fn sign(key: &SigningKey, claims: &TokenClaims) -> String {
    let payload = claims.encode();
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(&payload);
    let signature = key.sign(&message);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// Signatures remembered as valid (a player sends the same token with every
/// request; an Ed25519 verification costs several times a cached playlist hit).
pub const VERIFIED_CACHE_ENTRIES: usize = 100_000;

/// Verifies tokens with the control plane's public key.
///
/// A token whose signature verified is remembered with its claims (about
/// [`VERIFIED_CACHE_ENTRIES`]; see [`crate::verified_tokens`]); later requests
/// with it only re-check expiry, prefix and client address. Failed tokens are not
/// remembered.
#[derive(Clone)]
pub struct TokenVerifier {
    key: VerifyingKey,
    prefixes: Vec<String>,
    verified: std::sync::Arc<crate::verified_tokens::VerifiedTokens>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("prefixes", &self.prefixes)
            .field("verified", &self.verified.len())
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier for `public_key` (32 bytes, base64url or standard base64) that
    /// requires a token on paths starting with one of `prefixes`.
    pub fn new(public_key: &str, prefixes: Vec<String>) -> Result<Self, String> {
        let raw = URL_SAFE_NO_PAD
            .decode(public_key.trim().trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(public_key.trim()))
            .map_err(|_| "[auth] public_key is not base64".to_string())?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| "[auth] public_key must be 32 bytes (Ed25519)".to_string())?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "[auth] public_key is not an Ed25519 point".to_string())?;
        Ok(Self {
            key,
            prefixes,
            verified: std::sync::Arc::new(crate::verified_tokens::VerifiedTokens::new(
                VERIFIED_CACHE_ENTRIES,
            )),
        })
    }

    /// Whether `path` needs a token.
    pub fn required(&self, path: &str) -> bool {
        self.prefixes.iter().any(|p| path.starts_with(p.as_str()))
    }

    /// Checks `token` for a request of `path` from `client` at `now_s`.
    pub fn verify(
        &self,
        token: &str,
        path: &str,
        client: Option<IpAddr>,
        now_s: u64,
    ) -> Result<TokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signature(token)?;
                self.verified.insert(token, claims.clone());
                claims
            }
        };
        check_claims(&claims, path, client, now_s)?;
        Ok(claims)
    }

    /// [`TokenVerifier::verify`] without returning the claims: the per-request path,
    /// which for a remembered token copies nothing.
    pub fn check(
        &self,
        token: &str,
        path: &str,
        client: Option<IpAddr>,
        now_s: u64,
    ) -> Result<(), TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        if let Some(result) = self
            .verified
            .with(token, |claims| check_claims(claims, path, client, now_s))
        {
            return result;
        }
        self.verify(token, path, client, now_s).map(|_| ())
    }

    /// Decodes `token` and checks its signature (RFC 8032 §5.1.7).
    fn verify_signature(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?
            .try_into()
            .map_err(|_| TokenError::Malformed)?;
        let mut message = SIGNING_CONTEXT.to_vec();
        message.extend_from_slice(&payload);
        self.key
            .verify(&message, &Signature::from_bytes(&signature))
            .map_err(|_| TokenError::BadSignature)?;
        TokenClaims::decode(&payload)
    }
}

/// Expiry, prefix and client address of verified claims, for a request of `path`.
fn check_claims(
    claims: &TokenClaims,
    path: &str,
    client: Option<IpAddr>,
    now_s: u64,
) -> Result<(), TokenError> {
    if now_s >= claims.expires_at_s {
        return Err(TokenError::Expired);
    }
    if !path.starts_with(&claims.prefix) {
        return Err(TokenError::WrongPrefix);
    }
    if let Some(bound) = claims.client {
        if client != Some(bound) {
            return Err(TokenError::WrongClient);
        }
    }
    Ok(())
}

/// Splits `/t/{token}/rest` into (`token`, `/rest`).
pub fn split_token_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/t/")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn verifier() -> TokenVerifier {
        let public = URL_SAFE_NO_PAD.encode(key().verifying_key().to_bytes());
        TokenVerifier::new(&public, vec!["/live/".into()]).unwrap()
    }

    fn claims(prefix: &str, expires_at_s: u64, client: Option<IpAddr>) -> TokenClaims {
        TokenClaims {
            prefix: prefix.into(),
            expires_at_s,
            client,
        }
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_expiry_prefix_and_client() {
        let v = verifier();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let t = sign(&key(), &claims("/live/ch/", 1_000, Some(client)));
        assert!(v.verify(&t, "/live/ch/a.m4s", Some(client), 10).is_ok());
        assert_eq!(
            v.verified.get(&t).map(|c| c.expires_at_s),
            Some(1_000),
            "remembered"
        );
        assert_eq!(
            v.verify(&t, "/live/ch/a.m4s", Some(client), 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            v.verify(&t, "/live/other/a.m4s", Some(client), 10),
            Err(TokenError::WrongPrefix)
        );
        assert_eq!(
            v.verify(&t, "/live/ch/a.m4s", None, 10),
            Err(TokenError::WrongClient)
        );
        // A different string (one signature character changed) is verified afresh.
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(v
            .verify(&forged, "/live/ch/a.m4s", Some(client), 10)
            .is_err());
    }

    #[test]
    fn a_signed_token_verifies_for_its_prefix_until_it_expires() {
        let t = sign(&key(), &claims("/live/ch/", 1_000, None));
        let v = verifier();
        let got = v.verify(&t, "/live/ch/video0/seg1.m4s", None, 999).unwrap();
        assert_eq!(got.prefix, "/live/ch/");
        assert_eq!(
            v.verify(&t, "/live/ch/x", None, 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            v.verify(&t, "/live/other/x", None, 1),
            Err(TokenError::WrongPrefix)
        );
    }

    #[test]
    fn client_binding_and_tampering_are_caught() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let t = sign(&key(), &claims("/live/", 10, Some(ip)));
        let v = verifier();
        assert!(v.verify(&t, "/live/a", Some(ip), 1).is_ok());
        let other = "10.1.2.4".parse().ok();
        assert_eq!(
            v.verify(&t, "/live/a", other, 1),
            Err(TokenError::WrongClient)
        );
        // Re-sign the same claims with another key: signature fails.
        let forged = sign(
            &SigningKey::from_bytes(&[8u8; 32]),
            &claims("/live/", 10, None),
        );
        assert_eq!(
            v.verify(&forged, "/live/a", None, 1),
            Err(TokenError::BadSignature)
        );
        // Swap in a payload with a wider prefix under the old signature.
        let (_, sig) = t.split_once('.').unwrap();
        let wider = URL_SAFE_NO_PAD.encode(claims("/", 10, None).encode());
        let tampered = format!("{wider}.{sig}");
        assert_eq!(
            v.verify(&tampered, "/live/a", None, 1),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "abc", "a.b", &"x".repeat(2000)] {
            assert_eq!(
                v.verify(junk, "/live/a", None, 1),
                Err(TokenError::Malformed)
            );
        }
    }

    #[test]
    fn payload_round_trips_and_paths_split() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let c = claims("/vod/a/", u64::MAX, Some(v6));
        assert_eq!(TokenClaims::decode(&c.encode()).unwrap(), c);
        assert_eq!(
            split_token_path("/t/abc.def/live/ch/master.m3u8"),
            Some(("abc.def", "/live/ch/master.m3u8"))
        );
        assert_eq!(split_token_path("/live/ch/master.m3u8"), None);
        assert_eq!(split_token_path("/t/abc"), None);
        assert!(verifier().required("/live/x"));
        assert!(!verifier().required("/healthz"));
    }
}
