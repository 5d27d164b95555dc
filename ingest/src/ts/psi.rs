//! Program-specific information: PSI section reassembly, the PAT and the PMT
//! (ISO/IEC 13818-1 §2.4.4).

/// `stream_type` values this demuxer maps (§2.4.4.10 table 2-34, and ATSC/ETSI use).
pub mod stream_type {
    /// ISO/IEC 13818-7 AAC with ADTS.
    pub const AAC_ADTS: u8 = 0x0f;
    /// H.264 / AVC.
    pub const H264: u8 = 0x1b;
    /// H.265 / HEVC.
    pub const H265: u8 = 0x24;
    /// Private PES data (Opus, with a registration descriptor "Opus").
    pub const PRIVATE_PES: u8 = 0x06;
}

/// One elementary stream of a PMT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmtStream {
    /// Its PID.
    pub pid: u16,
    /// `stream_type`.
    pub stream_type: u8,
    /// ISO 639 language (descriptor 0x0a), when given.
    pub language: Option<String>,
    /// A registration descriptor (0x05) names this format, e.g. `*b"Opus"`.
    pub registration: Option<[u8; 4]>,
    /// The body of an Opus audio descriptor (DVB extension descriptor 0x7f with
    /// `descriptor_tag_extension` 0x80), from `channel_config_code` on; read by
    /// [`super::opus_descriptor`].
    pub opus_audio: Option<Vec<u8>>,
}

/// A parsed PMT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pmt {
    /// `version_number`.
    pub version: u8,
    /// The PCR PID.
    pub pcr_pid: u16,
    /// The elementary streams, in table order.
    pub streams: Vec<PmtStream>,
}

/// Why a section was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PsiError {
    /// The CRC_32 does not match (Annex A).
    #[error("PSI section CRC mismatch")]
    Crc,
    /// Shorter than its header or its own length says.
    #[error("truncated PSI section")]
    Truncated,
}

