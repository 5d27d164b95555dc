//! Store files: their geometry, their header, creation with preallocation, and
//! positional writes.
//!
//! A store file is `FILE_HEADER_BYTES` of header followed by `segments_per_file`
//! segments. Its length is fixed when it is created (`fallocate`, or `set_len` on a
//! new, empty file where the filesystem lacks it) and never changes afterwards: an
//! existing file whose length or header disagrees with the configuration is an
//! error, never truncated (a mapping over a truncated file raises `SIGBUS`).

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::FallocateFlags;
use xxhash_rust::xxh3::xxh3_64;

use super::record::{u32_at, u64_at};
use super::DiskError;

/// Bytes reserved for the header at the start of each store file (one page).
pub const FILE_HEADER_BYTES: u64 = 4096;
/// Smallest segment; also the granularity segments are rounded down to.
pub const MIN_SEGMENT_BYTES: u64 = 64 * 1024;
/// Largest segment (and so the largest object the tier stores).
pub const MAX_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Segments per file the geometry aims for before clamping the segment size.
pub const TARGET_SEGMENTS_PER_FILE: u64 = 64;
/// Fewest segments in the whole ring: one being written, the others holding data.
pub const MIN_SEGMENTS: u64 = 2;
/// `FCSTORE\0`: first bytes of every store file.
pub const FILE_MAGIC: [u8; 8] = *b"FCSTORE\0";
/// The store file layout version this code writes and reads.
pub const FILE_VERSION: u32 = 1;

/// How the configured capacity is cut into files and segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) files: usize,
    pub(crate) segment_bytes: u64,
    pub(crate) segments_per_file: u64,
}

impl Geometry {
    /// The geometry for `bytes` over `files` files.
    pub(crate) fn for_capacity(bytes: u64, files: usize) -> Result<Self, DiskError> {
        if files == 0 {
            return Err(DiskError::NoFiles);
        }
        let min_segments_per_file = MIN_SEGMENTS.div_ceil(files as u64);
        let min_file_bytes = FILE_HEADER_BYTES + min_segments_per_file * MIN_SEGMENT_BYTES;
        let share = bytes / files as u64;
        if share < min_file_bytes {
            return Err(DiskError::TooSmall {
                bytes,
                files,
                min_file_bytes,
            });
        }
        let usable = share - FILE_HEADER_BYTES;
        let segment_bytes = (usable / TARGET_SEGMENTS_PER_FILE)
            .clamp(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES)
            / MIN_SEGMENT_BYTES
            * MIN_SEGMENT_BYTES;
        let segments_per_file = usable / segment_bytes;
        debug_assert!(segments_per_file >= min_segments_per_file);
        Ok(Geometry {
            files,
            segment_bytes,
            segments_per_file,
        })
    }

    /// Segments in the ring.
    pub(crate) fn segments(&self) -> u32 {
        (self.files as u64 * self.segments_per_file) as u32
    }

    /// Length of every store file.
    pub(crate) fn file_bytes(&self) -> u64 {
        FILE_HEADER_BYTES + self.segments_per_file * self.segment_bytes
    }

    /// Bytes of all segments.
    pub(crate) fn capacity(&self) -> u64 {
        self.segments() as u64 * self.segment_bytes
    }

    /// The file holding ring segment `seg` and the segment's offset in it.
    pub(crate) fn locate(&self, seg: u32) -> (usize, u64) {
        let file = seg as usize % self.files;
        let local = seg as u64 / self.files as u64;
        (file, FILE_HEADER_BYTES + local * self.segment_bytes)
    }
}

/// `dir/store-{i}.fcs`.
pub(crate) fn store_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("store-{i}.fcs"))
}

/// Opens store file `index`, creating and preallocating it if it is new or empty.
pub(crate) fn open_store(path: &Path, index: usize, geo: &Geometry) -> Result<File, DiskError> {
    let io = |e| DiskError::io(path, e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let want = encode_header(index, geo);
    if len == 0 {
        preallocate(&file, geo.file_bytes()).map_err(io)?;
        file.write_all_at(&want, 0).map_err(io)?;
        file.sync_all().map_err(io)?;
        return Ok(file);
    }
    let mismatch = |reason: String| DiskError::StoreMismatch {
        path: path.to_owned(),
        reason,
    };
    if len != geo.file_bytes() {
        return Err(mismatch(format!(
            "it is {len} bytes, the configuration makes {} (files = {}, segment = {} bytes)",
            geo.file_bytes(),
            geo.files,
            geo.segment_bytes
        )));
    }
    let mut have = [0u8; HEADER_LEN];
    file.read_exact_at(&mut have, 0).map_err(io)?;
    if have == [0u8; HEADER_LEN] {
        // Preallocated but the header never made it to disk: claim it.
        file.write_all_at(&want, 0).map_err(io)?;
        return Ok(file);
    }
    if have != want {
        return Err(mismatch(describe_header(&have)));
    }
    Ok(file)
}

/// Reserves `len` bytes for a new, empty file.
fn preallocate(file: &File, len: u64) -> std::io::Result<()> {
    match rustix::fs::fallocate(file, FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        // Filesystems without fallocate: grow the (empty) file sparsely instead.
        Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::NOSYS) => file.set_len(len),
        Err(e) => Err(e.into()),
    }
}

