//! H.265: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) and the SPS
//! (ITU-T H.265 §7.3.2.2, see [`super::h265_sps`]) for picture size and frame rate.
//!
//! [`HevcConfig::parse`] reads an `hvcC` payload (MP4, Enhanced RTMP `hvc1`);
//! [`HevcConfig::from_parameter_sets`] builds one from in-band VPS/SPS/PPS (MPEG-TS).
//! The `CODECS` string follows ISO/IEC 14496-15 Annex E.3.
//!
//! Sample entry `hvc1` or `hev1` (ISO/IEC 14496-15 §8.4.1.1.1): "When the sample
//! entry name is 'hvc1', the default and mandatory value of array_completeness is 1
//! for arrays of all types of parameter sets, and 0 for all other arrays. When the
//! sample entry name is 'hev1', the default value of array_completeness is 0 for
//! all arrays." So `hvc1` promises that every VPS/SPS/PPS is in the record and none
//! in the samples; `hev1` lets samples carry them too. A track is `hvc1` until the
//! packager finds parameter sets in its samples that differ from the record
//! ([`HevcConfig::with_parameter_sets_in_band`]); see `fmp4::parameter_sets`.

use bytes::{BufMut, Bytes, BytesMut};

use super::h265_sps::{ProfileTierLevel, Sps};
use super::reader::ByteReader;
use super::{CodecError, MAX_NAL_ARRAYS, MAX_PARAMETER_SETS};
use crate::media::VideoInfo;

const CODEC: &str = "H.265";

/// NAL unit types of the parameter sets (H.265 Table 7-1).
const NAL_VPS: u8 = 32;
const NAL_SPS: u8 = 33;
const NAL_PPS: u8 = 34;
/// Offset of `numOfArrays` in an `hvcC` record (§8.3.3.1.1: 22 bytes of fixed fields).
const NUM_ARRAYS_OFFSET: usize = 22;

/// `nal_unit_type` of an H.265 NAL unit from its first header byte (§7.3.1.2).
pub fn nal_unit_type(first_byte: u8) -> u8 {
    (first_byte >> 1) & 0x3f
}

/// Whether `nal_unit_type` is a VPS, SPS or PPS.
pub fn is_parameter_set(nal_unit_type: u8) -> bool {
    matches!(nal_unit_type, NAL_VPS | NAL_SPS | NAL_PPS)
}

/// One `hvcC` NAL unit array.
#[derive(Debug, Clone, PartialEq)]
pub struct NalArray {
    /// `array_completeness`: all NAL units of this type are in the record.
    pub complete: bool,
    /// `NAL_unit_type`.
    pub nal_unit_type: u8,
    /// The NAL units, slices of the record.
    pub units: Vec<Bytes>,
}

/// A parsed `hvcC` record.
#[derive(Debug, Clone, PartialEq)]
pub struct HevcConfig {
    /// The record exactly as received; the `hvcC` box gets it with
    /// `array_completeness` set for the sample entry ([`Self::sample_entry_record`]).
    pub record: Bytes,
    /// General profile space, tier, profile, compatibility and constraint flags, level.
    pub ptl: ProfileTierLevel,
    /// Bytes of the length prefix before each NAL unit in samples: 1, 2 or 4.
    pub nal_length_size: u8,
    /// The NAL unit arrays (VPS, SPS, PPS, SEI, …).
    pub arrays: Vec<NalArray>,
    /// Width after the conformance window, from the first SPS.
    pub width: u32,
    /// Height after the conformance window, from the first SPS.
    pub height: u32,
    /// Frame rate from the SPS VUI, when present.
    pub frame_rate: Option<f64>,
    /// Samples may carry parameter sets that differ from the record: sample entry
    /// `hev1` instead of `hvc1` (§8.4.1.1.1). False when parsed or built.
    pub parameter_sets_in_band: bool,
}

