//! # AV1 IVF / low-overhead OBU → av1C + temporal units
//!
//! Each IVF frame is one temporal unit (TU); a `.obu` file (ffmpeg `-f obu`,
//! AV1 §5 low-overhead format) is split into TUs at temporal delimiters.
//! Temporal delimiters are dropped and every OBU is rewritten with
//! `obu_has_size_field = 1`, as AV1-ISOBMFF §2.4 asks of samples.
//!
//! The AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3) is built from the
//! sequence header OBU (AV1 §5.5), which it also carries in `configOBUs`. A
//! TU is a key frame when it holds a shown KEY_FRAME (§5.9.2: the
//! uncompressed header opens with `show_existing_frame`, `frame_type`,
//! `show_frame`). One shown frame per TU, so DTS = PTS and cts = 0.

use super::bits::{leb128, write_leb128, BitReader};
use super::{AccessUnit, EsError};

const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_FRAME_HEADER: u8 = 3;
const OBU_FRAME: u8 = 6;

/// An AV1 stream ready for Enhanced RTMP.
#[derive(Debug, Clone)]
pub struct Av1Stream {
    /// The AV1CodecConfigurationRecord.
    pub record: Vec<u8>,
    /// max_frame_width_minus_1 + 1.
    pub width: u32,
    /// max_frame_height_minus_1 + 1.
    pub height: u32,
    /// Temporal units in order.
    pub units: Vec<AccessUnit>,
}

/// One OBU: its type and its bytes in sized form.
struct Obu {
    obu_type: u8,
    sized: Vec<u8>,
    payload_start: usize,
}

/// Splits a run of OBUs, rewriting each with a size field.
fn split_obus(mut data: &[u8]) -> Result<Vec<Obu>, EsError> {
    let mut obus = Vec::new();
    while !data.is_empty() {
        let h = data[0];
        let obu_type = (h >> 3) & 0x0F;
        let ext = h & 0x04 != 0;
        let header_len = 1 + usize::from(ext);
        if data.len() < header_len {
            return Err(EsError::Truncated("OBU header"));
        }
        let (size, used) = if h & 0x02 != 0 {
            let (s, n) = leb128(&data[header_len..])?;
            (s as usize, n)
        } else {
            (data.len() - header_len, 0)
        };
        let start = header_len + used;
        let payload = data
            .get(start..start + size)
            .ok_or(EsError::Truncated("OBU"))?;
        let mut sized = vec![h | 0x02];
        sized.extend_from_slice(&data[1..header_len]);
        write_leb128(size as u64, &mut sized);
        let payload_start = sized.len();
        sized.extend_from_slice(payload);
        obus.push(Obu {
            obu_type,
            sized,
            payload_start,
        });
        data = &data[start + size..];
    }
    Ok(obus)
}

/// The fields of the sequence header the record and the key test need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceHeader {
    /// seq_profile.
    pub profile: u8,
    /// seq_level_idx[0].
    pub level_idx0: u8,
    /// seq_tier[0].
    pub tier0: bool,
    /// high_bitdepth.
    pub high_bitdepth: bool,
    /// twelve_bit.
    pub twelve_bit: bool,
    /// mono_chrome.
    pub monochrome: bool,
    /// subsampling_x.
    pub subsampling_x: bool,
    /// subsampling_y.
    pub subsampling_y: bool,
    /// chroma_sample_position.
    pub chroma_sample_position: u8,
    /// reduced_still_picture_header.
    pub reduced_still_picture_header: bool,
    /// max_frame_width_minus_1 + 1.
    pub width: u32,
    /// max_frame_height_minus_1 + 1.
    pub height: u32,
}

