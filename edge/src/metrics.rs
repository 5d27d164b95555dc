//! Delivery metrics, registered into a registry the caller owns.
//!
//! The origin (and later the edge binary) creates one `prometheus::Registry`, hands it
//! to [`Pipeline::new`](crate::pipeline::Pipeline::new) — which registers these — and
//! registers its own metrics (publishers, ingest bitrate, parts, blocking requests) into
//! the same registry. `/metrics` renders that whole registry.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `ferrocast_http_requests_total` | counter | `kind`, `status` | responses by [`ObjectKind::label`] and status code |
//! | `ferrocast_http_request_duration_seconds` | histogram | `kind` | request arrival → response head ready (includes blocking-reload waits) |
//! | `ferrocast_http_response_body_bytes_total` | counter | `kind` | body bytes handed to the transport |
//! | `ferrocast_http_requests_in_flight` | gauge | | requests received whose response body is not finished (or dropped) yet |
//! | `ferrocast_http_connections_open` | gauge | | TCP connections being served (HTTP/1.1 and HTTP/2, TLS included) |
//! | `ferrocast_http_connections_rejected_total` | counter | | connections closed on accept because `max_connections` were open |
//! | `ferrocast_http_connections_timed_out_total` | counter | `reason` | connections closed by a limit: `header` (request head too slow), `idle` (keep-alive idle) |

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::body::{BodyGuard, InFlight};
use crate::upstream::ObjectKind;

/// Buckets (seconds) for the duration histogram: from a cached part (sub-ms) to a
/// blocking playlist reload held for three target durations (several seconds).
pub const DURATION_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Failure to register the delivery metrics (typically: registered twice into one
/// registry).
#[derive(Debug, thiserror::Error)]
#[error("registering delivery metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// The delivery pipeline's metrics. Cheap to clone (handles into the registry).
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    bytes: IntCounterVec,
    in_flight: IntGauge,
    connections: ConnectionMetrics,
}

/// Listener-level counters: open, rejected and timed-out connections.
#[derive(Clone, Debug)]
pub struct ConnectionMetrics {
    /// `ferrocast_http_connections_open`.
    pub open: IntGauge,
    /// `ferrocast_http_connections_rejected_total`.
    pub rejected: IntCounter,
    /// `ferrocast_http_connections_timed_out_total{reason}`.
    pub timed_out: IntCounterVec,
    /// `ferrocast_http_sendfile_bytes_total`: disk-hit body bytes sent with
    /// `sendfile(2)` (`[cache.disk] sendfile`, plain-TCP HTTP/1.1).
    pub sendfile_bytes: IntCounter,
}

impl ConnectionMetrics {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let open = IntGauge::new(
            "ferrocast_http_connections_open",
            "TCP connections being served",
        )?;
        let rejected = IntCounter::new(
            "ferrocast_http_connections_rejected_total",
            "Connections closed on accept because max_connections were open",
        )?;
        let timed_out = IntCounterVec::new(
            Opts::new(
                "ferrocast_http_connections_timed_out_total",
                "Connections closed by the header or idle timeout",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(open.clone()))?;
        registry.register(Box::new(rejected.clone()))?;
        let sendfile_bytes = IntCounter::new(
            "ferrocast_http_sendfile_bytes_total",
            "Disk-hit body bytes sent with sendfile(2) on plain-TCP connections",
        )?;
        registry.register(Box::new(timed_out.clone()))?;
        registry.register(Box::new(sendfile_bytes.clone()))?;
        Ok(Self {
            open,
            rejected,
            timed_out,
            sendfile_bytes,
        })
    }
}

impl HttpMetrics {
    /// Create the metrics and register them into `registry`.
    pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
        let requests = IntCounterVec::new(
            Opts::new(
                "ferrocast_http_requests_total",
                "HTTP responses by object kind and status code",
            ),
            &["kind", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "ferrocast_http_request_duration_seconds",
                "Time from request arrival to response head, by object kind",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["kind"],
        )?;
        let bytes = IntCounterVec::new(
            Opts::new(
                "ferrocast_http_response_body_bytes_total",
                "Response body bytes handed to the transport, by object kind",
            ),
            &["kind"],
        )?;
        let in_flight = IntGauge::new(
            "ferrocast_http_requests_in_flight",
            "Requests received whose response body is not finished yet",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(bytes.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        let connections = ConnectionMetrics::register(registry)?;
        Ok(Self {
            registry: registry.clone(),
            requests,
            duration,
            bytes,
            in_flight,
            connections,
        })
    }

    /// Count one response whose head is ready after `elapsed`.
    pub fn observe(&self, kind: ObjectKind, status: http::StatusCode, elapsed: Duration) {
        self.requests
            .with_label_values(&[kind.label(), status.as_str()])
            .inc();
        self.duration
            .with_label_values(&[kind.label()])
            .observe(elapsed.as_secs_f64());
    }

    /// Count a request as in flight until the returned value (or the body guard it
    /// becomes) is dropped.
    pub(crate) fn in_flight_guard(&self) -> InFlight {
        InFlight::new(self.in_flight.clone())
    }

    /// A guard that counts body bytes for `kind` and keeps `in_flight` until the body
    /// is finished or dropped.
    pub(crate) fn body_guard(&self, kind: ObjectKind, in_flight: InFlight) -> BodyGuard {
        BodyGuard::new(self.bytes.with_label_values(&[kind.label()]), in_flight)
    }

    /// The listener's connection metrics.
    pub fn connections(&self) -> &ConnectionMetrics {
        &self.connections
    }

    /// Current value of the in-flight gauge.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// The whole registry (these metrics and everything else registered in it) in the
    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail on I/O; a metric with inconsistent label
        // sets would be a programming error elsewhere, surfaced as a partial page.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        out
    }

    /// The content type of [`render`](Self::render)'s output.
    pub fn content_type() -> &'static str {
        "text/plain; version=0.0.4; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_and_renders() {
        let registry = Registry::new();
        let m = HttpMetrics::register(&registry).unwrap();
        m.observe(
            ObjectKind::Part,
            http::StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = String::from_utf8(m.render()).unwrap();
        assert!(text.contains(r#"ferrocast_http_requests_total{kind="part",status="200"} 1"#));
        assert!(text.contains("ferrocast_http_request_duration_seconds_bucket"));
    }

    #[test]
    fn double_registration_is_an_error() {
        let registry = Registry::new();
        HttpMetrics::register(&registry).unwrap();
        assert!(HttpMetrics::register(&registry).is_err());
    }

    #[test]
    fn guard_counts_bytes_and_in_flight() {
        let m = HttpMetrics::register(&Registry::new()).unwrap();
        let g = m.body_guard(ObjectKind::Segment, m.in_flight_guard());
        assert_eq!(m.in_flight(), 1);
        drop(g);
        assert_eq!(m.in_flight(), 0);
    }
}
