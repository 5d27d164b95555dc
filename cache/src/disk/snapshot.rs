//! The index snapshot (`{path}/index.snap`): the index's entries plus the epoch of
//! the segment being written when it was taken, so a restart scans only the tail.
//!
//! Layout (little-endian): magic `FCSNAP\0\0`, version `u32`, file count `u32`,
//! segment bytes `u64`, segments per file `u64`, head epoch `u64`, entry count `u64`;
//! per entry key length `u16`, key, segment `u32`, offset `u32`, length `u32`, epoch
//! `u64`, useful-until `u64`; then xxh3-64 of everything before it. It is written to
//! a temporary file, synced, and renamed over the old one, so a crash leaves either
//! the old or the new snapshot.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::index::Loc;
use super::record::{u32_at, u64_at, MAX_KEY_BYTES};
use super::store_file::Geometry;

/// `FCSNAP\0\0`: first bytes of a snapshot.
pub(crate) const SNAPSHOT_MAGIC: [u8; 8] = *b"FCSNAP\0\0";
/// The snapshot layout version this code writes and reads.
pub(crate) const SNAPSHOT_VERSION: u32 = 1;
/// Bytes before the first entry.
const PREFIX_BYTES: usize = 48;
/// Bytes of an entry besides its key.
const ENTRY_FIXED_BYTES: usize = 2 + 4 + 4 + 4 + 8 + 8;
/// Bytes of the trailing checksum.
const CHECKSUM_BYTES: usize = 8;

/// A decoded snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) head_epoch: u64,
    pub(crate) entries: Vec<(String, Loc)>,
}

/// Why a snapshot file cannot be used (the tier then scans every segment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SnapshotError {
    /// Shorter than its fixed parts or its entries.
    #[error("snapshot truncated")]
    Truncated,
    /// Not a snapshot, or another layout version.
    #[error("not a version {SNAPSHOT_VERSION} snapshot")]
    BadMagic,
    /// Taken with another file count or segment size.
    #[error("snapshot geometry differs from the store's")]
    GeometryChanged,
    /// The trailing checksum does not match.
    #[error("snapshot checksum mismatch")]
    ChecksumMismatch,
    /// An entry's key exceeds [`MAX_KEY_BYTES`] or is not UTF-8.
    #[error("snapshot entry with a bad key")]
    BadKey,
    /// An entry points outside the ring.
    #[error("snapshot entry outside the store")]
    OutOfBounds,
    /// Bytes between the last entry and the checksum.
    #[error("trailing bytes in snapshot")]
    TrailingBytes,
}

/// `dir/index.snap`.
pub(crate) fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join("index.snap")
}

/// Encodes a snapshot of `entries` taken while segment epoch `head_epoch` was written.
pub(crate) fn encode<'a>(
    geo: &Geometry,
    head_epoch: u64,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a Loc)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_BYTES + entries.len() * 64);
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&(geo.files as u32).to_le_bytes());
    out.extend_from_slice(&geo.segment_bytes.to_le_bytes());
    out.extend_from_slice(&geo.segments_per_file.to_le_bytes());
    out.extend_from_slice(&head_epoch.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, loc) in entries {
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&loc.seg.to_le_bytes());
        out.extend_from_slice(&loc.offset.to_le_bytes());
        out.extend_from_slice(&loc.len.to_le_bytes());
        out.extend_from_slice(&loc.epoch.to_le_bytes());
        out.extend_from_slice(&loc.useful_until_ms.to_le_bytes());
    }
    let sum = xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Decodes and bounds-checks a snapshot against the store's geometry.
