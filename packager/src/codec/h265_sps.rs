//! The H.265 sequence parameter set (ITU-T H.265 §7.3.2.2.1): profile_tier_level
//! (§7.3.3), the conformance-window-cropped picture size, and, best effort, the VUI
//! timing info (Annex E.2.1) for the frame rate.
//!
//! Reaching the VUI means walking every syntax element before it, including the
//! scaling lists (§7.3.4) and the short-term reference picture sets (§7.3.7).
//! A failure after the picture size only loses the frame rate.

use super::bitreader::{nal_to_rbsp, BitError, BitReader};
use super::CodecError;

const CODEC: &str = "H.265 SPS";

/// Most short-term RPS in an SPS (§7.4.3.2.1: 0..=64).
const MAX_SHORT_TERM_RPS: u32 = 64;
/// Most negative or positive pictures in one RPS (bounded by the DPB size, 16).
const MAX_RPS_PICTURES: u32 = 16;
/// Most long-term reference pictures in an SPS (§7.4.3.2.1: 0..=32).
const MAX_LONG_TERM_REF_PICS: u32 = 32;

/// The general `profile_tier_level()` fields (§7.3.3), as `hvcC` repeats them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileTierLevel {
    /// `general_profile_space` (0–3).
    pub profile_space: u8,
    /// `general_tier_flag` (false = Main tier, true = High tier).
    pub tier_flag: bool,
    /// `general_profile_idc`.
    pub profile_idc: u8,
    /// `general_profile_compatibility_flag[0..32]`, flag 0 in the most significant bit.
    pub compatibility_flags: u32,
    /// The 48 bits from `general_progressive_source_flag` on, in the low 48 bits.
    pub constraint_flags: u64,
    /// `general_level_idc` (30 × level, e.g. 93 = level 3.1).
    pub level_idc: u8,
}

/// The facts the packager needs from an SPS.
#[derive(Debug, Clone, PartialEq)]
pub struct Sps {
    /// General profile, tier and level.
    pub ptl: ProfileTierLevel,
    /// `sps_max_sub_layers_minus1` + 1.
    pub max_sub_layers: u8,
    /// `sps_temporal_id_nesting_flag`.
    pub temporal_id_nesting: bool,
    /// `chroma_format_idc`.
    pub chroma_format_idc: u32,
    /// `bit_depth_luma_minus8`.
    pub bit_depth_luma_minus8: u32,
    /// `bit_depth_chroma_minus8`.
    pub bit_depth_chroma_minus8: u32,
    /// Width after the conformance window.
    pub width: u32,
    /// Height after the conformance window.
    pub height: u32,
    /// `time_scale / num_units_in_tick` from the VUI, when present and reachable.
    pub frame_rate: Option<f64>,
}

