//! Closed captions carried in the video bitstream: which CEA-608 channels and
//! CEA-708 services an H.264 or HEVC stream carries, so the manifests can announce
//! them (HLS `CLOSED-CAPTIONS`, DASH `Accessibility`).
//!
//! The caption bytes themselves need no work: they ride in SEI NAL units inside
//! the samples, which ingest keeps and the muxer copies. This module only *looks*.
//!
//! ## Where the bytes are
//!
//! ```text
//! sample (length-prefixed NAL units, ISO/IEC 14496-15)
//!  └ SEI NAL unit: H.264 nal_unit_type 6 (§7.3.2.3), HEVC prefix SEI 39 (§7.3.2.4)
//!     └ sei_message (H.264 §7.3.2.3.1, HEVC §7.3.5): payloadType 4 =
//!       user_data_registered_itu_t_t35 (H.264 D.1.6, HEVC D.2.6)
//!        └ itu_t_t35_country_code 0xB5, provider 0x0031, user_identifier "GA94",
//!          user_data_type_code 3 (ATSC A/53 Part 4 §6.2.3, carried in H.264/HEVC
//!          per ATSC A/72 Part 1)
//!           └ cc_data(): process_cc_data_flag, cc_count, cc_count × (cc_valid, cc_type,
//!             two bytes)
//!              ├ cc_type 0: CEA-608 field 1 byte pair  → CC1 / CC2
//!              ├ cc_type 1: CEA-608 field 2 byte pair  → CC3 / CC4
//!              └ cc_type 3 (start) / 2 (data): a CEA-708 DTVCC packet of service
//!                blocks (CEA-708 §4.4), service numbers 1..=63 → SERVICE1..63
//! ```
//!
//! ## What counts as "present"
//!
//! Many encoders send `cc_data` on every frame whether or not anyone is captioning:
//! CEA-608 null pairs (`0x80 0x80`) and empty DTVCC packets. Announcing captions for
//! those would show viewers an empty captions menu entry, so a service is present
//! only when real content for it appears:
//!
//! - CEA-608 channel *n*: a caption-mode command for that channel with valid odd
//!   parity (RCL resume caption loading, RU2/RU3/RU4 roll-up, RDC paint-on; CEA-608
//!   miscellaneous control codes `0x14/0x15/0x1C/0x1D 0x20|0x25..=0x27|0x29`). Every
//!   caption starts with one, and encoders send it twice. Text mode (TR/RTD) and XDS
//!   are not captions and are not announced.
//! - CEA-708 service *n*: a complete service block with `block_size > 0` for
//!   service *n* (null blocks and packets of padding announce nothing).
//!
//! ## Cost and limits
//!
//! [`CaptionScanner::handle_sample`] walks the NAL length prefixes (constant work per
//! NAL unit, no copy) and unescapes only SEI NAL units, so a stream without SEI costs
//! a few comparisons per frame. [`CaptionDetector`] stops scanning
//! [`SCAN_FRAMES_AFTER_FIRST_FIND`] frames after the first caption was found. Hostile
//! input cannot cause more than linear work: SEI NAL units above
//! [`MAX_SEI_NAL_BYTES`] and SEI NAL units with more than [`MAX_SEI_MESSAGES`]
//! messages are refused with their own [`CaptionError`] variant; truncation anywhere
//! is an error, never a panic, and what was found before it is kept.
//!
//! Only HEVC *prefix* SEI is read: ATSC A/72 carries captions there, and FFmpeg's
//! HEVC decoder reads registered user data only from prefix SEI, so captions in a
//! suffix SEI would be announced but not shown.

use super::bitreader::nal_to_rbsp;
use crate::media::CodecConfig;

/// Largest SEI NAL unit examined, in bytes. `cc_data` is at most ~100 bytes; x265's
/// encoder-settings SEI is ~2 KiB.
pub const MAX_SEI_NAL_BYTES: usize = 64 * 1024;

/// Most `sei_message`s read from one SEI NAL unit (real encoders send one to four).
pub const MAX_SEI_MESSAGES: usize = 64;

/// Frames a [`CaptionDetector`] keeps scanning after its first find, to catch the
/// other channels of a multi-language stream (CC1 + CC3 are usually interleaved
/// within a second); ten seconds at 60 fps.
pub const SCAN_FRAMES_AFTER_FIRST_FIND: u32 = 600;

