//! How fast a live ladder runs, and what it gives up when it is too slow.
//!
//! - [`RealtimeMeter`]: the real-time factor, media seconds encoded per wall second
//!   spent encoding (decode + scale + encode + hand-off, *not* the time spent idle
//!   waiting for the publisher), over a sliding window. A ladder that keeps up with
//!   its input is idle part of the time, so "media per elapsed second" would read
//!   1.0 whether the machine had room to spare or none; per busy second it reads the
//!   head-room (2.0: the ladder could run twice as many streams). Below 1.0 the
//!   ladder falls behind.
//! - [`Shedder`]: the lag of a source frame is its arrival at ingest until the
//!   ladder starts on it (time waiting in the queue). Over `max_lag` the lowest
//!   rendition is shed (then no second shed for `max_lag`, to let the queue drain).
//!   With one rendition left, or at twice `max_lag`, the ladder skips the source to
//!   its next key frame instead: latency is bounded by about `2 × max_lag` plus a
//!   GOP, never growing with the backlog.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The real-time factor over a sliding window.
#[derive(Debug)]
pub struct RealtimeMeter {
    window: Duration,
    /// `(when, media seconds, busy seconds)` of each encoded picture.
    samples: VecDeque<(Instant, f64, f64)>,
    media_s: f64,
    busy_s: f64,
}

/// Media time below which [`RealtimeMeter::factor`] has no answer yet.
const MIN_MEDIA_S: f64 = 0.5;

impl RealtimeMeter {
    /// A meter over the last `window` of wall time.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::new(),
            media_s: 0.0,
            busy_s: 0.0,
        }
    }

    /// At `now`, `media_s` seconds of media were encoded in `busy` of work.
    pub fn record(&mut self, now: Instant, media_s: f64, busy: Duration) {
        let busy_s = busy.as_secs_f64();
        self.samples.push_back((now, media_s, busy_s));
        self.media_s += media_s;
        self.busy_s += busy_s;
        while let Some(&(at, m, b)) = self.samples.front() {
            if now.duration_since(at) <= self.window {
                break;
            }
            self.samples.pop_front();
            self.media_s -= m;
            self.busy_s -= b;
        }
    }

    /// Media seconds per busy second over the window; `None` before half a second
    /// of media was encoded in it.
    pub fn factor(&self) -> Option<f64> {
        (self.media_s >= MIN_MEDIA_S && self.busy_s > 0.0).then(|| self.media_s / self.busy_s)
    }
}

/// What to do with a source frame that waited `lag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Encode it.
    Keep,
    /// Drop the lowest rendition, then encode it.
    Shed,
    /// Skip the source up to its next key frame.
    Skip,
}

/// Decides [`Verdict`]s (see the module docs).
#[derive(Debug)]
pub struct Shedder {
    max_lag: Duration,
    calm_until: Option<Instant>,
}

impl Shedder {
    /// Sheds when a frame waited longer than `max_lag`.
    pub fn new(max_lag: Duration) -> Self {
        Self {
            max_lag,
            calm_until: None,
        }
    }

    /// The verdict for a frame that waited `lag`, at `now`, with `active`
    /// renditions being encoded.
    pub fn judge(&mut self, lag: Duration, now: Instant, active: usize) -> Verdict {
        if lag <= self.max_lag {
            return Verdict::Keep;
        }
        let calm = self.calm_until.is_some_and(|t| now < t);
        if lag > 2 * self.max_lag || (!calm && active <= 1) {
            return Verdict::Skip;
        }
        if calm {
            return Verdict::Keep;
        }
        self.calm_until = Some(now + self.max_lag);
        Verdict::Shed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_is_media_per_busy_second_over_the_window() {
        let t0 = Instant::now();
        let mut m = RealtimeMeter::new(Duration::from_secs(5));
        assert_eq!(m.factor(), None);
        // 30 fps, each picture takes 10 ms: 3.33x real time.
        for i in 0..60u32 {
            m.record(
                t0 + Duration::from_millis(u64::from(i) * 33),
                1.0 / 30.0,
                Duration::from_millis(10),
            );
        }
        let f = m.factor().unwrap();
        assert!((f - 10.0 / 3.0).abs() < 0.01, "{f}");
        // Later pictures are slow (50 ms each); the fast ones leave the window.
        for i in 0..300u32 {
            m.record(
                t0 + Duration::from_secs(2) + Duration::from_millis(u64::from(i) * 50),
                1.0 / 30.0,
                Duration::from_millis(50),
            );
        }
        let f = m.factor().unwrap();
        assert!((f - 2.0 / 3.0).abs() < 0.01, "{f}");
    }

    #[test]
    fn sheds_once_per_calm_period_then_skips() {
        let t0 = Instant::now();
        let s = |ms| Duration::from_millis(ms);
        let mut sh = Shedder::new(s(3000));
        assert_eq!(sh.judge(s(100), t0, 3), Verdict::Keep);
        assert_eq!(sh.judge(s(3001), t0, 3), Verdict::Shed);
        // Within the calm period: no second shed while the backlog drains ...
        assert_eq!(sh.judge(s(3500), t0 + s(1000), 2), Verdict::Keep);
        // ... unless the lag doubled: then skip to the next key frame.
        assert_eq!(sh.judge(s(6001), t0 + s(1500), 2), Verdict::Skip);
        // After it, a still-late frame sheds again.
        assert_eq!(sh.judge(s(3100), t0 + s(3001), 2), Verdict::Shed);
        // With one rendition left there is nothing to shed: skip.
        assert_eq!(sh.judge(s(3100), t0 + s(7000), 1), Verdict::Skip);
        assert_eq!(sh.judge(s(10), t0 + s(7100), 1), Verdict::Keep);
    }
}
