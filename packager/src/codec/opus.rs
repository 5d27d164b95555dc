//! Opus: the OpusHead identification header (RFC 7845 §5.1) and the `dOps` box
//! (Opus in ISOBMFF §4.3.2).

use bytes::Bytes;

use super::CodecError;
use crate::media::AudioInfo;

/// A parsed Opus header.
#[derive(Debug, Clone, PartialEq)]
pub struct OpusConfig {
    /// The config exactly as received, in `dOps` layout.
    pub record: Bytes,
}

impl OpusConfig {
    /// Parses an OpusHead (`OpusHead` magic) or a `dOps` payload.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        let _ = record;
        todo!("helper: codec")
    }

    /// `opus`.
    pub fn codec_string(&self) -> String {
        todo!("helper: codec")
    }

    /// Sample rate, channels and samples per access unit.
    pub fn audio_info(&self) -> AudioInfo {
        todo!("helper: codec")
    }
}
