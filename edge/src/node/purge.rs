//! The purge API: `POST /api/v1/purge?path=/live/c/video0/seg7.m4s` removes one
//! object (its cache key: path, plus the LL-HLS directives for playlists), and
//! `POST /api/v1/purge?prefix=/live/c/` every object under a prefix (a whole
//! channel), from memory and disk. Authenticated with `Authorization: Bearer
//! {key}` (RFC 6750 §2.1) against `[api] admin_keys`; answers JSON
//! `{"purged": N}`. With no admin keys configured the route answers 404 as if it
//! did not exist.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};

use super::cache_key::cache_key;
use super::caching_upstream::CachingUpstream;
use crate::admin_keys::{AdminKeys, Authorisation};
use crate::pipeline::{LocalRoutes, RequestCtx};
use crate::upstream::{ObjectKind, UpstreamBody, UpstreamFuture, UpstreamResponse};

/// The purge route.
pub const PURGE_PATH: &str = "/api/v1/purge";

/// Shortest prefix a purge may name (`/live/` alone is allowed; `/` is not).
pub const MIN_PREFIX_LEN: usize = 2;

/// Answers [`PURGE_PATH`].
pub struct PurgeRoutes {
    cache: Arc<CachingUpstream>,
    admin: AdminKeys,
}

impl PurgeRoutes {
    /// Purges from `cache` for holders of one of `admin_keys`.
    pub fn new(cache: Arc<CachingUpstream>, admin_keys: Vec<String>) -> Self {
        Self {
            cache,
            admin: AdminKeys::new(&admin_keys),
        }
    }

    fn purge(&self, ctx: &RequestCtx) -> UpstreamResponse {
        if ctx.method != Method::POST {
            let mut r = UpstreamResponse::error(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
            r.headers
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
            return r;
        }
        if self.admin.check(ctx) != Authorisation::Admin {
            return UpstreamResponse::error(StatusCode::UNAUTHORIZED, "admin key required\n");
        }
        let query = ctx.query.as_deref().unwrap_or("");
        let param = |name: &str| {
            query.split('&').find_map(|pair| {
                let (n, v) = pair.split_once('=')?;
                (n == name).then(|| percent_decode(v))
            })
        };
        let purged = match (param("path"), param("prefix")) {
            (Some(Some(path)), None) if path.starts_with('/') => {
                let (path, query) = match path.split_once('?') {
                    Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                    None => (path, None),
                };
                self.cache.purge(&cache_key(&path, query.as_deref()))
            }
            (None, Some(Some(prefix)))
                if prefix.starts_with('/') && prefix.len() >= MIN_PREFIX_LEN =>
            {
                self.cache.purge_prefix(&prefix)
            }
            _ => {
                return UpstreamResponse::error(
                    StatusCode::BAD_REQUEST,
                    "give exactly one of ?path=/… or ?prefix=/…\n",
                )
            }
        };
        tracing::info!(purged, "purge: {query}");
        UpstreamResponse {
            status: StatusCode::OK,
            kind: ObjectKind::Other,
            content_type: "application/json",
            cache_control: "no-store".into(),
            headers: http::HeaderMap::new(),
            body: UpstreamBody::Full(Bytes::from(format!("{{\"purged\":{purged}}}\n"))),
        }
    }
}

impl LocalRoutes for PurgeRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        if ctx.path != PURGE_PATH || self.admin.is_empty() {
            return None;
        }
        let response = self.purge(ctx);
        Some(Box::pin(async move { response }))
    }
}

/// `%XX` decoding of a query value (RFC 3986 §2.1); `None` for a bad escape or
/// non-UTF-8 result.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_values() {
        assert_eq!(percent_decode("/live/a%2Fb").as_deref(), Some("/live/a/b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
