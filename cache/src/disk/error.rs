//! Errors of the disk tier. A record that fails to decode is not an error of the
//! tier (it is dropped and counted); these are configuration, store and I/O faults.

use std::path::PathBuf;

/// Why a disk tier operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// An operating system call on a store file, the snapshot or the directory failed.
    #[error("disk tier I/O on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The configured capacity leaves fewer segments than the ring needs.
    #[error("disk tier of {bytes} bytes over {files} file(s) is too small: each file needs at least {min_file_bytes} bytes")]
    TooSmall {
        /// Configured total bytes.
        bytes: u64,
        /// Configured number of files.
        files: usize,
        /// The smallest share of one file that works.
        min_file_bytes: u64,
    },
    /// `files` is zero.
    #[error("disk tier needs at least one store file")]
    NoFiles,
    /// An existing store file does not match the configuration (it is never truncated
    /// or rewritten to make it fit: remove it, or restore the old configuration).
    #[error("store file {path} does not match the configuration: {reason}")]
    StoreMismatch {
        /// The store file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A key longer than [`MAX_KEY_BYTES`](super::record::MAX_KEY_BYTES) was passed in.
    #[error("cache key of {len} bytes exceeds the disk tier's limit of {max}")]
    KeyTooLong {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// [`ReadMode::IoUring`](super::ReadMode::IoUring) was asked for and the kernel refused a ring.
    #[error("io_uring is unavailable: {0}")]
    IoUringUnavailable(std::io::Error),
    /// The io_uring reader thread stopped (it panicked or the tier is shutting down).
    #[error("the io_uring reader thread has stopped")]
    ReaderStopped,
}

impl DiskError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DiskError::Io {
            path: path.into(),
            source,
        }
    }
}
