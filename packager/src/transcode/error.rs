//! Why a transcode failed: each variant is a reason that can be shown on an asset.

use super::sink::SinkError;

/// A transcode failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// libavformat does not recognise the input as media.
    #[error("not a media file: {0}")]
    NotMedia(String),
    /// A container, but with no video or audio stream FFmpeg can decode.
    #[error("no supported video or audio stream")]
    NoSupportedStream,
    /// Reading the input failed part-way (I/O error, truncated file).
    #[error("reading the input failed: {0}")]
    Read(String),
    /// The decoder of a stream failed, or decoded nothing at all.
    #[error("decoding {stream} failed: {reason}")]
    Decode {
        /// `video` or `audio`.
        stream: &'static str,
        /// FFmpeg's reason.
        reason: String,
    },
    /// Opening or running an encoder (or the scaler / resampler before it) failed.
    #[error("{encoder} encoder failed: {reason}")]
    Encode {
        /// `libx264`, `aac`, `swscale`, `swresample`.
        encoder: &'static str,
        /// FFmpeg's reason.
        reason: String,
    },
    /// An encoder produced output the packager's parsers reject.
    #[error("{encoder} produced an unusable bitstream: {reason}")]
    Bitstream {
        /// `libx264` or `aac`.
        encoder: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The sink refused output.
    #[error("sink: {0}")]
    Sink(#[from] SinkError),
    /// The caller's cancel flag was set.
    #[error("cancelled")]
    Cancelled,
}

impl TranscodeError {
    /// An [`TranscodeError::Encode`] from an FFmpeg error.
    pub(crate) fn encode(encoder: &'static str) -> impl Fn(ffmpeg_next::Error) -> Self {
        move |e| TranscodeError::Encode {
            encoder,
            reason: e.to_string(),
        }
    }

    /// A [`TranscodeError::Decode`] from an FFmpeg error.
    pub(crate) fn decode(stream: &'static str) -> impl Fn(ffmpeg_next::Error) -> Self {
        move |e| TranscodeError::Decode {
            stream,
            reason: e.to_string(),
        }
    }
}
