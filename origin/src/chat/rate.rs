//! Token bucket per key (sans-IO: time is an input), bounded in memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// At most this many keys are remembered; full buckets are forgotten first.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// `burst` actions at once, then `per_second` on average, per key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    burst: f64,
    per_second: f64,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter allowing `burst` at once and `per_second` sustained.
    pub fn new(burst: u32, per_second: f64) -> Self {
        Self {
            burst: f64::from(burst),
            per_second,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `key` at `now`; `false` when there is none.
    pub fn allow(&mut self, key: &K, now: Instant) -> bool {
        if self.buckets.len() >= MAX_KEYS && !self.buckets.contains_key(key) {
            let (burst, rate) = (self.burst, self.per_second);
            self.buckets
                .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
            if self.buckets.len() >= MAX_KEYS {
                return false;
            }
        }
        let bucket = self.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_sustained_rate_per_key() {
        let mut r = RateLimiter::new(3, 1.0);
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.allow(&"a", t0)));
        assert!(!r.allow(&"a", t0));
        assert!(r.allow(&"b", t0), "keys are independent");
        assert!(!r.allow(&"a", t0 + Duration::from_millis(500)));
        assert!(r.allow(&"a", t0 + Duration::from_millis(1_100)));
    }
}
