//! Parent health: active checks (`GET {parent}/healthz`) plus a passive mark-down
//! when a fetch cannot connect.
//!
//! - A check passes on a 2xx response whose body (at most [`HEALTH_BODY_LIMIT`]
//!   bytes) arrives within `health_timeout`; anything else fails it.
//! - [`FAILS_TO_MARK_DOWN`] consecutive failed checks mark a parent unhealthy;
//!   [`PASSES_TO_MARK_UP`] consecutive passes mark it healthy again. A single lost
//!   check does not flap a parent.
//! - A fetch that cannot connect to a parent marks it unhealthy at once
//!   (`HealthState::mark_down`); only the checker brings it back.
//! - Parents start healthy, so fetches work before the first round of checks.
//!
//! Health is a hint, not a wall: [`Parents::fetch`](super::Parents::fetch) tries
//! healthy parents first and unhealthy ones after them, both in hash order.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::Parents;

/// Consecutive failed checks after which a parent is marked unhealthy.
pub const FAILS_TO_MARK_DOWN: u32 = 2;
/// Consecutive passed checks after which an unhealthy parent is healthy again.
pub const PASSES_TO_MARK_UP: u32 = 2;
/// Largest `/healthz` body read; a longer one fails the check. Reading the body to
/// its end returns the connection to the pool.
pub const HEALTH_BODY_LIMIT: usize = 4096;
/// The path checked on every parent.
pub const HEALTH_PATH: &str = "/healthz";

/// One parent's health: the flag fetches read, and the streaks the checker counts.
#[derive(Debug)]
pub(crate) struct HealthState {
    healthy: AtomicBool,
    fails: AtomicU32,
    passes: AtomicU32,
}

impl HealthState {
    /// A parent presumed healthy.
    pub(crate) fn new() -> Self {
        Self {
            healthy: AtomicBool::new(true),
            fails: AtomicU32::new(0),
            passes: AtomicU32::new(0),
        }
    }

    /// Whether the parent is considered healthy.
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Count one check result; returns the new state when it changed.
    pub(crate) fn handle_check(&self, passed: bool) -> Option<bool> {
        if passed {
            self.fails.store(0, Ordering::Relaxed);
            let passes = self
                .passes
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            if passes >= PASSES_TO_MARK_UP && !self.healthy.swap(true, Ordering::Relaxed) {
                return Some(true);
            }
        } else {
            self.passes.store(0, Ordering::Relaxed);
            let fails = self.fails.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            if fails >= FAILS_TO_MARK_DOWN && self.healthy.swap(false, Ordering::Relaxed) {
                return Some(false);
            }
        }
        None
    }

    /// Mark the parent unhealthy now (a fetch could not connect); returns whether it
    /// was healthy before.
    pub(crate) fn mark_down(&self) -> bool {
        self.passes.store(0, Ordering::Relaxed);
        self.healthy.swap(false, Ordering::Relaxed)
    }
}

impl Parents {
    /// Run health checks every `health_interval` until `shutdown` becomes `true` (or
    /// its sender is dropped). Spawn it once per [`Parents`].
    pub async fn run_health_checks(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.config.health_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if *shutdown.borrow_and_update() {
                return;
            }
            tokio::select! {
                _ = ticks.tick() => self.check_all().await,
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// One round: check every parent concurrently and record the results.
    async fn check_all(&self) {
        let checks = self.parents.iter().map(|parent| async move {
            let passed = self.check(parent).await;
            if let Some(now) = parent.health.handle_check(passed) {
                self.metrics.set_healthy(&parent.name, now);
                if now {
                    tracing::info!(parent = %parent.name, "parent healthy again");
                } else {
                    tracing::warn!(parent = %parent.name, "parent marked unhealthy by health checks");
                }
            }
        });
        futures_util::future::join_all(checks).await;
    }

    /// One check of one parent: 2xx with a small body within `health_timeout`.
    async fn check(&self, parent: &super::Parent) -> bool {
        let attempt = async {
            let response = self
                .clients
                .send(&parent.endpoint, HEALTH_PATH, &http::HeaderMap::new())
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| super::error::chain(&e))?;
            let status = response.status();
            Limited::new(response.into_body(), HEALTH_BODY_LIMIT)
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(status.is_success())
        };
        match tokio::time::timeout(self.config.health_timeout, attempt).await {
            Ok(Ok(passed)) => passed,
            Ok(Err(reason)) => {
                tracing::debug!(parent = %parent.name, %reason, "health check failed");
                false
            }
            Err(_) => {
                tracing::debug!(parent = %parent.name, "health check timed out");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaks_flip_the_state() {
        let state = HealthState::new();
        assert!(state.is_healthy());
        assert_eq!(state.handle_check(false), None, "one lost check is no flap");
        assert_eq!(state.handle_check(true), None);
        assert_eq!(state.handle_check(false), None);
        assert_eq!(state.handle_check(false), Some(false));
        assert!(!state.is_healthy());
        assert_eq!(state.handle_check(false), None);
        assert_eq!(state.handle_check(true), None);
        assert_eq!(state.handle_check(true), Some(true));
        assert!(state.is_healthy());
    }

    #[test]
    fn mark_down_needs_passes_to_come_back() {
        let state = HealthState::new();
        state.handle_check(true);
        assert!(state.mark_down());
        assert!(!state.mark_down());
        assert_eq!(state.handle_check(true), None);
        assert_eq!(state.handle_check(true), Some(true));
    }
}
