//! Phase 5: turn an [`UpstreamResponse`] into the HTTP response.
//!
//! For every response:
//! - `Content-Type` and `Cache-Control` as the upstream chose them (ARCHITECTURE.md's
//!   caching rules live in the upstream, not here);
//! - CORS for players on other origins: `Access-Control-Allow-Origin: *` and the
//!   non-safelisted fields players read exposed (Fetch standard, CORS protocol);
//!   `Timing-Allow-Origin: *` (Resource Timing §4.5), so a player's QoE code sees
//!   timings and the protocol (`nextHopProtocol`: h2, h3) of media requests;
//! - HEAD gets the same header fields as GET and no content (RFC 9110 §9.3.2).
//!
//! For a complete (`Full`) upstream 200:
//! - a strong ETag (§8.8.3): the upstream's own when it gives one (an edge stores the
//!   one it computed once), else from the length and the 64-bit XXH3 hash of the
//!   bytes (hashed off the async workers above [`ETAG_INLINE_MAX_BYTES`]);
//! - `If-None-Match` with weak comparison (§13.1.2) → 304 without content (§15.4.5);
//! - a single byte range → 206 / 416 ([`super::range`]); `Accept-Ranges: bytes`;
//! - `Content-Length` (§8.6).
//!
//! A `Streaming` body has no length and no validator: its chunks go out as they come.

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

use super::range::{self, RangeDecision};
use super::{Pipeline, RequestCtx, RequestError};
use crate::body::ResponseBody;
use crate::upstream::{UpstreamBody, UpstreamResponse};

/// Bodies larger than this are hashed for their ETag on the blocking pool.
pub const ETAG_INLINE_MAX_BYTES: usize = 256 * 1024;

/// Response fields a cross-origin player may read beyond the CORS-safelisted ones.
pub const EXPOSE_HEADERS: &str = "ETag, Content-Range, Accept-Ranges, Date, Age";

/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE_S: u32 = 86_400;

impl Pipeline {
    /// Phase 5. `validators`: whether ETag, conditional GET and ranges apply (upstream
    /// objects, not built-in routes).
    pub async fn response_filter(
        &self,
        ctx: &RequestCtx,
        upstream: UpstreamResponse,
        validators: bool,
    ) -> Response<ResponseBody> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(upstream.content_type),
        );
        let cache_control = HeaderValue::from_str(&upstream.cache_control)
            .unwrap_or_else(|_| HeaderValue::from_static("no-store"));
        headers.insert(CACHE_CONTROL, cache_control);
        // The upstream's own fields last: they may replace the two above.
        let mut given_etag = None;
        for name in upstream.headers.keys() {
            if name == ETAG {
                given_etag = upstream.headers[name].to_str().ok().map(str::to_owned);
                continue;
            }
            headers.remove(name);
            for value in upstream.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        add_cors(&mut headers);
        let mut status = upstream.status;
        let bytes = match upstream.body {
            UpstreamBody::Streaming(stream) => {
                let body = if ctx.is_head() {
                    ResponseBody::empty()
                } else {
                    ResponseBody::streaming(stream)
                };
                return build(status, headers, body);
            }
            UpstreamBody::Fallible(stream) => {
                let body = if ctx.is_head() {
                    ResponseBody::empty()
                } else {
                    ResponseBody::fallible(stream)
                };
                return build(status, headers, body);
            }
            UpstreamBody::Full(bytes) => bytes,
        };
        let mut bytes = bytes;
        if validators && status == StatusCode::OK {
            let etag = match given_etag {
                Some(etag) => etag,
                None => strong_etag(bytes.clone()).await,
            };
            headers.insert(ETAG, header_value(&etag));
            headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            // §13.2.2: If-None-Match is evaluated before Range.
            if let Some(inm) = joined(&ctx.headers, &IF_NONE_MATCH) {
                if if_none_match(&inm, &etag) {
                    headers.remove(CONTENT_TYPE);
                    return build(StatusCode::NOT_MODIFIED, headers, ResponseBody::empty());
                }
            }
            if ctx.method == Method::GET {
                match range_decision(ctx, &etag, bytes.len() as u64) {
                    RangeDecision::Full => {}
                    RangeDecision::Partial(r) => {
                        status = StatusCode::PARTIAL_CONTENT;
                        headers.insert(
                            CONTENT_RANGE,
                            header_value(&r.content_range(bytes.len() as u64)),
                        );
                        bytes = bytes.slice(r.first as usize..=r.last as usize);
                    }
                    RangeDecision::Unsatisfiable => {
                        let mut h = error_headers();
                        let unsatisfied = format!("bytes */{}", bytes.len());
                        h.insert(CONTENT_RANGE, header_value(&unsatisfied));
                        let msg = Bytes::from_static(b"range not satisfiable\n");
                        return full(ctx, StatusCode::RANGE_NOT_SATISFIABLE, h, msg);
                    }
                }
            }
        }
        full(ctx, status, headers, bytes)
    }

    /// A request refused by `request_filter`: plain text, `no-store`.
    pub(super) fn reject(&self, ctx: &RequestCtx, error: RequestError) -> Response<ResponseBody> {
        let mut headers = error_headers();
        if let RequestError::MethodNotAllowed(_) = error {
            // §15.5.6: a 405 MUST carry Allow.
            headers.insert(
                ALLOW,
                HeaderValue::from_static(super::request_filter::ALLOWED_METHODS),
            );
        }
        full(
            ctx,
            error.status(),
            headers,
            Bytes::from(format!("{error}\n")),
        )
    }
}

