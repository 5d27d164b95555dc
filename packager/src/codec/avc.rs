//! H.264: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) and the SPS
//! (ITU-T H.264 §7.3.2.1.1) for picture size, profile, level and frame rate.

use bytes::Bytes;

use super::CodecError;
use crate::media::VideoInfo;

/// A parsed `avcC` record.
#[derive(Debug, Clone, PartialEq)]
pub struct AvcConfig {
    /// The record exactly as received, copied into the `avcC` box.
    pub record: Bytes,
}

impl AvcConfig {
    /// Parses an AVCDecoderConfigurationRecord, including its first SPS.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        let _ = record;
        todo!("helper: codec")
    }

    /// `avc1.PPCCLL` (RFC 6381 §3.3).
    pub fn codec_string(&self) -> String {
        todo!("helper: codec")
    }

    /// Picture size and frame rate from the SPS.
    pub fn video_info(&self) -> VideoInfo {
        todo!("helper: codec")
    }
}
