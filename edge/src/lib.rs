//! # edge — HTTP delivery
//!
//! One request pipeline serves both tiers: the origin plugs in its live store as the
//! [`upstream::Upstream`], an edge node (next issue) plugs in its parents and caches.
//!
//! - [`upstream`]: the `Upstream` trait and the response types it returns.
#![forbid(unsafe_code)]

pub mod upstream;
