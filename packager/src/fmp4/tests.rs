//! Structural tests of the muxer: a small box walker checks the fields players rely
//! on. The independent check with ffprobe lives in [`super::ffprobe_check`].

use bytes::Bytes;

use super::*;
use crate::codec::aac::AacConfig;
use crate::codec::avc::AvcConfig;
use crate::codec::test_util::hex;
use crate::media::CodecConfig;

/// Finds the body of the box at `path` (e.g. `["moov", "trak", "tkhd"]`); sample
/// entries are entered by their fixed header size.
pub(crate) fn find<'a>(mut data: &'a [u8], path: &[&str]) -> Option<&'a [u8]> {
    let (first, rest) = path.split_first()?;
    while data.len() >= 8 {
        let size = u32::from_be_bytes(data[..4].try_into().ok()?) as usize;
        let kind = std::str::from_utf8(&data[4..8]).ok()?;
        if size < 8 || size > data.len() {
            return None;
        }
        let body = &data[8..size];
        if kind == *first {
            if rest.is_empty() {
                return Some(body);
            }
            let inner = match kind {
                "stsd" => &body[8..],
                "avc1" | "avc3" | "hvc1" | "hev1" | "av01" | "vp09" => &body[78..],
                "mp4a" | "Opus" => &body[28..],
                "dref" => &body[8..],
                _ => body,
            };
            return find(inner, rest);
        }
        data = &data[size..];
    }
    None
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

pub(crate) fn avc_track() -> Track {
    let avcc = hex(
        "0164001effe1001a6764001eacd940a02ff970110000030001000003003c0f162d96\
                    01000668ebe3cb22c0fdf8f800",
    );
    let codec = CodecConfig::H264(AvcConfig::parse(avcc).unwrap());
    Track {
        id: 0,
        codec,
        timescale: 1000,
        language: Some("en-US".into()),
        name: None,
    }
}

