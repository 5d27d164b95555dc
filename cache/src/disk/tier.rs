//! [`DiskTier`]: the ring writer, the verified read path, purges and snapshots.
//!
//! Locking: one writer at a time (`writer` mutex, held across reserving space,
//! writing the record and updating the index, so log order equals index order);
//! readers take the index's read lock only to copy a [`Loc`] out, then read and
//! verify without any lock. The writer removes a segment's entries from the index
//! before it writes into that segment; a reader that copied a `Loc` just before that
//! reads bytes that fail verification, and returns `None` without counting them as
//! corrupt (the entry is already gone).
//!
//! Zero-copy hits (`DiskConfig::zero_copy`) read in place and pin segments; the
//! writer passes over pinned ones: [`zero_copy`].

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use bytes::Bytes;

use super::index::{Index, Loc};
use super::mapped::{MappedStore, SegmentPins};
use super::reader::{open_reader, StoreRead};
use super::record::{self, RecordHead, RecordKind, MAX_KEY_BYTES, RECORD_ALIGN};
use super::scan::{self, Store};
use super::snapshot;
use super::store_file::{self, Geometry};
use super::{DiskConfig, DiskError, DiskStats};
use crate::object::{CachedObject, ObjectMeta};

mod zero_copy;

/// Written after each record where it fits (see `DiskTier::append`): no record starts
/// with zeros, so a scan stops there.
const END_MARKER: [u8; RECORD_ALIGN] = [0; RECORD_ALIGN];

/// The disk tier. `Send + Sync`; share it as `Arc<DiskTier>` and call its blocking
/// methods from blocking threads (`spawn_blocking`).
pub struct DiskTier {
    dir: PathBuf,
    geo: Geometry,
    files: Vec<Arc<File>>,
    paths: Vec<PathBuf>,
    reader: Box<dyn StoreRead>,
    /// One registered mapping per store file when zero-copy hits are on.
    mapped: Option<Vec<Arc<MappedStore>>>,
    /// Zero-copy bodies borrowing each segment; the writer skips pinned ones.
    pins: Arc<SegmentPins>,
    pinned_skips: AtomicU64,
    index: RwLock<Index>,
    writer: Mutex<Writer>,
    evictions: AtomicU64,
    corrupt_dropped: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    /// How `open` rebuilt the index: (from a snapshot, segments scanned).
    rebuild: (bool, usize),
}

/// The ring writer's position.
#[derive(Debug)]
struct Writer {
    /// The segment being written: (segment, epoch, next free offset).
    current: Option<(u32, u64, u64)>,
    /// The segment to open when `current` is full.
    next_seg: u32,
    /// The epoch the next opened segment gets.
    next_epoch: u64,
}

