//! The Opus channel layout signalled in the PMT.
//!
//! Opus in MPEG-TS follows the draft ETSI TS "Opus Interactive Audio Codec Transport
//! Multiplexing Standard" v0.1.3 (Xiph "OpusTS"), the mapping ffmpeg reads and writes:
//! `stream_type` 0x06 with a registration descriptor `"Opus"` and an
//! `opus_audio_descriptor` (draft Table 4-2) carried in a DVB extension descriptor
//! (tag 0x7f, ETSI EN 300 468 §6.2.16) with `descriptor_tag_extension` 0x80.
//!
//! | `channel_config_code` | channels | mapping family | streams / coupled | channel mapping |
//! |---|---|---|---|---|
//! | 0x00 (dual mono) | 2 | 255 | 1 / 1 | 0, 1 (as ffmpeg's demuxer reads it) |
//! | 0x01, 0x02 | 1, 2 | 0 (RTP) | 1 / 0, 1 / 1 | none |
//! | 0x03..=0x08 | 3..=8 | 1 (Vorbis order) | RFC 7845 §5.1.1.2 | RFC 7845 §5.1.1.2 |
//! | 0x81 | explicit: `channel_count`, `mapping_family`, bit-packed counts and mapping | | | |
//! | 0x82..=0x88 | 2..=8 | 1 (Vorbis order) | one uncoupled stream per channel | 0, 1, 2, … (as ffmpeg's muxer writes it) |
//! | anything else | reserved: [`OpusDescriptorError::UnsupportedChannelConfig`] | | | |
//!
//! Without the descriptor the stream is taken as stereo (family 0), the layout every
//! Opus decoder can render (RFC 7587 §7 makes the same default for RTP).

use packager::codec::bitreader::BitReader;

/// Coupled streams per Vorbis-order channel count 1..=8 (RFC 7845 §5.1.1.2).
const VORBIS_COUPLED: [u8; 8] = [0, 1, 1, 2, 2, 2, 3, 3];

/// Vorbis-order channel mappings for 1..=8 channels (RFC 7845 §5.1.1.2).
const VORBIS_MAPPING: [&[u8]; 8] = [
    &[0],
    &[0, 1],
    &[0, 2, 1],
    &[0, 1, 2, 3],
    &[0, 4, 1, 2, 3],
    &[0, 4, 1, 2, 3, 5],
    &[0, 4, 1, 2, 3, 5, 6],
    &[0, 6, 1, 2, 3, 4, 5, 7],
];

/// `channel_config_code` of the explicit form (draft Table 4-2).
const EXPLICIT: u8 = 0x81;

/// How the Opus streams of an access unit map to output channels: the fields of
/// the `dOps` box (Opus-ISOBMFF §4.3.2) that the descriptor determines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusChannelLayout {
    /// `OutputChannelCount`.
    pub channels: u8,
    /// `ChannelMappingFamily`.
    pub mapping_family: u8,
    /// `ChannelMappingTable`: stream count, coupled count, one mapping byte per
    /// channel; empty for family 0.
    pub table: Vec<u8>,
}

/// Why a channel layout cannot be derived from the descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpusDescriptorError {
    /// The descriptor ends before a field it announces.
    #[error("Opus audio descriptor truncated")]
    Truncated,
    /// A `channel_config_code` that is reserved (or 0x80, which no known muxer writes).
    #[error("unsupported Opus channel_config_code 0x{0:02x}")]
    UnsupportedChannelConfig(u8),
    /// The explicit form (0x81) contradicts itself.
    #[error("invalid explicit Opus channel configuration: {0}")]
    InvalidExplicitConfig(&'static str),
}

impl OpusChannelLayout {
    /// Stereo, mapping family 0: the layout assumed without a descriptor.
    pub fn stereo() -> Self {
        Self {
            channels: 2,
            mapping_family: 0,
            table: Vec::new(),
        }
    }

    /// The layout of an `opus_audio_descriptor` body (from `channel_config_code`
    /// on); `None` (no descriptor) is [`OpusChannelLayout::stereo`].
    pub fn from_descriptor(body: Option<&[u8]>) -> Result<Self, OpusDescriptorError> {
        let Some(body) = body else {
            return Ok(Self::stereo());
        };
        let (&code, rest) = body.split_first().ok_or(OpusDescriptorError::Truncated)?;
        match code {
            0x00 => Ok(Self {
                channels: 2,
                mapping_family: 255,
                table: vec![1, 1, 0, 1],
            }),
            0x01 | 0x02 => Ok(Self {
                channels: code,
                mapping_family: 0,
                table: Vec::new(),
            }),
            0x03..=0x08 => {
                let i = usize::from(code - 1);
                let coupled = VORBIS_COUPLED[i];
                let mut table = vec![code - coupled, coupled];
                table.extend_from_slice(VORBIS_MAPPING[i]);
                Ok(Self {
                    channels: code,
                    mapping_family: 1,
                    table,
                })
            }
            EXPLICIT => explicit(rest),
            0x82..=0x88 => {
                let channels = code & 0x7f;
                let mut table = vec![channels, 0];
                table.extend(0..channels);
                Ok(Self {
                    channels,
                    mapping_family: 1,
                    table,
                })
            }
            _ => Err(OpusDescriptorError::UnsupportedChannelConfig(code)),
        }
    }
}

/// `ceil(log2(n))`: the width of the draft's bit-packed fields (0 for n <= 1).
fn bits_for(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        u32::BITS - (n - 1).leading_zeros()
    }
}

