//! Timestamp repair for one track: 32-bit wrap extension and strictly monotonic
//! decode timestamps.
//!
//! RTMP timestamps are 32-bit milliseconds (RTMP spec §5.3.1.2.1, §5.3.1.3) and
//! wrap after about 49.7 days. [`WrapExtender`] turns them into an `i64` timeline
//! by taking the signed 32-bit difference to the previous value, so a forward wrap
//! (0xFFFF_FFF0 → 0x10) continues upward and a small backward step stays small.
//!
//! Some encoders (OBS with NVENC, notably) send decode timestamps that go backwards
//! or repeat by a millisecond or two. CMAF needs strictly increasing DTS per track,
//! so [`DtsRepair`] clamps each DTS to at least previous + 1. When the frame had
//! `pts >= dts`, the PTS is raised with it if needed so it stays `>= dts`; a frame
//! that signalled a negative composition offset (pts < dts) keeps its PTS.

/// Extends 32-bit wrapping timestamps to 64 bits.
#[derive(Debug, Clone, Default)]
pub struct WrapExtender {
    last: Option<(u32, i64)>,
}

impl WrapExtender {
    /// A fresh timeline; the first timestamp maps to itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// The 64-bit value of `ts`.
    pub fn extend(&mut self, ts: u32) -> i64 {
        let value = match self.last {
            None => i64::from(ts),
            Some((raw, abs)) => abs + i64::from(ts.wrapping_sub(raw) as i32),
        };
        self.last = Some((ts, value));
        value
    }
}

/// Makes DTS strictly increasing, keeping `pts >= dts` where the source had it.
#[derive(Debug, Clone, Default)]
pub struct DtsRepair {
    last_dts: Option<i64>,
    repaired: u64,
}

impl DtsRepair {
    /// No frame seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The repaired `(dts, pts)` of a frame.
    pub fn repair(&mut self, dts: i64, pts: i64) -> (i64, i64) {
        let (mut new_dts, mut new_pts) = (dts, pts);
        if let Some(last) = self.last_dts {
            if dts <= last {
                new_dts = last + 1;
                self.repaired += 1;
                if pts >= dts {
                    new_pts = pts.max(new_dts);
                }
            }
        }
        self.last_dts = Some(new_dts);
        (new_dts, new_pts)
    }

    /// How many frames had their DTS moved (for logs).
    pub fn repaired(&self) -> u64 {
        self.repaired
    }
}

/// Both repairs for one track, applied to raw RTMP timestamps.
#[derive(Debug, Clone, Default)]
pub struct TrackClock {
    wrap: WrapExtender,
    dts: DtsRepair,
}

impl TrackClock {
    /// A fresh clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// `(dts, pts)` in ms for a frame with RTMP timestamp `ts` and composition
    /// offset `cts`.
    pub fn stamp(&mut self, ts: u32, cts: i32) -> (i64, i64) {
        let dts = self.wrap.extend(ts);
        self.dts.repair(dts, dts + i64::from(cts))
    }

    /// How many frames needed a DTS repair.
    pub fn repaired(&self) -> u64 {
        self.dts.repaired()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_continues_upward_and_small_steps_back_stay_small() {
        let mut w = WrapExtender::new();
        assert_eq!(w.extend(0xFFFF_FF00), 0xFFFF_FF00);
        assert_eq!(w.extend(0xFFFF_FFF0), 0xFFFF_FFF0);
        assert_eq!(w.extend(0x10), 0x1_0000_0010);
        assert_eq!(w.extend(0xFFFF_FFFA), 0xFFFF_FFFA); // late frame from before the wrap
        assert_eq!(w.extend(0x50), 0x1_0000_0050);
        assert_eq!(w.extend(0x8000_0000), 0x1_8000_0000);
    }

    #[test]
    fn non_monotonic_dts_is_clamped_and_pts_kept_at_or_after_dts() {
        let mut r = DtsRepair::new();
        assert_eq!(r.repair(100, 166), (100, 166));
        assert_eq!(r.repair(133, 133), (133, 133));
        assert_eq!(r.repair(133, 200), (134, 200)); // repeated DTS
        assert_eq!(r.repair(120, 120), (135, 135)); // backwards, pts raised to dts
        assert_eq!(r.repair(200, 266), (200, 266));
        assert_eq!(r.repaired(), 2);
    }

    #[test]
    fn negative_composition_offsets_are_kept() {
        let mut r = DtsRepair::new();
        assert_eq!(r.repair(0, -33), (0, -33));
        assert_eq!(r.repair(33, 0), (33, 0));
        assert_eq!(r.repair(33, 10), (34, 10)); // clamped dts, signalled pts < dts kept
    }

    #[test]
    fn track_clock_across_wrap() {
        let mut c = TrackClock::new();
        assert_eq!(
            c.stamp(u32::MAX - 10, 0),
            (i64::from(u32::MAX) - 10, i64::from(u32::MAX) - 10)
        );
        let (dts, pts) = c.stamp(23, 40);
        assert_eq!(dts, (1i64 << 32) + 23);
        assert_eq!(pts, dts + 40);
    }
}
