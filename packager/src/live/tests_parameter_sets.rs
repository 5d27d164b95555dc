//! Parameter sets inside video samples: copies of the record's are stripped (the
//! sample entry stays `avc1`/`hvc1`), different ones make the rendition
//! `avc3`/`hev1` with a new init version.

use bytes::{BufMut, Bytes, BytesMut};

use super::test_support::*;
use super::*;
use crate::codec::hevc::HevcConfig;
use crate::hls::multivariant_playlist;
use crate::media::CodecConfig;

/// The HEVC record's VPS, SPS and PPS.
fn hevc_sets() -> [Bytes; 3] {
    let CodecConfig::H265(c) = hevc_video_track(0).codec else {
        unreachable!()
    };
    [32, 33, 34].map(|t| c.units(t).next().unwrap().clone())
}

/// NAL units with 4-byte length prefixes.
fn sample(units: &[&[u8]]) -> Bytes {
    let mut b = BytesMut::new();
    for u in units {
        b.put_u32(u.len() as u32);
        b.put_slice(u);
    }
    b.freeze()
}

/// A 30 fps HEVC frame `n` (IDR every 30 frames) carrying `sets` before the slice.
fn hevc_frame(n: i64, sets: &[&[u8]]) -> (Frame, u64) {
    let key = n % 30 == 0;
    let slice: Vec<u8> = if key {
        [&[0x26, 0x01][..], &[0xa5; 3000]].concat()
    } else {
        [&[0x02, 0x01][..], &[0x5a; 800]].concat()
    };
    let mut units: Vec<&[u8]> = sets.to_vec();
    units.push(&slice);
    let ms = n * 1000 / 30;
    let frame = Frame {
        kind: MediaKind::Video,
        track: 0,
        dts: ms,
        pts: ms,
        keyframe: key,
        data: sample(&units),
    };
    (frame, T0_MS + ms as u64)
}

