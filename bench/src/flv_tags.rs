//! # FLV tag bodies: legacy AVC/AAC and Enhanced RTMP v1 video
//!
//! An RTMP audio/video message body is an FLV tag body (FLV spec v10.1,
//! Annex E.4.2–E.4.3). Legacy video: `FrameType(4) CodecID(4)`, then for AVC
//! `AVCPacketType(8) CompositionTime(SI24)`. AAC audio: `0xAF` (format 10,
//! 44 kHz, 16-bit, stereo — the fixed values the spec requires for AAC), then
//! `AACPacketType` (0 = AudioSpecificConfig, 1 = raw frame).
//!
//! Enhanced RTMP v1 (veovera enhanced-rtmp) `ExVideoTagHeader`:
//! `IsExHeader(1) = 1 | FrameType(3) | PacketType(4)`, then a 4-byte FourCC.
//! PacketType 0 SequenceStart carries the codec record (hvcC / av1C),
//! 1 CodedFrames (for `hvc1` and `avc1` preceded by an SI24 composition
//! time offset), 2 SequenceEnd (empty), 3 CodedFramesX (no composition time:
//! it is zero).

use bytes::{BufMut, Bytes, BytesMut};

/// FourCC of HEVC in Enhanced RTMP.
pub const HVC1: [u8; 4] = *b"hvc1";
/// FourCC of AV1 in Enhanced RTMP.
pub const AV01: [u8; 4] = *b"av01";
/// FourCC of VP9 in Enhanced RTMP.
pub const VP09: [u8; 4] = *b"vp09";

/// Video FrameType values shared by legacy and enhanced headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// 1: a key (seekable) frame.
    Key = 1,
    /// 2: an inter frame.
    Inter = 2,
}

impl FrameType {
    /// Key when `key` is true.
    pub fn from_key(key: bool) -> Self {
        if key {
            FrameType::Key
        } else {
            FrameType::Inter
        }
    }
}

/// Enhanced RTMP v1 VideoPacketType values used by this publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// 0: the decoder configuration record.
    SequenceStart = 0,
    /// 1: coded frames (with SI24 cts for `avc1`/`hvc1`).
    CodedFrames = 1,
    /// 2: end of sequence, empty body.
    SequenceEnd = 2,
    /// 3: coded frames whose composition time offset is zero.
    CodedFramesX = 3,
}

fn put_si24(b: &mut BytesMut, v: i32) {
    let v = v.clamp(-0x80_0000, 0x7F_FFFF) as u32;
    b.put_slice(&v.to_be_bytes()[1..]);
}

/// Legacy AVC sequence header: `0x17 0x00 000000` + avcC.
pub fn avc_sequence_header(avcc: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + avcc.len());
    b.put_slice(&[0x17, 0, 0, 0, 0]);
    b.put_slice(avcc);
    b.freeze()
}

/// Legacy AVC NALU packet: frame type, codec 7, packet type 1, cts, then
/// 4-byte length-prefixed NAL units.
pub fn avc_frame(key: bool, cts: i32, nalus: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + nalus.len());
    b.put_u8((FrameType::from_key(key) as u8) << 4 | 7);
    b.put_u8(1);
    put_si24(&mut b, cts);
    b.put_slice(nalus);
    b.freeze()
}

/// AAC sequence header: `0xAF 0x00` + AudioSpecificConfig.
pub fn aac_sequence_header(asc: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(2 + asc.len());
    b.put_slice(&[0xAF, 0]);
    b.put_slice(asc);
    b.freeze()
}

/// AAC raw frame: `0xAF 0x01` + the frame without its ADTS header.
pub fn aac_frame(raw: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(2 + raw.len());
    b.put_slice(&[0xAF, 1]);
    b.put_slice(raw);
    b.freeze()
}

fn ex_header(b: &mut BytesMut, frame: FrameType, packet: PacketType, fourcc: [u8; 4]) {
    b.put_u8(0x80 | (frame as u8) << 4 | packet as u8);
    b.put_slice(&fourcc);
}

/// Enhanced SequenceStart carrying `record` (hvcC, av1C or vpcC).
pub fn ex_sequence_start(fourcc: [u8; 4], record: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + record.len());
    ex_header(&mut b, FrameType::Key, PacketType::SequenceStart, fourcc);
    b.put_slice(record);
    b.freeze()
}

/// Enhanced CodedFrames. `cts` is written only for `hvc1`/`avc1`, whose
/// layout has the SI24 composition time offset.
pub fn ex_coded_frames(fourcc: [u8; 4], key: bool, cts: i32, data: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(8 + data.len());
    ex_header(
        &mut b,
        FrameType::from_key(key),
        PacketType::CodedFrames,
        fourcc,
    );
    if has_cts(fourcc) {
        put_si24(&mut b, cts);
    }
    b.put_slice(data);
    b.freeze()
}

