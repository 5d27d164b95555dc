//! In-band parameter sets vs the record, and the sample entries they lead to.

use bytes::{BufMut, Bytes, BytesMut};

use super::*;
use crate::codec::hevc::HevcConfig;
use crate::fmp4::init_segment;
use crate::fmp4::tests::find;
use crate::live::test_support::{hevc_video_track, hex, video_track, AVC_PPS_HEX, AVC_SPS_HEX};
use crate::media::Track;

const STSD: [&str; 6] = ["moov", "trak", "mdia", "minf", "stbl", "stsd"];

fn hevc(track: &Track) -> &HevcConfig {
    match &track.codec {
        CodecConfig::H265(c) => c,
        _ => unreachable!(),
    }
}

/// NAL units, each with a 4-byte length prefix.
fn sample(units: &[&[u8]]) -> Bytes {
    let mut b = BytesMut::new();
    for u in units {
        b.put_u32(u.len() as u32);
        b.put_slice(u);
    }
    b.freeze()
}

/// The record's VPS, SPS and PPS.
fn hevc_sets(c: &HevcConfig) -> [Bytes; 3] {
    [32, 33, 34].map(|t| c.units(t).next().unwrap().clone())
}

const HEVC_IDR: &[u8] = &[0x26, 0x01, 0xaf, 0x10, 0x20];
const HEVC_AUD: &[u8] = &[0x46, 0x01, 0x50];
const HEVC_SEI: &[u8] = &[0x4e, 0x01, 0x05, 0x01, 0x80];

#[test]
fn identical_leading_hevc_parameter_sets_are_sliced_off_without_a_copy() {
    let track = hevc_video_track(0);
    let [vps, sps, pps] = hevc_sets(hevc(&track));
    let s = sample(&[&vps, &sps, &pps, HEVC_IDR]);
    let InBand::Stripped(out) = in_band_parameter_sets(&track.codec, &s) else {
        panic!("not stripped");
    };
    assert_eq!(out, sample(&[HEVC_IDR]));
    assert_eq!(out.as_ptr(), s[s.len() - out.len()..].as_ptr(), "a slice");
}

#[test]
fn identical_hevc_parameter_sets_between_other_units_are_cut_out() {
    let track = hevc_video_track(0);
    let [vps, sps, pps] = hevc_sets(hevc(&track));
    let s = sample(&[HEVC_AUD, &vps, &sps, &pps, HEVC_SEI, HEVC_IDR]);
    assert_eq!(
        in_band_parameter_sets(&track.codec, &s),
        InBand::Stripped(sample(&[HEVC_AUD, HEVC_SEI, HEVC_IDR]))
    );
}

#[test]
fn a_parameter_set_not_in_the_record_means_in_band() {
    let track = hevc_video_track(0);
    let [vps, sps, pps] = hevc_sets(hevc(&track));
    let mut other_pps = pps.to_vec();
    *other_pps.last_mut().unwrap() ^= 0x01;
    let s = sample(&[&vps, &sps, &other_pps, HEVC_IDR]);
    assert_eq!(in_band_parameter_sets(&track.codec, &s), InBand::Differs);
    // Once the track is hev1, its samples are not looked at.
    let in_band = with_parameter_sets_in_band(&track.codec).unwrap();
    assert_eq!(in_band_parameter_sets(&in_band, &s), InBand::Absent);
    assert_eq!(with_parameter_sets_in_band(&in_band), None);
}

#[test]
fn samples_without_parameter_sets_or_with_broken_lengths_are_left_alone() {
    let track = hevc_video_track(0);
    let [vps, sps, pps] = hevc_sets(hevc(&track));
    for s in [
        sample(&[HEVC_SEI, HEVC_IDR]),
        sample(&[]),
        // Nothing but parameter sets: an empty sample would be worse.
        sample(&[&vps, &sps, &pps]),
    ] {
        assert_eq!(in_band_parameter_sets(&track.codec, &s), InBand::Absent);
    }
    let mut broken = BytesMut::from(&sample(&[&vps, HEVC_IDR])[..]);
    broken.truncate(broken.len() - 1);
    assert_eq!(
        in_band_parameter_sets(&track.codec, &broken.freeze()),
        InBand::Absent
    );
    let truncated_prefix = Bytes::from_static(&[0, 0]);
    assert_eq!(
        in_band_parameter_sets(&track.codec, &truncated_prefix),
        InBand::Absent
    );
}

