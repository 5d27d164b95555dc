//! # cache — the edge's tiered object cache
//!
//! Knows nothing of HTTP or media formats: objects are a key (a string the edge
//! computes), an [`ObjectMeta`] (status, headers, freshness) and a body of bytes.
//!
//! | module | concept |
//! |---|---|
//! | [`object`] | [`CachedObject`], [`ObjectMeta`], freshness arithmetic |
//!
//! Modules still to come in this crate (issue 3): `memory` (moka tier weighted by
//! bytes), `coalesce` (one upstream fetch per key, read-while-write to every
//! waiter), `disk` (preallocated store files as a log-structured ring with an
//! in-memory index, checksummed records, restart rebuild), `admission` and
//! `tiered` (memory → disk promotion, one-hit-wonder filter).
#![warn(missing_docs)]

pub mod object;

pub use object::{CachedObject, Freshness, ObjectMeta};
