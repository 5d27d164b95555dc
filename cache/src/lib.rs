//! # cache — the edge's tiered object cache
//!
//! Knows nothing of HTTP or media formats: objects are a key (a string the edge
//! computes), an [`ObjectMeta`] (status, headers, freshness) and a body of bytes.
//!
//! | module | concept |
//! |---|---|
//! | [`object`] | [`CachedObject`], [`ObjectMeta`], freshness arithmetic |
//! | [`memory`] | [`MemoryTier`]: moka, weighed by bytes, LRU, eviction causes reported |
//! | [`coalesce`] | [`Coalescer`]: one upstream fetch per key, read-while-write to every waiter |
//! | [`admission`] | [`Admission`]: TinyLFU-style filter keeping one-hit wonders off disk |
//! | [`disk`] | [`DiskTier`]: preallocated store files as a log-structured ring, checksummed records, mmap or io_uring reads, restart rebuild |
//!
//! Module still to come in this crate (issue 3): `tiered` (memory → disk
//! promotion through the admission filter).
#![warn(missing_docs)]

pub mod admission;
pub mod coalesce;
pub mod disk;
pub mod memory;
pub mod object;

pub use admission::Admission;
pub use coalesce::{BodyReader, Coalescer, FetchError, Filler, Joined};
pub use disk::{DiskConfig, DiskError, DiskStats, DiskTier, ReadMode};
pub use memory::{EvictionCause, MemoryTier};
pub use object::{CachedObject, Freshness, ObjectMeta};
