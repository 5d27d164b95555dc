//! Turns FLV tag bodies into [`Track`]s and [`Frame`]s, one state per track.
//!
//! A track is named by its kind and id (legacy tags: id 0; Enhanced RTMP
//! multitrack: the track id). It is announced when its first sequence header
//! arrives, and again only when a sequence header with different bytes or a
//! different codec arrives: encoders repeat the header before keyframes, and an
//! identical repeat must not look like a configuration change downstream. Frames
//! of a track with no sequence header yet are dropped (nothing could decode them).
//!
//! Timestamps: timescale 1000 (RTMP milliseconds), wrap-extended and made strictly
//! monotonic per track ([`super::timestamps`]).

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use packager::codec::aac::AacConfig;
use packager::codec::av1::Av1Config;
use packager::codec::avc::AvcConfig;
use packager::codec::hevc::HevcConfig;
use packager::codec::opus::OpusConfig;
use packager::codec::vp9::Vp9Config;
use packager::media::{CodecConfig, Frame, MediaKind, Track, TrackId};

use super::audio_tag::{parse_audio_tag, AudioCodec, AudioPayload};
use super::obu::strip_temporal_delimiters;
use super::timestamps::TrackClock;
use super::video_tag::{parse_video_tag, VideoCodec, VideoPayload};
use super::{FlvError, MediaEvent};

/// Timescale of every RTMP track: milliseconds.
pub const RTMP_TIMESCALE: u32 = 1000;

/// A codec of either kind, to compare sequence headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnyCodec {
    Video(VideoCodec),
    Audio(AudioCodec),
}

impl AnyCodec {
    fn name(self) -> &'static str {
        match self {
            AnyCodec::Video(VideoCodec::Avc) => "H.264",
            AnyCodec::Video(VideoCodec::Hevc) => "H.265",
            AnyCodec::Video(VideoCodec::Av1) => "AV1",
            AnyCodec::Video(VideoCodec::Vp9) => "VP9",
            AnyCodec::Audio(AudioCodec::Aac) => "AAC",
            AnyCodec::Audio(AudioCodec::Opus) => "Opus",
        }
    }

    fn parse(self, record: Bytes) -> Result<CodecConfig, FlvError> {
        let codec = self.name();
        let r = match self {
            AnyCodec::Video(VideoCodec::Avc) => AvcConfig::parse(record).map(CodecConfig::H264),
            AnyCodec::Video(VideoCodec::Hevc) => HevcConfig::parse(record).map(CodecConfig::H265),
            AnyCodec::Video(VideoCodec::Av1) => Av1Config::parse(record).map(CodecConfig::Av1),
            AnyCodec::Video(VideoCodec::Vp9) => Vp9Config::parse(record).map(CodecConfig::Vp9),
            AnyCodec::Audio(AudioCodec::Aac) => AacConfig::parse(record).map(CodecConfig::Aac),
            AnyCodec::Audio(AudioCodec::Opus) => OpusConfig::parse(record).map(CodecConfig::Opus),
        };
        r.map_err(|source| FlvError::Codec { codec, source })
    }
}

#[derive(Debug, Default)]
struct TrackState {
    /// The codec and raw record of the last announced sequence header.
    announced: Option<(AnyCodec, Bytes)>,
    clock: TrackClock,
}

/// Per-stream FLV demuxer state. Push tag bodies, then drain [`poll_event`].
///
/// [`poll_event`]: FlvDemuxer::poll_event
#[derive(Debug, Default)]
pub struct FlvDemuxer {
    tracks: HashMap<(MediaKind, TrackId), TrackState>,
    events: VecDeque<MediaEvent>,
}

impl FlvDemuxer {
    /// No tracks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next track announcement or frame, in arrival order.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Frames whose DTS had to be moved forward, over all tracks.
    pub fn repaired_frames(&self) -> u64 {
        self.tracks.values().map(|t| t.clock.repaired()).sum()
    }

    /// One video message body with its RTMP timestamp.
    pub fn push_video(&mut self, timestamp: u32, body: Bytes) -> Result<(), FlvError> {
        let tag = parse_video_tag(body)?;
        for p in tag.packets {
            let key = (MediaKind::Video, TrackId::from(p.track_id));
            let codec = AnyCodec::Video(p.codec);
            match p.payload {
                VideoPayload::SequenceStart(record) => self.sequence_start(key, codec, record)?,
                VideoPayload::Frame { cts, data } => {
                    let data = match p.codec {
                        VideoCodec::Av1 => strip_temporal_delimiters(data),
                        _ => data,
                    };
                    self.frame(key, codec, timestamp, cts, tag.keyframe, data);
                }
                VideoPayload::SequenceEnd => {}
            }
        }
        Ok(())
    }

    /// One audio message body with its RTMP timestamp.
    pub fn push_audio(&mut self, timestamp: u32, body: Bytes) -> Result<(), FlvError> {
        for p in parse_audio_tag(body)? {
            let key = (MediaKind::Audio, TrackId::from(p.track_id));
            let codec = AnyCodec::Audio(p.codec);
            match p.payload {
                AudioPayload::SequenceStart(record) => self.sequence_start(key, codec, record)?,
                AudioPayload::Frame(data) => self.frame(key, codec, timestamp, 0, true, data),
            }
        }
        Ok(())
    }

    fn sequence_start(
        &mut self,
        key: (MediaKind, TrackId),
        codec: AnyCodec,
        record: Bytes,
    ) -> Result<(), FlvError> {
        let state = self.tracks.entry(key).or_default();
        if state
            .announced
            .as_ref()
            .is_some_and(|(c, r)| *c == codec && *r == record)
        {
            return Ok(()); // identical repeat: not a change
        }
        let config = codec.parse(record.clone())?;
        state.announced = Some((codec, record));
        self.events.push_back(MediaEvent::Track(Track {
            id: key.1,
            codec: config,
            timescale: RTMP_TIMESCALE,
            language: None,
            name: None,
        }));
        Ok(())
    }

    fn frame(
        &mut self,
        key: (MediaKind, TrackId),
        codec: AnyCodec,
        timestamp: u32,
        cts: i32,
        keyframe: bool,
        data: Bytes,
    ) {
        let Some(state) = self.tracks.get_mut(&key) else {
            return;
        };
        if data.is_empty() || !state.announced.as_ref().is_some_and(|(c, _)| *c == codec) {
            return;
        }
        let (dts, pts) = state.clock.stamp(timestamp, cts);
        self.events.push_back(MediaEvent::Frame(Frame {
            kind: key.0,
            track: key.1,
            dts,
            pts,
            keyframe,
            data,
        }));
    }
}

#[cfg(test)]
#[path = "demuxer_tests.rs"]
mod tests;
