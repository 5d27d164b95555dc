//! Zero-copy disk hits ([`DiskConfig::zero_copy`](super::DiskConfig::zero_copy)): a
//! record's body is served as a [`Bytes`] that borrows the store file's read-only
//! mapping instead of a heap copy. The socket write then copies straight from the
//! mapping, or a plain-TCP connection hands the range to the kernel with
//! `sendfile(2)` (edge `server::sendfile_io`, `[cache.disk] sendfile`).
//!
//! ## Pieces
//!
//! - [`MappedStore`]: one shared read-only mapping of a store file, registered in a
//!   process-wide table while it lives. [`store_slice`] finds out, by comparing
//!   addresses only (no dereference), whether a byte slice lies inside such a
//!   mapping, and at which offset of which file: that is all a socket layer needs
//!   to call `sendfile(socket, store_fd, &offset, len)`.
//! - [`SegmentPins`]: a count per ring segment of the response bodies that borrow it.
//!   The ring writer does not reopen (overwrite) a pinned segment; it skips to the
//!   next one (`DiskTier::append`). This keeps the copy-out design's guarantee for
//!   the time a body is referenced: the bytes that were verified are the bytes the
//!   kernel reads when `sendfile` is called.
//!
//! ## The pin handshake
//!
//! Reader: look the key up, pin its segment, `fence(SeqCst)`, look the key up again
//! and go on only if the entry is unchanged. Writer: skip a pinned segment; else
//! evict the segment's index entries, `fence(SeqCst)`, and skip it after all if a
//! pin appeared meanwhile. With a sequentially consistent fence on both sides
//! (the store-buffering pattern), at least one of them sees the other: either the
//! reader finds its entry gone, or the writer finds the pin.
//!
//! ## What pins do not cover
//!
//! - With a plain `write`/`writev` the kernel copies the body into socket buffers
//!   during the call, while the body (and so the pin) is held: covered. `sendfile`
//!   instead returns once the socket holds *references* to the page-cache pages:
//!   until the peer acknowledges them (on loopback: until the local reader has read
//!   them) they can still be resent or read, after the body and its pin are gone.
//!   A writer that reopens the segment in that window (at most a socket buffer of
//!   data, normally milliseconds) can change bytes still in flight.
//! - A skipped segment outlives later ones: a reopen that scans every segment (no
//!   usable snapshot) may replay its records after the tombstone that purged one
//!   of them was overwritten.
//!
//! See docs/decisions.md ("sendfile for disk hits").

use std::fs::File;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use bytes::Bytes;
use memmap2::Mmap;

/// A shared read-only mapping of one store file, registered for [`store_slice`].
pub(crate) struct MappedStore {
    map: Mmap,
    file: Arc<File>,
}

/// A registered mapping: its address range and a handle on it.
struct Registered {
    start: usize,
    end: usize,
    store: Weak<MappedStore>,
}

/// Every live [`MappedStore`] (a handful per process: one per store file).
static REGISTRY: RwLock<Vec<Registered>> = RwLock::new(Vec::new());
/// `REGISTRY.len()`, readable without the lock: most writes check it and stop.
static REGISTERED: AtomicUsize = AtomicUsize::new(0);

impl MappedStore {
    /// Wraps `map` (of `file`) and registers it.
    pub(crate) fn register(map: Mmap, file: Arc<File>) -> Arc<Self> {
        let store = Arc::new(MappedStore { map, file });
        let range = store.map.as_ptr_range();
        let mut reg = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        reg.push(Registered {
            start: range.start as usize,
            end: range.end as usize,
            store: Arc::downgrade(&store),
        });
        REGISTERED.store(reg.len(), Ordering::Release);
        store
    }

    /// The mapped bytes of `range`, if it lies inside the file.
    pub(crate) fn get(&self, range: Range<usize>) -> Option<&[u8]> {
        self.map.get(range)
    }
}

