//! The H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1) and the part of its VUI
//! (Annex E.1.1) that carries timing: enough to know profile, level, chroma format,
//! the cropped picture size and the frame rate.
//!
//! Every syntax element up to `vui_parameters()` is parsed, including the high-profile
//! chroma/bit-depth fields and scaling lists, because they shift every later bit.

use super::bitreader::{nal_to_rbsp, BitReader};
use super::CodecError;

const CODEC: &str = "H.264 SPS";

/// Most entries accepted in `offset_for_ref_frame[]` (§7.4.2.1.1 caps it at 255).
const MAX_REF_FRAMES_IN_POC_CYCLE: u32 = 255;

/// The facts the packager needs from an SPS.
#[derive(Debug, Clone, PartialEq)]
pub struct Sps {
    /// `profile_idc`.
    pub profile_idc: u8,
    /// `constraint_set0..5_flag` + reserved bits, as one byte.
    pub constraint_flags: u8,
    /// `level_idc`.
    pub level_idc: u8,
    /// `chroma_format_idc` (1 = 4:2:0 when absent).
    pub chroma_format_idc: u32,
    /// `bit_depth_luma_minus8`.
    pub bit_depth_luma_minus8: u32,
    /// `bit_depth_chroma_minus8`.
    pub bit_depth_chroma_minus8: u32,
    /// Width after frame cropping (§7.4.2.1.1 `frame_crop_*_offset`).
    pub width: u32,
    /// Height after frame cropping.
    pub height: u32,
    /// `time_scale / (2 * num_units_in_tick)` when VUI timing info is present.
    pub frame_rate: Option<f64>,
}

