//! Property tests of the disk tier's decoders: the metadata codec, the record codec,
//! the segment replay of a scan, and the index snapshot.
//!
//! For arbitrary inputs each encoding round-trips; arbitrary bytes, single bit flips
//! and truncations never panic, never decode to an object other than the one encoded
//! (a damaged record or snapshot is an error, a damaged record in a segment is skipped
//! and never indexed), and never make a decoder allocate more than its input could
//! justify (a counting allocator measures the largest single allocation).

use std::collections::HashMap;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index as Pick;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::index::{Index, Loc};
use super::meta_codec::{
    self, MetaError, MAX_HEADERS, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES,
};
use super::record::{self, RecordError, RecordHead, RecordKind, MAX_KEY_BYTES, RECORD_ALIGN};
use super::scan::replay_segment;
use super::snapshot::{self, SnapshotError};
use super::store_file::Geometry;
use crate::object::ObjectMeta;

/// Largest single allocation a decoder may make for an input of `len` bytes: a small
/// multiple of the input (a `Vec` of parsed entries is wider than their encoding),
/// never anything a length field alone could ask for.
fn allocation_bound(len: usize) -> usize {
    16 * len + 16 * 1024
}

/// A test-only global allocator that remembers, per thread and only while asked to,
/// the largest single allocation.
mod alloc_probe {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        /// `Some(largest so far)` while a measurement runs on this thread.
        static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
    }

    struct Probe;

    fn note(size: usize) {
        // `try_with`: never panic inside the allocator (thread teardown).
        let _ = LARGEST.try_with(|l| {
            if let Some(max) = l.get() {
                l.set(Some(max.max(size)));
            }
        });
    }

    // SAFETY (for the impl and each call below): every method forwards its arguments
    // unchanged to `System`, so `System` upholds the `GlobalAlloc` contract; `note`
    // only touches a const-initialised thread-local `Cell` and never allocates.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Probe {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: see above; the caller's `layout` is passed through.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: see above.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `System` through this allocator with `layout`.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            // SAFETY: as for `dealloc`; `new_size` is the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static PROBE: Probe = Probe;

    /// Runs `f` and returns its result with the largest single allocation it made on
    /// this thread.
    pub(super) fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
        LARGEST.with(|l| l.set(Some(0)));
        let out = f();
        let largest = LARGEST.with(|l| l.take()).unwrap_or(0);
        (out, largest)
    }
}

use alloc_probe::largest_allocation;

// ---------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------

/// Strings of up to `max_chars` of any `char` (controls, NUL and non-ASCII included).
fn any_string(max_chars: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max_chars).prop_map(String::from_iter)
}

/// Any metadata within the codec's limits: arbitrary status and instants, up to eight
/// headers whose names and values are any Unicode (empty included).
fn arb_meta() -> impl Strategy<Value = ObjectMeta> {
    (
        any::<u16>(),
        vec((any_string(24), any_string(120)), 0..8),
        any::<[u64; 4]>(),
    )
        .prop_map(|(status, headers, t)| ObjectMeta {
            status,
            headers,
            stored_at_ms: t[0],
            fresh_until_ms: t[1],
            stale_while_revalidate_ms: t[2],
            stale_if_error_ms: t[3],
        })
}

/// A record to encode: kind, key and, for objects, metadata and body.
#[derive(Debug, Clone)]
struct Rec {
    kind: RecordKind,
    key: String,
    meta: Option<ObjectMeta>,
    body: Vec<u8>,
}

fn arb_object(key: impl Strategy<Value = String>) -> impl Strategy<Value = Rec> {
    (key, arb_meta(), vec(any::<u8>(), 0..1500)).prop_map(|(key, meta, body)| Rec {
        kind: RecordKind::Object,
        key,
        meta: Some(meta),
        body,
    })
}

fn arb_tombstone(key: impl Strategy<Value = String>) -> impl Strategy<Value = Rec> {
    (key, any::<bool>()).prop_map(|(key, prefix)| Rec {
        kind: if prefix {
            RecordKind::RemovePrefix
        } else {
            RecordKind::RemoveKey
        },
        key,
        meta: None,
        body: Vec::new(),
    })
}

/// Any record: keys of any characters up to 64 of them (empty included), or just
/// under or at [`MAX_KEY_BYTES`].
fn arb_record() -> impl Strategy<Value = Rec> {
    let key = || {
        prop_oneof![
            4 => any_string(64),
            1 => (MAX_KEY_BYTES - 8..=MAX_KEY_BYTES).prop_map(|n| "k".repeat(n)),
        ]
    };
    prop_oneof![
        3 => arb_object(key()),
        1 => arb_tombstone(key()),
    ]
}

