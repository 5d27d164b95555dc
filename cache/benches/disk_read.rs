//! Disk tier reads: `ReadMode::IoUring` against the `ReadMode::Mmap` baseline, same
//! store, same keys, same run (warm page cache: this compares the read paths, not the
//! device). Prints µs per read and the ratio io_uring / mmap (below 1: io_uring is
//! faster).
//!
//! `cargo bench -p cache --bench disk_read`; without `--bench` (e.g. under
//! `cargo test --all-targets`) it runs a few iterations as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cache::{CachedObject, DiskConfig, DiskTier, ObjectMeta, ReadMode};

/// Store size for the benchmark.
const STORE_BYTES: u64 = 512 << 20;
/// Body sizes measured: an LL-HLS part, a short segment, a long segment.
const BODY_SIZES: [usize; 3] = [16 << 10, 256 << 10, 2 << 20];
/// Reader thread counts measured.
const THREADS: [usize; 2] = [1, 4];
/// Bytes of objects written per body size (so the page cache holds all of them).
const WORKING_SET_BYTES: usize = 128 << 20;
/// The same in a smoke run (without `--bench`).
const SMOKE_WORKING_SET_BYTES: usize = 4 << 20;

fn object(body_len: usize, seed: usize) -> CachedObject {
    CachedObject {
        meta: Arc::new(ObjectMeta {
            status: 200,
            headers: vec![("content-type".into(), "video/iso.segment".into())],
            stored_at_ms: 0,
            fresh_until_ms: u64::MAX,
            stale_while_revalidate_ms: 0,
            stale_if_error_ms: 0,
        }),
        body: Bytes::from(vec![seed as u8; body_len]),
    }
}

/// Mean time per read with `threads` readers doing `reads_each` reads over `keys`.
fn measure(
    tier: &Arc<DiskTier>,
    keys: &Arc<Vec<String>>,
    threads: usize,
    reads_each: usize,
) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (tier, keys) = (tier.clone(), keys.clone());
            std::thread::spawn(move || {
                for i in 0..reads_each {
                    let k = &keys[(i * 31 + t * 7) % keys.len()];
                    let got = tier.get(k, 1).expect("read").expect("present");
                    std::hint::black_box(got);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("reader");
    }
    start.elapsed() / (threads * reads_each) as u32
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = |read_mode| DiskConfig {
        read_mode,
        ..DiskConfig::new(dir.path(), STORE_BYTES)
    };
    for size in BODY_SIZES {
        let working_set = if full {
            WORKING_SET_BYTES
        } else {
            SMOKE_WORKING_SET_BYTES
        };
        let count = (working_set / size).max(2);
        let keys: Arc<Vec<String>> =
            Arc::new((0..count).map(|i| format!("/vod/a/{size}/{i}")).collect());
        {
            let writer = DiskTier::open(&config(ReadMode::Mmap)).expect("open");
            for (i, k) in keys.iter().enumerate() {
                assert!(writer.put(k, &object(size, i)).expect("put"));
            }
        }
        let mmap = Arc::new(DiskTier::open(&config(ReadMode::Mmap)).expect("open mmap"));
        let uring = Arc::new(DiskTier::open(&config(ReadMode::IoUring)).expect("open io_uring"));
        for threads in THREADS {
            let reads_each = if full { (4 * count).max(2_000) } else { 4 };
            // Warm both, then measure alternately so drift hits both alike.
            measure(&mmap, &keys, threads, reads_each.min(count));
            measure(&uring, &keys, threads, reads_each.min(count));
            let m = measure(&mmap, &keys, threads, reads_each);
            let u = measure(&uring, &keys, threads, reads_each);
            println!(
                "disk_read body={:>5} KiB threads={threads}: mmap {:>8.1} µs/read, io_uring {:>8.1} µs/read, ratio io_uring/mmap {:.2}",
                size >> 10,
                m.as_secs_f64() * 1e6,
                u.as_secs_f64() * 1e6,
                u.as_secs_f64() / m.as_secs_f64()
            );
        }
    }
}