/// Parses a sequence header OBU payload (AV1 §5.5.1, §5.5.2).
pub fn parse_sequence_header(payload: &[u8]) -> Result<SequenceHeader, EsError> {
    let mut r = BitReader::new(payload, "sequence header");
    let mut s = SequenceHeader {
        profile: r.bits(3)? as u8,
        ..Default::default()
    };
    r.skip(1)?; // still_picture
    s.reduced_still_picture_header = r.bit()?;
    if s.reduced_still_picture_header {
        s.level_idx0 = r.bits(5)? as u8;
    } else {
        let mut decoder_model = false;
        let mut buffer_delay_len = 0;
        if r.bit()? {
            r.skip(64)?; // num_units_in_display_tick, time_scale
            if r.bit()? {
                r.uvlc()?;
            }
            decoder_model = r.bit()?;
            if decoder_model {
                buffer_delay_len = r.bits(5)? as u32 + 1;
                r.skip(32 + 5 + 5)?;
            }
        }
        let initial_display_delay = r.bit()?;
        let count = r.bits(5)? + 1;
        for i in 0..count {
            r.skip(12)?; // operating_point_idc
            let level = r.bits(5)? as u8;
            let tier = level > 7 && r.bit()?;
            if i == 0 {
                (s.level_idx0, s.tier0) = (level, tier);
            }
            if decoder_model && r.bit()? {
                r.skip(2 * buffer_delay_len as usize + 1)?;
            }
            if initial_display_delay && r.bit()? {
                r.skip(4)?;
            }
        }
    }
    let wbits = r.bits(4)? as u32 + 1;
    let hbits = r.bits(4)? as u32 + 1;
    s.width = r.bits(wbits)? as u32 + 1;
    s.height = r.bits(hbits)? as u32 + 1;
    if !s.reduced_still_picture_header && r.bit()? {
        r.skip(7)?; // frame id lengths
    }
    r.skip(3)?; // 128x128 superblock, filter intra, intra edge filter
    if !s.reduced_still_picture_header {
        r.skip(4)?; // interintra, masked compound, warped motion, dual filter
        let order_hint = r.bit()?;
        if order_hint {
            r.skip(2)?;
        }
        let force_sct = if r.bit()? { 2 } else { r.bits(1)? };
        if force_sct > 0 && !r.bit()? {
            r.skip(1)?; // seq_force_integer_mv
        }
        if order_hint {
            r.skip(3)?;
        }
    }
    r.skip(3)?; // superres, cdef, restoration
    color_config(&mut r, &mut s)?;
    Ok(s)
}

fn color_config(r: &mut BitReader<'_>, s: &mut SequenceHeader) -> Result<(), EsError> {
    s.high_bitdepth = r.bit()?;
    if s.profile == 2 && s.high_bitdepth {
        s.twelve_bit = r.bit()?;
    }
    s.monochrome = s.profile != 1 && r.bit()?;
    let (mut cp, mut tc, mut mc) = (2, 2, 2);
    if r.bit()? {
        (cp, tc, mc) = (r.bits(8)?, r.bits(8)?, r.bits(8)?);
    }
    if s.monochrome {
        (s.subsampling_x, s.subsampling_y) = (true, true);
        return Ok(());
    }
    if cp == 1 && tc == 13 && mc == 0 {
        return Ok(()); // sRGB: 4:4:4
    }
    r.skip(1)?; // color_range
    (s.subsampling_x, s.subsampling_y) = match s.profile {
        0 => (true, true),
        1 => (false, false),
        _ if s.twelve_bit => {
            let x = r.bit()?;
            (x, x && r.bit()?)
        }
        _ => (true, false),
    };
    if s.subsampling_x && s.subsampling_y {
        s.chroma_sample_position = r.bits(2)? as u8;
    }
    Ok(())
}

/// Builds the av1C record around the (sized) sequence header OBU.
pub fn build_av1c(s: &SequenceHeader, seq_obu: &[u8]) -> Vec<u8> {
    let mut r = vec![
        0x81,
        s.profile << 5 | s.level_idx0,
        u8::from(s.tier0) << 7
            | u8::from(s.high_bitdepth) << 6
            | u8::from(s.twelve_bit) << 5
            | u8::from(s.monochrome) << 4
            | u8::from(s.subsampling_x) << 3
            | u8::from(s.subsampling_y) << 2
            | s.chroma_sample_position,
        0,
    ];
    r.extend_from_slice(seq_obu);
    r
}

fn shown_key_frame(payload: &[u8], reduced: bool) -> bool {
    if reduced {
        return true;
    }
    let mut r = BitReader::new(payload, "frame header");
    matches!((r.bit(), r.bits(2), r.bit()), (Ok(false), Ok(0), Ok(true)))
}

/// Builds the stream from temporal units given as (timestamp ms, OBU bytes).
pub fn from_temporal_units(tus: Vec<(u64, &[u8])>) -> Result<Av1Stream, EsError> {
    let mut seq: Option<(SequenceHeader, Vec<u8>)> = None;
    let mut units = Vec::with_capacity(tus.len());
    for (dts_ms, tu) in tus {
        let mut data = Vec::with_capacity(tu.len());
        let mut key = false;
        for obu in split_obus(tu)? {
            let payload = &obu.sized[obu.payload_start..];
            match obu.obu_type {
                OBU_TEMPORAL_DELIMITER => continue,
                OBU_SEQUENCE_HEADER if seq.is_none() => {
                    seq = Some((parse_sequence_header(payload)?, obu.sized.clone()));
                }
                OBU_FRAME | OBU_FRAME_HEADER => {
                    let reduced = seq
                        .as_ref()
                        .is_some_and(|s| s.0.reduced_still_picture_header);
                    key |= shown_key_frame(payload, reduced);
                }
                _ => {}
            }
            data.extend_from_slice(&obu.sized);
        }
        if !data.is_empty() {
            units.push(AccessUnit {
                dts_ms,
                cts_ms: 0,
                key,
                data,
            });
        }
    }
    let (s, obu) = seq.ok_or(EsError::Missing("AV1 sequence header"))?;
    Ok(Av1Stream {
        record: build_av1c(&s, &obu),
        width: s.width,
        height: s.height,
        units,
    })
}