impl Sps {
    /// Parses an SPS NAL unit (2-byte NAL header included, emulation prevention in place).
    pub fn parse(nal: &[u8]) -> Result<Self, CodecError> {
        let rbsp = nal_to_rbsp(nal);
        let mut r = BitReader::new(&rbsp);
        let e = |what| CodecError::bits(CODEC, what);
        let header = r.bits32(16).map_err(e("nal header"))?;
        if (header >> 9) & 0x3f != 33 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "nal_unit_type is not 33",
            });
        }
        r.skip(4).map_err(e("sps_video_parameter_set_id"))?;
        let max_sub_layers_minus1 = r.bits32(3).map_err(e("sps_max_sub_layers_minus1"))?;
        let temporal_id_nesting = r.bit().map_err(e("sps_temporal_id_nesting_flag"))?;
        let ptl =
            profile_tier_level(&mut r, max_sub_layers_minus1).map_err(e("profile_tier_level"))?;
        r.ue().map_err(e("sps_seq_parameter_set_id"))?;
        let chroma_format_idc = r.ue().map_err(e("chroma_format_idc"))?;
        if chroma_format_idc > 3 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "chroma_format_idc > 3",
            });
        }
        let separate_colour_plane =
            chroma_format_idc == 3 && r.bit().map_err(e("separate_colour_plane_flag"))?;
        let pic_w = u64::from(r.ue().map_err(e("pic_width_in_luma_samples"))?);
        let pic_h = u64::from(r.ue().map_err(e("pic_height_in_luma_samples"))?);
        // Table 6-1: SubWidthC, SubHeightC by ChromaArrayType.
        let (sub_w, sub_h) = match (separate_colour_plane, chroma_format_idc) {
            (false, 1) => (2, 2),
            (false, 2) => (2, 1),
            _ => (1, 1),
        };
        let (mut crop_w, mut crop_h) = (0u64, 0u64);
        if r.bit().map_err(e("conformance_window_flag"))? {
            let mut offset = || r.ue().map(u64::from).map_err(e("conf_win_offset"));
            let (left, right, top, bottom) = (offset()?, offset()?, offset()?, offset()?);
            crop_w = sub_w * (left + right);
            crop_h = sub_h * (top + bottom);
        }
        if pic_w == 0 || pic_h == 0 || crop_w >= pic_w || crop_h >= pic_h {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "empty picture after conformance window",
            });
        }
        let (width, height) = CodecError::check_picture(CODEC, pic_w - crop_w, pic_h - crop_h)?;
        let bit_depth_luma_minus8 = r.ue().map_err(e("bit_depth_luma_minus8"))?;
        let bit_depth_chroma_minus8 = r.ue().map_err(e("bit_depth_chroma_minus8"))?;
        let frame_rate = vui_frame_rate(&mut r, max_sub_layers_minus1).unwrap_or(None);
        Ok(Sps {
            ptl,
            max_sub_layers: max_sub_layers_minus1 as u8 + 1,
            temporal_id_nesting,
            chroma_format_idc,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            width,
            height,
            frame_rate,
        })
    }
}

/// `profile_tier_level(1, sps_max_sub_layers_minus1)` (§7.3.3).
fn profile_tier_level(
    r: &mut BitReader<'_>,
    max_sub_layers_minus1: u32,
) -> Result<ProfileTierLevel, BitError> {
    let profile_space = r.bits32(2)? as u8;
    let tier_flag = r.bit()?;
    let profile_idc = r.bits32(5)? as u8;
    let compatibility_flags = r.bits32(32)?;
    let constraint_flags = r.bits(48)?;
    let level_idc = r.bits32(8)? as u8;
    let mut present = Vec::with_capacity(max_sub_layers_minus1 as usize);
    for _ in 0..max_sub_layers_minus1 {
        present.push((r.bit()?, r.bit()?));
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1 as usize))?; // reserved_zero_2bits
    }
    for (profile, level) in present {
        r.skip(if profile { 88 } else { 0 } + if level { 8 } else { 0 })?;
    }
    Ok(ProfileTierLevel {
        profile_space,
        tier_flag,
        profile_idc,
        compatibility_flags,
        constraint_flags,
        level_idc,
    })
}