impl DiskTier {
    /// Creates or opens the store files (preallocating new ones; an existing file of
    /// another size is [`DiskError::StoreMismatch`], never truncated) and rebuilds the
    /// index from the snapshot plus the tail, or from a scan of every segment.
    pub fn open(config: &DiskConfig) -> Result<DiskTier, DiskError> {
        let geo = Geometry::for_capacity(config.bytes, config.files)?;
        std::fs::create_dir_all(&config.path).map_err(|e| DiskError::io(&config.path, e))?;
        let paths: Vec<PathBuf> = (0..geo.files)
            .map(|i| store_file::store_path(&config.path, i))
            .collect();
        let files = paths
            .iter()
            .enumerate()
            .map(|(i, p)| store_file::open_store(p, i, &geo).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let snap = snapshot::load(&config.path, &geo);
        let snap_head = snap.as_ref().map(|s| s.head_epoch);
        let store = Store {
            files: &files,
            paths: &paths,
            geo,
        };
        let rebuilt = scan::rebuild(&store, snap)?;
        tracing::info!(
            path = %config.path.display(),
            objects = rebuilt.index.len(),
            from_snapshot = snap_head.is_some(),
            scanned_segments = rebuilt.scanned_segments,
            corrupt = rebuilt.corrupt,
            "disk tier opened"
        );
        let (next_seg, disk_next_epoch) = match rebuilt.head {
            Some((seg, epoch)) => ((seg + 1) % geo.segments(), epoch.saturating_add(1)),
            None => (0, 1),
        };
        // Never reuse an epoch a snapshot may name, even if its segment never hit disk.
        let next_epoch = disk_next_epoch.max(snap_head.map_or(0, |e| e.saturating_add(1)));
        let reader = open_reader(config.read_mode, &files, &paths)?;
        let mapped = match config.zero_copy {
            true => Some(
                files
                    .iter()
                    .zip(&paths)
                    .map(|(f, p)| {
                        let map = super::read_mmap::map_file(f).map_err(|e| DiskError::io(p, e))?;
                        Ok(MappedStore::register(map, f.clone()))
                    })
                    .collect::<Result<Vec<_>, DiskError>>()?,
            ),
            false => None,
        };
        Ok(DiskTier {
            dir: config.path.clone(),
            geo,
            files,
            paths,
            reader,
            mapped,
            pins: SegmentPins::new(geo.segments()),
            pinned_skips: AtomicU64::new(0),
            index: RwLock::new(rebuilt.index),
            writer: Mutex::new(Writer {
                current: None,
                next_seg,
                next_epoch,
            }),
            evictions: AtomicU64::new(0),
            corrupt_dropped: AtomicU64::new(rebuilt.corrupt),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            rebuild: (snap_head.is_some(), rebuilt.scanned_segments),
        })
    }

    /// How `open` rebuilt the index: (from a snapshot, segments scanned).
    #[cfg(test)]
    pub(crate) fn rebuild_info(&self) -> (bool, usize) {
        self.rebuild
    }

    /// Where `key`'s record lies: store file, byte offset in it, record length.
    #[cfg(test)]
    pub(crate) fn record_position(&self, key: &str) -> Option<(PathBuf, u64, u32)> {
        let loc = read_lock(&self.index).get(key)?;
        let (file, seg_offset) = self.geo.locate(loc.seg);
        Some((
            self.paths[file].clone(),
            seg_offset + u64::from(loc.offset),
            loc.len,
        ))
    }

    /// Bytes of one segment (the largest record).
    #[cfg(test)]
    pub(crate) fn segment_bytes(&self) -> u64 {
        self.geo.segment_bytes
    }

    /// The object stored under `key`, if it is there, intact and still useful at
    /// `now_ms` (`meta.useful_until_ms() > now_ms`). Blocking.
    ///
    /// The record is copied out of the store and verified on the copy; a record that
    /// fails verification is removed from the index, counted in
    /// [`DiskStats::corrupt_dropped`], logged, and reported as `Ok(None)` so the caller
    /// refetches it.
    ///
    /// With [`DiskConfig::zero_copy`] the record is verified in place instead and the
    /// body borrows the mapping, its segment pinned until the body is dropped
    /// ([`mapped`]).
    pub fn get(&self, key: &str, now_ms: u64) -> Result<Option<CachedObject>, DiskError> {
        let Some(loc) = read_lock(&self.index).get(key) else {
            return Ok(None);
        };
        if loc.useful_until_ms <= now_ms {
            write_lock(&self.index).remove_if_at(key, loc);
            return Ok(None);
        }
        let (file, seg_offset) = self.geo.locate(loc.seg);
        let offset = seg_offset + u64::from(loc.offset);
        if let Some(maps) = &self.mapped {
            return self.get_in_place(maps, key, loc, file, offset, now_ms);
        }
        let (buf, sum) = self.reader.read_record(file, offset, loc.len as usize)?;
        self.reads.fetch_add(1, Relaxed);
        match verify(&buf, sum, key, &loc) {
            Ok((meta, body)) => {
                if meta.useful_until_ms() <= now_ms {
                    return Ok(None);
                }
                Ok(Some(CachedObject {
                    meta: Arc::new(meta),
                    body: Bytes::from(buf).slice(body),
                }))
            }
            Err(reason) => Ok(self.unverified(key, loc, file, reason)),
        }
    }

    /// A record that failed verification: drops its entry (unless the writer did
    /// already), counts and logs it. Always `None`.
    fn unverified(&self, key: &str, loc: Loc, file: usize, reason: &str) -> Option<CachedObject> {
        if write_lock(&self.index).remove_if_at(key, loc) {
            self.corrupt_dropped.fetch_add(1, Relaxed);
            tracing::warn!(
                file = %self.paths[file].display(),
                seg = loc.seg,
                offset = loc.offset,
                reason,
                "disk tier: dropped a record that failed verification"
            );
        }
        None
    }

    /// Appends `object` under `key`, replacing any older record for the key.
    /// Returns `Ok(false)` (nothing stored) when the record would not fit in one
    /// segment or its metadata exceeds the [`meta_codec`](super::meta_codec) limits.
    /// Blocking.
    pub fn put(&self, key: &str, object: &CachedObject) -> Result<bool, DiskError> {
        check_key(key)?;
        let mut head = match RecordHead::encode(
            RecordKind::Object,
            key,
            Some(&object.meta),
            object.body.len(),
        ) {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "disk tier: object not stored");
                return Ok(false);
            }
        };
        if head.stored_len() as u64 > self.geo.segment_bytes {
            return Ok(false);
        }
        let mut w = lock(&self.writer);
        let Some(loc) = self.append(&mut w, &mut head, &object.body)? else {
            return Ok(false);
        };
        let loc = Loc {
            useful_until_ms: object.meta.useful_until_ms(),
            ..loc
        };
        write_lock(&self.index).insert(key, loc);
        self.writes.fetch_add(1, Relaxed);
        Ok(true)
    }

    /// Purges `key`; returns whether it was stored. A tombstone record makes the purge
    /// survive a restart. Blocking.
    pub fn remove(&self, key: &str) -> Result<bool, DiskError> {
        check_key(key)?;
        let mut w = lock(&self.writer);
        if !write_lock(&self.index).remove(key) {
            return Ok(false);
        }
        self.append_tombstone(&mut w, RecordKind::RemoveKey, key)?;
        Ok(true)
    }

    /// Purges every key starting with `prefix`; returns how many were stored. A
    /// tombstone record makes the purge survive a restart. Blocking.
    pub fn remove_prefix(&self, prefix: &str) -> Result<usize, DiskError> {
        check_key(prefix)?;
        let mut w = lock(&self.writer);
        let removed = write_lock(&self.index).remove_prefix(prefix);
        if removed > 0 {
            self.append_tombstone(&mut w, RecordKind::RemovePrefix, prefix)?;
        }
        Ok(removed)
    }

    /// Whether the index has `key` (without reading or checking expiry).
    pub fn contains(&self, key: &str) -> bool {
        read_lock(&self.index).contains(key)
    }

    /// Until when (`ObjectMeta::useful_until_ms`) the stored copy of `key` is useful,
    /// from the index alone (no read): lets a writer skip a copy the store already
    /// holds.
    pub fn useful_until_ms(&self, key: &str) -> Option<u64> {
        read_lock(&self.index)
            .get(key)
            .map(|loc| loc.useful_until_ms)
    }

    /// Current counters and gauges.
    pub fn stats(&self) -> DiskStats {
        let (objects, used_bytes) = {
            let ix = read_lock(&self.index);
            (ix.len() as u64, ix.live_bytes())
        };
        DiskStats {
            capacity_bytes: self.geo.capacity(),
            used_bytes,
            objects,
            evictions: self.evictions.load(Relaxed),
            corrupt_dropped: self.corrupt_dropped.load(Relaxed),
            reads: self.reads.load(Relaxed),
            writes: self.writes.load(Relaxed),
            pinned_skips: self.pinned_skips.load(Relaxed),
        }
    }

    /// Writes the index snapshot (`index.snap`) after syncing the store files, so the
    /// next [`open`](Self::open) scans only segments written since. Blocking; call it
    /// on graceful shutdown and periodically.
    pub fn snapshot(&self) -> Result<(), DiskError> {
        let bytes = {
            let w = lock(&self.writer);
            let head_epoch = w.current.map_or(w.next_epoch, |(_, epoch, _)| epoch);
            let ix = read_lock(&self.index);
            snapshot::encode(&self.geo, head_epoch, ix.entries())
        };
        for (f, p) in self.files.iter().zip(&self.paths) {
            f.sync_data().map_err(|e| DiskError::io(p, e))?;
        }
        snapshot::write(&self.dir, &bytes).map_err(|e| DiskError::io(&self.dir, e))
    }

    /// Writes a tombstone for `key` (a key or a prefix).
    fn append_tombstone(
        &self,
        w: &mut Writer,
        kind: RecordKind,
        key: &str,
    ) -> Result<(), DiskError> {
        let mut head = RecordHead::encode(kind, key, None, 0)
            .expect("a checked key without metadata always encodes");
        if self.append(w, &mut head, &[])?.is_none() {
            tracing::warn!(key, "disk tier: every segment is pinned; purge not logged");
        }
        Ok(())
    }

    /// Reserves room for the record (opening the next segment, and evicting its
    /// entries, when the current one is full), writes it, and returns where it lies;
    /// `None` when every segment is pinned by zero-copy bodies.
    fn append(
        &self,
        w: &mut Writer,
        head: &mut RecordHead,
        body: &[u8],
    ) -> Result<Option<Loc>, DiskError> {
        let stored = head.stored_len() as u64;
        let (seg, epoch, offset) = match w.current {
            Some((seg, epoch, offset)) if offset + stored <= self.geo.segment_bytes => {
                (seg, epoch, offset)
            }
            _ => match self.open_segment(w) {
                Some((seg, epoch)) => (seg, epoch, 0),
                None => return Ok(None),
            },
        };
        w.current = Some((seg, epoch, offset));
        let (file, seg_offset) = self.geo.locate(seg);
        let (h, pad) = head.seal(epoch, body);
        let len = h.len() + body.len();
        // Zeros after the record, where they fit, end a later scan of this segment there:
        // bytes beyond may be records of this very epoch left by an earlier session
        // (when damage hid this segment's first header on open, its epoch was reused),
        // and replaying them would put older objects over newer ones or undo purges.
        let end: &[u8] = if offset + stored + END_MARKER.len() as u64 <= self.geo.segment_bytes {
            &END_MARKER
        } else {
            &[]
        };
        store_file::write_all_at(&self.files[file], &[h, body, pad, end], seg_offset + offset)
            .map_err(|e| DiskError::io(&self.paths[file], e))?;
        w.current = Some((seg, epoch, offset + stored));
        Ok(Some(Loc {
            seg,
            offset: offset as u32,
            len: len as u32,
            epoch,
            useful_until_ms: 0,
        }))
    }
}

