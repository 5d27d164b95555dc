//! The payload of an Opus PES packet: a run of `opus_access_unit`s, each an
//! `opus_control_header` and the access unit it sizes (draft ETSI TS "Opus
//! Interactive Audio Codec Transport Multiplexing Standard" v0.1.3, Tables 6-1 and
//! 6-2; see [`super::opus_descriptor`]), and the duration of an Opus packet from its
//! TOC byte (RFC 6716 §3.1).
//!
//! ```text
//! control_header_prefix   11 bits  0x3ff
//! start_trim_flag          1
//! end_trim_flag            1
//! control_extension_flag   1
//! reserved                 2
//! au_size                  0xff bytes (255 each) then a final byte < 0xff
//! [reserved 3, start_trim 13]      if start_trim_flag
//! [reserved 3, end_trim 13]        if end_trim_flag
//! [length 8, length bytes]         if control_extension_flag
//! access unit              au_size bytes
//! ```
//!
//! An access unit is what an MP4 sample of the same stream holds (Opus-ISOBMFF
//! §4.3.3): one Opus packet, or for several streams the self-delimited packets of
//! all but the last stream followed by the last one's.

use bytes::Bytes;

/// Access units read from one PES packet at most; the rest is counted malformed.
/// 1,024 are 2.56 s of the shortest (2.5 ms) packets; muxers put 100–120 ms in a PES.
pub const MAX_ACCESS_UNITS_PER_PES: usize = 1024;

/// Samples per second of every Opus packet duration (RFC 6716 §2).
pub const OPUS_CLOCK_HZ: u32 = 48_000;

/// Longest Opus packet, in 48 kHz samples: 120 ms (RFC 6716 §3.2.5).
const MAX_PACKET_SAMPLES: u32 = 5_760;

/// One `opus_access_unit` of a PES payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusAccessUnit {
    /// `start_trim`: samples (48 kHz) to drop from the start of this unit.
    pub start_trim: Option<u16>,
    /// `end_trim`: samples (48 kHz) to drop from its end.
    pub end_trim: Option<u16>,
    /// The access unit, a slice of the PES payload.
    pub data: Bytes,
}

/// Why a PES payload or an Opus packet cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpusPesError {
    /// The 11-bit `control_header_prefix` is not 0x3ff.
    #[error("Opus control header prefix missing")]
    Prefix,
    /// A control header or its access unit runs past the PES payload.
    #[error("Opus access unit truncated")]
    Truncated,
    /// `au_size` is 0; an Opus packet has at least its TOC byte (RFC 6716 §3.4 R1).
    #[error("empty Opus access unit")]
    Empty,
    /// More than [`MAX_ACCESS_UNITS_PER_PES`] access units.
    #[error("more than {MAX_ACCESS_UNITS_PER_PES} Opus access units in one PES packet")]
    TooManyAccessUnits,
    /// A code 3 packet without frames, or longer than 120 ms (RFC 6716 §3.2.5 R5).
    #[error("Opus packet with an invalid frame count")]
    FrameCount,
}

/// Splits a PES payload into its access units. On an error, the units read before
/// it come back with it (the rest of the payload cannot be delimited).
pub fn access_units(payload: &Bytes) -> (Vec<OpusAccessUnit>, Option<OpusPesError>) {
    let mut units = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        if units.len() == MAX_ACCESS_UNITS_PER_PES {
            return (units, Some(OpusPesError::TooManyAccessUnits));
        }
        match access_unit(payload, at) {
            Ok((unit, next)) => {
                units.push(unit);
                at = next;
            }
            Err(e) => return (units, Some(e)),
        }
    }
    (units, None)
}

