//! The live ladder on a stream made by the ffmpeg CLI (MPEG-TS demuxed with
//! libavformat, turned into ingest-style frames: RTMP millisecond timestamps,
//! length-prefixed NAL units, the `avcC` from the parameter sets): key frames at
//! the source's, retimed decode times, re-announced configurations, shedding and
//! skipping, the real-time factor. Skipped loudly without ffmpeg.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use ffmpeg_next as ffmpeg;

use super::live_ladder::{LiveLadder, Retimer};
use super::live_ladder_input::{packet_data, InputError};
use super::{LadderSink, LadderSpec, RenditionSpec, SinkError};
use crate::codec::annex_b::nal_units;
use crate::codec::avc::AvcConfig;
use crate::codec::hevc::HevcConfig;
use crate::media::{CodecConfig, Frame, MediaKind, Track};

#[derive(Default)]
struct Collect {
    tracks: BTreeMap<String, Vec<Track>>,
    frames: BTreeMap<String, Vec<Frame>>,
    names: BTreeMap<u32, String>,
}

impl LadderSink for Collect {
    fn track(&mut self, track: Track) -> Result<(), SinkError> {
        let name = track.name.clone().expect("renditions are named");
        self.names.insert(track.id, name.clone());
        self.tracks.entry(name).or_default().push(track);
        Ok(())
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        let name = self.names[&frame.track].clone();
        let frames = self.frames.entry(name).or_default();
        if let Some(prev) = frames.last() {
            assert!(frame.dts > prev.dts, "dts must increase");
        }
        frames.push(frame);
        Ok(())
    }
}

/// A source stream as ingest hands it over.
struct Source {
    track: Track,
    frames: Vec<Frame>,
}

/// `seconds` of `size` at 30 fps, a key frame every 30 frames, 2 B-frames, as
/// MPEG-TS; demuxed into millisecond-timestamped frames (`offset_ms` added).
fn source(dir: &Path, size: &str, seconds: u32, offset_ms: i64) -> Option<Source> {
    let out = dir.join(format!("src-{size}.ts"));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=30"))
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-keyint_min",
            "30",
        ])
        .args([
            "-sc_threshold",
            "0",
            "-bf",
            "2",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mpegts",
        ])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: ffmpeg could not make a test stream");
        return None;
    }
    super::init();
    let mut input = ffmpeg::format::input(&out).expect("demux");
    let mut frames = Vec::new();
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    let mut first_dts = None;
    for (_, packet) in input.packets() {
        let data = packet.data().unwrap_or_default();
        let mut sample = BytesMut::new();
        let mut key = false;
        for unit in nal_units(data) {
            match unit[0] & 0x1f {
                7 if sps.is_empty() => sps.push(Bytes::copy_from_slice(unit)),
                8 if pps.is_empty() => pps.push(Bytes::copy_from_slice(unit)),
                7..=9 => {}
                t => {
                    key |= t == 5;
                    sample.put_u32(unit.len() as u32);
                    sample.put_slice(unit);
                }
            }
        }
        let (Some(pts), Some(dts)) = (packet.pts(), packet.dts()) else {
            continue;
        };
        // 90 kHz → ms from the first decode time, as RTMP would carry them.
        let first = *first_dts.get_or_insert(dts);
        let ms = |t: i64| (t - first + 45).div_euclid(90) + offset_ms;
        frames.push(Frame {
            kind: MediaKind::Video,
            track: 0,
            dts: ms(dts),
            pts: ms(pts),
            keyframe: key,
            data: sample.freeze(),
        });
    }
    let config = AvcConfig::from_parameter_sets(&sps, &pps).expect("avcC");
    Some(Source {
        track: Track {
            id: 0,
            codec: CodecConfig::H264(config),
            timescale: 1000,
            language: None,
            name: None,
        },
        frames,
    })
}

