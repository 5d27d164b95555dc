//! The control plane's REST API under `/api/v1/`, answered as the delivery
//! pipeline's local routes ([`edge::pipeline::LocalRoutes`]).
//!
//! - JSON in and out; errors are `{"error": "…"}` with 400 (malformed JSON, bad
//!   field), 401 (missing or wrong admin key), 404 (unknown channel or route), 405
//!   (method), 409 (name or key taken), 413/408 (body too large / too slow), 503
//!   (database).
//! - Reads are public (nothing secret is returned); every write needs
//!   `Authorization: Bearer <key>` with a key from `[api] admin_keys` ([`auth`]).
//! - [`channels`] answers `/api/v1/channels…`.
//! - Responses are `Cache-Control: no-store`.

// Handlers return `Result<answer, error answer>`: both are the HTTP response, built
// once per request, so the large `Err` is not worth a box.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod channels;
pub mod json;

use std::sync::Arc;

use edge::pipeline::{LocalRoutes, RequestCtx};
use edge::upstream::UpstreamFuture;
use http::{Method, StatusCode};

use crate::catalog::Catalog;
use crate::channels::Channels;
use auth::AdminKeys;
use json::error;

/// Path prefix of the API.
pub const API_PREFIX: &str = "/api/v1/";

/// What the API handlers share.
pub struct ControlApi {
    pub(crate) catalog: Catalog,
    pub(crate) channels: Arc<Channels>,
    pub(crate) admin: AdminKeys,
}

impl ControlApi {
    /// The API over `catalog` and the live `channels`, writable with `admin_keys`.
    pub fn new(catalog: Catalog, channels: Arc<Channels>, admin_keys: &[String]) -> Self {
        Self {
            catalog,
            channels,
            admin: AdminKeys::new(admin_keys),
        }
    }
}

/// [`ControlApi`] as local routes.
pub struct ControlRoutes(pub Arc<ControlApi>);

impl LocalRoutes for ControlRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let rest = ctx.path.strip_prefix(API_PREFIX)?;
        let segments: Vec<String> = rest.split('/').map(str::to_owned).collect();
        let api = self.0.clone();
        let method = ctx.method.clone();
        let authorised = api.admin.check(ctx);
        let body = ctx.body.clone();
        Some(Box::pin(async move {
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            match segments.first() {
                Some(&"channels") => {
                    channels::route(&api, &method, &segments[1..], authorised, body).await
                }
                _ => error(StatusCode::NOT_FOUND, "no such API route"),
            }
        }))
    }
}

/// 405 with the allowed methods.
pub(crate) fn method_not_allowed(allow: &'static str) -> edge::upstream::UpstreamResponse {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
    r.headers
        .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
    r
}

/// Whether `method` changes state (needs the admin key).
pub(crate) fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
