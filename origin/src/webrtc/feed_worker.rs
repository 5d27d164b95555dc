//! The feed thread of one publish session: the channel's default video and audio
//! tracks in, [`RtcSample`]s and [`StreamInfo`] out to the media loop.
//!
//! - H.264 without B-frames passes through (Annex B, parameter sets before IDRs).
//! - H.264 with B-frames (a frame with `pts != dts`): WebRTC has no decode order
//!   (RTP timestamps are presentation times, RFC 6184 §5.1), so players stutter.
//!   With `[webrtc] bframes = "reencode"` the feed re-encodes without B-frames
//!   while anybody watches; with `"refuse"` WHEP answers 409.
//! - Opus passes through; AAC is transcoded to Opus once for all viewers, while
//!   anybody watches.
//! - AV1 passes through (the sequence header OBU before every key frame).
//! - Other codecs (HEVC, VP9) are refused with a clear reason.
//!
//! Timestamps: one [`MediaClock`] per session maps media time to `Instant`s, the
//! same for audio and video, so RTCP sender reports keep them in sync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use packager::codec::av1::Av1Config;
use packager::codec::avc::AvcConfig;
use packager::media::{CodecConfig, Frame, MediaKind, Track};
use tokio::sync::mpsc;

use super::feed::ChannelShared;
use super::loop_input::{FeedItem, LoopInput, StreamInfo, VideoOut};
use super::sample::{self, RtcSample, SampleKind};
use super::transcoding::{AudioToOpus, VideoWithoutBframes};
use crate::config::BframePolicy;

/// RTP clock of video (RFC 6184 §5.1).
const VIDEO_CLOCK: u32 = 90_000;
/// RTP clock of Opus (RFC 7587 §4.1).
const OPUS_CLOCK: u32 = 48_000;

/// `[webrtc]` settings the feed threads use.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// What to do with B-frames.
    pub bframes: BframePolicy,
    /// x264 preset of the B-frame re-encode.
    pub reencode_preset: String,
    /// Bit rate of the B-frame re-encode, kbit/s.
    pub reencode_bitrate_kbps: u32,
    /// Opus bit rate for AAC sources, bit/s.
    pub opus_bitrate: u32,
}

/// What ingest hands the feed thread.
pub enum TapEvent {
    /// A track was announced or changed.
    Track(Track),
    /// One frame.
    Frame(Frame),
}

/// Maps media time to the origin's clock: the first frame's time is "now", later
/// times follow at media speed.
#[derive(Debug, Default)]
struct MediaClock {
    anchor: Option<(f64, Instant)>,
}

impl MediaClock {
    fn at(&mut self, seconds: f64) -> Instant {
        let (t0, i0) = *self.anchor.get_or_insert((seconds, Instant::now()));
        let offset = seconds - t0;
        if offset >= 0.0 {
            i0 + Duration::from_secs_f64(offset.min(1e6))
        } else {
            i0.checked_sub(Duration::from_secs_f64((-offset).min(1e6)))
                .unwrap_or(i0)
        }
    }
}

/// How the session's video reaches WebRTC.
enum VideoPath {
    /// H.264 without B-frames (so far).
    Passthrough(AvcConfig),
    /// AV1, as is (no reordering in AV1's RTP mapping to worry about: frames
    /// arrive in decode order and hidden frames are shown by later ones).
    Av1(Av1Config),
    /// H.264 with B-frames, re-encoded while watched.
    Reencode {
        source: Track,
        encoder: Option<Box<VideoWithoutBframes>>,
    },
    /// Not sent (the reason is in [`StreamInfo::refusal`]).
    Refused,
}

/// How the session's audio reaches WebRTC.
enum AudioPath {
    /// Opus, as is.
    Passthrough { timescale: u32 },
    /// AAC, transcoded while watched.
    Transcode {
        source: Track,
        transcoder: Option<Box<AudioToOpus>>,
    },
    /// Not sent.
    Dropped,
}

/// One publish session's feed thread.
pub struct FeedWorker {
    channel: Arc<str>,
    /// Unique per publish session (see [`LoopInput::Feed`]).
    feed: u64,
    shared: Arc<ChannelShared>,
    to_loop: mpsc::Sender<LoopInput>,
    settings: Arc<FeedSettings>,
    clock: MediaClock,
    video_track: Option<Track>,
    video: Option<VideoPath>,
    audio: Option<AudioPath>,
    info: StreamInfo,
    info_sent: Option<StreamInfo>,
}