/// Answer to OPTIONS: 204 with what a CORS preflight asks (Fetch, CORS protocol), and
/// `Allow` for plain capability probes (RFC 9110 §9.3.7).
pub fn preflight(ctx: &RequestCtx) -> Response<ResponseBody> {
    let mut headers = HeaderMap::new();
    add_cors(&mut headers);
    let methods = HeaderValue::from_static(super::request_filter::ALLOWED_METHODS);
    headers.insert(ALLOW, methods.clone());
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, methods);
    if let Some(requested) = ctx.headers.get(ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_S),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    build(StatusCode::NO_CONTENT, headers, ResponseBody::empty())
}

/// The strong entity-tag of `bytes`: `"<len hex>-<xxh3-64 hex>"`, quoted (§8.8.3).
pub fn etag_of(bytes: &[u8]) -> String {
    format!(
        "\"{:x}-{:016x}\"",
        bytes.len(),
        xxhash_rust::xxh3::xxh3_64(bytes)
    )
}

/// [`etag_of`], hashed on the blocking pool above [`ETAG_INLINE_MAX_BYTES`].
pub async fn strong_etag(bytes: Bytes) -> String {
    if bytes.len() <= ETAG_INLINE_MAX_BYTES {
        return etag_of(&bytes);
    }
    let copy = bytes.clone();
    match tokio::task::spawn_blocking(move || etag_of(&copy)).await {
        Ok(t) => t,
        Err(_) => etag_of(&bytes),
    }
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, §13.1.2 / §8.8.3.2).
pub fn if_none_match(value: &str, etag: &str) -> bool {
    if value.trim() == "*" {
        return true;
    }
    let ours = etag.trim_start_matches("W/");
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let unweak = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(after_quote) = unweak.strip_prefix('"') else {
            return false; // malformed list: treat as no match
        };
        let Some(end) = after_quote.find('"') else {
            return false;
        };
        let tag = &unweak[..end + 2];
        if tag == ours {
            return true;
        }
        rest = &after_quote[end + 1..];
    }
}

fn range_decision(ctx: &RequestCtx, etag: &str, len: u64) -> RangeDecision {
    let Some(range) = ctx.headers.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeDecision::Full;
    };
    if let Some(if_range) = ctx.headers.get(IF_RANGE) {
        let matches = if_range
            .to_str()
            .is_ok_and(|v| range::if_range_matches(v, etag));
        if !matches {
            return RangeDecision::Full;
        }
    }
    range::decide(range, len)
}

/// All field lines of `name` joined with ", " (§5.3), if any are valid text.
fn joined(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// A local route may expose more fields (a tus upload's `Location`, `Upload-Offset`):
/// its own `Access-Control-Expose-Headers` is kept.
fn add_cors(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers
        .entry(ACCESS_CONTROL_EXPOSE_HEADERS)
        .or_insert(HeaderValue::from_static(EXPOSE_HEADERS));
    headers.insert(
        http::header::HeaderName::from_static("timing-allow-origin"),
        HeaderValue::from_static("*"),
    );
}

fn error_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    add_cors(&mut headers);
    headers
}

/// Values we format ourselves are always visible ASCII.
fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A complete body with `Content-Length`; HEAD keeps the length and drops the content.
fn full(
    ctx: &RequestCtx,
    status: StatusCode,
    mut headers: HeaderMap,
    bytes: Bytes,
) -> Response<ResponseBody> {
    headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = if ctx.is_head() {
        ResponseBody::empty()
    } else {
        ResponseBody::full(bytes)
    };
    build(status, headers, body)
}

fn build(status: StatusCode, headers: HeaderMap, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists() {
        let ours = "\"5-00000000000000ff\"";
        assert!(if_none_match(ours, ours));
        assert!(if_none_match("*", ours));
        assert!(if_none_match(&format!("\"x\", W/{ours}"), ours));
        assert!(!if_none_match("\"x\", \"y\"", ours));
        assert!(!if_none_match("garbage", ours));
        // A comma inside a tag does not split it.
        assert!(!if_none_match("\"a,\"5-00000000000000ff\"", ours));
    }

    #[tokio::test]
    async fn etag_is_strong_stable_and_content_dependent() {
        let a = strong_etag(Bytes::from_static(b"hello")).await;
        assert_eq!(a, strong_etag(Bytes::from_static(b"hello")).await);
        assert_ne!(a, strong_etag(Bytes::from_static(b"hellp")).await);
        assert!(a.starts_with("\"5-") && a.ends_with('"'));
        let big = Bytes::from(vec![7u8; ETAG_INLINE_MAX_BYTES + 1]);
        let t = strong_etag(big.clone()).await;
        assert_eq!(t, strong_etag(big).await);
    }
}