/// A record over a handful of short keys sharing prefixes, so that replacements,
/// removals and prefix purges interact.
fn arb_log_record() -> impl Strategy<Value = Rec> {
    let key = || "/[ab]{0,3}";
    prop_oneof![
        4 => arb_object(key()),
        1 => arb_tombstone(key()),
    ]
}

/// The stored bytes of `rec` sealed with `epoch` (padding included).
fn encode_record(rec: &Rec, epoch: u64) -> Vec<u8> {
    let mut head =
        RecordHead::encode(rec.kind, &rec.key, rec.meta.as_ref(), rec.body.len()).unwrap();
    let stored = head.stored_len();
    let (h, pad) = head.seal(epoch, &rec.body);
    let out = [h, &rec.body, pad].concat();
    assert_eq!(out.len(), stored);
    out
}

/// Asserts that `bytes` decode to exactly `rec` sealed with `epoch`.
fn assert_decodes_to(bytes: &[u8], rec: &Rec, epoch: u64) -> Result<(), TestCaseError> {
    let got = record::decode(bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(got.header.kind, rec.kind);
    prop_assert_eq!(got.header.epoch, epoch);
    prop_assert_eq!(got.key, rec.key.as_str());
    prop_assert_eq!(got.meta.as_ref(), rec.meta.as_ref());
    prop_assert_eq!(&bytes[got.body.clone()], rec.body.as_slice());
    Ok(())
}

/// The checksum the record layout documents: xxh3-64 of bytes `0..8` and `16..end`.
fn documented_checksum(rec: &[u8]) -> u64 {
    let mut h = Xxh3::new();
    h.update(&rec[..8]);
    h.update(&rec[16..]);
    h.digest()
}

fn geometry() -> impl Strategy<Value = Geometry> {
    // From the smallest ring to a few hundred segments over several files.
    (0u64..64, 1usize..4).prop_map(|(extra, files)| {
        let bytes = files as u64 * (4096 + (2 + extra * 4) * 64 * 1024);
        Geometry::for_capacity(bytes, files).unwrap()
    })
}

/// Snapshot entries that lie inside `geo`'s ring.
fn arb_entries(geo: Geometry) -> impl Strategy<Value = Vec<(String, Loc)>> {
    let loc = (
        0..geo.segments(),
        0..geo.segment_bytes as u32,
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(move |(seg, offset, len, epoch, useful_until_ms)| Loc {
            seg,
            offset,
            len: len % (geo.segment_bytes as u32 - offset + 1),
            epoch,
            useful_until_ms,
        });
    vec((any_string(48), loc), 0..24)
}

fn encode_snapshot(geo: &Geometry, head_epoch: u64, entries: &[(String, Loc)]) -> Vec<u8> {
    snapshot::encode(
        geo,
        head_epoch,
        entries.iter().map(|(k, l)| (k.as_str(), l)),
    )
}

// ---------------------------------------------------------------------------------
// 1. Metadata codec
// ---------------------------------------------------------------------------------

/// The fixed part of an encoding (status, four instants, header count).
fn meta_prefix(count: u16) -> Vec<u8> {
    let mut out = vec![0u8; 2 + 4 * 8];
    out.extend_from_slice(&count.to_le_bytes());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn meta_round_trips(meta in arb_meta()) {
        let mut out = vec![0xAA; 3]; // encode appends; what was there stays
        meta_codec::encode(&meta, &mut out).unwrap();
        prop_assert_eq!(&out[..3], &[0xAA; 3]);
        prop_assert_eq!(meta_codec::decode(&out[3..]).unwrap(), meta);
    }

    /// Whatever the bytes, decoding returns (no panic), allocates no more than the
    /// input justifies, and accepts only canonical encodings.
    #[test]
    fn meta_decode_of_arbitrary_bytes(bytes in vec(any::<u8>(), 0..4096)) {
        let (res, largest) = largest_allocation(|| meta_codec::decode(&bytes));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        if let Ok(meta) = res {
            let mut again = Vec::new();
            meta_codec::encode(&meta, &mut again).unwrap();
            prop_assert_eq!(again, bytes);
        }
    }

    /// Valid encodings with a few bytes overwritten exercise the header loop far more
    /// than random bytes do; the same guarantees hold.
    #[test]
    fn meta_decode_of_damaged_encodings(
        meta in arb_meta(),
        edits in vec((any::<Pick>(), any::<u8>()), 1..4),
        cut in any::<Pick>(),
    ) {
        let mut bytes = Vec::new();
        meta_codec::encode(&meta, &mut bytes).unwrap();
        for (at, b) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let (res, largest) = largest_allocation(|| meta_codec::decode(&bytes));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        if let Ok(meta) = res {
            let mut again = Vec::new();
            meta_codec::encode(&meta, &mut again).unwrap();
            prop_assert_eq!(again, bytes);
        }
    }

    /// Declared counts and lengths far beyond the data are errors, never allocations.
    #[test]
    fn meta_huge_declared_lengths_are_refused_without_allocating(
        count in any::<u16>(),
        name_len in any::<u16>(),
        value_len in any::<u32>(),
        tail in vec(b'a'..=b'z', 0..64),
    ) {
        let mut bytes = meta_prefix(count);
        bytes.extend_from_slice(&name_len.to_le_bytes());
        bytes.extend_from_slice(&value_len.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let (res, largest) = largest_allocation(|| meta_codec::decode(&bytes));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        let fits = usize::from(name_len) + value_len as usize <= tail.len();
        if usize::from(count) > MAX_HEADERS {
            prop_assert_eq!(res, Err(MetaError::TooManyHeaders(count.into())));
        } else if count > 0 && usize::from(name_len) > MAX_HEADER_NAME_BYTES {
            prop_assert_eq!(res, Err(MetaError::HeaderNameTooLong(name_len.into())));
        } else if count > 0 && value_len as usize > MAX_HEADER_VALUE_BYTES {
            prop_assert_eq!(res, Err(MetaError::HeaderValueTooLong(value_len as usize)));
        } else if count > 0 && !fits {
            prop_assert_eq!(res, Err(MetaError::Truncated));
        }
    }

    /// Header names and values just inside the limits encode and round-trip; one byte
    /// over is refused by the encoder.
    #[test]
    fn meta_limits_hold_at_the_boundary(
        name_len in MAX_HEADER_NAME_BYTES - 2..=MAX_HEADER_NAME_BYTES + 1,
        value_len in MAX_HEADER_VALUE_BYTES - 2..=MAX_HEADER_VALUE_BYTES + 1,
    ) {
        let meta = ObjectMeta {
            status: 200,
            headers: vec![("n".repeat(name_len), "v".repeat(value_len))],
            stored_at_ms: 0,
            fresh_until_ms: 0,
            stale_while_revalidate_ms: 0,
            stale_if_error_ms: 0,
        };
        let mut out = Vec::new();
        let res = meta_codec::encode(&meta, &mut out);
        if name_len > MAX_HEADER_NAME_BYTES {
            prop_assert_eq!(res, Err(MetaError::HeaderNameTooLong(name_len)));
        } else if value_len > MAX_HEADER_VALUE_BYTES {
            prop_assert_eq!(res, Err(MetaError::HeaderValueTooLong(value_len)));
        } else {
            prop_assert_eq!(res, Ok(()));
            prop_assert_eq!(meta_codec::decode(&out).unwrap(), meta);
        }
    }
}

// ---------------------------------------------------------------------------------
// 2. Record codec
// ---------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn record_round_trips(rec in arb_record(), epoch in any::<u64>()) {
        let bytes = encode_record(&rec, epoch);
        prop_assert_eq!(bytes.len() % RECORD_ALIGN, 0);
        let header = record::RecordHeader::parse(&bytes).unwrap();
        prop_assert_eq!(header.stored_len(), bytes.len());
        prop_assert!(bytes[header.unpadded_len()..].iter().all(|b| *b == 0), "padding is zeros");
        prop_assert_eq!(header.checksum, documented_checksum(&bytes[..header.unpadded_len()]));
        assert_decodes_to(&bytes, &rec, epoch)?;
        // Exactly the unpadded bytes decode too (what a reader copies).
        assert_decodes_to(&bytes[..header.unpadded_len()], &rec, epoch)?;
    }

    /// Any single bit flip in a record's bytes is caught (a flip in the padding is
    /// outside the record and leaves it decoding to itself).
    #[test]
    fn record_single_bit_flips_are_caught(
        rec in arb_record(),
        epoch in any::<u64>(),
        bit in any::<Pick>(),
    ) {
        let bytes = encode_record(&rec, epoch);
        let unpadded = record::RecordHeader::parse(&bytes).unwrap().unpadded_len();
        let bit = bit.index(bytes.len() * 8);
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        if bit / 8 < unpadded {
            let res = record::decode(&bad);
            prop_assert!(res.is_err(), "flip of bit {} accepted: {:?}", bit, res);
        } else {
            assert_decodes_to(&bad, &rec, epoch)?;
        }
    }

    /// Every strict prefix of a record fails as truncated.
    #[test]
    fn record_truncations_fail_cleanly(
        rec in arb_record(),
        epoch in any::<u64>(),
        cut in any::<Pick>(),
    ) {
        let bytes = encode_record(&rec, epoch);
        let unpadded = record::RecordHeader::parse(&bytes).unwrap().unpadded_len();
        let cut = cut.index(unpadded);
        prop_assert_eq!(record::decode(&bytes[..cut]).unwrap_err(), RecordError::Truncated);
    }

    #[test]
    fn record_decode_of_arbitrary_bytes(bytes in vec(any::<u8>(), 0..4096)) {
        let (res, largest) = largest_allocation(|| record::decode(&bytes).map(|_| ()));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        prop_assert!(res.is_err());
    }

    /// Headers with any version, kind and lengths over any payload, with the checksum
    /// forged to match, so that the decoder's checks after the checksum (key UTF-8,
    /// tombstone payload, metadata) see arbitrary data: no panic, no allocation beyond
    /// the input, and whatever is accepted re-encodes to the same bytes. Lengths mostly
    /// agree with the payload, and the metadata is often valid, so some get accepted.
    #[test]
    fn record_decode_of_forged_records(
        version in prop_oneof![9 => Just(record::RECORD_VERSION), 1 => any::<u8>()],
        kind in prop_oneof![9 => 1u8..=3, 1 => any::<u8>()],
        key in prop_oneof![
            vec(any::<u8>(), 0..16),
            vec(0x20u8..0x7f, 0..64),
            any_string(16).prop_map(String::into_bytes),
        ],
        meta in prop_oneof![
            2 => arb_meta().prop_map(|m| {
                let mut out = Vec::new();
                meta_codec::encode(&m, &mut out).unwrap();
                out
            }),
            1 => vec(any::<u8>(), 0..200),
            1 => Just(Vec::new()),
        ],
        body in vec(any::<u8>(), 0..600),
        lengths in prop::option::weighted(0.25, (any::<u16>(), any::<u32>(), any::<u32>())),
        tail in vec(any::<u8>(), 0..16),
        epoch in any::<u64>(),
        bare_tombstone in any::<bool>(),
    ) {
        let (mut meta, mut body) = (meta, body);
        if bare_tombstone && (kind == 2 || kind == 3) {
            meta.clear();
            body.clear();
        }
        let (key_len, meta_len, body_len) =
            lengths.unwrap_or((key.len() as u16, meta.len() as u32, body.len() as u32));
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&record::RECORD_MAGIC);
        bytes.push(version);
        bytes.push(kind);
        bytes.extend_from_slice(&key_len.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&epoch.to_le_bytes());
        bytes.extend_from_slice(&meta_len.to_le_bytes());
        bytes.extend_from_slice(&body_len.to_le_bytes());
        for part in [&key, &meta, &body, &tail] {
            bytes.extend_from_slice(part);
        }
        let end = (record::RECORD_HEADER_BYTES as u64 + u64::from(key_len) + u64::from(meta_len)
            + u64::from(body_len)).min(bytes.len() as u64) as usize;
        let sum = documented_checksum(&bytes[..end]);
        bytes[8..16].copy_from_slice(&sum.to_le_bytes());

        let (res, largest) = largest_allocation(|| {
            record::decode(&bytes).map(|r| (r.header, r.key.to_owned(), r.meta, r.body))
        });
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        if let Ok((header, key, meta, body)) = res {
            let rec = Rec { kind: header.kind, key, meta, body: bytes[body].to_vec() };
            let again = encode_record(&rec, epoch);
            prop_assert_eq!(&again[..header.unpadded_len()], &bytes[..header.unpadded_len()]);
        }
    }
}

