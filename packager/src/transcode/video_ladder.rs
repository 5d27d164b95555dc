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
//! Encoder calls run on the caller's thread; x264 has threads of its own
//! ([`LadderSpec::threads`]) and each scaled rendition scales on a thread of its
//! own (see `scale_worker`), one frame ahead of the encoders ([`VideoLadder::push`]),
//! as the ffmpeg CLI's threaded swscale runs next to its encoders.

use std::sync::Arc;

use ffmpeg_next::util::mathematics::rescale::Rescale;
use ffmpeg_next::{frame, Rational};

use super::error::TranscodeError;
use super::rendition::{picture_type, Rendition};
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
    /// The frame pushed last: being scaled, encoded by the next push or flush.
    pending: Option<Pending>,
}

/// A frame between [`VideoLadder::push`] and its encoding.
struct Pending {
    frame: Arc<frame::Video>,
    pts: i64,
    key: bool,
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
            pending: None,
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

    /// Takes one decoded frame (`*frame` is left empty, ready for the decoder's
    /// next `receive_frame`) and returns whether it starts a GOP.
    ///
    /// Pipelined by one frame: this call starts scaling `frame` for every rendition
    /// that needs it, each on its own thread, and meanwhile encodes the *previous*
    /// frame in every rendition, in track order, on this thread (the source-sized
    /// rendition takes the decoded frame itself, no copy). So the scalers work
    /// while x264 is being fed and this thread rarely waits; [`VideoLadder::flush`]
    /// encodes the last frame.
    pub fn push(
        &mut self,
        frame: &mut frame::Video,
        sink: &mut dyn LadderSink,
    ) -> Result<bool, TranscodeError> {
        let pts = self.next_pts(frame);
        let key = self.clock.is_key(pts);
        frame.set_pts(Some(pts));
        frame.set_kind(picture_type(key));
        let next = Pending {
            frame: Arc::new(std::mem::replace(frame, frame::Video::empty())),
            pts,
            key,
        };
        let mut result = Ok(());
        for r in self.renditions.iter_mut().flatten() {
            result = result.and_then(|()| r.start_scaling(&next.frame));
        }
        if let (Ok(()), Some(previous)) = (&result, self.pending.take()) {
            result = self.encode_all(&previous, sink);
        }
        if result.is_err() {
            for r in self.renditions.iter_mut().flatten() {
                r.settle();
            }
            return result.map(|()| key);
        }
        self.pending = Some(next);
        Ok(key)
    }

    fn encode_all(
        &mut self,
        pending: &Pending,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        for (i, slot) in self.renditions.iter_mut().enumerate() {
            if let Some(r) = slot {
                r.encode(&pending.frame, pending.pts, pending.key, sink)?;
                if self.status[i].config.is_none() {
                    self.status[i].config = r.config().cloned();
                }
            }
        }
        Ok(())
    }

    /// Drains every active encoder (end of input). The ladder is spent afterwards.
    pub fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        if let Some(last) = self.pending.take() {
            self.encode_all(&last, sink)?;
        }
        for (i, slot) in self.renditions.iter_mut().enumerate() {
            if let Some(r) = slot {
                r.flush(sink)?;
                self.status[i].config = r.config().cloned();
            }
        }
        Ok(())
    }

    /// Stops rendition `index` at once (frames still inside x264 or waiting in the
    /// pipeline are discarded, so its output simply ends). Returns false if it was
    /// already dropped or is unknown.
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