/// Walks from `log2_max_pic_order_cnt_lsb_minus4` to the VUI timing info.
fn vui_frame_rate(
    r: &mut BitReader<'_>,
    max_sub_layers_minus1: u32,
) -> Result<Option<f64>, BitError> {
    let log2_max_poc_lsb = r.ue()? + 4;
    let all_layers = r.bit()?; // sps_sub_layer_ordering_info_present_flag
    let first = if all_layers { 0 } else { max_sub_layers_minus1 };
    for _ in first..=max_sub_layers_minus1 {
        r.ue()?; // sps_max_dec_pic_buffering_minus1
        r.ue()?; // sps_max_num_reorder_pics
        r.ue()?; // sps_max_latency_increase_plus1
    }
    for _ in 0..6 {
        r.ue()?; // coding/transform block sizes and hierarchy depths
    }
    if r.bit()? && r.bit()? {
        skip_scaling_list_data(r)?;
    }
    r.skip(2)?; // amp_enabled_flag, sample_adaptive_offset_enabled_flag
    if r.bit()? {
        r.skip(8)?; // pcm_sample_bit_depth_luma/chroma_minus1
        r.ue()?;
        r.ue()?;
        r.skip(1)?; // pcm_loop_filter_disabled_flag
    }
    let num_rps = r.ue()?;
    if num_rps > MAX_SHORT_TERM_RPS {
        return Err(BitError::Eof);
    }
    let mut delta_pocs = Vec::with_capacity(num_rps as usize);
    for idx in 0..num_rps as usize {
        let n = st_ref_pic_set(r, idx, &delta_pocs)?;
        delta_pocs.push(n);
    }
    if r.bit()? {
        let n = r.ue()?;
        if n > MAX_LONG_TERM_REF_PICS {
            return Err(BitError::Eof);
        }
        for _ in 0..n {
            r.skip(log2_max_poc_lsb as usize + 1)?; // lt_ref_pic_poc_lsb_sps, used_by_curr
        }
    }
    r.skip(2)?; // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
    if !r.bit()? {
        return Ok(None);
    }
    // vui_parameters() (E.2.1).
    if r.bit()? && r.bits32(8)? == 255 {
        r.skip(32)?; // sar_width, sar_height
    }
    if r.bit()? {
        r.skip(1)?;
    }
    if r.bit()? {
        r.skip(4)?;
        if r.bit()? {
            r.skip(24)?;
        }
    }
    if r.bit()? {
        r.ue()?;
        r.ue()?;
    }
    r.skip(3)?; // neutral_chroma_indication, field_seq, frame_field_info_present
    if r.bit()? {
        for _ in 0..4 {
            r.ue()?; // def_disp_win_*_offset
        }
    }
    if !r.bit()? {
        return Ok(None);
    }
    let num_units_in_tick = r.bits32(32)?;
    let time_scale = r.bits32(32)?;
    if num_units_in_tick == 0 || time_scale == 0 {
        return Ok(None);
    }
    Ok(Some(f64::from(time_scale) / f64::from(num_units_in_tick)))
}

/// `scaling_list_data()` (§7.3.4), skipped.
fn skip_scaling_list_data(r: &mut BitReader<'_>) -> Result<(), BitError> {
    for size_id in 0..4u32 {
        let step = if size_id == 3 { 3 } else { 1 };
        for _ in (0..6).step_by(step) {
            if !r.bit()? {
                r.ue()?; // scaling_list_pred_matrix_id_delta
                continue;
            }
            let coefs = 64.min(1 << (4 + (size_id << 1)));
            if size_id > 1 {
                r.se()?; // scaling_list_dc_coef_minus8
            }
            for _ in 0..coefs {
                r.se()?;
            }
        }
    }
    Ok(())
}

/// `st_ref_pic_set(idx)` (§7.3.7) inside the SPS; returns NumDeltaPocs[idx].
fn st_ref_pic_set(r: &mut BitReader<'_>, idx: usize, delta_pocs: &[u32]) -> Result<u32, BitError> {
    if idx != 0 && r.bit()? {
        // inter_ref_pic_set_prediction_flag: in the SPS, RefRpsIdx = idx - 1.
        r.skip(1)?; // delta_rps_sign
        r.ue()?; // abs_delta_rps_minus1
        let reference = delta_pocs[idx - 1];
        let mut n = 0;
        for _ in 0..=reference {
            let used = r.bit()?;
            let use_delta = used || r.bit()?;
            n += u32::from(use_delta);
        }
        return Ok(n);
    }
    let negative = r.ue()?;
    let positive = r.ue()?;
    if negative > MAX_RPS_PICTURES || positive > MAX_RPS_PICTURES {
        return Err(BitError::Eof);
    }
    for _ in 0..negative + positive {
        r.ue()?; // delta_poc_sX_minus1
        r.skip(1)?; // used_by_curr_pic_sX_flag
    }
    Ok(negative + positive)
}