impl std::fmt::Debug for DiskTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskTier")
            .field("dir", &self.dir)
            .field("geometry", &self.geo)
            .field("rebuild", &self.rebuild)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Checks a copied record (and the checksum of the copy) against what the index expects; returns the metadata and
/// where the body lies in the copy, or why the copy is unusable.
fn verify(
    buf: &[u8],
    checksum_of_buf: u64,
    key: &str,
    loc: &Loc,
) -> Result<(ObjectMeta, std::ops::Range<usize>), &'static str> {
    let rec = record::decode_hashed(buf, checksum_of_buf).map_err(|e| match e {
        record::RecordError::ChecksumMismatch => "checksum mismatch",
        _ => "bad framing",
    })?;
    if rec.header.epoch != loc.epoch || rec.header.unpadded_len() != buf.len() {
        return Err("record of another turn of the ring");
    }
    if rec.key != key {
        return Err("record of another key");
    }
    match (rec.header.kind, rec.meta) {
        (RecordKind::Object, Some(meta)) => Ok((meta, rec.body)),
        _ => Err("not an object record"),
    }
}

fn check_key(key: &str) -> Result<(), DiskError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(DiskError::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_BYTES,
        });
    }
    Ok(())
}

// A panic while holding a lock leaves the index and writer consistent enough (every
// update is a single map operation), so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DiskTier>();
};
