//! The delivery pipeline: one request in, one response out, in named phases.
//!
//! The pipeline works on `http::Request<()>` → `http::Response<ResponseBody>` and
//! knows nothing about connections, so HTTP/1.1, HTTP/2 ([`crate::server`]) and later
//! HTTP/3 (quinn + h3) all call [`Pipeline::handle`]. Request bodies are never read:
//! delivery is GET/HEAD/OPTIONS only.
//!
//! Phases, in order (after pingora's `ProxyHttp`):
//!
//! 1. [`request_filter`]: method check, path normalisation, CORS
//!    preflight. A rejected request ends here with a plain-text, `no-store` error.
//! 2. built-in routes ([`builtin`]): `/healthz`, `/readyz`, `/time`, `/metrics`.
//! 3. `upstream_request`: turn the request into an [`UpstreamRequest`], verifying and
//!    stripping a `/t/{token}` playback token ([`crate::token`]; 403 on failure). An
//!    edge node's upstream then computes the cache key and looks up its tiers.
//! 4. fetch: [`Upstream::fetch`] (may wait: LL-HLS blocking reload).
//! 5. [`response_filter`]: Cache-Control passthrough, strong ETag and
//!    `If-None-Match`, single byte ranges, HEAD, `Content-Length`, CORS.
//! 6. [`logging`]: one `tracing` debug line, metrics, in-flight tracking.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use edge::upstream::*;
//!
//! struct Store;
//! impl Upstream for Store {
//!     fn fetch(&self, _: UpstreamRequest) -> UpstreamFuture {
//!         Box::pin(async { UpstreamResponse::error(http::StatusCode::NOT_FOUND, "not found") })
//!     }
//! }
//!
//! let registry = prometheus::Registry::new();
//! let ready = Arc::new(AtomicBool::new(false));
//! let flag = ready.clone();
//! let pipeline = edge::pipeline::Pipeline::new(Arc::new(Store), &registry)
//!     .expect("metrics registered once")
//!     .with_readiness(move || flag.load(Ordering::Relaxed));
//! ready.store(true, Ordering::Relaxed); // once the live store is up
//! ```

pub mod builtin;
pub mod logging;
pub mod range;
pub mod request_body;
pub mod request_filter;
pub mod response_filter;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, Method, Request, Response, Version};
use prometheus::Registry;

use crate::body::ResponseBody;
use crate::metrics::{HttpMetrics, MetricsError};
use crate::upstream::{ObjectKind, Upstream, UpstreamRequest};

pub use request_body::{BodyReadError, RequestBody, StreamedBody};
pub use request_filter::RequestError;

/// Decides what `/readyz` answers: `true` → 200, `false` → 503.
pub type Readiness = Arc<dyn Fn() -> bool + Send + Sync>;

/// Routes a node answers itself before phase 1, with any method: the edge's purge
/// API, the origin's control plane, and WHIP/WHEP later. A route sees the raw
/// request head and may take the body ([`RequestCtx::body`], bounded reads); its
/// answer goes through `response_filter` without validators.
pub trait LocalRoutes: Send + Sync + 'static {
    /// The answer for this request, or `None` when it is not a local route.
    fn route(&self, ctx: &RequestCtx) -> Option<crate::upstream::UpstreamFuture>;
}

/// The client's address, put into the request's extensions by the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Everything the phases know about one request.
///
/// Built once from the request head; phases read it, and an edge node will add its
/// cache key and `CachePhase` here.
#[derive(Debug)]
pub struct RequestCtx {
    /// The request method (GET, HEAD or OPTIONS once `request_filter` passed).
    pub method: Method,
    /// The normalised path (see [`request_filter::normalise_path`]); before
    /// normalisation, the raw path.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// The authority addressed: the URI's (HTTP/2 `:authority`), else `Host`
    /// (RFC 9110 §7.2).
    pub authority: Option<String>,
    /// The request header fields.
    pub headers: HeaderMap,
    /// The HTTP version the client spoke.
    pub version: Version,
    /// The client's address, when the transport provided one.
    pub peer: Option<SocketAddr>,
    /// When the pipeline received the request.
    pub started: Instant,
    /// What the response turned out to be (for logs and metrics).
    pub kind: ObjectKind,
    /// The request body, when the transport passed one ([`RequestBody`] in the
    /// request's extensions). Only local routes read it.
    pub body: Option<RequestBody>,
    /// The HTTP/1.1 upgrade of this request, for a local route that answers 101
    /// (WebSocket). See [`RequestCtx::take_upgrade`].
    upgrade: std::sync::Mutex<Option<hyper::upgrade::OnUpgrade>>,
}

impl RequestCtx {
    fn new(req: Request<()>) -> Self {
        let (parts, ()) = req.into_parts();
        Self {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            authority: parts
                .uri
                .authority()
                .map(|a| a.as_str().to_owned())
                .or_else(|| {
                    parts
                        .headers
                        .get(http::header::HOST)?
                        .to_str()
                        .ok()
                        .map(str::to_owned)
                }),
            peer: parts.extensions.get::<PeerAddr>().map(|p| p.0),
            body: parts.extensions.get::<RequestBody>().cloned(),
            upgrade: std::sync::Mutex::new(
                parts.extensions.get::<hyper::upgrade::OnUpgrade>().cloned(),
            ),
            headers: parts.headers,
            version: parts.version,
            started: Instant::now(),
            kind: ObjectKind::Other,
        }
    }

