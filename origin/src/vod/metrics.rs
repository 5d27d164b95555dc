//! VOD metrics.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

/// Counters and gauges of the job runner.
#[derive(Debug, Clone)]
pub struct VodMetrics {
    /// `ferrocast_vod_jobs_total{result="ready"|"failed"}`.
    pub jobs: IntCounterVec,
    /// `ferrocast_vod_jobs_running`.
    pub jobs_running: IntGauge,
    /// `ferrocast_vod_transcode_seconds`: wall time per transcode.
    pub transcode_seconds: Histogram,
    /// `ferrocast_vod_recordings_total{result}`: live-to-VOD recordings.
    pub recordings: IntCounterVec,
}

impl VodMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let jobs = IntCounterVec::new(
            Opts::new("ferrocast_vod_jobs_total", "VOD jobs finished, by result"),
            &["result"],
        )?;
        let jobs_running = IntGauge::new("ferrocast_vod_jobs_running", "VOD jobs running now")?;
        let transcode_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "ferrocast_vod_transcode_seconds",
                "Wall time of a VOD transcode",
            )
            .buckets(vec![1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0]),
        )?;
        let recordings = IntCounterVec::new(
            Opts::new(
                "ferrocast_vod_recordings_total",
                "Live-to-VOD recordings finished, by result",
            ),
            &["result"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(jobs_running.clone()))?;
        registry.register(Box::new(transcode_seconds.clone()))?;
        registry.register(Box::new(recordings.clone()))?;
        Ok(Self {
            jobs,
            jobs_running,
            transcode_seconds,
            recordings,
        })
    }
}
