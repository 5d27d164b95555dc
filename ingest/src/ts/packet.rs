//! One 188-byte transport stream packet (ISO/IEC 13818-1 §2.4.3.2–§2.4.3.5).

/// Bytes per packet.
pub const PACKET_LEN: usize = 188;
/// The first byte of every packet.
pub const SYNC_BYTE: u8 = 0x47;
/// The PID of null (stuffing) packets.
pub const NULL_PID: u16 = 0x1fff;

/// The parts of a packet the demuxer uses; `payload` borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// 13-bit packet identifier.
    pub pid: u16,
    /// `payload_unit_start_indicator`: a PES packet or PSI section starts here.
    pub unit_start: bool,
    /// `transport_error_indicator`: the packet is known to be damaged.
    pub transport_error: bool,
    /// `continuity_counter` (4 bits).
    pub continuity: u8,
    /// Whether the packet carries payload (adaptation_field_control 01 or 11).
    pub has_payload: bool,
    /// The adaptation field's `discontinuity_indicator`.
    pub discontinuity: bool,
    /// The adaptation field's `random_access_indicator`.
    pub random_access: bool,
    /// The PCR in 27 MHz units (§2.4.3.5: base × 300 + extension), when present.
    pub pcr: Option<u64>,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Why a packet cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// The first byte is not 0x47.
    #[error("lost sync")]
    Sync,
    /// The adaptation field is longer than the packet.
    #[error("adaptation field overruns the packet")]
    AdaptationField,
}

/// Parses one packet (`bytes.len() == PACKET_LEN`).
pub fn parse(bytes: &[u8; PACKET_LEN]) -> Result<Packet<'_>, PacketError> {
    if bytes[0] != SYNC_BYTE {
        return Err(PacketError::Sync);
    }
    let pid = u16::from_be_bytes([bytes[1] & 0x1f, bytes[2]]);
    let control = (bytes[3] >> 4) & 0b11;
    let mut packet = Packet {
        pid,
        unit_start: bytes[1] & 0x40 != 0,
        transport_error: bytes[1] & 0x80 != 0,
        continuity: bytes[3] & 0x0f,
        has_payload: control & 0b01 != 0,
        discontinuity: false,
        random_access: false,
        pcr: None,
        payload: &[],
    };
    let mut at = 4;
    if control & 0b10 != 0 {
        let len = usize::from(bytes[4]);
        at = 5 + len;
        if at > PACKET_LEN {
            return Err(PacketError::AdaptationField);
        }
        if len > 0 {
            let flags = bytes[5];
            packet.discontinuity = flags & 0x80 != 0;
            packet.random_access = flags & 0x40 != 0;
            if flags & 0x10 != 0 && len >= 7 {
                let b = &bytes[6..12];
                let base = (u64::from(b[0]) << 25)
                    | (u64::from(b[1]) << 17)
                    | (u64::from(b[2]) << 9)
                    | (u64::from(b[3]) << 1)
                    | u64::from(b[4] >> 7);
                let ext = (u64::from(b[4] & 1) << 8) | u64::from(b[5]);
                packet.pcr = Some(base * 300 + ext);
            }
        }
    }
    if packet.has_payload {
        packet.payload = &bytes[at..];
    }
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_adaptation_field_and_pcr() {
        let mut p = [0xffu8; PACKET_LEN];
        p[0] = SYNC_BYTE;
        p[1] = 0x40 | 0x01; // unit start, PID 0x100
        p[2] = 0x00;
        p[3] = 0x30 | 0x07; // adaptation + payload, CC 7
        p[4] = 7; // adaptation length
        p[5] = 0x50; // random access + PCR flag
                     // PCR base 1 (…0 0 0 0 1 in 33 bits), extension 2.
        p[6..12].copy_from_slice(&[0, 0, 0, 0, 0x80 | 0x7e, 2]);
        let pk = parse(&p).unwrap();
        assert_eq!((pk.pid, pk.unit_start, pk.continuity), (0x100, true, 7));
        assert!(pk.random_access && !pk.discontinuity);
        assert_eq!(pk.pcr, Some(300 + 2));
        assert_eq!(pk.payload.len(), PACKET_LEN - 12);
        p[0] = 0;
        assert_eq!(parse(&p), Err(PacketError::Sync));
        p[0] = SYNC_BYTE;
        p[4] = 200;
        assert_eq!(parse(&p), Err(PacketError::AdaptationField));
    }
}
