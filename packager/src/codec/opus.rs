//! Opus: the OpusHead identification header (RFC 7845 §5.1) and the `dOps` box
//! (Opus in ISOBMFF §4.3.2).
//!
//! Both carry the same fields, but OpusHead is little-endian with an 8-byte magic and
//! `version` 1, while `dOps` is big-endian with `Version` 0. [`OpusConfig::record`] is
//! always in `dOps` layout, ready to be written into the box.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::ByteReader;
use super::CodecError;
use crate::media::AudioInfo;

const CODEC: &str = "Opus";

/// Opus always decodes at 48 kHz (RFC 7845 §4), the `mdhd` timescale.
pub const OPUS_SAMPLE_RATE: u32 = 48_000;
/// Samples of a 20 ms packet at 48 kHz, the common frame size.
pub const OPUS_SAMPLES_PER_FRAME: u32 = 960;

/// A parsed Opus header.
#[derive(Debug, Clone, PartialEq)]
pub struct OpusConfig {
    /// The config in `dOps` layout (converted from OpusHead when needed).
    pub record: Bytes,
    /// `OutputChannelCount`.
    pub channels: u8,
    /// `PreSkip`: samples at 48 kHz to drop at the start.
    pub pre_skip: u16,
    /// `InputSampleRate`: the original rate, informational only.
    pub input_sample_rate: u32,
    /// `OutputGain`, Q7.8 dB.
    pub output_gain: i16,
    /// `ChannelMappingFamily`.
    pub mapping_family: u8,
}

impl OpusConfig {
    /// Parses an OpusHead (`OpusHead` magic) or a `dOps` payload.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        CodecError::check_size(CODEC, record.len())?;
        let record = if record.starts_with(b"OpusHead") {
            opus_head_to_dops(&record)?
        } else {
            record
        };
        let mut r = ByteReader::new(CODEC, record.clone());
        // §4.3.2: Version shall be 0.
        if r.u8("Version")? != 0 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "dOps Version != 0",
            });
        }
        let channels = r.u8("OutputChannelCount")?;
        let pre_skip = r.u16("PreSkip")?;
        let input_sample_rate = r.u32("InputSampleRate")?;
        let output_gain = r.u16("OutputGain")? as i16;
        let mapping_family = r.u8("ChannelMappingFamily")?;
        if channels == 0 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "OutputChannelCount = 0",
            });
        }
        if mapping_family == 0 && channels > 2 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "mapping family 0 with more than 2 channels",
            });
        }
        if mapping_family != 0 {
            r.take(2 + usize::from(channels), "ChannelMappingTable")?;
        }
        Ok(OpusConfig {
            record,
            channels,
            pre_skip,
            input_sample_rate,
            output_gain,
            mapping_family,
        })
    }

    /// Builds the `dOps` record from its fields, for containers that signal the
    /// channel layout without an OpusHead (e.g. the MPEG-TS Opus audio descriptor).
    ///
    /// `table` is the `ChannelMappingTable` of §4.3.2 (`StreamCount`, `CoupledCount`,
    /// then one `ChannelMapping` byte per output channel) and must be empty for
    /// mapping family 0. `InputSampleRate` is written as 48 kHz and `OutputGain` as 0.
    /// The result is checked like [`OpusConfig::parse`].
    pub fn from_channel_layout(
        channels: u8,
        pre_skip: u16,
        mapping_family: u8,
        table: &[u8],
    ) -> Result<Self, CodecError> {
        let table_len = if mapping_family == 0 {
            0
        } else {
            2 + usize::from(channels)
        };
        if table.len() != table_len {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "ChannelMappingTable size does not match the channel count",
            });
        }
        let mut out = BytesMut::with_capacity(11 + table.len());
        out.put_u8(0); // Version
        out.put_u8(channels);
        out.put_u16(pre_skip);
        out.put_u32(OPUS_SAMPLE_RATE);
        out.put_i16(0); // OutputGain
        out.put_u8(mapping_family);
        out.put_slice(table);
        Self::parse(out.freeze())
    }

    /// `opus` (the RFC 6381 value used by HLS and DASH).
    pub fn codec_string(&self) -> String {
        "opus".to_owned()
    }

    /// 48 kHz, the channel count, and 960 samples (20 ms) per access unit.
    pub fn audio_info(&self) -> AudioInfo {
        AudioInfo {
            sample_rate: OPUS_SAMPLE_RATE,
            channels: u16::from(self.channels),
            samples_per_frame: OPUS_SAMPLES_PER_FRAME,
        }
    }
}

