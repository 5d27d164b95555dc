//! tus 1.0 resumable uploads of VOD sources under `/api/v1/uploads` (issue 7).
//!
//! | request | answers |
//! |---|---|
//! | `OPTIONS /uploads[/{id}]` | 204: `Tus-Version`, `Tus-Extension`, `Tus-Max-Size`, CORS preflight fields |
//! | `POST /uploads` (`Upload-Length`, `Upload-Metadata`) | 201 + `Location`, `Upload-Expires` ("Creation") |
//! | `HEAD /uploads/{id}` | 200 + `Upload-Offset`, `Upload-Length` (core "HEAD") |
//! | `PATCH /uploads/{id}` (`Upload-Offset`, `application/offset+octet-stream`) | 204 + new `Upload-Offset` (core "PATCH") |
//! | `DELETE /uploads/{id}` | 204 ("Termination") |
//!
//! - Every answer carries `Tus-Resumable: 1.0.0`; a request without that version gets
//!   412 (except OPTIONS). Everything but OPTIONS needs the admin key
//!   (`Authorization: Bearer`, [`edge::admin_keys`]), like the API's other writes.
//! - Errors: 400 (bad fields), 401, 404 (unknown or expired upload), 409 (offset is
//!   not the upload's), 413 (`Upload-Length` over `[uploads] max_bytes`, or a PATCH
//!   past the declared length), 415 (content type), 423 (another request holds the
//!   upload; clients retry), 507 (disk full: the offset stays at what is durable), 503
//!   (catalog).
//! - PATCH bodies are streamed to `{data_dir}/uploads/{id}.part` frame by frame
//!   ([`edge::pipeline::RequestBody::take_stream`]) through `tokio::fs` (the blocking
//!   pool), never held whole in memory; see [`store`] for what the offset means.
//!   When the client goes away mid-body, what arrived is kept (core "PATCH": the
//!   server SHOULD store as much as possible), so the client resumes from there.
//! - Complete: the file is renamed to `{data_dir}/vod/{asset}/source`, the asset is
//!   created (status `uploaded`), a transcode job is queued, and the job runner is
//!   woken through the [`tokio::sync::Notify`] given to [`Uploads::new`]. The answer
//!   carries `Ferrocast-Asset: {id}`. Unfinished uploads never become assets.
//! - Expiration: each write moves `Upload-Expires` to now + `[uploads] expire_s`;
//!   [`sweeper`] deletes expired uploads.
//! - CORS: `Access-Control-Expose-Headers` lists the tus fields ([`tus::EXPOSE_HEADERS`]).

// Handlers return `Result<_, answer>`: the answer is the HTTP response, built once.
#![allow(clippy::result_large_err)]

pub mod handlers;
pub mod metrics;
pub mod store;
pub mod sweeper;
pub mod tus;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edge::admin_keys::AdminKeys;
use edge::pipeline::{LocalRoutes, RequestCtx};
use edge::upstream::{ObjectKind, UpstreamBody, UpstreamFuture, UpstreamResponse};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use tokio::sync::Notify;

use crate::catalog::Catalog;
use crate::config::UploadsConfig;
use metrics::UploadMetrics;
use store::UploadStore;

/// Path of the creation endpoint.
pub const UPLOADS_PATH: &str = "/api/v1/uploads";
/// Response field naming the asset a completed upload became.
pub const ASSET_HEADER: &str = "ferrocast-asset";

/// The upload endpoint's state.
pub struct Uploads {
    store: UploadStore,
    catalog: Catalog,
    admin: AdminKeys,
    max_bytes: u64,
    expire: Duration,
    jobs: Arc<Notify>,
    metrics: UploadMetrics,
}

impl Uploads {
    /// Uploads into `{data_dir}/uploads` (created), completed into
    /// `{data_dir}/vod/{asset}/source`; `jobs` is notified once per queued job.
    pub fn new(
        config: &UploadsConfig,
        data_dir: &Path,
        catalog: Catalog,
        admin_keys: &[String],
        jobs: Arc<Notify>,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            store: UploadStore::new(data_dir)?,
            catalog,
            admin: AdminKeys::new(admin_keys),
            max_bytes: config.max_bytes,
            expire: Duration::from_secs(config.expire_s),
            jobs,
            metrics: UploadMetrics::register(registry)?,
        }))
    }

    /// The partial files' directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }
}

/// [`Uploads`] as local routes (put them before the API's routes).
pub struct UploadRoutes(pub Arc<Uploads>);

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `/uploads`.
    Collection,
    /// `/uploads/{id}`.
    Upload(String),
}

fn target_of(path: &str) -> Option<Target> {
    let rest = path.strip_prefix(UPLOADS_PATH)?;
    match rest {
        "" | "/" => Some(Target::Collection),
        _ => {
            let id = rest.strip_prefix('/')?;
            (!id.is_empty() && !id.contains('/')).then(|| Target::Upload(id.to_owned()))
        }
    }
}

