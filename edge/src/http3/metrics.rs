//! HTTP/3 listener metrics (requests themselves are counted by the pipeline's
//! `ferrocast_http_*` metrics, with `version` visible in the logs).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `ferrocast_http3_connections_open` | gauge | | QUIC connections being served |
//! | `ferrocast_http3_connections_total` | counter | `result` | handshakes: `ok`, `failed`, `timed_out` |
//! | `ferrocast_http3_connections_refused_total` | counter | `reason` | `rate` (`max_new_connections_per_ip`), `full` (`max_connections`) |
//! | `ferrocast_http3_datagrams_dropped_total` | counter | `reason` | datagrams that are not QUIC we accept: `not_quic`, `unknown_version`, `undersized_initial` |
//! | `ferrocast_http3_requests_refused_total` | counter | `reason` | `oversized_headers` (431), `malformed` |
//! | `ferrocast_http3_early_requests_total` | counter | `result` | 0-RTT requests: `served` (GET/HEAD), `delayed` (waited for the handshake) |
//! | `ferrocast_http3_udp_segments` | gauge | `direction` | GSO (`send`) / GRO (`receive`) segments per system call the socket supports (1: none) |

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// See the module docs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Http3Metrics {
    /// `ferrocast_http3_connections_open`.
    pub open: IntGauge,
    /// `ferrocast_http3_connections_total{result}`.
    pub handshakes: IntCounterVec,
    /// `ferrocast_http3_connections_refused_total{reason}`.
    pub refused: IntCounterVec,
    /// `ferrocast_http3_datagrams_dropped_total{reason}`.
    pub dropped: IntCounterVec,
    /// `ferrocast_http3_requests_refused_total{reason}`.
    pub requests_refused: IntCounterVec,
    /// `ferrocast_http3_early_requests_total{result}`.
    pub early: IntCounterVec,
    /// `ferrocast_http3_udp_segments{direction}`.
    pub segments: IntGaugeVec,
}

impl Http3Metrics {
    /// Registers the metrics into `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let counter = |name: &str, help: &str, label: &str| -> Result<_, prometheus::Error> {
            let c = IntCounterVec::new(Opts::new(name, help), &[label])?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let open = IntGauge::new(
            "ferrocast_http3_connections_open",
            "QUIC connections being served",
        )?;
        registry.register(Box::new(open.clone()))?;
        let segments = IntGaugeVec::new(
            Opts::new(
                "ferrocast_http3_udp_segments",
                "GSO (send) and GRO (receive) segments per system call (1: no offload)",
            ),
            &["direction"],
        )?;
        registry.register(Box::new(segments.clone()))?;
        Ok(Self {
            open,
            handshakes: counter(
                "ferrocast_http3_connections_total",
                "QUIC handshakes by result",
                "result",
            )?,
            refused: counter(
                "ferrocast_http3_connections_refused_total",
                "QUIC connections refused before the handshake",
                "reason",
            )?,
            dropped: counter(
                "ferrocast_http3_datagrams_dropped_total",
                "UDP datagrams on the HTTP/3 port that are not QUIC we accept",
                "reason",
            )?,
            requests_refused: counter(
                "ferrocast_http3_requests_refused_total",
                "HTTP/3 requests refused before the pipeline",
                "reason",
            )?,
            early: counter(
                "ferrocast_http3_early_requests_total",
                "requests received in 0-RTT",
                "result",
            )?,
            segments,
        })
    }
}
