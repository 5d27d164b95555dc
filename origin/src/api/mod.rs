//! The control plane's REST API under `/api/v1/`, answered as the delivery
//! pipeline's local routes ([`edge::pipeline::LocalRoutes`]).
//!
//! - JSON in and out; errors are `{"error": "…"}` with 400 (malformed JSON, bad
//!   field), 401 (missing or wrong admin key), 404 (unknown channel or route), 405
//!   (method), 409 (name or key taken), 413/408 (body too large / too slow), 503
//!   (database).
//! - Reads are public (nothing secret is returned); every write needs
//!   `Authorization: Bearer <key>` with a key from `[api] admin_keys` ([`edge::admin_keys`]).
//! - [`channels`] answers `/api/v1/channels…`, [`tokens`] `/api/v1/tokens…`,
//!   [`webhooks`] `/api/v1/webhooks…` (reads too need the admin key), [`assets`]
//!   `/api/v1/assets…` (VOD; public reads see ready assets only); `/api/v1/uploads…`
//!   (tus) is answered by [`crate::uploads`] ahead of these routes; [`ROUTES`] lists every route and
//!   `openapi.json` documents them (a test keeps the two equal).
//! - Responses are `Cache-Control: no-store`.

// Handlers return `Result<answer, error answer>`: both are the HTTP response, built
// once per request, so the large `Err` is not worth a box.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod channels;
pub mod chat;
pub mod json;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use edge::pipeline::{LocalRoutes, RequestCtx};
use edge::upstream::UpstreamFuture;
use http::{Method, StatusCode};

use crate::catalog::Catalog;
use crate::channels::Channels;
use edge::admin_keys::AdminKeys;
use json::error;

/// Chat tokens one address may get at once, and per second after that.
pub const CHAT_TOKENS_BURST: u32 = 10;
/// See [`CHAT_TOKENS_BURST`].
pub const CHAT_TOKENS_PER_SECOND: f64 = 0.2;

/// Path prefix of the API.
pub const API_PREFIX: &str = "/api/v1/";

/// What the API handlers share.
pub struct ControlApi {
    pub(crate) catalog: Catalog,
    pub(crate) channels: Arc<Channels>,
    pub(crate) admin: AdminKeys,
    pub(crate) signing: Arc<ed25519_dalek::SigningKey>,
    pub(crate) chat: Arc<crate::chat::Chat>,
    /// Chat tokens handed out per client address.
    pub(crate) chat_token_rate: std::sync::Mutex<crate::chat::rate::RateLimiter<std::net::IpAddr>>,
    /// VOD assets (issue 7).
    pub(crate) assets: assets::AssetsState,
    /// `ladder` of channels created without one (`[ladder] live_default`).
    pub(crate) ladder_default: bool,
}

impl ControlApi {
    /// The API over `catalog` and the live `channels`, writable with `admin_keys`;
    /// playback tokens are signed with `signing`.
    pub fn new(
        catalog: Catalog,
        channels: Arc<Channels>,
        admin_keys: &[String],
        signing: Arc<ed25519_dalek::SigningKey>,
        chat: Arc<crate::chat::Chat>,
    ) -> Self {
        Self {
            catalog,
            channels,
            admin: AdminKeys::new(admin_keys),
            signing,
            chat,
            chat_token_rate: std::sync::Mutex::new(crate::chat::rate::RateLimiter::new(
                CHAT_TOKENS_BURST,
                CHAT_TOKENS_PER_SECOND,
            )),
            assets: assets::AssetsState::default(),
            ladder_default: false,
        }
    }

    /// Channels created without a `ladder` field get `on` (`[ladder] live_default`).
    pub fn with_ladder_default(mut self, on: bool) -> Self {
        self.ladder_default = on;
        self
    }

    /// Deleting an asset also deletes `{data_dir}/vod/{id}` (issue 7).
    pub fn with_data_dir(mut self, data_dir: &std::path::Path) -> Self {
        self.assets.data_dir = Some(data_dir.to_owned());
        self
    }
}

