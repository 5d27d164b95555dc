//! The memory tier: a [moka] cache of whole objects, weighed by bytes.
//!
//! Bodies are [`Bytes`](bytes::Bytes), so a hit hands out a reference-counted view of
//! the stored body: nothing is copied between the tier and the socket.
//!
//! ## Eviction
//!
//! The tier is bounded by a byte capacity; each entry weighs
//! [`CachedObject::weight`] (body plus an estimate of its metadata). When an insert
//! pushes the total over the capacity, moka evicts the least recently used entries
//! during its housekeeping (which runs on later reads and writes, or at once with
//! [`MemoryTier::run_pending_tasks`]), so the tier may exceed its capacity briefly.
//! Objects above 1/[`MAX_OBJECT_FRACTION`] of the capacity are not stored at all, so
//! one large object cannot flush much of the tier (they live on disk, if admitted).
//!
//! The tier uses moka's LRU policy, not its default TinyLFU admission: on a live
//! edge the newest segment or part is the hottest object and is inserted exactly
//! once (misses are coalesced), so a frequency filter in front of memory would turn
//! away precisely the objects viewers are about to ask for. One-hit wonders are kept
//! out of the *disk* tier instead, by [`crate::admission`].
//!
//! Every entry that leaves the tier is reported to the optional `on_evict` callback
//! with an [`EvictionCause`]; the tiered cache promotes [`EvictionCause::Capacity`]
//! evictions to disk when the admission filter agrees.
//!
//! The tier does not expire objects by time: the caller checks
//! [`ObjectMeta::freshness`](crate::ObjectMeta::freshness) on every hit (time is an
//! input, never read here) and removes what is of no further use.

use std::sync::Arc;

use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use crate::CachedObject;

/// Why an entry left the memory tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionCause {
    /// Evicted to keep the tier under its byte capacity (a candidate for disk).
    Capacity,
    /// Expired by a time policy of the underlying cache.
    Expired,
    /// Replaced by a newer object under the same key.
    Replaced,
    /// Removed explicitly ([`MemoryTier::remove`], [`MemoryTier::remove_prefix`]).
    Removed,
}

impl From<RemovalCause> for EvictionCause {
    fn from(cause: RemovalCause) -> Self {
        match cause {
            RemovalCause::Size => EvictionCause::Capacity,
            RemovalCause::Expired => EvictionCause::Expired,
            RemovalCause::Replaced => EvictionCause::Replaced,
            RemovalCause::Explicit => EvictionCause::Removed,
        }
    }
}

/// Callback told about every entry leaving the tier (runs on whichever thread does
/// moka's housekeeping; it must be quick and must not panic).
pub type EvictionListener = Box<dyn Fn(Arc<str>, CachedObject, EvictionCause) + Send + Sync>;

/// The in-memory tier, bounded by bytes. Cheap to share behind an `Arc`.
pub struct MemoryTier {
    cache: Cache<Arc<str>, CachedObject>,
    max_object_bytes: u64,
}

/// The largest object the memory tier stores is its capacity divided by this.
pub const MAX_OBJECT_FRACTION: u64 = 8;

impl std::fmt::Debug for MemoryTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTier")
            .field("entry_count", &self.cache.entry_count())
            .field("weighted_bytes", &self.cache.weighted_size())
            .finish()
    }
}

/// The weight moka is given for `object`: its byte weight, saturated to `u32`
/// (moka weighs in `u32`; an object of 4 GiB or more is far above any capacity
/// anyway and is evicted at once).
fn weigh(object: &CachedObject) -> u32 {
    u32::try_from(object.weight()).unwrap_or(u32::MAX)
}

