//! Converter tests: Opus PES payloads built byte by byte (layouts, pre-skip,
//! timing, unsupported and damaged input). Annex B splitting is tested where it
//! lives, in `packager::codec::annex_b`.

use super::super::opus_pes::tests::control_header;
use super::*;

fn opus_stream(descriptor: Option<&[u8]>) -> TsFrames {
    let mut f = TsFrames::new();
    let info = EsInfo {
        pid: 0x101,
        codec: EsCodec::Opus,
        language: Some("eng".into()),
        opus_audio: descriptor.map(<[u8]>::to_vec),
    };
    f.handle(TsEvent::Streams(vec![info]), &mut Vec::new());
    f
}

fn opus_pes(pts: u64, payload: Vec<u8>) -> TsEvent {
    TsEvent::Pes(PesPacket {
        pid: 0x101,
        codec: EsCodec::Opus,
        pts: Some(pts),
        dts: None,
        data: payload.into(),
        random_access: true,
        discontinuity: false,
    })
}

/// `packets` 20 ms CELT packets of 3 bytes, the first trimmed by `start_trim`.
fn opus_payload(packets: usize, start_trim: Option<u16>) -> Vec<u8> {
    let mut p = Vec::new();
    for i in 0..packets {
        p.extend(control_header(3, start_trim.filter(|_| i == 0), None));
        p.extend_from_slice(&[0xfc, i as u8, 0xaa]);
    }
    p
}

fn split(out: Vec<FrameEvent>) -> (Vec<Track>, Vec<Frame>) {
    let (mut tracks, mut frames) = (Vec::new(), Vec::new());
    for e in out {
        match e {
            FrameEvent::Track(t) => tracks.push(t),
            FrameEvent::Frame(f) => frames.push(f),
        }
    }
    (tracks, frames)
}

#[test]
fn opus_units_become_frames_timed_by_their_toc() {
    let mut f = opus_stream(Some(&[0x02]));
    let mut out = Vec::new();
    f.handle(opus_pes(90_000, opus_payload(5, Some(312))), &mut out);
    f.handle(opus_pes(99_000, opus_payload(5, None)), &mut out);
    let (tracks, frames) = split(out);
    assert_eq!(tracks.len(), 1, "announced once");
    let CodecConfig::Opus(c) = &tracks[0].codec else {
        panic!("{:?}", tracks[0].codec);
    };
    assert_eq!((c.channels, c.pre_skip, c.mapping_family), (2, 312, 0));
    assert_eq!(tracks[0].language.as_deref(), Some("eng"));
    assert_eq!(tracks[0].timescale, 90_000);
    let pts: Vec<i64> = frames.iter().map(|f| f.pts).collect();
    assert_eq!(pts, (0..10).map(|i| 90_000 + i * 1_800).collect::<Vec<_>>());
    assert!(frames.iter().all(|f| f.dts == f.pts && f.keyframe));
    assert_eq!(&frames[6].data[..], &[0xfc, 1, 0xaa]);
    assert_eq!(f.stats(), FrameStats::default());
}

#[test]
fn opus_layouts_and_pre_skip() {
    // Mono, no start_trim: the default pre-skip.
    let mut f = opus_stream(Some(&[0x01]));
    let mut out = Vec::new();
    f.handle(opus_pes(0, opus_payload(1, None)), &mut out);
    let (tracks, _) = split(out);
    let CodecConfig::Opus(c) = &tracks[0].codec else {
        panic!()
    };
    assert_eq!((c.channels, c.pre_skip), (1, DEFAULT_OPUS_PRE_SKIP));
    // 5.1 in Vorbis order; 312 samples trimmed over three 2.5 ms packets.
    let mut f = opus_stream(Some(&[0x06]));
    let mut payload = Vec::new();
    for trim in [120, 120, 72] {
        payload.extend(control_header(1, Some(trim), None));
        payload.push(0x80);
    }
    let mut out = Vec::new();
    f.handle(opus_pes(0, payload), &mut out);
    let (tracks, frames) = split(out);
    let CodecConfig::Opus(c) = &tracks[0].codec else {
        panic!()
    };
    assert_eq!((c.channels, c.pre_skip, c.mapping_family), (6, 312, 1));
    assert_eq!(
        frames.iter().map(|f| f.pts).collect::<Vec<_>>(),
        [0, 225, 450]
    );
}

#[test]
fn opus_unsupported_and_damaged_input_is_counted() {
    let mut f = opus_stream(Some(&[0x80]));
    let mut out = Vec::new();
    f.handle(opus_pes(0, opus_payload(2, Some(312))), &mut out);
    f.handle(opus_pes(3_600, opus_payload(2, None)), &mut out);
    assert!(out.is_empty());
    assert_eq!(f.stats().unsupported, 2);

    let mut f = opus_stream(Some(&[0x02]));
    let mut out = Vec::new();
    // Garbage before any track: nothing announced.
    f.handle(opus_pes(0, vec![1, 2, 3, 4]), &mut out);
    assert!(out.is_empty());
    // Two good units, then a header whose size runs past the payload.
    let mut payload = opus_payload(2, None);
    payload.extend_from_slice(&[0x7f, 0xe0, 200, 0xfc]);
    f.handle(opus_pes(1_800, payload), &mut out);
    // A bad TOC (code 3 without its count byte) stops the PES.
    let mut payload = opus_payload(1, None);
    payload.extend(control_header(1, None, None));
    payload.push(0x03);
    payload.extend(opus_payload(1, None));
    f.handle(opus_pes(9_000, payload), &mut out);
    let (tracks, frames) = split(out);
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        frames.iter().map(|f| f.pts).collect::<Vec<_>>(),
        [1_800, 3_600, 9_000]
    );
    assert_eq!(f.stats().malformed, 3);
    // Truncated descriptors are malformed, not unsupported.
    let mut f = opus_stream(Some(&[]));
    f.handle(opus_pes(0, opus_payload(1, None)), &mut Vec::new());
    assert_eq!((f.stats().malformed, f.stats().unsupported), (1, 0));
}
