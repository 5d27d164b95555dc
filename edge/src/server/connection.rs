//! One accepted TCP connection: optional TLS handshake, then hyper's HTTP/1.1 or
//! HTTP/2 connection feeding the [`Pipeline`], watched by the header and idle
//! timeouts of [`super::activity`], until it ends or the listener drains.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use prometheus::IntGauge;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit};
use tokio_rustls::TlsAcceptor;

use super::activity::{ConnActivity, ConnTimeouts, TimeoutReason, Verdict};
use super::corked_io::{cork, Corked};
use super::tracked_io::TrackedIo;
use crate::body::{BodyError, ResponseBody};
use crate::metrics::ConnectionMetrics;
use crate::pipeline::{PeerAddr, Pipeline, RequestBody};

/// How long a timed-out connection gets to finish a graceful close (HTTP/2 GOAWAY)
/// before it is dropped.
const TIMEOUT_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Holds one of `max_connections` and the open-connections gauge up while the
/// connection lives.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    open: IntGauge,
}

impl Slot {
    pub(crate) fn new(permit: OwnedSemaphorePermit, open: IntGauge) -> Self {
        open.inc();
        Self {
            _permit: permit,
            open,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.dec();
    }
}

/// One accepted TCP connection.
pub(crate) struct Connection {
    pub(crate) builder: Arc<auto::Builder<TokioExecutor>>,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) peer: SocketAddr,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) timeouts: ConnTimeouts,
    pub(crate) alt_svc: Option<http::HeaderValue>,
    pub(crate) metrics: ConnectionMetrics,
    pub(crate) _slot: Slot,
}

impl Connection {
    pub(crate) async fn run(
        self,
        tcp: TcpStream,
        tls: Option<TlsAcceptor>,
        handshake_timeout: Duration,
    ) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(peer = %self.peer, error = %e, "set TCP_NODELAY");
        }
        let Some(acceptor) = tls else {
            return self.serve_io(tcp).await;
        };
        match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => self.serve_io(stream).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve_io<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(ConnActivity::new(Instant::now(), self.timeouts));
        let header_clock = Arc::new(Notify::new());
        let io = TrackedIo::new(io, activity.clone(), header_clock.clone());
        let pipeline = self.pipeline.clone();
        let peer = self.peer;
        let tracked = activity.clone();
        let alt_svc = self.alt_svc.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let pipeline = pipeline.clone();
            let activity = tracked.clone();
            let alt_svc = alt_svc.clone();
            async move {
                activity.request_started(req.version() == http::Version::HTTP_2);
                let finished = RequestFinished(activity);
                // Delivery never reads request bodies; local routes (the control
                // plane API) may, through the bounded `RequestBody`. An unread body is
                // dropped with the request and hyper discards it.
                let (parts, body) = req.into_parts();
                let mut req = Request::from_parts(parts, ());
                req.extensions_mut().insert(PeerAddr(peer));
                req.extensions_mut().insert(RequestBody::new(body));
                let mut response = pipeline.handle(req).await;
                if let Some(alt_svc) = alt_svc {
                    // RFC 9114 §3.1.1: HTTP/3 is on this host's UDP port.
                    response
                        .headers_mut()
                        .insert(http::header::ALT_SVC, alt_svc);
                }
                Ok::<_, Infallible>(response.map(|body| TrackedBody {
                    body,
                    _finished: finished,
                }))
            }
        });
        let (io, cork) = cork(io);
        // Upgrades (WebSocket chat on the origin) take the I/O over after a 101.
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut conn = Corked::new(conn, cork);
        let timed_out = tokio::select! {
            result = &mut conn => return log_end(peer, result),
            _ = self.stop.wait_for(|stop| *stop) => None,
            reason = watchdog(&activity, &header_clock) => Some(reason),
        };
        conn.conn().graceful_shutdown();
        match timed_out {
            None => log_end(peer, conn.await),
            Some(reason) => {
                self.metrics
                    .timed_out
                    .with_label_values(&[reason.label()])
                    .inc();
                tracing::debug!(%peer, reason = reason.label(), "connection timed out");
                let _ = tokio::time::timeout(TIMEOUT_CLOSE_GRACE, conn).await;
            }
        }
    }
}

/// Resolves when one of the connection's timeouts expires. Sleeps until the next
/// deadline, or until a read starts a header clock (which may bring it forward).
async fn watchdog(activity: &ConnActivity, header_clock: &Notify) -> TimeoutReason {
    loop {
        match activity.verdict(Instant::now()) {
            Verdict::Expired(reason) => return reason,
            Verdict::CheckAt(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = header_clock.notified() => {}
                }
            }
        }
    }
}

/// Marks the request finished on the connection when dropped: with the response
/// body, whether it completed or the client went away.
struct RequestFinished(Arc<ConnActivity>);

impl Drop for RequestFinished {
    fn drop(&mut self) {
        self.0.request_finished(Instant::now());
    }
}

/// A [`ResponseBody`] that ends its request's activity when it is dropped.
struct TrackedBody {
    body: ResponseBody,
    _finished: RequestFinished,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

fn log_end(peer: SocketAddr, result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = result {
        // Protocol errors, resets and timeouts of one client: worth a debug line only.
        tracing::debug!(%peer, error = %e, "connection ended with error");
    }
}
