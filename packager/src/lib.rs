//! # packager — Ferrocast's media core
//!
//! Everything here is sans-IO: no sockets, no files, no clock. Time enters as
//! arguments (`now_ms`, wall-clock milliseconds since the Unix epoch), so tests run on
//! a virtual clock.
//!
//! Guide to the modules, in data-flow order:
//!
//! - [`media`]: the media model shared by every crate: [`media::Track`],
//!   [`media::Frame`], [`media::CodecConfig`].
//! - [`codec`]: decoder configuration record parsers (AVC/SPS, HEVC, AV1, AAC, Opus)
//!   and the RFC 6381 `CODECS` strings derived from them.
//! - [`fmp4`]: CMAF fragmented MP4 muxing (ISO/IEC 14496-12, ISO/IEC 23000-19), one
//!   track per file: init segments and `moof`+`mdat` chunks.
//! - [`live`]: the live segmenter: frames in, parts and segments out, kept in a
//!   bounded window per rendition.
//! - [`hls`]: LL-HLS multivariant and media playlists (draft-pantos-hls-rfc8216bis),
//!   blocking-reload decisions.
//! - [`dash`]: low-latency DASH MPD (ISO/IEC 23009-1, DASH-IF IOP LL).
//! - [`language`]: source language codes (ISO 639-2) as manifest tags (BCP 47).
#![forbid(unsafe_code)]

pub mod codec;
pub mod dash;
pub mod fmp4;
pub mod hls;
pub mod language;
pub mod live;
pub mod media;
#[cfg(feature = "transcode")]
pub mod transcode;
pub mod vod;
