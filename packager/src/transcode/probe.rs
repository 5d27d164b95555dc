//! Probing an uploaded file with libavformat (`avformat_open_input` +
//! `avformat_find_stream_info`): what it is, how long, and which streams a ladder
//! can use. Anything that is not media, or has no video or audio stream we can
//! decode, is a [`ProbeError`] with a reason for the asset; nothing panics.

use std::path::Path;
use std::time::Duration;

use ffmpeg_next::media::Type;

/// What kind of stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// Video.
    Video,
    /// Audio.
    Audio,
}

/// One usable stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Index in the container.
    pub index: usize,
    /// Video or audio.
    pub kind: StreamKind,
    /// FFmpeg's codec name (`h264`, `aac`, `opus`…).
    pub codec: String,
    /// Video width and height in pixels (0 for audio).
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// Audio sample rate in Hz (0 for video).
    pub sample_rate: u32,
    /// Audio channels (0 for video).
    pub channels: u16,
}

/// A probed file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// The container format's short name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`…).
    pub format: String,
    /// The container's duration, when it states one.
    pub duration: Option<Duration>,
    /// The video and audio streams FFmpeg can decode, in container order.
    pub streams: Vec<StreamInfo>,
}

impl MediaInfo {
    /// The first video stream, if any.
    pub fn video(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == StreamKind::Video)
    }

    /// The first audio stream, if any.
    pub fn audio(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == StreamKind::Audio)
    }
}

/// Why a file cannot become an asset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    /// libavformat does not recognise the file as media.
    #[error("not a media file: {0}")]
    NotMedia(String),
    /// A container, but with no video or audio stream FFmpeg can decode.
    #[error("no supported video or audio stream")]
    NoSupportedStream,
}

/// Probes `path`; see the module docs. Blocking.
pub fn probe(path: &Path) -> Result<MediaInfo, ProbeError> {
    super::init();
    let input =
        ffmpeg_next::format::input(&path).map_err(|e| ProbeError::NotMedia(e.to_string()))?;
    let mut streams = Vec::new();
    for stream in input.streams() {
        let params = stream.parameters();
        let kind = match params.medium() {
            Type::Video => StreamKind::Video,
            Type::Audio => StreamKind::Audio,
            _ => continue,
        };
        // A stream without a decoder here cannot be transcoded.
        let Some(codec) = ffmpeg_next::decoder::find(params.id()) else {
            continue;
        };
        let Ok(context) = ffmpeg_next::codec::context::Context::from_parameters(params) else {
            continue;
        };
        let decoder = context.decoder();
        let (width, height, sample_rate, channels) = match kind {
            StreamKind::Video => match decoder.video() {
                Ok(v) if v.width() > 0 && v.height() > 0 => (v.width(), v.height(), 0, 0),
                _ => continue,
            },
            StreamKind::Audio => match decoder.audio() {
                Ok(a) if a.rate() > 0 => (0, 0, a.rate(), a.channels()),
                _ => continue,
            },
        };
        streams.push(StreamInfo {
            index: stream.index(),
            kind,
            codec: codec.name().to_owned(),
            width,
            height,
            sample_rate,
            channels,
        });
    }
    if streams.is_empty() {
        return Err(ProbeError::NoSupportedStream);
    }
    // AV_TIME_BASE units (microseconds); AV_NOPTS_VALUE (negative) when unknown.
    let duration = u64::try_from(input.duration())
        .ok()
        .filter(|us| *us > 0)
        .map(Duration::from_micros);
    Ok(MediaInfo {
        format: input.format().name().to_owned(),
        duration,
        streams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::test_support::{clip, junk_file, tone_clip};

    #[test]
    fn a_video_clip_has_its_streams_and_duration() {
        let dir = tempfile::tempdir().unwrap();
        let Some(path) = clip(
            dir.path(),
            "clip.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=30",
                "-f",
                "lavfi",
                "-i",
                "sine=sample_rate=48000",
                "-t",
                "2",
                "-c:v",
                "libx264",
                "-c:a",
                "aac",
                "-ac",
                "2",
            ],
        ) else {
            return;
        };
        let info = probe(&path).unwrap();
        let video = info.video().unwrap();
        assert_eq!(
            (video.codec.as_str(), video.width, video.height),
            ("h264", 320, 240)
        );
        let audio = info.audio().unwrap();
        assert_eq!(
            (audio.codec.as_str(), audio.sample_rate, audio.channels),
            ("aac", 48_000, 2)
        );
        let secs = info.duration.unwrap().as_secs_f64();
        assert!((1.9..2.2).contains(&secs), "{secs}");
        assert!(info.format.contains("mp4"), "{}", info.format);
    }

    #[test]
    fn audio_only_is_media() {
        let dir = tempfile::tempdir().unwrap();
        let Some(path) = tone_clip(dir.path(), "1") else {
            return;
        };
        let info = probe(&path).unwrap();
        assert!(info.video().is_none());
        assert_eq!(info.audio().unwrap().sample_rate, 44_100);
    }

    #[test]
    fn random_bytes_and_text_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let junk = junk_file(dir.path(), 64 * 1024);
        let err = probe(&junk).unwrap_err();
        assert!(matches!(err, ProbeError::NotMedia(_)), "{err:?}");
        assert!(!err.to_string().is_empty());
        let missing = probe(&dir.path().join("missing.mp4")).unwrap_err();
        assert!(matches!(missing, ProbeError::NotMedia(_)), "{missing:?}");
    }
}
