//! 33-bit PTS/DTS unwrapping (ISO/IEC 13818-1 §2.4.3.7): the clock wraps every
//! 2^33 ticks of 90 kHz (about 26.5 hours).

/// Ticks per second.
pub const CLOCK_HZ: u64 = 90_000;
const WRAP: u64 = 1 << 33;
/// A jump larger than this (forward or back) is a discontinuity, not a wrap.
pub const JUMP_TICKS: u64 = 10 * CLOCK_HZ;

/// Turns 33-bit timestamps into a monotonic 64-bit timeline: each value is placed
/// in the 2^33 epoch that puts it nearest the previous one.
#[derive(Debug, Default, Clone)]
pub struct Unwrapper {
    last: Option<u64>,
}

impl Unwrapper {
    /// The unwrapped value of `raw`, and whether it jumped by more than
    /// [`JUMP_TICKS`] from the previous one.
    pub fn unwrap(&mut self, raw: u64) -> (u64, bool) {
        let raw = raw & (WRAP - 1);
        let Some(last) = self.last else {
            self.last = Some(raw);
            return (raw, false);
        };
        let epoch = last / WRAP;
        let value = [epoch.checked_sub(1), Some(epoch), Some(epoch + 1)]
            .into_iter()
            .flatten()
            .map(|e| e * WRAP + raw)
            .min_by_key(|c| c.abs_diff(last))
            .unwrap_or(raw);
        self.last = Some(value);
        (value, value.abs_diff(last) > JUMP_TICKS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_forward_without_a_jump() {
        let mut u = Unwrapper::default();
        assert_eq!(u.unwrap(WRAP - 3_000), (WRAP - 3_000, false));
        assert_eq!(u.unwrap(WRAP - 1), (WRAP - 1, false));
        assert_eq!(u.unwrap(2_999), (WRAP + 2_999, false));
        assert_eq!(u.unwrap(6_000), (WRAP + 6_000, false));
    }

    #[test]
    fn a_big_jump_is_reported() {
        let mut u = Unwrapper::default();
        u.unwrap(1_000_000);
        assert!(!u.unwrap(1_003_000).1);
        assert!(u.unwrap(50_000_000).1, "forward jump");
        assert!(u.unwrap(1_000).1, "backward jump");
    }
}