// ---------------------------------------------------------------------------------
// 3. Segment replay (the scan on open)
// ---------------------------------------------------------------------------------

/// What replaying `records` (laid out back to back from offset 0) must leave in the
/// index: key → (offset, unpadded length), applying removals and prefix purges.
fn model_replay(records: &[(Rec, usize, usize)]) -> HashMap<String, (u32, u32)> {
    let mut map = HashMap::new();
    for (rec, offset, unpadded) in records {
        match rec.kind {
            RecordKind::Object => {
                map.insert(rec.key.clone(), (*offset as u32, *unpadded as u32));
            }
            RecordKind::RemoveKey => {
                map.remove(&rec.key);
            }
            RecordKind::RemovePrefix => map.retain(|k: &String, _| !k.starts_with(&rec.key)),
        }
    }
    map
}

/// Lays `records` out back to back with `epoch`; returns the bytes and, per record,
/// its offset and unpadded length.
fn lay_out(records: &[Rec], epoch: u64) -> (Vec<u8>, Vec<(Rec, usize, usize)>) {
    let mut seg = Vec::new();
    let mut placed = Vec::new();
    for rec in records {
        let bytes = encode_record(rec, epoch);
        let unpadded = record::RecordHeader::parse(&bytes).unwrap().unpadded_len();
        placed.push((rec.clone(), seg.len(), unpadded));
        seg.extend_from_slice(&bytes);
    }
    (seg, placed)
}

