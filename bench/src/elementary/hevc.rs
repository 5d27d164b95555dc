//! # HEVC Annex B → hvcC + length-prefixed access units
//!
//! NAL units are found by start codes (H.265 Annex B). An access unit starts
//! (§7.4.2.4.4) at an AUD, a VPS/SPS/PPS or prefix SEI after a VCL NAL of the
//! current unit, or a VCL NAL whose `first_slice_segment_in_pic_flag` is set
//! after a VCL NAL. Parameter sets and AUDs are moved out of the samples into
//! the HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1), which is
//! what FourCC `hvc1` promises. Key frames are IRAP pictures (types 16–23).
//!
//! Timing: pictures are assumed in presentation order (x265 `-bf 0`), so
//! DTS = PTS = index / fps and the composition offset is 0.

use super::bits::{unescape_rbsp, BitReader};
use super::{AccessUnit, EsError};

const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;
const AUD: u8 = 35;
const PREFIX_SEI: u8 = 39;

/// An HEVC stream ready for Enhanced RTMP.
#[derive(Debug, Clone)]
pub struct HevcStream {
    /// The HEVCDecoderConfigurationRecord.
    pub record: Vec<u8>,
    /// Luma width from the SPS (before cropping).
    pub width: u32,
    /// Luma height from the SPS (before cropping).
    pub height: u32,
    /// Access units in decode order.
    pub units: Vec<AccessUnit>,
}

fn nal_type(nal: &[u8]) -> u8 {
    (nal[0] >> 1) & 0x3F
}

/// Splits Annex B bytes into NAL units (start codes removed).
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |n| n - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        if end > s + 1 {
            nals.push(&data[s..end]);
        }
    }
    nals
}

/// What the record needs from the SPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpsInfo {
    /// The 12 bytes of general profile_tier_level (space/tier/idc, 32
    /// compatibility flags, 48 constraint bits, level).
    pub general_ptl: [u8; 12],
    /// sps_max_sub_layers_minus1 + 1.
    pub temporal_layers: u8,
    /// sps_temporal_id_nesting_flag.
    pub temporal_id_nested: bool,
    /// chroma_format_idc.
    pub chroma_format_idc: u8,
    /// bit_depth_luma_minus8.
    pub bit_depth_luma_minus8: u8,
    /// bit_depth_chroma_minus8.
    pub bit_depth_chroma_minus8: u8,
    /// pic_width_in_luma_samples.
    pub width: u32,
    /// pic_height_in_luma_samples.
    pub height: u32,
}

/// Parses the SPS fields of H.265 §7.3.2.2.1 up to the bit depths.
pub fn parse_sps(nal: &[u8]) -> Result<SpsInfo, EsError> {
    let rbsp = unescape_rbsp(nal.get(2..).ok_or(EsError::Truncated("SPS"))?);
    let mut r = BitReader::new(&rbsp, "SPS");
    r.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)? as usize;
    let nesting = r.bit()?;
    let general_ptl: [u8; 12] = rbsp
        .get(1..13)
        .ok_or(EsError::Truncated("SPS"))?
        .try_into()
        .expect("12");
    r.skip(96)?;
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        present.push((r.bit()?, r.bit()?));
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1))?;
    }
    for (profile, level) in present {
        r.skip(if profile { 88 } else { 0 } + if level { 8 } else { 0 })?;
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc > 3 {
        return Err(EsError::Invalid("chroma_format_idc"));
    }
    if chroma_format_idc == 3 {
        r.skip(1)?;
    }
    let width = r.ue()? as u32;
    let height = r.ue()? as u32;
    if r.bit()? {
        for _ in 0..4 {
            r.ue()?;
        }
    }
    let luma = r.ue()?;
    let chroma = r.ue()?;
    if luma > 8 || chroma > 8 {
        return Err(EsError::Invalid("bit depth"));
    }
    Ok(SpsInfo {
        general_ptl,
        temporal_layers: max_sub_layers_minus1 as u8 + 1,
        temporal_id_nested: nesting,
        chroma_format_idc: chroma_format_idc as u8,
        bit_depth_luma_minus8: luma as u8,
        bit_depth_chroma_minus8: chroma as u8,
        width,
        height,
    })
}

/// Builds the HEVCDecoderConfigurationRecord with 4-byte NAL lengths.
pub fn build_hvcc(sps: &SpsInfo, vps: &[u8], sps_nal: &[u8], pps: &[u8]) -> Vec<u8> {
    let mut r = vec![1];
    r.extend_from_slice(&sps.general_ptl);
    r.extend_from_slice(&[0xF0, 0x00]); // reserved + min_spatial_segmentation_idc 0
    r.push(0xFC); // reserved + parallelismType 0 (unknown)
    r.push(0xFC | sps.chroma_format_idc);
    r.push(0xF8 | sps.bit_depth_luma_minus8);
    r.push(0xF8 | sps.bit_depth_chroma_minus8);
    r.extend_from_slice(&[0, 0]); // avgFrameRate unspecified
    r.push((sps.temporal_layers & 7) << 3 | u8::from(sps.temporal_id_nested) << 2 | 3);
    r.push(3);
    for (ty, nal) in [(VPS, vps), (SPS, sps_nal), (PPS, pps)] {
        r.push(0x80 | ty); // array_completeness = 1
        r.extend_from_slice(&1u16.to_be_bytes());
        r.extend_from_slice(&(nal.len() as u16).to_be_bytes());
        r.extend_from_slice(nal);
    }
    r
}