/// RFC 7845 §5.1 OpusHead (little-endian) → Opus-ISOBMFF §4.3.2 `dOps` (big-endian).
fn opus_head_to_dops(head: &[u8]) -> Result<Bytes, CodecError> {
    let field = |range: std::ops::Range<usize>, what| {
        head.get(range)
            .ok_or(CodecError::Truncated { codec: CODEC, what })
    };
    // Versions 0..=15 share the layout (RFC 7845 §5.1 "major version" is the top nibble).
    if field(8..9, "version")?[0] >> 4 != 0 {
        return Err(CodecError::Invalid {
            codec: CODEC,
            what: "OpusHead major version != 0",
        });
    }
    let channels = field(9..10, "channel count")?[0];
    let le16 = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    let mut out = BytesMut::with_capacity(11 + 2 + usize::from(channels));
    out.put_u8(0);
    out.put_u8(channels);
    out.put_u16(le16(field(10..12, "pre-skip")?));
    let rate = field(12..16, "input sample rate")?;
    out.put_u32(u32::from_le_bytes([rate[0], rate[1], rate[2], rate[3]]));
    out.put_u16(le16(field(16..18, "output gain")?));
    let family = field(18..19, "channel mapping family")?[0];
    out.put_u8(family);
    if family != 0 {
        // Stream count, coupled count and the mapping are single bytes: no swap.
        out.put_slice(field(
            19..21 + usize::from(channels),
            "channel mapping table",
        )?);
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::hex;
    use proptest::prelude::*;

    /// `dOps` from `ffmpeg -c:a libopus -ac 2 -f mp4` (ffprobe: opus, 48000, 2).
    const FFMPEG_DOPS: &str = "000201380000bb80000000";
    /// The same stream's OpusHead (as in Ogg / WebRTC / Enhanced RTMP).
    const OPUS_HEAD: &str = "4f707573486561640102380180bb0000000000";

    #[test]
    fn parses_dops() {
        let c = OpusConfig::parse(hex(FFMPEG_DOPS)).unwrap();
        assert_eq!(
            (
                c.channels,
                c.pre_skip,
                c.input_sample_rate,
                c.mapping_family
            ),
            (2, 312, 48000, 0)
        );
        assert_eq!(c.codec_string(), "opus");
        assert_eq!(
            c.audio_info(),
            AudioInfo {
                sample_rate: 48000,
                channels: 2,
                samples_per_frame: 960
            }
        );
    }

    #[test]
    fn converts_opus_head_to_dops() {
        let c = OpusConfig::parse(hex(OPUS_HEAD)).unwrap();
        assert_eq!(c.record, hex(FFMPEG_DOPS));
        // Family 1, 6 channels: 4 streams, 2 coupled, mapping table copied.
        let head = hex("4f707573486561640106380180bb000000000104020004010205 03");
        let c = OpusConfig::parse(head).unwrap();
        assert_eq!(c.record, hex("0006013800 00bb80 0000 01 0402 000401020503"));
        assert_eq!(OpusConfig::parse(c.record.clone()).unwrap(), c);
    }

    #[test]
    fn builds_dops_from_a_channel_layout() {
        let stereo = OpusConfig::from_channel_layout(2, 312, 0, &[]).unwrap();
        assert_eq!(stereo.record, hex(FFMPEG_DOPS));
        let surround =
            OpusConfig::from_channel_layout(6, 312, 1, &[4, 2, 0, 4, 1, 2, 3, 5]).unwrap();
        assert_eq!(
            surround.record,
            hex("0006013800 00bb80 0000 01 0402 000401020305")
        );
        assert_eq!((surround.channels, surround.mapping_family), (6, 1));
        assert!(OpusConfig::from_channel_layout(0, 0, 0, &[]).is_err());
        assert!(OpusConfig::from_channel_layout(3, 0, 0, &[]).is_err());
        assert!(OpusConfig::from_channel_layout(2, 0, 0, &[1, 1, 0, 1]).is_err());
        assert!(OpusConfig::from_channel_layout(2, 0, 1, &[1, 1, 0]).is_err());
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(matches!(
            OpusConfig::parse(hex("0100")),
            Err(CodecError::Invalid { .. })
        ));
        assert!(matches!(
            OpusConfig::parse(hex("000301380000bb80000000")),
            Err(CodecError::Invalid { .. })
        ));
        assert!(matches!(
            OpusConfig::parse(hex("000601380000bb80000001")),
            Err(CodecError::Truncated { .. })
        ));
        assert!(OpusConfig::parse(hex("4f70757348656164")).is_err());
    }

    proptest! {
        #[test]
        fn random_headers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = OpusConfig::parse(data.clone().into());
            let mut head = b"OpusHead".to_vec();
            head.extend(data.iter().take(24));
            let _ = OpusConfig::parse(head.into());
        }
    }
}
