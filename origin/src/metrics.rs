//! The origin's own Prometheus metrics (the delivery pipeline registers its request
//! metrics in the same registry).

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Ingest and packaging metrics.
#[derive(Clone)]
pub struct OriginMetrics {
    /// `ferrocast_publishers`: publishers currently connected.
    pub publishers: IntGauge,
    /// `ferrocast_channel_live{channel}`: 1 while a channel is live (incl. grace).
    pub channel_live: IntGaugeVec,
    /// `ferrocast_ingest_bytes_total{channel}`: media payload bytes received; its
    /// rate is the ingest bitrate.
    pub ingest_bytes: IntCounterVec,
    /// `ferrocast_ingest_frames_total{channel,kind}`: access units received.
    pub ingest_frames: IntCounterVec,
    /// `ferrocast_parts_produced_total{channel}`: LL-HLS parts / CMAF chunks produced.
    pub parts_produced: IntCounterVec,
    /// `ferrocast_publish_rejected_total{reason}`: refused publish attempts.
    pub publish_rejected: IntCounterVec,
    /// `ferrocast_blocking_requests_waiting`: LL-HLS blocking requests being held.
    pub blocking_waiting: IntGauge,
    /// `ferrocast_ingest_handshake_failures_total{protocol}`: connections dropped
    /// before any publish request (a failed RTMPS TLS handshake, garbage).
    pub handshake_failures: IntCounterVec,
    /// `ferrocast_ingest_input_errors_total{protocol,kind}`: damaged input a live
    /// publisher sent and the connection survived (TS continuity errors, sync
    /// losses, PMT changes, malformed frames, …).
    pub input_errors: IntCounterVec,
}

impl OriginMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            publishers: IntGauge::new("ferrocast_publishers", "Publishers currently connected")?,
            channel_live: IntGaugeVec::new(
                Opts::new(
                    "ferrocast_channel_live",
                    "1 while a channel is live (including the reconnect grace period)",
                ),
                &["channel"],
            )?,
            ingest_bytes: IntCounterVec::new(
                Opts::new(
                    "ferrocast_ingest_bytes_total",
                    "Media payload bytes received from publishers",
                ),
                &["channel"],
            )?,
            ingest_frames: IntCounterVec::new(
                Opts::new(
                    "ferrocast_ingest_frames_total",
                    "Access units received from publishers",
                ),
                &["channel", "kind"],
            )?,
            parts_produced: IntCounterVec::new(
                Opts::new(
                    "ferrocast_parts_produced_total",
                    "LL-HLS parts (CMAF chunks) produced",
                ),
                &["channel"],
            )?,
            publish_rejected: IntCounterVec::new(
                Opts::new(
                    "ferrocast_publish_rejected_total",
                    "Publish attempts refused",
                ),
                &["reason"],
            )?,
            handshake_failures: IntCounterVec::new(
                Opts::new(
                    "ferrocast_ingest_handshake_failures_total",
                    "Ingest connections dropped before a publish request",
                ),
                &["protocol"],
            )?,
            input_errors: IntCounterVec::new(
                Opts::new(
                    "ferrocast_ingest_input_errors_total",
                    "Damaged input from live publishers, skipped or repaired",
                ),
                &["protocol", "kind"],
            )?,
            blocking_waiting: IntGauge::new(
                "ferrocast_blocking_requests_waiting",
                "LL-HLS blocking playlist and part requests currently held",
            )?,
        };
        registry.register(Box::new(m.publishers.clone()))?;
        registry.register(Box::new(m.channel_live.clone()))?;
        registry.register(Box::new(m.ingest_bytes.clone()))?;
        registry.register(Box::new(m.ingest_frames.clone()))?;
        registry.register(Box::new(m.parts_produced.clone()))?;
        registry.register(Box::new(m.publish_rejected.clone()))?;
        registry.register(Box::new(m.blocking_waiting.clone()))?;
        registry.register(Box::new(m.handshake_failures.clone()))?;
        registry.register(Box::new(m.input_errors.clone()))?;
        Ok(m)
    }
}

/// Decrements a gauge when dropped: keeps "waiting" gauges right on every exit path.
pub struct GaugeGuard(IntGauge);

impl GaugeGuard {
    /// Increments `gauge` now, decrements it on drop.
    pub fn new(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
