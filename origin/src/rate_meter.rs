//! Ingest bitrate of a channel: bytes per one-second bucket over the last few
//! seconds (sans-IO: time is an input).

/// Complete seconds averaged.
pub const WINDOW_S: u64 = 4;
const BUCKETS: usize = WINDOW_S as usize + 1;

/// Bytes seen per second, for the last [`WINDOW_S`] complete seconds.
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    /// (second, bytes) per slot; a slot is reused when its second is over.
    buckets: [(u64, u64); BUCKETS],
}

impl RateMeter {
    /// `bytes` arrived at `now_ms`.
    pub fn add(&mut self, bytes: u64, now_ms: u64) {
        let second = now_ms / 1000;
        let slot = &mut self.buckets[(second % BUCKETS as u64) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 += bytes;
    }

    /// Average bits per second over the [`WINDOW_S`] complete seconds before
    /// `now_ms` (0 when nothing arrived).
    pub fn bits_per_second(&self, now_ms: u64) -> u64 {
        let current = now_ms / 1000;
        let bytes: u64 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s < current && current - *s <= WINDOW_S)
            .map(|(_, b)| b)
            .sum();
        bytes * 8 / WINDOW_S
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_reads_as_its_bitrate_and_silence_as_zero() {
        let mut m = RateMeter::default();
        // 250 kB/s = 2 Mbit/s, in 10 chunks per second, for 10 s.
        for ms in (0..10_000).step_by(100) {
            m.add(25_000, ms);
        }
        assert_eq!(m.bits_per_second(10_000), 2_000_000);
        assert_eq!(
            m.bits_per_second(9_500),
            2_000_000,
            "the current second is not counted"
        );
        assert_eq!(
            m.bits_per_second(12_000),
            1_000_000,
            "two of four seconds empty"
        );
        assert_eq!(m.bits_per_second(20_000), 0);
    }
}
