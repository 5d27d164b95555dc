//! LL-HLS playlists (draft-pantos-hls-rfc8216bis): multivariant and media playlists,
//! delta updates and the blocking-reload decision of §6.2.5.2.
//!
//! Everything here is a pure function of a [`crate::live::LiveStream`] or one of
//! its [`crate::live::Rendition`]s: the server renders, decides, and waits.
//!
//! - [`multivariant_playlist`]: `master.m3u8` (§4.4.6).
//! - [`media_playlist`]: `{rendition}/index.m3u8`, with parts, preload hint,
//!   rendition reports and, for `_HLS_skip=YES`, a delta update (§6.2.5.1).
//! - [`blocking::decide`]: whether a request with `_HLS_msn`/`_HLS_part` can be
//!   answered now, must be held, or is a 400 (§6.2.5.2).
//! - [`part`], [`segment`], [`init`]: what a request for a part, a segment or an
//!   init segment gets now (bytes, hold, or 404).
//!
//! URIs in playlists are relative, so one cached playlist serves every token path:
//! `video0/index.m3u8` from the multivariant playlist; `init.mp4`, `seg{n}.m4s`,
//! `part{n}.{p}.m4s` and `../audio0/index.m3u8` from a media playlist.

pub mod blocking;
mod lookup;
mod media_playlist;
mod multivariant;

#[cfg(test)]
mod tests_blocking;
#[cfg(test)]
mod tests_playlists;

pub use blocking::{BlockDecision, BlockError};
pub use lookup::{init, part, segment, PartLookup, SegmentLookup};
pub use media_playlist::{
    media_playlist, CAN_SKIP_TARGET_DURATIONS, PART_HOLD_BACK_PARTS, VERSION,
};
pub use multivariant::{multivariant_of, multivariant_playlist, RenditionSummary, AUDIO_GROUP};

/// Parts of segments whose end is within this many target durations of the
/// playlist's end are listed as `EXT-X-PART` (rfc8216bis §4.4.4.9).
pub const PARTS_LISTED_TARGET_DURATIONS: u32 = 3;

/// The Advance Part Limit of rfc8216bis §6.2.5.2 for a part target in ms: three
/// divided by the part target when below one second, else three.
pub fn advance_part_limit(part_target_ms: u32) -> u32 {
    if part_target_ms < 1000 {
        3000_u32.div_ceil(part_target_ms.max(1))
    } else {
        3
    }
}

/// A decimal-floating-point with up to `decimals` digits, never rounded up (part
/// durations must not exceed `PART-TARGET`).
pub(crate) fn decimal_floor(value: f64, decimals: u32) -> String {
    let scale = 10f64.powi(decimals as i32);
    let v = (value * scale + 1e-6).floor() / scale;
    format!("{v:.*}", decimals as usize)
}
