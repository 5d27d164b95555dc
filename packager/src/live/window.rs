//! The bounded window of a rendition: what the playlist lists, what stays
//! fetchable after leaving it, and the measured bandwidth.
//!
//! - The playlist lists the newest complete segments adding up to `window_ms`
//!   (the oldest one may cross the bound), then the segment in progress.
//! - Segments that left the playlist stay fetchable for the longer of
//!   [`RETENTION_TARGET_DURATIONS`] target durations (ARCHITECTURE.md caching
//!   rules) and the playlist's duration (rfc8216bis §6.2.2: a removed segment
//!   MUST stay available for its duration plus the longest playlist that held it),
//!   measured in media time; then they are dropped with their parts and inits.
//! - Bandwidth: each complete segment's bit rate is `bytes * 8 / duration`;
//!   `BANDWIDTH` is the peak over the stream's life (rfc8216bis §4.4.6.2: the peak
//!   segment bit rate), `AVERAGE-BANDWIDTH` the mean over retained segments.

use super::{Rendition, Segment};

/// Segments stay fetchable this many target durations after leaving the playlist.
pub const RETENTION_TARGET_DURATIONS: u32 = 3;

/// Highest frame rate believed when a codec signals one (see
/// [`Rendition::frame_rate`]).
pub(crate) const MAX_SIGNALLED_FRAME_RATE: f64 = 300.0;

impl Rendition {
    /// `EXT-X-TARGETDURATION` contribution of this rendition: its longest complete
    /// segment, rounded to the nearest second (rfc8216bis §4.4.3.1).
    pub fn target_duration_s(&self) -> u32 {
        (self.max_segment_ticks as f64 / f64::from(self.timescale)).round() as u32
    }

    /// Index in [`Self::segments`] of the first segment the playlist lists.
    pub fn playlist_start(&self) -> usize {
        let window = u64::from(self.config.window_ms) * u64::from(self.timescale) / 1000;
        let mut sum = 0u64;
        let mut start = self.segments.len();
        for (i, s) in self.segments.iter().enumerate().rev() {
            if !s.complete {
                start = i;
                continue;
            }
            if sum >= window {
                break;
            }
            sum += s.duration_ticks;
            start = i;
        }
        start
    }

    /// The segments the playlist lists, oldest first.
    pub fn playlist_segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().skip(self.playlist_start())
    }

    /// Drops segments that left the playlist more than the retention ago.
    pub(crate) fn prune(&mut self) {
        let start = self.playlist_start();
        let target =
            u64::from(self.config.segment_target_ms).max(1000) * u64::from(self.timescale) / 1000;
        let window = u64::from(self.config.window_ms) * u64::from(self.timescale) / 1000;
        let keep_ticks = (target * u64::from(RETENTION_TARGET_DURATIONS)).max(window);
        let mut sum = 0u64;
        let mut keep_from = start;
        for i in (0..start).rev() {
            if sum >= keep_ticks {
                break;
            }
            sum += self.segments[i].duration_ticks;
            keep_from = i;
        }
        for _ in 0..keep_from {
            if let Some(s) = self.segments.pop_front() {
                self.dropped_discontinuities += u64::from(s.discontinuity);
            }
        }
        let oldest = self
            .segments
            .front()
            .map_or(self.init_version, |s| s.init_version);
        self.inits.retain(|(v, _)| *v >= oldest);
    }

    /// `EXT-X-DISCONTINUITY-SEQUENCE` of the playlist (rfc8216bis §4.4.3.3): the
    /// discontinuities before its first segment.
    pub fn discontinuity_sequence(&self) -> u64 {
        let start = self.playlist_start();
        self.dropped_discontinuities
            + self
                .segments
                .iter()
                .take(start)
                .filter(|s| s.discontinuity)
                .count() as u64
    }

    /// A retained segment by media sequence number.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        let first = self.segments.front()?.msn;
        let i = usize::try_from(msn.checked_sub(first)?).ok()?;
        self.segments
            .get(i)
            .filter(|s| s.msn == msn)
            .or_else(|| self.segments.iter().find(|s| s.msn == msn))
    }

    /// The segment being produced, if any.
    pub fn in_progress(&self) -> Option<&Segment> {
        self.segments.back().filter(|s| !s.complete)
    }

    /// `(msn, part index)` of the newest part (`LAST-MSN`/`LAST-PART` of
    /// `EXT-X-RENDITION-REPORT`, rfc8216bis §4.4.5.4).
    pub fn last_part(&self) -> Option<(u64, u32)> {
        self.segments
            .iter()
            .rev()
            .find(|s| !s.parts.is_empty())
            .map(|s| (s.msn, s.parts.len() as u32 - 1))
    }

    /// `(msn, part index)` of the next part to be produced: the preload hint.
    pub fn next_part(&self) -> (u64, u32) {
        match self.in_progress() {
            Some(s) => (s.msn, s.parts.len() as u32),
            None => (self.next_msn, 0),
        }
    }

    /// Mean bit rate of the retained complete segments, bits/s (0 before any).
    pub fn average_bandwidth(&self) -> u64 {
        let (bytes, ticks) = self
            .segments
            .iter()
            .filter(|s| s.complete)
            .fold((0u64, 0u64), |(b, t), s| {
                (b + s.byte_len() as u64, t + s.duration_ticks)
            });
        if ticks == 0 {
            return 0;
        }
        bytes * 8 * u64::from(self.timescale) / ticks
    }

    /// Peak bit rate for `BANDWIDTH`: the stream's peak, or an estimate from the
    /// segment in progress before any segment completed.
    pub fn bandwidth(&self) -> u64 {
        if self.peak_bandwidth > 0 {
            return self.peak_bandwidth;
        }
        self.in_progress()
            .filter(|s| s.duration_ticks > 0)
            .map_or(0, |s| {
                s.byte_len() as u64 * 8 * u64::from(self.timescale) / s.duration_ticks
            })
    }

    /// Frames per second: signalled by the codec, else measured. A signalled rate
    /// above [`MAX_SIGNALLED_FRAME_RATE`] is a time base, not a frame rate (x264
    /// with variable-rate input writes `time_scale` = 2 × its 90 kHz time base into
    /// the SPS VUI, which reads as 90000 fps), and is measured instead.
    pub fn frame_rate(&self) -> Option<f64> {
        let signalled = self
            .track
            .codec
            .video_info()
            .and_then(|v| v.frame_rate)
            .filter(|f| *f > 0.0 && *f <= MAX_SIGNALLED_FRAME_RATE);
        signalled.or_else(|| {
            (self.samples_muxed > 1 && self.ticks_muxed > 0).then(|| {
                self.samples_muxed as f64 * f64::from(self.timescale) / self.ticks_muxed as f64
            })
        })
    }
}
