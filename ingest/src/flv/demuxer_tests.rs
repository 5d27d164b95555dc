//! Demuxer tests over tag bodies built byte by byte, with real decoder
//! configuration records made by Debian's ffmpeg (libx264, libx265, libaom,
//! libvpx, aac) and extracted from the FLV / MP4 files it wrote.

use super::*;
use packager::media::CodecConfig;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// avcC, 320x240 High profile (ffmpeg -c:v libx264 -pix_fmt yuv420p -f flv).
pub(crate) const AVCC: &str =
    "0164000dffe100196764000dacd94141fb0110000003001000000303c0f142996001000668ebe3cb22c0fdf8f800";
/// AudioSpecificConfig, AAC-LC 44.1 kHz mono (ffmpeg -c:a aac -f flv).
pub(crate) const ASC: &str = "1208";
/// hvcC, 64x64 Main (libx265, info=0).
const HVCC: &str = "0101600000009000000000001ef000fcfdf8f800000f03a00001001840010c01ffff01600000030090000003000003001e959809a10001002842010101600000030090000003000003001ea020810596566924caf0168080000003008000000f04a2000100074401c172b42240";
/// av1C, 64x64 (libaom-av1).
const AV1C: &str = "81000c000a0a00000002afff9b5f2008";
/// vpcC box payload with its FullBox header, as ffmpeg's FLV muxer sends it (libvpx-vp9).
const VPCC: &str = "01000000000a820202020000";
/// RFC 7845 OpusHead: stereo, pre-skip 312, 48 kHz.
const OPUS_HEAD: &[u8] = b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00";

fn legacy_avc(frame_type: u8, packet_type: u8, cts: i32, data: &[u8]) -> Bytes {
    let mut b = vec![frame_type << 4 | 7, packet_type];
    b.extend_from_slice(&cts.to_be_bytes()[1..]);
    b.extend_from_slice(data);
    b.into()
}

fn legacy_aac(packet_type: u8, data: &[u8]) -> Bytes {
    [&[0xAF, packet_type][..], data].concat().into()
}

fn ex_video(frame_type: u8, packet_type: u8, fourcc: &[u8; 4], data: &[u8]) -> Bytes {
    [&[0x80 | frame_type << 4 | packet_type][..], fourcc, data]
        .concat()
        .into()
}

