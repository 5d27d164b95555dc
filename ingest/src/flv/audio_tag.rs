//! Audio tag bodies: legacy AAC (FLV spec §E.4.2.1 AUDIODATA, §E.4.2.2
//! AACAUDIODATA) and the Enhanced RTMP v2 ExAudioTagHeader.
//!
//! Legacy byte 0: `SoundFormat:UB[4] SoundRate:UB[2] SoundSize:UB[1]
//! SoundType:UB[1]`; for SoundFormat 10 (AAC) the rate/size/type bits are fixed
//! and meaningless, and `AACPacketType:UI8` follows (0 AudioSpecificConfig, 1 raw
//! access unit).
//!
//! Enhanced (SoundFormat 9, "ExHeader"): the low nibble of byte 0 is the
//! `AudioPacketType` (0 SequenceStart, 1 CodedFrames, 2 SequenceEnd,
//! 4 MultichannelConfig, 5 Multitrack, 7 ModEx), then ModEx / multitrack (see
//! [`super::tag_reader`]) and a FourCC: `mp4a` (sequence start = AudioSpecificConfig)
//! or `Opus` (sequence start = OpusHead). Other codecs are dropped.

use bytes::Bytes;

use super::tag_reader::{read_ex_header, split_tracks, TagReader};
use super::{FlvError, FourCc};

/// Legacy SoundFormat 10: AAC.
const SOUND_FORMAT_AAC: u8 = 10;
/// SoundFormat 9: Enhanced RTMP ExAudioTagHeader.
const SOUND_FORMAT_EX_HEADER: u8 = 9;

/// Enhanced RTMP `AudioPacketType`.
pub mod packet_type {
    /// Codec configuration.
    pub const SEQUENCE_START: u8 = 0;
    /// Coded frames.
    pub const CODED_FRAMES: u8 = 1;
    /// End of sequence.
    pub const SEQUENCE_END: u8 = 2;
    /// Channel layout (we rely on the codec configuration instead).
    pub const MULTICHANNEL_CONFIG: u8 = 4;
    /// Multitrack follows.
    pub const MULTITRACK: u8 = 5;
    /// Modifier extension follows.
    pub const MOD_EX: u8 = 7;
}

/// The audio codecs we carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCodec {
    /// AAC: legacy SoundFormat 10 or FourCC `mp4a`.
    Aac,
    /// Opus: FourCC `Opus`.
    Opus,
}

impl AudioCodec {
    fn from_fourcc(f: FourCc) -> Option<Self> {
        match &f {
            b"mp4a" => Some(Self::Aac),
            b"Opus" => Some(Self::Opus),
            _ => None,
        }
    }
}

/// What one track's packet holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioPayload {
    /// The codec configuration (AudioSpecificConfig, OpusHead).
    SequenceStart(Bytes),
    /// One access unit.
    Frame(Bytes),
}

/// One track's part of an audio tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// Multitrack track id; 0 for legacy and single-track tags.
    pub track_id: u8,
    /// The codec.
    pub codec: AudioCodec,
    /// The content.
    pub payload: AudioPayload,
}

/// Parses one audio tag body; codecs and packet types we do not carry yield no
/// packets.
pub fn parse_audio_tag(body: Bytes) -> Result<Vec<AudioPacket>, FlvError> {
    let mut r = TagReader::new(body);
    if r.remaining() == 0 {
        return Ok(Vec::new());
    }
    let b0 = r.u8("audio header")?;
    match b0 >> 4 {
        SOUND_FORMAT_AAC => {
            let payload = match r.u8("AACPacketType")? {
                0 => AudioPayload::SequenceStart(r.rest()),
                1 => AudioPayload::Frame(r.rest()),
                _ => return Ok(Vec::new()),
            };
            Ok(vec![AudioPacket {
                track_id: 0,
                codec: AudioCodec::Aac,
                payload,
            }])
        }
        SOUND_FORMAT_EX_HEADER => {
            let header = read_ex_header(
                &mut r,
                b0 & 0x0F,
                packet_type::MOD_EX,
                packet_type::MULTITRACK,
            )?;
            let mut packets = Vec::new();
            for track in split_tracks(&mut r, &header)? {
                let Some(codec) = AudioCodec::from_fourcc(track.fourcc) else {
                    continue;
                };
                let payload = match header.packet_type {
                    packet_type::SEQUENCE_START => AudioPayload::SequenceStart(track.data),
                    packet_type::CODED_FRAMES => AudioPayload::Frame(track.data),
                    _ => continue, // SequenceEnd, MultichannelConfig, reserved
                };
                packets.push(AudioPacket {
                    track_id: track.track_id,
                    codec,
                    payload,
                });
            }
            Ok(packets)
        }
        _ => Ok(Vec::new()), // MP3, Speex, G.711…: not carried
    }
}
