//! PES packet headers (ISO/IEC 13818-1 §2.4.3.6–§2.4.3.7).

/// What a PES header says about its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PesHeader {
    /// `stream_id`.
    pub stream_id: u8,
    /// `PES_packet_length` (0: unbounded, usual for video).
    pub packet_length: usize,
    /// 33-bit PTS in 90 kHz units.
    pub pts: Option<u64>,
    /// 33-bit DTS in 90 kHz units.
    pub dts: Option<u64>,
    /// Bytes from the start of the PES packet to its payload.
    pub header_len: usize,
}

/// Why a PES header cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PesError {
    /// Not `00 00 01`.
    #[error("PES start code missing")]
    StartCode,
    /// Shorter than its header says.
    #[error("truncated PES header")]
    Truncated,
}

/// A 33-bit timestamp in the 5-byte marker-bit layout of §2.4.3.7.
fn timestamp(b: &[u8]) -> u64 {
    (u64::from(b[0] >> 1) & 0x07) << 30
        | u64::from(b[1]) << 22
        | (u64::from(b[2]) >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4]) >> 1
}

/// Parses the header at the start of a PES packet.
pub fn parse_header(b: &[u8]) -> Result<PesHeader, PesError> {
    if b.len() < 6 {
        return Err(PesError::Truncated);
    }
    if b[..3] != [0, 0, 1] {
        return Err(PesError::StartCode);
    }
    let stream_id = b[3];
    let packet_length = usize::from(u16::from_be_bytes([b[4], b[5]]));
    // Streams without the optional header (§2.4.3.7: padding, private_stream_2, …).
    if matches!(
        stream_id,
        0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xff | 0xf2 | 0xf8
    ) {
        return Ok(PesHeader {
            stream_id,
            packet_length,
            pts: None,
            dts: None,
            header_len: 6,
        });
    }
    if b.len() < 9 {
        return Err(PesError::Truncated);
    }
    let flags = b[7] >> 6;
    let header_len = 9 + usize::from(b[8]);
    if b.len() < header_len {
        return Err(PesError::Truncated);
    }
    let (mut pts, mut dts) = (None, None);
    if flags & 0b10 != 0 && header_len >= 14 {
        pts = Some(timestamp(&b[9..14]));
    }
    if flags == 0b11 && header_len >= 19 {
        dts = Some(timestamp(&b[14..19]));
    }
    Ok(PesHeader {
        stream_id,
        packet_length,
        pts,
        dts,
        header_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn encode_ts(prefix: u8, t: u64) -> [u8; 5] {
        [
            prefix << 4 | ((t >> 29) as u8 & 0x0e) | 1,
            (t >> 22) as u8,
            ((t >> 14) as u8 & 0xfe) | 1,
            (t >> 7) as u8,
            ((t << 1) as u8) | 1,
        ]
    }

    #[test]
    fn pts_and_dts_round_trip_over_33_bits() {
        let (pts, dts) = ((1u64 << 33) - 5, 123_456_789u64);
        let mut b = vec![0, 0, 1, 0xe0, 0, 0, 0x80, 0xc0, 10];
        b.extend_from_slice(&encode_ts(3, pts));
        b.extend_from_slice(&encode_ts(1, dts));
        b.extend_from_slice(&[0, 0, 0, 1]);
        let h = parse_header(&b).unwrap();
        assert_eq!((h.pts, h.dts, h.header_len), (Some(pts), Some(dts), 19));
        assert_eq!(parse_header(&b[..10]), Err(PesError::Truncated));
        assert_eq!(
            parse_header(&[0, 0, 2, 0xe0, 0, 0]),
            Err(PesError::StartCode)
        );
    }
}
