//! Depacketized WebRTC media → [`Track`]s and [`Frame`]s.
//!
//! - **Timelines.** RTP timestamps start at a random value per stream
//!   (RFC 3550 §5.1), so audio and video cannot be compared directly. Each track's
//!   first access unit is placed at its arrival time since the session began; later
//!   ones follow their RTP timestamps from there. The A/V offset is thus the
//!   difference in network delay of the two first packets (milliseconds on a
//!   healthy link), and the media keeps the sender's clock afterwards.
//! - **H.264** (RFC 6184): SPS and PPS from the stream make the `avcC` record
//!   (ISO/IEC 14496-15 §5.3.3); the track is (re)announced when they change. They
//!   and access unit delimiters leave the samples, which become length-prefixed.
//!   Nothing is emitted before the first IDR with parameter sets. WebRTC encoders
//!   send no B-frames, so `pts == dts`.
//! - **Opus** (RFC 7587): one packet per frame on a 48 kHz clock; the track is
//!   stereo (the SDP's `opus/48000/2`, RFC 7587 §7) with no pre-skip.

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use packager::codec::annex_b::nal_units;
use packager::codec::avc::AvcConfig;
use packager::codec::opus::OpusConfig;
use packager::media::{CodecConfig, Frame, MediaKind, Track};

/// RTP clock of H.264 (RFC 6184 §5.1).
const VIDEO_CLOCK: u64 = 90_000;
/// RTP clock of Opus (RFC 7587 §4.1).
const OPUS_CLOCK: u64 = 48_000;

/// What [`WhipFrames`] hands out, in order.
#[derive(Debug, Clone)]
pub enum WhipEvent {
    /// A track was announced or changed.
    Track(Track),
    /// An access unit.
    Frame(Frame),
}

/// What a WHIP session has delivered and refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WhipStats {
    /// Video access units passed on.
    pub video_frames: u64,
    /// Opus packets passed on.
    pub audio_frames: u64,
    /// Access units dropped while waiting for an IDR with SPS and PPS.
    pub waiting_for_keyframe: u64,
    /// Access units whose parameter sets could not be parsed, or empty ones.
    pub malformed: u64,
}

/// One track's mapping from RTP time to the session's timeline.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    /// RTP time of the first access unit.
    first_rtp: u64,
    /// Its place on the session's timeline, in the track's clock.
    first_ticks: i64,
    /// The last timestamp emitted, to keep the track monotonic.
    last: i64,
}

impl Timeline {
    fn start(rtp: u64, arrival: Instant, session_start: Instant, clock: u64) -> Self {
        let since = arrival.saturating_duration_since(session_start);
        let first_ticks = (since.as_secs_f64() * clock as f64) as i64;
        Self {
            first_rtp: rtp,
            first_ticks,
            last: first_ticks - 1,
        }
    }

    /// The timestamp of an access unit with RTP time `rtp` (strictly increasing:
    /// a repeated or backwards timestamp becomes last + 1).
    fn ticks(&mut self, rtp: u64) -> i64 {
        let t = self.first_ticks + (rtp as i64).wrapping_sub(self.first_rtp as i64);
        self.last = t.max(self.last + 1);
        self.last
    }
}

/// Turns one WHIP session's depacketized media into tracks and frames.
#[derive(Debug)]
pub struct WhipFrames {
    started: Instant,
    video: Option<Timeline>,
    audio: Option<Timeline>,
    avc: Option<AvcConfig>,
    sps: Option<Bytes>,
    pps: Option<Bytes>,
    opus_announced: bool,
    stats: WhipStats,
}

