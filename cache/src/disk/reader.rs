//! The read path shared by both [`ReadMode`](super::ReadMode)s: copy `len` bytes at a
//! file offset into a fresh buffer. Verification happens on that copy, in the tier;
//! [`StoreRead::read_record`] also returns the record checksum of the copy, which a
//! reader may compute piece by piece while it copies (the mmap reader does).

use std::fs::File;
use std::sync::Arc;

use super::record::RecordHasher;
use super::{read_mmap::MmapReader, read_uring::UringReader, DiskError, ReadMode};

/// Copies bytes out of the store files.
pub(crate) trait StoreRead: Send + Sync {
    /// `len` bytes of store file `file` from `offset`, which the caller has checked
    /// lie inside the file.
    fn read(&self, file: usize, offset: u64, len: usize) -> Result<Vec<u8>, DiskError>;

    /// Like [`StoreRead::read`] for one unpadded record, with the
    /// [`RecordHasher`] digest of the copy.
    fn read_record(
        &self,
        file: usize,
        offset: u64,
        len: usize,
    ) -> Result<(Vec<u8>, u64), DiskError> {
        let buf = self.read(file, offset, len)?;
        let mut h = RecordHasher::new();
        h.update(&buf);
        Ok((buf, h.digest()))
    }
}

/// The reader for `mode` over `files`.
pub(crate) fn open_reader(
    mode: ReadMode,
    files: &[Arc<File>],
    paths: &[std::path::PathBuf],
) -> Result<Box<dyn StoreRead>, DiskError> {
    Ok(match mode {
        ReadMode::Mmap => Box::new(MmapReader::map(files, paths)?),
        ReadMode::IoUring => Box::new(UringReader::start(files.to_vec(), paths.to_vec())?),
    })
}