impl HevcConfig {
    /// Parses an HEVCDecoderConfigurationRecord, including its first SPS.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        CodecError::check_size(CODEC, record.len())?;
        let mut r = ByteReader::new(CODEC, record.clone());
        if r.u8("configurationVersion")? != 1 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "configurationVersion != 1",
            });
        }
        let b = r.u8("general_profile_space, tier, profile_idc")?;
        let compatibility_flags = r.u32("general_profile_compatibility_flags")?;
        let hi = u64::from(r.u16("general_constraint_indicator_flags")?);
        let lo = u64::from(r.u32("general_constraint_indicator_flags")?);
        let ptl = ProfileTierLevel {
            profile_space: b >> 6,
            tier_flag: b & 0x20 != 0,
            profile_idc: b & 0x1f,
            compatibility_flags,
            constraint_flags: (hi << 32) | lo,
            level_idc: r.u8("general_level_idc")?,
        };
        // min_spatial_segmentation_idc, parallelismType, chromaFormat, bit depths,
        // avgFrameRate: the SPS is authoritative.
        r.take(8, "min_spatial_segmentation_idc .. avgFrameRate")?;
        let nal_length_size = (r.u8("lengthSizeMinusOne")? & 0x03) + 1;
        if nal_length_size == 3 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "lengthSizeMinusOne = 2",
            });
        }
        let num_arrays = usize::from(r.u8("numOfArrays")?);
        CodecError::check_count(CODEC, "NAL arrays", num_arrays, MAX_NAL_ARRAYS)?;
        let mut arrays = Vec::with_capacity(num_arrays);
        for _ in 0..num_arrays {
            let t = r.u8("NAL_unit_type")?;
            let count = usize::from(r.u16("numNalus")?);
            CodecError::check_count(CODEC, "NAL units in an array", count, MAX_PARAMETER_SETS)?;
            let units = (0..count)
                .map(|_| r.u16_prefixed("nalUnit"))
                .collect::<Result<Vec<_>, _>>()?;
            arrays.push(NalArray {
                complete: t & 0x80 != 0,
                nal_unit_type: t & 0x3f,
                units,
            });
        }
        let sps = arrays
            .iter()
            .filter(|a| a.nal_unit_type == NAL_SPS)
            .flat_map(|a| a.units.first())
            .next()
            .ok_or(CodecError::Invalid {
                codec: CODEC,
                what: "no SPS in record",
            })?;
        let parsed = Sps::parse(sps)?;
        Ok(HevcConfig {
            record,
            ptl,
            nal_length_size,
            arrays,
            width: parsed.width,
            height: parsed.height,
            frame_rate: parsed.frame_rate,
            parameter_sets_in_band: false,
        })
    }

    /// The same configuration described as `hev1`: samples may carry parameter sets
    /// of their own (§8.4.1.1.1).
    pub fn with_parameter_sets_in_band(&self) -> Self {
        Self {
            parameter_sets_in_band: true,
            ..self.clone()
        }
    }

    /// The sample entry type: `hev1` when parameter sets also travel in-band, else
    /// `hvc1`.
    pub fn sample_entry_type(&self) -> &'static [u8; 4] {
        if self.parameter_sets_in_band {
            b"hev1"
        } else {
            b"hvc1"
        }
    }

    /// The record for the `hvcC` box of [`Self::sample_entry_type`], with
    /// `array_completeness` as §8.4.1.1.1 requires: for `hvc1` 1 on the VPS/SPS/PPS
    /// arrays and 0 on the others, for `hev1` 0 everywhere (the default: parameter
    /// sets may also be in the stream). The record itself when it already says so.
    pub fn sample_entry_record(&self) -> Bytes {
        let want =
            |nal_unit_type: u8| !self.parameter_sets_in_band && is_parameter_set(nal_unit_type);
        let rec = &self.record[..];
        let mut flips = Vec::new();
        let count = rec.get(NUM_ARRAYS_OFFSET).copied().unwrap_or(0);
        let mut at = NUM_ARRAYS_OFFSET + 1;
        for _ in 0..count {
            let (Some(&t), Some(n)) = (rec.get(at), rec.get(at + 1..at + 3)) else {
                break;
            };
            if (t & 0x80 != 0) != want(t & 0x3f) {
                flips.push(at);
            }
            at += 3;
            for _ in 0..u16::from_be_bytes([n[0], n[1]]) {
                let Some(len) = rec.get(at..at + 2) else {
                    break;
                };
                at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
            }
        }
        if flips.is_empty() {
            return self.record.clone();
        }
        let mut out = rec.to_vec();
        for at in flips {
            out[at] ^= 0x80;
        }
        out.into()
    }

    /// Builds an `hvcC` record (4-byte NAL lengths, arrays marked complete) from
    /// in-band VPS, SPS and PPS NAL units (NAL header included, no start code).
    pub fn from_parameter_sets(
        vps: &[Bytes],
        sps: &[Bytes],
        pps: &[Bytes],
    ) -> Result<Self, CodecError> {
        for (what, units) in [("VPS", vps), ("SPS", sps), ("PPS", pps)] {
            CodecError::check_count(CODEC, what, units.len(), MAX_PARAMETER_SETS)?;
            if units.is_empty() {
                return Err(CodecError::Invalid {
                    codec: CODEC,
                    what: "a VPS, SPS and PPS are all required",
                });
            }
        }
        let s = Sps::parse(&sps[0])?;
        let p = s.ptl;
        let mut out = BytesMut::new();
        out.put_u8(1);
        out.put_u8((p.profile_space << 6) | (u8::from(p.tier_flag) << 5) | p.profile_idc);
        out.put_u32(p.compatibility_flags);
        out.put_u16((p.constraint_flags >> 32) as u16);
        out.put_u32(p.constraint_flags as u32);
        out.put_u8(p.level_idc);
        out.put_u16(0xf000); // min_spatial_segmentation_idc = 0
        out.put_u8(0xfc); // parallelismType = 0 (unknown)
        out.put_u8(0xfc | (s.chroma_format_idc as u8 & 3));
        out.put_u8(0xf8 | (s.bit_depth_luma_minus8 as u8 & 7));
        out.put_u8(0xf8 | (s.bit_depth_chroma_minus8 as u8 & 7));
        out.put_u16(0); // avgFrameRate: unspecified
                        // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
        out.put_u8(((s.max_sub_layers & 7) << 3) | (u8::from(s.temporal_id_nesting) << 2) | 3);
        out.put_u8(3);
        for (t, units) in [(NAL_VPS, vps), (NAL_SPS, sps), (NAL_PPS, pps)] {
            out.put_u8(0x80 | t); // array_completeness = 1
            out.put_u16(units.len() as u16);
            for unit in units {
                let len = u16::try_from(unit.len()).map_err(|_| CodecError::Invalid {
                    codec: CODEC,
                    what: "parameter set longer than 65535 bytes",
                })?;
                out.put_u16(len);
                out.put_slice(unit);
            }
        }
        Self::parse(out.freeze())
    }

    /// The NAL units of one type across all arrays (e.g. 33 for the SPS).
    pub fn units(&self, nal_unit_type: u8) -> impl Iterator<Item = &Bytes> {
        self.arrays
            .iter()
            .filter(move |a| a.nal_unit_type == nal_unit_type)
            .flat_map(|a| a.units.iter())
    }

    /// `hvc1.1.6.L120.90` style (ISO/IEC 14496-15 Annex E.3, `hev1.` when parameter
    /// sets travel in-band): profile space letter
    /// (none, A, B, C) + profile_idc; the 32 compatibility flags bit-reversed in hex;
    /// `L`/`H` tier + level_idc; the six constraint bytes in hex, trailing zero bytes
    /// omitted.
    pub fn codec_string(&self) -> String {
        let p = &self.ptl;
        let space = ["", "A", "B", "C"][usize::from(p.profile_space & 3)];
        let tier = if p.tier_flag { 'H' } else { 'L' };
        let entry = String::from_utf8_lossy(self.sample_entry_type());
        let mut s = format!(
            "{entry}.{space}{}.{:X}.{tier}{}",
            p.profile_idc,
            p.compatibility_flags.reverse_bits(),
            p.level_idc
        );
        let bytes = p.constraint_flags.to_be_bytes();
        let constraint = &bytes[2..];
        let keep = constraint
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        for b in &constraint[..keep] {
            s.push_str(&format!(".{b:X}"));
        }
        s
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

#[cfg(test)]
#[path = "hevc_tests.rs"]
mod tests;
