//! HTTP/3 (RFC 9114) over QUIC (RFC 9000, quinn + h3 + h3-quinn), beside the
//! HTTP/1.1 + HTTP/2 listener of [`crate::server`] and feeding the same
//! [`Pipeline::handle`]: tokens, cache, ranges, LL-HLS blocking requests and
//! bodies streamed to waiters behave the same on every version.
//!
//! | file | concept |
//! |---|---|
//! | [`section`] | `[http3]` keys and defaults |
//! | [`admission`] | `max_connections`, new connections per IP per second |
//! | [`datagram_check`] | counts datagrams quinn drops silently (not QUIC, unknown version, small Initial) |
//! | `connection` | handshake (bounded), the HTTP/3 connection, GOAWAY on drain |
//! | `request` | one request through the pipeline; 0-RTT gate (RFC 8470) |
//! | `request_body` | request DATA frames as an `http_body::Body` for the API |
//! | [`metrics`] | `ferrocast_http3_*` |
//!
//! TLS comes from [`Certificates::quic_config`] (TLS 1.3, ALPN `h3`), the same
//! resolver as the TCP listener, so certificate reloads reach both. UDP GSO/GRO
//! are used where the kernel has them (quinn-udp probes; the result is the
//! `ferrocast_http3_udp_segments` gauge). The TCP listener advertises this one with
//! `Alt-Svc: h3=":PORT"` ([`alt_svc`]).

pub mod admission;
mod connection;
pub mod datagram_check;
mod early_data;
pub mod metrics;
mod request;
mod request_body;
pub mod section;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http::HeaderValue;
use prometheus::Registry;
use quinn::{EndpointConfig, IdleTimeout, TransportConfig, VarInt};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::pipeline::Pipeline;
use crate::tls::Certificates;
use admission::{Admission, AdmissionControl};
use datagram_check::CheckedSocket;
pub use metrics::Http3Metrics;
pub use section::Http3Section;

/// Unidirectional streams a client may open: HTTP/3 control and the two QPACK
/// streams (RFC 9114 §6.2), plus room for reserved (grease) stream types.
const MAX_UNI_STREAMS: u32 = 16;
/// Socket buffers asked for (the kernel may cap them at net.core.[rw]mem_max):
/// a few 2 MB segments' worth of datagrams at line rate.
const SOCKET_BUFFER_BYTES: usize = 8 << 20;
/// How long draining connections get before they are closed.
const SHUTDOWN_GRACE: Duration = crate::server::DEFAULT_SHUTDOWN_GRACE;

/// What every connection of the listener shares.
pub(crate) struct Shared {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) metrics: Http3Metrics,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) early_data: bool,
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_header_bytes: u64,
}

/// The `Alt-Svc` field value advertising HTTP/3 on `port` (RFC 9114 §3.1.1,
/// RFC 7838 §3).
pub fn alt_svc(port: u16) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "h3=\":{port}\"; ma={}",
        section::ALT_SVC_MAX_AGE_S
    ))
    .expect("ASCII")
}

