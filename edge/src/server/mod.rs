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
//! - Small writes (HTTP/2 frames, short responses) are corked and written out when
//!   the connection yields ([`corked_io`]): a 2 MB HTTP/2 response takes a few large
//!   writes instead of one per 16 KiB DATA frame.
//! - Limits ([`ServerOptions`]): maximum connections (more are accepted and closed at
//!   once), request head size (431), header timeout (slowloris) and keep-alive idle
//!   timeout ([`activity`]), TLS handshake timeout, HTTP/2 concurrent streams; a bad
//!   request or connection only ends that connection.
//! - Graceful shutdown: when the `shutdown` future completes, stop accepting, ask
//!   every connection to finish (HTTP/1.1: close after the current response; HTTP/2:
//!   GOAWAY, RFC 9113 §6.8), wait up to [`ServerOptions::shutdown_grace`] for
//!   in-flight responses — streaming ones included — then abort the rest and return.
//!
//! The HTTP/3 listener ([`crate::http3`]) sits beside this module and calls the same
//! [`Pipeline::handle`]; when it runs, every response here carries its `Alt-Svc`.

mod activity;
mod connection;
mod corked_io;
mod options;
pub mod shards;
mod tracked_io;

use std::future::Future;
use std::io;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

pub use activity::{ConnTimeouts, TimeoutReason};
use connection::{Connection, Slot};
pub use options::*;
pub use shards::HttpShards;

use crate::pipeline::Pipeline;

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
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let metrics = pipeline.metrics().connections().clone();
    let timeouts = ConnTimeouts {
        header: options.header_read_timeout,
        idle: options.idle_timeout,
    };
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
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        // Full: close at once, so the client can try another edge.
                        metrics.rejected.inc();
                        tracing::debug!(%peer, "max_connections reached; closing");
                        drop(tcp);
                        continue;
                    };
                    let conn = Connection {
                        builder: builder.clone(),
                        pipeline: pipeline.clone(),
                        peer,
                        stop: stop_rx.clone(),
                        timeouts,
                        alt_svc: options.alt_svc.clone(),
                        metrics: metrics.clone(),
                        _slot: Slot::new(permit, metrics.open.clone()),
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
        // The header and idle timeouts are ours (`activity`): hyper's runs while a
        // keep-alive connection is idle too, so it would cut idle players early.
        .header_read_timeout(None)
        .max_buf_size(options.max_header_bytes.max(MIN_MAX_HEADER_BYTES));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_concurrent_streams)
        .max_header_list_size(options.max_header_bytes.try_into().unwrap_or(u32::MAX));
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
///
/// srt-protocol (0.4) logs a WARN line for every packet that arrives after its
/// socket closed (hundreds per disconnecting publisher), so it is held to `error`
/// unless `RUST_LOG` names it. The origin logs each SRT connection's end itself.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let names_srt = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("srt_protocol"));
    let filter = match "srt_protocol=error".parse() {
        Ok(directive) if !names_srt => filter.add_directive(directive),
        _ => filter,
    };
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(filter)
        .init();
}
