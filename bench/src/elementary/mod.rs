//! # Elementary streams made by ffmpeg, turned into RTMP-ready access units
//!
//! - [`hevc`]: HEVC Annex B → access units of 4-byte length-prefixed NAL
//!   units, and the HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3);
//! - [`av1`]: IVF or low-overhead `.obu` files → temporal units without
//!   temporal delimiters, and the AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3);
//! - [`adts`]: AAC ADTS → raw frames and the AudioSpecificConfig;
//! - [`bits`]: the bit reader they share (with Exp-Golomb and RBSP unescaping).

pub mod adts;
pub mod av1;
pub mod bits;
pub mod hevc;

use thiserror::Error;

/// One coded picture (or temporal unit) ready for a CodedFrames body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// Decode timestamp in ms.
    pub dts_ms: u64,
    /// Presentation minus decode time, in ms.
    pub cts_ms: i32,
    /// Random access point (IRAP picture / AV1 key frame).
    pub key: bool,
    /// The payload: length-prefixed NAL units (HEVC) or OBUs (AV1).
    pub data: Vec<u8>,
}

/// Why an elementary stream could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EsError {
    /// A syntax element ran past the end of its unit.
    #[error("{0} is truncated")]
    Truncated(&'static str),
    /// A parameter set or header the record needs is missing.
    #[error("no {0} found in the stream")]
    Missing(&'static str),
    /// A value outside what the spec allows.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// A feature this small publisher does not implement.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}