/// Starts the listener when `[http3] enabled` and `[tls]` has a certificate
/// (HTTP/3 has no plain-text form); `None` otherwise. See [`Http3Listener::start`].
pub fn start_if_enabled(
    section: &Http3Section,
    certificates: Option<&Certificates>,
    pipeline: Arc<Pipeline>,
    registry: &Registry,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<Http3Listener>> {
    match (section.enabled, certificates) {
        (true, Some(certificates)) => {
            Http3Listener::start(section, certificates, pipeline, registry, stop).map(Some)
        }
        (true, None) => {
            tracing::info!("HTTP/3 off: it needs [tls] cert and key");
            Ok(None)
        }
        (false, _) => Ok(None),
    }
}

/// A running HTTP/3 listener.
pub struct Http3Listener {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Http3Listener {
    /// Binds `[http3] listen` and serves `pipeline` on it until `stop` turns true,
    /// then drains (GOAWAY, up to 10 s for requests in flight). Must be called inside
    /// a tokio runtime, which then drives the endpoint.
    pub fn start(
        section: &Http3Section,
        certificates: &Certificates,
        pipeline: Arc<Pipeline>,
        registry: &Registry,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let metrics = Http3Metrics::register(registry).context("registering HTTP/3 metrics")?;
        let tls = certificates
            .quic_config(section.early_data)
            .context("[tls] for HTTP/3")?;
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
            .context("[tls] for HTTP/3 (QUIC needs TLS 1.3 with AES-128-GCM)")?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        server.transport_config(Arc::new(transport(section)?));

        let socket = std::net::UdpSocket::bind(section.listen)
            .with_context(|| format!("cannot listen on [http3] listen = {}", section.listen))?;
        size_buffers(&socket);
        let runtime = quinn::default_runtime().context("HTTP/3 needs a tokio runtime")?;
        let udp = runtime.wrap_udp_socket(socket)?;
        let (gso, gro) = (udp.max_transmit_segments(), udp.max_receive_segments());
        metrics
            .segments
            .with_label_values(&["send"])
            .set(gso as i64);
        metrics
            .segments
            .with_label_values(&["receive"])
            .set(gro as i64);
        let checked = Arc::new(CheckedSocket::new(udp, metrics.dropped.clone()));
        // No grease_quic_bit (RFC 9287): every packet keeps the fixed bit, so one
        // without it is noise and is counted as such.
        let mut endpoint_config = EndpointConfig::default();
        endpoint_config.grease_quic_bit(false);
        let endpoint = quinn::Endpoint::new_with_abstract_socket(
            endpoint_config,
            Some(server),
            checked,
            runtime,
        )?;
        let local_addr = endpoint.local_addr()?;
        tracing::info!(addr = %local_addr, gso_segments = gso, gro_segments = gro, early_data = section.early_data, "HTTP/3 listener started");
        let shared = Arc::new(Shared {
            pipeline,
            metrics,
            stop: stop.clone(),
            early_data: section.early_data,
            handshake_timeout: section.handshake_timeout(),
            max_header_bytes: section.max_header_bytes,
        });
        let admission =
            AdmissionControl::new(section.max_connections, section.max_new_connections_per_ip);
        let task = tokio::spawn(accept_loop(endpoint, shared, admission, stop));
        Ok(Self { local_addr, task })
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The `Alt-Svc` value advertising this listener.
    pub fn alt_svc(&self) -> HeaderValue {
        alt_svc(self.local_addr.port())
    }

    /// Waits until the listener has drained and closed.
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// QUIC transport parameters from `[http3]` (RFC 9000 §18.2).
fn transport(section: &Http3Section) -> anyhow::Result<TransportConfig> {
    let mut t = TransportConfig::default();
    t.max_concurrent_bidi_streams(VarInt::from_u32(section.max_concurrent_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(MAX_UNI_STREAMS))
        .max_idle_timeout(Some(
            IdleTimeout::try_from(section.idle_timeout()).context("[http3] idle_timeout_ms")?,
        ))
        .stream_receive_window(
            VarInt::try_from(section.stream_receive_window)
                .context("[http3] stream_receive_window")?,
        )
        .receive_window(VarInt::try_from(section.receive_window).context("[http3] receive_window")?)
        .send_window(section.send_window)
        .enable_segmentation_offload(section.segmentation_offload);
    Ok(t)
}

/// Larger socket buffers, so a burst of datagrams is not dropped by the kernel
/// while the endpoint task is busy. Best effort: logged when refused.
fn size_buffers(socket: &std::net::UdpSocket) {
    use rustix::net::sockopt;
    if let Err(e) = sockopt::set_socket_recv_buffer_size(socket, SOCKET_BUFFER_BYTES) {
        tracing::debug!(error = %e, "HTTP/3: SO_RCVBUF");
    }
    if let Err(e) = sockopt::set_socket_send_buffer_size(socket, SOCKET_BUFFER_BYTES) {
        tracing::debug!(error = %e, "HTTP/3: SO_SNDBUF");
    }
}

async fn accept_loop(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    admission: AdmissionControl,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let peer = incoming.remote_address();
                match admission.admit(peer.ip(), endpoint.open_connections(), Instant::now()) {
                    Admission::Accept => {
                        connections.spawn(connection::serve(incoming, shared.clone()));
                    }
                    refused => {
                        shared.metrics.refused.with_label_values(&[refused.label()]).inc();
                        tracing::debug!(%peer, reason = refused.label(), "QUIC connection refused");
                        incoming.refuse();
                    }
                }
            }
            _ = stop.wait_for(|s| *s) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let open = connections.len();
    tracing::info!(open, "HTTP/3 listener draining");
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
    endpoint.close(0u32.into(), b"shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    tracing::info!("HTTP/3 listener stopped");
}