/// H.264 `nal_unit_type` of an SEI NAL unit (H.264 Table 7-1).
const H264_SEI: u8 = 6;
/// HEVC `nal_unit_type` of a prefix SEI NAL unit (HEVC Table 7-1, PREFIX_SEI_NUT).
const HEVC_PREFIX_SEI: u8 = 39;
/// `payloadType` of user_data_registered_itu_t_t35 (H.264 D.1.6, HEVC D.2.6).
const USER_DATA_REGISTERED_ITU_T_T35: usize = 4;
/// `itu_t_t35_country_code` (0xB5: United States), `itu_t_t35_provider_code`
/// (0x0031: ATSC), `user_identifier` ("GA94") and `user_data_type_code` 3 (cc_data),
/// ATSC A/53 Part 4 §6.2.3 / A/72 Part 1.
const ATSC_CC_DATA_PREFIX: [u8; 8] = [0xB5, 0x00, 0x31, b'G', b'A', b'9', b'4', 0x03];
/// Bytes of a DTVCC packet buffer: header plus at most 127 data bytes (CEA-708 §4.4,
/// `packet_size_code` 0 means 127 data bytes).
const DTVCC_MAX_PACKET: usize = 128;

/// The caption services seen in a stream: CEA-608 channels CC1..=CC4 and CEA-708
/// services 1..=63.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CaptionServices {
    /// Bit `n - 1` set: CEA-608 channel CC*n* (n in 1..=4).
    cea608: u8,
    /// Bit `n` set: CEA-708 service *n* (n in 1..=63).
    cea708: u64,
}

impl CaptionServices {
    /// No captions.
    pub const NONE: Self = Self {
        cea608: 0,
        cea708: 0,
    };

    /// These services plus CEA-608 channel CC`channel` (1..=4; others are ignored).
    pub fn with_608(self, channel: u8) -> Self {
        let mut s = self;
        if (1..=4).contains(&channel) {
            s.cea608 |= 1 << (channel - 1);
        }
        s
    }

    /// These services plus CEA-708 service `service` (1..=63; others are ignored).
    pub fn with_708(self, service: u8) -> Self {
        let mut s = self;
        if (1..=63).contains(&service) {
            s.cea708 |= 1 << service;
        }
        s
    }

    /// The services in either.
    pub fn union(self, other: Self) -> Self {
        Self {
            cea608: self.cea608 | other.cea608,
            cea708: self.cea708 | other.cea708,
        }
    }

    /// No service at all.
    pub fn is_empty(self) -> bool {
        self == Self::NONE
    }

    /// The CEA-608 channels present (1 = CC1 … 4 = CC4), ascending.
    pub fn cea608_channels(self) -> impl Iterator<Item = u8> {
        (1..=4u8).filter(move |c| self.cea608 & (1 << (c - 1)) != 0)
    }

    /// The CEA-708 service numbers present (1..=63), ascending.
    pub fn cea708_services(self) -> impl Iterator<Item = u8> {
        (1..=63u8).filter(move |s| self.cea708 & (1 << s) != 0)
    }
}

/// Which NAL unit header the samples use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalSyntax {
    /// H.264: one-byte header, `nal_unit_type` in the low 5 bits (§7.3.1).
    H264,
    /// HEVC: two-byte header, `nal_unit_type` in bits 1..=6 of the first (§7.3.1.2).
    Hevc,
}

/// Why (part of) a sample could not be scanned. Services found before the error
/// are kept; the sample itself is still packaged as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptionError {
    /// The NAL length size is not 1, 2 or 4 bytes.
    #[error("NAL unit length size {0} is not 1, 2 or 4")]
    InvalidLengthSize(u8),
    /// The sample ended inside a NAL unit length prefix.
    #[error("sample ended inside a NAL unit length prefix")]
    TruncatedLength,
    /// A NAL unit's length runs past the end of the sample.
    #[error("NAL unit of {len} bytes runs past the sample end ({left} bytes left)")]
    TruncatedNal {
        /// The announced length.
        len: usize,
        /// Bytes left in the sample.
        left: usize,
    },
    /// An SEI's RBSP ended inside a field.
    #[error("SEI truncated in {0}")]
    TruncatedSei(&'static str),
    /// An SEI NAL unit is larger than [`MAX_SEI_NAL_BYTES`].
    #[error("SEI NAL unit of {len} bytes exceeds the {max} byte limit")]
    SeiTooLarge {
        /// Its size.
        len: usize,
        /// [`MAX_SEI_NAL_BYTES`].
        max: usize,
    },
    /// An SEI NAL unit holds more than [`MAX_SEI_MESSAGES`] messages.
    #[error("SEI NAL unit holds more than {0} messages")]
    TooManySeiMessages(usize),
}

/// Finds caption services in length-prefixed H.264/HEVC samples. Sans-IO: feed
/// samples in decode order; CEA-708 packets may span samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionScanner {
    syntax: NalSyntax,
    length_size: usize,
    found: CaptionServices,
    /// The DTVCC packet being reassembled: `packet[..len]`, complete at `expected`.
    packet: [u8; DTVCC_MAX_PACKET],
    len: usize,
    /// Header + data bytes of the open packet; 0 when none is open.
    expected: usize,
}

