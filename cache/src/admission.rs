//! Admission to the disk tier: keep one-hit wonders off the disk.
//!
//! An object evicted from memory is written to disk only if its key was looked up
//! at least [`ADMIT_MIN_FREQUENCY`] times recently. Most keys of a media edge are
//! asked for once (a viewer seeking through a VOD asset, a crawler, a segment that
//! one slow player fetched after the others): writing those to disk would cost
//! write bandwidth and push out objects that are asked for again.
//!
//! ## Policy (TinyLFU-style frequency filter)
//!
//! The filter estimates how often each key was looked up, in little memory and
//! without storing keys (after Einziger, Friedman and Manes, "TinyLFU: A Highly
//! Efficient Cache Admission Policy", ACM ToS 2017):
//!
//! - A **doorkeeper** bloom filter records the first lookup of a key. Only keys
//!   already in the doorkeeper reach the sketch, so the many keys seen once cost a
//!   few bits each and never pollute the counters.
//! - A **count-min sketch** of [`SKETCH_DEPTH`] rows of 4-bit-style counters (capped
//!   at [`MAX_COUNT`]) counts the further lookups. The estimate is the smallest of
//!   the key's counters plus one if the doorkeeper holds the key. Increments are
//!   *conservative* (only the counters equal to the minimum grow), which keeps
//!   collisions from inflating estimates.
//! - **Aging**: after every [`SAMPLE_FACTOR`] × `expected_keys` lookups, every
//!   counter is halved and the doorkeeper is cleared, so "recently" means "within
//!   about the last sample"; a key that stops being requested loses admission.
//!
//! Unlike the full TinyLFU, the candidate is not compared with a victim: the disk
//! tier is a log-structured ring that evicts in write order, so there is no single
//! victim to weigh against; a fixed threshold is used instead.
//!
//! Everything is lock-free (relaxed atomics). Races between concurrent updates and
//! aging can lose an increment, which only makes the estimate slightly lower.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Estimated recent lookups a key needs before it is admitted to disk (2 = "seen
/// at least twice": one-hit wonders stay out).
pub const ADMIT_MIN_FREQUENCY: u32 = 2;
/// Lookups per expected key between two agings (the TinyLFU sample size is this
/// times `expected_keys`).
pub const SAMPLE_FACTOR: usize = 10;
/// The ceiling of a sketch counter (TinyLFU uses 4-bit counters).
pub const MAX_COUNT: u8 = 15;
/// Rows (independent hash functions) of the count-min sketch.
pub const SKETCH_DEPTH: usize = 4;
/// Hash functions of the doorkeeper bloom filter.
pub const DOORKEEPER_HASHES: u64 = 3;
/// Doorkeeper bits per lookup of the sample (about 3 % false positives when every
/// lookup of a sample is a different key).
pub const DOORKEEPER_BITS_PER_SAMPLE: usize = 8;
/// The smallest `expected_keys` honoured (smaller values are raised to it).
pub const MIN_EXPECTED_KEYS: usize = 64;

/// Decides whether an object evicted from memory deserves a disk write.
#[derive(Debug)]
pub struct Admission {
    hasher: RandomState,
    /// Bloom filter bits; its length is a power of two.
    doorkeeper: Box<[AtomicU64]>,
    /// `SKETCH_DEPTH` rows of `width` counters, row after row.
    sketch: Box<[AtomicU8]>,
    /// Counters per row, a power of two.
    width: usize,
    /// Lookups recorded since creation (aging happens at each multiple of the sample).
    accesses: AtomicUsize,
    /// Lookups between two agings.
    sample_size: usize,
}

