//! Which new QUIC connections are accepted: at most `max_connections` open, and
//! per client IP a token bucket of `max_new_connections_per_ip` per second (burst
//! twice that). A refused client gets CONNECTION_REFUSED (RFC 9000 §20.1) before any
//! handshake work is spent on it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before idle ones are pruned.
const PRUNE_ABOVE: usize = 4096;

/// The decision for one new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead with the handshake.
    Accept,
    /// This address opens connections too fast.
    RateLimited,
    /// `max_connections` are open.
    Full,
}

impl Admission {
    /// The metric label of a refusal.
    pub fn label(self) -> &'static str {
        match self {
            Admission::Accept => "accepted",
            Admission::RateLimited => "rate",
            Admission::Full => "full",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// See the module docs.
#[derive(Debug)]
pub struct AdmissionControl {
    max_connections: usize,
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl AdmissionControl {
    /// `per_ip_per_second` new connections per address (burst: twice that).
    pub fn new(max_connections: usize, per_ip_per_second: u32) -> Self {
        let per_second = f64::from(per_ip_per_second.max(1));
        Self {
            max_connections,
            per_second,
            burst: per_second * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Decides for a new connection from `ip` while `open` are open.
    pub fn admit(&self, ip: IpAddr, open: usize, now: Instant) -> Admission {
        if open >= self.max_connections {
            return Admission::Full;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let full_after = self.burst / self.per_second;
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < full_after);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Admission::RateLimited;
        }
        bucket.tokens -= 1.0;
        Admission::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_per_address_and_in_total() {
        let control = AdmissionControl::new(3, 2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        // Burst of 4, then refused until tokens refill at 2/s.
        for _ in 0..4 {
            assert_eq!(control.admit(a, 0, t0), Admission::Accept);
        }
        assert_eq!(control.admit(a, 0, t0), Admission::RateLimited);
        assert_eq!(control.admit(b, 0, t0), Admission::Accept);
        assert_eq!(
            control.admit(a, 0, t0 + Duration::from_millis(500)),
            Admission::Accept
        );
        assert_eq!(
            control.admit(a, 0, t0 + Duration::from_millis(500)),
            Admission::RateLimited
        );
        assert_eq!(control.admit(b, 3, t0), Admission::Full);
    }
}