fn spec() -> LadderSpec {
    LadderSpec {
        renditions: vec![
            RenditionSpec::new("360p", 360, 600_000),
            RenditionSpec::new("240p", 240, 300_000),
        ],
        preset: "ultrafast".into(),
        threads: 1,
        ..LadderSpec::default()
    }
}

fn size(t: &Track) -> (u32, u32) {
    let v = t.codec.video_info().unwrap();
    (v.width, v.height)
}

#[test]
fn every_rendition_keys_and_cuts_at_the_source_key_frames() {
    let dir = tempfile::tempdir().unwrap();
    let Some(src) = source(dir.path(), "640x360", 4, 5_000) else {
        return;
    };
    let mut ladder = LiveLadder::new(spec(), Duration::from_secs(30));
    let mut out = Collect::default();
    ladder.track(&src.track, &mut out).unwrap();
    for f in &src.frames {
        ladder.push(f, Instant::now(), &mut out).unwrap();
    }
    ladder.finish(&mut out).unwrap();

    let source_keys: Vec<(i64, i64)> = src
        .frames
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| (f.pts, f.dts))
        .collect();
    assert_eq!(source_keys.len(), 4);
    assert_ne!(
        source_keys[0].0, source_keys[0].1,
        "the source has B-frames"
    );
    for (name, want) in [("360p", (640, 360)), ("240p", (426, 240))] {
        let track = &out.tracks[name][0];
        assert_eq!((size(track), track.timescale), (want, 1000), "{name}");
        let frames = &out.frames[name];
        assert_eq!(frames.len(), src.frames.len(), "{name}: one picture each");
        let keys: Vec<(i64, i64)> = frames
            .iter()
            .filter(|f| f.keyframe)
            .map(|f| (f.pts, f.dts))
            .collect();
        // Same pts *and* decode time as the source's key frames: the packager cuts
        // every rendition where it cuts the source.
        assert_eq!(keys, source_keys, "{name}");
        let mut pts: Vec<i64> = frames.iter().map(|f| f.pts).collect();
        let mut src_pts: Vec<i64> = src.frames.iter().map(|f| f.pts).collect();
        pts.sort_unstable();
        src_pts.sort_unstable();
        assert_eq!(pts, src_pts, "{name}: the source's presentation times");
    }
    let stats = ladder.stats();
    assert!((stats.media_s - 4.0).abs() < 0.1, "{}", stats.media_s);
    assert!(stats.realtime_factor.is_some_and(|f| f > 0.0));
    assert_eq!((stats.shed, stats.skipped_frames), (0, 0));
    assert_eq!(stats.renditions_active, 0, "finished");
}

#[test]
fn a_new_source_configuration_reopens_with_the_same_names() {
    let dir = tempfile::tempdir().unwrap();
    let (Some(a), Some(b)) = (
        source(dir.path(), "640x360", 2, 0),
        source(dir.path(), "320x180", 2, 2_000),
    ) else {
        return;
    };
    let mut ladder = LiveLadder::new(spec(), Duration::from_secs(30));
    let mut out = Collect::default();
    for src in [&a, &b] {
        ladder.track(&src.track, &mut out).unwrap();
        ladder.track(&src.track, &mut out).unwrap(); // a repeat changes nothing
        for f in &src.frames {
            ladder.push(f, Instant::now(), &mut out).unwrap();
        }
    }
    ladder.finish(&mut out).unwrap();
    // 320×180 is below both rungs: one rendition at the source size, keeping the
    // shortest skipped rung's name (never an upscale).
    let sizes: Vec<(u32, u32)> = out.tracks["240p"].iter().map(size).collect();
    assert_eq!(sizes, [(426, 240), (320, 180)]);
    assert_eq!(out.tracks["360p"].len(), 1);
    assert_eq!(out.frames["240p"].len(), a.frames.len() + b.frames.len());
    assert_eq!(out.frames["360p"].len(), a.frames.len());
    let first_b = out.frames["240p"][a.frames.len()].clone();
    assert!(first_b.keyframe && first_b.pts >= 2_000);
}