impl CaptionScanner {
    /// A scanner for samples whose NAL units carry `length_size`-byte prefixes.
    pub fn new(syntax: NalSyntax, length_size: u8) -> Result<Self, CaptionError> {
        if !matches!(length_size, 1 | 2 | 4) {
            return Err(CaptionError::InvalidLengthSize(length_size));
        }
        Ok(Self {
            syntax,
            length_size: usize::from(length_size),
            found: CaptionServices::NONE,
            packet: [0; DTVCC_MAX_PACKET],
            len: 0,
            expected: 0,
        })
    }

    /// A scanner for `codec`'s samples; `None` for codecs without SEI (AV1, VP9,
    /// audio).
    pub fn for_codec(codec: &CodecConfig) -> Option<Self> {
        match codec {
            CodecConfig::H264(c) => Self::new(NalSyntax::H264, c.nal_length_size).ok(),
            CodecConfig::H265(c) => Self::new(NalSyntax::Hevc, c.nal_length_size).ok(),
            _ => None,
        }
    }

    /// The services seen so far.
    pub fn services(&self) -> CaptionServices {
        self.found
    }

    /// Scans one sample (one access unit of length-prefixed NAL units).
    pub fn handle_sample(&mut self, sample: &[u8]) -> Result<(), CaptionError> {
        let mut rest = sample;
        while !rest.is_empty() {
            let Some((prefix, after)) = rest.split_at_checked(self.length_size) else {
                return Err(CaptionError::TruncatedLength);
            };
            let len = prefix
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            let Some((nal, after)) = after.split_at_checked(len) else {
                return Err(CaptionError::TruncatedNal {
                    len,
                    left: after.len(),
                });
            };
            rest = after;
            let (is_sei, header) = match (self.syntax, nal.first()) {
                (_, None) => continue,
                (NalSyntax::H264, Some(&b)) => (b & 0x1F == H264_SEI, 1),
                (NalSyntax::Hevc, Some(&b)) => ((b >> 1) & 0x3F == HEVC_PREFIX_SEI, 2),
            };
            if is_sei {
                self.sei_nal(nal.get(header..).unwrap_or_default())?;
            }
        }
        Ok(())
    }

    /// The `sei_rbsp()` of one SEI NAL unit (header removed): `sei_message()`s until
    /// `rbsp_trailing_bits()` (H.264 §7.3.2.3, HEVC §7.3.2.4).
    fn sei_nal(&mut self, payload: &[u8]) -> Result<(), CaptionError> {
        if payload.len() > MAX_SEI_NAL_BYTES {
            return Err(CaptionError::SeiTooLarge {
                len: payload.len(),
                max: MAX_SEI_NAL_BYTES,
            });
        }
        let rbsp = nal_to_rbsp(payload);
        // more_rbsp_data(): the messages end at the byte holding rbsp_stop_one_bit
        // (0x80, every sei_message being byte-aligned), after which only zero bytes
        // (cabac_zero_words) may follow. Without trailing bits, all bytes are data.
        let mut end = rbsp.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        if end > 0 && rbsp[end - 1] == 0x80 {
            end -= 1;
        }
        let mut r = &rbsp[..end];
        let mut messages = 0;
        while !r.is_empty() {
            messages += 1;
            if messages > MAX_SEI_MESSAGES {
                return Err(CaptionError::TooManySeiMessages(MAX_SEI_MESSAGES));
            }
            // sei_message(): payloadType and payloadSize as runs of 0xFF bytes plus
            // a last byte (H.264 §7.3.2.3.1, HEVC §7.3.5).
            let payload_type = ff_coded(&mut r, "payloadType")?;
            let size = ff_coded(&mut r, "payloadSize")?;
            let Some((payload, after)) = r.split_at_checked(size) else {
                return Err(CaptionError::TruncatedSei("sei_payload"));
            };
            r = after;
            if payload_type == USER_DATA_REGISTERED_ITU_T_T35 {
                if let Some(cc_data) = payload.strip_prefix(&ATSC_CC_DATA_PREFIX[..]) {
                    self.cc_data(cc_data)?;
                }
            }
        }
        Ok(())
    }

