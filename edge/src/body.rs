//! The response body every transport sends.
//!
//! [`ResponseBody`] is an [`http_body::Body`] with `Data = Bytes` and no error, so the
//! same `http::Response<ResponseBody>` that the pipeline returns can be written by
//! hyper's HTTP/1.1 and HTTP/2 connections today and by an h3 stream driver later
//! (which would simply loop over `Body::frame`). It knows nothing of connections.
//!
//! Three shapes:
//!
//! - **empty** (HEAD, 204, 304, preflight): `size_hint` is exactly 0;
//! - **full**: one `Bytes`, `size_hint` exact, so HTTP/1.1 gets `Content-Length`;
//! - **streaming**: chunks forwarded as the upstream yields them — never buffered, so
//!   HTTP/1.1 writes them with chunked transfer coding (RFC 9112 §7.1) and HTTP/2 as
//!   DATA frames (RFC 9113 §6.1) as soon as each arrives. A streaming body may fail
//!   midway (an edge's parent went away): the error reaches the transport, which
//!   aborts the response — HTTP/1.1 closes the connection without the last chunk,
//!   HTTP/2 resets the stream — so a client never takes a truncated body for a
//!   complete one.
//!
//! A body may carry a [`BodyGuard`]: it counts the bytes handed to the transport and
//! is dropped when the body is finished *or* abandoned (client gone), which is when a
//! request stops being "in flight" for the metrics.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http_body::{Body, Frame, SizeHint};
use prometheus::{IntCounter, IntGauge};

/// Holds the in-flight gauge up from request arrival until the response body is
/// finished or dropped.
#[derive(Debug)]
pub struct InFlight(IntGauge);

impl InFlight {
    /// Increments `gauge` now; dropping decrements it.
    pub(crate) fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What a body reports to the metrics while it is written, and when it is gone.
///
/// Built by the pipeline's logging phase.
#[derive(Debug)]
pub struct BodyGuard {
    bytes_sent: IntCounter,
    _in_flight: InFlight,
}

impl BodyGuard {
    pub(crate) fn new(bytes_sent: IntCounter, in_flight: InFlight) -> Self {
        Self {
            bytes_sent,
            _in_flight: in_flight,
        }
    }

    fn sent(&self, n: usize) {
        self.bytes_sent.inc_by(n as u64);
    }
}

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Streaming(BoxStream<'static, Result<Bytes, BodyError>>),
}

/// Why a streaming body stopped before its end.
#[derive(Debug, Clone, thiserror::Error)]
#[error("response body aborted: {0}")]
pub struct BodyError(pub std::sync::Arc<str>);

/// The body of every response the pipeline produces. See the module docs.
pub struct ResponseBody {
    kind: Kind,
    guard: Option<BodyGuard>,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Empty => f.write_str("ResponseBody::Empty"),
            Kind::Full(b) => write!(
                f,
                "ResponseBody::Full({} bytes)",
                b.as_ref().map_or(0, Bytes::len)
            ),
            Kind::Streaming(_) => f.write_str("ResponseBody::Streaming"),
        }
    }
}

impl ResponseBody {
    /// No content.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Empty,
            guard: None,
        }
    }

    /// A complete body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            kind: if bytes.is_empty() {
                Kind::Empty
            } else {
                Kind::Full(Some(bytes))
            },
            guard: None,
        }
    }

    /// A body whose chunks are sent as `stream` yields them; it ends when the stream does.
    pub fn streaming(stream: BoxStream<'static, Bytes>) -> Self {
        Self::fallible(stream.map(Ok).boxed())
    }

    /// Like [`ResponseBody::streaming`], but an `Err` item aborts the response.
    pub fn fallible(stream: BoxStream<'static, Result<Bytes, BodyError>>) -> Self {
        Self {
            kind: Kind::Streaming(stream),
            guard: None,
        }
    }

    /// Attach the metrics guard (replaces any previous one).
    pub(crate) fn with_guard(mut self, guard: BodyGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Whether this body is streamed (length unknown in advance).
    pub fn is_streaming(&self) -> bool {
        matches!(self.kind, Kind::Streaming(_))
    }

    /// Collect the whole body (tests, small internal uses). Waits for a stream's end;
    /// an aborted stream yields what arrived before the error.
    pub async fn collect_bytes(self) -> Bytes {
        match self.kind {
            Kind::Empty => Bytes::new(),
            Kind::Full(b) => b.unwrap_or_default(),
            Kind::Streaming(mut s) => {
                let mut out = bytes::BytesMut::new();
                while let Some(Ok(chunk)) = s.next().await {
                    out.extend_from_slice(&chunk);
                }
                out.freeze()
            }
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let chunk = match &mut this.kind {
            Kind::Empty => None,
            Kind::Full(b) => b.take(),
            Kind::Streaming(s) => loop {
                match s.poll_next_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    // An empty chunk would be an empty DATA frame / a chunk-size 0 line
                    // that ends an HTTP/1.1 chunked body early (RFC 9112 §7.1): skip it.
                    Poll::Ready(Some(Ok(c))) if c.is_empty() => continue,
                    Poll::Ready(Some(Ok(c))) => break Some(c),
                    Poll::Ready(Some(Err(e))) => {
                        this.kind = Kind::Empty;
                        this.guard = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => break None,
                }
            },
        };
        match chunk {
            Some(c) => {
                if let Some(g) = &this.guard {
                    g.sent(c.len());
                }
                Poll::Ready(Some(Ok(Frame::data(c))))
            }
            None => {
                // Finished: leave the in-flight gauge now rather than when hyper drops us.
                this.kind = Kind::Empty;
                this.guard = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(b) => b.is_none(),
            Kind::Streaming(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Streaming(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn full_body_is_exact_and_counted() {
        let bytes = IntCounter::new("b", "b").unwrap();
        let gauge = IntGauge::new("g", "g").unwrap();
        let body = ResponseBody::full("hello")
            .with_guard(BodyGuard::new(bytes.clone(), InFlight::new(gauge.clone())));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(gauge.get(), 1);
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"hello");
        assert_eq!(bytes.get(), 5);
        assert_eq!(gauge.get(), 0);
    }

    #[tokio::test]
    async fn streaming_skips_empty_chunks() {
        let s = futures_util::stream::iter(vec![
            Bytes::from_static(b"a"),
            Bytes::new(),
            Bytes::from_static(b"b"),
        ])
        .boxed();
        let body = ResponseBody::streaming(s);
        assert!(body.is_streaming());
        assert_eq!(body.size_hint().exact(), None);
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"ab");
    }

    #[tokio::test]
    async fn dropped_body_leaves_in_flight() {
        let bytes = IntCounter::new("b", "b").unwrap();
        let gauge = IntGauge::new("g", "g").unwrap();
        let body = ResponseBody::streaming(futures_util::stream::pending().boxed())
            .with_guard(BodyGuard::new(bytes, InFlight::new(gauge.clone())));
        assert_eq!(gauge.get(), 1);
        drop(body);
        assert_eq!(gauge.get(), 0);
    }
}
