//! VP9: VPCodecConfigurationRecord (VP Codec ISOBMFF Binding §2.3).

use bytes::Bytes;

use super::CodecError;
use crate::media::VideoInfo;

/// A parsed `vpcC` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Vp9Config {
    /// The record exactly as received, copied into the `vpcC` box.
    pub record: Bytes,
}

impl Vp9Config {
    /// Parses an VPCodecConfigurationRecord.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        let _ = record;
        todo!("helper: codec")
    }

    /// `vp09.PP.LL.DD` (VP9 ISOBMFF codecs parameter).
    pub fn codec_string(&self) -> String {
        todo!("helper: codec")
    }

    /// Picture size (from the first key frame header, if known) and frame rate when signalled.
    pub fn video_info(&self) -> VideoInfo {
        todo!("helper: codec")
    }
}
