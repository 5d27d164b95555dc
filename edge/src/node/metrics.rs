//! The edge node's cache metrics (`ferrocast_edge_cache_*`), registered into the
//! same registry `/metrics` renders. Delivery metrics (requests, bytes out, open
//! connections) are the pipeline's ([`crate::metrics`]); upstream latency and errors
//! per parent are [`crate::parent`]'s.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Where a lookup was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePhase {
    /// Fresh in the memory tier.
    MemoryHit,
    /// Fresh in the disk tier.
    DiskHit,
    /// Served stale while one request revalidates (RFC 5861 §3).
    StaleWhileRevalidate,
    /// Served stale because the upstream failed (RFC 5861 §4).
    StaleIfError,
    /// Fetched upstream by this request.
    Miss,
    /// Joined another request's upstream fetch (read-while-write).
    Coalesced,
}

impl CachePhase {
    /// Label value in metrics and the `x-cache` response field.
    pub fn label(self) -> &'static str {
        match self {
            CachePhase::MemoryHit => "hit-memory",
            CachePhase::DiskHit => "hit-disk",
            CachePhase::StaleWhileRevalidate => "stale-revalidate",
            CachePhase::StaleIfError => "stale-error",
            CachePhase::Miss => "miss",
            CachePhase::Coalesced => "coalesced",
        }
    }
}

/// Cache counters and gauges.
#[derive(Clone, Debug)]
pub struct CacheMetrics {
    lookups: IntCounterVec,
    /// Objects written to the disk tier.
    pub disk_writes: IntCounter,
    /// Disk writes dropped because the writer was busy.
    pub disk_writes_dropped: IntCounter,
    /// Memory-tier evictions refused by admission (one-hit wonders).
    pub admission_rejected: IntCounter,
    /// Bytes held by the memory tier.
    pub memory_bytes: IntGauge,
    /// Bytes used in the disk tier's store files.
    pub disk_used_bytes: IntGauge,
    /// Disk tier capacity.
    pub disk_capacity_bytes: IntGauge,
    /// Objects the disk ring overwrote.
    pub disk_evictions: IntGauge,
    /// Disk records dropped for a bad checksum.
    pub disk_corrupt: IntGauge,
    /// Objects removed by the purge API.
    pub purged: IntCounter,
}

impl CacheMetrics {
    /// Registers the cache metrics into `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let lookups = IntCounterVec::new(
            Opts::new(
                "ferrocast_edge_cache_lookups_total",
                "Requests by how the cache answered them (hit-memory, hit-disk, miss, coalesced, stale-*)",
            ),
            &["result"],
        )?;
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let m = Self {
            lookups,
            disk_writes: counter(
                "ferrocast_edge_cache_disk_writes_total",
                "Objects written to the disk tier",
            )?,
            disk_writes_dropped: counter(
                "ferrocast_edge_cache_disk_writes_dropped_total",
                "Disk writes skipped because the disk writer queue was full",
            )?,
            admission_rejected: counter(
                "ferrocast_edge_cache_admission_rejected_total",
                "Objects leaving memory that admission kept off the disk tier",
            )?,
            memory_bytes: gauge(
                "ferrocast_edge_cache_memory_bytes",
                "Bytes held by the memory tier",
            )?,
            disk_used_bytes: gauge(
                "ferrocast_edge_cache_disk_used_bytes",
                "Bytes of live records in the disk tier",
            )?,
            disk_capacity_bytes: gauge(
                "ferrocast_edge_cache_disk_capacity_bytes",
                "Size of the disk tier's store files",
            )?,
            disk_evictions: gauge(
                "ferrocast_edge_cache_disk_evictions",
                "Objects overwritten by the disk ring since start",
            )?,
            disk_corrupt: gauge(
                "ferrocast_edge_cache_disk_corrupt",
                "Disk records dropped for a bad checksum since start",
            )?,
            purged: counter(
                "ferrocast_edge_cache_purged_total",
                "Objects removed by the purge API",
            )?,
        };
        registry.register(Box::new(m.lookups.clone()))?;
        for c in [
            &m.disk_writes,
            &m.disk_writes_dropped,
            &m.admission_rejected,
            &m.purged,
        ] {
            registry.register(Box::new(c.clone()))?;
        }
        for g in [
            &m.memory_bytes,
            &m.disk_used_bytes,
            &m.disk_capacity_bytes,
            &m.disk_evictions,
            &m.disk_corrupt,
        ] {
            registry.register(Box::new(g.clone()))?;
        }
        Ok(m)
    }

    /// Counts one lookup.
    pub fn lookup(&self, phase: CachePhase) {
        self.lookups.with_label_values(&[phase.label()]).inc();
    }
}