/// Enhanced CodedFramesX: coded frames with an implied cts of zero.
pub fn ex_coded_frames_x(fourcc: [u8; 4], key: bool, data: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + data.len());
    ex_header(
        &mut b,
        FrameType::from_key(key),
        PacketType::CodedFramesX,
        fourcc,
    );
    b.put_slice(data);
    b.freeze()
}

/// Enhanced SequenceEnd (empty body after the FourCC).
pub fn ex_sequence_end(fourcc: [u8; 4]) -> Bytes {
    let mut b = BytesMut::with_capacity(5);
    ex_header(&mut b, FrameType::Key, PacketType::SequenceEnd, fourcc);
    b.freeze()
}

fn has_cts(fourcc: [u8; 4]) -> bool {
    fourcc == HVC1 || fourcc == *b"avc1"
}

/// The fields of an Enhanced RTMP v1 video header, as read back (tests and
/// diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExVideoHeader {
    /// FrameType (3 bits).
    pub frame_type: u8,
    /// PacketType (4 bits).
    pub packet_type: u8,
    /// The FourCC.
    pub fourcc: [u8; 4],
    /// Composition time offset (0 when absent).
    pub cts: i32,
    /// Offset of the payload in the body.
    pub payload_offset: usize,
}

/// Reads an Enhanced RTMP v1 video header; `None` if not enhanced or short.
pub fn parse_ex_video_header(body: &[u8]) -> Option<ExVideoHeader> {
    let b0 = *body.first()?;
    if b0 & 0x80 == 0 || body.len() < 5 {
        return None;
    }
    let fourcc: [u8; 4] = body[1..5].try_into().ok()?;
    let packet_type = b0 & 0x0F;
    let (cts, payload_offset) = if packet_type == 1 && has_cts(fourcc) {
        let c = body.get(5..8)?;
        let raw = i32::from_be_bytes([0, c[0], c[1], c[2]]);
        (
            if raw & 0x80_0000 != 0 {
                raw - 0x100_0000
            } else {
                raw
            },
            8,
        )
    } else {
        (0, 5)
    };
    Some(ExVideoHeader {
        frame_type: (b0 >> 4) & 0x07,
        packet_type,
        fourcc,
        cts,
        payload_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bytes() {
        assert_eq!(&ex_sequence_start(HVC1, &[1, 2])[..], b"\x90hvc1\x01\x02");
        assert_eq!(
            &ex_coded_frames(HVC1, true, -1, &[9])[..],
            b"\x91hvc1\xff\xff\xff\x09"
        );
        assert_eq!(&ex_coded_frames(AV01, false, 5, &[9])[..], b"\xa1av01\x09");
        assert_eq!(&ex_coded_frames_x(HVC1, false, &[9])[..], b"\xa3hvc1\x09");
        assert_eq!(&ex_sequence_end(AV01)[..], b"\x92av01");
        assert_eq!(&avc_frame(false, 66, &[7])[..], [0x27, 1, 0, 0, 66, 7]);
        assert_eq!(&avc_sequence_header(&[1])[..], [0x17, 0, 0, 0, 0, 1]);
        assert_eq!(
            &aac_sequence_header(&[0x12, 0x10])[..],
            [0xAF, 0, 0x12, 0x10]
        );
        assert_eq!(&aac_frame(&[3])[..], [0xAF, 1, 3]);
    }

    #[test]
    fn round_trip_of_enhanced_headers() {
        for (body, ft, pt, cts, off) in [
            (ex_coded_frames(HVC1, true, -300, b"xy"), 1, 1, -300, 8),
            (
                ex_coded_frames(HVC1, false, 0x7F_FFFF, b"xy"),
                2,
                1,
                0x7F_FFFF,
                8,
            ),
            (ex_coded_frames(AV01, true, 0, b"xy"), 1, 1, 0, 5),
            (ex_coded_frames_x(VP09, false, b"xy"), 2, 3, 0, 5),
            (ex_sequence_start(AV01, b"xy"), 1, 0, 0, 5),
        ] {
            let h = parse_ex_video_header(&body).unwrap();
            assert_eq!(
                (h.frame_type, h.packet_type, h.cts, h.payload_offset),
                (ft, pt, cts, off)
            );
            assert_eq!(&body[h.payload_offset..], b"xy");
        }
        assert_eq!(parse_ex_video_header(&avc_frame(true, 0, b"x")), None);
    }
}
