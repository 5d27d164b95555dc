//! The decode timeline of one track: source timestamps in, media-timescale decode
//! times out, strictly increasing for the life of the stream.
//!
//! Source timestamps (`Frame::dts`, in `Track::timescale`, 1000 for RTMP) start
//! anywhere, restart on a publisher reconnect and may jump. The output timeline
//! must not: `tfdt` (ISO/IEC 14496-12 §8.8.12) of a rendition only grows, and a
//! player that continues after `EXT-X-DISCONTINUITY` expects no overlap.
//!
//! Each *epoch* (the run between two discontinuities) maps source time through a
//! stream-wide [`Rebase`]: the first frame of the epoch (of any track) defines
//! `src_us`, and `out_us` is where the stream timeline continues (the latest end of
//! any rendition), so audio and video keep their relative offset across a
//! reconnect. Within an epoch each track maps `anchor + (dts - anchor_src)` and
//! reports a [`Mapped::Jump`] when the source moved backwards or forward by more
//! than [`MAX_FORWARD_JUMP_US`].
//!
//! Audio with coarse timestamps (1 ms for RTMP: 1024 samples at 48 kHz are
//! 21.33 ms) would get jittering durations; when the track knows its samples per
//! frame, a timestamp within half a frame of the expected one is snapped to it
//! (sample counting), and anything further re-anchors on the real timestamp.

/// A forward gap above this (10 s) between consecutive frames is a discontinuity.
pub const MAX_FORWARD_JUMP_US: i64 = 10_000_000;
/// A backward step above this (500 ms) is a discontinuity; smaller ones (rounding,
/// repaired non-monotonic DTS) are clamped to keep decode times increasing.
pub const MAX_BACKWARD_STEP_US: i64 = 500_000;

/// Microseconds per second: the unit of the stream timeline.
pub const US: u32 = 1_000_000;

/// `v * to / from`, rounded to nearest, without overflow.
pub fn rescale(v: i64, from: u32, to: u32) -> i64 {
    let n = i128::from(v) * i128::from(to);
    let d = i128::from(from.max(1));
    let q = if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    };
    q as i64
}

/// The stream-wide source → output mapping of the current epoch, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebase {
    /// Source time (µs) of the epoch's first frame.
    pub src_us: i64,
    /// Stream time (µs) that frame is placed at.
    pub out_us: i64,
}

/// The result of mapping one frame's decode time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapped {
    /// The decode time in the media timescale.
    Time(i64),
    /// The source jumped (backwards, or forward past [`MAX_FORWARD_JUMP_US`]).
    Jump,
}

/// One track's mapping state.
#[derive(Debug, Clone)]
pub struct TrackClock {
    src_timescale: u32,
    media_timescale: u32,
    /// Media ticks per audio frame, when known.
    frame_ticks: Option<i64>,
    /// `(source dts, media dts)` of the epoch's anchor.
    anchor: Option<(i64, i64)>,
    /// Media dts of the last mapped frame in this epoch.
    last: Option<i64>,
    /// No decode time may be below this: the end of what was already muxed.
    floor: i64,
}

impl TrackClock {
    /// A clock for a track with `src_timescale` source ticks, muxed at
    /// `media_timescale`; `frame_ticks` are media ticks per audio access unit.
    pub fn new(src_timescale: u32, media_timescale: u32, frame_ticks: Option<i64>) -> Self {
        Self {
            src_timescale,
            media_timescale,
            frame_ticks,
            anchor: None,
            last: None,
            floor: 0,
        }
    }

    /// The media timescale.
    pub fn media_timescale(&self) -> u32 {
        self.media_timescale
    }

    /// Source ticks → media ticks (for composition offsets).
    pub fn src_to_media(&self, ticks: i64) -> i64 {
        rescale(ticks, self.src_timescale, self.media_timescale)
    }

    /// Source ticks → microseconds.
    pub fn src_to_us(&self, ticks: i64) -> i64 {
        rescale(ticks, self.src_timescale, US)
    }

    /// Media ticks → microseconds (stream timeline).
    pub fn media_to_us(&self, ticks: i64) -> i64 {
        rescale(ticks, self.media_timescale, US)
    }

    /// Starts a new epoch: the next frame anchors on the stream's [`Rebase`].
    pub fn new_epoch(&mut self) {
        self.anchor = None;
        self.last = None;
    }

