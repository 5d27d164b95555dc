//! CMAF fragmented MP4 (ISO/IEC 14496-12, ISO/IEC 23000-19), one track per file.
//!
//! - [`init_segment`]: `ftyp` + `moov` for one [`Track`].
//! - [`fragment`]: one `moof` + `mdat` (a CMAF chunk) holding consecutive samples.
//!
//! In every file the track's `track_ID` is 1.

use bytes::Bytes;

use crate::media::Track;

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

/// The `mdhd` timescale used for a track: 90 000 for video, the sample rate for audio.
pub fn media_timescale(track: &Track) -> u32 {
    let _ = track;
    todo!("helper: fmp4")
}

/// `ftyp` + `moov` (with `mvex`/`trex`) for one track.
pub fn init_segment(track: &Track) -> Result<Bytes, MuxError> {
    let _ = track;
    todo!("helper: fmp4")
}

/// One `moof` (`mfhd`, `traf` with `tfhd`, `tfdt` v1, `trun`) followed by its `mdat`.
pub fn fragment(sequence_number: u32, base_media_decode_time: u64, samples: &[Sample]) -> Bytes {
    let _ = (sequence_number, base_media_decode_time, samples);
    todo!("helper: fmp4")
}