    /// The connection upgrade, once: resolves to the raw I/O after the route's 101
    /// response has been written (RFC 9110 §7.8). `None` for HTTP/2 and for requests
    /// without `Upgrade`.
    pub fn take_upgrade(&self) -> Option<hyper::upgrade::OnUpgrade> {
        self.upgrade
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Whether the response must carry no content (RFC 9110 §9.3.2).
    pub fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// The request pipeline shared by origin and edge. Cheap to share behind an `Arc`.
pub struct Pipeline {
    upstream: Arc<dyn Upstream>,
    metrics: HttpMetrics,
    readiness: Readiness,
    routes: Option<Arc<dyn LocalRoutes>>,
    before_metrics: Option<Arc<dyn Fn() + Send + Sync>>,
    tokens: Option<crate::token::TokenVerifier>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline over `upstream` whose metrics are registered into `registry`;
    /// `/metrics` renders all of `registry`. Readiness defaults to "always ready".
    ///
    /// Fails only if the delivery metrics are already registered in `registry`.
    pub fn new(upstream: Arc<dyn Upstream>, registry: &Registry) -> Result<Self, MetricsError> {
        Ok(Self {
            upstream,
            metrics: HttpMetrics::register(registry)?,
            readiness: Arc::new(|| true),
            routes: None,
            before_metrics: None,
            tokens: None,
        })
    }

    /// Verify playback tokens (`/t/{token}/…`) and require one on the verifier's
    /// prefixes. Without a verifier a `/t/{token}` prefix is stripped unchecked.
    pub fn with_token_verifier(mut self, verifier: crate::token::TokenVerifier) -> Self {
        self.tokens = Some(verifier);
        self
    }

    /// Answer [`LocalRoutes`] before the method check and the upstream.
    pub fn with_local_routes(mut self, routes: Arc<dyn LocalRoutes>) -> Self {
        self.routes = Some(routes);
        self
    }

    /// Run `refresh` before `/metrics` renders (gauges sampled on scrape).
    pub fn with_metrics_refresh(mut self, refresh: impl Fn() + Send + Sync + 'static) -> Self {
        self.before_metrics = Some(Arc::new(refresh));
        self
    }

    /// Make `/readyz` answer 200 only while `ready()` returns true (503 otherwise).
    pub fn with_readiness(mut self, ready: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.readiness = Arc::new(ready);
        self
    }

    /// The delivery metrics.
    pub fn metrics(&self) -> &HttpMetrics {
        &self.metrics
    }

    /// Answer one request. Never fails: every problem becomes an HTTP error response.
    ///
    /// The transport may put a [`PeerAddr`] into the request's extensions.
    pub async fn handle(&self, req: Request<()>) -> Response<ResponseBody> {
        let in_flight = self.metrics.in_flight_guard();
        let mut ctx = RequestCtx::new(req);
        let response = self.run_phases(&mut ctx).await;
        self.logging(&ctx, in_flight, response)
    }

    async fn run_phases(&self, ctx: &mut RequestCtx) -> Response<ResponseBody> {
        if let Some(answer) = self.routes.as_ref().and_then(|r| r.route(ctx)) {
            let response = answer.await;
            ctx.kind = response.kind;
            return self.response_filter(ctx, response, false).await;
        }
        match self.request_filter(ctx) {
            Err(e) => return self.reject(ctx, e),
            Ok(request_filter::Filtered::Preflight) => return response_filter::preflight(ctx),
            Ok(request_filter::Filtered::Continue) => {}
        }
        if let Some(builtin) = self.builtin(ctx) {
            return self.response_filter(ctx, builtin, false).await;
        }
        let upstream_request = match self.upstream_request(ctx) {
            Ok(r) => r,
            Err(e) => {
                let response = crate::upstream::UpstreamResponse::error(
                    http::StatusCode::FORBIDDEN,
                    format!("{e}\n"),
                );
                return self.response_filter(ctx, response, false).await;
            }
        };
        let upstream_response = self.upstream.fetch(upstream_request).await;
        ctx.kind = upstream_response.kind;
        self.response_filter(ctx, upstream_response, true).await
    }

    /// Phase 3: what to ask the upstream for.
    ///
    /// Verifies and strips a `/t/{token}` prefix (see [`crate::token`]), so the
    /// upstream and an edge's cache key never see tokens; a path under a protected
    /// prefix without a valid token is refused (403, `no-store`, never cached).
    pub fn upstream_request(
        &self,
        ctx: &RequestCtx,
    ) -> Result<UpstreamRequest, crate::token::TokenError> {
        let (token, path) = match crate::token::split_token_path(&ctx.path) {
            Some((token, rest)) => (Some(token), rest),
            // A child edge forwards the token it verified in a header.
            None => (
                ctx.headers
                    .get(crate::upstream::TOKEN_HEADER)
                    .and_then(|v| v.to_str().ok()),
                ctx.path.as_str(),
            ),
        };
        let mut verified = None;
        if let Some(verifier) = &self.tokens {
            match token {
                Some(token) => {
                    let now_s = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let client = ctx.peer.map(|p| p.ip());
                    verifier.check(token, path, client, now_s)?;
                    verified = Some(token.to_owned());
                }
                None if verifier.required(path) => return Err(crate::token::TokenError::Missing),
                None => {}
            }
        }
        Ok(UpstreamRequest {
            path: path.to_owned(),
            query: ctx.query.clone(),
            authority: ctx.authority.clone(),
            token: verified,
        })
    }
}
