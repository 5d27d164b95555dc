//! The tokio side: accepts TCP connections and drives one [`RtmpSession`] per
//! connection. It only moves bytes and timers; every protocol decision is in the
//! session, every publishing decision in the [`PublishHandler`].
//!
//! Per connection: read → `handle_input` → drain transmits and events (in the order
//! documented on [`RtmpSession`]) → on `PublishRequested` await the handler and
//! accept or reject → forward tracks and frames to the [`MediaSink`]. The sink's
//! `end()` is called exactly once, when the publish ends or the connection closes
//! for any reason. Each closed connection logs one line:
//! `rtmp: closing PEER: REASON`, with the channel name (never the stream key) and
//! the bytes received as fields.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::session::{RtmpSession, SessionEvent};
use super::{RtmpError, RtmpLimits};
use crate::publish::{MediaSink, PublishHandler, PublishRejection, PublishRequest};

/// Where the connection timer waits when the session has no deadline.
const PARKED: Duration = Duration::from_secs(24 * 3600);

/// Bytes read from the socket per `read` call.
const READ_BUFFER: usize = 64 * 1024;

/// Why a connection ended; its `Display` is the log line's reason.
#[derive(Debug)]
pub enum CloseReason {
    /// The peer closed the TCP connection.
    PeerClosed,
    /// The peer broke the protocol or a limit.
    Protocol(RtmpError),
    /// The handler refused the publish.
    Rejected(PublishRejection),
    /// A socket error.
    Io(std::io::Error),
    /// The server is shutting down.
    Shutdown,
    /// The application disconnected the publisher ([`MediaSink::kicked`]).
    Kicked,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PeerClosed => f.write_str("peer closed the connection"),
            Self::Protocol(e) => e.fmt(f),
            Self::Rejected(r) => write!(f, "publish rejected: {r}"),
            Self::Io(e) => write!(f, "socket error: {e}"),
            Self::Shutdown => f.write_str("server shutting down"),
            Self::Kicked => f.write_str("publisher kicked by an operator"),
        }
    }
}

impl From<RtmpError> for CloseReason {
    fn from(e: RtmpError) -> Self {
        Self::Protocol(e)
    }
}

impl From<std::io::Error> for CloseReason {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Accepts RTMP publishers on `listener` until `shutdown` becomes `true`, then
/// closes every connection (each sink gets its `end()`) and returns. A dropped
/// shutdown sender is treated as "never shut down".
///
/// ```no_run
/// # async fn run(handler: std::sync::Arc<dyn ingest::publish::PublishHandler>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:1935").await?;
/// let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
/// let server = tokio::spawn(ingest::rtmp::serve(listener, handler, Default::default(), stop_rx));
/// // … on SIGTERM:
/// stop_tx.send(true).ok();
/// server.await.ok();
/// # Ok(()) }
/// ```
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn PublishHandler>,
    limits: RtmpLimits,
    shutdown: watch::Receiver<bool>,
) {
    accept_loop(listener, "rtmp", shutdown, |stream, peer, stop| {
        session_over(stream, peer, handler.clone(), limits, stop, "rtmp")
    })
    .await
}

