//! One HTTP/3 client connection: a QUIC connection made by quinn from a shared
//! client [`Endpoint`] (one UDP socket for every connection of the run), with h3
//! on top through h3-quinn.
//!
//! The h3 [`Connection`](h3::client::Connection) half is driven by its own task
//! until the connection closes (it reads the control stream and the peer's
//! SETTINGS). Requests go through the [`SendRequest`] half, one at a time, like
//! the TCP connections of [`super::conn`]. Dropping an [`H3Conn`] closes the QUIC
//! connection with `H3_NO_ERROR` (RFC 9114 §8.1) so the server frees it at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::{Buf, Bytes};
use hyper::header::HeaderValue;
use hyper::{Request, Uri};
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{ClientConfig, Endpoint, EndpointConfig, TransportConfig, VarInt};
use rustix::net::sockopt;

use super::conn::{Outcome, X_CACHE};

/// Per-stream receive window: a 2 MB segment arrives without waiting for
/// MAX_STREAM_DATA updates.
const STREAM_WINDOW: u32 = 8 << 20;
/// Connection receive window (quinn's default is unbounded by memory only).
const CONNECTION_WINDOW: u32 = 32 << 20;
/// `H3_NO_ERROR` (RFC 9114 §8.1).
const H3_NO_ERROR: u32 = 0x100;
/// Socket buffers asked for (the kernel caps them at `net.core.rmem_max` /
/// `wmem_max`). With the default ~208 KiB, 2 MB segments on many connections
/// overflow the receive buffer: drops, then congestion control backs off, and the
/// run measures the client's socket instead of the server.
const SOCKET_BUFFER_BYTES: usize = 16 << 20;

/// The client endpoint of a run: one UDP socket bound to an ephemeral port of
/// the address family of `server`, with `tls` as its default configuration.
pub fn endpoint(server: SocketAddr, tls: Arc<rustls::ClientConfig>) -> Result<Endpoint> {
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let socket = std::net::UdpSocket::bind(bind).context("binding the QUIC client socket")?;
    // Best effort: a refused size leaves the default.
    let _ = sockopt::set_socket_recv_buffer_size(&socket, SOCKET_BUFFER_BYTES);
    let _ = sockopt::set_socket_send_buffer_size(&socket, SOCKET_BUFFER_BYTES);
    let runtime = quinn::default_runtime().context("no async runtime for quinn")?;
    let mut endpoint = Endpoint::new(EndpointConfig::default(), None, socket, runtime)
        .context("the QUIC client endpoint")?;
    let crypto = QuicClientConfig::try_from(tls).context("a TLS 1.3 config for QUIC")?;
    let mut transport = TransportConfig::default();
    transport
        .stream_receive_window(VarInt::from_u32(STREAM_WINDOW))
        .receive_window(VarInt::from_u32(CONNECTION_WINDOW))
        .keep_alive_interval(Some(Duration::from_secs(5)));
    let mut config = ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport));
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// A connected HTTP/3 client.
pub struct H3Conn {
    quic: quinn::Connection,
    send: h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>,
}

impl H3Conn {
    /// Connects to `server`, checking the certificate against `server_name`.
    pub async fn connect(
        endpoint: &Endpoint,
        server: SocketAddr,
        server_name: &str,
    ) -> Result<Self> {
        let quic = endpoint
            .connect(server, server_name)
            .context("starting a QUIC connection")?
            .await
            .with_context(|| format!("QUIC handshake with {server}"))?;
        let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(quic.clone()))
            .await
            .context("HTTP/3 connection setup")?;
        tokio::spawn(async move {
            // Ends when the connection closes, for whatever reason.
            let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
        });
        Ok(H3Conn { quic, send })
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.quic.close_reason().is_some()
    }

    /// GETs the absolute `uri` (`https://host/path`) and reads the whole body.
    pub async fn get(&mut self, uri: &Uri) -> Result<Outcome> {
        let req = Request::get(uri.clone()).body(())?;
        let mut stream = self.send.send_request(req).await?;
        stream.finish().await?;
        let response = stream.recv_response().await?;
        let status = response.status().as_u16();
        let x_cache: Option<HeaderValue> = response.headers().get(X_CACHE).cloned();
        let mut bytes = 0u64;
        while let Some(chunk) = stream.recv_data().await? {
            bytes += chunk.remaining() as u64;
        }
        Ok(Outcome {
            status,
            x_cache,
            bytes,
        })
    }
}

impl Drop for H3Conn {
    fn drop(&mut self) {
        self.quic.close(VarInt::from_u32(H3_NO_ERROR), b"");
    }
}
