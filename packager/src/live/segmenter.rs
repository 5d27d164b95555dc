//! One rendition's segmenter: samples in, CMAF chunks (parts) and segments out.
//!
//! A sample's duration is the distance to the next sample's decode time, so a
//! sample is appended only when the frame after it has arrived (or, when the
//! publisher leaves, with the previous sample's duration).
//!
//! Part cuts (rfc8216bis §4.4.4.9: a part's duration MUST NOT exceed the part
//! target): a sample that would push the open part past the part target closes
//! the part first; and after appending, the part is emitted at once when one more
//! sample of the same duration would not fit, so a part leaves as soon as its last
//! sample's duration is known instead of one frame later. Every part except the
//! last of a segment is therefore between `target - one sample` and `target`; the
//! last part of a segment is whatever remains before the next key frame.
//!
//! Each part is one `fmp4::fragment` (`moof`+`mdat`); a segment is the
//! concatenation of its parts, so LL-HLS parts and DASH segments share bytes.

use bytes::Bytes;

use super::timeline::TrackClock;
use super::{Part, Rendition, Segment};
use crate::codec::captions::CaptionDetector;
use crate::fmp4::{self, Sample};

/// A mapped frame waiting to be appended.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// Decode time in the media timescale.
    pub(crate) dts: i64,
    /// Decode time on the stream timeline (µs), for cross-rendition alignment.
    pub(crate) us: i64,
    /// `pts - dts` in media ticks.
    pub(crate) cto: i32,
    /// Random access point.
    pub(crate) key: bool,
    /// Payload.
    pub(crate) data: Bytes,
    /// Arrival wall clock (ms).
    pub(crate) now_ms: u64,
}

/// A segment start announced by the leading rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Boundary {
    /// Stream time (µs) of the leader's first sample in the new segment.
    pub(crate) us: i64,
    /// The new segment's media sequence number.
    pub(crate) msn: u64,
    /// A discontinuity precedes it.
    pub(crate) discontinuity: bool,
    /// Wall clock (ms) of the leader's segment: its `EXT-X-PROGRAM-DATE-TIME`.
    pub(crate) wall_ms: u64,
}

/// Segmenter state of one rendition.
#[derive(Debug)]
pub(crate) struct Packer {
    pub(crate) clock: TrackClock,
    /// Leader: the newest frame, waiting for the next one to know its duration.
    pub(crate) held: Option<Pending>,
    /// Follower: frames waiting for the leader's cut decisions, oldest first.
    pub(crate) queue: std::collections::VecDeque<Pending>,
    /// Follower: segment starts announced by the leader, oldest first.
    pub(crate) boundaries: std::collections::VecDeque<Boundary>,
    /// Parts emitted over the stream's life.
    pub(crate) parts_emitted: u64,
    /// Segment target in media ticks.
    pub(crate) segment_target_ticks: i64,
    /// Duration used when no next sample tells one (default frame duration).
    pub(crate) default_duration: u32,
    /// Looks for captions in the frames (video H.264/HEVC only; stops by itself).
    pub(crate) captions: CaptionDetector,
    part: Vec<Sample>,
    part_start: i64,
    part_ticks: u64,
    last_duration: Option<u32>,
    fragment_seq: u32,
    part_target_ticks: u64,
}

impl Packer {
    /// A segmenter for `rendition` whose decode times come from `clock`.
    pub(crate) fn new(rendition: &Rendition, clock: TrackClock, default_duration: u32) -> Self {
        let ts = i64::from(rendition.timescale);
        Self {
            clock,
            held: None,
            queue: Default::default(),
            boundaries: Default::default(),
            parts_emitted: 0,
            segment_target_ticks: i64::from(rendition.config.segment_target_ms) * ts / 1000,
            default_duration,
            captions: CaptionDetector::new(&rendition.track.codec),
            part: Vec::new(),
            part_start: 0,
            part_ticks: 0,
            last_duration: None,
            fragment_seq: 1,
            part_target_ticks: (u64::from(rendition.config.part_target_ms) * ts as u64 / 1000)
                .max(1),
        }
    }

    /// The duration of the last appended sample, or the default.
    pub(crate) fn last_duration(&self) -> u32 {
        self.last_duration.unwrap_or(self.default_duration)
    }

