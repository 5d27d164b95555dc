//! HTTP/1.1 and HTTP/2 listener: hyper 1 connections feeding the [`Pipeline`].
//!
//! - Plain TCP: hyper-util's `auto` builder reads the first bytes of each connection
//!   and speaks HTTP/2 if they are the connection preface (h2c with prior knowledge,
//!   RFC 9113 §3.3), HTTP/1.1 otherwise. The `Upgrade: h2c` dance is not offered
//!   (RFC 9113 §3.1 deprecates it).
//! - TLS: tokio-rustls, ALPN `h2` / `http/1.1` ([`crate::tls`]); the same auto builder then
//!   sees either protocol.
//! - `TCP_NODELAY` on every connection: parts and playlist updates are small writes
//!   that must not wait for Nagle.
//! - Limits: header read timeout (slowloris), TLS handshake timeout, HTTP/2
//!   concurrent streams; a bad request or connection only ends that connection.
//! - Graceful shutdown: when the `shutdown` future completes, stop accepting, ask
//!   every connection to finish (HTTP/1.1: close after the current response; HTTP/2:
//!   GOAWAY, RFC 9113 §6.8), wait up to [`ServerOptions::shutdown_grace`] for
//!   in-flight responses — streaming ones included — then abort the rest and return.
//!
//! A future HTTP/3 listener (quinn + h3) sits beside this module and calls the same
//! [`Pipeline::handle`].

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::pipeline::{PeerAddr, Pipeline};

/// Default for [`ServerOptions::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default for [`ServerOptions::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ServerOptions::tls_handshake_timeout`].
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ServerOptions::max_concurrent_streams`].
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 256;
/// Pause after an accept error such as EMFILE, so a full fd table is not a busy loop.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Listener tuning; [`Default`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How long in-flight requests may run after shutdown was requested.
    pub shutdown_grace: Duration,
    /// HTTP/1.1: time allowed to receive a complete request head.
    pub header_read_timeout: Duration,
    /// Time allowed for a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` (RFC 9113 §6.5.2). Blocking playlist
    /// reloads hold streams, so this is generous.
    pub max_concurrent_streams: u32,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
        }
    }
}

/// Serve `pipeline` on `listener` (HTTPS when `tls` is given) until `shutdown`
/// completes, then drain gracefully; see the module docs. Uses default options.
pub async fn serve(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    serve_with(listener, pipeline, tls, shutdown, ServerOptions::default()).await
}

/// [`serve`] with explicit [`ServerOptions`].
pub async fn serve_with(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
    options: ServerOptions,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let builder = Arc::new(connection_builder(&options));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, tls = acceptor.is_some(), "HTTP listener started");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let conn = Connection {
                        builder: builder.clone(),
                        pipeline: pipeline.clone(),
                        peer,
                        stop: stop_rx.clone(),
                    };
                    let acceptor = acceptor.clone();
                    let handshake = options.tls_handshake_timeout;
                    connections.spawn(conn.run(tcp, acceptor, handshake));
                }
                Err(e) => accept_error(e).await,
            },
            // Reap finished connection tasks so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = connections.len();
    tracing::info!(addr = ?local, open, "HTTP listener draining");
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            grace_s = options.shutdown_grace.as_secs_f64(),
            "shutdown grace elapsed, aborting connections"
        );
        connections.shutdown().await;
    }
    tracing::info!(addr = ?local, "HTTP listener stopped");
}

fn connection_builder(options: &ServerOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_concurrent_streams);
    builder
}

/// Per-connection errors (reset, refused…) are expected and not fatal to the
/// listener; resource exhaustion gets a short pause.
async fn accept_error(e: io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => tracing::debug!(error = %e, "accept"),
        _ => {
            tracing::warn!(error = %e, "accept failed; pausing");
            tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
        }
    }
}

/// One accepted TCP connection.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    pipeline: Arc<Pipeline>,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, tcp: TcpStream, tls: Option<TlsAcceptor>, handshake_timeout: Duration) {
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
        let pipeline = self.pipeline.clone();
        let peer = self.peer;
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            let pipeline = pipeline.clone();
            async move {
                // Delivery never reads request bodies; dropping it lets hyper discard it.
                let mut req = req.map(|_| ());
                req.extensions_mut().insert(PeerAddr(peer));
                Ok::<_, Infallible>(pipeline.handle(req).await)
            }
        });
        let conn = self.builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            result = conn.as_mut() => return log_end(peer, result),
            _ = self.stop.wait_for(|stop| *stop) => {}
        }
        conn.as_mut().graceful_shutdown();
        log_end(peer, conn.await);
    }
}

fn log_end(peer: SocketAddr, result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = result {
        // Protocol errors, resets and timeouts of one client: worth a debug line only.
        tracing::debug!(%peer, error = %e, "connection ended with error");
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C): the binaries' shutdown trigger.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`): the binaries' setup.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}
