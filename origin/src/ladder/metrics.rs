//! The live ladder's Prometheus metrics, per channel.

use prometheus::{CounterVec, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// `ferrocast_ladder_*`.
#[derive(Clone)]
pub struct LadderMetrics {
    /// `ferrocast_ladder_realtime_factor{channel}`: media seconds encoded per second
    /// of encoding work over the last few seconds (below 1: falling behind).
    pub realtime_factor: GaugeVec,
    /// `ferrocast_ladder_renditions_active{channel}`: renditions being encoded.
    pub renditions_active: IntGaugeVec,
    /// `ferrocast_ladder_shed_total{channel}`: renditions dropped for lagging.
    pub shed: IntCounterVec,
    /// `ferrocast_ladder_input_dropped_total{channel,reason}`: source frames the
    /// ladder did not encode: `queue_full` (ingest never waits for the ladder) or
    /// `behind` (skipped to the next key frame to bound latency).
    pub input_dropped: IntCounterVec,
    /// `ferrocast_ladder_encode_seconds_total{channel}`: wall seconds spent
    /// decoding, scaling and encoding.
    pub encode_seconds: CounterVec,
    /// `ferrocast_ladder_lag_seconds{channel}`: how long the last source frame
    /// waited for the ladder.
    pub lag_seconds: GaugeVec,
}

impl LadderMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let opts = Opts::new;
        let m = Self {
            realtime_factor: GaugeVec::new(
                opts(
                    "ferrocast_ladder_realtime_factor",
                    "Live ladder: media seconds encoded per second of encoding work",
                ),
                &["channel"],
            )?,
            renditions_active: IntGaugeVec::new(
                opts(
                    "ferrocast_ladder_renditions_active",
                    "Live ladder: renditions being encoded",
                ),
                &["channel"],
            )?,
            shed: IntCounterVec::new(
                opts(
                    "ferrocast_ladder_shed_total",
                    "Live ladder: renditions dropped because the ladder fell behind",
                ),
                &["channel"],
            )?,
            input_dropped: IntCounterVec::new(
                opts(
                    "ferrocast_ladder_input_dropped_total",
                    "Live ladder: source frames not encoded (queue full, or skipped when behind)",
                ),
                &["channel", "reason"],
            )?,
            encode_seconds: CounterVec::new(
                opts(
                    "ferrocast_ladder_encode_seconds_total",
                    "Live ladder: wall seconds spent decoding, scaling and encoding",
                ),
                &["channel"],
            )?,
            lag_seconds: GaugeVec::new(
                opts(
                    "ferrocast_ladder_lag_seconds",
                    "Live ladder: how long the last source frame waited for the ladder",
                ),
                &["channel"],
            )?,
        };
        registry.register(Box::new(m.realtime_factor.clone()))?;
        registry.register(Box::new(m.renditions_active.clone()))?;
        registry.register(Box::new(m.shed.clone()))?;
        registry.register(Box::new(m.input_dropped.clone()))?;
        registry.register(Box::new(m.encode_seconds.clone()))?;
        registry.register(Box::new(m.lag_seconds.clone()))?;
        Ok(m)
    }
}