/// The method a request means: `X-HTTP-Method-Override` on a POST (tus core,
/// "X-HTTP-Method-Override", for environments without PATCH or DELETE).
fn effective_method(ctx: &RequestCtx) -> Method {
    if ctx.method == Method::POST {
        if let Some(m) = ctx
            .headers
            .get("x-http-method-override")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Method::from_bytes(v.trim().as_bytes()).ok())
        {
            return m;
        }
    }
    ctx.method.clone()
}

impl LocalRoutes for UploadRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let target = target_of(&ctx.path)?;
        let method = effective_method(ctx);
        let uploads = self.0.clone();
        if method == Method::OPTIONS {
            let answer = uploads.discovery();
            return Some(Box::pin(async move { answer }));
        }
        let early = |answer: UpstreamResponse| -> Option<UpstreamFuture> {
            Some(Box::pin(async move { answer }))
        };
        if let Err(e) = tus::check_version(header(ctx, "tus-resumable")) {
            let mut r = answer(StatusCode::PRECONDITION_FAILED, &e.to_string());
            r.headers
                .insert("tus-version", HeaderValue::from_static(tus::TUS_VERSION));
            return early(r);
        }
        if let Some(why) = uploads.admin.check(ctx).refusal() {
            return early(answer(StatusCode::UNAUTHORIZED, why));
        }
        let headers = ctx.headers.clone();
        match (target, method) {
            (Target::Collection, Method::POST) => {
                Some(Box::pin(async move { uploads.create(&headers).await }))
            }
            (Target::Upload(id), m) if !store::is_upload_id(&id) && m != Method::POST => {
                early(answer(StatusCode::NOT_FOUND, "no such upload"))
            }
            (Target::Upload(id), Method::HEAD) => {
                Some(Box::pin(async move { uploads.head(&id).await }))
            }
            (Target::Upload(id), Method::PATCH) => {
                let body = ctx.body.clone();
                Some(Box::pin(
                    async move { uploads.patch(&id, &headers, body).await },
                ))
            }
            (Target::Upload(id), Method::DELETE) => {
                Some(Box::pin(async move { uploads.delete(&id).await }))
            }
            (Target::Collection, _) => early(not_allowed("POST, OPTIONS")),
            (Target::Upload(_), _) => early(not_allowed("HEAD, PATCH, DELETE, OPTIONS")),
        }
    }
}

/// A request field as text.
fn header<'a>(ctx: &'a RequestCtx, name: &str) -> Option<&'a str> {
    ctx.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A tus answer: `Tus-Resumable`, the exposed fields, `no-store`, and `message`
/// (plain text) as the body.
fn answer(status: StatusCode, message: &str) -> UpstreamResponse {
    let mut headers = HeaderMap::new();
    headers.insert("tus-resumable", HeaderValue::from_static(tus::TUS_VERSION));
    headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(tus::EXPOSE_HEADERS),
    );
    let body = if message.is_empty() || status == StatusCode::NO_CONTENT {
        Bytes::new()
    } else {
        Bytes::from(format!("{message}\n"))
    };
    UpstreamResponse {
        status,
        kind: ObjectKind::Other,
        content_type: "text/plain; charset=utf-8",
        cache_control: "no-store".into(),
        headers,
        body: UpstreamBody::Full(body),
    }
}

/// Adds `name: value` to an answer.
fn with(mut r: UpstreamResponse, name: &'static str, value: &str) -> UpstreamResponse {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers.insert(HeaderName::from_static(name), v);
    }
    r
}

fn not_allowed(allow: &'static str) -> UpstreamResponse {
    let mut r = answer(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
    r.headers
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    r
}

impl Uploads {
    /// OPTIONS: the server's capabilities (core "OPTIONS") and a CORS preflight
    /// answer, without authentication (preflights carry no credentials).
    fn discovery(&self) -> UpstreamResponse {
        let mut r = answer(StatusCode::NO_CONTENT, "");
        r = with(r, "tus-version", tus::TUS_VERSION);
        r = with(r, "tus-extension", tus::TUS_EXTENSIONS);
        r = with(r, "tus-max-size", &self.max_bytes.to_string());
        r = with(r, "access-control-allow-methods", tus::ALLOW_METHODS);
        r = with(r, "access-control-allow-headers", tus::ALLOW_HEADERS);
        r = with(r, "access-control-max-age", "86400");
        with(r, "allow", tus::ALLOW_METHODS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_the_collection_or_one_upload() {
        assert_eq!(target_of("/api/v1/uploads"), Some(Target::Collection));
        assert_eq!(target_of("/api/v1/uploads/"), Some(Target::Collection));
        assert_eq!(
            target_of("/api/v1/uploads/abc"),
            Some(Target::Upload("abc".into()))
        );
        assert_eq!(target_of("/api/v1/uploads/a/b"), None);
        assert_eq!(target_of("/api/v1/uploadsx"), None);
        assert_eq!(target_of("/api/v1/channels"), None);
    }
}
