//! One viewer's WebRTC state without sockets or clock: a str0m [`Rtc`] (the
//! controlling ICE agent, not ice-lite) with recvonly H.264 and Opus
//! transceivers, and the [`ViewerStats`] it feeds.
//!
//! Drive order (str0m's contract): after [`Session::handle_datagram`] or
//! [`Session::handle_timeout`], call [`Session::poll`] to send what it wants
//! sent; `poll` returns the next deadline for `handle_timeout`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

use super::error::WhepError;
use super::options::{LatencyProbe, WhepOptions};
use super::stats::{is_h264_key_frame, Frame, GapCounter, Track, ViewerStats};

/// First dynamic payload type used for H.264 (each profile takes two: media
/// and RTX).
const H264_PT_BASE: u8 = 102;

/// When nothing is scheduled.
const FAR: Duration = Duration::from_secs(3600);

/// What [`Session::poll`] saw that the driver may want to publish at once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Milestones {
    /// Connected, first frame, first key frame or ended happened.
    pub changed: bool,
}

/// One viewer's str0m instance and counters.
pub struct Session {
    rtc: Rtc,
    local: SocketAddr,
    video: Option<Mid>,
    audio: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    started: Instant,
    started_wall: SystemTime,
    /// The time of the latest input.
    now: Instant,
    stats: ViewerStats,
    video_gaps: GapCounter,
    audio_gaps: GapCounter,
    /// Latest cumulative (nacks, plis, firs) per media.
    feedback: HashMap<Mid, (u64, u64, u64)>,
    drop_every: u64,
    read_after_connect: u64,
    pli_pending: bool,
    probe: Option<LatencyProbe>,
    milestones: Milestones,
}

