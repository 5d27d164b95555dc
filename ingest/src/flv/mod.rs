//! FLV tag bodies (Adobe FLV spec v10.1 §E.4.2 audio, §E.4.3 video; Enhanced RTMP
//! v1 and v2) turned into [`Track`]s and [`Frame`]s.
//!
//! RTMP audio (type 8) and video (type 9) messages carry exactly an FLV tag body.
//! The pieces, one per file:
//!
//! - [`tag_reader`]: a cursor that slices [`Bytes`] and the Enhanced RTMP header
//!   machinery shared by audio and video (ModEx skipping, multitrack iteration);
//! - [`video_tag`]: legacy AVC (codec id 7) and the Enhanced RTMP ExVideoTagHeader;
//! - [`audio_tag`]: legacy AAC (SoundFormat 10) and the ExAudioTagHeader
//!   (SoundFormat 9: `mp4a`, `Opus`);
//! - [`obu`]: AV1 temporal delimiter removal (frames are stored without them);
//! - [`timestamps`]: 32-bit wrap extension and DTS repair;
//! - [`demuxer`]: per-track state: announces tracks once per distinct sequence
//!   header and produces frames in the payload formats of `packager::media`.

use packager::codec::CodecError;
use packager::media::{Frame, Track};

pub mod audio_tag;
pub mod demuxer;
pub mod obu;
pub mod tag_reader;
pub mod timestamps;
pub mod video_tag;

pub use demuxer::FlvDemuxer;

/// What the demuxer produces, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// A new track, or a track whose decoder configuration changed.
    Track(Track),
    /// One access unit of an announced track.
    Frame(Frame),
}

/// An FLV audio or video tag body we could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    /// The body ended inside a field.
    #[error("tag truncated in {0}")]
    Truncated(&'static str),
    /// A multitrack entry announced more bytes than the tag holds.
    #[error("multitrack track size {size} exceeds the {left} bytes left in the tag")]
    TrackSizeOverrun {
        /// Announced size.
        size: usize,
        /// Bytes left.
        left: usize,
    },
    /// A sequence header (decoder configuration record) was invalid.
    #[error("invalid {codec} sequence header: {source}")]
    Codec {
        /// Which codec.
        codec: &'static str,
        /// What the parser found.
        source: CodecError,
    },
}

/// A four-character code as used by Enhanced RTMP (`hvc1`, `av01`, `Opus`, …).
pub type FourCc = [u8; 4];
