//! The decode-once, scale-per-rendition, encode core shared by VOD
//! ([`super::transcode_file`]) and the live ladder: decoded frames in, one
//! [`LadderSink`] out.
//!
//! # Keyframe alignment
//!
//! One [`KeyframeClock`] decides, per *input* frame, whether it starts a GOP: the
//! first frame does, then the first frame whose pts reaches the next boundary
//! `first_pts + k × keyframe_interval_s`. That decision is sent with the same frame
//! to every rendition as a forced IDR (`pict_type = I`, `forced-idr=1`), and x264
//! places no key frames of its own (`sc_threshold=0`; the GOP cap is twice the
//! interval), so every rendition has its IDRs at exactly the same pts. Dropping a
//! rendition ([`VideoLadder::drop_rendition`]) does not move anybody else's.
//!
//! # Timestamps
//!
//! Input pts (the frame's pts, else its best-effort timestamp, else the previous
//! one plus a nominal frame duration) are rescaled to 90 kHz and forced strictly
//! increasing (x264 refuses repeats). Output frames carry x264's pts/dts in 90 kHz:
//! with B-frames the first dts are below the first pts.
//!
//! Everything runs on the caller's thread; x264 has threads of its own
//! ([`LadderSpec::threads`]).

use ffmpeg_next::util::mathematics::rescale::Rescale;
use ffmpeg_next::{frame, Rational};

use super::error::TranscodeError;
use super::rendition::Rendition;
use super::sink::LadderSink;
use super::spec::{plan_renditions, LadderSpec, PlannedRendition};
use crate::codec::avc::AvcConfig;
use crate::fmp4::VIDEO_TIMESCALE;
use crate::media::TrackId;

/// Frame rate assumed when the source states none (x264 rate control needs one).
pub const FALLBACK_FRAME_RATE: Rational = Rational(30, 1);

/// The decoded video the ladder is fed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoSource {
    /// Decoded picture width in pixels.
    pub width: u32,
    /// Decoded picture height in pixels.
    pub height: u32,
    /// Pixel aspect ratio (`0/1` when unknown = square).
    pub sample_aspect: Rational,
    /// Time base of the frames' pts.
    pub time_base: Rational,
    /// Nominal frame rate (`0/1` when unknown: [`FALLBACK_FRAME_RATE`]).
    pub frame_rate: Rational,
}

/// One rendition as the ladder runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenditionStatus {
    /// Name, size and bitrate.
    pub planned: PlannedRendition,
    /// False once dropped.
    pub active: bool,
    /// The `avcC` of its output, once the first frame is out.
    pub config: Option<AvcConfig>,
}

/// Decides which input frames become IDRs in every rendition.
#[derive(Debug, Clone, Copy)]
pub struct KeyframeClock {
    interval: i64,
    next: Option<i64>,
}

impl KeyframeClock {
    /// A key frame every `interval` ticks, anchored at the first frame.
    pub fn new(interval: i64) -> Self {
        Self {
            interval: interval.max(1),
            next: None,
        }
    }

    /// Whether the frame at `pts` starts a GOP (pts must increase).
    pub fn is_key(&mut self, pts: i64) -> bool {
        match self.next {
            None => {
                self.next = Some(pts + self.interval);
                true
            }
            Some(next) if pts >= next => {
                let passed = (pts - next) / self.interval + 1;
                self.next = Some(next + passed * self.interval);
                true
            }
            Some(_) => false,
        }
    }
}

/// Decoded frames in, every rendition's encoded frames out.
pub struct VideoLadder {
    renditions: Vec<Option<Rendition>>,
    status: Vec<RenditionStatus>,
    time_base: Rational,
    frame_ticks: i64,
    clock: KeyframeClock,
    last_pts: Option<i64>,
}

