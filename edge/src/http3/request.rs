//! One HTTP/3 request: read the head, run the shared [`Pipeline`], write the
//! response head and stream the body (RFC 9114 §4.1).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response};
use http_body_util::BodyExt;

use super::early_data::EarlyData;
use super::metrics::Http3Metrics;
use super::request_body::H3RequestBody;
use crate::pipeline::{PeerAddr, Pipeline, RequestBody};

/// What every request of one connection shares.
#[derive(Clone)]
pub(crate) struct RequestContext {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) peer: SocketAddr,
    pub(crate) metrics: Http3Metrics,
    pub(crate) early: EarlyData,
}

type Resolver = h3::server::RequestResolver<h3_quinn::Connection, Bytes>;

/// Serves one request stream to its end.
pub(crate) async fn serve(resolver: Resolver, ctx: RequestContext) {
    let (req, stream) = match resolver.resolve_request().await {
        Ok(resolved) => resolved,
        Err(h3::error::StreamError::HeaderTooBig {
            actual_size,
            max_size,
            ..
        }) => {
            // h3 has answered 431 already.
            ctx.metrics
                .requests_refused
                .with_label_values(&["oversized_headers"])
                .inc();
            tracing::debug!(peer = %ctx.peer, actual_size, max_size, "HTTP/3 request head too large: 431");
            return;
        }
        Err(e) => {
            if is_malformed(&e) {
                ctx.metrics
                    .requests_refused
                    .with_label_values(&["malformed"])
                    .inc();
            }
            tracing::debug!(peer = %ctx.peer, error = %e, "HTTP/3 request not read");
            return;
        }
    };
    // RFC 8470 §3: a request received in 0-RTT may be a replay. Safe methods are
    // served at once; others wait until the handshake has completed.
    if !ctx.early.is_confirmed() {
        let safe = req.method() == Method::GET || req.method() == Method::HEAD;
        ctx.metrics
            .early
            .with_label_values(&[if safe { "served" } else { "delayed" }])
            .inc();
        if !safe && !ctx.early.confirmed().await {
            return;
        }
    }
    let (mut send, recv) = stream.split();
    let (parts, ()) = req.into_parts();
    let mut req = Request::from_parts(parts, ());
    req.extensions_mut().insert(PeerAddr(ctx.peer));
    req.extensions_mut()
        .insert(RequestBody::new(H3RequestBody::new(recv)));
    let response = ctx.pipeline.handle(req).await;
    let (mut parts, mut body) = response.into_parts();
    strip_connection_headers(&mut parts.headers);
    if let Err(e) = send.send_response(Response::from_parts(parts, ())).await {
        tracing::debug!(peer = %ctx.peer, error = %e, "HTTP/3 response head not sent");
        return;
    }
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.is_empty() {
                    continue;
                }
                if let Err(e) = send.send_data(data).await {
                    // The client went away or reset the stream.
                    tracing::debug!(peer = %ctx.peer, error = %e, "HTTP/3 body not sent");
                    return;
                }
            }
            Err(e) => {
                // The upstream failed mid-body: reset the stream so the client sees an
                // incomplete response rather than a short one (RFC 9114 §4.1.2).
                tracing::debug!(peer = %ctx.peer, error = %e, "HTTP/3 body failed upstream");
                send.stop_stream(h3::error::Code::H3_INTERNAL_ERROR);
                return;
            }
        }
    }
    if let Err(e) = send.finish().await {
        tracing::debug!(peer = %ctx.peer, error = %e, "HTTP/3 stream not finished");
    }
}

/// RFC 9114 §4.2: connection-specific fields are malformed in HTTP/3.
fn strip_connection_headers(headers: &mut http::HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::HeaderName::from_static("keep-alive"),
        header::HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
}

/// A malformed request head (RFC 9114 §4.1.2), as opposed to a client that closed
/// or reset its stream.
fn is_malformed(e: &h3::error::StreamError) -> bool {
    matches!(
        e,
        h3::error::StreamError::StreamError { code, .. } if *code == h3::error::Code::H3_MESSAGE_ERROR
    )
}
