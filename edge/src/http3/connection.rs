//! One QUIC connection: the handshake (bounded in time), then the HTTP/3
//! connection accepting request streams, each served on its own task, until the
//! client leaves, the connection idles out, or the listener drains (GOAWAY, RFC 9114
//! §5.2).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::early_data::EarlyData;
use super::request::{self, RequestContext};
use super::Shared;

/// Serves the connection `incoming` starts.
pub(crate) async fn serve(incoming: quinn::Incoming, shared: Arc<Shared>) {
    let peer = incoming.remote_address();
    let metrics = shared.metrics.clone();
    let connecting = match incoming.accept() {
        Ok(c) => c,
        Err(e) => {
            metrics.handshakes.with_label_values(&["failed"]).inc();
            tracing::debug!(%peer, error = %e, "QUIC accept failed");
            return;
        }
    };
    let (connection, early) = if shared.early_data {
        match connecting.into_0rtt() {
            Ok((connection, handshake)) => {
                let early = EarlyData::pending(handshake, connection.clone());
                (connection, early)
            }
            // quinn always hands a server connection over; kept for completeness.
            Err(connecting) => match handshake(connecting, shared.handshake_timeout).await {
                Ok(c) => (c, EarlyData::confirmed_connection()),
                Err(reason) => return handshake_failed(&shared, peer, reason),
            },
        }
    } else {
        match handshake(connecting, shared.handshake_timeout).await {
            Ok(c) => (c, EarlyData::confirmed_connection()),
            Err(reason) => return handshake_failed(&shared, peer, reason),
        }
    };
    metrics.handshakes.with_label_values(&["ok"]).inc();
    metrics.open.inc();
    let _open = OpenGuard(metrics.open.clone());
    let h3 = h3::server::builder()
        .max_field_section_size(shared.max_header_bytes)
        .send_grease(true)
        .build::<_, Bytes>(h3_quinn::Connection::new(connection.clone()))
        .await;
    let mut h3 = match h3 {
        Ok(h3) => h3,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "HTTP/3 connection setup failed");
            return;
        }
    };
    let ctx = RequestContext {
        pipeline: shared.pipeline.clone(),
        peer,
        metrics: metrics.clone(),
        early,
    };
    let mut requests = JoinSet::new();
    let mut stop = shared.stop.clone();
    let mut draining = false;
    loop {
        if draining && requests.is_empty() {
            // GOAWAY sent and nothing in flight: the client reconnects elsewhere.
            break;
        }
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    requests.spawn(request::serve(resolver, ctx.clone()));
                }
                Ok(None) => break,
                Err(e) => {
                    if !e.is_h3_no_error() {
                        tracing::debug!(%peer, error = %e, "HTTP/3 connection ended with error");
                    }
                    break;
                }
            },
            _ = stopping(&mut stop), if !draining => {
                draining = true;
                // GOAWAY: no new requests; the ones in flight finish.
                if let Err(e) = h3.shutdown(0).await {
                    tracing::debug!(%peer, error = %e, "HTTP/3 GOAWAY failed");
                    break;
                }
            }
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
        }
    }
    // Requests still streaming (a client that sent GOAWAY, or a drain) finish here;
    // the listener's grace period bounds the wait.
    while requests.join_next().await.is_some() {}
    connection.close(0u32.into(), b"");
}

/// Why a handshake did not complete.
enum HandshakeFailure {
    TimedOut,
    Failed(quinn::ConnectionError),
}

async fn handshake(
    connecting: quinn::Connecting,
    timeout: Duration,
) -> Result<quinn::Connection, HandshakeFailure> {
    match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(HandshakeFailure::Failed(e)),
        Err(_) => Err(HandshakeFailure::TimedOut),
    }
}

fn handshake_failed(shared: &Shared, peer: std::net::SocketAddr, reason: HandshakeFailure) {
    match reason {
        HandshakeFailure::TimedOut => {
            shared
                .metrics
                .handshakes
                .with_label_values(&["timed_out"])
                .inc();
            tracing::debug!(%peer, "QUIC handshake timed out");
        }
        HandshakeFailure::Failed(e) => {
            shared
                .metrics
                .handshakes
                .with_label_values(&["failed"])
                .inc();
            tracing::debug!(%peer, error = %e, "QUIC handshake failed");
        }
    }
}

async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Keeps `ferrocast_http3_connections_open` up while the connection lives.
struct OpenGuard(prometheus::IntGauge);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
