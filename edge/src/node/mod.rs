//! The edge node: what `ferrocast-edge` adds to the shared pipeline.
//!
//! | file | concept |
//! |---|---|
//! | [`config`] | `configs/edge.toml`: every key with its default |
//! | [`cache_key`] | phase 2: the cache key (token stripped, playlist directives kept) |
//! | [`freshness`] | RFC 9111 / RFC 5861: may a response be stored, for how long |
//! | [`metrics`] | cache lookups by phase, tier fill, disk writes |

pub mod cache_key;
pub mod config;
pub mod freshness;
pub mod metrics;
