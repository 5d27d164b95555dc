//! What the cache stores: an object's metadata and body, and its freshness.
//!
//! Times are milliseconds since the Unix epoch, passed in by the caller (the cache
//! never reads the clock itself, so tests run on a virtual clock). The HTTP meaning
//! of the fields (RFC 9111 §4.2 freshness, RFC 5861 stale-while-revalidate and
//! stale-if-error) is computed by the edge; the cache only compares numbers.

use bytes::Bytes;

/// The metadata stored beside a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// HTTP status code of the stored response (200, 404…).
    pub status: u16,
    /// Response headers to replay on a hit, in order (names lower-case).
    pub headers: Vec<(String, String)>,
    /// When the object entered the cache.
    pub stored_at_ms: u64,
    /// Fresh until this instant (stored_at + max-age / s-maxage).
    pub fresh_until_ms: u64,
    /// After `fresh_until_ms`, may still be served while one request revalidates,
    /// for this long (`stale-while-revalidate`).
    pub stale_while_revalidate_ms: u64,
    /// After `fresh_until_ms`, may still be served when the upstream fails, for this
    /// long (`stale-if-error`).
    pub stale_if_error_ms: u64,
}

/// How usable an object is at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it.
    Fresh,
    /// Serve it, and refresh it in the background.
    StaleWhileRevalidate,
    /// Serve it only if the upstream fails.
    StaleIfError,
    /// Do not serve it.
    Expired,
}

impl ObjectMeta {
    /// The object's freshness at `now_ms`.
    pub fn freshness(&self, now_ms: u64) -> Freshness {
        if now_ms < self.fresh_until_ms {
            return Freshness::Fresh;
        }
        let stale_for = now_ms - self.fresh_until_ms;
        if stale_for < self.stale_while_revalidate_ms {
            Freshness::StaleWhileRevalidate
        } else if stale_for < self.stale_if_error_ms {
            Freshness::StaleIfError
        } else {
            Freshness::Expired
        }
    }

    /// The last instant at which the object is of any use (after it, drop it).
    pub fn useful_until_ms(&self) -> u64 {
        self.fresh_until_ms
            .saturating_add(self.stale_while_revalidate_ms.max(self.stale_if_error_ms))
    }

    /// Approximate bytes the metadata occupies (for weighing).
    pub fn weight(&self) -> usize {
        64 + self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 16)
            .sum::<usize>()
    }
}

/// A complete cached object. Cloning is cheap (the body is shared `Bytes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedObject {
    /// Status, headers, freshness.
    pub meta: std::sync::Arc<ObjectMeta>,
    /// The whole body.
    pub body: Bytes,
}

impl CachedObject {
    /// Bytes this object costs in a tier: body plus metadata.
    pub fn weight(&self) -> usize {
        self.body.len() + self.meta.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(fresh_until_ms: u64, swr: u64, sie: u64) -> ObjectMeta {
        ObjectMeta {
            status: 200,
            headers: vec![],
            stored_at_ms: 0,
            fresh_until_ms,
            stale_while_revalidate_ms: swr,
            stale_if_error_ms: sie,
        }
    }

    #[test]
    fn freshness_walks_through_the_stale_windows() {
        let m = meta(1_000, 500, 2_000);
        assert_eq!(m.freshness(999), Freshness::Fresh);
        assert_eq!(m.freshness(1_000), Freshness::StaleWhileRevalidate);
        assert_eq!(m.freshness(1_499), Freshness::StaleWhileRevalidate);
        assert_eq!(m.freshness(1_500), Freshness::StaleIfError);
        assert_eq!(m.freshness(2_999), Freshness::StaleIfError);
        assert_eq!(m.freshness(3_000), Freshness::Expired);
        assert_eq!(m.useful_until_ms(), 3_000);
    }
}