/// Every part's bytes of `name`, concatenated.
fn media(s: &LiveStream, name: &str) -> Vec<u8> {
    let r = s.rendition(name).unwrap();
    r.segments
        .iter()
        .flat_map(|seg| &seg.parts)
        .flat_map(|p| p.data.to_vec())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn avc_key_frames_repeating_the_records_sps_and_pps_mux_as_without_them() {
    let mut repeating = Publisher {
        sei: vec![AVC_SPS_HEX, AVC_PPS_HEX],
        ..Publisher::av()
    };
    let with = stream_with(&mut repeating, config(), 5_000);
    let without = stream_with(&mut Publisher::av(), config(), 5_000);
    assert_eq!(media(&with, "video0"), media(&without, "video0"));
    let v = with.rendition("video0").unwrap();
    assert_eq!(
        (v.init_version, &v.init),
        (0, &without.renditions()[0].init)
    );
    assert!(v.track.codec.codec_string().starts_with("avc1."));
    assert!(v.segments.iter().all(|seg| !seg.discontinuity));
}

#[test]
fn hevc_samples_repeating_the_record_shrink_and_the_init_stays_hvc1() {
    let [vps, sps, pps] = hevc_sets();
    let run = |sets: &[&[u8]]| {
        let mut s = LiveStream::new(config());
        s.handle_track(hevc_video_track(0), T0_MS);
        for n in 0..150 {
            let with: &[&[u8]] = if n % 30 == 0 { sets } else { &[] };
            let (f, now) = hevc_frame(n, with);
            s.handle_frame(f, now);
        }
        s
    };
    let repeating = run(&[&vps, &sps, &pps]);
    let plain = run(&[]);
    assert_eq!(media(&repeating, "video0"), media(&plain, "video0"));
    let v = repeating.rendition("video0").unwrap();
    assert_eq!(v.init_version, 0);
    assert!(contains(&v.init, b"hvc1") && !contains(&v.init, b"hev1"));
    assert!(!contains(&media(&repeating, "video0"), &sps));
    assert!(multivariant_playlist(&repeating).contains("CODECS=\"hvc1.1.6.L93.90\""));
}

#[test]
fn samples_without_parameter_sets_reach_the_segmenter_uncopied() {
    let mut s = LiveStream::new(config());
    s.handle_track(hevc_video_track(0), T0_MS);
    let (f, now) = hevc_frame(0, &[]);
    let ptr = f.data.as_ptr();
    s.handle_frame(f, now);
    assert_eq!(s.packers[0].held.as_ref().unwrap().data.as_ptr(), ptr);
    // Leading copies of the record's sets are sliced off, not copied.
    let [vps, sps, pps] = hevc_sets();
    let (f, now) = hevc_frame(30, &[&vps, &sps, &pps]);
    let skip = 3 * 4 + vps.len() + sps.len() + pps.len();
    let ptr = f.data[skip..].as_ptr();
    s.handle_frame(f, now);
    assert_eq!(s.packers[0].held.as_ref().unwrap().data.as_ptr(), ptr);
}

#[test]
fn a_differing_parameter_set_switches_the_rendition_to_hev1() {
    let [vps, sps, pps] = hevc_sets();
    let mut other_pps = pps.to_vec();
    *other_pps.last_mut().unwrap() ^= 0x01;
    let mut s = LiveStream::new(config());
    s.handle_track(hevc_video_track(0), T0_MS);
    s.handle_track(audio_track(0), T0_MS);
    let mut switching_frame = Bytes::new();
    for n in 0..240 {
        let sets: &[&[u8]] = match n {
            _ if n % 30 != 0 => &[],
            90 => &[&vps, &sps, &other_pps],
            _ => &[&vps, &sps, &pps],
        };
        let (f, now) = hevc_frame(n, sets);
        if n == 90 {
            switching_frame = f.data.clone();
        }
        s.handle_frame(f, now);
        if n == 120 {
            // The publisher repeats its sequence header: still hev1.
            s.handle_track(hevc_video_track(0), now);
        }
        if n % 3 == 0 {
            let ms = n * 1000 / 30;
            let audio = Frame {
                kind: MediaKind::Audio,
                track: 0,
                dts: ms,
                pts: ms,
                keyframe: true,
                data: Bytes::from_static(&[0x21; 100]),
            };
            s.handle_frame(audio, T0_MS + ms as u64);
        }
    }
    let v = s.rendition("video0").unwrap();
    assert_eq!(v.init_version, 1, "one switch, the re-announce is a no-op");
    assert_eq!(v.track.codec.codec_string(), "hev1.1.6.L93.90");
    assert!(contains(&v.init, b"hev1") && !contains(&v.init, b"hvc1"));
    let CodecConfig::H265(c) = &v.track.codec else {
        unreachable!()
    };
    assert!(c.parameter_sets_in_band);
    let hvcc = HevcConfig::parse(c.sample_entry_record()).unwrap();
    assert!(hvcc.arrays.iter().all(|a| !a.complete));
    assert!(v
        .init_by_uri("init.mp4")
        .is_some_and(|i| contains(&i, b"hvc1")));
    // Segments before the switch are hvc1 without in-band sets; the first hev1
    // segment follows a discontinuity and starts with the differing sample whole.
    let first_hev1 = v.segments.iter().find(|seg| seg.init_version == 1).unwrap();
    assert!(first_hev1.discontinuity);
    assert_eq!(first_hev1.start_dts, 3 * 90_000);
    assert!(contains(&first_hev1.parts[0].data, &switching_frame));
    for seg in &v.segments {
        let bytes: Vec<u8> = seg.parts.iter().flat_map(|p| p.data.to_vec()).collect();
        assert_eq!(
            seg.init_version == 1,
            contains(&bytes, &vps),
            "msn {}",
            seg.msn
        );
    }
    // The other renditions continue after the same discontinuity.
    let a = s.rendition("audio0").unwrap();
    assert!(a.segment(first_hev1.msn).unwrap().discontinuity);
    assert_eq!(s.epochs().len(), 2);
    assert!(multivariant_playlist(&s).contains("CODECS=\"hev1.1.6.L93.90,mp4a.40.2\""));
}
