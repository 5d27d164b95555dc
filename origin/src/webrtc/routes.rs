//! The HTTP side of WHEP and WHIP (RFC 9725 §4; WHEP follows the same pattern):
//!
//! | Request | Answer |
//! |---|---|
//! | `POST /whep/{channel}` (`application/sdp` offer) | 201, the answer, `Location: /whep/{channel}/{session}` |
//! | `POST /whip/{channel}` + `Authorization: Bearer {stream key}` | 201, the answer, `Location: /whip/{channel}/{session}` |
//! | `DELETE` of a `Location` | 200 (the session ends) or 404 |
//! | `PATCH` of a `Location` (trickle ICE, ICE restart) | 405: answers carry every candidate (RFC 9725 §4.3.1) |
//! | `OPTIONS` | 204 with the CORS fields |
//!
//! Playback tokens apply to WHEP as to HLS: a channel with `playback = token`
//! needs a token for `/live/{channel}/` as a `/t/{token}/whep/…` prefix or as
//! `Authorization: Bearer {token}`.
//!
//! Errors are one line of text: 400 malformed SDP, 401/403 stream key, 403
//! token, 404 not live, 406 no common codec, 409 refused (B-frames) or already
//! publishing, 415 not SDP, 503 full.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edge::pipeline::{LocalRoutes, RequestCtx};
use edge::token::TokenVerifier;
use edge::upstream::{ObjectKind, UpstreamBody, UpstreamFuture, UpstreamResponse};
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Method, StatusCode};
use ingest::publish::{PublishHandler, PublishRejection, PublishRequest};
use str0m::change::SdpOffer;
use tokio::sync::{mpsc, oneshot};

use super::loop_input::{LoopInput, OfferError, OfferRequest, Role, SessionId};
use super::metrics::WebrtcMetrics;
use crate::channels::Channels;
use crate::publishing::LIVE_APP;

/// Largest SDP offer read (browsers send 5-10 KiB).
const MAX_OFFER_BYTES: usize = 64 * 1024;
/// How long the body may take.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
const SDP: &str = "application/sdp";
/// Fields a cross-origin WHEP/WHIP client must see (the session's `Location`).
const EXPOSED: &str = "Location, Link, WWW-Authenticate, Accept-Post";

/// `/whep/…` and `/whip/…`.
pub struct WebrtcRoutes {
    to_loop: mpsc::Sender<LoopInput>,
    publish: Arc<dyn PublishHandler>,
    channels: Arc<Channels>,
    tokens: TokenVerifier,
    metrics: WebrtcMetrics,
}

impl WebrtcRoutes {
    /// Routes sending sessions to the media loop; WHIP publishes through `publish`.
    pub fn new(
        to_loop: mpsc::Sender<LoopInput>,
        publish: Arc<dyn PublishHandler>,
        channels: Arc<Channels>,
        tokens: TokenVerifier,
        metrics: WebrtcMetrics,
    ) -> Self {
        Self {
            to_loop,
            publish,
            channels,
            tokens,
            metrics,
        }
    }
}

/// A parsed WHEP/WHIP path.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    role: Role,
    channel: &'a str,
    session: Option<&'a str>,
    token: Option<&'a str>,
}

fn parse(path: &str) -> Option<Target<'_>> {
    let (token, path) = match edge::token::split_token_path(path) {
        Some((token, rest)) => (Some(token), rest),
        None => (None, path),
    };
    let mut parts = path.strip_prefix('/')?.split('/');
    let role = match parts.next()? {
        "whep" => Role::Viewer,
        "whip" => Role::Publisher,
        _ => return None,
    };
    let channel = parts.next().filter(|c| !c.is_empty())?;
    let session = parts.next();
    if parts.next().is_some() {
        return None;
    }
    Some(Target {
        role,
        channel,
        session,
        token,
    })
}

impl LocalRoutes for WebrtcRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let target = parse(&ctx.path)?;
        let answer = match (&ctx.method, target.session) {
            (&Method::OPTIONS, _) => return Some(ready(preflight())),
            (&Method::POST, None) => {
                let request = Post::new(self, ctx, &target);
                return Some(Box::pin(request.run()));
            }
            (&Method::DELETE, Some(session)) => {
                let Some(id) = SessionId::parse(session) else {
                    return Some(ready(text(StatusCode::NOT_FOUND, "no such session")));
                };
                let to_loop = self.to_loop.clone();
                let channel = target.channel.to_owned();
                let role = target.role;
                return Some(Box::pin(
                    async move { delete(to_loop, channel, id, role).await },
                ));
            }
            (&Method::PATCH, Some(_)) => not_allowed(
                "DELETE, OPTIONS",
                "trickle ICE and ICE restarts are not supported: the answer has every candidate",
            ),
            (_, None) => not_allowed("POST, OPTIONS", "use POST with an SDP offer"),
            (_, Some(_)) => not_allowed("DELETE, PATCH, OPTIONS", "use DELETE to end the session"),
        };
        Some(ready(answer))
    }
}