impl VideoLadder {
    /// Plans the renditions for `source` ([`plan_renditions`]) and opens an x264
    /// encoder for each. Rendition `i` is video track `i`.
    pub fn new(source: &VideoSource, spec: &LadderSpec) -> Result<Self, TranscodeError> {
        super::init();
        let frame_rate = if source.frame_rate.numerator() > 0 && source.frame_rate.denominator() > 0
        {
            source.frame_rate
        } else {
            FALLBACK_FRAME_RATE
        };
        let planned = plan_renditions(spec, source.width, source.height, source.sample_aspect);
        let mut renditions = Vec::with_capacity(planned.len());
        let mut status = Vec::with_capacity(planned.len());
        for (i, p) in planned.into_iter().enumerate() {
            status.push(RenditionStatus {
                planned: p.clone(),
                active: true,
                config: None,
            });
            renditions.push(Some(Rendition::open(i as TrackId, p, spec, frame_rate)?));
        }
        let ticks = f64::from(VIDEO_TIMESCALE);
        Ok(Self {
            renditions,
            status,
            time_base: source.time_base,
            frame_ticks: (ticks / f64::from(frame_rate)).round().max(1.0) as i64,
            clock: KeyframeClock::new((spec.keyframe_interval_s * ticks).round() as i64),
            last_pts: None,
        })
    }

    /// Every planned rendition, dropped ones included (index = track id).
    pub fn renditions(&self) -> &[RenditionStatus] {
        &self.status
    }

    /// How many renditions are still encoding.
    pub fn active(&self) -> usize {
        self.renditions.iter().filter(|r| r.is_some()).count()
    }

    /// Encodes one decoded frame in every active rendition. The frame's pts and
    /// picture type are overwritten (it may be handed to the source-sized encoder
    /// without a copy). Returns whether it was a key frame.
    pub fn push(
        &mut self,
        frame: &mut frame::Video,
        sink: &mut dyn LadderSink,
    ) -> Result<bool, TranscodeError> {
        let pts = self.next_pts(frame);
        let key = self.clock.is_key(pts);
        for (i, slot) in self.renditions.iter_mut().enumerate() {
            if let Some(r) = slot {
                r.encode(frame, pts, key, sink)?;
                if self.status[i].config.is_none() {
                    self.status[i].config = r.config().cloned();
                }
            }
        }
        Ok(key)
    }

    /// Drains every active encoder (end of input). The ladder is spent afterwards.
    pub fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        for (i, slot) in self.renditions.iter_mut().enumerate() {
            if let Some(r) = slot {
                r.flush(sink)?;
                self.status[i].config = r.config().cloned();
            }
        }
        Ok(())
    }

    /// Stops rendition `index` at once (frames still inside x264 are discarded, so
    /// its output simply ends). Returns false if it was already dropped or unknown.
    pub fn drop_rendition(&mut self, index: usize) -> bool {
        match self.renditions.get_mut(index) {
            Some(slot @ Some(_)) => {
                *slot = None;
                self.status[index].active = false;
                true
            }
            _ => false,
        }
    }

    /// The 90 kHz pts of the media seen so far (the last input frame's).
    pub fn last_pts(&self) -> Option<i64> {
        self.last_pts
    }

    fn next_pts(&mut self, frame: &frame::Video) -> i64 {
        let source = frame.pts().or_else(|| frame.timestamp());
        let rescaled =
            source.map(|t| t.rescale(self.time_base, Rational::new(1, VIDEO_TIMESCALE as i32)));
        let pts = match (rescaled, self.last_pts) {
            (Some(t), Some(last)) => t.max(last + 1),
            (Some(t), None) => t,
            (None, Some(last)) => last + self.frame_ticks,
            (None, None) => 0,
        };
        self.last_pts = Some(pts);
        pts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_keys_the_first_frame_then_every_interval() {
        let mut clock = KeyframeClock::new(180_000);
        let keys: Vec<i64> = (0..200)
            .map(|n| 1_000 + n * 3_000)
            .filter(|&pts| clock.is_key(pts))
            .collect();
        assert_eq!(keys, vec![1_000, 181_000, 361_000, 541_000]);
    }

    #[test]
    fn the_clock_stays_on_its_grid_across_gaps() {
        let mut clock = KeyframeClock::new(100);
        assert!(clock.is_key(0));
        assert!(!clock.is_key(99));
        // A gap over several boundaries: one key frame, next boundary still on grid.
        assert!(clock.is_key(350));
        assert!(!clock.is_key(399));
        assert!(clock.is_key(400));
    }
}
