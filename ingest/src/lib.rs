//! # ingest — from publishers' bytes to [`packager::media::Frame`]s
//!
//! - [`rtmp`]: the RTMP server session (handshake, chunk stream, AMF0 commands), a
//!   sans-IO state machine, and the tokio listener that only moves bytes.
//! - [`flv`]: FLV audio/video tag bodies, legacy and Enhanced RTMP (v1 and v2
//!   multitrack), turned into tracks and frames.
//! - [`ts`]: the MPEG-TS demuxer (sans-IO) for SRT ingest.
//! - [`srt`]: the SRT listener (MPEG-TS over SRT, srt-tokio).
//! - [`whip`]: WHIP ingest's depacketized WebRTC media turned into frames (the
//!   WebRTC session itself runs in the origin's media loop).
//! - [`publish`]: the contract between a listener and whoever receives streams
//!   (the origin): authorising a stream key and sinking media.
#![forbid(unsafe_code)]

pub mod flv;
pub mod publish;
pub mod rtmp;
pub mod srt;
pub mod ts;
pub mod whip;
