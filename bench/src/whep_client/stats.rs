//! What one viewer received: frame and byte counts, key frames, unrecovered
//! loss, the feedback it sent, and the caller's latency samples.
//!
//! [`ViewerStats`] is updated by the session ([`super::session`]) from str0m's
//! events and copied out by [`super::WhepViewer::stats`]; counters only grow, so
//! a window is the difference of two copies ([`ViewerStats::since`]).

use std::time::{Duration, Instant, SystemTime};

/// H.264 `nal_unit_type` of an IDR slice (ITU-T H.264 Table 7-1).
const NAL_IDR: u8 = 5;

/// A media kind this client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// H.264.
    Video,
    /// Opus.
    Audio,
}

/// One depacketized frame as it left str0m, given to the latency probe
/// ([`super::WhepOptions::latency_probe`]).
#[derive(Debug, Clone)]
pub struct Frame<'a> {
    /// Video or audio.
    pub track: Track,
    /// Whether this is an H.264 frame with an IDR slice.
    pub key: bool,
    /// The RTP timestamp (90 kHz video, 48 kHz audio), unwrapped by str0m.
    pub rtp_time: u64,
    /// When the first datagram of this frame was read from the socket.
    pub arrival: Instant,
    /// `arrival` on the wall clock (for comparison with a sender's clock).
    pub arrival_wall: SystemTime,
    /// The frame: Annex B for H.264 (start codes before every NAL unit), one
    /// Opus packet for audio.
    pub data: &'a [u8],
}

/// Summary of the latency samples the caller's probe returned.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyStats {
    /// Samples taken.
    pub count: u64,
    /// Sum of the samples.
    pub sum: Duration,
    /// Smallest sample.
    pub min: Option<Duration>,
    /// Largest sample.
    pub max: Option<Duration>,
}

impl LatencyStats {
    /// Adds one sample.
    pub fn record(&mut self, d: Duration) {
        self.count += 1;
        self.sum += d;
        self.min = Some(self.min.map_or(d, |m| m.min(d)));
        self.max = Some(self.max.map_or(d, |m| m.max(d)));
    }

    /// The mean, if any sample was taken.
    pub fn mean(&self) -> Option<Duration> {
        (self.count > 0).then(|| self.sum / self.count as u32)
    }
}

/// Counters of one viewer since its offer was made. Times are measured from
/// the moment the offer was created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewerStats {
    /// The WHEP POST's round trip (offer sent to answer read).
    pub answer_after: Option<Duration>,
    /// Time to `Event::Connected` (ICE and DTLS done).
    pub connected_after: Option<Duration>,
    /// Time to the first video frame.
    pub first_video_after: Option<Duration>,
    /// Time to the first H.264 frame with an IDR slice.
    pub first_key_frame_after: Option<Duration>,
    /// Time to the first audio frame.
    pub first_audio_after: Option<Duration>,
    /// Video frames received (depacketized access units).
    pub video_frames: u64,
    /// Of those, frames with an IDR slice.
    pub key_frames: u64,
    /// Audio frames (Opus packets) received.
    pub audio_frames: u64,
    /// Payload bytes of the video frames.
    pub video_bytes: u64,
    /// Payload bytes of the audio frames.
    pub audio_bytes: u64,
    /// UDP datagrams read from the socket (before `drop_every`).
    pub datagrams: u64,
    /// UDP bytes read from the socket.
    pub udp_bytes: u64,
    /// Datagrams thrown away by the `drop_every` knob.
    pub datagrams_dropped: u64,
    /// RTP packets never received, not even by retransmission: gaps in the
    /// sequence numbers of the frames str0m emitted, per track.
    pub packets_lost: u64,
    /// Frames str0m flagged as not contiguous with the one before (a gap it
    /// gave up waiting for).
    pub discontinuities: u64,
    /// Generic NACKs this viewer sent (str0m's own count).
    pub nacks_sent: u64,
    /// PLIs this viewer sent.
    pub plis_sent: u64,
    /// FIRs this viewer sent.
    pub firs_sent: u64,
    /// Samples of the caller's latency probe.
    pub latency: LatencyStats,
    /// Why the session ended, once it has.
    pub ended: Option<String>,
}

