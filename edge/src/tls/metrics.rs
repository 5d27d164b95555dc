//! Certificate metrics, registered into the node's registry.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `ferrocast_tls_reloads_total` | counter | `result` = `ok`, `error` | reloads of the `[tls]` files (SIGHUP or a changed file); an error keeps the previous certificates |
//! | `ferrocast_acme_orders_total` | counter | `result` = `ok`, `error` | ACME orders finished (RFC 8555 §7.4) |
//! | `ferrocast_acme_certificate_expiry_seconds` | gauge | `name` | seconds until the ACME certificate for `name` expires (negative once expired) |

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// Handles into the registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct TlsMetrics {
    reloads: IntCounterVec,
    orders: IntCounterVec,
    expiry: IntGaugeVec,
}

impl TlsMetrics {
    /// Registers the metrics into `registry` (once per registry).
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let reloads = IntCounterVec::new(
            Opts::new(
                "ferrocast_tls_reloads_total",
                "Reloads of the [tls] certificate files, by result",
            ),
            &["result"],
        )?;
        let orders = IntCounterVec::new(
            Opts::new("ferrocast_acme_orders_total", "ACME orders, by result"),
            &["result"],
        )?;
        let expiry = IntGaugeVec::new(
            Opts::new(
                "ferrocast_acme_certificate_expiry_seconds",
                "Seconds until the ACME certificate of a name expires",
            ),
            &["name"],
        )?;
        registry.register(Box::new(reloads.clone()))?;
        registry.register(Box::new(orders.clone()))?;
        registry.register(Box::new(expiry.clone()))?;
        for result in ["ok", "error"] {
            reloads.with_label_values(&[result]);
            orders.with_label_values(&[result]);
        }
        Ok(Self {
            reloads,
            orders,
            expiry,
        })
    }

    /// Metrics in a registry of their own (tests, nodes without `/metrics`).
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("a fresh registry accepts every metric")
    }

    /// Counts one reload.
    pub fn reload(&self, ok: bool) {
        self.reloads
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .inc();
    }

    /// Reloads counted so far with `ok`.
    pub fn reloads(&self, ok: bool) -> u64 {
        self.reloads
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .get()
    }

    /// Counts one finished ACME order.
    pub fn order(&self, ok: bool) {
        self.orders
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .inc();
    }

    /// Sets the seconds until `name`'s certificate expires.
    pub fn expires_in(&self, name: &str, seconds: i64) {
        self.expiry.with_label_values(&[name]).set(seconds);
    }
}