impl MemoryTier {
    /// A tier holding at most `capacity_bytes`, weighed by [`CachedObject::weight`].
    /// `on_evict` is called for every entry leaving the tier, with the cause.
    pub fn new(capacity_bytes: u64, on_evict: Option<EvictionListener>) -> Self {
        let mut builder = Cache::builder()
            .max_capacity(capacity_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|_key: &Arc<str>, object: &CachedObject| weigh(object));
        if let Some(listener) = on_evict {
            builder = builder.eviction_listener(
                move |key: Arc<Arc<str>>, object: CachedObject, cause: RemovalCause| {
                    listener(Arc::clone(&*key), object, cause.into())
                },
            );
        }
        MemoryTier {
            cache: builder.build(),
            max_object_bytes: capacity_bytes / MAX_OBJECT_FRACTION,
        }
    }

    /// The largest object this tier stores ([`MAX_OBJECT_FRACTION`] of its capacity).
    pub fn max_object_bytes(&self) -> u64 {
        self.max_object_bytes
    }

    /// The object stored under `key`, if any. The body is shared, not copied.
    pub fn get(&self, key: &str) -> Option<CachedObject> {
        self.cache.get(key)
    }

    /// Stores `object` under `key`, replacing (and reporting as
    /// [`EvictionCause::Replaced`]) any previous object. Returns false, storing
    /// nothing, for an object above [`max_object_bytes`](Self::max_object_bytes):
    /// one object must not flush a large part of the tier (and one larger than the
    /// whole tier would sit in it until the next maintenance pass).
    pub fn insert(&self, key: &str, object: CachedObject) -> bool {
        if object.weight() as u64 > self.max_object_bytes {
            return false;
        }
        self.cache.insert(Arc::from(key), object);
        true
    }

    /// Removes `key`; true if it was present.
    pub fn remove(&self, key: &str) -> bool {
        self.cache.remove(key).is_some()
    }

