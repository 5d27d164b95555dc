//! SRT ingest: MPEG-TS over SRT (srt-protocol's sans-IO state machines, driven
//! by our own task; the choice and its guards are in docs/decisions.md).
//!
//! - [`stream_id`]: the key from `publish/live/{key}` or `#!::r=live/{key},m=publish`;
//! - [`listener`]: the listener's options and [`serve_srt`] (bind, rebind);
//! - [`admission`]: the listener's rules for a caller (key, encryption);
//! - [`driver`]: one task owning the UDP socket, the handshakes and every
//!   connection; [`driver_conn`]: one publisher's connection and TS pipeline;
//! - [`input_errors`]: damaged TS counted, logged (rate-limited) and survived;
//! - [`thread`]: the listener's own thread and single-threaded runtime.

pub mod admission;
pub mod driver;
pub mod driver_conn;
pub mod input_errors;
pub mod listener;
pub mod stream_id;
pub mod thread;

pub use listener::{serve_srt, SrtOptions};
pub use thread::spawn_srt_thread;