pub(crate) fn decode(bytes: &[u8], geo: &Geometry) -> Result<Snapshot, SnapshotError> {
    if bytes.len() < PREFIX_BYTES + CHECKSUM_BYTES {
        return Err(SnapshotError::Truncated);
    }
    if bytes[..8] != SNAPSHOT_MAGIC || u32_at(bytes, 8) != SNAPSHOT_VERSION {
        return Err(SnapshotError::BadMagic);
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    if xxh3_64(body) != u64_at(sum, 0) {
        return Err(SnapshotError::ChecksumMismatch);
    }
    if u32_at(body, 12) as usize != geo.files
        || u64_at(body, 16) != geo.segment_bytes
        || u64_at(body, 24) != geo.segments_per_file
    {
        return Err(SnapshotError::GeometryChanged);
    }
    let head_epoch = u64_at(body, 32);
    let count = u64_at(body, 40);
    // Bound the allocation by what the file can hold.
    if count > ((body.len() - PREFIX_BYTES) / ENTRY_FIXED_BYTES) as u64 {
        return Err(SnapshotError::Truncated);
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = PREFIX_BYTES;
    for _ in 0..count {
        let fixed = body
            .get(at..at + ENTRY_FIXED_BYTES)
            .ok_or(SnapshotError::Truncated)?;
        let key_len = usize::from(u16::from_le_bytes([fixed[0], fixed[1]]));
        if key_len > MAX_KEY_BYTES {
            return Err(SnapshotError::BadKey);
        }
        let key = body
            .get(at + 2..at + 2 + key_len)
            .ok_or(SnapshotError::Truncated)?;
        let key = std::str::from_utf8(key).map_err(|_| SnapshotError::BadKey)?;
        let f = body
            .get(at + 2 + key_len..at + ENTRY_FIXED_BYTES + key_len)
            .ok_or(SnapshotError::Truncated)?;
        let loc = Loc {
            seg: u32_at(f, 0),
            offset: u32_at(f, 4),
            len: u32_at(f, 8),
            epoch: u64_at(f, 12),
            useful_until_ms: u64_at(f, 20),
        };
        if loc.seg >= geo.segments()
            || u64::from(loc.offset) + u64::from(loc.len) > geo.segment_bytes
        {
            return Err(SnapshotError::OutOfBounds);
        }
        entries.push((key.to_owned(), loc));
        at += ENTRY_FIXED_BYTES + key_len;
    }
    if at != body.len() {
        return Err(SnapshotError::TrailingBytes);
    }
    Ok(Snapshot {
        head_epoch,
        entries,
    })
}

/// Replaces `dir/index.snap` with `bytes` atomically (temporary file, fsync, rename,
/// fsync of the directory).
pub(crate) fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join("index.snap.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, snapshot_path(dir))?;
    File::open(dir)?.sync_all()
}

/// The usable snapshot in `dir`, if any (problems are logged, not returned: the
/// caller falls back to a full scan).
pub(crate) fn load(dir: &Path, geo: &Geometry) -> Option<Snapshot> {
    let path = snapshot_path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "disk tier: cannot read the snapshot; scanning the store");
            return None;
        }
    };
    match decode(&bytes, geo) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "disk tier: unusable snapshot; scanning the store");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Geometry {
        Geometry::for_capacity(1 << 20, 1).unwrap()
    }

    fn loc(seg: u32) -> Loc {
        Loc {
            seg,
            offset: 64,
            len: 128,
            epoch: 9,
            useful_until_ms: 1234,
        }
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let entries = [("/a".to_string(), loc(0)), ("/b/ü".to_string(), loc(3))];
        let bytes = encode(&geo(), 42, entries.iter().map(|(k, l)| (k.as_str(), l)));
        let snap = decode(&bytes, &geo()).unwrap();
        assert_eq!(snap.head_epoch, 42);
        assert_eq!(snap.entries, entries.to_vec());
        for i in [0, 20, 50, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(decode(&bad, &geo()).is_err(), "flip at {i}");
        }
        assert_eq!(decode(&bytes[..30], &geo()), Err(SnapshotError::Truncated));
        let other = Geometry::for_capacity(4 << 20, 1).unwrap();
        assert_eq!(decode(&bytes, &other), Err(SnapshotError::GeometryChanged));
    }

    #[test]
    fn entries_outside_the_ring_are_refused() {
        let far = [("/a".to_string(), loc(geo().segments()))];
        let bytes = encode(&geo(), 1, far.iter().map(|(k, l)| (k.as_str(), l)));
        assert_eq!(decode(&bytes, &geo()), Err(SnapshotError::OutOfBounds));
    }
}
