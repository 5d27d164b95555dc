//! H.265: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) and the SPS
//! (ITU-T H.265 §7.3.2.2) for picture size, profile, level and frame rate.

use bytes::Bytes;

use super::CodecError;
use crate::media::VideoInfo;

/// A parsed `hvcC` record.
#[derive(Debug, Clone, PartialEq)]
pub struct HevcConfig {
    /// The record exactly as received, copied into the `hvcC` box.
    pub record: Bytes,
}

impl HevcConfig {
    /// Parses an HEVCDecoderConfigurationRecord, including its first SPS.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        let _ = record;
        todo!("helper: codec")
    }

    /// `hvc1.1.6.L120.90` style (ISO/IEC 14496-15 Annex E).
    pub fn codec_string(&self) -> String {
        todo!("helper: codec")
    }

    /// Picture size and frame rate from the SPS.
    pub fn video_info(&self) -> VideoInfo {
        todo!("helper: codec")
    }
}
