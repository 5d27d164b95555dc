//! Tests for [`super::HevcConfig`] against a record written by ffmpeg 5.1 + libx265.

use super::*;
use crate::codec::test_util::hex;
use proptest::prelude::*;

/// `ffmpeg -f lavfi -i testsrc=size=1280x720:rate=25 -pix_fmt yuv420p -c:v libx265
/// -x265-params info=0 -tag:v hvc1 out.mp4`; ffprobe: hevc Main, level 93, 1280x720, 25/1.
const MAIN_1280X720: &str = "0101600000009000000000005df000fcfdf8f800000f03a00001001840010c01ff\
    ff01600000030090000003000003005d959809a10001002b420101016000000300900000030000\
    03005da00280802d165959a4932bc05a020000030002000003003210a2000100074401c172b46240";

#[test]
fn parses_x265_record() {
    let c = HevcConfig::parse(hex(MAIN_1280X720)).unwrap();
    assert_eq!(
        (
            c.ptl.profile_space,
            c.ptl.tier_flag,
            c.ptl.profile_idc,
            c.ptl.level_idc
        ),
        (0, false, 1, 93)
    );
    assert_eq!(c.ptl.compatibility_flags, 0x6000_0000);
    assert_eq!(c.nal_length_size, 4);
    assert_eq!(
        c.arrays.iter().map(|a| a.nal_unit_type).collect::<Vec<_>>(),
        [32, 33, 34]
    );
    assert_eq!(c.codec_string(), "hvc1.1.6.L93.90");
    assert_eq!(
        c.video_info(),
        VideoInfo {
            width: 1280,
            height: 720,
            frame_rate: Some(25.0)
        }
    );
}

#[test]
fn from_parameter_sets_reproduces_x265_record() {
    let c = HevcConfig::parse(hex(MAIN_1280X720)).unwrap();
    let (vps, sps, pps): (Vec<_>, Vec<_>, Vec<_>) = (
        c.units(32).cloned().collect(),
        c.units(33).cloned().collect(),
        c.units(34).cloned().collect(),
    );
    let built = HevcConfig::from_parameter_sets(&vps, &sps, &pps).unwrap();
    assert_eq!(built.record, c.record);
    assert_eq!(built, c);
    assert!(HevcConfig::from_parameter_sets(&vps, &sps, &[]).is_err());
}

#[test]
fn codec_string_variants() {
    let mut c = HevcConfig::parse(hex(MAIN_1280X720)).unwrap();
    // Main 10, High tier, level 5.1, profile space 1, constraints b0 00 00 00 00 01.
    c.ptl = ProfileTierLevel {
        profile_space: 1,
        tier_flag: true,
        profile_idc: 2,
        compatibility_flags: 0x2000_0000,
        constraint_flags: 0xb000_0000_0001,
        level_idc: 153,
    };
    assert_eq!(c.codec_string(), "hvc1.A2.4.H153.B0.0.0.0.0.1");
    c.ptl.constraint_flags = 0;
    c.ptl.profile_space = 0;
    assert_eq!(c.codec_string(), "hvc1.2.4.H153");
}

#[test]
fn rejects_bad_records() {
    let good = hex(MAIN_1280X720);
    for cut in 0..good.len() {
        assert!(HevcConfig::parse(good.slice(..cut)).is_err(), "cut {cut}");
    }
    let mut v = good.to_vec();
    v[22] = 200; // numOfArrays
    assert!(matches!(
        HevcConfig::parse(v.into()),
        Err(CodecError::TooManyParameterSets { .. })
    ));
}

proptest! {
    #[test]
    fn random_records_never_panic(data in proptest::collection::vec(any::<u8>(), 0..160)) {
        let _ = HevcConfig::parse(data.into());
    }

    #[test]
    fn mutated_records_never_panic(idx in 0usize..200, val in any::<u8>()) {
        let mut v = hex(MAIN_1280X720).to_vec();
        let i = idx % v.len();
        v[i] = val;
        if let Ok(c) = HevcConfig::parse(v.into()) {
            let _ = c.codec_string();
        }
    }

    #[test]
    fn random_sps_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut nal = vec![0x42, 0x01];
        nal.extend(data);
        let _ = Sps::parse(&nal);
    }
}
