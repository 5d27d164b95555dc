//! Where the pipeline gets objects from.
//!
//! The origin implements [`Upstream`] over its live store; an edge over its parent
//! origins. The pipeline owns everything generic (routing of `/healthz` & co, HEAD,
//! ETag, conditional GET, CORS, metrics); an upstream only answers "what is at this
//! path", possibly after waiting (LL-HLS blocking reload).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use http::{HeaderMap, StatusCode};

/// A request as the pipeline hands it to an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRequest {
    /// The path with any `/t/{token}` prefix removed, e.g. `/live/ch/video0/index.m3u8`.
    pub path: String,
    /// The raw query string, if any (`_HLS_msn=…`).
    pub query: Option<String>,
    /// The authority the client addressed (`:authority`, else `Host`), e.g.
    /// `cdn.example:8080`, so an upstream can write absolute URLs (DASH UTCTiming).
    pub authority: Option<String>,
    /// The playback token the pipeline verified for this request, if any. An edge
    /// forwards it to its parents (header [`TOKEN_HEADER`]), so that an origin which
    /// requires a token for the path accepts the fetch.
    pub token: Option<String>,
}

/// The request header that carries a verified playback token from an edge to its
/// parents (the token is stripped from the path and from the cache key).
pub const TOKEN_HEADER: &str = "ferrocast-playback-token";

/// What kind of object a response is; decides caching headers and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// LL-HLS multivariant playlist.
    MultivariantPlaylist,
    /// LL-HLS media playlist.
    MediaPlaylist,
    /// DASH manifest.
    Mpd,
    /// Init segment.
    Init,
    /// Media segment.
    Segment,
    /// LL-HLS part.
    Part,
    /// A web page or asset.
    Page,
    /// Anything else (API, errors).
    Other,
}

impl ObjectKind {
    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::MultivariantPlaylist => "multivariant",
            ObjectKind::MediaPlaylist => "media_playlist",
            ObjectKind::Mpd => "mpd",
            ObjectKind::Init => "init",
            ObjectKind::Segment => "segment",
            ObjectKind::Part => "part",
            ObjectKind::Page => "page",
            ObjectKind::Other => "other",
        }
    }
}

/// A response body.
pub enum UpstreamBody {
    /// The whole object.
    Full(Bytes),
    /// An object still being produced (LL-DASH segment): chunks as they appear. The
    /// pipeline sends them with chunked transfer / HTTP/2 DATA frames as they come.
    Streaming(BoxStream<'static, Bytes>),
    /// Like `Streaming`, but the source may fail midway (an edge's parent): an `Err`
    /// aborts the response instead of ending it, so no client mistakes a truncated
    /// body for a complete one.
    Fallible(BoxStream<'static, Result<Bytes, crate::body::BodyError>>),
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamBody::Full(b) => write!(f, "Full({} bytes)", b.len()),
            UpstreamBody::Streaming(_) => f.write_str("Streaming"),
            UpstreamBody::Fallible(_) => f.write_str("Fallible"),
        }
    }
}

/// An upstream's answer.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// What the object is.
    pub kind: ObjectKind,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`, chosen by the upstream per ARCHITECTURE.md's caching rules.
    pub cache_control: String,
    /// Further response fields, applied after `Content-Type` and `Cache-Control`
    /// (a field here replaces those). An edge replays a cached object's stored fields
    /// here; an `ETag` here is used as is instead of hashing the body per request.
    pub headers: HeaderMap,
    /// The body.
    pub body: UpstreamBody,
}

impl UpstreamResponse {
    /// A plain-text error with `Cache-Control: no-store`.
    pub fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: ObjectKind::Other,
            content_type: "text/plain; charset=utf-8",
            cache_control: "no-store".into(),
            headers: HeaderMap::new(),
            body: UpstreamBody::Full(Bytes::from(message.into())),
        }
    }
}

/// Future returned by [`Upstream::fetch`].
pub type UpstreamFuture = Pin<Box<dyn Future<Output = UpstreamResponse> + Send>>;

/// A source of objects.
pub trait Upstream: Send + Sync + 'static {
    /// Answer `request` (GET semantics; the pipeline derives HEAD).
    fn fetch(&self, request: UpstreamRequest) -> UpstreamFuture;
}
