//! The live segmenter and the bounded window of what it produced.
//!
//! A [`LiveStream`] is one channel: frames of all its tracks go in, and each track
//! becomes a [`Rendition`] whose [`Segment`]s are cut at video key frames near the
//! segment target and split into [`Part`]s near the part target. Time is an input:
//! `now_ms` is the wall clock at the frame's arrival at ingest, used for
//! `EXT-X-PROGRAM-DATE-TIME` and for DASH availability.
//!
//! How the pieces fit:
//!
//! - [`timeline`]: source timestamps → the media timescale, rebased so the decode
//!   time of every rendition only grows, across reconnects and timestamp jumps.
//! - [`segmenter`]: one rendition's pending samples, the part and segment cuts, and
//!   the `fmp4::fragment` call per part.
//! - [`alignment`]: which rendition leads (the first video track, else the first
//!   audio track) and how the others cut their segments at the leader's boundaries,
//!   so every rendition has the same media sequence numbers for the same media time.
//! - [`parameter_sets`]: H.264/H.265 samples repeating the record's parameter sets
//!   lose them; ones that differ make the rendition `avc3`/`hev1`.
//! - [`window`]: the playlist window, retention of segments past it, bandwidth.
//! - [`wallclock`]: ISO 8601 formatting of wall-clock milliseconds.
//!
//! Drain order for a server: after each `handle_*` call, compare
//! [`LiveStream::parts_produced`] with the value before; if it grew, wake the
//! requests waiting on this channel and let them re-evaluate
//! [`crate::hls::blocking::decide`], [`crate::hls::part`] or [`crate::hls::segment`].

mod alignment;
mod parameter_sets;
mod segmenter;
pub mod timeline;
pub mod wallclock;
mod window;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests_captions;
#[cfg(test)]
mod tests_ladder;
#[cfg(test)]
mod tests_late_tracks;
#[cfg(test)]
mod tests_parameter_sets;
#[cfg(test)]
mod tests_reconnect;
#[cfg(test)]
mod tests_segmenter;

use std::collections::VecDeque;

use bytes::Bytes;

use crate::codec::captions::CaptionServices;
use crate::media::{Frame, MediaKind, Track};

pub use alignment::{CUT_TOLERANCE_MS, FOLLOWER_MAX_LAG_TARGETS};
pub use window::RETENTION_TARGET_DURATIONS;

/// Packaging parameters (the `[packaging]` config section).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    /// Target segment duration in milliseconds; segments are cut at the first key
    /// frame at or after it.
    pub segment_target_ms: u32,
    /// Target part duration in milliseconds.
    pub part_target_ms: u32,
    /// How much media the playlist window holds, in milliseconds.
    pub window_ms: u32,
}

/// One CMAF chunk (`moof`+`mdat`): an LL-HLS part.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The chunk bytes.
    pub data: Bytes,
    /// Duration in seconds.
    pub duration: f64,
    /// Starts with a key frame (`INDEPENDENT=YES`).
    pub independent: bool,
    /// Decode time of the first sample (`tfdt`), in the rendition's timescale.
    pub start_dts: u64,
    /// Duration in the rendition's timescale.
    pub duration_ticks: u64,
}

/// One CMAF segment: the concatenation of its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Media sequence number.
    pub msn: u64,
    /// The parts produced so far.
    pub parts: Vec<Part>,
    /// Whether the segment is finished (no more parts will be added).
    pub complete: bool,
    /// Wall clock of the segment's first frame arrival, ms since the Unix epoch; a
    /// follower's is the leader's segment's plus the media time between their
    /// starts (see `alignment`).
    pub program_date_time_ms: u64,
    /// A discontinuity precedes this segment (publisher reconnect, timestamp jump).
    pub discontinuity: bool,
    /// Decode time of the first sample, in the rendition's timescale.
    pub start_dts: u64,
    /// Sum of the parts' durations, in the rendition's timescale.
    pub duration_ticks: u64,
    /// Which init segment decodes it (see [`Rendition::init_uri`]).
    pub init_version: u32,
}

impl Segment {
    /// Duration in seconds (of the parts produced so far) for `timescale`.
    pub fn duration_s(&self, timescale: u32) -> f64 {
        self.duration_ticks as f64 / f64::from(timescale)
    }

    /// Payload bytes of all parts.
    pub fn byte_len(&self) -> usize {
        self.parts.iter().map(|p| p.data.len()).sum()
    }
}

/// One track's packaged output.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    /// The URL path component, e.g. `video0`, `audio0`, or a named video track's
    /// name (`720p`, see `alignment`).
    pub name: String,
    /// The track as last announced.
    pub track: Track,
    /// The current init segment.
    pub init: Bytes,
    /// The window of segments, oldest first, including those kept past the playlist
    /// window for late fetches.
    pub segments: VecDeque<Segment>,
    /// Ticks per second of every `*_dts`/`*_ticks` field (`fmp4::media_timescale`).
    pub timescale: u32,
    /// The packaging parameters (copied from the stream).
    pub config: LiveConfig,
    /// The stream ended: playlists carry `EXT-X-ENDLIST`, nothing is pending.
    pub ended: bool,
    /// Highest bit rate of any complete segment so far, bits/s.
    pub peak_bandwidth: u64,
    /// Longest complete segment so far, in ticks (keeps `EXT-X-TARGETDURATION` stable).
    pub max_segment_ticks: u64,
    /// Discontinuities carried by segments already dropped from [`Self::segments`]
    /// (`EXT-X-DISCONTINUITY-SEQUENCE`, rfc8216bis §4.4.3.3).
    pub dropped_discontinuities: u64,
    /// The msn the next segment will get when none is in progress.
    pub next_msn: u64,
    /// Init segments still referenced by retained segments: `(version, bytes)`.
    pub inits: Vec<(u32, Bytes)>,
    /// Version of [`Self::init`].
    pub init_version: u32,
    /// Samples muxed so far (with the measured durations: frame rate fallback).
    pub samples_muxed: u64,
    /// Ticks of media muxed so far.
    pub ticks_muxed: u64,
    /// Closed-caption services seen in this rendition's frames (CEA-608/708 in SEI,
    /// see [`crate::codec::captions`]); once seen, kept for the rendition's life.
    pub captions: CaptionServices,
}