#[test]
fn a_late_ladder_sheds_its_lowest_rendition_then_skips_to_key_frames() {
    let dir = tempfile::tempdir().unwrap();
    let Some(src) = source(dir.path(), "640x360", 3, 0) else {
        return;
    };
    let max_lag = Duration::from_secs(2);
    let mut ladder = LiveLadder::new(spec(), max_lag);
    let mut out = Collect::default();
    ladder.track(&src.track, &mut out).unwrap();
    let now = Instant::now();
    // First second on time, then frames that waited 3 s (over the limit), then
    // frames that waited 5 s (over twice the limit).
    for f in &src.frames {
        let waited = match f.dts {
            ..1_000 => Duration::ZERO,
            1_000..2_000 => Duration::from_secs(3),
            _ => Duration::from_secs(5),
        };
        let arrived = now.checked_sub(waited).unwrap_or(now);
        ladder.push(f, arrived, &mut out).unwrap();
    }
    let stats = ladder.stats();
    assert_eq!(stats.shed, 1, "one shed, then calm");
    assert_eq!(stats.renditions_active, 1);
    assert!(stats.lag >= Duration::from_secs(5));
    // From 2 s on everything is skipped (each key frame too: still too late).
    let late = src.frames.iter().filter(|f| f.dts >= 2_000).count() as u64;
    assert_eq!(stats.skipped_frames, late);
    ladder.finish(&mut out).unwrap();
    let shed = &out.frames["240p"];
    let kept = &out.frames["360p"];
    assert!(shed.len() < kept.len(), "{} vs {}", shed.len(), kept.len());
    assert!(kept.iter().all(|f| f.dts < 2_100), "nothing after the skip");
}

#[test]
fn the_retimer_moves_key_frames_onto_the_source_decode_times() {
    let mut r = Retimer::default();
    r.timescale = 1000;
    r.names.insert(1, "360p".into());
    // Source key frames at pts 1067 and 3067, decode times 1000 and 3000.
    r.source_key(1067, 1000);
    r.source_key(3067, 3000);
    // x264 with B-frames: its key frame at pts 1067 has dts 1067 − 2 frames (90 kHz).
    let f = |pts_ms: i64, dts_ms: i64, key| Frame {
        kind: MediaKind::Video,
        track: 1,
        dts: dts_ms * 90,
        pts: pts_ms * 90,
        keyframe: key,
        data: Bytes::new(),
    };
    let k = r.frame(f(1067, 1000, true));
    assert_eq!((k.pts, k.dts), (1067, 1000));
    let n = r.frame(f(1167, 1033, false));
    assert_eq!((n.pts, n.dts), (1167, 1033));
    // A later key frame whose encoder delay differs: the shift follows it.
    let k2 = r.frame(f(3067, 3034, true));
    assert_eq!((k2.pts, k2.dts), (3067, 3000));
    // Decode times never go back.
    let after = r.frame(f(3100, 2990, false));
    assert_eq!(after.dts, 3001);
}