/// One POST, with what it needs copied out of the request.
struct Post {
    to_loop: mpsc::Sender<LoopInput>,
    publish: Arc<dyn PublishHandler>,
    metrics: WebrtcMetrics,
    role: Role,
    channel: String,
    /// An early refusal (token, content type), answered without reading the body.
    refused: Option<UpstreamResponse>,
    bearer: Option<String>,
    body: Option<edge::pipeline::RequestBody>,
    peer: std::net::SocketAddr,
}

impl Post {
    fn new(routes: &WebrtcRoutes, ctx: &RequestCtx, target: &Target<'_>) -> Self {
        let bearer = ctx
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_owned());
        let content_type = ctx
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut refused = None;
        if !content_type.trim().eq_ignore_ascii_case(SDP) {
            refused = Some(text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be an SDP offer (Content-Type: application/sdp)",
            ));
        } else if target.role == Role::Viewer {
            refused = routes
                .check_token(ctx, target, bearer.as_deref())
                .err()
                .map(|r| *r);
        }
        if refused.is_some() {
            routes
                .metrics
                .offers
                .with_label_values(&[target.role.label(), "refused_request"])
                .inc();
        }
        Self {
            to_loop: routes.to_loop.clone(),
            publish: routes.publish.clone(),
            metrics: routes.metrics.clone(),
            role: target.role,
            channel: target.channel.to_owned(),
            refused,
            bearer,
            body: ctx.body.clone(),
            peer: ctx.peer.unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
        }
    }

    async fn run(self) -> UpstreamResponse {
        if let Some(r) = self.refused {
            return r;
        }
        let role = self.role;
        let metrics = self.metrics.clone();
        let count = |result: &str| {
            metrics
                .offers
                .with_label_values(&[role.label(), result])
                .inc()
        };
        let Some(body) = self.body else {
            count("bad_sdp");
            return text(StatusCode::BAD_REQUEST, "the SDP offer is missing");
        };
        let offer = match body.read_to_limit(MAX_OFFER_BYTES, BODY_TIMEOUT).await {
            Ok(b) => b,
            Err(e) => {
                count("bad_sdp");
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the SDP offer: {e}"),
                );
            }
        };
        let offer = match std::str::from_utf8(&offer)
            .map_err(|e| e.to_string())
            .and_then(|s| SdpOffer::from_sdp_string(s).map_err(|e| one_line(&e.to_string())))
        {
            Ok(o) => o,
            Err(e) => {
                count("bad_sdp");
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!("malformed SDP offer: {e}"),
                );
            }
        };
        let publisher = if role == Role::Publisher {
            let Some(key) = self.bearer.filter(|k| !k.is_empty()) else {
                count("key");
                let mut r = text(
                    StatusCode::UNAUTHORIZED,
                    "WHIP needs the channel's stream key as a Bearer token (Authorization: Bearer KEY)",
                );
                r.headers.insert(
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer"),
                );
                return r;
            };
            let request = PublishRequest {
                app: LIVE_APP.to_owned(),
                stream_key: key,
                peer: self.peer,
                channel: Some(self.channel.clone()),
            };
            match self.publish.publish(request).await {
                Ok(sink) => Some(sink),
                Err(rejection) => {
                    count("key");
                    return publish_refused(&rejection);
                }
            }
        } else {
            None
        };
        let (reply, answer) = oneshot::channel();
        let request = OfferRequest {
            channel: self.channel.clone(),
            offer,
            publisher,
            reply,
        };
        if self.to_loop.send(LoopInput::Offer(request)).await.is_err() {
            return text(StatusCode::SERVICE_UNAVAILABLE, "WebRTC is shutting down");
        }
        match answer.await {
            Ok(Ok(answered)) => {
                let prefix = match role {
                    Role::Viewer => "whep",
                    Role::Publisher => "whip",
                };
                let location = format!("/{prefix}/{}/{}", self.channel, answered.session);
                let mut headers = HeaderMap::new();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    headers.insert(LOCATION, v);
                }
                headers.insert(
                    http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(EXPOSED),
                );
                UpstreamResponse {
                    status: StatusCode::CREATED,
                    kind: ObjectKind::Other,
                    content_type: SDP,
                    cache_control: "no-store".into(),
                    headers,
                    body: UpstreamBody::Full(Bytes::from(answered.sdp)),
                }
            }
            Ok(Err(e)) => offer_refused(&e),
            Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "WebRTC is shutting down"),
        }
    }
}

