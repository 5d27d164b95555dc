//! Decoder configuration records and the facts derived from them.
//!
//! Each submodule parses one codec's configuration record from the bytes the
//! container or protocol carries (`avcC`, `hvcC`, `av1C`, AudioSpecificConfig, …)
//! and keeps the raw record, so the muxer can copy it into the init segment verbatim.

pub mod aac;
mod aac_pce;
pub mod annex_b;
pub mod av1;
pub mod av1_sequence;
pub mod avc;
pub mod bitreader;
pub mod captions;
pub mod h264_sps;
pub mod h265_sps;
pub mod hevc;
pub mod opus;
pub(crate) mod reader;
pub mod vp9;

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the codec tests.
    use bytes::Bytes;

    /// Decodes a hex string (whitespace ignored).
    pub(crate) fn hex(s: &str) -> Bytes {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect::<Vec<u8>>()
            .into()
    }
}

use bitreader::BitError;

/// Largest configuration record accepted (bytes). Real records are well under 4 KiB
/// (x265 with its info SEI is ~2 KiB); anything larger is hostile or broken.
pub const MAX_RECORD_SIZE: usize = 64 * 1024;

/// Most parameter sets (SPS, PPS, VPS, …) accepted in one array of a record.
/// H.264 allows 32 SPS ids and 256 PPS ids; real encoders send one of each.
pub const MAX_PARAMETER_SETS: usize = 32;

/// Most NAL unit arrays accepted in an `hvcC` (VPS, SPS, PPS, prefix/suffix SEI).
pub const MAX_NAL_ARRAYS: usize = 8;

/// Largest picture width or height accepted from a bitstream header, in pixels
/// (the largest level of H.264/H.265/AV1 stays below this).
pub const MAX_PICTURE_DIMENSION: u32 = 16_384;

/// A configuration record could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The record ended before a field it announces.
    #[error("{codec} configuration record truncated: {what}")]
    Truncated {
        /// Which codec's record.
        codec: &'static str,
        /// The field that was cut off.
        what: &'static str,
    },
    /// A field holds a value the specification forbids or we do not support.
    #[error("{codec} configuration record invalid: {what}")]
    Invalid {
        /// Which codec's record.
        codec: &'static str,
        /// What was wrong.
        what: &'static str,
    },
    /// The record is larger than [`MAX_RECORD_SIZE`].
    #[error("{codec} configuration record of {size} bytes exceeds the {max} byte limit")]
    RecordTooLarge {
        /// Which codec's record.
        codec: &'static str,
        /// Its size in bytes.
        size: usize,
        /// [`MAX_RECORD_SIZE`].
        max: usize,
    },
    /// An array announces more parameter sets (or arrays) than [`MAX_PARAMETER_SETS`] /
    /// [`MAX_NAL_ARRAYS`].
    #[error("{codec} configuration record announces {count} {what}, limit {max}")]
    TooManyParameterSets {
        /// Which codec's record.
        codec: &'static str,
        /// What is being counted (`"SPS"`, `"NAL arrays"`, …).
        what: &'static str,
        /// The announced count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The coded picture is larger than [`MAX_PICTURE_DIMENSION`] in either direction.
    #[error("{codec} picture {width}x{height} exceeds the {max} pixel limit")]
    PictureTooLarge {
        /// Which codec.
        codec: &'static str,
        /// Coded width in pixels.
        width: u64,
        /// Coded height in pixels.
        height: u64,
        /// [`MAX_PICTURE_DIMENSION`].
        max: u32,
    },
}

impl CodecError {
    /// Maps a bit-reader failure inside `what` of `codec` to a [`CodecError`].
    pub(crate) fn bits(codec: &'static str, what: &'static str) -> impl Fn(BitError) -> Self {
        move |e| match e {
            BitError::Eof => CodecError::Truncated { codec, what },
            BitError::ExpGolombTooLong => CodecError::Invalid { codec, what },
        }
    }

    /// Rejects records larger than [`MAX_RECORD_SIZE`].
    pub(crate) fn check_size(codec: &'static str, size: usize) -> Result<(), Self> {
        if size > MAX_RECORD_SIZE {
            return Err(CodecError::RecordTooLarge {
                codec,
                size,
                max: MAX_RECORD_SIZE,
            });
        }
        Ok(())
    }

    /// Rejects `count` items of `what` beyond `max`.
    pub(crate) fn check_count(
        codec: &'static str,
        what: &'static str,
        count: usize,
        max: usize,
    ) -> Result<(), Self> {
        if count > max {
            return Err(CodecError::TooManyParameterSets {
                codec,
                what,
                count,
                max,
            });
        }
        Ok(())
    }

    /// Rejects pictures larger than [`MAX_PICTURE_DIMENSION`].
    pub(crate) fn check_picture(
        codec: &'static str,
        width: u64,
        height: u64,
    ) -> Result<(u32, u32), Self> {
        let max = MAX_PICTURE_DIMENSION;
        if width > u64::from(max) || height > u64::from(max) {
            return Err(CodecError::PictureTooLarge {
                codec,
                width,
                height,
                max,
            });
        }
        // Both are <= MAX_PICTURE_DIMENSION, so they fit in u32.
        Ok((width as u32, height as u32))
    }
}
