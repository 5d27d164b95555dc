//! VOD packaging: CMAF segments on disk with a VOD HLS playlist per rendition, a
//! multivariant playlist and a static DASH MPD, all naming the same segment files.
//!
//! VOD reuses the live segmenter rather than cutting segments a second way: frames
//! go through a [`LiveStream`](crate::live::LiveStream), whose leader/follower
//! alignment already gives every rendition the same segment boundaries and
//! sequence numbers. A [`VodRecorder`] follows any `LiveStream` and hands out each
//! init segment and complete segment once, as a [`VodFile`] to store; at the end it
//! writes the playlists over *everything* it recorded (the live window keeps only
//! the last seconds in memory). That serves both paths:
//!
//! - uploaded files: the transcoder's frames go into a [`VodPackager`] (a
//!   `LiveStream` set up for VOD behind a small [`interleave`] buffer);
//! - live to VOD: the origin runs a `VodRecorder` beside a channel's live stream,
//!   so the asset is the live segments themselves, never re-encoded.
//!
//! Layout (relative paths of [`VodFile`]s, ARCHITECTURE.md URLs under
//! `/vod/{asset}/`): `master.m3u8`, `manifest.mpd`, `{rendition}/init.mp4`
//! (`init-v{n}.mp4` after a configuration change), `{rendition}/seg{msn}.m4s`,
//! `{rendition}/index.m3u8`.
//!
//! - [`recorder`]: following a stream, the per-rendition record;
//! - [`media_playlist`]: rfc8216bis VOD media playlists;
//! - [`mpd`]: the static MPD (ISO/IEC 23009-1 `type="static"`);
//! - [`file_packager`]: the [`VodPackager`];
//! - [`interleave`]: frames of several tracks back in time order.
//!
//! Like the rest of the crate this opens no files: callers store the `VodFile`s.

pub mod file_packager;
pub mod interleave;
pub mod media_playlist;
pub mod mpd;
pub mod recorder;

#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use file_packager::VodPackager;
pub use recorder::{RecordedRendition, RecordedSegment, VodRecorder, VodSummary};

/// One file of a VOD asset: where it goes (relative to the asset's directory, `/`
/// separated) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VodFile {
    /// Relative path, e.g. `video0/seg3.m4s`.
    pub path: String,
    /// Contents.
    pub data: Bytes,
}

/// The multivariant playlist's file name.
pub const MASTER_PLAYLIST: &str = "master.m3u8";
/// The MPD's file name.
pub const MANIFEST: &str = "manifest.mpd";
/// Each rendition's media playlist file name.
pub const MEDIA_PLAYLIST: &str = "index.m3u8";

/// The file name of segment `msn`.
pub fn segment_file(msn: u64) -> String {
    format!("seg{msn}.m4s")
}