impl Session {
    /// A new session whose host candidate is `local` (the bound socket);
    /// returns it and the complete (non-trickle) SDP offer.
    pub fn new(
        opts: &WhepOptions,
        local: SocketAddr,
        now: Instant,
    ) -> Result<(Self, String), WhepError> {
        super::install_crypto();
        let mut cfg = RtcConfig::new()
            .clear_codecs()
            .set_stats_interval(Some(opts.stats_interval));
        if opts.audio {
            cfg = cfg.enable_opus(true, false);
        }
        for (i, profile) in opts.h264_profiles.iter().enumerate() {
            let pt = H264_PT_BASE + 2 * i as u8;
            cfg.codec_config().add_h264(
                Pt::new_with_value(pt),
                Some(Pt::new_with_value(pt + 1)),
                true,
                *profile,
            );
        }
        let mut rtc = cfg.build(now);
        let candidate = Candidate::host(local, "udp")
            .map_err(|e| WhepError::Answer(format!("host candidate {local}: {e}")))?;
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let video = opts
            .video
            .then(|| api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None));
        let audio = opts
            .audio
            .then(|| api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None));
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| WhepError::Answer("nothing to offer".into()))?;
        let session = Session {
            rtc,
            local,
            video,
            audio,
            pending: Some(pending),
            started: now,
            started_wall: SystemTime::now(),
            now,
            stats: ViewerStats::default(),
            video_gaps: GapCounter::default(),
            audio_gaps: GapCounter::default(),
            feedback: HashMap::new(),
            drop_every: opts.drop_every,
            read_after_connect: 0,
            pli_pending: opts.pli_on_start && opts.video,
            probe: opts.latency_probe.clone(),
            milestones: Milestones::default(),
        };
        Ok((session, offer.to_sdp_string()))
    }

    /// Applies the server's answer; `now` is when it arrived.
    pub fn accept_answer(&mut self, answer: &str, now: Instant) -> Result<(), WhepError> {
        let pending = self
            .pending
            .take()
            .ok_or_else(|| WhepError::Answer("answer already applied".into()))?;
        let answer =
            SdpAnswer::from_sdp_string(answer).map_err(|e| WhepError::Answer(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| WhepError::Answer(e.to_string()))?;
        self.stats.answer_after = Some(now - self.started);
        Ok(())
    }

    /// Feeds one datagram read at `now` from `source`. Returns false when it
    /// was dropped (the `drop_every` knob, or not a WebRTC datagram).
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) -> bool {
        self.now = now;
        self.stats.datagrams += 1;
        self.stats.udp_bytes += data.len() as u64;
        if self.stats.connected_after.is_some() && self.drop_every > 0 {
            self.read_after_connect += 1;
            if self.read_after_connect.is_multiple_of(self.drop_every) {
                self.stats.datagrams_dropped += 1;
                return false;
            }
        }
        let Ok(contents) = data.try_into() else {
            return false;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if let Err(e) = self.rtc.handle_input(input) {
            self.end(format!("str0m: {e}"));
        }
        true
    }

    /// A deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            self.end(format!("str0m: {e}"));
        }
    }

    /// Starts a clean shutdown (RTCP BYE, DTLS close_notify); keep polling to
    /// send it.
    pub fn close(&mut self) {
        let _ = self.rtc.close();
    }

    /// Drains str0m's output: datagrams go to `send(destination, bytes)`,
    /// events update the stats. Returns the next deadline.
    pub fn poll(&mut self, mut send: impl FnMut(SocketAddr, &[u8])) -> Instant {
        self.request_pli_if_pending();
        loop {
            if !self.rtc.is_alive() {
                if self.stats.ended.is_none() {
                    self.end("closed".into());
                }
                return self.started + FAR * 24;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return t,
                Ok(Output::Transmit(t)) => send(t.destination, &t.contents),
                Ok(Output::Event(e)) => self.handle_event(e),
                Err(e) => {
                    self.end(format!("str0m: {e}"));
                    self.rtc.disconnect();
                }
            }
        }
    }

    /// Whether the session still runs.
    pub fn is_alive(&self) -> bool {
        self.rtc.is_alive() && self.stats.ended.is_none()
    }

    /// The counters so far.
    pub fn stats(&self) -> &ViewerStats {
        &self.stats
    }

    /// Whether a milestone happened since the last call.
    pub fn take_milestones(&mut self) -> Milestones {
        std::mem::take(&mut self.milestones)
    }

    fn end(&mut self, why: String) {
        if self.stats.ended.is_none() {
            self.stats.ended = Some(why);
            self.milestones.changed = true;
        }
    }

    fn request_pli_if_pending(&mut self) {
        if !self.pli_pending || self.stats.connected_after.is_none() {
            return;
        }
        let Some(mid) = self.video else { return };
        if let Some(rx) = self.rtc.direct_api().stream_rx_by_mid(mid, None) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
            self.pli_pending = false;
        }
    }

    fn handle_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.stats.connected_after = Some(self.elapsed(self.now));
                self.milestones.changed = true;
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.end("ICE disconnected".into());
                self.rtc.disconnect();
            }
            Event::Closed => self.end("closed by the server".into()),
            Event::MediaData(d) => self.media_data(d),
            Event::MediaIngressStats(s) => {
                self.feedback.insert(s.mid, (s.nacks, s.plis, s.firs));
                let sum = self
                    .feedback
                    .values()
                    .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
                self.stats.nacks_sent = sum.0;
                self.stats.plis_sent = sum.1;
                self.stats.firs_sent = sum.2;
            }
            _ => {}
        }
    }

    fn media_data(&mut self, d: MediaData) {
        let track = if Some(d.mid) == self.video && d.params.spec().codec == Codec::H264 {
            Track::Video
        } else if Some(d.mid) == self.audio {
            Track::Audio
        } else {
            return;
        };
        let at = self.elapsed(d.network_time);
        let first = **d.seq_range.start();
        let last = **d.seq_range.end();
        if !d.contiguous {
            self.stats.discontinuities += 1;
        }
        let mut key = false;
        match track {
            Track::Video => {
                self.stats.packets_lost += self.video_gaps.frame(first, last);
                key = is_h264_key_frame(&d.data);
                self.stats.video_frames += 1;
                self.stats.video_bytes += d.data.len() as u64;
                if self.stats.first_video_after.is_none() {
                    self.stats.first_video_after = Some(at);
                    self.milestones.changed = true;
                }
                if key {
                    self.stats.key_frames += 1;
                    if self.stats.first_key_frame_after.is_none() {
                        self.stats.first_key_frame_after = Some(at);
                        self.milestones.changed = true;
                    }
                }
            }
            Track::Audio => {
                self.stats.packets_lost += self.audio_gaps.frame(first, last);
                self.stats.audio_frames += 1;
                self.stats.audio_bytes += d.data.len() as u64;
                if self.stats.first_audio_after.is_none() {
                    self.stats.first_audio_after = Some(at);
                    self.milestones.changed = true;
                }
            }
        }
        if let Some(probe) = &self.probe {
            let frame = Frame {
                track,
                key,
                rtp_time: d.time.numer(),
                arrival: d.network_time,
                arrival_wall: self.started_wall + at,
                data: &d.data,
            };
            if let Some(sample) = probe(&frame) {
                self.stats.latency.record(sample);
            }
        }
    }

    fn elapsed(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.started)
    }
}
