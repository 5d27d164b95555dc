//! Rate limit for wrong stream keys, per client address (sans-IO: time is an input).
//!
//! Each address may fail [`MAX_FAILURES`] times within [`WINDOW`]; after that its
//! publish attempts are refused without asking the catalog until the window since its
//! first counted failure has passed. This makes guessing keys slow and keeps a
//! misconfigured encoder in a reconnect loop from loading the database, while other
//! addresses are unaffected. A successful publish clears the address's record.
//!
//! Memory is bounded: at most [`MAX_TRACKED`] addresses are remembered; when full,
//! records whose window has passed are dropped first, then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures allowed per address within [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The window over which failures are counted, and the length of a block.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    first: Instant,
    failures: u32,
}

/// The per-address failure counts.
#[derive(Debug, Default)]
pub struct KeyFailures {
    by_addr: HashMap<IpAddr, Record>,
}

impl KeyFailures {
    /// Whether `addr` may try a key at `now`.
    pub fn allowed(&mut self, addr: IpAddr, now: Instant) -> bool {
        match self.by_addr.get(&addr) {
            Some(r) if now.duration_since(r.first) >= WINDOW => {
                self.by_addr.remove(&addr);
                true
            }
            Some(r) => r.failures < MAX_FAILURES,
            None => true,
        }
    }

    /// `addr` presented a wrong key at `now`.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) {
        if !self.by_addr.contains_key(&addr) && self.by_addr.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let r = self.by_addr.entry(addr).or_insert(Record {
            first: now,
            failures: 0,
        });
        if now.duration_since(r.first) >= WINDOW {
            *r = Record {
                first: now,
                failures: 0,
            };
        }
        r.failures = r.failures.saturating_add(1);
    }

    /// `addr` published successfully: forget its failures.
    pub fn succeeded(&mut self, addr: IpAddr) {
        self.by_addr.remove(&addr);
    }

    /// Addresses currently remembered.
    pub fn tracked(&self) -> usize {
        self.by_addr.len()
    }

    fn make_room(&mut self, now: Instant) {
        self.by_addr
            .retain(|_, r| now.duration_since(r.first) < WINDOW);
        if self.by_addr.len() >= MAX_TRACKED {
            if let Some(oldest) = self
                .by_addr
                .iter()
                .min_by_key(|(_, r)| r.first)
                .map(|(a, _)| *a)
            {
                self.by_addr.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn an_address_is_blocked_after_the_allowed_failures_until_its_window_passes() {
        let mut f = KeyFailures::default();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(f.allowed(ip(1), t0), "attempt {i}");
            f.failed(ip(1), t0 + Duration::from_secs(u64::from(i)));
        }
        assert!(!f.allowed(ip(1), t0 + Duration::from_secs(10)));
        assert!(
            f.allowed(ip(2), t0 + Duration::from_secs(10)),
            "others are unaffected"
        );
        assert!(!f.allowed(ip(1), t0 + WINDOW - Duration::from_millis(1)));
        assert!(f.allowed(ip(1), t0 + WINDOW));
        assert_eq!(f.tracked(), 0, "an expired record is dropped");
    }

    #[test]
    fn success_clears_the_count() {
        let mut f = KeyFailures::default();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            f.failed(ip(1), t0);
        }
        f.succeeded(ip(1));
        f.failed(ip(1), t0);
        assert!(f.allowed(ip(1), t0));
    }

    #[test]
    fn memory_is_bounded() {
        let mut f = KeyFailures::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 500) {
            let addr = IpAddr::from(i.to_be_bytes());
            f.failed(addr, t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(f.tracked() <= MAX_TRACKED);
    }
}
