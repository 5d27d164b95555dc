//! AAC: AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), including explicit (AOT 5/29)
//! and backward-compatible (sync extension `0x2b7`, §1.6.5.2) SBR/PS signalling for
//! HE-AAC v1/v2, and the ADTS header (§1.A.2.2.1) as a second source of the same facts.
//!
//! # What [`AudioInfo`] means for AAC
//!
//! - `sample_rate` is the **output** rate: the SBR extension rate when SBR is
//!   signalled (HE-AAC), else the core rate. Use it as the `mdhd` timescale.
//! - `samples_per_frame` is the duration of one access unit **at that output rate**:
//!   1024 (960 with `frameLengthFlag`) for a plain core, doubled when SBR doubles the
//!   rate (2048 for HE-AAC at 2x). So `duration = samples_per_frame` ticks per AU in
//!   the `mdhd` timescale, whatever the object type.
//! - `channels` is the output channel count: 2 when PS is signalled on a mono core.
//!
//! Implicit SBR (not signalled in the config at all) cannot be seen here; such streams
//! are described by their core, which players handle.

use bytes::Bytes;

use super::aac_pce::channels_from_pce;
use super::bitreader::BitReader;
use super::CodecError;
use crate::media::AudioInfo;

const CODEC: &str = "AAC";

/// `samplingFrequencyIndex` → Hz (§1.6.3.4, Table 1.18). 13 and 14 are reserved.
const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// Channel count of `channelConfiguration` 1..=7 (§1.6.3.5, Table 1.19).
const CONFIG_CHANNELS: [u16; 8] = [0, 1, 2, 3, 4, 5, 6, 8];

/// Audio object types that use GASpecificConfig (§1.6.2.1).
fn is_ga(aot: u8) -> bool {
    matches!(aot, 1 | 2 | 3 | 4 | 6 | 7 | 17 | 19 | 20 | 21 | 22 | 23)
}

/// A parsed AudioSpecificConfig.
#[derive(Debug, Clone, PartialEq)]
pub struct AacConfig {
    /// The config exactly as received, copied into the `esds` DecoderSpecificInfo.
    pub record: Bytes,
    /// The object type as signalled first (5 or 29 for explicit HE-AAC), or the one
    /// derived from a backward-compatible sync extension: the RFC 6381 `mp4a.40.N`.
    pub object_type: u8,
    /// The core object type (2 for the AAC-LC core of HE-AAC).
    pub core_object_type: u8,
    /// Core sampling rate in Hz.
    pub core_sample_rate: u32,
    /// SBR output rate in Hz when SBR is signalled.
    pub sbr_sample_rate: Option<u32>,
    /// `channelConfiguration` (0 = described by a program_config_element).
    pub channel_configuration: u8,
    /// Output channel count (see the module docs).
    pub channels: u16,
    /// Spectral Band Replication signalled.
    pub sbr: bool,
    /// Parametric Stereo signalled.
    pub ps: bool,
    /// Core samples per access unit: 1024, or 960 with `frameLengthFlag`.
    pub frame_length: u32,
}

fn object_type(r: &mut BitReader<'_>) -> Result<u8, CodecError> {
    // GetAudioObjectType(): 5 bits, escape 31 → 32 + 6 bits.
    let aot = r
        .bits32(5)
        .map_err(CodecError::bits(CODEC, "audioObjectType"))? as u8;
    if aot == 31 {
        return Ok(32
            + r.bits32(6)
                .map_err(CodecError::bits(CODEC, "audioObjectTypeExt"))? as u8);
    }
    Ok(aot)
}

fn sample_rate(r: &mut BitReader<'_>) -> Result<u32, CodecError> {
    let index = r
        .bits32(4)
        .map_err(CodecError::bits(CODEC, "samplingFrequencyIndex"))?;
    if index == 0xf {
        let rate = r
            .bits32(24)
            .map_err(CodecError::bits(CODEC, "samplingFrequency"))?;
        if rate == 0 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "samplingFrequency = 0",
            });
        }
        return Ok(rate);
    }
    SAMPLE_RATES
        .get(index as usize)
        .copied()
        .ok_or(CodecError::Invalid {
            codec: CODEC,
            what: "reserved samplingFrequencyIndex",
        })
}