/// The access unit whose control header starts at `at`, and the offset after it.
fn access_unit(payload: &Bytes, mut at: usize) -> Result<(OpusAccessUnit, usize), OpusPesError> {
    let b = &payload[..];
    let byte = |i: usize| b.get(i).copied().ok_or(OpusPesError::Truncated);
    let u16_at = |i: usize| Ok(u16::from_be_bytes([byte(i)?, byte(i + 1)?]));
    let header = u16_at(at)?;
    if header & 0xffe0 != 0x7fe0 {
        return Err(OpusPesError::Prefix);
    }
    at += 2;
    let mut au_size = 0usize;
    loop {
        let v = byte(at)?;
        at += 1;
        au_size += usize::from(v);
        if v != 0xff {
            break;
        }
    }
    let mut trim = |flag: u16| -> Result<Option<u16>, OpusPesError> {
        if header & flag == 0 {
            return Ok(None);
        }
        let v = u16_at(at)? & 0x1fff;
        at += 2;
        Ok(Some(v))
    };
    let start_trim = trim(0x10)?;
    let end_trim = trim(0x08)?;
    if header & 0x04 != 0 {
        at += 1 + usize::from(byte(at)?);
    }
    if au_size == 0 {
        return Err(OpusPesError::Empty);
    }
    let end = at.checked_add(au_size).ok_or(OpusPesError::Truncated)?;
    if end > b.len() {
        return Err(OpusPesError::Truncated);
    }
    let unit = OpusAccessUnit {
        start_trim,
        end_trim,
        data: payload.slice(at..end),
    };
    Ok((unit, end))
}