#[test]
fn video_init_segment_layout() {
    let track = avc_track();
    let init = init_segment(&track).unwrap();
    let ftyp = find(&init, &["ftyp"]).unwrap();
    assert_eq!(&ftyp[..4], b"cmfc");
    assert!(ftyp.chunks(4).any(|b| b == b"iso6"));
    let tkhd = find(&init, &["moov", "trak", "tkhd"]).unwrap();
    assert_eq!(be32(tkhd, 0) & 0xffffff, 3, "enabled | in_movie");
    assert_eq!(be32(tkhd, 12), 1, "track_ID");
    assert_eq!((be32(tkhd, 76), be32(tkhd, 80)), (640 << 16, 360 << 16));
    let mdhd = find(&init, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    assert_eq!(be32(mdhd, 12), 90_000);
    // "und" = 0x55c4, since "en-US" is not an ISO 639-2 code.
    assert_eq!(&mdhd[20..22], &[0x55, 0xc4]);
    let hdlr = find(&init, &["moov", "trak", "mdia", "hdlr"]).unwrap();
    assert_eq!(&hdlr[8..12], b"vide");
    assert!(find(&init, &["moov", "trak", "mdia", "minf", "vmhd"]).is_some());
    assert!(find(
        &init,
        &["moov", "trak", "mdia", "minf", "dinf", "dref", "url "]
    )
    .is_some());
    let stbl = ["moov", "trak", "mdia", "minf", "stbl"];
    let avcc = find(&init, &[&stbl[..], &["stsd", "avc1", "avcC"]].concat()).unwrap();
    let CodecConfig::H264(c) = &track.codec else {
        unreachable!()
    };
    assert_eq!(avcc, &c.record[..]);
    let avc1 = find(&init, &[&stbl[..], &["stsd", "avc1"]].concat()).unwrap();
    assert_eq!(
        (&avc1[24..28], &avc1[28..32]),
        (&[2, 128, 1, 104][..], &[0, 0x48, 0, 0][..])
    );
    for table in ["stts", "stsc", "stsz", "stco"] {
        assert!(
            find(&init, &[&stbl[..], &[table]].concat()).is_some(),
            "{table}"
        );
    }
    let trex = find(&init, &["moov", "mvex", "trex"]).unwrap();
    assert_eq!((be32(trex, 4), be32(trex, 8)), (1, 1));
}

#[test]
fn audio_init_segment_layout() {
    let asc = AacConfig::parse(hex("119056e500")).unwrap();
    let track = Track {
        id: 0,
        codec: CodecConfig::Aac(asc),
        timescale: 1000,
        language: Some("fra".into()),
        name: None,
    };
    assert_eq!(media_timescale(&track), 48_000);
    let init = init_segment(&track).unwrap();
    let mdhd = find(&init, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    assert_eq!(be32(mdhd, 12), 48_000);
    assert_eq!(
        u16::from_be_bytes([mdhd[20], mdhd[21]]),
        init::packed_language(Some("fra"))
    );
    let tkhd = find(&init, &["moov", "trak", "tkhd"]).unwrap();
    assert_eq!(&tkhd[36..38], &[1, 0], "volume 1.0");
    let mp4a = find(
        &init,
        &["moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4a"],
    )
    .unwrap();
    assert_eq!(
        &mp4a[16..20],
        &[0, 2, 0, 16],
        "channelcount 2, samplesize 16"
    );
    assert_eq!(be32(mp4a, 24), 48_000 << 16);
    let esds = find(
        &init,
        &[
            "moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4a", "esds",
        ],
    )
    .unwrap();
    // ES_Descriptor ⊃ DecoderConfigDescriptor(0x40, audio) ⊃ DecoderSpecificInfo = ASC.
    assert_eq!(
        &esds[4..],
        &[
            3, 28, 0, 0, 0, 4, 20, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 0x11, 0x90,
            0x56, 0xe5, 0, 6, 1, 2
        ]
    );
    assert!(find(&init, &["moov", "trak", "mdia", "minf", "smhd"]).is_some());
}

#[test]
fn language_packing() {
    // ISO/IEC 14496-12 §8.4.2.3 example values.
    assert_eq!(init::packed_language(Some("eng")), 0x15c7);
    assert_eq!(init::packed_language(None), 0x55c4);
    assert_eq!(init::packed_language(Some("EN")), 0x55c4);
}

#[test]
fn fragment_layout_and_offsets() {
    let samples = [
        Sample {
            duration: 3000,
            composition_offset: 6000,
            keyframe: true,
            data: Bytes::from_static(b"IDR!"),
        },
        Sample {
            duration: 3000,
            composition_offset: -3000,
            keyframe: false,
            data: Bytes::from_static(b"B"),
        },
    ];
    let frag = fragment(7, 1 << 40, &samples);
    let mfhd = find(&frag, &["moof", "mfhd"]).unwrap();
    assert_eq!(be32(mfhd, 4), 7);
    let tfhd = find(&frag, &["moof", "traf", "tfhd"]).unwrap();
    assert_eq!((be32(tfhd, 0), be32(tfhd, 4)), (0x020000, 1));
    let tfdt = find(&frag, &["moof", "traf", "tfdt"]).unwrap();
    assert_eq!(tfdt[0], 1);
    assert_eq!(u64::from_be_bytes(tfdt[4..12].try_into().unwrap()), 1 << 40);
    let trun = find(&frag, &["moof", "traf", "trun"]).unwrap();
    assert_eq!(
        be32(trun, 0),
        0x01000f01,
        "version 1 with offset, duration, size, flags, cto"
    );
    assert_eq!(be32(trun, 4), 2);
    let offset = be32(trun, 8) as usize;
    assert_eq!(&frag[offset..offset + 5], b"IDR!B");
    assert_eq!(
        &trun[12..28],
        &[0, 0, 11, 184, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 23, 112]
    );
    assert_eq!(be32(trun, 36), NON_SYNC_SAMPLE_FLAGS);
    assert_eq!(be32(trun, 40) as i32, -3000);
    let mdat = find(&frag, &["mdat"]).unwrap();
    assert_eq!(mdat, b"IDR!B");
    // The chunked form is the same bytes and shares the payloads.
    let chunks = fragment_chunks(7, 1 << 40, &samples);
    assert_eq!(chunks.concat(), frag.to_vec());
    assert_eq!(chunks[1].as_ptr(), samples[0].data.as_ptr());
}

#[test]
fn empty_fragment_is_well_formed() {
    let frag = fragment(1, 0, &[]);
    assert_eq!(find(&frag, &["mdat"]).unwrap(), b"");
}