    /// Whether `r` has a segment in progress.
    pub(crate) fn is_open(r: &Rendition) -> bool {
        r.segments.back().is_some_and(|s| !s.complete)
    }

    /// Media ticks between the open segment's start and `dts`.
    pub(crate) fn elapsed(r: &Rendition, dts: i64) -> Option<i64> {
        r.segments
            .back()
            .filter(|s| !s.complete)
            .map(|s| dts - s.start_dts as i64)
    }

    /// Completes the open segment (if any) and opens segment `msn` at `start_dts`.
    pub(crate) fn open_segment(
        &mut self,
        r: &mut Rendition,
        msn: u64,
        start_dts: i64,
        now_ms: u64,
        discontinuity: bool,
    ) {
        self.complete_segment(r);
        r.segments.push_back(Segment {
            msn,
            parts: Vec::new(),
            complete: false,
            program_date_time_ms: now_ms,
            discontinuity,
            start_dts: start_dts.max(0) as u64,
            duration_ticks: 0,
            init_version: r.init_version,
        });
        r.next_msn = msn + 1;
    }

    /// Appends one sample of `duration` ticks to the open segment (dropped when
    /// none is open: frames before the first key frame or boundary).
    pub(crate) fn append(&mut self, r: &mut Rendition, p: Pending, duration: u32) {
        if !Self::is_open(r) {
            return;
        }
        let duration = duration.max(1);
        let d = u64::from(duration);
        if !self.part.is_empty() && self.part_ticks + d > self.part_target_ticks {
            self.emit_part(r);
        }
        if self.part.is_empty() {
            self.part_start = p.dts;
        }
        self.part.push(Sample {
            duration,
            composition_offset: p.cto,
            keyframe: p.key,
            data: p.data,
        });
        self.part_ticks += d;
        self.last_duration = Some(duration);
        self.clock.set_floor(p.dts + i64::from(duration));
        r.samples_muxed += 1;
        r.ticks_muxed += d;
        // Emit now if the next sample (assumed as long) would not fit.
        if self.part_ticks + d > self.part_target_ticks {
            self.emit_part(r);
        }
    }

    /// Muxes the open part into a fragment and adds it to the open segment.
    pub(crate) fn emit_part(&mut self, r: &mut Rendition) {
        if self.part.is_empty() {
            return;
        }
        let samples = std::mem::take(&mut self.part);
        let data = fmp4::fragment(self.fragment_seq, self.part_start.max(0) as u64, &samples);
        self.fragment_seq = self.fragment_seq.wrapping_add(1).max(1);
        let ticks = std::mem::take(&mut self.part_ticks);
        let Some(seg) = r.segments.back_mut().filter(|s| !s.complete) else {
            return;
        };
        seg.parts.push(Part {
            data,
            duration: ticks as f64 / f64::from(r.timescale),
            independent: samples[0].keyframe,
            start_dts: self.part_start.max(0) as u64,
            duration_ticks: ticks,
        });
        seg.duration_ticks += ticks;
        self.parts_emitted += 1;
    }

    /// Emits the open part and completes the open segment; an empty segment is
    /// removed. Updates bandwidth and target-duration bookkeeping and the window.
    pub(crate) fn complete_segment(&mut self, r: &mut Rendition) {
        self.emit_part(r);
        let Some(seg) = r.segments.back_mut().filter(|s| !s.complete) else {
            return;
        };
        if seg.parts.is_empty() {
            r.segments.pop_back();
            return;
        }
        seg.complete = true;
        let (ticks, bytes) = (seg.duration_ticks, seg.byte_len() as u64);
        r.max_segment_ticks = r.max_segment_ticks.max(ticks);
        if let Some(bps) = (bytes * 8 * u64::from(r.timescale)).checked_div(ticks) {
            r.peak_bandwidth = r.peak_bandwidth.max(bps);
        }
        r.prune();
    }

    /// Appends the held frame (leader) with the previous sample's duration.
    pub(crate) fn flush_held(&mut self, r: &mut Rendition) {
        if let Some(h) = self.held.take() {
            let d = self.last_duration();
            self.append(r, h, d);
        }
    }
}