/// Every route under [`API_PREFIX`] and the methods it answers. The OpenAPI document
/// (`openapi.json`, served at `/api/v1/openapi.json`) lists exactly these; a test
/// compares the two.
pub const ROUTES: &[(&str, &str)] = &[
    ("/openapi.json", "GET"),
    ("/channels", "GET, POST"),
    ("/channels/{name}", "GET, PATCH, DELETE"),
    ("/channels/{name}/rotate-key", "POST"),
    ("/channels/{name}/kick", "POST"),
    ("/channels/{name}/chat-token", "POST"),
    ("/channels/{name}/chat/messages/{id}", "DELETE"),
    ("/channels/{name}/chat/bans", "POST"),
    ("/tokens", "POST"),
    ("/tokens/public-key", "GET"),
    ("/webhooks", "GET, POST"),
    ("/webhooks/{id}", "DELETE"),
    // VOD (issue 7). The uploads routes are answered by `crate::uploads::UploadRoutes`.
    ("/assets", "GET"),
    ("/assets/{id}", "GET, PATCH, DELETE"),
    ("/assets/{id}/views", "POST"),
    ("/uploads", "POST, OPTIONS"),
    ("/uploads/{id}", "HEAD, PATCH, DELETE, OPTIONS"),
];

/// Routes whose reads need the admin key too.
const PRIVATE_READS: &[&str] = &["/webhooks"];
/// Writes anyone may make (rate-limited per address instead).
const PUBLIC_WRITES: &[&str] = &["/channels/{name}/chat-token", "/assets/{id}/views"];

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The route template a path (after [`API_PREFIX`]) matches, with its `{name}`
/// (and a second parameter, e.g. a message id, after a `/` in the same string).
fn template_of(rest: &str) -> Option<(&'static str, Option<String>)> {
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["channels", name, "chat-token"] => {
            Some(("/channels/{name}/chat-token", Some((*name).to_owned())))
        }
        ["channels", name, "chat", "messages", id] => Some((
            "/channels/{name}/chat/messages/{id}",
            Some(format!("{name}/{id}")),
        )),
        ["channels", name, "chat", "bans"] => {
            Some(("/channels/{name}/chat/bans", Some((*name).to_owned())))
        }
        ["openapi.json"] => Some(("/openapi.json", None)),
        ["channels"] | ["channels", ""] => Some(("/channels", None)),
        ["channels", name] => Some(("/channels/{name}", Some((*name).to_owned()))),
        ["channels", name, "rotate-key"] => {
            Some(("/channels/{name}/rotate-key", Some((*name).to_owned())))
        }
        ["channels", name, "kick"] => Some(("/channels/{name}/kick", Some((*name).to_owned()))),
        ["tokens"] => Some(("/tokens", None)),
        ["tokens", "public-key"] => Some(("/tokens/public-key", None)),
        ["webhooks"] | ["webhooks", ""] => Some(("/webhooks", None)),
        ["webhooks", id] => Some(("/webhooks/{id}", Some((*id).to_owned()))),
        ["assets"] | ["assets", ""] => Some(("/assets", None)),
        ["assets", id] => Some(("/assets/{id}", Some((*id).to_owned()))),
        ["assets", id, "views"] => Some(("/assets/{id}/views", Some((*id).to_owned()))),
        ["uploads"] | ["uploads", ""] => Some(("/uploads", None)),
        ["uploads", id] => Some(("/uploads/{id}", Some((*id).to_owned()))),
        _ => None,
    }
}

fn allowed_methods(template: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|(t, _)| *t == template)
        .map_or("", |(_, m)| *m)
}

/// [`ControlApi`] as local routes.
pub struct ControlRoutes(pub Arc<ControlApi>);

