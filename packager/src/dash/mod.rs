//! Low-latency DASH: the dynamic MPD (ISO/IEC 23009-1, DASH-IF IOP low latency).
//!
//! [`live_mpd`] renders `/live/{ch}/manifest.mpd` from a [`crate::live::LiveStream`]:
//! one Period per epoch (a new Period after each discontinuity), one
//! AdaptationSet per video group and per audio rendition, and per Representation
//! a `SegmentTemplate` with a `SegmentTimeline` whose `$Number$` is the LL-HLS
//! media sequence number, so DASH segments and LL-HLS parts are the same bytes.
//! The segment being produced is listed with its expected duration; with
//! `availabilityTimeOffset` = segment target − part target, it becomes available
//! one part after it starts, and the server delivers it chunk by chunk
//! (`availabilityTimeComplete="false"`).

pub(crate) mod mpd;
#[cfg(test)]
mod tests;

pub use mpd::{
    latency_ms, live_mpd, minimum_update_period_ms, MpdOptions, PLAYBACK_RATE_MAX,
    PLAYBACK_RATE_MIN, PROFILES,
};
