//! Upload metrics (Prometheus, in the origin's registry).

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// Counters of the tus endpoint.
#[derive(Clone)]
pub struct UploadMetrics {
    /// `ferrocast_uploads_started_total`: uploads created (POST).
    pub started: IntCounter,
    /// `ferrocast_uploads_completed_total`: uploads that became an asset.
    pub completed: IntCounter,
    /// `ferrocast_uploads_failed_total{reason}`: uploads ended without an asset
    /// (`terminated`, `expired`) and PATCHes that failed (`disk_full`, `io`,
    /// `catalog`, `too_large`).
    pub failed: IntCounterVec,
    /// `ferrocast_upload_bytes_total`: bytes stored from PATCH bodies.
    pub bytes: IntCounter,
}

impl UploadMetrics {
    /// Creates the counters and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            started: IntCounter::new("ferrocast_uploads_started_total", "tus uploads created")?,
            completed: IntCounter::new(
                "ferrocast_uploads_completed_total",
                "tus uploads completed (an asset was created)",
            )?,
            failed: IntCounterVec::new(
                Opts::new(
                    "ferrocast_uploads_failed_total",
                    "tus uploads ended without an asset, and failed PATCH requests",
                ),
                &["reason"],
            )?,
            bytes: IntCounter::new(
                "ferrocast_upload_bytes_total",
                "Bytes of tus PATCH bodies stored",
            )?,
        };
        registry.register(Box::new(m.started.clone()))?;
        registry.register(Box::new(m.completed.clone()))?;
        registry.register(Box::new(m.failed.clone()))?;
        registry.register(Box::new(m.bytes.clone()))?;
        Ok(m)
    }
}