impl Drop for MappedStore {
    fn drop(&mut self) {
        let start = self.map.as_ptr() as usize;
        let mut reg = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        reg.retain(|r| r.start != start);
        REGISTERED.store(reg.len(), Ordering::Release);
    }
}

/// Where a byte slice lies in a store file.
#[derive(Debug, Clone)]
pub struct StoreSlice {
    /// The store file (open read-write by the tier; `sendfile` only reads it).
    pub file: Arc<File>,
    /// Offset of the slice's first byte in the file.
    pub offset: u64,
}

/// If `bytes` lies wholly inside a live store mapping, the file and offset it
/// mirrors. Compares addresses only. A slice cannot lie in a mapping that has been
/// unmapped and reused: a mapping lives as long as any [`Bytes`] borrowing it.
pub fn store_slice(bytes: &[u8]) -> Option<StoreSlice> {
    if bytes.is_empty() || REGISTERED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let start = bytes.as_ptr() as usize;
    let end = start + bytes.len();
    let reg = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let r = reg.iter().find(|r| r.start <= start && end <= r.end)?;
    let store = r.store.upgrade()?;
    Some(StoreSlice {
        file: store.file.clone(),
        offset: (start - r.start) as u64,
    })
}

/// Response bodies borrowing each ring segment.
#[derive(Debug)]
pub(crate) struct SegmentPins(Box<[AtomicU32]>);

impl SegmentPins {
    pub(crate) fn new(segments: u32) -> Arc<Self> {
        Arc::new(SegmentPins(
            (0..segments).map(|_| AtomicU32::new(0)).collect(),
        ))
    }

    /// Whether a body borrows segment `seg` (sequentially consistent: the pin
    /// handshake in the module guide).
    pub(crate) fn is_pinned(&self, seg: u32) -> bool {
        self.0[seg as usize].load(Ordering::SeqCst) > 0
    }

    /// Pins `seg` until the returned guard is dropped.
    pub(crate) fn pin(self: &Arc<Self>, seg: u32) -> SegmentPin {
        self.0[seg as usize].fetch_add(1, Ordering::SeqCst);
        SegmentPin {
            pins: self.clone(),
            seg,
        }
    }
}

/// One pin on a segment; unpins on drop.
#[derive(Debug)]
pub(crate) struct SegmentPin {
    pins: Arc<SegmentPins>,
    seg: u32,
}

impl Drop for SegmentPin {
    fn drop(&mut self) {
        self.pins.0[self.seg as usize].fetch_sub(1, Ordering::SeqCst);
    }
}

/// The owner behind a zero-copy body: the mapping, the byte range, the pin.
struct MappedBody {
    store: Arc<MappedStore>,
    range: Range<usize>,
    _pin: SegmentPin,
}

impl AsRef<[u8]> for MappedBody {
    fn as_ref(&self) -> &[u8] {
        // The range was checked against the mapping when the body was made.
        &self.store.map[self.range.clone()]
    }
}