impl Rendition {
    /// The URI of init segment `version`, relative to the media playlist:
    /// `init.mp4` for the first, `init-v{n}.mp4` after a configuration change.
    pub fn init_uri(version: u32) -> String {
        if version == 0 {
            "init.mp4".to_owned()
        } else {
            format!("init-v{version}.mp4")
        }
    }

    /// The init segment named `file` (`init.mp4`, `init-v2.mp4`), while referenced.
    pub fn init_by_uri(&self, file: &str) -> Option<Bytes> {
        self.inits
            .iter()
            .find(|(v, _)| Self::init_uri(*v) == file)
            .map(|(_, b)| b.clone())
    }

    /// Video or audio.
    pub fn kind(&self) -> MediaKind {
        self.track.kind()
    }
}

/// One channel's live packaging state.
#[derive(Debug)]
pub struct LiveStream {
    config: LiveConfig,
    renditions: Vec<Rendition>,
    /// Per-rendition segmenter state, same index as `renditions`.
    packers: Vec<segmenter::Packer>,
    /// Epoch, leader and boundary bookkeeping.
    align: alignment::Alignment,
    ended: bool,
}

impl LiveStream {
    /// A stream with no tracks yet.
    pub fn new(config: LiveConfig) -> Self {
        Self {
            config,
            renditions: Vec::new(),
            packers: Vec::new(),
            align: alignment::Alignment::default(),
            ended: false,
        }
    }

    /// The packaging parameters.
    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// A track was announced (or re-announced: an unchanged config is a no-op; a
    /// changed one gets a new init segment after a discontinuity). A track whose
    /// codec has no CMAF sample entry is ignored, and so are its frames.
    pub fn handle_track(&mut self, track: Track, now_ms: u64) {
        self.track_announced(track, now_ms);
    }

    /// A frame arrived at ingest at `now_ms`. Frames of unknown tracks are ignored.
    pub fn handle_frame(&mut self, frame: Frame, now_ms: u64) {
        self.frame_arrived(frame, now_ms);
    }

    /// The publisher went away: flush what is pending; the next frames (after a
    /// reconnect) start a new segment after a discontinuity.
    pub fn handle_publisher_gone(&mut self, now_ms: u64) {
        self.flush_epoch(now_ms);
    }

    /// The stream is over (grace period expired): playlists get `EXT-X-ENDLIST`.
    pub fn handle_end(&mut self, now_ms: u64) {
        self.flush_epoch(now_ms);
        self.ended = true;
        for r in &mut self.renditions {
            r.ended = true;
        }
        self.align.bump();
    }

    /// All renditions, video first.
    pub fn renditions(&self) -> &[Rendition] {
        &self.renditions
    }

    /// A rendition by URL name.
    pub fn rendition(&self, name: &str) -> Option<&Rendition> {
        self.renditions.iter().find(|r| r.name == name)
    }

    /// Whether [`Self::handle_end`] was called.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Parts produced so far, over all renditions (grows on every new part).
    pub fn parts_produced(&self) -> u64 {
        self.packers.iter().map(|p| p.parts_emitted).sum()
    }

    /// A counter that grows whenever anything a reader can see changed (a part, a
    /// completed segment, the end). Compare before/after a `handle_*` call to know
    /// whether to wake blocked requests.
    pub fn version(&self) -> u64 {
        self.parts_produced() + self.align.changes()
    }

    /// `EXT-X-TARGETDURATION` in seconds for every rendition of this stream: the
    /// segment target, or the longest complete segment when key frames are sparser
    /// (each rounded to the nearest integer, rfc8216bis §4.4.3.1).
    pub fn target_duration_s(&self) -> u32 {
        let target = (f64::from(self.config.segment_target_ms) / 1000.0)
            .round()
            .max(1.0) as u32;
        self.renditions
            .iter()
            .map(|r| r.target_duration_s())
            .fold(target, u32::max)
    }

    /// Wall clock (ms) of the first segment's first frame: DASH
    /// `availabilityStartTime`, fixed for the stream's life.
    pub fn availability_start_ms(&self) -> Option<u64> {
        self.align.availability_start_ms()
    }

    /// The epochs (runs of segments between discontinuities) still referenced.
    pub fn epochs(&self) -> &[Epoch] {
        self.align.epochs()
    }
}

/// A run of segments without a discontinuity: one DASH Period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    /// Media sequence number of its first segment.
    pub first_msn: u64,
    /// Decode time of its first segment in microseconds on the stream timeline
    /// (divide by 1e6 and multiply by a rendition's timescale for its ticks).
    pub start_us: i64,
    /// Wall clock of its first frame's arrival, ms since the Unix epoch.
    pub wall_ms: u64,
    /// Its DASH `Period@start` in µs after `availabilityStartTime`: the wall-clock
    /// offset, but never before the previous epoch's media ended (no overlap).
    pub period_start_us: i64,
}
