//! Upstream metrics, registered into the caller's Prometheus registry.
//!
//! The `parent` label is the parent's authority (`host:port`), a short fixed set.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `ferrocast_edge_upstream_first_byte_seconds` | histogram | `parent`, `request` | request sent (pool checkout and connect included) → response head; `request` is `blocking` for LL-HLS blocking playlist requests, else `normal` |
//! | `ferrocast_edge_upstream_responses_total` | counter | `parent`, `status` | response heads received, by status code |
//! | `ferrocast_edge_upstream_errors_total` | counter | `parent`, `error` | failures by [`ParentError::label`] (body errors included) |
//! | `ferrocast_edge_upstream_failovers_total` | counter | | fetches answered by a parent other than their first attempt |
//! | `ferrocast_edge_upstream_parent_healthy` | gauge | `parent` | 1 while the parent is considered healthy, else 0 |

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use super::error::ParentError;

/// Buckets (seconds) of the first-byte histogram: from a pooled hit at a nearby
/// mid-tier (sub-ms) to a blocking playlist request held for three target durations.
pub const FIRST_BYTE_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0,
];

/// Handles into the registry; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ParentMetrics {
    first_byte: HistogramVec,
    responses: IntCounterVec,
    errors: IntCounterVec,
    failovers: IntCounter,
    healthy: IntGaugeVec,
}

impl ParentMetrics {
    /// Create the metrics and register them into `registry`.
    pub(crate) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let first_byte = HistogramVec::new(
            HistogramOpts::new(
                "ferrocast_edge_upstream_first_byte_seconds",
                "Time from sending a request to a parent to its response head",
            )
            .buckets(FIRST_BYTE_BUCKETS.to_vec()),
            &["parent", "request"],
        )?;
        let responses = IntCounterVec::new(
            Opts::new(
                "ferrocast_edge_upstream_responses_total",
                "Response heads received from parents, by status code",
            ),
            &["parent", "status"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "ferrocast_edge_upstream_errors_total",
                "Failed requests and response bodies, by parent and kind of failure",
            ),
            &["parent", "error"],
        )?;
        let failovers = IntCounter::new(
            "ferrocast_edge_upstream_failovers_total",
            "Fetches answered by a parent other than the first one tried",
        )?;
        let healthy = IntGaugeVec::new(
            Opts::new(
                "ferrocast_edge_upstream_parent_healthy",
                "1 while a parent is considered healthy, else 0",
            ),
            &["parent"],
        )?;
        registry.register(Box::new(first_byte.clone()))?;
        registry.register(Box::new(responses.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(failovers.clone()))?;
        registry.register(Box::new(healthy.clone()))?;
        Ok(Self {
            first_byte,
            responses,
            errors,
            failovers,
            healthy,
        })
    }

    /// A response head arrived from `parent` after `seconds`.
    pub(crate) fn response(&self, parent: &str, blocking: bool, status: u16, seconds: f64) {
        let request = if blocking { "blocking" } else { "normal" };
        self.first_byte
            .with_label_values(&[parent, request])
            .observe(seconds);
        self.responses
            .with_label_values(&[parent, &status.to_string()])
            .inc();
    }

    /// A request or body at `parent` failed.
    pub(crate) fn error(&self, parent: &str, error: &ParentError) {
        self.errors
            .with_label_values(&[parent, error.label()])
            .inc();
    }

    /// A fetch was answered by a later parent than its first attempt.
    pub(crate) fn failover(&self) {
        self.failovers.inc();
    }

    /// `parent` is now considered healthy (or not).
    pub(crate) fn set_healthy(&self, parent: &str, healthy: bool) {
        self.healthy
            .with_label_values(&[parent])
            .set(i64::from(healthy));
    }
}