#[test]
fn avc_sps_and_pps_are_stripped_or_switch_to_avc3() {
    let track = video_track(0);
    let (sps, pps) = (hex(AVC_SPS_HEX), hex(AVC_PPS_HEX));
    let idr: &[u8] = &[0x65, 0x88, 0x84];
    let s = sample(&[&sps, &pps, idr]);
    assert_eq!(
        in_band_parameter_sets(&track.codec, &s),
        InBand::Stripped(sample(&[idr]))
    );
    let mut other_sps = sps.to_vec();
    other_sps[3] = 0x1f; // level 3.1
    let s = sample(&[&other_sps, &pps, idr]);
    assert_eq!(in_band_parameter_sets(&track.codec, &s), InBand::Differs);
    let avc3 = with_parameter_sets_in_band(&track.codec).unwrap();
    assert_eq!(avc3.codec_string(), "avc3.64001e");
    assert_eq!(track.codec.codec_string(), "avc1.64001e");
    let init = init_segment(&Track {
        codec: avc3,
        ..track.clone()
    })
    .unwrap();
    assert!(find(&init, &[&STSD[..], &["avc3", "avcC"]].concat()).is_some());
    assert!(find(&init, &[&STSD[..], &["avc1"]].concat()).is_none());
}

#[test]
fn hev1_init_has_its_box_type_codecs_and_incomplete_arrays() {
    let track = hevc_video_track(0);
    let c = hevc(&track);
    let hev1 = Track {
        codec: with_parameter_sets_in_band(&track.codec).unwrap(),
        ..track.clone()
    };
    assert_eq!(track.codec.codec_string(), "hvc1.1.6.L93.90");
    assert_eq!(hev1.codec.codec_string(), "hev1.1.6.L93.90");
    let init = init_segment(&hev1).unwrap();
    assert!(find(&init, &[&STSD[..], &["hvc1"]].concat()).is_none());
    let hvcc = find(&init, &[&STSD[..], &["hev1", "hvcC"]].concat()).unwrap();
    let parsed = HevcConfig::parse(Bytes::copy_from_slice(hvcc)).unwrap();
    assert!(
        parsed.arrays.iter().all(|a| !a.complete),
        "array_completeness 0"
    );
    assert_eq!(parsed.arrays.len(), c.arrays.len());
    assert_eq!(hvcc.len(), c.record.len());
    // The hvc1 init copies the (already complete) record as is.
    let init = init_segment(&track).unwrap();
    let hvcc = find(&init, &[&STSD[..], &["hvc1", "hvcC"]].concat()).unwrap();
    assert_eq!(hvcc, &c.record[..]);
}

#[test]
fn hvc1_marks_its_parameter_set_arrays_complete() {
    // ffmpeg's FLV muxer writes array_completeness 0; hvc1 requires 1 (§8.4.1.1.1).
    let c = hevc(&hevc_video_track(0)).clone();
    let mut record = c.record.to_vec();
    for at in [23, 52, 100] {
        assert!(record[at] & 0x80 != 0, "an array header at {at}");
        record[at] &= 0x7f;
    }
    let incomplete = HevcConfig::parse(record.into()).unwrap();
    assert!(incomplete.arrays.iter().all(|a| !a.complete));
    assert_eq!(incomplete.sample_entry_record(), c.record);
    assert_eq!(
        incomplete
            .with_parameter_sets_in_band()
            .sample_entry_record(),
        incomplete.record
    );
}