/// The index as key → (offset, length), checking every entry's segment and epoch.
fn index_contents(index: &Index, seg: u32, epoch: u64) -> HashMap<String, (u32, u32)> {
    index
        .entries()
        .map(|(k, loc)| {
            assert_eq!((loc.seg, loc.epoch), (seg, epoch));
            (k.to_owned(), (loc.offset, loc.len))
        })
        .collect()
}

/// What may follow a segment's last record: zeros, random bytes, or an older turn's
/// records (valid, but of another epoch).
fn arb_tail() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0usize..512).prop_map(|n| vec![0; n]),
        vec(any::<u8>(), 0..512),
        (vec(arb_log_record(), 1..4), any::<u64>())
            .prop_map(|(recs, epoch)| lay_out(&recs, epoch).0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Valid records followed by anything yield exactly the valid records, in order.
    #[test]
    fn replay_finds_exactly_the_records_before_the_garbage(
        records in vec(arb_log_record(), 0..12),
        epoch in any::<u64>(),
        tail in arb_tail(),
        seg in 0u32..4,
    ) {
        let (mut bytes, placed) = lay_out(&records, epoch);
        let tail_is_another_turn = record::RecordHeader::parse(&tail).is_ok_and(|h| h.epoch != epoch);
        prop_assume!(record::RecordHeader::parse(&tail).is_err() || tail_is_another_turn);
        bytes.extend_from_slice(&tail);
        let mut index = Index::new(4);
        let corrupt = replay_segment(&bytes, seg, epoch, &mut index);
        prop_assert_eq!(corrupt, 0);
        prop_assert_eq!(index_contents(&index, seg, epoch), model_replay(&placed));
    }

    /// A single bit flip anywhere in a segment never gets a damaged record indexed:
    /// every entry points at one of the original object records of its key, and the
    /// damaged record is not among the entries.
    #[test]
    fn replay_never_indexes_a_damaged_record(
        records in vec(arb_log_record(), 1..10),
        epoch in any::<u64>(),
        bit in any::<Pick>(),
    ) {
        let (mut bytes, placed) = lay_out(&records, epoch);
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let damaged = placed.iter().position(|(_, at, len)| (*at..at + len).contains(&(bit / 8)));
        let mut index = Index::new(1);
        let corrupt = replay_segment(&bytes, 0, epoch, &mut index);
        prop_assert!(corrupt <= 1);
        for (key, (offset, len)) in index_contents(&index, 0, epoch) {
            let i = placed.iter().position(|(_, at, _)| *at as u32 == offset);
            let i = i.ok_or_else(|| TestCaseError::fail(format!("{key} at unknown offset {offset}")))?;
            let (rec, _, unpadded) = &placed[i];
            prop_assert_eq!(&rec.key, &key);
            prop_assert_eq!(rec.kind, RecordKind::Object);
            prop_assert_eq!(*unpadded as u32, len);
            prop_assert_ne!(Some(i), damaged, "the damaged record was indexed");
        }
    }

    /// Random bytes, with any epoch or the one their first header claims, never panic.
    #[test]
    fn replay_of_random_bytes_never_panics(
        bytes in vec(any::<u8>(), 0..4096),
        epoch in any::<u64>(),
        magic_first in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if magic_first && bytes.len() >= 8 {
            // Make the first header plausible so the loop gets past it more often.
            bytes[..4].copy_from_slice(&record::RECORD_MAGIC);
            bytes[4] = record::RECORD_VERSION;
            bytes[5] = 1 + bytes[5] % 3;
        }
        let epoch = record::RecordHeader::parse(&bytes).map_or(epoch, |h| h.epoch);
        let mut index = Index::new(1);
        let (_, largest) = largest_allocation(|| replay_segment(&bytes, 0, epoch, &mut index));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        prop_assert_eq!(index.len(), 0, "random bytes never verify");
    }
}