impl Admission {
    /// A filter sized for about `expected_keys` distinct objects in the cache (the
    /// number of objects memory and disk can hold together is a good value).
    pub fn new(expected_keys: usize) -> Self {
        let expected_keys = expected_keys.max(MIN_EXPECTED_KEYS);
        let sample_size = expected_keys.saturating_mul(SAMPLE_FACTOR);
        let width = expected_keys.next_power_of_two();
        let doorkeeper_bits = sample_size
            .saturating_mul(DOORKEEPER_BITS_PER_SAMPLE)
            .next_power_of_two();
        Admission {
            hasher: RandomState::new(),
            doorkeeper: (0..doorkeeper_bits / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
            sketch: (0..SKETCH_DEPTH * width)
                .map(|_| AtomicU8::new(0))
                .collect(),
            width,
            accesses: AtomicUsize::new(0),
            sample_size,
        }
    }

    /// Records one lookup of `key` (call it on every lookup, hit or miss).
    pub fn record_access(&self, key: &str) {
        let hash = self.hasher.hash_one(key);
        if !self.doorkeeper_insert(hash) {
            // Already seen once this sample: count it in the sketch.
            self.sketch_increment(hash);
        }
        let seen = self
            .accesses
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        // (`checked_rem`, not `is_multiple_of`: the workspace supports Rust 1.85.)
        if seen.checked_rem(self.sample_size) == Some(0) {
            self.age();
        }
    }

    /// Whether an object under `key` should be written to disk: its estimated
    /// recent lookups reach [`ADMIT_MIN_FREQUENCY`].
    pub fn admit(&self, key: &str) -> bool {
        self.estimate(key) >= ADMIT_MIN_FREQUENCY
    }

    /// Estimated lookups of `key` since about one sample ago (never too low, except
    /// after aging; may be too high by collisions).
    pub fn estimate(&self, key: &str) -> u32 {
        let hash = self.hasher.hash_one(key);
        u32::from(self.doorkeeper_contains(hash)) + u32::from(self.sketch_min(hash))
    }

    /// Halves every counter and clears the doorkeeper (the TinyLFU "reset").
    fn age(&self) {
        for counter in self.sketch.iter() {
            let halved = counter.load(Ordering::Relaxed) >> 1;
            counter.store(halved, Ordering::Relaxed);
        }
        for word in self.doorkeeper.iter() {
            word.store(0, Ordering::Relaxed);
        }
    }

    /// The `i`-th of a family of indexes derived from one hash (double hashing,
    /// Kirsch and Mitzenmacher), reduced by `mask`.
    fn index(hash: u64, i: u64, mask: usize) -> usize {
        let second = (hash.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15) | 1;
        (hash.wrapping_add(i.wrapping_mul(second)) as usize) & mask
    }

    /// Sets the key's doorkeeper bits; true if at least one was clear (first sighting).
    fn doorkeeper_insert(&self, hash: u64) -> bool {
        let mask = self.doorkeeper.len() * 64 - 1;
        let mut was_new = false;
        for i in 0..DOORKEEPER_HASHES {
            let bit = Self::index(hash, i, mask);
            let word = &self.doorkeeper[bit / 64];
            let flag = 1u64 << (bit % 64);
            if word.fetch_or(flag, Ordering::Relaxed) & flag == 0 {
                was_new = true;
            }
        }
        was_new
    }

    fn doorkeeper_contains(&self, hash: u64) -> bool {
        let mask = self.doorkeeper.len() * 64 - 1;
        (0..DOORKEEPER_HASHES).all(|i| {
            let bit = Self::index(hash, i, mask);
            self.doorkeeper[bit / 64].load(Ordering::Relaxed) & (1u64 << (bit % 64)) != 0
        })
    }

    fn sketch_counters(&self, hash: u64) -> impl Iterator<Item = &AtomicU8> {
        // Salt each row differently so the rows behave as independent hashes.
        (0..SKETCH_DEPTH).map(move |row| {
            let column = Self::index(
                hash ^ (row as u64).wrapping_mul(0xff51_afd7_ed55_8ccd),
                row as u64,
                self.width - 1,
            );
            &self.sketch[row * self.width + column]
        })
    }

    fn sketch_min(&self, hash: u64) -> u8 {
        self.sketch_counters(hash)
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }

    /// Conservative update: grow only the counters at the current minimum.
    fn sketch_increment(&self, hash: u64) {
        let min = self.sketch_min(hash);
        if min >= MAX_COUNT {
            return;
        }
        for counter in self.sketch_counters(hash) {
            let _ = counter.compare_exchange(min, min + 1, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_key_seen_once_and_admits_one_seen_twice() {
        let admission = Admission::new(1_000);
        assert!(!admission.admit("never"));
        admission.record_access("once");
        assert!(!admission.admit("once"));
        admission.record_access("twice");
        admission.record_access("twice");
        assert!(admission.admit("twice"));
        assert!(!admission.admit("once"));
    }

    #[test]
    fn estimates_count_lookups_up_to_the_cap() {
        let admission = Admission::new(1_000);
        for n in 1..=5 {
            admission.record_access("k");
            assert_eq!(admission.estimate("k"), n);
        }
        for _ in 0..100 {
            admission.record_access("k");
        }
        assert_eq!(admission.estimate("k"), u32::from(MAX_COUNT) + 1);
    }

    #[test]
    fn one_hit_wonders_stay_out_even_in_a_crowd() {
        let keys = 1_000;
        let admission = Admission::new(keys);
        for i in 0..keys {
            admission.record_access(&format!("/vod/a/seg{i}.m4s"));
        }
        let admitted = (0..keys)
            .filter(|i| admission.admit(&format!("/vod/a/seg{i}.m4s")))
            .count();
        // Only doorkeeper false positives could admit one; expect well under 1 %.
        assert!(admitted < keys / 100, "{admitted} of {keys} admitted");
    }

    #[test]
    fn aging_forgets_keys_that_stopped_being_requested() {
        let admission = Admission::new(MIN_EXPECTED_KEYS);
        admission.record_access("old");
        admission.record_access("old");
        for _ in 0..10 {
            admission.record_access("hot");
        }
        assert!(admission.admit("old"));
        // Fill the rest of the sample with other keys: aging runs once.
        let used = 12;
        for i in used..admission.sample_size {
            admission.record_access(&format!("other{i}"));
        }
        assert!(!admission.admit("old"), "two lookups are forgotten");
        // A frequent key keeps half its sketch count (9 -> 4); its doorkeeper bit
        // is cleared.
        assert_eq!(admission.estimate("hot"), 4);
        assert!(admission.admit("hot"), "half the count survives aging");
    }

    #[test]
    fn concurrent_lookups_are_counted() {
        let admission = std::sync::Arc::new(Admission::new(10_000));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let admission = std::sync::Arc::clone(&admission);
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        admission.record_access(&format!("shared{}", i % 10));
                        admission.record_access(&format!("own{t}-{i}"));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!((0..10).all(|i| admission.admit(&format!("shared{i}"))));
        let own_admitted = (0..1_000)
            .filter(|i| admission.admit(&format!("own0-{i}")))
            .count();
        assert!(own_admitted < 20, "{own_admitted}");
    }
}