#[test]
fn in_band_hevc_packets_carry_the_records_parameter_sets() {
    // H.265: VPS, SPS, PPS of the record, then the sample's units.
    let record = crate::live::test_support::hex(crate::live::test_support::HEVC_RECORD_HEX);
    let config = HevcConfig::parse(record).unwrap();
    let frame = |key, data: &'static [u8]| Frame {
        kind: MediaKind::Video,
        track: 0,
        dts: 0,
        pts: 0,
        keyframe: key,
        data: Bytes::from_static(data),
    };
    let codec = CodecConfig::H265(config.clone());
    let key = packet_data(&codec, &frame(true, &[0, 0, 0, 2, 0x26, 0x01]), true).unwrap();
    let units = nal_units(&key);
    let types: Vec<u8> = units.iter().map(|u| (u[0] >> 1) & 0x3f).collect();
    assert_eq!(types, [32, 33, 34, 19]);
    let delta = packet_data(&codec, &frame(false, &[0, 0, 0, 2, 0x02, 0x01]), false).unwrap();
    assert_eq!(delta, [0, 0, 0, 1, 0x02, 0x01]);
    // A length running past the sample is an error, not a panic.
    assert!(matches!(
        packet_data(&codec, &frame(false, &[0, 0, 0, 9, 0x02]), false),
        Err(InputError::Malformed { .. })
    ));
    // Audio is not the ladder's.
    let aac = crate::codec::aac::AacConfig::parse(Bytes::from_static(&[0x11, 0x90])).unwrap();
    assert!(matches!(
        packet_data(&CodecConfig::Aac(aac), &frame(true, &[1]), true),
        Err(InputError::Unsupported(_))
    ));
}

/// The ladder's output as the origin feeds it: into the source's `LiveStream`,
/// rendition `i` as video track `100 + i`.
struct IntoStream<'a> {
    stream: &'a mut crate::live::LiveStream,
    now_ms: u64,
}

impl LadderSink for IntoStream<'_> {
    fn track(&mut self, mut track: Track) -> Result<(), SinkError> {
        track.id += 100;
        self.stream.handle_track(track, self.now_ms);
        Ok(())
    }

    fn frame(&mut self, mut frame: Frame) -> Result<(), SinkError> {
        frame.track += 100;
        self.stream.handle_frame(frame, self.now_ms);
        Ok(())
    }
}

#[test]
fn the_live_segmenter_cuts_ladder_renditions_with_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let Some(src) = source(dir.path(), "640x360", 7, 0) else {
        return;
    };
    let mut stream = crate::live::LiveStream::new(crate::live::LiveConfig {
        segment_target_ms: 1000,
        part_target_ms: 250,
        window_ms: 30_000,
    });
    let t0 = 1_700_000_000_000u64;
    stream.handle_track(src.track.clone(), t0);
    let mut ladder = LiveLadder::new(spec(), Duration::from_secs(30));
    ladder
        .track(
            &src.track,
            &mut IntoStream {
                stream: &mut stream,
                now_ms: t0,
            },
        )
        .unwrap();
    for f in &src.frames {
        let now_ms = t0 + f.dts as u64;
        stream.handle_frame(f.clone(), now_ms);
        let mut sink = IntoStream {
            stream: &mut stream,
            now_ms,
        };
        ladder.push(f, Instant::now(), &mut sink).unwrap();
    }
    let names: Vec<&str> = stream
        .renditions()
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["video0", "360p", "240p"]);
    let leader = stream.rendition("video0").unwrap();
    for name in ["360p", "240p"] {
        let r = stream.rendition(name).unwrap();
        let complete: Vec<_> = r.segments.iter().filter(|s| s.complete).collect();
        assert!(complete.len() >= 5, "{name}: {} segments", complete.len());
        for seg in complete {
            let lead = leader.segment(seg.msn).unwrap();
            assert_eq!(
                (seg.start_dts, seg.duration_ticks),
                (lead.start_dts, lead.duration_ticks),
                "{name} msn {}",
                seg.msn
            );
            assert!(seg.parts[0].independent);
        }
        // x264 signals its 90 kHz time base as the VUI frame rate; the playlist
        // shows the measured one.
        assert!((r.frame_rate().unwrap() - 30.0).abs() < 0.1, "{name}");
    }
    let master = crate::hls::multivariant_playlist(&stream);
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 3, "{master}");
    let fps: f64 = master
        .split("RESOLUTION=426x240,FRAME-RATE=")
        .nth(1)
        .and_then(|rest| rest.split([',', '\n']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{master}"));
    assert!((fps - 30.0).abs() < 0.01, "{master}");
}
