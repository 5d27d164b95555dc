//! # origin — ingest → packager → live store → delivery
//!
//! - [`config`]: the TOML configuration and its environment overrides.
//! - [`api`]: the control plane's REST API (`/api/v1/…`), answered as local routes.
//! - [`catalog`]: the control plane's database (channels, hashed stream keys), SQLite
//!   or PostgreSQL.
//! - [`chat`]: chat over WebSocket at `/chat/{channel}`.
//! - [`channels`]: channels, their publisher state machine and packagers.
//! - [`key_failures`]: rate limit for wrong stream keys per address.
//! - [`ladder`]: the live ABR ladder threads of channels with `ladder = true`.
//! - [`publishing`]: authorises stream keys and feeds the packagers (ingest's
//!   `PublishHandler`).
//! - [`live_paths`] and [`live_upstream`]: the live URL scheme, served as the
//!   delivery pipeline's `Upstream`, with LL-HLS blocking and LL-DASH streaming.
//! - [`vod`]: VOD assets on disk (`/vod/{asset}/…`); [`origin_upstream`] sends
//!   `/live/…` and `/vod/…` requests to the right one.
//! - [`playback_signing`]: the Ed25519 key that signs playback tokens.
//! - [`rate_meter`]: a channel's ingest bitrate.
//! - [`pages`]: the viewer and admin web pages (hls.js embedded).
//! - [`metrics`]: ingest and packaging metrics.
//! - [`banner`]: what the binary prints at start.
//! - [`webhooks`]: signed `stream.started` / `stream.ended` deliveries with retries.
//! - [`server`]: starts listeners and runs until shutdown.
//! - [`uploads`]: tus 1.0 resumable uploads of VOD sources (`/api/v1/uploads`).
#![forbid(unsafe_code)]

pub mod api;
pub mod banner;
pub mod catalog;
pub mod channels;
pub mod chat;
pub mod clock;
pub mod config;
pub mod key_failures;
pub mod ladder;
pub mod live_paths;
pub mod live_upstream;
pub mod metrics;
pub mod origin_upstream;
pub mod pages;
pub mod playback_signing;
pub mod publishing;
pub mod rate_meter;
pub mod server;
pub mod uploads;
pub mod vod;
pub mod webhooks;
pub mod webrtc;
