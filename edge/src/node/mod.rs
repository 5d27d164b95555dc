//! The edge node: what `ferrocast-edge` adds to the shared pipeline.
//!
//! | file | concept |
//! |---|---|
//! | [`config`] | `configs/edge.toml`: every key with its default |
//! | [`fd_limit`] | raise RLIMIT_NOFILE to fit `[http] max_connections` |
//! | [`cache_key`] | phase 2: the cache key (token stripped, playlist directives kept) |
//! | [`freshness`] | RFC 9111 / RFC 5861: may a response be stored, for how long |
//! | [`metrics`] | cache lookups by phase, tier fill, disk writes |
//! | [`caching_upstream`] | the `Upstream`: memory → disk → coalesced parent fetch |
//! | [`purge`] | `POST /api/v1/purge` by key or prefix, admin-key auth |
//! | [`server`] | start-up, banner, graceful shutdown |

pub mod cache_key;
pub mod caching_upstream;
pub mod config;
pub mod fd_limit;
pub mod freshness;
pub mod metrics;
pub mod purge;
pub mod server;