impl AacConfig {
    /// Parses an AudioSpecificConfig.
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        CodecError::check_size(CODEC, record.len())?;
        let mut r = BitReader::new(&record);
        let e = |what| CodecError::bits(CODEC, what);
        let first = object_type(&mut r)?;
        if first == 0 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "audioObjectType 0",
            });
        }
        let core_sample_rate = sample_rate(&mut r)?;
        let channel_configuration = r.bits32(4).map_err(e("channelConfiguration"))? as u8;
        let (mut sbr, mut ps) = (false, false);
        let mut sbr_sample_rate = None;
        let mut core = first;
        if first == 5 || first == 29 {
            // Explicit hierarchical signalling (§1.6.2.1): extension rate, then the core.
            sbr = true;
            ps = first == 29;
            sbr_sample_rate = Some(sample_rate(&mut r)?);
            core = object_type(&mut r)?;
            if core == 22 {
                r.skip(4).map_err(e("extensionChannelConfiguration"))?;
            }
        }
        let mut frame_length = 1024;
        let mut channels = CONFIG_CHANNELS
            .get(usize::from(channel_configuration))
            .copied()
            .unwrap_or(0);
        if is_ga(core) {
            // GASpecificConfig (§4.4.1).
            if r.bit().map_err(e("frameLengthFlag"))? {
                frame_length = 960;
            }
            if r.bit().map_err(e("dependsOnCoreCoder"))? {
                r.skip(14).map_err(e("coreCoderDelay"))?;
            }
            let extension_flag = r.bit().map_err(e("extensionFlag"))?;
            if channel_configuration == 0 {
                channels = channels_from_pce(&mut r)?;
            }
            if core == 6 || core == 20 {
                r.skip(3).map_err(e("layerNr"))?;
            }
            if extension_flag {
                if core == 22 {
                    r.skip(16).map_err(e("numOfSubFrame, layer_length"))?;
                }
                if matches!(core, 17 | 19 | 20 | 23) {
                    r.skip(3).map_err(e("resilience flags"))?;
                }
                r.skip(1).map_err(e("extensionFlag3"))?;
            }
            if matches!(core, 17 | 19..=27) {
                // epConfig; 2 and 3 carry ErrorProtectionSpecificConfig, which we
                // do not walk: the sync extension after it stays unread.
                let ep = r.bits32(2).map_err(e("epConfig"))?;
                if ep >= 2 {
                    r = BitReader::new(&[]);
                }
            }
            if !sbr && r.remaining() >= 16 {
                // Backward-compatible signalling (§1.6.5.2); tolerate garbage after it.
                if let Ok(Some((rate, with_ps))) = sync_extension(&mut r) {
                    sbr = true;
                    ps = with_ps;
                    sbr_sample_rate = Some(rate);
                }
            }
        } else if !matches!(core, 1..=45) {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "unknown audioObjectType",
            });
        }
        let object_type = match (first, sbr, ps) {
            (5 | 29, ..) => first,
            (_, true, true) => 29,
            (_, true, false) => 5,
            _ => first,
        };
        if ps && channels == 1 {
            channels = 2;
        }
        Ok(AacConfig {
            record,
            object_type,
            core_object_type: core,
            core_sample_rate,
            sbr_sample_rate,
            channel_configuration,
            channels,
            sbr,
            ps,
            frame_length,
        })
    }

    /// Builds and parses the 2-byte AudioSpecificConfig an ADTS header describes
    /// (§1.A.2.2.1: `profile_ObjectType` + 1, `sampling_frequency_index`,
    /// `channel_configuration`). `header` needs at least its first 4 bytes.
    pub fn from_adts_header(header: &[u8]) -> Result<Self, CodecError> {
        let mut r = BitReader::new(header);
        let e = |what| CodecError::bits("ADTS", what);
        if r.bits32(12).map_err(e("syncword"))? != 0xfff {
            return Err(CodecError::Invalid {
                codec: "ADTS",
                what: "syncword is not 0xFFF",
            });
        }
        r.skip(4).map_err(e("ID, layer, protection_absent"))?;
        let aot = r.bits32(2).map_err(e("profile_ObjectType"))? as u16 + 1;
        let sfi = r.bits32(4).map_err(e("sampling_frequency_index"))? as u16;
        r.skip(1).map_err(e("private_bit"))?;
        let ch = r.bits32(3).map_err(e("channel_configuration"))? as u16;
        if sfi >= SAMPLE_RATES.len() as u16 {
            return Err(CodecError::Invalid {
                codec: "ADTS",
                what: "reserved sampling_frequency_index",
            });
        }
        // audioObjectType(5) samplingFrequencyIndex(4) channelConfiguration(4)
        // frameLengthFlag, dependsOnCoreCoder, extensionFlag all 0.
        let asc = (aot << 11) | (sfi << 7) | (ch << 3);
        Self::parse(Bytes::copy_from_slice(&asc.to_be_bytes()))
    }

    /// `mp4a.40.N` where N is the audio object type (RFC 6381 §3.3): 2 for AAC-LC,
    /// 5 for HE-AAC, 29 for HE-AAC v2.
    pub fn codec_string(&self) -> String {
        format!("mp4a.40.{}", self.object_type)
    }

    /// Output sample rate, channels and samples per access unit (see the module docs).
    pub fn audio_info(&self) -> AudioInfo {
        let sample_rate = self.sbr_sample_rate.unwrap_or(self.core_sample_rate);
        // SBR output runs at a multiple of the core rate; an AU spans the same time.
        let ratio = sample_rate.checked_div(self.core_sample_rate).unwrap_or(1);
        AudioInfo {
            sample_rate,
            channels: self.channels,
            samples_per_frame: self.frame_length * ratio.max(1),
        }
    }
}

/// The sync extension after GASpecificConfig (§1.6.2.1, `syncExtensionType == 0x2b7`).
/// Returns the SBR rate and whether PS (`0x548`) follows, when SBR is present.
fn sync_extension(r: &mut BitReader<'_>) -> Result<Option<(u32, bool)>, CodecError> {
    let e = |what| CodecError::bits(CODEC, what);
    if r.bits32(11).map_err(e("syncExtensionType"))? != 0x2b7 {
        return Ok(None);
    }
    if object_type(r)? != 5 || !r.bit().map_err(e("sbrPresentFlag"))? {
        return Ok(None);
    }
    let rate = sample_rate(r)?;
    let mut ps = false;
    if r.remaining() >= 12 && r.bits32(11).map_err(e("syncExtensionType"))? == 0x548 {
        ps = r.bit().map_err(e("psPresentFlag"))?;
    }
    Ok(Some((rate, ps)))
}

#[cfg(test)]
#[path = "aac_tests.rs"]
mod tests;
