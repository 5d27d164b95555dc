//! Tests of the whole tier: round trips, restart (full scan and snapshot + tail),
//! checksum failures, ring wrap, purges, both read modes, expiry.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::store_file::{FILE_HEADER_BYTES, MIN_SEGMENT_BYTES};
use super::{DiskConfig, DiskError, DiskTier, ReadMode};
use crate::object::{CachedObject, ObjectMeta};

const MODES: [ReadMode; 2] = [ReadMode::Mmap, ReadMode::IoUring];

/// A ring of exactly `segments` minimum-size segments in one file.
fn config(dir: &Path, segments: u64, mode: ReadMode) -> DiskConfig {
    DiskConfig {
        read_mode: mode,
        ..DiskConfig::new(dir, FILE_HEADER_BYTES + segments * MIN_SEGMENT_BYTES)
    }
}

fn object(seed: u8, body_len: usize, useful_until_ms: u64) -> CachedObject {
    CachedObject {
        meta: Arc::new(ObjectMeta {
            status: 200,
            headers: vec![
                ("content-type".into(), "video/iso.segment".into()),
                ("etag".into(), format!("\"{seed}\"")),
            ],
            stored_at_ms: 1,
            fresh_until_ms: useful_until_ms,
            stale_while_revalidate_ms: 0,
            stale_if_error_ms: 0,
        }),
        body: (0..body_len)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect(),
    }
}

const NOW: u64 = 1_000;
const LATER: u64 = u64::MAX;

fn key(i: usize) -> String {
    format!("/live/ch{}/seg{i}.m4s", i % 3)
}

#[test]
fn put_get_round_trip_in_both_modes() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(&config(dir.path(), 8, mode)).unwrap();
        let a = object(3, 5_000, LATER);
        let b = object(5, 0, LATER);
        assert!(tier.put("a", &a).unwrap());
        assert!(tier.put("b", &b).unwrap());
        assert_eq!(tier.get("a", NOW).unwrap(), Some(a), "{mode:?}");
        assert_eq!(tier.get("b", NOW).unwrap(), Some(b));
        assert_eq!(tier.get("c", NOW).unwrap(), None);
        let replacement = object(7, 100, LATER);
        assert!(tier.put("a", &replacement).unwrap());
        assert_eq!(tier.get("a", NOW).unwrap(), Some(replacement));
        let s = tier.stats();
        assert_eq!(
            (s.objects, s.writes, s.reads),
            (2, 3, 3),
            "a miss reads nothing"
        );
        assert!(s.used_bytes > 100 && s.used_bytes < 2_000);
        assert_eq!(s.capacity_bytes, 8 * MIN_SEGMENT_BYTES);
    }
}

#[test]
fn useful_until_comes_from_the_index_without_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(&config(dir.path(), 8, ReadMode::Mmap)).unwrap();
    assert_eq!(tier.useful_until_ms("a"), None);
    tier.put("a", &object(3, 1_000, 5_000)).unwrap();
    assert_eq!(tier.useful_until_ms("a"), Some(5_000));
    assert_eq!(tier.stats().reads, 0);
}

