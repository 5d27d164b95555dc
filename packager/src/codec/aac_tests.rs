//! Tests for [`super::AacConfig`]: an ffmpeg-written config, hand-assembled HE-AAC
//! v1/v2 configs (explicit and backward-compatible signalling) and a PCE.

use super::*;
use crate::codec::test_util::hex;
use proptest::prelude::*;

/// ffmpeg 5.1 native `aac` encoder, 48 kHz stereo (ffprobe: LC, 48000, 2). It ends
/// with a sync extension `0x2b7` that says "no SBR".
const LC_48K_STEREO: &str = "119056e500";
/// AOT 5, core 24 kHz stereo, SBR to 48 kHz, core AOT 2.
const HE_EXPLICIT: &str = "2b118800";
/// AOT 29, core 24 kHz mono, SBR to 48 kHz.
const HE_V2_EXPLICIT: &str = "eb098800";
/// AOT 2 core 24 kHz stereo + sync extension 0x2b7 (SBR 48 kHz) + 0x548 (PS).
const HE_V2_BACKWARD_COMPATIBLE: &str = "131056e59d4880";
/// AOT 2, 48 kHz, channelConfiguration 0 + PCE: front CPE+SCE, back CPE, one LFE.
const PCE_5_1: &str = "118004c8050020188000";

#[test]
fn ffmpeg_lc() {
    let c = AacConfig::parse(hex(LC_48K_STEREO)).unwrap();
    assert_eq!(c.codec_string(), "mp4a.40.2");
    assert!(!c.sbr && !c.ps);
    assert_eq!(
        c.audio_info(),
        AudioInfo {
            sample_rate: 48000,
            channels: 2,
            samples_per_frame: 1024
        }
    );
}

#[test]
fn he_aac_explicit() {
    let c = AacConfig::parse(hex(HE_EXPLICIT)).unwrap();
    assert_eq!(c.codec_string(), "mp4a.40.5");
    assert_eq!(
        (c.core_object_type, c.core_sample_rate, c.sbr_sample_rate),
        (2, 24000, Some(48000))
    );
    assert_eq!(
        c.audio_info(),
        AudioInfo {
            sample_rate: 48000,
            channels: 2,
            samples_per_frame: 2048
        }
    );
    let c = AacConfig::parse(hex(HE_V2_EXPLICIT)).unwrap();
    assert_eq!(c.codec_string(), "mp4a.40.29");
    assert!(c.sbr && c.ps);
    assert_eq!(
        c.audio_info(),
        AudioInfo {
            sample_rate: 48000,
            channels: 2,
            samples_per_frame: 2048
        }
    );
}

#[test]
fn he_aac_v2_backward_compatible() {
    let c = AacConfig::parse(hex(HE_V2_BACKWARD_COMPATIBLE)).unwrap();
    assert_eq!(c.codec_string(), "mp4a.40.29");
    assert_eq!(c.core_object_type, 2);
    assert_eq!(c.audio_info().sample_rate, 48000);
}

#[test]
fn program_config_element_channels() {
    let c = AacConfig::parse(hex(PCE_5_1)).unwrap();
    assert_eq!(c.channel_configuration, 0);
    assert_eq!(c.channels, 6);
}

#[test]
fn escape_object_type_and_explicit_rate() {
    // AOT 31 escape → 32 + 10 = 42 (USAC); index 15 + 24-bit 37800 Hz; 1 channel.
    let bits = format!("{:05b}{:06b}{:04b}{:024b}{:04b}", 31, 10, 15, 37800, 1);
    let padded = format!("{bits:0<48}");
    let bytes: Vec<u8> = (0..6)
        .map(|i| u8::from_str_radix(&padded[i * 8..i * 8 + 8], 2).unwrap())
        .collect();
    let c = AacConfig::parse(bytes.into()).unwrap();
    assert_eq!(
        (c.object_type, c.core_sample_rate, c.channels),
        (42, 37800, 1)
    );
}

#[test]
fn from_adts_header_matches_ffmpeg_adts() {
    // First header of `ffmpeg -f lavfi -i sine=sample_rate=44100 -c:a aac -f adts`.
    let c = AacConfig::from_adts_header(&hex("fff15040213ffc")).unwrap();
    assert_eq!(c.codec_string(), "mp4a.40.2");
    assert_eq!(
        c.audio_info(),
        AudioInfo {
            sample_rate: 44100,
            channels: 1,
            samples_per_frame: 1024
        }
    );
    assert_eq!(c.record, hex("1208"));
    assert!(AacConfig::from_adts_header(&[0xff, 0xe1]).is_err());
    assert!(AacConfig::from_adts_header(&[0xff]).is_err());
}

#[test]
fn rejects_bad_configs() {
    assert!(matches!(
        AacConfig::parse(Bytes::new()),
        Err(CodecError::Truncated { .. })
    ));
    // AOT 2, reserved index 13.
    assert!(matches!(
        AacConfig::parse(hex("16 80")),
        Err(CodecError::Invalid { .. })
    ));
    assert!(matches!(
        AacConfig::parse(hex("00 00")),
        Err(CodecError::Invalid { .. })
    ));
}

proptest! {
    #[test]
    fn random_configs_never_panic(data in proptest::collection::vec(any::<u8>(), 0..32)) {
        if let Ok(c) = AacConfig::parse(data.into()) {
            let _ = (c.codec_string(), c.audio_info());
        }
    }

    #[test]
    fn random_adts_never_panics(data in proptest::collection::vec(any::<u8>(), 0..8)) {
        let _ = AacConfig::from_adts_header(&data);
    }
}