/// Reads a whole Annex B file into an [`HevcStream`] at `fps`.
pub fn read_annex_b(data: &[u8], fps: f64) -> Result<HevcStream, EsError> {
    let mut params: [Option<&[u8]>; 3] = [None; 3];
    let mut units: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut current: Option<(bool, Vec<u8>)> = None;
    let mut has_vcl = false;
    for nal in split_annex_b(data) {
        let ty = nal_type(nal);
        let vcl = ty < 32;
        let first_slice = vcl && nal.get(2).is_some_and(|b| b & 0x80 != 0);
        let starts_au = has_vcl && ((VPS..=AUD).contains(&ty) || ty == PREFIX_SEI || first_slice);
        if starts_au {
            units.extend(current.take());
            has_vcl = false;
        }
        if (VPS..=PPS).contains(&ty) {
            let slot = &mut params[usize::from(ty - VPS)];
            slot.get_or_insert(nal);
        }
        if (VPS..=AUD).contains(&ty) {
            continue;
        }
        let au = current.get_or_insert_with(|| (false, Vec::new()));
        au.0 |= (16..=23).contains(&ty);
        au.1.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        au.1.extend_from_slice(nal);
        has_vcl |= vcl;
    }
    units.extend(current.take());
    let vps = params[0].ok_or(EsError::Missing("VPS"))?;
    let sps_nal = params[1].ok_or(EsError::Missing("SPS"))?;
    let pps = params[2].ok_or(EsError::Missing("PPS"))?;
    let sps = parse_sps(sps_nal)?;
    let units = units
        .into_iter()
        .enumerate()
        .map(|(i, (key, data))| AccessUnit {
            dts_ms: (i as f64 * 1000.0 / fps).round() as u64,
            cts_ms: 0,
            key,
            data,
        })
        .collect();
    Ok(HevcStream {
        record: build_hvcc(&sps, vps, sps_nal, pps),
        width: sps.width,
        height: sps.height,
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // VPS/SPS/PPS of x265 (ffmpeg testsrc2 640x360, Main 8-bit 4:2:0, level 2.1).
    const VPS_NAL: &[u8] = &[
        0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0x92, 0x80, 0x90,
    ];
    const SPS_NAL: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01, 0x69, 0x65, 0x92, 0xa4, 0x93, 0x2b, 0xc0, 0x5a,
        0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x10,
    ];
    const PPS_NAL: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40];

    #[test]
    fn sps_of_a_main_profile_stream() {
        let sps = parse_sps(SPS_NAL).unwrap();
        assert_eq!((sps.width, sps.height), (640, 360));
        assert_eq!(sps.chroma_format_idc, 1);
        assert_eq!(
            (sps.bit_depth_luma_minus8, sps.bit_depth_chroma_minus8),
            (0, 0)
        );
        assert_eq!(sps.general_ptl[0], 0x01); // space 0, tier 0, Main
        assert_eq!(sps.general_ptl[11], 63); // level 2.1
        assert_eq!(&sps.general_ptl[1..5], [0x60, 0, 0, 0]);
        let rec = build_hvcc(&sps, VPS_NAL, SPS_NAL, PPS_NAL);
        assert_eq!(&rec[..2], [1, 0x01]);
        assert_eq!(
            &rec[13..23],
            [0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 3]
        );
        assert_eq!(rec[23], 0x80 | VPS);
    }

    #[test]
    fn access_units_split_at_first_slice_and_drop_parameter_sets() {
        let mut es = Vec::new();
        for nal in [
            VPS_NAL,
            SPS_NAL,
            PPS_NAL,
            &[0x26, 0x01, 0x80, 0xAA],
            &[0x02, 0x01, 0x80, 0xBB],
            &[0x02, 0x01, 0x00, 0xCC],
        ] {
            es.extend_from_slice(&[0, 0, 0, 1]);
            es.extend_from_slice(nal);
        }
        let s = read_annex_b(&es, 25.0).unwrap();
        assert_eq!(s.units.len(), 2);
        assert!(s.units[0].key && !s.units[1].key);
        assert_eq!(s.units[0].data, [0, 0, 0, 4, 0x26, 0x01, 0x80, 0xAA]);
        assert_eq!(s.units[1].data.len(), 16);
        assert_eq!(s.units[1].dts_ms, 40);
    }
}