#[test]
fn both_read_modes_return_identical_objects() {
    let dir = tempfile::tempdir().unwrap();
    {
        let tier = DiskTier::open(&config(dir.path(), 8, ReadMode::Mmap)).unwrap();
        for i in 0..20 {
            assert!(tier.put(&key(i), &object(i as u8, i * 700, LATER)).unwrap());
        }
    }
    let mmap = DiskTier::open(&config(dir.path(), 8, ReadMode::Mmap)).unwrap();
    let uring = Arc::new(DiskTier::open(&config(dir.path(), 8, ReadMode::IoUring)).unwrap());
    for i in 0..20 {
        let a = mmap.get(&key(i), NOW).unwrap();
        assert!(a.is_some());
        assert_eq!(a, uring.get(&key(i), NOW).unwrap());
    }
    // Concurrent readers share the one ring thread.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let uring = uring.clone();
            std::thread::spawn(move || {
                for round in 0..50 {
                    let i = (t * 7 + round) % 20;
                    let got = uring.get(&key(i), NOW).unwrap().unwrap();
                    assert_eq!(got, object(i as u8, i * 700, LATER));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn reopen_with_a_full_scan_keeps_objects_and_replacements() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 8, ReadMode::Mmap);
    {
        let tier = DiskTier::open(&cfg).unwrap();
        for i in 0..10 {
            tier.put(&key(i), &object(i as u8, 3_000, LATER)).unwrap();
        }
        tier.put(&key(4), &object(99, 10, LATER)).unwrap();
    }
    let tier = DiskTier::open(&cfg).unwrap();
    assert!(!tier.rebuild_info().0, "no snapshot was written");
    assert_eq!(tier.stats().objects, 10);
    for i in 0..10 {
        let want = if i == 4 {
            object(99, 10, LATER)
        } else {
            object(i as u8, 3_000, LATER)
        };
        assert_eq!(tier.get(&key(i), NOW).unwrap(), Some(want));
    }
    // Writing resumes after the old records instead of over them.
    tier.put("new", &object(1, 10, LATER)).unwrap();
    drop(tier);
    let tier = DiskTier::open(&cfg).unwrap();
    assert_eq!(tier.stats().objects, 11);
}

#[test]
fn reopen_from_snapshot_plus_tail_keeps_later_writes_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    // Many segments, so the snapshot saves scanning most of them.
    let cfg = config(dir.path(), 16, ReadMode::Mmap);
    {
        let tier = DiskTier::open(&cfg).unwrap();
        for i in 0..30 {
            tier.put(&key(i), &object(i as u8, 20_000, LATER)).unwrap();
        }
        tier.snapshot().unwrap();
        // After the snapshot: a new object, a replacement, a purge of each kind.
        tier.put("after", &object(42, 30_000, LATER)).unwrap();
        tier.put(&key(29), &object(43, 10, LATER)).unwrap();
        assert!(tier.remove(&key(28)).unwrap());
        assert_eq!(
            tier.remove_prefix("/live/ch1/").unwrap(),
            9,
            "key 28 already gone"
        );
    }
    let tier = DiskTier::open(&cfg).unwrap();
    let (from_snapshot, scanned) = tier.rebuild_info();
    assert!(from_snapshot);
    assert!(
        scanned <= 2,
        "scanned {scanned} segments, want only the tail"
    );
    assert_eq!(
        tier.get("after", NOW).unwrap(),
        Some(object(42, 30_000, LATER))
    );
    assert_eq!(
        tier.get(&key(29), NOW).unwrap(),
        Some(object(43, 10, LATER))
    );
    assert!(!tier.contains(&key(28)));
    assert!(!tier.contains(&key(1)));
    assert_eq!(
        tier.get(&key(0), NOW).unwrap(),
        Some(object(0, 20_000, LATER))
    );
    // 30 - 1 removed - 10 under /live/ch1/ (28 is under ch1) + "after"
    assert_eq!(tier.stats().objects, 30 - 10 + 1);
}

#[test]
fn flipped_bytes_on_disk_drop_that_record_only() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(&config(dir.path(), 8, mode)).unwrap();
        for k in ["a", "b", "c"] {
            tier.put(k, &object(9, 2_000, LATER)).unwrap();
        }
        let (path, offset, len) = tier.record_position("b").unwrap();
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let at = offset + u64::from(len) - 100; // inside the body
        let mut byte = [0u8];
        f.read_exact_at(&mut byte, at).unwrap();
        f.write_all_at(&[byte[0] ^ 0x01], at).unwrap();
        assert_eq!(tier.get("b", NOW).unwrap(), None, "{mode:?}");
        assert_eq!(tier.stats().corrupt_dropped, 1);
        assert!(!tier.contains("b"));
        assert_eq!(tier.get("a", NOW).unwrap(), Some(object(9, 2_000, LATER)));
        assert_eq!(tier.get("c", NOW).unwrap(), Some(object(9, 2_000, LATER)));
        assert_eq!(tier.get("b", NOW).unwrap(), None);
        assert_eq!(tier.stats().corrupt_dropped, 1, "counted once");
        drop(tier);
        // A full scan skips the bad record and still finds the one after it.
        let tier = DiskTier::open(&config(dir.path(), 8, mode)).unwrap();
        assert!(!tier.contains("b"));
        assert_eq!(tier.stats().corrupt_dropped, 1);
        assert_eq!(tier.get("c", NOW).unwrap(), Some(object(9, 2_000, LATER)));
    }
}