    /// Removes every entry whose key starts with `prefix` and returns how many were
    /// removed.
    ///
    /// Exact in effect for the entries present when the call starts: none of them is
    /// returned by a later [`get`](Self::get). An object inserted under a matching
    /// key while the call runs may or may not survive (it is a newer version). The
    /// walk is linear in the number of entries; purges are rare.
    pub fn remove_prefix(&self, prefix: &str) -> usize {
        let matching: Vec<Arc<str>> = self
            .cache
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| Arc::clone(&*key))
            .collect();
        matching
            .iter()
            .filter(|key| self.cache.remove(key.as_ref()).is_some())
            .count()
    }

    /// Total weight of the entries, in bytes (as of moka's last housekeeping).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// Number of entries (as of moka's last housekeeping).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Runs moka's pending housekeeping now: applies evictions, updates the counts
    /// and calls the eviction listener. For tests and metrics.
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectMeta;
    use bytes::Bytes;
    use std::sync::Mutex;

    fn object(body_len: usize) -> CachedObject {
        CachedObject {
            meta: Arc::new(ObjectMeta {
                status: 200,
                headers: vec![],
                stored_at_ms: 0,
                fresh_until_ms: 1_000,
                stale_while_revalidate_ms: 0,
                stale_if_error_ms: 0,
            }),
            body: Bytes::from(vec![7u8; body_len]),
        }
    }

    type Evicted = Arc<Mutex<Vec<(String, EvictionCause)>>>;

    fn tier_with_log(capacity: u64) -> (MemoryTier, Evicted) {
        let log: Evicted = Arc::default();
        let sink = Arc::clone(&log);
        let tier = MemoryTier::new(
            capacity,
            Some(Box::new(move |key, _object, cause| {
                sink.lock().unwrap().push((key.to_string(), cause));
            })),
        );
        (tier, log)
    }

    #[test]
    fn a_hit_shares_the_body_without_copying() {
        let tier = MemoryTier::new(1 << 20, None);
        let stored = object(1_000);
        tier.insert("a", stored.clone());
        let hit = tier.get("a").expect("hit");
        assert_eq!(hit, stored);
        assert_eq!(hit.body.as_ptr(), stored.body.as_ptr(), "same allocation");
        assert!(tier.get("b").is_none());
    }

    #[test]
    fn weighs_by_bytes_and_evicts_to_stay_under_capacity() {
        let one = object(10_000).weight() as u64;
        let capacity = one * 16 + one / 2; // room for sixteen objects, not seventeen
        let (tier, log) = tier_with_log(capacity);
        for i in 0..40 {
            assert!(tier.insert(&format!("seg{i}"), object(10_000)));
            tier.run_pending_tasks();
        }
        assert!(
            tier.weighted_bytes() <= capacity,
            "{}",
            tier.weighted_bytes()
        );
        assert_eq!(tier.weighted_bytes(), one * tier.entry_count());
        assert_eq!(tier.entry_count(), 16);
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 24);
        assert!(log
            .iter()
            .all(|(_, cause)| *cause == EvictionCause::Capacity));
        // LRU: the oldest went first, the newest are still there.
        assert_eq!(log[0].0, "seg0");
        assert!(tier.get("seg39").is_some());
        assert!(tier.get("seg0").is_none());
    }

    #[test]
    fn recently_read_entries_survive_eviction() {
        let one = object(1_000).weight() as u64;
        let (tier, _log) = tier_with_log(one * 8);
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
        for key in keys {
            tier.insert(key, object(1_000));
        }
        tier.run_pending_tasks();
        assert!(tier.get("a").is_some()); // "b" is now the least recently used
        tier.insert("i", object(1_000));
        tier.run_pending_tasks();
        assert!(tier.get("a").is_some());
        assert!(tier.get("b").is_none());
    }

    #[test]
    fn replace_and_remove_report_their_causes() {
        let (tier, log) = tier_with_log(1 << 20);
        tier.insert("a", object(10));
        tier.insert("a", object(20));
        assert_eq!(tier.get("a").unwrap().body.len(), 20);
        assert!(tier.remove("a"));
        assert!(!tier.remove("a"));
        tier.run_pending_tasks();
        let log = log.lock().unwrap();
        assert_eq!(
            *log,
            vec![
                ("a".to_string(), EvictionCause::Replaced),
                ("a".to_string(), EvictionCause::Removed)
            ]
        );
    }

    #[test]
    fn remove_prefix_removes_exactly_the_matching_keys() {
        let tier = MemoryTier::new(1 << 20, None);
        for key in [
            "live/a/seg1",
            "live/a/seg2",
            "live/ab/seg1",
            "live/b/seg1",
            "vod/x",
        ] {
            tier.insert(key, object(10));
        }
        assert_eq!(tier.remove_prefix("live/a/"), 2);
        assert!(tier.get("live/a/seg1").is_none());
        assert!(tier.get("live/a/seg2").is_none());
        assert!(tier.get("live/ab/seg1").is_some());
        assert!(tier.get("live/b/seg1").is_some());
        assert!(tier.get("vod/x").is_some());
        assert_eq!(tier.remove_prefix("nothing/"), 0);
        tier.run_pending_tasks();
        assert_eq!(tier.entry_count(), 3);
    }

    #[test]
    fn an_object_larger_than_the_tier_is_refused() {
        let (tier, log) = tier_with_log(1_000);
        assert!(!tier.insert("big", object(5_000)));
        tier.run_pending_tasks();
        assert!(tier.get("big").is_none());
        assert_eq!(tier.weighted_bytes(), 0);
        assert!(
            log.lock().unwrap().is_empty(),
            "never entered, never evicted"
        );
    }

    #[test]
    fn objects_above_an_eighth_of_the_capacity_are_not_stored() {
        let tier = MemoryTier::new(8 << 20, None);
        assert_eq!(tier.max_object_bytes(), 1 << 20);
        assert!(!tier.insert("/big", object(2 << 20)));
        assert!(tier.get("/big").is_none());
        assert!(tier.insert("/small", object(512 << 10)));
        assert!(tier.get("/small").is_some());
    }
}