impl FeedWorker {
    /// A feed for `channel` sending to the loop.
    pub fn new(
        channel: Arc<str>,
        shared: Arc<ChannelShared>,
        to_loop: mpsc::Sender<LoopInput>,
        settings: Arc<FeedSettings>,
    ) -> Self {
        static NEXT_FEED: AtomicU64 = AtomicU64::new(1);
        Self {
            channel,
            feed: NEXT_FEED.fetch_add(1, Ordering::Relaxed),
            shared,
            to_loop,
            settings,
            clock: MediaClock::default(),
            video_track: None,
            video: None,
            audio: None,
            info: StreamInfo::default(),
            info_sent: None,
        }
    }

    /// Runs until ingest drops its tap.
    pub fn run(mut self, rx: Receiver<TapEvent>) {
        while let Ok(event) = rx.recv() {
            match event {
                TapEvent::Track(track) => self.track(track),
                TapEvent::Frame(frame) => self.frame(frame),
            }
            self.publish_info();
        }
        self.send(FeedItem::Ended);
    }

    fn track(&mut self, track: Track) {
        // The default tracks (id 0) only: WebRTC viewers get one of each kind.
        if track.id != 0 {
            return;
        }
        match &track.codec {
            CodecConfig::H264(config) => {
                self.info.video = Some(VideoOut::H264 {
                    profile_level_id: sample::profile_level_id(config),
                });
                self.info.refusal = None;
                self.video = Some(VideoPath::Passthrough(config.clone()));
                self.video_track = Some(track);
            }
            CodecConfig::Av1(config) => {
                self.info.video = Some(VideoOut::Av1);
                self.info.refusal = None;
                self.video = Some(VideoPath::Av1(config.clone()));
                self.video_track = Some(track);
            }
            CodecConfig::H265(_) | CodecConfig::Vp9(_) => {
                self.info.video = None;
                self.info.refusal = Some(format!(
                    "the channel's video is {}; WebRTC viewers get H.264 or AV1",
                    track.codec.codec_string()
                ));
                self.video = Some(VideoPath::Refused);
                self.video_track = None;
            }
            CodecConfig::Opus(config) => {
                self.info.opus_channels = Some(config.channels.clamp(1, 2));
                self.audio = Some(AudioPath::Passthrough {
                    timescale: track.timescale,
                });
            }
            CodecConfig::Aac(_) => {
                self.info.opus_channels = Some(2);
                self.audio = Some(AudioPath::Transcode {
                    source: track,
                    transcoder: None,
                });
            }
        }
    }

    fn frame(&mut self, frame: Frame) {
        if frame.track != 0 {
            return;
        }
        match frame.kind {
            MediaKind::Video => self.video_frame(frame),
            MediaKind::Audio => self.audio_frame(frame),
        }
    }

    fn video_frame(&mut self, frame: Frame) {
        let Some(track) = &self.video_track else {
            return;
        };
        let timescale = track.timescale;
        if frame.pts != frame.dts {
            self.bframes_seen();
        }
        let watched = self.shared.watched();
        match &mut self.video {
            Some(VideoPath::Passthrough(config)) => {
                let keyframe = frame.keyframe || sample::is_idr(config, &frame.data);
                let data = sample::annex_b_access_unit(config, &frame.data, keyframe);
                let s = self.video_sample(frame.pts, timescale, keyframe, data);
                self.send(FeedItem::Sample(Arc::new(s)));
            }
            Some(VideoPath::Av1(config)) => {
                let data = sample::av1_temporal_unit(config, &frame.data, frame.keyframe);
                let s = self.video_sample(frame.pts, timescale, frame.keyframe, data);
                self.send(FeedItem::Sample(Arc::new(s)));
            }
            Some(VideoPath::Reencode { source, encoder }) => {
                if !watched {
                    *encoder = None;
                    return;
                }
                if encoder.is_none() {
                    // The decoder needs a key frame to start.
                    if !frame.keyframe {
                        return;
                    }
                    match VideoWithoutBframes::new(source, &self.settings) {
                        Ok(e) => *encoder = Some(Box::new(e)),
                        Err(e) => {
                            tracing::error!(channel = %self.channel, error = %e, "cannot start the B-frame re-encode for WebRTC");
                            self.video = Some(VideoPath::Refused);
                            self.info.video = None;
                            self.info.refusal = Some(format!(
                                "cannot re-encode this channel's video without B-frames: {e}"
                            ));
                            return;
                        }
                    }
                }
                let Some(e) = encoder else { return };
                if self.shared.keyframe_wanted.swap(false, Ordering::Relaxed) {
                    e.request_keyframe();
                }
                let mut out = Vec::new();
                if let Err(err) = e.push(&frame, &mut |f| out.push(f)) {
                    tracing::warn!(channel = %self.channel, error = %err, "B-frame re-encode: frame skipped");
                }
                for (pts, timescale, keyframe, data) in out {
                    let s = self.video_sample(pts, timescale, keyframe, data);
                    self.send(FeedItem::Sample(Arc::new(s)));
                }
            }
            Some(VideoPath::Refused) | None => {}
        }
    }