impl LocalRoutes for ControlRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let rest = ctx.path.strip_prefix(API_PREFIX)?;
        let Some((template, name)) = template_of(rest) else {
            return Some(Box::pin(async {
                error(StatusCode::NOT_FOUND, "no such API route")
            }));
        };
        let allow = allowed_methods(template);
        if !allow.split(", ").any(|m| m == ctx.method.as_str()) {
            let answer = method_not_allowed(allow);
            return Some(Box::pin(async move { answer }));
        }
        let needs_admin = (is_write(&ctx.method) && !PUBLIC_WRITES.contains(&template))
            || PRIVATE_READS.contains(&template);
        if needs_admin {
            if let Some(why) = self.0.admin.check(ctx).refusal() {
                let answer = error(StatusCode::UNAUTHORIZED, why);
                return Some(Box::pin(async move { answer }));
            }
        }
        let api = self.0.clone();
        let method = ctx.method.clone();
        let body = ctx.body.clone();
        let peer = ctx.peer;
        let query = ctx.query.clone();
        let admin = self.0.admin.check(ctx) == edge::admin_keys::Authorisation::Admin;
        Some(Box::pin(async move {
            if template == "/openapi.json" {
                let mut r = json::json(StatusCode::OK, &());
                r.body = edge::upstream::UpstreamBody::Full(bytes::Bytes::from_static(
                    OPENAPI_JSON.as_bytes(),
                ));
                return r;
            }
            match template {
                "/tokens" => tokens::mint(&api, body).await,
                "/tokens/public-key" => tokens::public_key(&api),
                "/webhooks" if method == Method::GET => webhooks::list(&api).await,
                "/webhooks" => webhooks::create(&api, body).await,
                "/webhooks/{id}" => webhooks::delete(&api, name.as_deref().unwrap_or("")).await,
                "/assets" => assets::list(&api, query.as_deref(), admin).await,
                "/assets/{id}" => {
                    let id = name.as_deref().unwrap_or("");
                    match method {
                        Method::GET => assets::get(&api, id, admin).await,
                        Method::PATCH => assets::edit(&api, id, body).await,
                        _ => assets::delete(&api, id).await,
                    }
                }
                "/assets/{id}/views" => {
                    assets::count_view(&api, name.as_deref().unwrap_or(""), peer).await
                }
                // Served by `crate::uploads::UploadRoutes`, which comes first.
                "/uploads" | "/uploads/{id}" => error(
                    StatusCode::NOT_FOUND,
                    "uploads are not enabled on this server",
                ),
                "/channels/{name}/chat-token" => {
                    chat::issue_token(&api, name.as_deref().unwrap_or(""), peer, body).await
                }
                "/channels/{name}/chat/messages/{id}" => {
                    let (channel, id) = name
                        .as_deref()
                        .and_then(|n| n.split_once('/'))
                        .unwrap_or(("", ""));
                    chat::delete_message(&api, channel, id)
                }
                "/channels/{name}/chat/bans" => {
                    chat::ban(&api, name.as_deref().unwrap_or(""), body).await
                }
                _ => channels::handle(&api, &method, template, name.as_deref(), body).await,
            }
        }))
    }
}

/// Several [`LocalRoutes`], asked in order (the API, then chat sockets).
pub struct RouteList(pub Vec<Arc<dyn LocalRoutes>>);

impl LocalRoutes for RouteList {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        self.0.iter().find_map(|r| r.route(ctx))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_and_methods_served() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if method != "parameters" {
                    documented.insert((path.clone(), method.to_uppercase()));
                }
            }
        }
        let mut served = BTreeSet::new();
        for (template, methods) in ROUTES {
            for m in methods.split(", ") {
                served.insert(((*template).to_owned(), m.to_owned()));
            }
            let sample = template
                .replace("{name}", "some-channel")
                .replace("{id}", "some-id");
            let (matched, _) = template_of(sample.trim_start_matches('/')).unwrap();
            assert_eq!(matched, *template, "the router matches {sample}");
        }
        assert_eq!(documented, served);
    }

    #[test]
    fn unknown_paths_match_no_route() {
        for p in [
            "",
            "channel",
            "channels/a/b",
            "channels/a/rotate-key/x",
            "tokens/x",
        ] {
            assert!(template_of(p).is_none(), "{p}");
        }
    }
}