    /// `cc_data()` (ATSC A/53 Part 4 §6.2.3): flags byte, `em_data`, then
    /// `cc_count` triples of (marker bits, `cc_valid`, `cc_type`), `cc_data_1`,
    /// `cc_data_2`.
    fn cc_data(&mut self, d: &[u8]) -> Result<(), CaptionError> {
        let [flags, _em_data, triples @ ..] = d else {
            return Err(CaptionError::TruncatedSei("cc_data header"));
        };
        // reserved(1) process_cc_data_flag(1) additional_data_flag(1) cc_count(5).
        if flags & 0x40 == 0 {
            return Ok(()); // The cc_data is to be ignored.
        }
        let count = usize::from(flags & 0x1F);
        let Some(triples) = triples.get(..count * 3) else {
            return Err(CaptionError::TruncatedSei("cc_data triples"));
        };
        for t in triples.chunks_exact(3) {
            let valid = t[0] & 0x04 != 0;
            match t[0] & 0x03 {
                0 if valid => self.cea608(false, t[1], t[2]),
                1 if valid => self.cea608(true, t[1], t[2]),
                3 if valid => self.dtvcc_start(t[1], t[2]),
                2 if valid => self.dtvcc_data(t[1], t[2]),
                _ => {} // cc_valid = 0: padding.
            }
        }
        Ok(())
    }

    /// One CEA-608 byte pair of field 1 (CC1/CC2) or field 2 (CC3/CC4). Only a
    /// caption-mode command with valid odd parity announces its channel (see the
    /// module docs): RCL 0x20, RU2..RU4 0x25..=0x27, RDC 0x29, after a first byte of
    /// 0x14/0x15 (data channel 1) or 0x1C/0x1D (data channel 2).
    fn cea608(&mut self, field2: bool, b1: u8, b2: u8) {
        if !odd_parity(b1) || !odd_parity(b2) {
            return;
        }
        let (c1, c2) = (b1 & 0x7F, b2 & 0x7F);
        if c1 & 0x76 == 0x14 && matches!(c2, 0x20 | 0x25..=0x27 | 0x29) {
            let channel = 1 + u8::from(c1 & 0x08 != 0) + 2 * u8::from(field2);
            self.found = self.found.with_608(channel);
        }
    }

    /// `cc_type` 3: a DTVCC packet starts; `b1` is its `packet_header` (sequence
    /// number (2), `packet_size_code` (6)). A packet still open ends here.
    fn dtvcc_start(&mut self, b1: u8, b2: u8) {
        self.dtvcc_finish();
        let size_code = usize::from(b1 & 0x3F);
        // CEA-708 §4.4: packet_data_size = packet_size_code * 2 - 1, or 127 for 0.
        self.expected = if size_code == 0 { 128 } else { size_code * 2 };
        self.packet[0] = b1;
        self.packet[1] = b2;
        self.len = 2;
        if self.len >= self.expected {
            self.dtvcc_finish();
        }
    }

    /// `cc_type` 2: two more bytes of the open DTVCC packet (ignored when none is
    /// open: the start was lost).
    fn dtvcc_data(&mut self, b1: u8, b2: u8) {
        if self.expected == 0 {
            return;
        }
        for b in [b1, b2] {
            if self.len < self.expected {
                self.packet[self.len] = b;
                self.len += 1;
            }
        }
        if self.len >= self.expected {
            self.dtvcc_finish();
        }
    }

    /// Reads the service blocks of the open DTVCC packet (as far as it got) and
    /// closes it. Service block (CEA-708 §4.4): `service_number` (3),
    /// `block_size` (5); service number 7 is followed by a byte whose low 6 bits are
    /// the extended service number; a null block header (service 0) ends the packet.
    fn dtvcc_finish(&mut self) {
        if self.expected == 0 {
            return;
        }
        let data = &self.packet[1..self.len];
        self.expected = 0;
        self.len = 0;
        let mut i = 0;
        while let Some(&header) = data.get(i) {
            i += 1;
            let mut service = header >> 5;
            let size = usize::from(header & 0x1F);
            if service == 0 {
                break;
            }
            if service == 7 {
                let Some(&ext) = data.get(i) else { break };
                i += 1;
                service = ext & 0x3F;
                if service < 7 {
                    break; // Extended numbers start at 7: a corrupt block.
                }
            }
            if i + size > data.len() {
                break; // Truncated block: not counted.
            }
            if size > 0 {
                self.found = self.found.with_708(service);
            }
            i += size;
        }
    }
}

/// A value coded as a run of 0xFF bytes plus a final byte (`payloadType`,
/// `payloadSize`): the sum of all of them.
fn ff_coded(r: &mut &[u8], what: &'static str) -> Result<usize, CaptionError> {
    let mut value = 0usize;
    loop {
        let Some((&b, rest)) = r.split_first() else {
            return Err(CaptionError::TruncatedSei(what));
        };
        *r = rest;
        value += usize::from(b);
        if b != 0xFF {
            return Ok(value);
        }
    }
}

/// CEA-608 bytes carry odd parity in bit 7.
fn odd_parity(b: u8) -> bool {
    b.count_ones() % 2 == 1
}