    /// The source turned out to have B-frames: switch to the configured policy.
    fn bframes_seen(&mut self) {
        if !matches!(self.video, Some(VideoPath::Passthrough(_))) {
            return;
        }
        let Some(track) = self.video_track.clone() else {
            return;
        };
        match self.settings.bframes {
            BframePolicy::Reencode => {
                tracing::info!(channel = %self.channel, "source has B-frames: WebRTC viewers get a re-encode without them");
                // x264 High profile at the source's level (str0m matches the profile;
                // levels may differ, RFC 6184 §8.2.2).
                let source = self.info.video.and_then(VideoOut::h264_profile_level_id);
                self.info.video = Some(VideoOut::H264 {
                    profile_level_id: 0x64_00_00 | (source.unwrap_or(0) & 0xff),
                });
                self.video = Some(VideoPath::Reencode {
                    source: track,
                    encoder: None,
                });
            }
            BframePolicy::Refuse => {
                tracing::info!(channel = %self.channel, "source has B-frames: WHEP refused ([webrtc] bframes = \"refuse\")");
                self.info.video = None;
                self.info.refusal = Some(
                    "the channel's video has B-frames, which stutter in WebRTC players; publish without B-frames (x264: bframes=0, OBS: profile baseline) or watch over LL-HLS".into(),
                );
                self.video = Some(VideoPath::Refused);
            }
        }
    }

    fn video_sample(
        &mut self,
        pts: i64,
        timescale: u32,
        keyframe: bool,
        data: Vec<u8>,
    ) -> RtcSample {
        RtcSample {
            kind: SampleKind::Video,
            rtp_time: sample::rtp_ticks(pts, timescale, VIDEO_CLOCK),
            wallclock: self.clock.at(pts as f64 / f64::from(timescale.max(1))),
            keyframe,
            data: data.into(),
        }
    }

    fn audio_frame(&mut self, frame: Frame) {
        let watched = self.shared.watched();
        let mut out: Vec<(i64, u32, Vec<u8>)> = Vec::new();
        match &mut self.audio {
            Some(AudioPath::Passthrough { timescale }) => {
                out.push((frame.pts, *timescale, frame.data.to_vec()));
            }
            Some(AudioPath::Transcode { source, transcoder }) => {
                if !watched {
                    *transcoder = None;
                    return;
                }
                if transcoder.is_none() {
                    match AudioToOpus::new(source, self.settings.opus_bitrate) {
                        Ok(t) => *transcoder = Some(Box::new(t)),
                        Err(e) => {
                            tracing::error!(channel = %self.channel, error = %e, "cannot start the AAC to Opus transcoder for WebRTC");
                            self.audio = Some(AudioPath::Dropped);
                            self.info.opus_channels = None;
                            return;
                        }
                    }
                }
                if let Some(t) = transcoder {
                    if let Err(e) = t.push(&frame, &mut |pts, timescale, data| {
                        out.push((pts, timescale, data))
                    }) {
                        tracing::debug!(channel = %self.channel, error = %e, "AAC to Opus: frame skipped");
                    }
                }
            }
            Some(AudioPath::Dropped) | None => {}
        }
        for (pts, timescale, data) in out {
            let s = RtcSample {
                kind: SampleKind::Audio,
                rtp_time: sample::rtp_ticks(pts, timescale, OPUS_CLOCK),
                wallclock: self.clock.at(pts as f64 / f64::from(timescale.max(1))),
                keyframe: true,
                data: data.into(),
            };
            self.send(FeedItem::Sample(Arc::new(s)));
        }
    }

    fn publish_info(&mut self) {
        if self.info_sent.as_ref() == Some(&self.info) {
            return;
        }
        // Described once a video or audio path exists (the first track announced).
        if self.video.is_none() && self.audio.is_none() {
            return;
        }
        self.info_sent = Some(self.info.clone());
        self.send(FeedItem::Info(self.info.clone()));
    }

    fn send(&self, item: FeedItem) {
        let input = LoopInput::Feed {
            channel: self.channel.clone(),
            feed: self.feed,
            item,
        };
        match self.to_loop.try_send(input) {
            Ok(()) => {}
            // The loop is behind: drop media rather than queue without bound.
            Err(mpsc::error::TrySendError::Full(LoopInput::Feed {
                item: FeedItem::Sample(_),
                ..
            })) => {}
            Err(mpsc::error::TrySendError::Full(input)) => {
                // Info and end-of-stream must arrive: wait for room.
                let _ = self.to_loop.blocking_send(input);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}