/// Samples at 48 kHz in an Opus packet: the frame size of its TOC `config` (RFC 6716
/// §3.1 table 2) times the frame count of its code (§3.2: 1, 2, 2, or the count byte
/// of a code 3 packet). Reads only the first two bytes, so a self-delimited packet
/// (RFC 6716 Appendix B) works too.
pub fn packet_samples(packet: &[u8]) -> Result<u32, OpusPesError> {
    let &toc = packet.first().ok_or(OpusPesError::Empty)?;
    let config = toc >> 3;
    // 2.5, 5, 10, 20, 40 and 60 ms at 48 kHz.
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(packet.get(1).ok_or(OpusPesError::Truncated)? & 0x3f),
    };
    let samples = frame * frames;
    if frames == 0 || samples > MAX_PACKET_SAMPLES {
        return Err(OpusPesError::FrameCount);
    }
    Ok(samples)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// A control header for `size` bytes, as ffmpeg's muxer writes it.
    pub(crate) fn control_header(
        size: usize,
        start_trim: Option<u16>,
        end_trim: Option<u16>,
    ) -> Vec<u8> {
        let mut h = vec![0x7f, 0xe0];
        if start_trim.is_some() {
            h[1] |= 0x10;
        }
        if end_trim.is_some() {
            h[1] |= 0x08;
        }
        h.extend(std::iter::repeat_n(0xff, size / 255));
        h.push((size % 255) as u8);
        for t in [start_trim, end_trim].into_iter().flatten() {
            h.extend_from_slice(&t.to_be_bytes());
        }
        h
    }

    #[test]
    fn splits_units_with_trims_and_long_sizes() {
        let mut pes = control_header(3, Some(312), None);
        pes.extend_from_slice(&[0xfc, 1, 2]);
        pes.extend(control_header(600, None, Some(648)));
        pes.extend(vec![0xf8; 600]);
        // A control extension of two bytes, skipped.
        pes.extend_from_slice(&[0x7f, 0xe4, 1, 2, 0xaa, 0xbb, 0x08]);
        let (units, err) = access_units(&Bytes::from(pes));
        assert_eq!(err, None);
        assert_eq!(units.len(), 3);
        assert_eq!(
            (units[0].start_trim, units[0].end_trim, &units[0].data[..]),
            (Some(312), None, &[0xfc, 1, 2][..])
        );
        assert_eq!((units[1].end_trim, units[1].data.len()), (Some(648), 600));
        assert_eq!(&units[2].data[..], &[0x08]);
        // 255 exactly takes a 0xff byte and a final 0.
        assert_eq!(control_header(255, None, None), vec![0x7f, 0xe0, 0xff, 0]);
    }

    #[test]
    fn damage_keeps_what_came_before() {
        let mut pes = control_header(2, None, None);
        pes.extend_from_slice(&[0xfc, 1]);
        let good = pes.len();
        pes.extend_from_slice(&[0x7f, 0xe0, 9, 0xfc]);
        let (units, err) = access_units(&Bytes::from(pes.clone()));
        assert_eq!((units.len(), err), (1, Some(OpusPesError::Truncated)));
        pes.truncate(good);
        pes.extend_from_slice(&[0x12, 0x34, 1, 0xfc]);
        let (units, err) = access_units(&Bytes::from(pes.clone()));
        assert_eq!((units.len(), err), (1, Some(OpusPesError::Prefix)));
        let (_, err) = access_units(&Bytes::from_static(&[0x7f, 0xe0, 0]));
        assert_eq!(err, Some(OpusPesError::Empty));
        let (_, err) = access_units(&Bytes::from_static(&[0x7f, 0xf0, 1, 0x01]));
        assert_eq!(err, Some(OpusPesError::Truncated), "start_trim cut off");
        let (_, err) = access_units(&Bytes::from_static(&[0x7f, 0xe0, 0xff, 0xff]));
        assert_eq!(err, Some(OpusPesError::Truncated), "au_size cut off");
        let many: Vec<u8> = [0x7f, 0xe0, 1, 0xfc].repeat(MAX_ACCESS_UNITS_PER_PES + 1);
        let (units, err) = access_units(&Bytes::from(many));
        assert_eq!(
            (units.len(), err),
            (
                MAX_ACCESS_UNITS_PER_PES,
                Some(OpusPesError::TooManyAccessUnits)
            )
        );
    }

    #[test]
    fn toc_durations() {
        // config 31 (CELT FB 20 ms), code 0: libopus's usual packet.
        assert_eq!(packet_samples(&[0xf8]), Ok(960));
        assert_eq!(packet_samples(&[0xfc]), Ok(960), "stereo flag");
        assert_eq!(packet_samples(&[0x80]), Ok(120), "CELT 2.5 ms");
        assert_eq!(packet_samples(&[0x18]), Ok(2880), "SILK 60 ms");
        assert_eq!(packet_samples(&[0x19]), Ok(5760), "SILK 60 ms x2");
        assert_eq!(packet_samples(&[0x68]), Ok(960), "hybrid SWB 20 ms");
        assert_eq!(packet_samples(&[0x70]), Ok(480), "hybrid FB 10 ms");
        assert_eq!(packet_samples(&[0x60]), Ok(480), "hybrid SWB 10 ms");
        assert_eq!(packet_samples(&[0x83, 0x30]), Ok(48 * 120), "48 x 2.5 ms");
        assert_eq!(packet_samples(&[0x83, 0x31]), Err(OpusPesError::FrameCount));
        assert_eq!(packet_samples(&[0x83, 0x00]), Err(OpusPesError::FrameCount));
        assert_eq!(packet_samples(&[0x1b, 0x03]), Err(OpusPesError::FrameCount));
        assert_eq!(packet_samples(&[0x03]), Err(OpusPesError::Truncated));
        assert_eq!(packet_samples(&[]), Err(OpusPesError::Empty));
    }

    proptest! {
        #[test]
        fn any_payload_is_safe(data in vec(any::<u8>(), 0..600), prefix in any::<bool>()) {
            let mut payload = if prefix { vec![0x7f, 0xe0] } else { Vec::new() };
            payload.extend(data);
            let payload = Bytes::from(payload);
            let (units, _) = access_units(&payload);
            let total: usize = units.iter().map(|u| u.data.len()).sum();
            prop_assert!(total <= payload.len());
            for u in &units {
                let _ = packet_samples(&u.data);
            }
        }
    }
}