impl WebrtcRoutes {
    /// A token is needed for `playback = token` channels (see the module docs).
    fn check_token(
        &self,
        ctx: &RequestCtx,
        target: &Target<'_>,
        bearer: Option<&str>,
    ) -> Result<(), Box<UpstreamResponse>> {
        let Some(channel) = self.channels.get(target.channel) else {
            return Ok(()); // Not live: the loop answers 404.
        };
        // A Bearer field on a public channel is ignored (some WHEP players always
        // send one); a token in the path is checked as HLS checks it.
        let required = channel.token_required();
        let token = if required {
            target.token.or(bearer)
        } else {
            target.token
        };
        let Some(token) = token else {
            if !required {
                return Ok(());
            }
            return Err(Box::new(text(
                StatusCode::FORBIDDEN,
                &edge::token::TokenError::Missing.to_string(),
            )));
        };
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = format!("/live/{}/", target.channel);
        match self
            .tokens
            .check(token, &path, ctx.peer.map(|p| p.ip()), now_s)
        {
            Ok(()) => Ok(()),
            // A token on a public channel is not needed; a bad one is still refused
            // (as HLS does), so a misconfigured player learns of it.
            Err(e) => Err(Box::new(text(StatusCode::FORBIDDEN, &e.to_string()))),
        }
    }
}

async fn delete(
    to_loop: mpsc::Sender<LoopInput>,
    channel: String,
    session: SessionId,
    role: Role,
) -> UpstreamResponse {
    let (reply, found) = oneshot::channel();
    let input = LoopInput::Delete {
        channel,
        session,
        role,
        reply,
    };
    if to_loop.send(input).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "WebRTC is shutting down");
    }
    match found.await {
        Ok(true) => text(StatusCode::OK, "session ended"),
        _ => text(StatusCode::NOT_FOUND, "no such session"),
    }
}

fn offer_refused(e: &OfferError) -> UpstreamResponse {
    let status = match e {
        OfferError::BadSdp(_) => StatusCode::BAD_REQUEST,
        OfferError::NoCodec(_) => StatusCode::NOT_ACCEPTABLE,
        OfferError::NotLive(_) => StatusCode::NOT_FOUND,
        OfferError::Refused(_) => StatusCode::CONFLICT,
        OfferError::Full => StatusCode::SERVICE_UNAVAILABLE,
        OfferError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    text(status, &e.to_string())
}

fn publish_refused(rejection: &PublishRejection) -> UpstreamResponse {
    let status = match rejection {
        PublishRejection::UnknownKey => StatusCode::UNAUTHORIZED,
        PublishRejection::WrongChannel(_) => StatusCode::FORBIDDEN,
        PublishRejection::AlreadyPublishing(_) => StatusCode::CONFLICT,
        PublishRejection::TooManyFailures => StatusCode::TOO_MANY_REQUESTS,
        PublishRejection::Unavailable | PublishRejection::UnknownApp(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    let mut r = text(status, &rejection.to_string());
    if status == StatusCode::UNAUTHORIZED {
        r.headers.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    r
}

/// 405 with the methods the resource has (RFC 9110 §15.5.6).
fn not_allowed(allow: &'static str, message: &str) -> UpstreamResponse {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, message);
    r.headers
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn preflight() -> UpstreamResponse {
    let mut r = text(StatusCode::NO_CONTENT, "");
    r.body = UpstreamBody::Full(Bytes::new());
    let h = &mut r.headers;
    h.insert(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, DELETE, PATCH, OPTIONS"),
    );
    h.insert(
        http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization, If-Match"),
    );
    h.insert(
        http::header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert("accept-post", HeaderValue::from_static(SDP));
    r
}

fn text(status: StatusCode, message: &str) -> UpstreamResponse {
    let mut r = UpstreamResponse::error(
        status,
        if message.is_empty() {
            String::new()
        } else {
            format!("{message}\n")
        },
    );
    r.headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    r
}

/// A parser's multi-line message as one line, without the parser's memory
/// addresses (`Parse error at PointerOffset(0x…)`).
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(|l| match (l.find("PointerOffset("), l.rfind(')')) {
            (Some(a), Some(b)) if b > a => format!("{}{}", &l[..a], &l[b + 1..]),
            _ => l.to_owned(),
        })
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn ready(r: UpstreamResponse) -> UpstreamFuture {
    Box::pin(std::future::ready(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_and_without_tokens() {
        assert_eq!(
            parse("/whep/news"),
            Some(Target {
                role: Role::Viewer,
                channel: "news",
                session: None,
                token: None
            })
        );
        assert_eq!(
            parse("/t/abc.def/whep/news/0123"),
            Some(Target {
                role: Role::Viewer,
                channel: "news",
                session: Some("0123"),
                token: Some("abc.def")
            })
        );
        assert_eq!(parse("/whip/news").map(|t| t.role), Some(Role::Publisher));
        assert_eq!(parse("/whep/"), None);
        assert_eq!(parse("/whep/a/b/c"), None);
        assert_eq!(parse("/live/news/master.m3u8"), None);
    }

    #[test]
    fn parser_errors_become_one_line() {
        assert_eq!(
            one_line(
                "SDP parse: Parse error at PointerOffset(0x7f9c)\nUnexpected `t`\nExpected `o`\n"
            ),
            "SDP parse: Parse error at; Unexpected `t`; Expected `o`"
        );
    }
}
