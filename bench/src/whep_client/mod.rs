//! # whep_client — headless WHEP viewers on str0m
//!
//! A WHEP (draft-ietf-wish-whep) client for benchmarks and end-to-end tests.
//! Each viewer is one str0m [`Rtc`](str0m::Rtc) — the controlling ICE agent,
//! full ICE, not ice-lite — with recvonly H.264 (packetization-mode 1, the
//! profiles of [`DEFAULT_H264_PROFILES`]) and Opus transceivers, its own UDP
//! socket on `127.0.0.1:0` and one host candidate. It POSTs a complete offer
//! to `http://host:port/whep/{channel}` (or `/t/{token}/whep/{channel}`, or
//! with [`WhepOptions::bearer`]), applies the `201` answer, then drives ICE,
//! DTLS and SRTP and counts what arrives ([`ViewerStats`]).
//!
//! - [`session`]: the sans-IO part (str0m + counters), time passed in;
//! - [`viewer`]: [`WhepViewer`], one tokio task per viewer around a session;
//! - [`viewers`]: [`Viewers`] (many of one URL) and [`watch`] (one, for a while);
//! - [`http`]: the POST / DELETE exchange; [`stats`]: the counters.
//!
//! ```no_run
//! # async fn f() -> Result<(), bench::whep_client::WhepError> {
//! use std::time::Duration;
//! let s = bench::whep_client::watch("http://127.0.0.1:8080/whep/test", Duration::from_secs(5)).await?;
//! assert!(s.key_frames > 0 && s.packets_lost == 0);
//! # Ok(()) }
//! ```
//!
//! Knobs for the server's failure paths: [`WhepOptions::drop_every`] (loss
//! that NACK/RTX must repair), [`ReadMode::Slow`] (a viewer that cannot keep
//! up) and [`ReadMode::Vanished`] (a viewer that stops answering, to be
//! reaped), switchable at run time with [`WhepViewer::set_mode`].

pub mod error;
pub mod http;
pub mod options;
pub mod session;
pub mod stats;
pub mod viewer;
pub mod viewers;

pub use error::WhepError;
pub use options::{LatencyProbe, ReadMode, WhepOptions, DEFAULT_H264_PROFILES};
pub use stats::{Frame, LatencyStats, Track, ViewerStats};
pub use viewer::WhepViewer;
pub use viewers::{watch, watch_with, Viewers};

/// Installs str0m's crypto provider (aws-lc-rs) for the process; idempotent.
pub fn install_crypto() {
    str0m::crypto::from_feature_flags().install_process_default();
}

#[cfg(test)]
mod tests;
