//! A WHIP publisher (RFC 9725): its depacketized media goes through
//! [`ingest::whip::WhipFrames`] into the channel's sink, the same one RTMP and SRT
//! feed, so LL-HLS, DASH, WHEP, the ladder and recording all work from it.
//!
//! Browsers' encoders make key frames only when asked, so the publisher gets a
//! PLI (RFC 4585 §6.3.1) every `[webrtc] whip_keyframe_interval_s` for the
//! segmenter to cut on, and whenever a viewer asks for one (at most one per
//! [`MIN_PLI_GAP`]).

use std::time::{Duration, Instant};

use ingest::publish::MediaSink;
use ingest::whip::WhipFrames;
use str0m::media::{KeyframeRequestKind, MediaData, MediaKind};
use str0m::Rtc;

use super::aac_sidecar::{self, AacSidecar};
use super::offer::Negotiated;

/// Viewers' key frame requests are forwarded at most this often.
pub const MIN_PLI_GAP: Duration = Duration::from_millis(500);

/// One publisher's state.
pub struct Publisher {
    sink: Box<dyn MediaSink>,
    frames: WhipFrames,
    video: Option<Negotiated>,
    keyframe_interval: Duration,
    last_pli: Option<Instant>,
    /// `[webrtc] whip_aac`: the AAC bit rate, when on.
    aac_bitrate: Option<u32>,
    aac: Option<AacSidecar>,
}

impl Publisher {
    /// A publisher feeding `sink`; the session began at `started`.
    pub fn new(
        sink: Box<dyn MediaSink>,
        video: Option<Negotiated>,
        keyframe_interval: Duration,
        aac_bitrate: Option<u32>,
        started: Instant,
    ) -> Self {
        Self {
            sink,
            frames: WhipFrames::new(started),
            video,
            keyframe_interval,
            last_pli: None,
            aac_bitrate,
            aac: None,
        }
    }

    /// One depacketized access unit from str0m.
    pub fn media(&mut self, data: &MediaData) {
        let rtp = data.time.numer();
        let Self {
            sink,
            frames,
            aac,
            aac_bitrate,
            ..
        } = self;
        let mut out = |e| aac_sidecar::pass(e, sink.as_mut(), aac, *aac_bitrate);
        match data.params.spec().codec.kind() {
            MediaKind::Video => frames.h264(rtp, data.network_time, &data.data, &mut out),
            MediaKind::Audio => frames.opus(rtp, data.network_time, &data.data, &mut out),
        }
        self.drain_aac();
    }

    /// Passes the AAC thread's output on (also called from the loop's tick).
    pub fn drain_aac(&mut self) {
        if let Some(aac) = self.aac.as_mut() {
            aac.drain(self.sink.as_mut());
        }
    }

    /// Whether the operator kicked this publisher.
    pub fn kicked(&self) -> bool {
        self.sink.kicked()
    }

    /// Asks for a key frame if the interval has passed, or `now` if `urgent` (a
    /// viewer asked) and the last request is [`MIN_PLI_GAP`] old.
    pub fn maybe_request_keyframe(&mut self, rtc: &mut Rtc, urgent: bool, now: Instant) {
        let Some(video) = self.video else {
            return;
        };
        let due = match self.last_pli {
            None => true,
            Some(last) if urgent => now.duration_since(last) >= MIN_PLI_GAP,
            Some(last) => now.duration_since(last) >= self.keyframe_interval,
        };
        if !due {
            return;
        }
        if let Some(mut writer) = rtc.writer(video.mid) {
            if writer.is_request_keyframe_possible(KeyframeRequestKind::Pli)
                && writer
                    .request_keyframe(None, KeyframeRequestKind::Pli)
                    .is_ok()
            {
                self.last_pli = Some(now);
            }
        }
    }

    /// When the next periodic key frame request is due.
    pub fn next_keyframe_due(&self) -> Option<Instant> {
        self.video?;
        Some(self.last_pli? + self.keyframe_interval)
    }

    /// The publisher is gone: the channel enters its reconnect grace.
    pub fn end(&mut self) {
        let stats = self.frames.stats();
        tracing::info!(
            channel = %self.sink.channel(),
            video_frames = stats.video_frames,
            audio_frames = stats.audio_frames,
            waiting_for_keyframe = stats.waiting_for_keyframe,
            malformed = stats.malformed,
            aac_dropped = self.aac.as_ref().map_or(0, |a| a.dropped),
            "WHIP publisher ended"
        );
        self.drain_aac();
        self.sink.end();
    }
}