#[test]
fn ring_wrap_evicts_the_oldest_and_never_changes_the_file_length() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 4, ReadMode::Mmap);
    let store = dir.path().join("store-0.fcs");
    let tier = DiskTier::open(&cfg).unwrap();
    let len = std::fs::metadata(&store).unwrap().len();
    assert_eq!(len, FILE_HEADER_BYTES + 4 * MIN_SEGMENT_BYTES);
    // Varying sizes, so a new turn's record boundaries differ from the old turn's.
    let size = |i: usize| 9_000 + (i * 1_337) % 11_000;
    for i in 0..60 {
        assert!(tier.put(&key(i), &object(i as u8, size(i), LATER)).unwrap());
    }
    let s = tier.stats();
    assert!(s.evictions > 0);
    assert_eq!(
        s.evictions + s.objects,
        60,
        "every object is either present or evicted"
    );
    assert!(!tier.contains(&key(0)), "the oldest went first");
    assert_eq!(
        tier.get(&key(59), NOW).unwrap(),
        Some(object(59, size(59), LATER))
    );
    let present: Vec<usize> = (0..60).filter(|i| tier.contains(&key(*i))).collect();
    assert_eq!(
        present,
        (60 - present.len()..60).collect::<Vec<_>>(),
        "a suffix survives"
    );
    for &i in &present {
        assert_eq!(
            tier.get(&key(i), NOW).unwrap(),
            Some(object(i as u8, size(i), LATER))
        );
    }
    assert_eq!(std::fs::metadata(&store).unwrap().len(), len);
    drop(tier);
    // A full scan after the wrap finds exactly the survivors, no leftovers of older turns.
    let tier = DiskTier::open(&cfg).unwrap();
    let again: Vec<usize> = (0..60).filter(|i| tier.contains(&key(*i))).collect();
    assert_eq!(again, present);
    assert_eq!(tier.stats().corrupt_dropped, 0);
    assert_eq!(std::fs::metadata(&store).unwrap().len(), len);
}

#[test]
fn snapshot_entries_overwritten_by_a_later_wrap_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 4, ReadMode::Mmap);
    {
        let tier = DiskTier::open(&cfg).unwrap();
        for i in 0..6 {
            tier.put(&key(i), &object(1, 15_000, LATER)).unwrap();
        }
        tier.snapshot().unwrap();
        for i in 100..130 {
            tier.put(&key(i), &object(2, 15_000, LATER)).unwrap();
        }
    }
    let tier = DiskTier::open(&cfg).unwrap();
    assert!(tier.rebuild_info().0);
    assert!(
        (0..6).all(|i| !tier.contains(&key(i))),
        "overwritten since the snapshot"
    );
    let n = tier.stats().objects;
    assert!(n > 0);
    for i in 130 - n as usize..130 {
        assert_eq!(
            tier.get(&key(i), NOW).unwrap(),
            Some(object(2, 15_000, LATER))
        );
    }
    assert_eq!(tier.stats().corrupt_dropped, 0);
}

