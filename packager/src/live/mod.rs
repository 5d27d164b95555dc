//! The live segmenter and the bounded window of what it produced.
//!
//! A [`LiveStream`] is one channel: frames of all its tracks go in, and each track
//! becomes a [`Rendition`] whose [`Segment`]s are cut at video key frames near the
//! segment target and split into [`Part`]s near the part target. Time is an input:
//! `now_ms` is the wall clock at the frame's arrival at ingest, used for
//! `EXT-X-PROGRAM-DATE-TIME` and for DASH availability.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::media::{Frame, Track};

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
    /// Wall clock of the segment's first frame arrival, ms since the Unix epoch.
    pub program_date_time_ms: u64,
    /// A discontinuity precedes this segment (publisher reconnect, timestamp jump).
    pub discontinuity: bool,
}

/// One track's packaged output.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    /// The URL path component, e.g. `video0`, `audio0`.
    pub name: String,
    /// The track as last announced.
    pub track: Track,
    /// The current init segment.
    pub init: Bytes,
    /// The window of segments, oldest first, including those kept past the playlist
    /// window for late fetches.
    pub segments: VecDeque<Segment>,
}

/// One channel's live packaging state.
#[derive(Debug)]
pub struct LiveStream {
    config: LiveConfig,
    renditions: Vec<Rendition>,
}

impl LiveStream {
    /// A stream with no tracks yet.
    pub fn new(config: LiveConfig) -> Self {
        Self { config, renditions: Vec::new() }
    }

    /// The packaging parameters.
    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// A track was announced (or re-announced: an unchanged config is a no-op).
    pub fn handle_track(&mut self, track: Track, now_ms: u64) {
        let _ = (track, now_ms);
        todo!("helper: live")
    }

    /// A frame arrived at ingest at `now_ms`.
    pub fn handle_frame(&mut self, frame: Frame, now_ms: u64) {
        let _ = (frame, now_ms);
        todo!("helper: live")
    }

    /// The publisher went away: flush what is pending; the next frames (after a
    /// reconnect) start a new segment after a discontinuity.
    pub fn handle_publisher_gone(&mut self, now_ms: u64) {
        let _ = now_ms;
        todo!("helper: live")
    }

    /// The stream is over (grace period expired): playlists get `EXT-X-ENDLIST`.
    pub fn handle_end(&mut self, now_ms: u64) {
        let _ = now_ms;
        todo!("helper: live")
    }

    /// All renditions, video first.
    pub fn renditions(&self) -> &[Rendition] {
        &self.renditions
    }

    /// A rendition by URL name.
    pub fn rendition(&self, name: &str) -> Option<&Rendition> {
        self.renditions.iter().find(|r| r.name == name)
    }
}
