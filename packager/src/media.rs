//! The media model: what every crate agrees a track and a frame are.
//!
//! Ingest turns protocol bytes into [`Track`]s (announced once, and again when the
//! decoder configuration changes) and [`Frame`]s (one access unit each). The packager
//! turns them into CMAF. Payload formats are fixed here, so that muxers never need
//! to know where a frame came from:
//!
//! | codec | `Frame::data` |
//! |---|---|
//! | H.264, H.265 | length-prefixed NAL units, length size from the decoder configuration record (ISO/IEC 14496-15 sample format) |
//! | AV1 | low-overhead OBUs, no temporal delimiters (AV1-ISOBMFF §2.4 sample format) |
//! | VP9 | one VP9 frame (superframe allowed) |
//! | AAC | one raw access unit, no ADTS header |
//! | Opus | one Opus packet |

use bytes::Bytes;

use crate::codec::aac::AacConfig;
use crate::codec::av1::Av1Config;
use crate::codec::avc::AvcConfig;
use crate::codec::hevc::HevcConfig;
use crate::codec::opus::OpusConfig;
use crate::codec::vp9::Vp9Config;

/// Identifies a track within one stream. RTMP legacy tracks are 0 (video) and 0
/// (audio) in their own kind; see [`Track::id`].
pub type TrackId = u32;

/// Whether a track carries pictures or sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Pictures.
    Video,
    /// Sound.
    Audio,
}

/// A decoder configuration: codec identity plus everything the muxer and the
/// manifests need to describe the track.
#[derive(Debug, Clone, PartialEq)]
pub enum CodecConfig {
    /// H.264 / AVC.
    H264(AvcConfig),
    /// H.265 / HEVC.
    H265(HevcConfig),
    /// AV1.
    Av1(Av1Config),
    /// VP9.
    Vp9(Vp9Config),
    /// AAC (any object type).
    Aac(AacConfig),
    /// Opus.
    Opus(OpusConfig),
}

impl CodecConfig {
    /// Video or audio.
    pub fn kind(&self) -> MediaKind {
        match self {
            CodecConfig::H264(_)
            | CodecConfig::H265(_)
            | CodecConfig::Av1(_)
            | CodecConfig::Vp9(_) => MediaKind::Video,
            CodecConfig::Aac(_) | CodecConfig::Opus(_) => MediaKind::Audio,
        }
    }

    /// The RFC 6381 `CODECS` parameter value, e.g. `avc1.64001f` or `mp4a.40.2`.
    pub fn codec_string(&self) -> String {
        match self {
            CodecConfig::H264(c) => c.codec_string(),
            CodecConfig::H265(c) => c.codec_string(),
            CodecConfig::Av1(c) => c.codec_string(),
            CodecConfig::Vp9(c) => c.codec_string(),
            CodecConfig::Aac(c) => c.codec_string(),
            CodecConfig::Opus(c) => c.codec_string(),
        }
    }

    /// Picture size and frame rate, for video codecs.
    pub fn video_info(&self) -> Option<VideoInfo> {
        match self {
            CodecConfig::H264(c) => Some(c.video_info()),
            CodecConfig::H265(c) => Some(c.video_info()),
            CodecConfig::Av1(c) => Some(c.video_info()),
            CodecConfig::Vp9(c) => Some(c.video_info()),
            CodecConfig::Aac(_) | CodecConfig::Opus(_) => None,
        }
    }

    /// Sample rate and channel count, for audio codecs.
    pub fn audio_info(&self) -> Option<AudioInfo> {
        match self {
            CodecConfig::Aac(c) => Some(c.audio_info()),
            CodecConfig::Opus(c) => Some(c.audio_info()),
            _ => None,
        }
    }
}

/// Picture geometry and timing of a video track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInfo {
    /// Display width in pixels (after cropping).
    pub width: u32,
    /// Display height in pixels (after cropping).
    pub height: u32,
    /// Frames per second when the bitstream signals it (SPS VUI timing), else `None`.
    pub frame_rate: Option<f64>,
}

/// Sampling parameters of an audio track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    /// Output sample rate in Hz (for HE-AAC, the SBR-extended rate).
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Samples per access unit (1024 for AAC-LC, 2048 for HE-AAC output, 960 typical
    /// for Opus at 20 ms), used when timestamps are too coarse to derive durations.
    pub samples_per_frame: u32,
}

/// One elementary stream of a live stream or asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Unique within the stream *and* kind: video 0 and audio 0 are the default
    /// tracks; Enhanced RTMP multitrack adds further ids.
    pub id: TrackId,
    /// The decoder configuration.
    pub codec: CodecConfig,
    /// Ticks per second of [`Frame::dts`] / [`Frame::pts`] for this track (RTMP: 1000).
    pub timescale: u32,
    /// BCP 47 language, when the source names one.
    pub language: Option<String>,
    /// Human-readable name, when the source names one.
    pub name: Option<String>,
}

impl Track {
    /// Video or audio.
    pub fn kind(&self) -> MediaKind {
        self.codec.kind()
    }
}

/// One access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The track's kind; together with [`Frame::track`] it names the track.
    pub kind: MediaKind,
    /// The [`Track::id`] this frame belongs to.
    pub track: TrackId,
    /// Decode timestamp in the track's timescale. Monotonic *after* ingest has
    /// repaired the source (see `ingest`); may start anywhere.
    pub dts: i64,
    /// Presentation timestamp in the track's timescale (`pts - dts` may be negative
    /// for sources that signal negative composition offsets).
    pub pts: i64,
    /// A random access point (IDR / IRAP / key frame); always true for audio.
    pub keyframe: bool,
    /// The payload, in the format given in the module table.
    pub data: Bytes,
}