#[test]
fn purges_survive_reopen_with_and_without_snapshot() {
    for snapshot_first in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 8, ReadMode::Mmap);
        {
            let tier = DiskTier::open(&cfg).unwrap();
            for i in 0..9 {
                tier.put(&key(i), &object(1, 100, LATER)).unwrap();
            }
            if snapshot_first {
                tier.snapshot().unwrap();
            }
            assert!(tier.remove(&key(0)).unwrap());
            assert!(!tier.remove(&key(0)).unwrap());
            assert_eq!(tier.remove_prefix("/live/ch2/").unwrap(), 3);
            assert_eq!(tier.remove_prefix("/live/ch2/").unwrap(), 0);
            // Re-put after a purge wins over the tombstone.
            tier.put(&key(2), &object(3, 100, LATER)).unwrap();
        }
        let tier = DiskTier::open(&cfg).unwrap();
        assert!(!tier.contains(&key(0)));
        assert!(!tier.contains(&key(5)) && !tier.contains(&key(8)));
        assert_eq!(tier.get(&key(2), NOW).unwrap(), Some(object(3, 100, LATER)));
        assert_eq!(
            tier.stats().objects,
            9 - 1 - 3 + 1,
            "snapshot first: {snapshot_first}"
        );
    }
}

#[test]
fn expired_objects_are_not_returned() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(&config(dir.path(), 4, ReadMode::Mmap)).unwrap();
    let mut o = object(1, 10, 500);
    Arc::make_mut(&mut o.meta).stale_if_error_ms = 500; // useful until 1000
    tier.put("k", &o).unwrap();
    assert_eq!(tier.get("k", 999).unwrap(), Some(o));
    assert_eq!(tier.get("k", 1_000).unwrap(), None);
    assert!(!tier.contains("k"));
}

#[test]
fn oversized_objects_are_refused_and_long_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(&config(dir.path(), 4, ReadMode::Mmap)).unwrap();
    let too_big = CachedObject {
        body: Bytes::from(vec![0; tier.segment_bytes() as usize]),
        ..object(1, 0, LATER)
    };
    assert!(!tier.put("big", &too_big).unwrap());
    assert!(!tier.contains("big"));
    let long = "k".repeat(super::record::MAX_KEY_BYTES + 1);
    assert!(matches!(
        tier.put(&long, &object(1, 1, LATER)),
        Err(DiskError::KeyTooLong { .. })
    ));
    assert_eq!(tier.stats().writes, 0);
}

#[test]
fn a_store_file_of_another_size_is_an_error_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    drop(DiskTier::open(&config(dir.path(), 8, ReadMode::Mmap)).unwrap());
    let store = dir.path().join("store-0.fcs");
    let len = std::fs::metadata(&store).unwrap().len();
    assert!(matches!(
        DiskTier::open(&config(dir.path(), 4, ReadMode::Mmap)),
        Err(DiskError::StoreMismatch { .. })
    ));
    assert_eq!(std::fs::metadata(&store).unwrap().len(), len);
}

#[test]
fn readers_racing_a_wrapping_writer_never_see_wrong_bytes() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let tier = Arc::new(DiskTier::open(&config(dir.path(), 3, mode)).unwrap());
        let size = |i: usize| 1_000 + (i * 7_919) % 9_000;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|t| {
                let (tier, stop) = (tier.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut hits = 0;
                    let mut i = t;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i = (i + 13) % 40;
                        if let Some(got) = tier.get(&key(i), NOW).unwrap() {
                            assert_eq!(got, object(i as u8, size(i), LATER));
                            hits += 1;
                        }
                    }
                    hits
                })
            })
            .collect();
        for round in 0..3_000 {
            let i = round % 40;
            tier.put(&key(i), &object(i as u8, size(i), LATER)).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let hits: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
        let s = tier.stats();
        assert!(hits > 0 && s.evictions > 0, "{mode:?}: hits {hits}, {s:?}");
        assert_eq!(s.corrupt_dropped, 0, "{mode:?}: races are not corruption");
    }
}