impl WhipFrames {
    /// A session that began (its offer was answered) at `started`.
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            video: None,
            audio: None,
            avc: None,
            sps: None,
            pps: None,
            opus_announced: false,
            stats: WhipStats::default(),
        }
    }

    /// What was delivered so far.
    pub fn stats(&self) -> WhipStats {
        self.stats
    }

    /// One H.264 access unit in Annex B with its RTP timestamp (90 kHz) and the
    /// arrival of its first packet.
    pub fn h264(
        &mut self,
        rtp: u64,
        arrival: Instant,
        annex_b: &[u8],
        out: &mut dyn FnMut(WhipEvent),
    ) {
        let mut body = BytesMut::with_capacity(annex_b.len() + 16);
        let mut idr = false;
        for unit in nal_units(annex_b) {
            // ITU-T H.264 Table 7-1: 5 IDR, 7 SPS, 8 PPS, 9 AUD.
            match unit[0] & 0x1f {
                7 => self.sps = Some(Bytes::copy_from_slice(unit)),
                8 => self.pps = Some(Bytes::copy_from_slice(unit)),
                9 => {}
                t => {
                    idr |= t == 5;
                    body.put_u32(unit.len() as u32);
                    body.put_slice(unit);
                }
            }
        }
        if idr {
            self.announce_avc(out);
        }
        if self.avc.is_none() {
            self.stats.waiting_for_keyframe += 1;
            return;
        }
        if body.is_empty() {
            self.stats.malformed += 1;
            return;
        }
        let started = self.started;
        let timeline = self
            .video
            .get_or_insert_with(|| Timeline::start(rtp, arrival, started, VIDEO_CLOCK));
        let t = timeline.ticks(rtp);
        self.stats.video_frames += 1;
        out(WhipEvent::Frame(Frame {
            kind: MediaKind::Video,
            track: 0,
            dts: t,
            pts: t,
            keyframe: idr,
            data: body.freeze(),
        }));
    }

    /// Announces the `avcC` built from the latest SPS and PPS if it changed.
    fn announce_avc(&mut self, out: &mut dyn FnMut(WhipEvent)) {
        let (Some(sps), Some(pps)) = (&self.sps, &self.pps) else {
            return;
        };
        if self
            .avc
            .as_ref()
            .is_some_and(|a| a.sps.first() == Some(sps) && a.pps.first() == Some(pps))
        {
            return;
        }
        match AvcConfig::from_parameter_sets(std::slice::from_ref(sps), std::slice::from_ref(pps)) {
            Ok(config) => {
                self.avc = Some(config.clone());
                out(WhipEvent::Track(Track {
                    id: 0,
                    codec: CodecConfig::H264(config),
                    timescale: VIDEO_CLOCK as u32,
                    language: None,
                    name: None,
                }));
            }
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// One Opus packet with its RTP timestamp (48 kHz) and arrival.
    pub fn opus(
        &mut self,
        rtp: u64,
        arrival: Instant,
        packet: &[u8],
        out: &mut dyn FnMut(WhipEvent),
    ) {
        if packet.is_empty() {
            self.stats.malformed += 1;
            return;
        }
        if !self.opus_announced {
            let Ok(config) = OpusConfig::from_channel_layout(2, 0, 0, &[]) else {
                self.stats.malformed += 1;
                return;
            };
            self.opus_announced = true;
            out(WhipEvent::Track(Track {
                id: 0,
                codec: CodecConfig::Opus(config),
                timescale: OPUS_CLOCK as u32,
                language: None,
                name: None,
            }));
        }
        let started = self.started;
        let timeline = self
            .audio
            .get_or_insert_with(|| Timeline::start(rtp, arrival, started, OPUS_CLOCK));
        let t = timeline.ticks(rtp);
        self.stats.audio_frames += 1;
        out(WhipEvent::Frame(Frame {
            kind: MediaKind::Audio,
            track: 0,
            dts: t,
            pts: t,
            keyframe: true,
            data: Bytes::copy_from_slice(packet),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Default)]
    struct Collect {
        tracks: Vec<Track>,
        frames: Vec<Frame>,
    }

    impl Collect {
        fn take(&mut self) -> impl FnMut(WhipEvent) + '_ {
            |e| match e {
                WhipEvent::Track(t) => self.tracks.push(t),
                WhipEvent::Frame(f) => self.frames.push(f),
            }
        }
    }

    // x264's SPS/PPS of a 64x64 High-profile picture.
    const SPS: [u8; 24] = [
        0x67, 0x64, 0x00, 0x0a, 0xac, 0xd9, 0x44, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04,
        0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x48, 0x96, 0x58,
    ];
    const PPS: [u8; 6] = [0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];

    fn annex_b(units: &[&[u8]]) -> Vec<u8> {
        units
            .iter()
            .flat_map(|u| [&[0u8, 0, 0, 1][..], u].concat())
            .collect()
    }

    #[test]
    fn waits_for_an_idr_then_emits_length_prefixed_samples() {
        let t0 = Instant::now();
        let mut w = WhipFrames::new(t0);
        let mut sink = Collect::default();
        w.h264(1000, t0, &annex_b(&[&[0x41, 0x9a]]), &mut sink.take());
        assert!(sink.frames.is_empty());
        assert_eq!(w.stats().waiting_for_keyframe, 1);
        let key = annex_b(&[&[0x09, 0xf0], &SPS, &PPS, &[0x65, 0x88, 0x84]]);
        w.h264(
            4000,
            t0 + Duration::from_millis(100),
            &key,
            &mut sink.take(),
        );
        w.h264(
            7000,
            t0 + Duration::from_millis(133),
            &annex_b(&[&[0x41, 0x9a]]),
            &mut sink.take(),
        );
        assert_eq!(sink.tracks.len(), 1);
        assert!(matches!(sink.tracks[0].codec, CodecConfig::H264(_)));
        assert_eq!(sink.frames.len(), 2);
        assert!(sink.frames[0].keyframe && !sink.frames[1].keyframe);
        assert_eq!(&sink.frames[0].data[..], &[0, 0, 0, 3, 0x65, 0x88, 0x84]);
        // Placed at its arrival (100 ms = 9000 ticks), then RTP spacing (3000).
        assert_eq!(sink.frames[0].pts, 9000);
        assert_eq!(sink.frames[1].pts, 12_000);
        // The same parameter sets again: no new announcement.
        w.h264(10_000, t0, &key, &mut sink.take());
        assert_eq!(sink.tracks.len(), 1);
    }

    #[test]
    fn opus_is_announced_once_and_timed_on_48_khz() {
        let t0 = Instant::now();
        let mut w = WhipFrames::new(t0);
        let mut sink = Collect::default();
        w.opus(
            u64::from(u32::MAX) - 100,
            t0 + Duration::from_millis(20),
            &[0xfc, 1, 2],
            &mut sink.take(),
        );
        w.opus(
            u64::from(u32::MAX) + 860,
            t0 + Duration::from_millis(40),
            &[0xfc, 3],
            &mut sink.take(),
        );
        w.opus(5, t0, &[], &mut sink.take());
        assert_eq!(sink.tracks.len(), 1);
        assert_eq!(sink.frames.len(), 2);
        assert_eq!(sink.frames[0].pts, 960);
        assert_eq!(sink.frames[1].pts, 1920);
        assert_eq!(w.stats().malformed, 1);
    }
}
