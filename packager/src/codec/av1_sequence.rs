//! The AV1 sequence header OBU (AV1 Bitstream & Decoding Process §5.5) up to and
//! including `color_config()`, and the OBU framing (§5.3) needed to find it in
//! `configOBUs`.

use super::bitreader::{BitError, BitReader};
use super::CodecError;

const CODEC: &str = "AV1 sequence header";

/// `OBU_SEQUENCE_HEADER` (§6.2.2).
const OBU_SEQUENCE_HEADER: u8 = 1;
/// Longest `leb128()` accepted (§4.10.5: 8 bytes).
const MAX_LEB128_BYTES: usize = 8;
/// Most OBUs walked in `configOBUs`.
pub(crate) const MAX_CONFIG_OBUS: usize = 16;

/// What the packager needs from a sequence header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequenceHeader {
    /// `seq_profile`.
    pub profile: u8,
    /// `max_frame_width_minus_1 + 1`: the largest (and, without superres or frame
    /// size override, the only) frame width.
    pub max_width: u32,
    /// `max_frame_height_minus_1 + 1`.
    pub max_height: u32,
    /// From `timing_info()` with `equal_picture_interval`.
    pub frame_rate: Option<f64>,
    /// `color_primaries` (2 = unspecified when no colour description).
    pub color_primaries: u8,
    /// `transfer_characteristics`.
    pub transfer_characteristics: u8,
    /// `matrix_coefficients`.
    pub matrix_coefficients: u8,
    /// `color_range` (full range).
    pub full_range: bool,
}

/// `leb128()` (§4.10.5) from a byte slice: value and bytes used.
fn leb128(data: &[u8]) -> Result<(u64, usize), CodecError> {
    let mut value = 0u64;
    for i in 0..MAX_LEB128_BYTES {
        let b = *data.get(i).ok_or(CodecError::Truncated {
            codec: CODEC,
            what: "leb128",
        })?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(CodecError::Invalid {
        codec: CODEC,
        what: "leb128 longer than 8 bytes",
    })
}

/// Finds the first sequence header OBU in `obus` (§5.3.1 `open_bitstream_unit`) and
/// returns its payload.
pub(crate) fn find_sequence_header(mut obus: &[u8]) -> Result<Option<&[u8]>, CodecError> {
    for _ in 0..MAX_CONFIG_OBUS {
        let Some(&header) = obus.first() else {
            return Ok(None);
        };
        let obu_type = (header >> 3) & 0x0f;
        let mut at = 1 + usize::from(header & 0x04 != 0); // obu_extension_flag
        let size = if header & 0x02 != 0 {
            let (size, used) = leb128(obus.get(at..).unwrap_or_default())?;
            at += used;
            usize::try_from(size).map_err(|_| CodecError::Invalid {
                codec: CODEC,
                what: "obu_size",
            })?
        } else {
            obus.len().saturating_sub(at)
        };
        let payload = obus
            .get(at..at.saturating_add(size))
            .ok_or(CodecError::Truncated {
                codec: CODEC,
                what: "OBU payload",
            })?;
        if obu_type == OBU_SEQUENCE_HEADER {
            return Ok(Some(payload));
        }
        obus = &obus[at + size..];
    }
    Ok(None)
}

/// `uvlc()` (§4.10.3).
fn uvlc(r: &mut BitReader<'_>) -> Result<u32, BitError> {
    let mut leading_zeros = 0;
    while !r.bit()? {
        leading_zeros += 1;
        if leading_zeros >= 32 {
            return Ok(u32::MAX);
        }
    }
    Ok(r.bits32(leading_zeros)? + ((1u32 << leading_zeros) - 1))
}

impl SequenceHeader {
    /// Parses `sequence_header_obu()` (§5.5.1) from an OBU payload.
    pub fn parse(payload: &[u8]) -> Result<Self, CodecError> {
        let mut r = BitReader::new(payload);
        let h = parse_bits(&mut r).map_err(CodecError::bits(CODEC, "sequence_header_obu"))?;
        CodecError::check_picture(CODEC, u64::from(h.max_width), u64::from(h.max_height))?;
        Ok(h)
    }
}

fn parse_bits(r: &mut BitReader<'_>) -> Result<SequenceHeader, BitError> {
    let profile = r.bits32(3)? as u8;
    r.skip(1)?; // still_picture
    let reduced = r.bit()?;
    let mut frame_rate = None;
    if reduced {
        r.skip(5)?; // seq_level_idx[0]
    } else {
        let mut buffer_delay_length = 0;
        let timing_info_present = r.bit()?;
        let mut decoder_model_info_present = false;
        if timing_info_present {
            let units = r.bits32(32)?;
            let time_scale = r.bits32(32)?;
            if r.bit()? {
                let ticks = u64::from(uvlc(r)?) + 1;
                if units > 0 && time_scale > 0 {
                    frame_rate = Some(f64::from(time_scale) / (f64::from(units) * ticks as f64));
                }
            }
            decoder_model_info_present = r.bit()?;
            if decoder_model_info_present {
                buffer_delay_length = r.bits32(5)? + 1;
                r.skip(32 + 5 + 5)?;
            }
        }
        let initial_display_delay_present = r.bit()?;
        let operating_points = r.bits32(5)? + 1;
        for _ in 0..operating_points {
            r.skip(12)?; // operating_point_idc
            if r.bits32(5)? > 7 {
                r.skip(1)?; // seq_tier
            }
            if decoder_model_info_present && r.bit()? {
                r.skip(2 * buffer_delay_length as usize + 1)?;
            }
            if initial_display_delay_present && r.bit()? {
                r.skip(4)?;
            }
        }
    }
    let width_bits = r.bits32(4)? + 1;
    let height_bits = r.bits32(4)? + 1;
    let max_width = r.bits32(width_bits)? + 1;
    let max_height = r.bits32(height_bits)? + 1;
    if !reduced && r.bit()? {
        r.skip(4 + 3)?; // delta_frame_id_length_minus_2, additional_frame_id_length_minus_1
    }
    r.skip(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if !reduced {
        r.skip(4)?; // interintra, masked compound, warped motion, dual filter
        let order_hint = r.bit()?;
        if order_hint {
            r.skip(2)?; // enable_jnt_comp, enable_ref_frame_mvs
        }
        let force_screen_content_tools = if r.bit()? { 2 } else { r.bits32(1)? };
        if force_screen_content_tools > 0 && !r.bit()? {
            r.skip(1)?; // seq_force_integer_mv
        }
        if order_hint {
            r.skip(3)?; // order_hint_bits_minus_1
        }
    }
    r.skip(3)?; // enable_superres, enable_cdef, enable_restoration
                // color_config() (§5.5.2).
    let high_bitdepth = r.bit()?;
    if profile == 2 && high_bitdepth {
        r.skip(1)?; // twelve_bit
    }
    let mono = profile != 1 && r.bit()?;
    let (mut cp, mut tc, mut mc) = (2, 2, 2);
    if r.bit()? {
        cp = r.bits32(8)? as u8;
        tc = r.bits32(8)? as u8;
        mc = r.bits32(8)? as u8;
    }
    // sRGB (BT.709 primaries, sRGB transfer, identity matrix) is implicitly full range.
    let full_range = if !mono && cp == 1 && tc == 13 && mc == 0 {
        true
    } else {
        r.bit()?
    };
    Ok(SequenceHeader {
        profile,
        max_width,
        max_height,
        frame_rate,
        color_primaries: cp,
        transfer_characteristics: tc,
        matrix_coefficients: mc,
        full_range,
    })
}