/// The explicit form of draft Table 4-2: `channel_count`, `mapping_family`, then
/// for families other than 0 `stream_count_minus_one`, `coupled_stream_count` and
/// one `channel_mapping` per channel, each as narrow as its range allows.
fn explicit(body: &[u8]) -> Result<OpusChannelLayout, OpusDescriptorError> {
    let invalid = OpusDescriptorError::InvalidExplicitConfig;
    let [channels, mapping_family, ref packed @ ..] = *body else {
        return Err(OpusDescriptorError::Truncated);
    };
    if channels == 0 {
        return Err(invalid("channel_count 0"));
    }
    if mapping_family == 0 {
        if channels > 2 {
            return Err(invalid("mapping family 0 with more than 2 channels"));
        }
        return Ok(OpusChannelLayout {
            channels,
            mapping_family,
            table: Vec::new(),
        });
    }
    let mut r = BitReader::new(packed);
    let mut read = |bits: u32| r.bits32(bits).map_err(|_| OpusDescriptorError::Truncated);
    let streams = read(bits_for(u32::from(channels)))? + 1;
    let coupled = read(bits_for(streams + 1))?;
    if coupled > streams {
        return Err(invalid("more coupled streams than streams"));
    }
    let decoded = streams + coupled;
    if decoded > 255 {
        return Err(invalid("more than 255 decoded channels"));
    }
    let mut table = vec![streams as u8, coupled as u8];
    for _ in 0..channels {
        let m = read(bits_for(decoded + 1))?;
        // RFC 7845 §5.1.1: an index past the decoded channels is silence only as 255.
        if m >= decoded && m != 255 {
            return Err(invalid("channel_mapping names no decoded channel"));
        }
        table.push(m as u8);
    }
    Ok(OpusChannelLayout {
        channels,
        mapping_family,
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use packager::codec::opus::OpusConfig;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn layout(body: &[u8]) -> Result<OpusChannelLayout, OpusDescriptorError> {
        OpusChannelLayout::from_descriptor(Some(body))
    }

    #[test]
    fn simple_codes_follow_the_vorbis_order() {
        assert_eq!(layout(&[2]).unwrap(), OpusChannelLayout::stereo());
        assert_eq!(
            OpusChannelLayout::from_descriptor(None).unwrap(),
            OpusChannelLayout::stereo()
        );
        let mono = layout(&[1]).unwrap();
        assert_eq!((mono.channels, mono.mapping_family), (1, 0));
        let surround = layout(&[6]).unwrap();
        assert_eq!(
            (surround.channels, surround.mapping_family, surround.table),
            (6, 1, vec![4, 2, 0, 4, 1, 2, 3, 5])
        );
        let dual_mono = layout(&[0]).unwrap();
        assert_eq!((dual_mono.channels, dual_mono.mapping_family), (2, 255));
        let uncoupled = layout(&[0x84]).unwrap();
        assert_eq!(uncoupled.table, vec![4, 0, 0, 1, 2, 3]);
        // Every mapped code makes a valid dOps.
        for code in (0..=8).chain(0x82..=0x88) {
            let l = layout(&[code]).unwrap();
            OpusConfig::from_channel_layout(l.channels, 312, l.mapping_family, &l.table)
                .unwrap_or_else(|e| panic!("code {code:#x}: {e}"));
        }
    }

    #[test]
    fn reserved_codes_are_named() {
        for code in [0x09, 0x7f, 0x80, 0x89, 0xff] {
            assert_eq!(
                layout(&[code]),
                Err(OpusDescriptorError::UnsupportedChannelConfig(code))
            );
        }
        assert_eq!(layout(&[]), Err(OpusDescriptorError::Truncated));
    }

    #[test]
    fn explicit_form_is_bit_packed() {
        // 3 channels, family 1: stream_count_minus_one (2 bits) = 1, coupled (2 bits)
        // = 1, three mappings of 2 bits: 0, 2, 1 -> 01 01 00 10 01 (+ 6 reserved).
        let l = layout(&[0x81, 3, 1, 0b0101_0010, 0b0100_0000]).unwrap();
        assert_eq!(
            (l.channels, l.mapping_family, l.table),
            (3, 1, vec![2, 1, 0, 2, 1])
        );
        OpusConfig::from_channel_layout(3, 0, 1, &[2, 1, 0, 2, 1]).unwrap();
        // Family 0 needs nothing more.
        assert_eq!(layout(&[0x81, 2, 0]).unwrap(), OpusChannelLayout::stereo());
        assert_eq!(layout(&[0x81, 3]), Err(OpusDescriptorError::Truncated));
        assert_eq!(layout(&[0x81, 3, 1]), Err(OpusDescriptorError::Truncated));
        assert!(matches!(
            layout(&[0x81, 0, 0]),
            Err(OpusDescriptorError::InvalidExplicitConfig(_))
        ));
        assert!(matches!(
            layout(&[0x81, 3, 0]),
            Err(OpusDescriptorError::InvalidExplicitConfig(_))
        ));
        // Mapping index 3 with 2 streams + 1 coupled = 3 decoded channels.
        assert!(matches!(
            layout(&[0x81, 3, 1, 0b0101_1100, 0]),
            Err(OpusDescriptorError::InvalidExplicitConfig(_))
        ));
    }

    proptest! {
        #[test]
        fn any_descriptor_bytes_are_safe(body in vec(any::<u8>(), 0..40)) {
            let explicit: Vec<u8> = [0x81].iter().chain(&body).copied().collect();
            for body in [&body, &explicit] {
                if let Ok(l) = layout(body) {
                    prop_assert!(
                        OpusConfig::from_channel_layout(l.channels, 0, l.mapping_family, &l.table)
                            .is_ok()
                    );
                }
            }
        }
    }
}
