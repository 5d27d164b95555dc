//! WHIP ingest (RFC 9725), the sans-IO half: media that a WebRTC stack has already
//! depacketized (H.264 access units in Annex B, Opus packets, each with its RTP
//! timestamp and arrival time) becomes the packager's tracks and frames.
//!
//! The WebRTC session itself (ICE, DTLS-SRTP, RTP) runs in the origin's media loop
//! (`origin::webrtc`), which shares one UDP port with WHEP viewers and calls
//! [`WhipFrames`] for every access unit.

mod frames;

pub use frames::{WhipEvent, WhipFrames, WhipStats};
