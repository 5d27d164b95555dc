//! Admin bearer keys (`[api] admin_keys`, on the edge's purge API and the origin's
//! control plane): `Authorization: Bearer <key>` (RFC 6750 §2.1), compared in
//! constant time against every configured key.

use crate::pipeline::RequestCtx;

/// The configured admin keys.
#[derive(Debug, Clone)]
pub struct AdminKeys(Vec<String>);

/// The outcome of checking a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorisation {
    /// A configured key was presented.
    Admin,
    /// No `Authorization: Bearer` header.
    Missing,
    /// A bearer token that is not a configured key.
    Wrong,
    /// No admin keys are configured: writes are impossible.
    NoKeysConfigured,
}

impl AdminKeys {
    /// Keys from the config (empty strings are ignored).
    pub fn new(keys: &[String]) -> Self {
        Self(keys.iter().filter(|k| !k.is_empty()).cloned().collect())
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What the request's credentials amount to.
    pub fn check(&self, ctx: &RequestCtx) -> Authorisation {
        if self.0.is_empty() {
            return Authorisation::NoKeysConfigured;
        }
        let Some(given) = ctx
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Authorisation::Missing;
        };
        let matched = self.0.iter().fold(false, |ok, key| {
            ok | constant_time_eq(key.as_bytes(), given.trim().as_bytes())
        });
        if matched {
            Authorisation::Admin
        } else {
            Authorisation::Wrong
        }
    }
}

impl Authorisation {
    /// Why a write is refused, or `None` when it may go ahead.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Authorisation::Admin => None,
            Authorisation::Missing => Some("admin key required: Authorization: Bearer <key>"),
            Authorisation::Wrong => Some("admin key not accepted"),
            Authorisation::NoKeysConfigured => {
                Some("no [api] admin_keys are configured, so the API is read-only")
            }
        }
    }
}

/// Equality whose time does not depend on where `a` and `b` differ (only on
/// their lengths): for comparing secrets.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_bytes_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