// ---------------------------------------------------------------------------------
// 4. Index snapshot (it carries a trailing xxh3-64 over everything before it)
// ---------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn snapshot_round_trips(
        (geo, entries) in geometry().prop_flat_map(|g| (Just(g), arb_entries(g))),
        head_epoch in any::<u64>(),
    ) {
        let bytes = encode_snapshot(&geo, head_epoch, &entries);
        let snap = snapshot::decode(&bytes, &geo).unwrap();
        prop_assert_eq!(snap.head_epoch, head_epoch);
        prop_assert_eq!(snap.entries, entries);
    }

    #[test]
    fn snapshot_single_bit_flips_are_rejected(
        (geo, entries) in geometry().prop_flat_map(|g| (Just(g), arb_entries(g))),
        head_epoch in any::<u64>(),
        bit in any::<Pick>(),
    ) {
        let mut bytes = encode_snapshot(&geo, head_epoch, &entries);
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let res = snapshot::decode(&bytes, &geo);
        prop_assert!(res.is_err(), "flip of bit {} accepted", bit);
    }

    #[test]
    fn snapshot_truncations_are_rejected(
        (geo, entries) in geometry().prop_flat_map(|g| (Just(g), arb_entries(g))),
        cut in any::<Pick>(),
    ) {
        let bytes = encode_snapshot(&geo, 7, &entries);
        let cut = cut.index(bytes.len());
        prop_assert!(snapshot::decode(&bytes[..cut], &geo).is_err());
    }

    #[test]
    fn snapshot_decode_of_arbitrary_bytes(geo in geometry(), bytes in vec(any::<u8>(), 0..4096)) {
        let (res, largest) = largest_allocation(|| snapshot::decode(&bytes, &geo));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        prop_assert!(res.is_err());
    }

    /// Snapshots whose entry count, key lengths, keys and locations were overwritten
    /// (or whose entry area is random bytes) under a forged, matching checksum: no
    /// panic, no allocation beyond the input, and whatever is accepted lies inside the
    /// ring and re-encodes to the same bytes.
    #[test]
    fn snapshot_decode_of_forged_snapshots(
        (geo, entries) in geometry().prop_flat_map(|g| (Just(g), arb_entries(g))),
        random_entries in prop::option::weighted(0.25, vec(any::<u8>(), 0..2048)),
        count in prop::option::weighted(0.5, prop_oneof![0u64..40, 0u64..1 << 24, any::<u64>()]),
        edits in vec((any::<Pick>(), any::<u8>()), 0..3),
    ) {
        let mut bytes = encode_snapshot(&geo, 3, &entries);
        bytes.truncate(bytes.len() - 8); // the checksum, forged below
        if let Some(random) = random_entries {
            bytes.truncate(48);
            bytes.extend_from_slice(&random);
        }
        if let Some(count) = count {
            bytes[40..48].copy_from_slice(&count.to_le_bytes());
        }
        for (at, b) in &edits {
            // Past the fixed prefix: magic and geometry are checked plainly elsewhere.
            let i = 48 + at.index(bytes.len() - 48 + 1);
            if let Some(byte) = bytes.get_mut(i) {
                *byte = *b;
            }
        }
        let sum = xxh3_64(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        let (res, largest) = largest_allocation(|| snapshot::decode(&bytes, &geo));
        prop_assert!(largest <= allocation_bound(bytes.len()), "{largest} bytes allocated");
        match res {
            Ok(snap) => {
                for (_, loc) in &snap.entries {
                    prop_assert!(loc.seg < geo.segments());
                    prop_assert!(u64::from(loc.offset) + u64::from(loc.len) <= geo.segment_bytes);
                }
                prop_assert_eq!(encode_snapshot(&geo, snap.head_epoch, &snap.entries), bytes);
            }
            Err(e) => prop_assert_ne!(e, SnapshotError::ChecksumMismatch),
        }
    }
}