/// A [`Bytes`] over `range` of `store` that keeps `pin` until its last clone drops.
pub(crate) fn body(store: Arc<MappedStore>, range: Range<usize>, pin: SegmentPin) -> Bytes {
    debug_assert!(store.get(range.clone()).is_some());
    Bytes::from_owner(MappedBody {
        store,
        range,
        _pin: pin,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::disk::store_file::{FILE_HEADER_BYTES, MIN_SEGMENT_BYTES};
    use crate::disk::{DiskConfig, DiskTier};
    use crate::object::{CachedObject, ObjectMeta};

    /// A ring of `segments` minimum-size segments, zero-copy hits on.
    fn tier(dir: &std::path::Path, segments: u64) -> DiskTier {
        DiskTier::open(&DiskConfig {
            zero_copy: true,
            ..DiskConfig::new(dir, FILE_HEADER_BYTES + segments * MIN_SEGMENT_BYTES)
        })
        .unwrap()
    }

    fn object(seed: u8) -> CachedObject {
        CachedObject {
            meta: Arc::new(ObjectMeta {
                status: 200,
                headers: vec![],
                stored_at_ms: 0,
                fresh_until_ms: 1 << 40,
                stale_while_revalidate_ms: 0,
                stale_if_error_ms: 0,
            }),
            // Just over a third of a segment: two per segment.
            body: vec![seed; 24 * 1024].into(),
        }
    }

    #[test]
    fn a_borrowed_body_lies_in_the_store_file_and_survives_the_ring_wrapping() {
        let dir = tempfile::tempdir().unwrap();
        let disk = tier(dir.path(), 4);
        assert!(disk.put("held", &object(1)).unwrap());
        let held = disk.get("held", 1).unwrap().unwrap();
        let at = store_slice(&held.body).expect("a zero-copy body");
        let mut in_file = vec![0u8; held.body.len()];
        std::os::unix::fs::FileExt::read_exact_at(&*at.file, &mut in_file, at.offset).unwrap();
        assert_eq!(in_file, held.body);

        // Three turns of the ring: every other segment is overwritten, not this one.
        for i in 0..24u8 {
            assert!(disk.put(&format!("k{i}"), &object(i + 2)).unwrap());
        }
        assert_eq!(
            held.body,
            object(1).body,
            "a pinned segment was overwritten"
        );
        assert!(disk.stats().pinned_skips >= 3, "{:?}", disk.stats());
        assert!(disk.get("held", 1).unwrap().is_some());

        // Unpinned, the segment is reused on the next turn.
        drop(held);
        for i in 0..8u8 {
            assert!(disk.put(&format!("j{i}"), &object(i)).unwrap());
        }
        assert!(disk.get("held", 1).unwrap().is_none());
    }

    #[test]
    fn with_every_segment_pinned_a_put_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let disk = tier(dir.path(), 2);
        let mut held = Vec::new();
        for i in 0..4u8 {
            let key = format!("k{i}");
            assert!(disk.put(&key, &object(i)).unwrap());
            held.push(disk.get(&key, 1).unwrap().unwrap());
        }
        assert!(!disk.put("more", &object(9)).unwrap());
        for (i, o) in held.iter().enumerate() {
            assert_eq!(o.body, object(i as u8).body);
        }
        drop(held);
        assert!(disk.put("more", &object(9)).unwrap());
    }

    /// Readers hold zero-copy bodies while one writer turns a small ring over and
    /// over: every body keeps the bytes it was verified with until it is dropped.
    #[test]
    fn bodies_stay_intact_while_the_writer_races_around_the_ring() {
        const WRITES: u32 = 3_000;
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(tier(dir.path(), 3));
        let writes = Arc::new(AtomicU32::new(0));
        let writer = {
            let (disk, writes) = (disk.clone(), writes.clone());
            std::thread::spawn(move || {
                for i in 0..WRITES {
                    // Key k{n} always holds bytes n: a reader can check what it got.
                    let n = (i % 8) as u8;
                    disk.put(&format!("k{n}"), &object(n)).unwrap();
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (disk, writes) = (disk.clone(), writes.clone());
                std::thread::spawn(move || {
                    let mut checked = 0u32;
                    let mut round = 0u32;
                    while writes.load(Ordering::Relaxed) < WRITES {
                        round += 1;
                        let n = (round % 8) as u8;
                        if let Some(hit) = disk.get(&format!("k{n}"), 1).unwrap() {
                            std::thread::yield_now();
                            assert!(
                                hit.body.iter().all(|&b| b == n),
                                "k{n} changed under a reader"
                            );
                            checked += 1;
                        }
                    }
                    checked
                })
            })
            .collect();
        let checked: u32 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        writer.join().unwrap();
        assert!(checked > 0, "no reads checked; {:?}", disk.stats());
    }

    #[test]
    fn heap_bytes_are_not_store_slices() {
        let v = vec![0u8; 100];
        assert!(store_slice(&v).is_none());
        assert!(store_slice(&[]).is_none());
    }
}