/// Reads an IVF file (32-byte `DKIF` header, then 12-byte frame headers).
pub fn read_ivf(data: &[u8]) -> Result<Av1Stream, EsError> {
    if data.len() < 32 || &data[..4] != b"DKIF" || &data[8..12] != b"AV01" {
        return Err(EsError::Invalid("IVF header (AV01 expected)"));
    }
    let u32le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let header_len = usize::from(u16::from_le_bytes([data[6], data[7]]));
    let (rate, scale) = (u64::from(u32le(&data[16..])), u64::from(u32le(&data[20..])));
    if rate == 0 || scale == 0 {
        return Err(EsError::Invalid("IVF time base"));
    }
    let mut pos = header_len;
    let mut tus = Vec::new();
    while pos + 12 <= data.len() {
        let size = u32le(&data[pos..]) as usize;
        let pts = u64::from_le_bytes(data[pos + 4..pos + 12].try_into().expect("8"));
        let frame = data
            .get(pos + 12..pos + 12 + size)
            .ok_or(EsError::Truncated("IVF frame"))?;
        tus.push((pts * scale * 1000 / rate, frame));
        pos += 12 + size;
    }
    from_temporal_units(tus)
}

/// Reads a low-overhead OBU file, cutting TUs at temporal delimiters.
pub fn read_obu_file(data: &[u8], fps: f64) -> Result<Av1Stream, EsError> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let h = data[pos];
        let header_len = 1 + usize::from(h & 0x04 != 0);
        if h & 0x02 == 0 {
            return Err(EsError::Unsupported(
                "OBU without size field in a .obu file",
            ));
        }
        let (size, used) = leb128(
            data.get(pos + header_len..)
                .ok_or(EsError::Truncated("OBU"))?,
        )?;
        if (h >> 3) & 0x0F == OBU_TEMPORAL_DELIMITER || starts.is_empty() {
            starts.push(pos);
        }
        pos += header_len + used + size as usize;
    }
    let tus = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts
                .get(i + 1)
                .copied()
                .unwrap_or(data.len())
                .min(data.len());
            ((i as f64 * 1000.0 / fps).round() as u64, &data[s..end])
        })
        .collect();
    from_temporal_units(tus)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sequence header OBU of libsvtav1 (640x360, Main, 8-bit 4:2:0).
    const SEQ_OBU: &[u8] = &[
        0x0a, 0x0b, 0x00, 0x00, 0x00, 0x0c, 0xc4, 0xff, 0x67, 0x3e, 0xfe, 0x40, 0x10,
    ];

    #[test]
    fn sequence_header_and_record() {
        let s = parse_sequence_header(&SEQ_OBU[2..]).unwrap();
        assert_eq!((s.width, s.height, s.profile), (640, 360, 0));
        assert!(s.subsampling_x && s.subsampling_y && !s.high_bitdepth && !s.monochrome);
        let rec = build_av1c(&s, SEQ_OBU);
        assert_eq!(rec[0], 0x81);
        assert_eq!(rec[2] & 0x0C, 0x0C);
        assert_eq!(&rec[4..], SEQ_OBU);
    }

    #[test]
    fn temporal_units_drop_delimiters_and_mark_keys() {
        // TD, sequence header, then an OBU_FRAME whose header starts 0b0_00_1 (shown key).
        let mut tu = vec![0x12, 0x00];
        tu.extend_from_slice(SEQ_OBU);
        tu.extend_from_slice(&[0x32, 0x02, 0b0001_0000, 0xAA]);
        // Second TU: inter frame (frame_type 1) written without a size field.
        let inter = [0x12, 0x00, 0x30, 0b0011_0000, 0xBB];
        let mut file = tu.clone();
        file.extend_from_slice(&[0x12, 0x00, 0x32, 0x02, 0b0011_0000, 0xBB]);
        let s = read_obu_file(&file, 30.0).unwrap();
        assert_eq!(s.units.len(), 2);
        assert!(s.units[0].key && !s.units[1].key);
        assert_eq!(&s.units[0].data[..SEQ_OBU.len()], SEQ_OBU);
        assert_eq!(s.units[1].dts_ms, 33);
        let s = from_temporal_units(vec![(0, &tu[..]), (40, &inter[..])]).unwrap();
        assert_eq!(s.units[1].data, [0x32, 0x02, 0b0011_0000, 0xBB]);
    }
}
