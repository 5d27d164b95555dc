//! # disk — the edge's disk tier: preallocated store files as a log-structured ring
//!
//! Objects are appended as checksummed records to one or more **store files** of a
//! fixed, preallocated size (`{path}/store-{i}.fcs`). Each file is cut into equal
//! **segments**; segments are numbered across files (`g` lives in file `g % files`)
//! and written in ring order, each one start to end, once per turn of the ring
//! (write-once). An in-memory [`index`](self) maps a key to its newest record. When the
//! writer moves into a segment that still holds records, their index entries are
//! removed first (counted in [`DiskStats::evictions`]), then the bytes are
//! overwritten. Store files are never truncated or shrunk: a truncated file under a
//! live mapping would raise `SIGBUS` in readers.
//!
//! ## Store file layout
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | [`store_file::FILE_HEADER_BYTES`] | file header: magic `FCSTORE\0`, version, file index, file count, file length, segment length, xxh3-64 |
//! | header + `k · segment` | segment length | segment `k` of this file: records back to back, 8 zero bytes after the last one (where they fit), then zeros or an older turn's records |
//!
//! ## Record layout (version 1, little-endian, 8-byte aligned)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | magic `FCR1` |
//! | 4 | 1 | version (`1`) |
//! | 5 | 1 | kind: `1` object, `2` remove key, `3` remove prefix |
//! | 6 | 2 | key length (≤ [`record::MAX_KEY_BYTES`]) |
//! | 8 | 8 | xxh3-64 of bytes `0..8` and `16..end` (everything but itself, padding excluded) |
//! | 16 | 8 | epoch: the turn of the ring in which this segment was written |
//! | 24 | 4 | metadata length |
//! | 28 | 4 | body length |
//! | 32 | key, metadata, body, zero padding to 8 | |
//!
//! Metadata (objects only): status `u16`, `stored_at_ms`, `fresh_until_ms`,
//! `stale_while_revalidate_ms`, `stale_if_error_ms` (`u64` each), header count `u16`,
//! then per header name length `u16`, value length `u32`, name, value — bounded by
//! the limits in [`meta_codec`].
//!
//! Every segment's records share one epoch, and epochs only grow. A scan of a
//! segment stops at the first record whose magic or epoch does not match the first
//! one, so leftovers of an older turn are never resurrected (nor, thanks to the zeros
//! written after each record, this epoch's leftovers of an earlier session: damage
//! that hid a segment's first record on open gets its epoch reused); a record whose
//! checksum fails is skipped and counted. Applying the segments in epoch order replays
//! the log: later records for a key replace earlier ones, tombstones (purges) remove
//! them.
//!
//! ## Restart
//!
//! [`DiskTier::snapshot`] writes the index with the epoch of the segment being
//! written (`index.snap`, via a temporary file and a rename). [`DiskTier::open`]
//! loads it, keeps the entries whose segment still carries their epoch, and scans
//! only the tail (segments of that epoch or later). Without a usable snapshot it
//! scans every segment.
//!
//! ## Reads
//!
//! Readers copy a record out of the store ([`ReadMode::Mmap`]: from a shared
//! read-only mapping; [`ReadMode::IoUring`]: with `IORING_OP_READ` on a dedicated
//! thread) and verify magic, kind, epoch, key and checksum **on the copy** before
//! returning it, so bytes that the writer overwrites concurrently, or that rotted on
//! disk, are never served. A checksum failure drops the index entry
//! ([`DiskStats::corrupt_dropped`]) and the caller refetches.
//!
//! With [`DiskConfig::zero_copy`] a hit is verified in place in the mapping instead
//! and its body borrows the mapping, pinning the segment against reuse while it is
//! referenced ([`mapped`]).

mod error;
mod index;
pub mod mapped;
pub mod meta_codec;
mod read_mmap;
mod read_uring;
mod reader;
pub mod record;
mod scan;
mod snapshot;
pub mod store_file;
mod tier;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use error::DiskError;
pub use tier::DiskTier;

/// Store files when the configuration does not say.
pub const DEFAULT_FILES: usize = 1;

/// How [`DiskTier::get`] reads records from the store files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Copy out of a shared read-only `mmap` of each store file (memmap2).
    #[default]
    Mmap,
    /// Submit reads to an io_uring owned by a dedicated thread (io-uring crate).
    IoUring,
}

/// Where and how big the disk tier is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskConfig {
    /// A directory; store files are `path/store-{i}.fcs`, the snapshot `path/index.snap`.
    pub path: PathBuf,
    /// Total capacity in bytes, split evenly over `files`.
    pub bytes: u64,
    /// Number of store files (default [`DEFAULT_FILES`]).
    pub files: usize,
    /// How reads are done (default [`ReadMode::Mmap`]).
    pub read_mode: ReadMode,
    /// Zero-copy hits (default [`DEFAULT_ZERO_COPY`]): [`DiskTier::get`] verifies a
    /// record in place in a read-only mapping and returns a body that borrows it
    /// (pinning its segment, [`mapped`]); the socket write copies from the mapping,
    /// or plain HTTP/1.1 may `sendfile(2)` it. Independent of `read_mode`.
    pub zero_copy: bool,
}

/// [`DiskConfig::zero_copy`] when the configuration does not say: off, because a
/// skipped (pinned) segment can outlive the tombstone of a purge, which a reopen
/// without a usable snapshot would then undo ([`mapped`], docs/decisions.md).
pub const DEFAULT_ZERO_COPY: bool = false;

impl DiskConfig {
    /// A configuration with the default file count and read mode.
    pub fn new(path: impl Into<PathBuf>, bytes: u64) -> Self {
        DiskConfig {
            path: path.into(),
            bytes,
            files: DEFAULT_FILES,
            read_mode: ReadMode::default(),
            zero_copy: DEFAULT_ZERO_COPY,
        }
    }
}

/// Counters and gauges of the disk tier (see [`DiskTier::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskStats {
    /// Bytes of all segments of all store files (the ring's size).
    pub capacity_bytes: u64,
    /// Bytes of the records the index points to (live objects).
    pub used_bytes: u64,
    /// Objects in the index.
    pub objects: u64,
    /// Objects lost because the ring wrapped over their segment.
    pub evictions: u64,
    /// Records dropped because their checksum (or framing) failed on read or scan.
    pub corrupt_dropped: u64,
    /// Records read from the store by [`DiskTier::get`].
    pub reads: u64,
    /// Object records appended by [`DiskTier::put`].
    pub writes: u64,
    /// Times the ring writer passed over a segment that a zero-copy body still
    /// borrowed ([`DiskConfig::zero_copy`]).
    pub pinned_skips: u64,
}
