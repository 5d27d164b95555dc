//! [`ReadMode::Mmap`](super::ReadMode::Mmap): copy out of a shared read-only mapping
//! of each store file (one of the two places in this crate with `unsafe`).

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use memmap2::Mmap;

use super::reader::StoreRead;
use super::record::RecordHasher;
use super::DiskError;

/// One read-only mapping per store file.
pub(crate) struct MmapReader {
    maps: Vec<Mmap>,
    paths: Vec<PathBuf>,
}

impl MmapReader {
    /// Maps every store file whole.
    pub(crate) fn map(files: &[Arc<File>], paths: &[PathBuf]) -> Result<Self, DiskError> {
        let maps = files
            .iter()
            .zip(paths)
            .map(|(f, p)| map_file(f).map_err(|e| DiskError::io(p, e)))
            .collect::<Result<_, _>>()?;
        Ok(MmapReader {
            maps,
            paths: paths.to_vec(),
        })
    }
}

#[allow(unsafe_code)]
pub(super) fn map_file(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: memmap2 calls mapping a file unsafe because the file may change or
    // shrink under the mapping. Shrinking: store files are preallocated once and
    // never truncated or `set_len`-shrunk by this crate (store_file.rs), so no page of
    // the mapping loses its backing (no SIGBUS). Changing: the tier's writer does
    // overwrite segments while readers may copy from them; readers only ever copy
    // bytes out (`u8` has no invalid values) and then verify magic, epoch, key and
    // xxh3 checksum on the copy, so a torn or concurrent write is detected, never
    // served. The writer removes index entries before overwriting their segment.
    // Zero-copy bodies (mapped.rs) read the mapping in place instead: they pin their
    // segment first, and the writer never reopens a pinned segment, so the bytes
    // verified are not rewritten while a body borrows them.
    unsafe { Mmap::map(file) }
}

/// Records are copied and hashed in pieces of this size, so each piece is hashed
/// while it is still in the CPU cache (one pass over memory instead of two).
const PIECE_BYTES: usize = 32 * 1024;

impl MmapReader {
    fn mapped(&self, file: usize, offset: u64, len: usize) -> Result<&[u8], DiskError> {
        let map = &self.maps[file];
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        start
            .checked_add(len)
            .and_then(|end| map.get(start..end))
            .ok_or_else(|| {
                DiskError::io(&self.paths[file], std::io::ErrorKind::UnexpectedEof.into())
            })
    }
}

impl StoreRead for MmapReader {
    fn read(&self, file: usize, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        Ok(self.mapped(file, offset, len)?.to_vec())
    }

    fn read_record(
        &self,
        file: usize,
        offset: u64,
        len: usize,
    ) -> Result<(Vec<u8>, u64), DiskError> {
        let mapped = self.mapped(file, offset, len)?;
        let mut buf = Vec::with_capacity(len);
        let mut hasher = RecordHasher::new();
        for piece in mapped.chunks(PIECE_BYTES) {
            let at = buf.len();
            buf.extend_from_slice(piece);
            // Hash the copy, not the mapping: the writer may be overwriting the
            // mapped bytes, and the checksum must describe what will be served.
            hasher.update(&buf[at..]);
        }
        Ok((buf, hasher.digest()))
    }
}
