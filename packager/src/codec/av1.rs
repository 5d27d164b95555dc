//! AV1: AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3) and its sequence header OBU.

use bytes::Bytes;

use super::CodecError;
use crate::media::VideoInfo;

/// A parsed `av1C` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Av1Config {
    /// The record exactly as received, copied into the `av1C` box.
    pub record: Bytes,
}

impl Av1Config {
    /// Parses an AV1CodecConfigurationRecord (with its configOBUs sequence header).
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        let _ = record;
        todo!("helper: codec")
    }

    /// `av01.P.LLT.DD` (AV1-ISOBMFF codecs parameter).
    pub fn codec_string(&self) -> String {
        todo!("helper: codec")
    }

    /// Picture size (from the sequence header) and frame rate when signalled.
    pub fn video_info(&self) -> VideoInfo {
        todo!("helper: codec")
    }
}
