//! H.264: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) and the SPS
//! (ITU-T H.264 §7.3.2.1.1, see [`super::h264_sps`]) for picture size, profile, level
//! and frame rate.
//!
//! [`AvcConfig::parse`] reads an `avcC` payload as RTMP and MP4 carry it;
//! [`AvcConfig::from_parameter_sets`] builds one from in-band SPS/PPS NAL units
//! (MPEG-TS, SRT, WHIP), so both paths end in the same validated struct.
//!
//! Sample entry `avc1` or `avc3` (ISO/IEC 14496-15 §5.4.2.1): with `avc1` every
//! SPS and PPS the stream uses is in the record and samples carry none; with `avc3`
//! samples may carry them too. A track is `avc1` until the packager finds parameter
//! sets in its samples that differ from the record
//! ([`AvcConfig::with_parameter_sets_in_band`]); see `fmp4::parameter_sets`.

use bytes::{BufMut, Bytes, BytesMut};

use super::h264_sps::Sps;
use super::reader::ByteReader;
use super::{CodecError, MAX_PARAMETER_SETS};
use crate::media::VideoInfo;

const CODEC: &str = "H.264";
/// NAL unit types of the parameter sets (H.264 Table 7-1).
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// `nal_unit_type` of an H.264 NAL unit from its header byte (§7.3.1).
pub fn nal_unit_type(header: u8) -> u8 {
    header & 0x1f
}

/// Whether `nal_unit_type` is an SPS or a PPS.
pub fn is_parameter_set(nal_unit_type: u8) -> bool {
    matches!(nal_unit_type, NAL_SPS | NAL_PPS)
}

/// A parsed `avcC` record.
#[derive(Debug, Clone, PartialEq)]
pub struct AvcConfig {
    /// The record exactly as received, copied into the `avcC` box.
    pub record: Bytes,
    /// `AVCProfileIndication` (= SPS `profile_idc`).
    pub profile: u8,
    /// `profile_compatibility` (= SPS constraint_set flags byte).
    pub constraints: u8,
    /// `AVCLevelIndication` (= SPS `level_idc`).
    pub level: u8,
    /// Bytes of the length prefix before each NAL unit in samples: 1, 2 or 4.
    pub nal_length_size: u8,
    /// The SPS NAL units, slices of [`AvcConfig::record`].
    pub sps: Vec<Bytes>,
    /// The PPS NAL units, slices of [`AvcConfig::record`].
    pub pps: Vec<Bytes>,
    /// Width after cropping, from the first SPS.
    pub width: u32,
    /// Height after cropping, from the first SPS.
    pub height: u32,
    /// Frame rate from the first SPS's VUI timing info, when present.
    pub frame_rate: Option<f64>,
    /// Samples may carry parameter sets that differ from the record: sample entry
    /// `avc3` instead of `avc1` (§5.4.2.1). False when parsed or built.
    pub parameter_sets_in_band: bool,
}