impl ViewerStats {
    /// Whether ICE and DTLS completed.
    pub fn connected(&self) -> bool {
        self.connected_after.is_some()
    }

    /// The counters gained from `earlier` to `self` (a window); times to
    /// events, `latency` and `ended` are those of `self`.
    pub fn since(&self, earlier: &ViewerStats) -> ViewerStats {
        ViewerStats {
            video_frames: self.video_frames - earlier.video_frames,
            key_frames: self.key_frames - earlier.key_frames,
            audio_frames: self.audio_frames - earlier.audio_frames,
            video_bytes: self.video_bytes - earlier.video_bytes,
            audio_bytes: self.audio_bytes - earlier.audio_bytes,
            datagrams: self.datagrams - earlier.datagrams,
            udp_bytes: self.udp_bytes - earlier.udp_bytes,
            datagrams_dropped: self.datagrams_dropped - earlier.datagrams_dropped,
            packets_lost: self.packets_lost - earlier.packets_lost,
            discontinuities: self.discontinuities - earlier.discontinuities,
            nacks_sent: self.nacks_sent.saturating_sub(earlier.nacks_sent),
            plis_sent: self.plis_sent.saturating_sub(earlier.plis_sent),
            firs_sent: self.firs_sent.saturating_sub(earlier.firs_sent),
            ..self.clone()
        }
    }
}

/// Whether an Annex B access unit holds an IDR slice.
pub fn is_h264_key_frame(annex_b: &[u8]) -> bool {
    nal_types(annex_b).any(|t| t == NAL_IDR)
}

/// The `nal_unit_type` of every NAL unit of an Annex B buffer (3- or 4-byte
/// start codes).
fn nal_types(b: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i + 3 < b.len() {
            if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
                i += 3;
                return Some(b[i] & 0x1f);
            }
            i += 1;
        }
        None
    })
}

/// Counts RTP sequence numbers missing between consecutive frames of one
/// track. str0m hands frames over in order with extended (64-bit) sequence
/// numbers, so a gap is exactly the packets it never got.
#[derive(Debug, Default, Clone, Copy)]
pub struct GapCounter {
    last: Option<u64>,
}

impl GapCounter {
    /// Takes the first and last sequence number of a frame; returns how many
    /// packets are missing before it.
    pub fn frame(&mut self, first: u64, last: u64) -> u64 {
        let lost = match self.last {
            Some(prev) if first > prev + 1 => first - prev - 1,
            _ => 0,
        };
        self.last = Some(self.last.map_or(last, |p| p.max(last)));
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_found_after_sps_pps_with_either_start_code() {
        let au = [
            0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88,
        ];
        assert!(is_h264_key_frame(&au));
        let p = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a];
        assert!(!is_h264_key_frame(&p));
        assert!(!is_h264_key_frame(&[]));
        assert!(!is_h264_key_frame(&[0, 0, 1]));
    }

    #[test]
    fn gaps_between_frames_are_lost_packets() {
        let mut g = GapCounter::default();
        assert_eq!(g.frame(100, 104), 0);
        assert_eq!(g.frame(105, 105), 0);
        assert_eq!(g.frame(109, 110), 3);
        // A late (already counted) frame does not count twice.
        assert_eq!(g.frame(107, 107), 0);
        assert_eq!(g.frame(111, 111), 0);
    }

    #[test]
    fn window_subtracts_counters() {
        let a = ViewerStats {
            video_frames: 10,
            packets_lost: 1,
            ..Default::default()
        };
        let mut b = a.clone();
        b.video_frames = 40;
        b.packets_lost = 3;
        b.latency.record(Duration::from_millis(5));
        b.latency.record(Duration::from_millis(15));
        let w = b.since(&a);
        assert_eq!((w.video_frames, w.packets_lost), (30, 2));
        assert_eq!(w.latency.mean(), Some(Duration::from_millis(10)));
        assert_eq!(w.latency.max, Some(Duration::from_millis(15)));
    }
}