/// Scans a video rendition's frames for captions: until the first service is
/// found, then [`SCAN_FRAMES_AFTER_FIRST_FIND`] frames more (other channels), then
/// not at all. Found services are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionDetector {
    scanner: Option<CaptionScanner>,
    found: CaptionServices,
    frames_left: u32,
}

impl CaptionDetector {
    /// A detector for frames of `codec` (inert for codecs without SEI).
    pub fn new(codec: &CodecConfig) -> Self {
        Self {
            scanner: CaptionScanner::for_codec(codec),
            found: CaptionServices::NONE,
            frames_left: SCAN_FRAMES_AFTER_FIRST_FIND,
        }
    }

    /// The services found so far.
    pub fn services(&self) -> CaptionServices {
        self.found
    }

    /// Whether frames are still being scanned.
    pub fn is_scanning(&self) -> bool {
        self.scanner.is_some()
    }

    /// Scans one frame's payload while scanning; returns the services found so far
    /// when this frame added one. Malformed SEI is ignored (the frame is still
    /// packaged; a broken caption SEI is the publisher's business).
    pub fn handle_frame(&mut self, data: &[u8]) -> Option<CaptionServices> {
        let scanner = self.scanner.as_mut()?;
        let _ = scanner.handle_sample(data);
        let before = self.found;
        self.found = scanner.services();
        if !self.found.is_empty() {
            if !before.is_empty() {
                self.frames_left = self.frames_left.saturating_sub(1);
            }
            if self.frames_left == 0 {
                self.scanner = None;
            }
        }
        (self.found != before).then_some(self.found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::hex;
    use proptest::prelude::*;

    /// An SEI NAL unit made by FFmpeg's libx264 wrapper (`-a53cc 1`, ff_alloc_a53_sei)
    /// for a frame whose captions carried RU2 (`94 25`) on field 1 and a null pair on
    /// field 2: payloadType 4, size 17, B5 0031 "GA94" 03, cc_count 2.
    const X264_RU2_SEI: &str = "060411b5003147413934034200fc9425fd8080ff80";
    /// The same encoder, a later frame: the characters "LL" (`4c 4c`), no command.
    const X264_TEXT_SEI: &str = "060411b5003147413934034200fc4c4cfd8080ff80";

    /// CEA-608 byte with odd parity.
    fn par(b: u8) -> u8 {
        if b.count_ones().is_multiple_of(2) {
            b | 0x80
        } else {
            b
        }
    }

    /// `(cc_valid, cc_type, b1, b2)` triples as a `cc_data()`.
    fn cc_data(triples: &[(bool, u8, u8, u8)]) -> Vec<u8> {
        let mut d = vec![0x40 | triples.len() as u8, 0xFF];
        for &(valid, ty, b1, b2) in triples {
            d.extend([0xF8 | (u8::from(valid) << 2) | ty, b1, b2]);
        }
        d.push(0xFF);
        d
    }

    /// One sei_message() with 0xFF-run coded type and size.
    fn message(payload_type: usize, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        for mut v in [payload_type, payload.len()] {
            while v >= 255 {
                m.push(0xFF);
                v -= 255;
            }
            m.push(v as u8);
        }
        m.extend_from_slice(payload);
        m
    }

    /// The T.35 payload around a `cc_data()`.
    fn t35(cc: &[u8]) -> Vec<u8> {
        let mut p = ATSC_CC_DATA_PREFIX.to_vec();
        p.extend_from_slice(cc);
        p
    }

    /// An SEI NAL unit with `header` holding `messages`, emulation prevention added.
    fn sei_nal(header: &[u8], messages: &[Vec<u8>]) -> Vec<u8> {
        let mut rbsp: Vec<u8> = messages.concat();
        rbsp.push(0x80);
        let mut nal = header.to_vec();
        let mut zeros = 0;
        for b in rbsp {
            if zeros >= 2 && b <= 3 {
                nal.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            nal.push(b);
        }
        nal
    }

    const H264_SEI_HEADER: &[u8] = &[0x06];
    const HEVC_PREFIX_SEI_HEADER: &[u8] = &[39 << 1, 0x01];
    const HEVC_SUFFIX_SEI_HEADER: &[u8] = &[40 << 1, 0x01];

    /// NAL units with 4-byte lengths, then a small non-IDR slice.
    fn sample(nals: &[&[u8]]) -> Vec<u8> {
        sample_with(4, nals)
    }

    fn sample_with(length_size: usize, nals: &[&[u8]]) -> Vec<u8> {
        let slice: &[u8] = &[0x41, 0x9a, 0x00, 0x10, 0x20];
        let mut s = Vec::new();
        for nal in nals.iter().copied().chain([slice]) {
            s.extend_from_slice(&(nal.len() as u32).to_be_bytes()[4 - length_size..]);
            s.extend_from_slice(nal);
        }
        s
    }

    fn scan(syntax: NalSyntax, samples: &[Vec<u8>]) -> CaptionServices {
        let mut s = CaptionScanner::new(syntax, 4).unwrap();
        for sample in samples {
            s.handle_sample(sample).unwrap();
        }
        s.services()
    }

    fn h264(triples: &[(bool, u8, u8, u8)]) -> Vec<u8> {
        let msg = message(4, &t35(&cc_data(triples)));
        sample(&[&sei_nal(H264_SEI_HEADER, &[msg])])
    }

    #[test]
    fn ffmpeg_x264_roll_up_is_cc1() {
        let found = scan(NalSyntax::H264, &[sample(&[&hex(X264_RU2_SEI)])]);
        assert_eq!(found, CaptionServices::NONE.with_608(1));
        assert_eq!(found.cea608_channels().collect::<Vec<_>>(), [1]);
        assert_eq!(found.cea708_services().count(), 0);
        // Characters alone announce nothing (no caption-mode command).
        assert!(scan(NalSyntax::H264, &[sample(&[&hex(X264_TEXT_SEI)])]).is_empty());
    }

    #[test]
    fn hevc_prefix_sei_is_read_and_suffix_sei_is_not() {
        // The sei_rbsp of the x264 SEI, behind HEVC NAL headers.
        let rbsp = &hex(X264_RU2_SEI)[1..];
        let prefix = [HEVC_PREFIX_SEI_HEADER, rbsp].concat();
        let suffix = [HEVC_SUFFIX_SEI_HEADER, rbsp].concat();
        let found = scan(NalSyntax::Hevc, &[sample(&[&prefix])]);
        assert_eq!(found, CaptionServices::NONE.with_608(1));
        assert!(scan(NalSyntax::Hevc, &[sample(&[&suffix])]).is_empty());
        // An H.264 SEI header read as HEVC is nal_unit_type 3, not an SEI.
        assert!(scan(NalSyntax::Hevc, &[sample(&[&hex(X264_RU2_SEI)])]).is_empty());
    }

    #[test]
    fn channels_follow_field_and_data_channel() {
        let cases = [
            (0, 0x14, 0x25, 1), // RU2, field 1, data channel 1
            (0, 0x1C, 0x20, 2), // RCL, field 1, data channel 2
            (1, 0x15, 0x26, 3), // RU3, field 2, data channel 1
            (1, 0x14, 0x27, 3), // RU4 with the field-1 code in field 2
            (1, 0x1D, 0x29, 4), // RDC, field 2, data channel 2
        ];
        for (ty, b1, b2, channel) in cases {
            let found = scan(NalSyntax::H264, &[h264(&[(true, ty, par(b1), par(b2))])]);
            assert_eq!(
                found,
                CaptionServices::NONE.with_608(channel),
                "{b1:x} {b2:x}"
            );
        }
    }

    #[test]
    fn padding_text_mode_bad_parity_and_invalid_pairs_announce_nothing() {
        let nothing = [
            (true, 0, 0x80, 0x80),            // null pair
            (true, 0, par(0x14), par(0x2C)),  // EDM erase displayed memory
            (true, 0, par(0x14), par(0x2A)),  // TR: text mode, not captions
            (true, 1, par(0x15), par(0x2B)),  // RTD
            (true, 0, 0x14, par(0x25)),       // RU2 with bad parity on byte 1
            (false, 0, par(0x14), par(0x25)), // cc_valid = 0
            (true, 0, par(b'H'), par(b'I')),
            (true, 1, par(0x01), par(0x03)), // XDS start
            (true, 3, 0x01, 0x00),           // a DTVCC packet holding a null block
        ];
        for t in nothing {
            assert!(scan(NalSyntax::H264, &[h264(&[t])]).is_empty(), "{t:?}");
        }
        // process_cc_data_flag = 0: the whole cc_data is ignored.
        let mut cc = cc_data(&[(true, 0, par(0x14), par(0x25))]);
        cc[0] &= !0x40;
        let s = sample(&[&sei_nal(H264_SEI_HEADER, &[message(4, &t35(&cc))])]);
        assert!(scan(NalSyntax::H264, &[s]).is_empty());
        // Other T.35 user data (ATSC bar data, user_data_type_code 6) is not cc_data.
        let mut bar = t35(&cc_data(&[(true, 0, par(0x14), par(0x25))]));
        bar[7] = 0x06;
        let s = sample(&[&sei_nal(H264_SEI_HEADER, &[message(4, &bar)])]);
        assert!(scan(NalSyntax::H264, &[s]).is_empty());
    }

    #[test]
    fn cea708_services_from_packets_spanning_samples() {
        // Packet: header (seq 0, size code 3: 5 data bytes), service 1 block of 2
        // bytes, then a null block.
        let one = h264(&[
            (true, 3, 0x03, 0x22),
            (true, 2, 0x41, 0x42),
            (true, 2, 0x00, 0x00),
        ]);
        assert_eq!(
            scan(NalSyntax::H264, &[one]),
            CaptionServices::NONE.with_708(1)
        );
        // Extended service 10 (service_number 7 + extended byte), split over two
        // samples; the packet completes in the second.
        let first = h264(&[(true, 3, 0x43, 0xE1), (true, 2, 0x0A, 0x20)]);
        let second = h264(&[(true, 2, 0x00, 0x00)]);
        let found = scan(NalSyntax::H264, &[first, second]);
        assert_eq!(found.cea708_services().collect::<Vec<_>>(), [10]);
        // A block announcing more bytes than the packet holds is not counted, and
        // data without a packet start is ignored.
        let short = h264(&[(true, 3, 0x01, 0x25)]);
        let orphan = h264(&[(true, 2, 0x21, 0x41)]);
        assert!(scan(NalSyntax::H264, &[short, orphan]).is_empty());
        // A packet cut short by the next start is read as far as it got.
        let cut = h264(&[
            (true, 3, 0x3F, 0x41),
            (true, 2, 0x20, 0x00),
            (true, 3, 0x02, 0x00),
        ]);
        assert_eq!(
            scan(NalSyntax::H264, &[cut]),
            CaptionServices::NONE.with_708(2)
        );
    }

    #[test]
    fn emulation_prevention_multiple_messages_and_long_sizes() {
        // A user_data_unregistered message whose bytes need emulation prevention
        // (00 00 00, 00 00 01, 00 00 03) and whose size (300) needs a 0xFF byte, a
        // message of type 256 (0xFF 0x01), then two T.35 messages: AFD ("DTG1",
        // ignored) and the captions.
        let mut unregistered = vec![0u8; 300];
        unregistered[20..24].copy_from_slice(&[0, 0, 1, 3]);
        let afd = [0xB5, 0x00, 0x31, b'D', b'T', b'G', b'1', 0x41, 0xF8];
        let captions = t35(&cc_data(&[(true, 1, par(0x1D), par(0x25))]));
        let nal = sei_nal(
            H264_SEI_HEADER,
            &[
                message(5, &unregistered),
                message(256, &[1, 2, 3]),
                message(4, &afd),
                message(4, &captions),
            ],
        );
        assert!(nal.windows(3).any(|w| w == [0, 0, 3]), "escaped");
        let found = scan(NalSyntax::H264, &[sample(&[&nal])]);
        assert_eq!(found, CaptionServices::NONE.with_608(4));
        // Two SEI NAL units in one sample, CC1 and CC3.
        let a = hex(X264_RU2_SEI);
        let b = sei_nal(
            H264_SEI_HEADER,
            &[message(
                4,
                &t35(&cc_data(&[(true, 1, par(0x15), par(0x20))])),
            )],
        );
        let found = scan(NalSyntax::H264, &[sample(&[&a, &b])]);
        assert_eq!(found.cea608_channels().collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn one_and_two_byte_length_prefixes() {
        let nal = hex(X264_RU2_SEI);
        for size in [1u8, 2] {
            let mut s = CaptionScanner::new(NalSyntax::H264, size).unwrap();
            s.handle_sample(&sample_with(usize::from(size), &[&nal]))
                .unwrap();
            assert_eq!(s.services(), CaptionServices::NONE.with_608(1));
        }
        assert_eq!(
            CaptionScanner::new(NalSyntax::H264, 3),
            Err(CaptionError::InvalidLengthSize(3))
        );
    }

    #[test]
    fn truncation_is_an_error_and_keeps_what_was_found() {
        let good = hex(X264_RU2_SEI);
        let mut s = CaptionScanner::new(NalSyntax::H264, 4).unwrap();
        assert_eq!(s.handle_sample(&[0, 0]), Err(CaptionError::TruncatedLength));
        assert_eq!(
            s.handle_sample(&[0, 0, 0, 9, 0x06, 0x04]),
            Err(CaptionError::TruncatedNal { len: 9, left: 2 })
        );
        // payloadSize larger than the NAL unit.
        let mut big = good.to_vec();
        big[2] = 0x40;
        assert_eq!(
            s.handle_sample(&sample(&[&big])),
            Err(CaptionError::TruncatedSei("sei_payload"))
        );
        // cc_count larger than the triples present.
        let cc = [0x5F, 0xFF, 0xFC, 0x94];
        let nal = sei_nal(H264_SEI_HEADER, &[message(4, &t35(&cc))]);
        assert_eq!(
            s.handle_sample(&sample(&[&nal])),
            Err(CaptionError::TruncatedSei("cc_data triples"))
        );
        // An error after a find keeps the find.
        let mut s = CaptionScanner::new(NalSyntax::H264, 4).unwrap();
        let mut bytes = sample(&[&good]);
        bytes.extend_from_slice(&[0, 0, 1]);
        assert_eq!(s.handle_sample(&bytes), Err(CaptionError::TruncatedLength));
        assert_eq!(s.services(), CaptionServices::NONE.with_608(1));
        // Every prefix of a valid sample: an error or nothing, never a panic.
        let whole = sample(&[&good]);
        for n in 0..whole.len() {
            let mut s = CaptionScanner::new(NalSyntax::H264, 4).unwrap();
            let _ = s.handle_sample(&whole[..n]);
        }
    }

    #[test]
    fn limits_have_their_own_errors() {
        let mut s = CaptionScanner::new(NalSyntax::H264, 4).unwrap();
        let mut huge = vec![0x06];
        huge.resize(MAX_SEI_NAL_BYTES + 2, 0x11);
        assert_eq!(
            s.handle_sample(&sample(&[&huge])),
            Err(CaptionError::SeiTooLarge {
                len: MAX_SEI_NAL_BYTES + 1,
                max: MAX_SEI_NAL_BYTES
            })
        );
        let many: Vec<Vec<u8>> = (0..=MAX_SEI_MESSAGES).map(|_| message(0, &[])).collect();
        let nal = sei_nal(H264_SEI_HEADER, &many);
        assert_eq!(
            s.handle_sample(&sample(&[&nal])),
            Err(CaptionError::TooManySeiMessages(MAX_SEI_MESSAGES))
        );
    }

    #[test]
    fn detector_stops_scanning_after_the_settle_window() {
        let codec = crate::live::test_support::video_track(0).codec;
        let mut d = CaptionDetector::new(&codec);
        let plain = sample(&[]);
        let cc1 = sample(&[&hex(X264_RU2_SEI)]);
        let cc3 = h264(&[(true, 1, par(0x15), par(0x20))]);
        assert_eq!(d.handle_frame(&plain), None);
        assert_eq!(
            d.handle_frame(&cc1),
            Some(CaptionServices::NONE.with_608(1))
        );
        assert_eq!(d.handle_frame(&cc1), None, "no change, no report");
        let both = CaptionServices::NONE.with_608(1).with_608(3);
        assert_eq!(d.handle_frame(&cc3), Some(both));
        for _ in 2..SCAN_FRAMES_AFTER_FIRST_FIND {
            assert!(d.is_scanning());
            d.handle_frame(&plain);
        }
        assert!(!d.is_scanning());
        let cc2 = h264(&[(true, 0, par(0x1C), par(0x20))]);
        assert_eq!(d.handle_frame(&cc2), None, "no longer scanning");
        assert_eq!(d.services(), both);
        // Audio has no SEI: an inert detector.
        let aac = crate::live::test_support::audio_track(0).codec;
        let mut d = CaptionDetector::new(&aac);
        assert!(!d.is_scanning());
        assert_eq!(d.handle_frame(&cc1), None);
    }

    #[test]
    fn service_sets_ignore_out_of_range_numbers() {
        let s = CaptionServices::NONE
            .with_608(0)
            .with_608(5)
            .with_708(0)
            .with_708(64);
        assert!(s.is_empty());
        let s = CaptionServices::NONE.with_708(63).with_708(1).with_608(4);
        assert_eq!(s.cea708_services().collect::<Vec<_>>(), [1, 63]);
        assert_eq!(s.cea608_channels().collect::<Vec<_>>(), [4]);
        assert_eq!(
            s.union(CaptionServices::NONE.with_608(2))
                .cea608_channels()
                .collect::<Vec<_>>(),
            [2, 4]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_samples_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            hevc in any::<bool>(),
            size in prop_oneof![Just(1u8), Just(2u8), Just(4u8)],
        ) {
            let syntax = if hevc { NalSyntax::Hevc } else { NalSyntax::H264 };
            let mut s = CaptionScanner::new(syntax, size).unwrap();
            let _ = s.handle_sample(&bytes);
        }

        #[test]
        fn arbitrary_cc_data_in_a_valid_sei_never_panics(
            cc in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let nal = sei_nal(H264_SEI_HEADER, &[message(4, &t35(&cc))]);
            let mut s = CaptionScanner::new(NalSyntax::H264, 4).unwrap();
            let _ = s.handle_sample(&sample(&[&nal]));
            let _ = s.handle_sample(&sample(&[&nal]));
        }
    }
}
