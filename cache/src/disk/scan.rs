//! Rebuilding the index on open: from a snapshot plus the tail of the log, or from a
//! scan of every segment (see "Restart" in the [module guide](super)).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::index::{Index, Loc};
use super::record::{self, RecordHeader, RecordKind, RECORD_HEADER_BYTES};
use super::snapshot::Snapshot;
use super::store_file::Geometry;
use super::DiskError;

/// What a rebuild found.
#[derive(Debug)]
pub(crate) struct Rebuilt {
    pub(crate) index: Index,
    /// The segment with the highest epoch, and that epoch (`None`: an empty store).
    pub(crate) head: Option<(u32, u64)>,
    /// Records skipped because they failed verification.
    pub(crate) corrupt: u64,
    /// Segments scanned record by record (the rest came from the snapshot).
    pub(crate) scanned_segments: usize,
}

/// The store files as the rebuild reads them (plain positional reads: the rebuild
/// runs once, before any reader exists).
pub(crate) struct Store<'a> {
    pub(crate) files: &'a [Arc<File>],
    pub(crate) paths: &'a [PathBuf],
    pub(crate) geo: Geometry,
}

impl Store<'_> {
    fn read_at(&self, seg: u32, buf: &mut [u8]) -> Result<(), DiskError> {
        let (file, offset) = self.geo.locate(seg);
        self.files[file]
            .read_exact_at(buf, offset)
            .map_err(|e| DiskError::io(&self.paths[file], e))
    }

    /// The epoch of `seg`'s first record, if its header parses.
    fn segment_epoch(&self, seg: u32) -> Result<Option<u64>, DiskError> {
        let mut h = [0u8; RECORD_HEADER_BYTES];
        self.read_at(seg, &mut h)?;
        Ok(RecordHeader::parse(&h).ok().map(|h| h.epoch))
    }
}

/// Rebuilds the index, using `snapshot` if given.
pub(crate) fn rebuild(store: &Store<'_>, snapshot: Option<Snapshot>) -> Result<Rebuilt, DiskError> {
    let segments = store.geo.segments();
    let epochs = (0..segments)
        .map(|s| store.segment_epoch(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut index = Index::new(segments);
    let mut from_epoch = 0;
    if let Some(snap) = snapshot {
        for (key, loc) in &snap.entries {
            // Keep an entry only while its segment still holds the same turn.
            if epochs[loc.seg as usize] == Some(loc.epoch) {
                index.insert(key, *loc);
            }
        }
        from_epoch = snap.head_epoch;
    }
    let mut tail: Vec<(u64, u32)> = epochs
        .iter()
        .enumerate()
        .filter_map(|(s, e)| e.filter(|e| *e >= from_epoch).map(|e| (e, s as u32)))
        .collect();
    tail.sort_unstable();
    let mut buf = vec![0u8; store.geo.segment_bytes as usize];
    let mut corrupt = 0;
    for &(epoch, seg) in &tail {
        store.read_at(seg, &mut buf)?;
        corrupt += replay_segment(&buf, seg, epoch, &mut index);
    }
    let head = epochs
        .iter()
        .enumerate()
        .filter_map(|(s, e)| e.map(|e| (e, s as u32)))
        .max()
        .map(|(e, s)| (s, e));
    Ok(Rebuilt {
        index,
        head,
        corrupt,
        scanned_segments: tail.len(),
    })
}

/// Applies the records of one segment (of `epoch`) to `index` in order; returns how
/// many records failed verification and were skipped.
pub(crate) fn replay_segment(seg_bytes: &[u8], seg: u32, epoch: u64, index: &mut Index) -> u64 {
    let mut corrupt = 0;
    let mut at = 0usize;
    while let Some(rest) = seg_bytes.get(at..) {
        let header = match RecordHeader::parse(rest) {
            Ok(h) if h.epoch == epoch => h,
            // Zeros, an older turn's leftovers, or a torn header: the segment ends.
            _ => break,
        };
        let stored = header.stored_len();
        if stored > rest.len() {
            break;
        }
        match record::decode(&rest[..header.unpadded_len()]) {
            Ok(rec) => match (rec.header.kind, rec.meta) {
                (RecordKind::Object, Some(meta)) => index.insert(
                    rec.key,
                    Loc {
                        seg,
                        offset: at as u32,
                        len: header.unpadded_len() as u32,
                        epoch,
                        useful_until_ms: meta.useful_until_ms(),
                    },
                ),
                (RecordKind::RemoveKey, _) => {
                    index.remove(rec.key);
                }
                (RecordKind::RemovePrefix, _) => {
                    index.remove_prefix(rec.key);
                }
                (RecordKind::Object, None) => unreachable!("decode gives objects metadata"),
            },
            // The framing held, so the next record can still be found.
            Err(e) => {
                tracing::warn!(seg, offset = at, error = %e, "disk tier: skipping a corrupt record");
                corrupt += 1;
            }
        }
        at += stored;
    }
    corrupt
}
