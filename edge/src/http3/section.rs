//! `[http3]`: the HTTP/3 listener's keys, shared by `ferrocast-edge` and
//! `ferrocast-origin` (each binary has its own default port).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default `[http3] listen` of the origin (the edge's is in its configuration).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8443";
/// Default `[http3] enabled`: on whenever `[tls]` has a certificate.
pub const DEFAULT_ENABLED: bool = true;
/// Default `[http3] max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default `[http3] max_new_connections_per_ip`: new connections per second one
/// address may open (twice that in a burst). A player opens one; a carrier-grade
/// NAT puts many players behind one address.
pub const DEFAULT_MAX_NEW_CONNECTIONS_PER_IP: u32 = 50;
/// Default `[http3] max_concurrent_streams`: requests in flight per connection
/// (LL-HLS players keep a blocking playlist request, a preload hint and a part or two
/// open; ABR probes add a few).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 128;
/// Default `[http3] idle_timeout_ms` (QUIC max_idle_timeout, RFC 9000 §10.1).
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 30_000;
/// Default `[http3] handshake_timeout_ms`.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Default `[http3] stream_receive_window`: what a client may send on one request
/// stream before we read it (API request bodies; players send none).
pub const DEFAULT_STREAM_RECEIVE_WINDOW: u64 = 1 << 20;
/// Default `[http3] receive_window`: the same for a whole connection.
pub const DEFAULT_RECEIVE_WINDOW: u64 = 4 << 20;
/// Default `[http3] send_window`: bytes in flight towards one client, sized so a
/// 2 MB segment and the next parts fit on a 100 ms path at ~150 Mbit/s.
pub const DEFAULT_SEND_WINDOW: u64 = 16 << 20;
/// Default `[http3] max_header_bytes`: largest request field section (RFC 9114
/// §4.2.2, SETTINGS_MAX_FIELD_SECTION_SIZE); larger ones get 431.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 16 << 10;
/// Default `[http3] early_data`: 0-RTT off (replayable; see the key's docs).
pub const DEFAULT_EARLY_DATA: bool = false;
/// Default `[http3] segmentation_offload`: GSO/GRO where the kernel has them.
pub const DEFAULT_SEGMENTATION_OFFLOAD: bool = true;
/// Default Alt-Svc lifetime advertised (`ma`, RFC 7838 §3.1): one day.
pub const ALT_SVC_MAX_AGE_S: u64 = 86_400;

/// `[http3]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http3Section {
    /// UDP address for HTTP/3.
    pub listen: SocketAddr,
    /// Serve HTTP/3 when `[tls]` is set (HTTP/3 always runs over TLS 1.3).
    pub enabled: bool,
    /// Connections served at once; more are refused (CONNECTION_REFUSED).
    pub max_connections: usize,
    /// New connections per second from one IP address (burst: twice this).
    pub max_new_connections_per_ip: u32,
    /// Concurrent requests (bidirectional streams) per connection.
    pub max_concurrent_streams: u32,
    /// Close a connection silent for this long.
    pub idle_timeout_ms: u64,
    /// Give up on a handshake that has not completed in this time.
    pub handshake_timeout_ms: u64,
    /// Flow-control window per request stream, client → server.
    pub stream_receive_window: u64,
    /// Flow-control window per connection, client → server.
    pub receive_window: u64,
    /// Bytes in flight per connection, server → client.
    pub send_window: u64,
    /// Largest request field section; 431 beyond it.
    pub max_header_bytes: u64,
    /// Accept 0-RTT data. Off by default: 0-RTT requests can be replayed by an
    /// attacker (RFC 9001 §9.2, RFC 8470). When on, only GET and HEAD are answered
    /// before the handshake completes; other methods wait for it.
    pub early_data: bool,
    /// Use UDP GSO/GRO (generic segmentation/receive offload) where available.
    pub segmentation_offload: bool,
}

impl Default for Http3Section {
    /// The defaults on the origin's port; the edge's configuration uses its own
    /// ([`Http3Section::listening_on`]).
    fn default() -> Self {
        Self::listening_on(DEFAULT_LISTEN)
    }
}

impl Http3Section {
    /// The defaults, listening on `listen`.
    pub fn listening_on(listen: &str) -> Self {
        Self {
            listen: listen.parse().expect("valid default address"),
            enabled: DEFAULT_ENABLED,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_new_connections_per_ip: DEFAULT_MAX_NEW_CONNECTIONS_PER_IP,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
            stream_receive_window: DEFAULT_STREAM_RECEIVE_WINDOW,
            receive_window: DEFAULT_RECEIVE_WINDOW,
            send_window: DEFAULT_SEND_WINDOW,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            early_data: DEFAULT_EARLY_DATA,
            segmentation_offload: DEFAULT_SEGMENTATION_OFFLOAD,
        }
    }

    /// Rejects values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 {
            return Err("[http3] max_connections must be at least 1".into());
        }
        if self.max_new_connections_per_ip == 0 {
            return Err("[http3] max_new_connections_per_ip must be at least 1".into());
        }
        if self.max_concurrent_streams == 0 {
            return Err("[http3] max_concurrent_streams must be at least 1".into());
        }
        if self.idle_timeout_ms == 0 || self.handshake_timeout_ms == 0 {
            return Err("[http3] idle_timeout_ms and handshake_timeout_ms must be > 0".into());
        }
        if self.stream_receive_window < 16 << 10
            || self.receive_window < self.stream_receive_window
            || self.send_window < 64 << 10
        {
            return Err(
                "[http3] windows: stream_receive_window >= 16 KiB, receive_window >= \
                 stream_receive_window, send_window >= 64 KiB"
                    .into(),
            );
        }
        if self.max_header_bytes < 4096 {
            return Err("[http3] max_header_bytes must be at least 4096".into());
        }
        Ok(())
    }

    /// `idle_timeout_ms` as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// `handshake_timeout_ms` as a duration.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
}
