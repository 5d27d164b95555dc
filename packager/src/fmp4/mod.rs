//! CMAF fragmented MP4 (ISO/IEC 14496-12, ISO/IEC 23000-19), one track per file.
//!
//! - [`init_segment`]: `ftyp` + `moov` for one [`Track`] (see [`init`] for the tree).
//! - [`fragment`]: one `moof` + `mdat` (a CMAF chunk) holding consecutive samples;
//!   [`fragment_chunks`] is the same without copying sample payloads.
//! - [`in_band_parameter_sets`]: H.264/H.265 samples that repeat the record's
//!   parameter sets lose them, so `avc1`/`hvc1` stays true (see [`parameter_sets`]).
//! - [`media_timescale`]: the `mdhd` timescale; [`Sample`] durations and offsets are
//!   in it, so the segmenter converts from [`Track::timescale`] once.
//!
//! In every file the track's `track_ID` is 1. Boxes are written by hand
//! ([`writer`]): the whole CMAF subset is a few hundred lines, and writing it directly
//! keeps payloads as shared [`Bytes`] from ingest to the socket.
//!
//! ```
//! use bytes::Bytes;
//! use packager::codec::aac::AacConfig;
//! use packager::fmp4::{fragment, init_segment, media_timescale, Sample};
//! use packager::media::{CodecConfig, Track};
//!
//! let asc = AacConfig::parse(Bytes::from_static(&[0x11, 0x90])).unwrap();
//! let track = Track { id: 0, codec: CodecConfig::Aac(asc), timescale: 1000, language: None, name: None };
//! assert_eq!(media_timescale(&track), 48_000);
//! let init = init_segment(&track).unwrap();
//! assert_eq!(&init[4..8], b"ftyp");
//! let sample = Sample { duration: 1024, composition_offset: 0, keyframe: true, data: Bytes::from_static(&[0x21, 0x10]) };
//! let chunk = fragment(1, 0, &[sample]);
//! assert_eq!(&chunk[4..8], b"moof");
//! ```

use bytes::Bytes;

use crate::media::Track;

pub mod fragment;
pub mod init;
pub mod parameter_sets;
mod sample_entry;
mod writer;

pub use fragment::{fragment, fragment_chunks, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS};
pub use init::init_segment;
pub use parameter_sets::{in_band_parameter_sets, with_parameter_sets_in_band, InBand};

/// Video `mdhd` timescale: 90 kHz, the MPEG clock every frame rate divides well into.
pub const VIDEO_TIMESCALE: u32 = 90_000;

/// One sample of a fragment, already in the media timescale ([`media_timescale`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Duration in media timescale ticks.
    pub duration: u32,
    /// `pts - dts` in media timescale ticks (may be negative; trun version 1).
    pub composition_offset: i32,
    /// Sync sample (clears `sample_is_non_sync_sample`, sets depends_on = 2).
    pub keyframe: bool,
    /// The payload (see [`crate::media`] for its format).
    pub data: Bytes,
}

/// A track could not be muxed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MuxError {
    /// The codec has no sample entry implemented.
    #[error("no CMAF sample entry for codec {0}")]
    UnsupportedCodec(&'static str),
}

/// The `mdhd` timescale used for a track: [`VIDEO_TIMESCALE`] for video, the output
/// sample rate ([`crate::media::AudioInfo::sample_rate`]) for audio.
pub fn media_timescale(track: &Track) -> u32 {
    track
        .codec
        .audio_info()
        .map_or(VIDEO_TIMESCALE, |a| a.sample_rate.max(1))
}

#[cfg(test)]
mod ffprobe_check;
#[cfg(test)]
mod tests;
