//! The two halves of zero-copy hits ([`DiskConfig::zero_copy`](crate::disk::DiskConfig::zero_copy))
//! that need the tier's internals: the in-place read, which pins the record's
//! segment and verifies the record inside the mapping, and the ring writer's choice
//! of the next segment, which passes over pinned ones. The pin handshake between
//! them is described in [`mapped`](crate::disk::mapped).

use std::sync::atomic::{fence, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;

use super::{read_lock, verify, write_lock, DiskTier, Writer};
use crate::disk::index::Loc;
use crate::disk::mapped::{self, MappedStore};
use crate::disk::record::RecordHasher;
use crate::disk::DiskError;
use crate::object::CachedObject;

impl DiskTier {
    /// [`DiskTier::get`] for zero-copy hits: `loc` (from the index) lies at `offset`
    /// of store file `file`, mapped by `maps[file]`.
    pub(super) fn get_in_place(
        &self,
        maps: &[Arc<MappedStore>],
        key: &str,
        loc: Loc,
        file: usize,
        offset: u64,
        now_ms: u64,
    ) -> Result<Option<CachedObject>, DiskError> {
        // The pin handshake: pin, then check the writer has not taken the segment
        // meanwhile.
        let pin = self.pins.pin(loc.seg);
        fence(SeqCst);
        if read_lock(&self.index).get(key) != Some(loc) {
            return Ok(None);
        }
        let start = offset as usize;
        let Some(rec) = maps[file].get(start..start + loc.len as usize) else {
            return Err(DiskError::io(
                &self.paths[file],
                std::io::ErrorKind::UnexpectedEof.into(),
            ));
        };
        let mut hasher = RecordHasher::new();
        hasher.update(rec);
        self.reads.fetch_add(1, Relaxed);
        match verify(rec, hasher.digest(), key, &loc) {
            Ok((meta, body)) if meta.useful_until_ms() > now_ms => Ok(Some(CachedObject {
                meta: Arc::new(meta),
                body: mapped::body(
                    maps[file].clone(),
                    start + body.start..start + body.end,
                    pin,
                ),
            })),
            Ok(_) => Ok(None),
            Err(reason) => Ok(self.unverified(key, loc, file, reason)),
        }
    }

    /// Takes the next segment in ring order that no zero-copy body borrows: evicts
    /// its entries and gives it the next epoch. Skipped segments keep their records
    /// (and older epoch) until the next turn. `None` if every segment is pinned.
    pub(super) fn open_segment(&self, w: &mut Writer) -> Option<(u32, u64)> {
        for _ in 0..self.geo.segments() {
            let seg = w.next_seg;
            w.next_seg = (seg + 1) % self.geo.segments();
            if self.pins.is_pinned(seg) {
                self.pinned_skips.fetch_add(1, Relaxed);
                continue;
            }
            // The entries go before the bytes do (module guide: "Reads").
            let evicted = write_lock(&self.index).evict_segment(seg);
            self.evictions.fetch_add(evicted as u64, Relaxed);
            // The pin handshake: a reader that pinned before the eviction became
            // visible may have found its entry; it is seen here.
            fence(SeqCst);
            if self.pins.is_pinned(seg) {
                self.pinned_skips.fetch_add(1, Relaxed);
                continue;
            }
            let epoch = w.next_epoch;
            w.next_epoch += 1;
            return Some((seg, epoch));
        }
        None
    }
}