/// Profiles whose SPS carries `chroma_format_idc` and friends (§7.3.2.1.1).
fn has_chroma_info(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// `scaling_list()` (§7.3.2.1.1.1): only walked to stay in sync.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), CodecError> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se().map_err(CodecError::bits(CODEC, "delta_scale"))?;
            next = (last + delta).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

impl Sps {
    /// Parses an SPS NAL unit (with its one-byte NAL header, emulation prevention
    /// bytes still in place).
    pub fn parse(nal: &[u8]) -> Result<Self, CodecError> {
        let rbsp = nal_to_rbsp(nal);
        let mut r = BitReader::new(&rbsp);
        let e = |what| CodecError::bits(CODEC, what);
        let header = r.bits32(8).map_err(e("nal header"))?;
        if header & 0x1f != 7 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "nal_unit_type is not 7",
            });
        }
        let profile_idc = r.bits32(8).map_err(e("profile_idc"))? as u8;
        let constraint_flags = r.bits32(8).map_err(e("constraint flags"))? as u8;
        let level_idc = r.bits32(8).map_err(e("level_idc"))? as u8;
        r.ue().map_err(e("seq_parameter_set_id"))?;

        let (mut chroma_format_idc, mut separate_colour_plane) = (1, false);
        let (mut bit_depth_luma_minus8, mut bit_depth_chroma_minus8) = (0, 0);
        if has_chroma_info(profile_idc) {
            chroma_format_idc = r.ue().map_err(e("chroma_format_idc"))?;
            if chroma_format_idc > 3 {
                return Err(CodecError::Invalid {
                    codec: CODEC,
                    what: "chroma_format_idc > 3",
                });
            }
            if chroma_format_idc == 3 {
                separate_colour_plane = r.bit().map_err(e("separate_colour_plane_flag"))?;
            }
            bit_depth_luma_minus8 = r.ue().map_err(e("bit_depth_luma_minus8"))?;
            bit_depth_chroma_minus8 = r.ue().map_err(e("bit_depth_chroma_minus8"))?;
            r.bit().map_err(e("qpprime_y_zero_transform_bypass_flag"))?;
            if r.bit().map_err(e("seq_scaling_matrix_present_flag"))? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.bit().map_err(e("seq_scaling_list_present_flag"))? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        r.ue().map_err(e("log2_max_frame_num_minus4"))?;
        match r.ue().map_err(e("pic_order_cnt_type"))? {
            0 => {
                r.ue().map_err(e("log2_max_pic_order_cnt_lsb_minus4"))?;
            }
            1 => {
                r.bit().map_err(e("delta_pic_order_always_zero_flag"))?;
                r.se().map_err(e("offset_for_non_ref_pic"))?;
                r.se().map_err(e("offset_for_top_to_bottom_field"))?;
                let n = r.ue().map_err(e("num_ref_frames_in_pic_order_cnt_cycle"))?;
                if n > MAX_REF_FRAMES_IN_POC_CYCLE {
                    return Err(CodecError::Invalid {
                        codec: CODEC,
                        what: "num_ref_frames_in_pic_order_cnt_cycle > 255",
                    });
                }
                for _ in 0..n {
                    r.se().map_err(e("offset_for_ref_frame"))?;
                }
            }
            2 => {}
            _ => {
                return Err(CodecError::Invalid {
                    codec: CODEC,
                    what: "pic_order_cnt_type > 2",
                })
            }
        }
        r.ue().map_err(e("max_num_ref_frames"))?;
        r.bit().map_err(e("gaps_in_frame_num_value_allowed_flag"))?;
        let width_mbs = u64::from(r.ue().map_err(e("pic_width_in_mbs_minus1"))?) + 1;
        let height_map_units = u64::from(r.ue().map_err(e("pic_height_in_map_units_minus1"))?) + 1;
        let frame_mbs_only = r.bit().map_err(e("frame_mbs_only_flag"))?;
        if !frame_mbs_only {
            r.bit().map_err(e("mb_adaptive_frame_field_flag"))?;
        }
        r.bit().map_err(e("direct_8x8_inference_flag"))?;
        let field_factor = if frame_mbs_only { 1 } else { 2 };
        let coded_w = width_mbs * 16;
        let coded_h = height_map_units * 16 * field_factor;
        // §7.4.2.1.1, equations 7-19..7-22: crop units depend on ChromaArrayType.
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (crop_x, crop_y) = match chroma_array_type {
            0 => (1, field_factor),
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        let (mut crop_w, mut crop_h) = (0u64, 0u64);
        if r.bit().map_err(e("frame_cropping_flag"))? {
            let left = u64::from(r.ue().map_err(e("frame_crop_left_offset"))?);
            let right = u64::from(r.ue().map_err(e("frame_crop_right_offset"))?);
            let top = u64::from(r.ue().map_err(e("frame_crop_top_offset"))?);
            let bottom = u64::from(r.ue().map_err(e("frame_crop_bottom_offset"))?);
            crop_w = crop_x * (left + right);
            crop_h = crop_y * (top + bottom);
        }
        if crop_w >= coded_w || crop_h >= coded_h {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "frame cropping removes the whole picture",
            });
        }
        let (width, height) = CodecError::check_picture(CODEC, coded_w - crop_w, coded_h - crop_h)?;
        // A truncated or odd VUI must not reject a stream whose size we already know.
        let frame_rate = match r.bit() {
            Ok(true) => parse_vui_timing(&mut r).unwrap_or(None),
            _ => None,
        };
        Ok(Sps {
            profile_idc,
            constraint_flags,
            level_idc,
            chroma_format_idc,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            width,
            height,
            frame_rate,
        })
    }
}

/// `vui_parameters()` (Annex E.1.1) up to `timing_info`.
fn parse_vui_timing(r: &mut BitReader<'_>) -> Result<Option<f64>, super::bitreader::BitError> {
    if r.bit()? {
        // aspect_ratio_info_present_flag; 255 = Extended_SAR.
        if r.bits32(8)? == 255 {
            r.skip(32)?;
        }
    }
    if r.bit()? {
        r.skip(1)?; // overscan_appropriate_flag
    }
    if r.bit()? {
        r.skip(4)?; // video_format, video_full_range_flag
        if r.bit()? {
            r.skip(24)?; // colour_primaries, transfer_characteristics, matrix_coefficients
        }
    }
    if r.bit()? {
        r.ue()?; // chroma_sample_loc_type_top_field
        r.ue()?; // chroma_sample_loc_type_bottom_field
    }
    if !r.bit()? {
        return Ok(None);
    }
    let num_units_in_tick = r.bits32(32)?;
    let time_scale = r.bits32(32)?;
    if num_units_in_tick == 0 || time_scale == 0 {
        return Ok(None);
    }
    // E.2.1: one frame lasts two ticks (a tick is a field period).
    Ok(Some(
        f64::from(time_scale) / (2.0 * f64::from(num_units_in_tick)),
    ))
}