    /// Everything up to `end` (media ticks) is muxed; later frames start at or after it.
    pub fn set_floor(&mut self, end: i64) {
        self.floor = self.floor.max(end);
    }

    /// The end of what was muxed (media ticks).
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// Re-anchors this track alone so `src_dts` continues at its own floor (a jump
    /// of a track that does not lead the stream).
    pub fn reanchor_at_floor(&mut self, src_dts: i64) -> i64 {
        let at = self.floor.max(self.last.map_or(i64::MIN, |l| l + 1));
        self.anchor = Some((src_dts, at));
        self.last = Some(at);
        at
    }

    /// Maps a frame's source decode time.
    pub fn map(&mut self, src_dts: i64, rebase: Rebase) -> Mapped {
        let Some((a_src, a_media)) = self.anchor else {
            let us = self.src_to_us(src_dts) - rebase.src_us + rebase.out_us;
            let m = rescale(us, US, self.media_timescale).max(self.floor);
            self.anchor = Some((src_dts, m));
            self.last = Some(m);
            return Mapped::Time(m);
        };
        let mut m = a_media + self.src_to_media(src_dts - a_src);
        let last = self.last.unwrap_or(a_media);
        let step_us = self.media_to_us(m - last);
        if !(-MAX_BACKWARD_STEP_US..=MAX_FORWARD_JUMP_US).contains(&step_us) {
            return Mapped::Jump;
        }
        if let Some(frame) = self.frame_ticks {
            // Sample counting: snap to the expected time within half a frame.
            let expected = last + frame;
            if (m - expected).abs() <= frame / 2 {
                m = expected;
            }
        }
        let m = m.max(last + 1).max(self.floor);
        self.last = Some(m);
        Mapped::Time(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REBASE0: Rebase = Rebase {
        src_us: 0,
        out_us: 0,
    };

    fn times(clock: &mut TrackClock, src: &[i64]) -> Vec<i64> {
        src.iter()
            .map(|&d| match clock.map(d, REBASE0) {
                Mapped::Time(t) => t,
                Mapped::Jump => -1,
            })
            .collect()
    }

    #[test]
    fn rescale_rounds_to_nearest_and_handles_negatives() {
        assert_eq!(rescale(1, 1000, 90_000), 90);
        assert_eq!(rescale(21, 1000, 48_000), 1008);
        assert_eq!(rescale(-1, 3, 1), 0);
        assert_eq!(rescale(-2, 3, 1), -1);
        assert_eq!(rescale(1 << 40, 1000, 90_000), (1 << 40) * 90);
    }

    #[test]
    fn video_ms_timestamps_map_exactly_to_90k() {
        let mut c = TrackClock::new(1000, 90_000, None);
        assert_eq!(
            times(&mut c, &[5000, 5033, 5067]),
            vec![450_000, 452_970, 456_030]
        );
    }

    #[test]
    fn audio_ms_timestamps_snap_to_sample_counts() {
        let mut c = TrackClock::new(1000, 48_000, Some(1024));
        assert_eq!(
            times(&mut c, &[0, 21, 43, 64, 85]),
            vec![0, 1024, 2048, 3072, 4096]
        );
        // A real gap of 100 ms re-anchors on the timestamp.
        assert_eq!(times(&mut c, &[185]), vec![8880]);
    }

    #[test]
    fn jumps_are_reported_and_small_backward_steps_clamped() {
        let mut c = TrackClock::new(1000, 90_000, None);
        assert_eq!(times(&mut c, &[0, 33, 20]), vec![0, 2970, 2971]);
        assert_eq!(times(&mut c, &[20_000]), vec![-1]);
        assert_eq!(times(&mut c, &[-1000]), vec![-1]);
    }

    #[test]
    fn a_new_epoch_continues_at_the_rebase_and_never_below_the_floor() {
        let mut c = TrackClock::new(1000, 90_000, None);
        times(&mut c, &[0, 33]);
        c.set_floor(6000);
        c.new_epoch();
        // The publisher restarted at 0; the stream continues at 1 s.
        assert_eq!(
            c.map(
                0,
                Rebase {
                    src_us: 0,
                    out_us: 1_000_000
                }
            ),
            Mapped::Time(90_000)
        );
        c.new_epoch();
        assert_eq!(
            c.map(
                0,
                Rebase {
                    src_us: 0,
                    out_us: 0
                }
            ),
            Mapped::Time(6000)
        );
    }
}
