//! Where a ladder's output goes: [`LadderSink`] receives tracks and frames in the
//! packager's media model, so the VOD packager, the live segmenter and tests all
//! consume a transcode the same way they consume ingest.

use crate::media::{Frame, Track};

/// A consumer of encoded output.
///
/// Order guarantees: [`LadderSink::track`] for a track comes before its first
/// [`LadderSink::frame`] (and again if its configuration changes); frames of one
/// track arrive in decode order (non-decreasing `dts`). Frames of different tracks
/// interleave in whatever order the encoders produce them.
///
/// Track ids: video rendition `i` (its index in the planned ladder, see
/// [`super::plan_renditions`]) is video track `i`, named after the rendition; the
/// shared AAC track is audio track 0, named `audio`.
pub trait LadderSink {
    /// A new track, or a new configuration for a known one.
    fn track(&mut self, track: Track) -> Result<(), SinkError>;
    /// One access unit: length-prefixed H.264 NAL units or one raw AAC frame.
    fn frame(&mut self, frame: Frame) -> Result<(), SinkError>;
}

/// A sink refused output; the transcode stops with [`super::TranscodeError::Sink`].
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing failed (disk full, permissions…).
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    /// The consumer is gone (a closed channel, a stopped stream).
    #[error("the consumer has gone away")]
    Closed,
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}