fn drain(d: &mut FlvDemuxer) -> Vec<MediaEvent> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn frames(events: &[MediaEvent]) -> Vec<&Frame> {
    events
        .iter()
        .filter_map(|e| {
            if let MediaEvent::Frame(f) = e {
                Some(f)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn legacy_avc_and_aac_with_repeated_and_changed_headers() {
    let mut d = FlvDemuxer::new();
    d.push_video(0, legacy_avc(2, 1, 0, &[0, 0, 0, 1, 0x41]))
        .unwrap(); // before any header: dropped
    d.push_video(0, legacy_avc(1, 0, 0, &hex(AVCC))).unwrap();
    d.push_audio(0, legacy_aac(0, &hex(ASC))).unwrap();
    let ev = drain(&mut d);
    assert_eq!(ev.len(), 2);
    let MediaEvent::Track(v) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert!(matches!(v.codec, CodecConfig::H264(_)));
    assert_eq!((v.id, v.timescale), (0, 1000));
    let MediaEvent::Track(a) = &ev[1] else {
        panic!()
    };
    assert!(matches!(a.codec, CodecConfig::Aac(_)));

    d.push_video(40, legacy_avc(1, 0, 0, &hex(AVCC))).unwrap(); // identical repeat
    d.push_video(40, legacy_avc(1, 1, 80, &[0, 0, 0, 1, 0x65]))
        .unwrap();
    d.push_video(73, legacy_avc(2, 1, -33, &[0, 0, 0, 1, 0x41]))
        .unwrap(); // negative cts
    d.push_audio(41, legacy_aac(1, &[0x21, 0x10])).unwrap();
    let ev = drain(&mut d);
    assert_eq!(
        ev.len(),
        3,
        "identical sequence header must not re-announce: {ev:?}"
    );
    let f = frames(&ev);
    assert_eq!((f[0].dts, f[0].pts, f[0].keyframe), (40, 120, true));
    assert_eq!((f[1].dts, f[1].pts, f[1].keyframe), (73, 40, false));
    assert_eq!(
        (f[2].kind, f[2].dts, f[2].keyframe, &f[2].data[..]),
        (MediaKind::Audio, 41, true, &[0x21, 0x10][..])
    );

    let mut changed = hex(AVCC);
    changed[3] = 0x1f; // level 3.1 in the record header
    d.push_video(100, legacy_avc(1, 0, 0, &changed)).unwrap();
    assert!(matches!(&drain(&mut d)[..], [MediaEvent::Track(_)]));
}

#[test]
fn legacy_non_monotonic_dts_is_repaired() {
    let mut d = FlvDemuxer::new();
    d.push_video(0, legacy_avc(1, 0, 0, &hex(AVCC))).unwrap();
    for (ts, cts) in [(100, 0), (133, 33), (133, 0), (120, 0), (166, 0)] {
        d.push_video(ts, legacy_avc(2, 1, cts, &[0, 0, 0, 1, 0x41]))
            .unwrap();
    }
    let ev = drain(&mut d);
    let got: Vec<(i64, i64)> = frames(&ev).iter().map(|f| (f.dts, f.pts)).collect();
    assert_eq!(
        got,
        [(100, 100), (133, 166), (134, 134), (135, 135), (166, 166)]
    );
    assert_eq!(d.repaired_frames(), 2);
}

#[test]
fn enhanced_hevc_coded_frames_and_frames_x() {
    let mut d = FlvDemuxer::new();
    d.push_video(0, ex_video(1, 0, b"hvc1", &hex(HVCC)))
        .unwrap();
    d.push_video(
        0,
        ex_video(1, 1, b"hvc1", &[0, 0, 66, 0, 0, 0, 2, 0x26, 0x01]),
    )
    .unwrap();
    d.push_video(33, ex_video(2, 3, b"hvc1", &[0, 0, 0, 2, 0x02, 0x01]))
        .unwrap();
    d.push_video(66, ex_video(1, 2, b"hvc1", &[])).unwrap(); // sequence end
    let ev = drain(&mut d);
    assert!(matches!(&ev[0], MediaEvent::Track(t) if matches!(t.codec, CodecConfig::H265(_))));
    let f = frames(&ev);
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0].dts, f[0].pts, f[0].keyframe, &f[0].data[..]),
        (0, 66, true, &[0, 0, 0, 2, 0x26, 1][..])
    );
    assert_eq!((f[1].dts, f[1].pts, f[1].keyframe), (33, 33, false));
}

#[test]
fn enhanced_av1_strips_temporal_delimiters_and_vp9_passes_through() {
    let mut d = FlvDemuxer::new();
    d.push_video(0, ex_video(1, 0, b"av01", &hex(AV1C)))
        .unwrap();
    d.push_video(0, ex_video(1, 1, b"av01", &[0x12, 0x00, 0x32, 0x02, 7, 8]))
        .unwrap();
    let ev = drain(&mut d);
    assert!(matches!(&ev[0], MediaEvent::Track(t) if matches!(t.codec, CodecConfig::Av1(_))));
    assert_eq!(&frames(&ev)[0].data[..], &[0x32, 0x02, 7, 8]);

    let mut d = FlvDemuxer::new();
    d.push_video(0, ex_video(1, 0, b"vp09", &hex(VPCC)))
        .unwrap();
    d.push_video(0, ex_video(1, 3, b"vp09", &[0x82, 0x49, 0x83]))
        .unwrap();
    let ev = drain(&mut d);
    assert!(matches!(&ev[0], MediaEvent::Track(t) if matches!(t.codec, CodecConfig::Vp9(_))));
    assert_eq!(&frames(&ev)[0].data[..], &[0x82, 0x49, 0x83]);
}

#[test]
fn enhanced_audio_opus_and_mp4a() {
    let mut d = FlvDemuxer::new();
    d.push_audio(0, [&[0x90][..], b"Opus", OPUS_HEAD].concat().into())
        .unwrap();
    d.push_audio(
        20,
        [&[0x91][..], b"Opus", &[0xFC, 0xFF, 0xFE]].concat().into(),
    )
    .unwrap();
    d.push_audio(0, [&[0x90][..], b"mp4a", &hex(ASC)].concat().into())
        .unwrap();
    let ev = drain(&mut d);
    assert!(matches!(&ev[0], MediaEvent::Track(t) if matches!(t.codec, CodecConfig::Opus(_))));
    assert_eq!(
        (frames(&ev)[0].dts, &frames(&ev)[0].data[..]),
        (20, &[0xFC, 0xFF, 0xFE][..])
    );
    // Same track id 0, new codec: a changed configuration.
    assert!(matches!(&ev[2], MediaEvent::Track(t) if matches!(t.codec, CodecConfig::Aac(_))));
}

#[test]
fn multitrack_video_many_tracks_and_audio_one_track() {
    let avcc = hex(AVCC);
    let mut body = vec![0x80 | 1 << 4 | 6, 1 << 4]; // Multitrack, ManyTracks + SequenceStart
    body.extend_from_slice(b"avc1");
    for id in [0u8, 1] {
        body.push(id);
        body.extend_from_slice(&(avcc.len() as u32).to_be_bytes()[1..]);
        body.extend_from_slice(&avcc);
    }
    let mut d = FlvDemuxer::new();
    d.push_video(0, body.into()).unwrap();
    // ManyTracksManyCodecs coded frames: track 1 (avc1, with cts) and track 0.
    let mut body = vec![0x80 | 1 << 4 | 6, 2 << 4 | 1];
    for (id, cts) in [(1u8, 40u8), (0, 0)] {
        let data = [0, 0, cts, 0, 0, 0, 1, 0x65];
        body.extend_from_slice(b"avc1");
        body.push(id);
        body.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        body.extend_from_slice(&data);
    }
    d.push_video(10, body.into()).unwrap();
    // Audio OneTrack with track id 2.
    let mut a = vec![0x95, 0x00];
    a.extend_from_slice(b"mp4a");
    a.push(2);
    a.extend_from_slice(&hex(ASC));
    d.push_audio(0, a.into()).unwrap();
    let ev = drain(&mut d);
    let ids: Vec<(MediaKind, u32)> = ev
        .iter()
        .map(|e| match e {
            MediaEvent::Track(t) => (t.kind(), t.id),
            MediaEvent::Frame(f) => (f.kind, f.track),
        })
        .collect();
    assert_eq!(
        ids,
        [
            (MediaKind::Video, 0),
            (MediaKind::Video, 1),
            (MediaKind::Video, 1),
            (MediaKind::Video, 0),
            (MediaKind::Audio, 2)
        ]
    );
    let f = frames(&ev);
    assert_eq!((f[0].dts, f[0].pts), (10, 50));
}

#[test]
fn modex_is_skipped_and_truncation_is_an_error() {
    let mut d = FlvDemuxer::new();
    d.push_video(0, legacy_avc(1, 0, 0, &hex(AVCC))).unwrap();
    // ModEx (type 7) with 3 bytes of nanosecond offset, then CodedFramesX for avc1.
    let body = [
        &[0x80 | 1 << 4 | 7, 2, 0, 1, 0x2C, 0x03][..],
        b"avc1",
        &[0, 0, 0, 1, 0x65],
    ]
    .concat();
    d.push_video(5, body.into()).unwrap();
    let ev = drain(&mut d);
    assert_eq!(&frames(&ev)[0].data[..], &[0, 0, 0, 1, 0x65]);

    let bad = [
        &[0x80 | 1 << 4 | 6, 1 << 4 | 1][..],
        b"avc1",
        &[0, 0, 0, 9, 1],
    ]
    .concat();
    assert_eq!(
        d.push_video(0, bad.into()),
        Err(FlvError::TrackSizeOverrun { size: 9, left: 1 })
    );
    assert_eq!(
        d.push_video(0, Bytes::from_static(&[0x17, 1, 0])),
        Err(FlvError::Truncated("CompositionTime"))
    );
    assert!(matches!(
        d.push_video(0, legacy_avc(1, 0, 0, &[1, 2])),
        Err(FlvError::Codec { codec: "H.264", .. })
    ));
}