/// Bytes of the encoded header (the rest of the header page is zero).
const HEADER_LEN: usize = 48;

fn encode_header(index: usize, geo: &Geometry) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&FILE_MAGIC);
    h[8..12].copy_from_slice(&FILE_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(index as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(geo.files as u32).to_le_bytes());
    h[24..32].copy_from_slice(&geo.file_bytes().to_le_bytes());
    h[32..40].copy_from_slice(&geo.segment_bytes.to_le_bytes());
    let sum = xxh3_64(&h[..40]);
    h[40..48].copy_from_slice(&sum.to_le_bytes());
    h
}

/// Says what an unexpected header holds, for the mismatch error.
fn describe_header(h: &[u8; HEADER_LEN]) -> String {
    if h[0..8] != FILE_MAGIC || u64_at(h, 40) != xxh3_64(&h[..40]) {
        return "it has no valid Ferrocast store header".into();
    }
    format!(
        "its header says version {}, file {} of {}, {} bytes, segments of {} bytes",
        u32_at(h, 8),
        u32_at(h, 12),
        u32_at(h, 16),
        u64_at(h, 24),
        u64_at(h, 32)
    )
}

/// Writes all of `parts`, in order, at `offset` (one `pwritev` in the common case).
pub(crate) fn write_all_at(file: &File, parts: &[&[u8]], mut offset: u64) -> std::io::Result<()> {
    let mut parts: Vec<&[u8]> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    while !parts.is_empty() {
        let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut n = rustix::io::pwritev(file, &slices, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        offset += n as u64;
        while n > 0 {
            if n >= parts[0].len() {
                n -= parts[0].len();
                parts.remove(0);
            } else {
                parts[0] = &parts[0][n..];
                n = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_fits_inside_the_configured_share() {
        for (bytes, files) in [(1 << 20, 1), (10 << 30, 4), (300 << 10, 2), (1 << 40, 3)] {
            let g = Geometry::for_capacity(bytes, files).unwrap();
            assert!(g.file_bytes() <= bytes / files as u64);
            assert!(g.segments() as u64 >= MIN_SEGMENTS);
            assert_eq!(g.segment_bytes % MIN_SEGMENT_BYTES, 0);
            assert!(g.segment_bytes <= MAX_SEGMENT_BYTES);
        }
        assert!(matches!(
            Geometry::for_capacity(64 << 10, 1),
            Err(DiskError::TooSmall { .. })
        ));
        assert!(matches!(
            Geometry::for_capacity(1 << 30, 0),
            Err(DiskError::NoFiles)
        ));
    }

    #[test]
    fn segments_alternate_between_files() {
        let g = Geometry::for_capacity(8 << 20, 2).unwrap();
        assert_eq!(g.locate(0), (0, FILE_HEADER_BYTES));
        assert_eq!(g.locate(1), (1, FILE_HEADER_BYTES));
        assert_eq!(g.locate(2), (0, FILE_HEADER_BYTES + g.segment_bytes));
    }

    #[test]
    fn reopening_checks_length_and_header_and_never_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_path(dir.path(), 0);
        let g = Geometry::for_capacity(1 << 20, 1).unwrap();
        drop(open_store(&path, 0, &g).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), g.file_bytes());
        drop(open_store(&path, 0, &g).unwrap());
        let smaller = Geometry::for_capacity(512 << 10, 1).unwrap();
        assert!(matches!(
            open_store(&path, 0, &smaller),
            Err(DiskError::StoreMismatch { .. })
        ));
        assert!(matches!(
            open_store(&path, 1, &g),
            Err(DiskError::StoreMismatch { .. })
        ));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), g.file_bytes());
    }

    #[test]
    fn vectored_writes_land_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::create_new(dir.path().join("f")).unwrap();
        write_all_at(&f, &[b"ab", b"", b"cde"], 3).unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"\0\0\0abcde");
    }
}