/// MPEG-2 CRC-32 (polynomial 0x04C11DB7, no reflection, initial all ones; Annex A).
pub fn crc32_mpeg2(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Collects the sections of one PID across packets.
#[derive(Debug, Default)]
pub struct SectionAssembler {
    buf: Vec<u8>,
    collecting: bool,
}

/// Longest section accepted (§2.4.4.11: 1021 + 3 for PAT/PMT; private ones 4096).
pub const MAX_SECTION: usize = 4096;

impl SectionAssembler {
    /// Feeds a packet payload; returns the complete sections it finished.
    pub fn push(&mut self, unit_start: bool, payload: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut data = payload;
        if unit_start {
            let Some((&pointer, rest)) = data.split_first() else {
                return out;
            };
            let pointer = usize::from(pointer);
            if pointer > rest.len() {
                self.reset();
                return out;
            }
            if self.collecting {
                self.buf.extend_from_slice(&rest[..pointer]);
                self.take_complete(&mut out);
            }
            self.reset();
            self.collecting = true;
            data = &rest[pointer..];
        } else if !self.collecting {
            return out;
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() > MAX_SECTION * 2 {
            self.reset();
            return out;
        }
        self.take_complete(&mut out);
        out
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.collecting = false;
    }

    /// Moves every complete section at the front of the buffer to `out`.
    fn take_complete(&mut self, out: &mut Vec<Vec<u8>>) {
        loop {
            if self.buf.first().is_none_or(|&t| t == 0xff) {
                // Stuffing after the last section.
                if !self.buf.is_empty() {
                    self.reset();
                }
                return;
            }
            if self.buf.len() < 3 {
                return;
            }
            let len = 3 + (usize::from(self.buf[1] & 0x0f) << 8 | usize::from(self.buf[2]));
            if len > MAX_SECTION {
                self.reset();
                return;
            }
            if self.buf.len() < len {
                return;
            }
            out.push(self.buf.drain(..len).collect());
        }
    }
}

/// Checks a long-form section's CRC; returns its body (after the 8-byte header,
/// before the CRC) and `version_number`.
fn long_section(section: &[u8]) -> Result<(&[u8], u8), PsiError> {
    if section.len() < 12 {
        return Err(PsiError::Truncated);
    }
    if crc32_mpeg2(section) != 0 {
        return Err(PsiError::Crc);
    }
    Ok((&section[8..section.len() - 4], (section[5] >> 1) & 0x1f))
}

/// PAT (table_id 0): the first program's PMT PID (network PID entries skipped).
pub fn parse_pat(section: &[u8]) -> Result<Option<u16>, PsiError> {
    let (body, _) = long_section(section)?;
    Ok(body.chunks_exact(4).find_map(|e| {
        let program = u16::from_be_bytes([e[0], e[1]]);
        (program != 0).then(|| u16::from_be_bytes([e[2] & 0x1f, e[3]]))
    }))
}

/// PMT (table_id 2).
pub fn parse_pmt(section: &[u8]) -> Result<Pmt, PsiError> {
    let (body, version) = long_section(section)?;
    if body.len() < 4 {
        return Err(PsiError::Truncated);
    }
    let pcr_pid = u16::from_be_bytes([body[0] & 0x1f, body[1]]);
    let info_len = usize::from(body[2] & 0x0f) << 8 | usize::from(body[3]);
    let mut rest = body.get(4 + info_len..).ok_or(PsiError::Truncated)?;
    let mut streams = Vec::new();
    while rest.len() >= 5 {
        let stream_type = rest[0];
        let pid = u16::from_be_bytes([rest[1] & 0x1f, rest[2]]);
        let es_len = usize::from(rest[3] & 0x0f) << 8 | usize::from(rest[4]);
        let descriptors = rest.get(5..5 + es_len).ok_or(PsiError::Truncated)?;
        let mut stream = PmtStream {
            pid,
            stream_type,
            language: None,
            registration: None,
            opus_audio: None,
        };
        let mut d = descriptors;
        while d.len() >= 2 {
            let (tag, len) = (d[0], usize::from(d[1]));
            let Some(value) = d.get(2..2 + len) else {
                break;
            };
            match tag {
                // ISO_639_language_descriptor (§2.6.18).
                0x0a if len >= 3 => {
                    stream.language = std::str::from_utf8(&value[..3]).ok().map(str::to_owned)
                }
                // registration_descriptor (§2.6.8).
                0x05 if len >= 4 => {
                    stream.registration = Some([value[0], value[1], value[2], value[3]])
                }
                // DVB extension_descriptor (ETSI EN 300 468 §6.2.16); tag extension 0x80
                // is user defined, used by Opus in TS for its opus_audio_descriptor.
                0x7f if len >= 2 && value[0] == 0x80 => {
                    stream.opus_audio = Some(value[1..].to_vec())
                }
                _ => {}
            }
            d = &d[2 + len..];
        }
        streams.push(stream);
        rest = &rest[5 + es_len..];
    }
    Ok(Pmt {
        version,
        pcr_pid,
        streams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long-form section with a correct CRC.
    pub(crate) fn section(table_id: u8, version: u8, body: &[u8]) -> Vec<u8> {
        let len = 5 + body.len() + 4;
        let mut s = vec![
            table_id,
            0xb0 | (len >> 8) as u8,
            len as u8,
            0,
            1,
            0xc1 | (version << 1),
            0,
            0,
        ];
        s.extend_from_slice(body);
        let crc = crc32_mpeg2(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        s
    }

    #[test]
    fn crc_of_a_section_with_its_crc_is_zero() {
        let s = section(0, 0, &[0, 1, 0xe1, 0x00]);
        assert_eq!(crc32_mpeg2(&s), 0);
        assert_eq!(parse_pat(&s), Ok(Some(0x100)));
        let mut bad = s.clone();
        bad[9] ^= 1;
        assert_eq!(parse_pat(&bad), Err(PsiError::Crc));
    }

    #[test]
    fn pmt_streams_with_language_and_registration() {
        let mut body = vec![0xe1, 0x00, 0xf0, 0x00];
        body.extend_from_slice(&[0x1b, 0xe1, 0x00, 0xf0, 0x00]);
        body.extend_from_slice(&[
            0x0f, 0xe1, 0x01, 0xf0, 0x06, 0x0a, 0x04, b'e', b'n', b'g', 0,
        ]);
        body.extend_from_slice(&[
            0x06, 0xe1, 0x02, 0xf0, 0x0a, 0x05, 0x04, b'O', b'p', b'u', b's', 0x7f, 0x02, 0x80,
            0x02,
        ]);
        let pmt = parse_pmt(&section(2, 3, &body)).unwrap();
        assert_eq!(pmt.version, 3);
        assert_eq!(pmt.pcr_pid, 0x100);
        assert_eq!(pmt.streams.len(), 3);
        assert_eq!(pmt.streams[1].language.as_deref(), Some("eng"));
        assert_eq!(pmt.streams[2].registration, Some(*b"Opus"));
        assert_eq!(pmt.streams[2].opus_audio, Some(vec![0x02]));
        assert_eq!(pmt.streams[1].opus_audio, None);
    }

    #[test]
    fn sections_spanning_packets_and_pointer_fields() {
        let s = section(0, 0, &[0, 1, 0xe1, 0x00]);
        let mut a = SectionAssembler::default();
        let mut first = vec![0u8]; // pointer 0
        first.extend_from_slice(&s[..5]);
        assert!(a.push(true, &first).is_empty());
        let mut rest = s[5..].to_vec();
        rest.extend_from_slice(&[0xff; 10]);
        assert_eq!(a.push(false, &rest), vec![s.clone()]);
        // Continuation without a start is ignored.
        let mut b = SectionAssembler::default();
        assert!(b.push(false, &s).is_empty());
    }
}
