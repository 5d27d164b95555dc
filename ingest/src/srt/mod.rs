//! SRT ingest: MPEG-TS over SRT (srt-tokio; the choice and its guards are in
//! docs/decisions.md).
//!
//! - [`stream_id`]: the key from `publish/live/{key}` or `#!::r=live/{key},m=publish`;
//! - [`listener`]: the UDP listener, authorisation and the TS → frames pipeline;
//! - [`input_errors`]: damaged TS counted, logged (rate-limited) and survived;
//! - [`thread`]: the listener's own thread and single-threaded runtime.

pub mod input_errors;
pub mod listener;
pub mod stream_id;
pub mod thread;

pub use listener::{serve_srt, SrtOptions};
pub use thread::spawn_srt_thread;
