//! AAC: AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), including explicit and
//! implicit SBR/PS signalling for HE-AAC v1/v2.

use bytes::Bytes;

use super::CodecError;
use crate::media::AudioInfo;

/// A parsed AudioSpecificConfig.
#[derive(Debug, Clone, PartialEq)]
pub struct AacConfig {
    /// The config exactly as received, copied into the `esds` DecoderSpecificInfo.
    pub record: Bytes,
}

impl AacConfig {
    /// Parses an AudioSpecificConfig.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        let _ = record;
        todo!("helper: codec")
    }

    /// `mp4a.40.N` where N is the audio object type (RFC 6381 §3.3).
    pub fn codec_string(&self) -> String {
        todo!("helper: codec")
    }

    /// Sample rate, channels and samples per access unit.
    pub fn audio_info(&self) -> AudioInfo {
        todo!("helper: codec")
    }
}