impl AvcConfig {
    /// Parses an AVCDecoderConfigurationRecord, including its first SPS.
    ///
    /// The optional high-profile tail (`chroma_format` … `sequenceParameterSetExt`) is
    /// kept in [`AvcConfig::record`] but not interpreted: the SPS is authoritative.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        CodecError::check_size(CODEC, record.len())?;
        let mut r = ByteReader::new(CODEC, record.clone());
        // §5.3.3.1.2: configurationVersion = 1.
        if r.u8("configurationVersion")? != 1 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "configurationVersion != 1",
            });
        }
        let profile = r.u8("AVCProfileIndication")?;
        let constraints = r.u8("profile_compatibility")?;
        let level = r.u8("AVCLevelIndication")?;
        // reserved '111111'b + lengthSizeMinusOne: 0, 1 or 3 (1, 2 or 4 bytes).
        let nal_length_size = (r.u8("lengthSizeMinusOne")? & 0x03) + 1;
        if nal_length_size == 3 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "lengthSizeMinusOne = 2",
            });
        }
        // reserved '111'b + numOfSequenceParameterSets (5 bits).
        let num_sps = usize::from(r.u8("numOfSequenceParameterSets")? & 0x1f);
        CodecError::check_count(CODEC, "SPS", num_sps, MAX_PARAMETER_SETS)?;
        let sps = (0..num_sps)
            .map(|_| r.u16_prefixed("sequenceParameterSetNALUnit"))
            .collect::<Result<Vec<_>, _>>()?;
        let num_pps = usize::from(r.u8("numOfPictureParameterSets")?);
        CodecError::check_count(CODEC, "PPS", num_pps, MAX_PARAMETER_SETS)?;
        let pps = (0..num_pps)
            .map(|_| r.u16_prefixed("pictureParameterSetNALUnit"))
            .collect::<Result<Vec<_>, _>>()?;
        let first = sps.first().ok_or(CodecError::Invalid {
            codec: CODEC,
            what: "no SPS in record",
        })?;
        let parsed = Sps::parse(first)?;
        Ok(AvcConfig {
            record,
            profile,
            constraints,
            level,
            nal_length_size,
            sps,
            pps,
            width: parsed.width,
            height: parsed.height,
            frame_rate: parsed.frame_rate,
            parameter_sets_in_band: false,
        })
    }

    /// The same configuration described as `avc3`: samples may carry parameter sets
    /// of their own (§5.4.2.1).
    pub fn with_parameter_sets_in_band(&self) -> Self {
        Self {
            parameter_sets_in_band: true,
            ..self.clone()
        }
    }

    /// The sample entry type: `avc3` when parameter sets also travel in-band, else
    /// `avc1`.
    pub fn sample_entry_type(&self) -> &'static [u8; 4] {
        if self.parameter_sets_in_band {
            b"avc3"
        } else {
            b"avc1"
        }
    }

    /// The record's SPS (type 7) or PPS (type 8) NAL units.
    pub fn units(&self, nal_unit_type: u8) -> &[Bytes] {
        match nal_unit_type {
            NAL_SPS => &self.sps,
            NAL_PPS => &self.pps,
            _ => &[],
        }
    }

    /// Builds an `avcC` record (4-byte NAL lengths) from in-band SPS and PPS NAL units
    /// (each starting with its NAL header, no start code) and parses it.
    pub fn from_parameter_sets(sps: &[Bytes], pps: &[Bytes]) -> Result<Self, CodecError> {
        CodecError::check_count(CODEC, "SPS", sps.len(), MAX_PARAMETER_SETS)?;
        CodecError::check_count(CODEC, "PPS", pps.len(), MAX_PARAMETER_SETS)?;
        let first = sps.first().ok_or(CodecError::Invalid {
            codec: CODEC,
            what: "no SPS given",
        })?;
        if pps.is_empty() {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "no PPS given",
            });
        }
        let parsed = Sps::parse(first)?;
        let mut out = BytesMut::new();
        out.put_u8(1);
        out.put_u8(parsed.profile_idc);
        out.put_u8(parsed.constraint_flags);
        out.put_u8(parsed.level_idc);
        out.put_u8(0xfc | 3); // lengthSizeMinusOne = 3
        out.put_u8(0xe0 | sps.len() as u8);
        put_units(&mut out, sps)?;
        out.put_u8(pps.len() as u8);
        put_units(&mut out, pps)?;
        // §5.3.3.1.2: profiles other than 66, 77 and 88 carry the chroma/bit-depth tail.
        if !matches!(parsed.profile_idc, 66 | 77 | 88) {
            out.put_u8(0xfc | (parsed.chroma_format_idc as u8 & 3));
            out.put_u8(0xf8 | (parsed.bit_depth_luma_minus8 as u8 & 7));
            out.put_u8(0xf8 | (parsed.bit_depth_chroma_minus8 as u8 & 7));
            out.put_u8(0); // numOfSequenceParameterSetExt
        }
        Self::parse(out.freeze())
    }

    /// `avc1.PPCCLL` (RFC 6381 §3.3; `avc3.` when parameter sets travel in-band):
    /// profile, constraint flags and level in hex.
    pub fn codec_string(&self) -> String {
        format!(
            "{}.{:02x}{:02x}{:02x}",
            String::from_utf8_lossy(self.sample_entry_type()),
            self.profile,
            self.constraints,
            self.level
        )
    }

    /// Picture size and frame rate from the SPS.
    pub fn video_info(&self) -> VideoInfo {
        VideoInfo {
            width: self.width,
            height: self.height,
            frame_rate: self.frame_rate,
        }
    }
}

/// Appends u16-length-prefixed NAL units (§5.3.3.1.2 `sequenceParameterSetLength`).
fn put_units(out: &mut BytesMut, units: &[Bytes]) -> Result<(), CodecError> {
    for unit in units {
        let len = u16::try_from(unit.len()).map_err(|_| CodecError::Invalid {
            codec: CODEC,
            what: "parameter set longer than 65535 bytes",
        })?;
        out.put_u16(len);
        out.put_slice(unit);
    }
    Ok(())
}

#[cfg(test)]
#[path = "avc_tests.rs"]
mod tests;