/// Accepts on `listener` until `shutdown`, running `connection(stream, peer,
/// shutdown)` for each client (`TCP_NODELAY` set), then waits for them all.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    protocol: &'static str,
    mut shutdown: watch::Receiver<bool>,
    mut connection: F,
) where
    F: FnMut(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown_requested(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tasks.spawn(connection(stream, peer, shutdown.clone()));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    warn!("{protocol}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What the driver holds besides the session.
struct Publishing {
    sink: Option<Box<dyn MediaSink>>,
    channel: Option<String>,
}

impl Publishing {
    fn end(&mut self) {
        if let Some(mut sink) = self.sink.take() {
            sink.end();
        }
    }
}

/// Accepts RTMPS publishers (RTMP inside TLS) on `listener` with `tls`, like
/// [`serve`]. A client that fails the TLS handshake (or sends garbage) within
/// [`TLS_HANDSHAKE_TIMEOUT`] is closed, logged and reported to
/// [`PublishHandler::handshake_failed`]; others are not disturbed.
pub async fn serve_tls(
    listener: TcpListener,
    tls: TlsAcceptor,
    handler: Arc<dyn PublishHandler>,
    limits: RtmpLimits,
    shutdown: watch::Receiver<bool>,
) {
    accept_loop(listener, "rtmps", shutdown, |stream, peer, stop| {
        let (tls, handler) = (tls.clone(), handler.clone());
        async move {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => session_over(stream, peer, handler, limits, stop, "rtmps").await,
                Ok(Err(e)) => {
                    warn!(%peer, "rtmps: TLS handshake with {peer} failed: {e}");
                    handler.handshake_failed("rtmps");
                }
                Err(_) => {
                    warn!(%peer, "rtmps: TLS handshake with {peer} timed out");
                    handler.handshake_failed("rtmps");
                }
            }
        }
    })
    .await
}

/// How long a client has to complete the TLS handshake on the RTMPS listener.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One RTMP session over any byte stream (plain TCP or TLS); `protocol` names it
/// in logs.
async fn session_over<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    handler: Arc<dyn PublishHandler>,
    limits: RtmpLimits,
    mut shutdown: watch::Receiver<bool>,
    protocol: &'static str,
) {
    let start = Instant::now();
    let mut session = RtmpSession::new(limits, 0);
    let mut publishing = Publishing {
        sink: None,
        channel: None,
    };
    let reason = drive(
        &mut stream,
        peer,
        &mut session,
        &mut publishing,
        &*handler,
        &mut shutdown,
        start,
    )
    .await;
    publishing.end();
    let _ = stream.shutdown().await;
    let channel = publishing.channel.as_deref().unwrap_or("-");
    let (bytes_in, secs) = (session.bytes_received(), start.elapsed().as_secs_f64());
    let repaired = session.repaired_frames();
    match &reason {
        CloseReason::PeerClosed | CloseReason::Shutdown => {
            info!(%peer, channel, bytes_in, secs, repaired, "{protocol}: closing {peer}: {reason}")
        }
        _ => {
            warn!(%peer, channel, bytes_in, secs, repaired, "{protocol}: closing {peer}: {reason}")
        }
    }
}

async fn flush<S: AsyncWrite + Unpin>(
    stream: &mut S,
    session: &mut RtmpSession,
) -> std::io::Result<()> {
    while let Some(bytes) = session.poll_transmit() {
        stream.write_all(&bytes).await?;
    }
    Ok(())
}

async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    session: &mut RtmpSession,
    publishing: &mut Publishing,
    handler: &dyn PublishHandler,
    shutdown: &mut watch::Receiver<bool>,
    start: Instant,
) -> CloseReason {
    let mut buf = vec![0u8; READ_BUFFER];
    let now_ms = || start.elapsed().as_millis() as u64;
    let timer = tokio::time::sleep_until(start + PARKED);
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    loop {
        if let Err(e) = flush(stream, session).await {
            return e.into();
        }
        while let Some(event) = session.poll_event() {
            match event {
                SessionEvent::PublishRequested {
                    app, stream_key, ..
                } => {
                    let request = PublishRequest {
                        app,
                        stream_key,
                        peer,
                        channel: None,
                    };
                    match handler.publish(request).await {
                        Ok(sink) => {
                            info!(%peer, channel = sink.channel(), "rtmp: {peer} publishing to channel {}", sink.channel());
                            publishing.channel = Some(sink.channel().to_owned());
                            publishing.sink = Some(sink);
                            if let Err(e) = session.accept_publish() {
                                return e.into();
                            }
                        }
                        Err(rejection) => {
                            session.reject_publish(&rejection);
                            let _ = flush(stream, session).await;
                            return CloseReason::Rejected(rejection);
                        }
                    }
                    if let Err(e) = flush(stream, session).await {
                        return e.into();
                    }
                }
                SessionEvent::Track(track) => {
                    if let Some(sink) = publishing.sink.as_mut() {
                        sink.track(track);
                    }
                }
                SessionEvent::Frame(frame) => {
                    if let Some(sink) = publishing.sink.as_mut() {
                        sink.frame(frame);
                    }
                }
                SessionEvent::Metadata(m) => debug!(
                    %peer,
                    width = ?m.width,
                    height = ?m.height,
                    framerate = ?m.framerate,
                    videodatarate = ?m.videodatarate,
                    encoder = ?m.encoder,
                    "rtmp: onMetaData"
                ),
                SessionEvent::Unpublished => publishing.end(),
            }
        }
        if publishing.sink.as_ref().is_some_and(|s| s.kicked()) {
            return CloseReason::Kicked;
        }
        // One timer per connection, re-armed only when the session's deadline moves:
        // registering a fresh timer on every read costs more than the read.
        let deadline = session
            .poll_timeout()
            .map(|ms| start + Duration::from_millis(ms));
        if deadline != armed {
            armed = deadline;
            timer
                .as_mut()
                .reset(deadline.unwrap_or_else(|| Instant::now() + PARKED));
        }
        let result = tokio::select! {
            _ = shutdown_requested(shutdown) => return CloseReason::Shutdown,
            read = stream.read(&mut buf) => match read {
                Ok(0) => return CloseReason::PeerClosed,
                Ok(n) => session.handle_input(&buf[..n], now_ms()),
                Err(e) => return e.into(),
            },
            _ = &mut timer, if armed.is_some() => {
                armed = None;
                session.handle_timeout(now_ms())
            }
        };
        if let Err(e) = result {
            let _ = flush(stream, session).await;
            return e.into();
        }
    }
}

#[cfg(test)]
#[path = "listener_tests.rs"]
mod tests;
