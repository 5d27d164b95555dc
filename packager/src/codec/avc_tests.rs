//! Tests for [`super::AvcConfig`] against records written by ffmpeg 5.1 + libx264.

use super::*;
use crate::codec::test_util::hex;
use proptest::prelude::*;

/// `ffmpeg -f lavfi -i testsrc=size=640x360:rate=30 -pix_fmt yuv420p -c:v libx264
/// -profile:v high -bf 2 out.mp4`; ffprobe: High, level 30, 640x360, 30/1.
const HIGH_640X360: &str = "0164001effe1001a6764001eacd940a02ff970110000030001000003003c0f162d96\
                            01000668ebe3cb22c0fdf8f800";
/// Same with `-profile:v baseline` at 426x240; ffprobe: Constrained Baseline, level 21.
const BASELINE_426X240: &str = "0142c015ffe100196742c015d901b1fe4f0110000003001000000303c0f162e4\
                                8001000568cb83cb20";

#[test]
fn parses_high_profile_record() {
    let c = AvcConfig::parse(hex(HIGH_640X360)).unwrap();
    assert_eq!((c.profile, c.constraints, c.level), (100, 0, 30));
    assert_eq!(c.nal_length_size, 4);
    assert_eq!((c.sps.len(), c.pps.len()), (1, 1));
    assert_eq!((c.width, c.height), (640, 360));
    assert_eq!(c.frame_rate, Some(30.0));
    assert_eq!(c.codec_string(), "avc1.64001e");
    assert_eq!(
        c.video_info(),
        VideoInfo {
            width: 640,
            height: 360,
            frame_rate: Some(30.0)
        }
    );
}

#[test]
fn parses_baseline_record_with_cropping() {
    let c = AvcConfig::parse(hex(BASELINE_426X240)).unwrap();
    assert_eq!(c.codec_string(), "avc1.42c015");
    // 432x240 coded, cropped to 426 (frame_crop_right_offset 3 * CropUnitX 2).
    assert_eq!((c.width, c.height), (426, 240));
    assert_eq!(c.frame_rate, Some(30.0));
}

#[test]
fn from_parameter_sets_round_trips_ffmpeg_records() {
    for rec in [HIGH_640X360, BASELINE_426X240] {
        let original = AvcConfig::parse(hex(rec)).unwrap();
        let built = AvcConfig::from_parameter_sets(&original.sps, &original.pps).unwrap();
        assert_eq!(built.sps, original.sps);
        assert_eq!(built.pps, original.pps);
        assert_eq!(built.codec_string(), original.codec_string());
        assert_eq!(built.video_info(), original.video_info());
        assert_eq!(AvcConfig::parse(built.record.clone()).unwrap(), built);
    }
    // libx264 writes 4-byte lengths and the high-profile tail, exactly like us.
    let high = AvcConfig::parse(hex(HIGH_640X360)).unwrap();
    assert_eq!(
        AvcConfig::from_parameter_sets(&high.sps, &high.pps)
            .unwrap()
            .record,
        high.record
    );
}

#[test]
fn parameter_sets_are_slices_of_the_record() {
    let c = AvcConfig::parse(hex(HIGH_640X360)).unwrap();
    let base = c.record.as_ptr() as usize;
    let sps = c.sps[0].as_ptr() as usize;
    assert!(sps > base && sps < base + c.record.len());
}

#[test]
fn rejects_bad_records() {
    let good = hex(HIGH_640X360);
    for cut in 0..good.len() - 4 {
        // Every truncation before the tail is an error, never a panic.
        assert!(AvcConfig::parse(good.slice(..cut)).is_err(), "cut {cut}");
    }
    let mut v = good.to_vec();
    v[0] = 2;
    assert!(matches!(
        AvcConfig::parse(v.into()),
        Err(CodecError::Invalid { .. })
    ));
    let big = Bytes::from(vec![1u8; crate::codec::MAX_RECORD_SIZE + 1]);
    assert!(matches!(
        AvcConfig::parse(big),
        Err(CodecError::RecordTooLarge { .. })
    ));
    assert!(AvcConfig::from_parameter_sets(&[], &[]).is_err());
}

#[test]
fn too_many_parameter_sets() {
    let sps = AvcConfig::parse(hex(HIGH_640X360)).unwrap().sps;
    let many = vec![sps[0].clone(); MAX_PARAMETER_SETS + 1];
    assert!(matches!(
        AvcConfig::from_parameter_sets(&many, &sps),
        Err(CodecError::TooManyParameterSets { .. })
    ));
}

proptest! {
    #[test]
    fn random_records_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = AvcConfig::parse(data.into());
    }

    #[test]
    fn mutated_records_never_panic(idx in 0usize..48, val in any::<u8>()) {
        let mut v = hex(HIGH_640X360).to_vec();
        let i = idx % v.len();
        v[i] = val;
        let _ = AvcConfig::parse(v.into());
    }

    #[test]
    fn random_sps_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut nal = vec![0x67];
        nal.extend(data);
        let _ = Sps::parse(&nal);
    }
}
