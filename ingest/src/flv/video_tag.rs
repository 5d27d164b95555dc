//! Video tag bodies: legacy AVC (FLV spec §E.4.3.1 VIDEODATA, §E.4.3.2
//! AVCVIDEOPACKET) and the Enhanced RTMP ExVideoTagHeader (v1; v2 adds ModEx and
//! multitrack).
//!
//! Legacy byte 0: `FrameType:UB[4] CodecID:UB[4]`. For CodecID 7 (AVC):
//! `AVCPacketType:UI8` (0 sequence header, 1 NALUs, 2 end of sequence),
//! `CompositionTime:SI24` (may be negative), then data.
//!
//! Enhanced byte 0: `IsExHeader:UB[1] FrameType:UB[3] PacketType:UB[4]`, then
//! ModEx / multitrack (see [`super::tag_reader`]) and a FourCC. Packet types:
//! 0 SequenceStart, 1 CodedFrames (`avc1`/`hvc1` carry an SI24 composition time),
//! 2 SequenceEnd, 3 CodedFramesX (composition time 0), 4 Metadata (AMF),
//! 5 MPEG-2 TS sequence start, 6 Multitrack, 7 ModEx. FrameType 5 is a command
//! frame with no media.

use bytes::Bytes;

use super::tag_reader::{read_ex_header, split_tracks, TagReader};
use super::{FlvError, FourCc};

/// FLV FrameType 1: a key frame (random access point).
const FRAME_TYPE_KEY: u8 = 1;
/// FLV FrameType 5: video info / command frame.
const FRAME_TYPE_COMMAND: u8 = 5;
/// Legacy CodecID 7: AVC.
const CODEC_ID_AVC: u8 = 7;

/// Enhanced RTMP `VideoPacketType`.
pub mod packet_type {
    /// Decoder configuration record.
    pub const SEQUENCE_START: u8 = 0;
    /// Coded frames (with a composition time for `avc1`/`hvc1`).
    pub const CODED_FRAMES: u8 = 1;
    /// End of sequence.
    pub const SEQUENCE_END: u8 = 2;
    /// Coded frames, composition time 0.
    pub const CODED_FRAMES_X: u8 = 3;
    /// AMF metadata (HDR colour info).
    pub const METADATA: u8 = 4;
    /// Multitrack follows.
    pub const MULTITRACK: u8 = 6;
    /// Modifier extension follows.
    pub const MOD_EX: u8 = 7;
}

/// The video codecs we carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264: legacy CodecID 7 or FourCC `avc1`.
    Avc,
    /// H.265: FourCC `hvc1`.
    Hevc,
    /// AV1: FourCC `av01`.
    Av1,
    /// VP9: FourCC `vp09`.
    Vp9,
}

impl VideoCodec {
    fn from_fourcc(f: FourCc) -> Option<Self> {
        match &f {
            b"avc1" => Some(Self::Avc),
            b"hvc1" => Some(Self::Hevc),
            b"av01" => Some(Self::Av1),
            b"vp09" => Some(Self::Vp9),
            _ => None,
        }
    }
}

/// What one track's packet holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoPayload {
    /// A decoder configuration record (`avcC`, `hvcC`, `av1C`, `vpcC` contents).
    SequenceStart(Bytes),
    /// One access unit, and its composition time offset in ms (pts - dts).
    Frame {
        /// `pts - dts`, milliseconds; may be negative.
        cts: i32,
        /// The access unit.
        data: Bytes,
    },
    /// End of sequence.
    SequenceEnd,
}

/// One track's part of a video tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoPacket {
    /// Multitrack track id; 0 for legacy and single-track tags.
    pub track_id: u8,
    /// The codec.
    pub codec: VideoCodec,
    /// The content.
    pub payload: VideoPayload,
}

/// A parsed video tag body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VideoTag {
    /// FrameType is "key frame".
    pub keyframe: bool,
    /// Packets for codecs we carry; other codecs, metadata and commands are dropped.
    pub packets: Vec<VideoPacket>,
}

/// Parses one video tag body.
pub fn parse_video_tag(body: Bytes) -> Result<VideoTag, FlvError> {
    let mut r = TagReader::new(body);
    if r.remaining() == 0 {
        return Ok(VideoTag::default());
    }
    let b0 = r.u8("video header")?;
    if b0 & 0x80 == 0 {
        return parse_legacy(b0, &mut r);
    }
    let frame_type = (b0 >> 4) & 0x07;
    let first_type = b0 & 0x0F;
    let keyframe = frame_type == FRAME_TYPE_KEY;
    if frame_type == FRAME_TYPE_COMMAND && first_type != packet_type::METADATA {
        return Ok(VideoTag {
            keyframe,
            packets: Vec::new(),
        }); // VideoCommand: no media
    }
    let header = read_ex_header(
        &mut r,
        first_type,
        packet_type::MOD_EX,
        packet_type::MULTITRACK,
    )?;
    let mut packets = Vec::new();
    for track in split_tracks(&mut r, &header)? {
        let Some(codec) = VideoCodec::from_fourcc(track.fourcc) else {
            continue;
        };
        let mut t = TagReader::new(track.data);
        let payload = match header.packet_type {
            packet_type::SEQUENCE_START => VideoPayload::SequenceStart(t.rest()),
            packet_type::CODED_FRAMES if matches!(codec, VideoCodec::Avc | VideoCodec::Hevc) => {
                let cts = t.si24("composition time")?;
                VideoPayload::Frame {
                    cts,
                    data: t.rest(),
                }
            }
            packet_type::CODED_FRAMES | packet_type::CODED_FRAMES_X => VideoPayload::Frame {
                cts: 0,
                data: t.rest(),
            },
            packet_type::SEQUENCE_END => VideoPayload::SequenceEnd,
            _ => continue, // Metadata, MPEG-2 TS sequence start, reserved
        };
        packets.push(VideoPacket {
            track_id: track.track_id,
            codec,
            payload,
        });
    }
    Ok(VideoTag { keyframe, packets })
}

fn parse_legacy(b0: u8, r: &mut TagReader) -> Result<VideoTag, FlvError> {
    let frame_type = b0 >> 4;
    let keyframe = frame_type == FRAME_TYPE_KEY;
    if b0 & 0x0F != CODEC_ID_AVC || frame_type == FRAME_TYPE_COMMAND {
        return Ok(VideoTag {
            keyframe,
            packets: Vec::new(),
        });
    }
    let avc_packet_type = r.u8("AVCPacketType")?;
    let cts = r.si24("CompositionTime")?;
    let payload = match avc_packet_type {
        0 => VideoPayload::SequenceStart(r.rest()),
        1 => VideoPayload::Frame {
            cts,
            data: r.rest(),
        },
        2 => VideoPayload::SequenceEnd,
        _ => {
            return Ok(VideoTag {
                keyframe,
                packets: Vec::new(),
            })
        }
    };
    Ok(VideoTag {
        keyframe,
        packets: vec![VideoPacket {
            track_id: 0,
            codec: VideoCodec::Avc,
            payload,
        }],
    })
}
