//! The TS demuxer on what a real muxer writes: ffmpeg's `mpegts` output (the format
//! SRT publishers send), fed in awkward chunk sizes, then damaged.
//!
//! Needs `ffmpeg` on PATH (`scripts/install-deps.sh test` installs it).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use ingest::ts::opus_pes::packet_samples;
use ingest::ts::{EsCodec, FrameEvent, PesPacket, TsDemuxer, TsEvent, TsFrames, TsStats};
use packager::codec::opus::OpusConfig;
use packager::live::{LiveConfig, LiveStream};
use packager::media::{CodecConfig, Frame, MediaKind, Track};

/// ffmpeg writes a TS file with `args` (inputs and codecs) and returns its bytes.
fn ffmpeg_ts(name: &str, args: &[&str]) -> Vec<u8> {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ferrocast-ts-{}-{name}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.ts");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .args(["-f", "mpegts"])
        .arg(&out)
        .status()
        .expect("ffmpeg on PATH (scripts/install-deps.sh test)");
    assert!(status.success(), "ffmpeg {args:?}");
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// Quiet, fast libx265.
const HEVC: &[&str] = &[
    "-c:v",
    "libx265",
    "-preset",
    "ultrafast",
    "-x265-params",
    "log-level=error",
];

const VIDEO_3S: &[&str] = &[
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x180:rate=30",
    "-t",
    "3",
];

fn h264_two_audio() -> Vec<u8> {
    let mut a: Vec<&str> = VIDEO_3S.to_vec();
    a.extend([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=660:sample_rate=48000",
        "-t",
        "3",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-bf",
        "2",
        "-g",
        "30",
        "-c:a",
        "aac",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:1",
        "language=fra",
    ]);
    ffmpeg_ts("h264", &a)
}

/// Runs `bytes` through a demuxer in chunks of `chunk` bytes.
fn demux(bytes: &[u8], chunk: usize) -> (Vec<Vec<ingest::ts::EsInfo>>, Vec<PesPacket>, TsStats) {
    let mut d = TsDemuxer::new();
    let (mut streams, mut pes) = (Vec::new(), Vec::new());
    let mut drain = |d: &mut TsDemuxer| {
        while let Some(e) = d.poll_event() {
            match e {
                TsEvent::Streams(s) => streams.push(s),
                TsEvent::Pes(p) => pes.push(p),
            }
        }
    };
    for c in bytes.chunks(chunk) {
        d.handle_input(c);
        drain(&mut d);
    }
    d.finish();
    drain(&mut d);
    (streams, pes, d.stats())
}

fn of(pes: &[PesPacket], codec: EsCodec) -> Vec<&PesPacket> {
    pes.iter().filter(|p| p.codec == codec).collect()
}

#[test]
fn h264_and_two_languages_in_any_chunking() {
    let ts = h264_two_audio();
    let mut first = None;
    for chunk in [188, 1316, 7, 4096, 100_000] {
        let (streams, pes, stats) = demux(&ts, chunk);
        assert_eq!(streams.len(), 1, "one PMT announcement (chunk {chunk})");
        let s = &streams[0];
        assert_eq!(
            s.iter().map(|e| e.codec).collect::<Vec<_>>(),
            [EsCodec::H264, EsCodec::Aac, EsCodec::Aac]
        );
        assert_eq!(s[1].language.as_deref(), Some("eng"));
        assert_eq!(s[2].language.as_deref(), Some("fra"));
        let video = of(&pes, EsCodec::H264);
        assert_eq!(video.len(), 90, "30 fps for 3 s");
        assert!(video
            .iter()
            .all(|p| p.data.starts_with(&[0, 0, 0, 1]) || p.data.starts_with(&[0, 0, 1])));
        assert!(
            video.iter().any(|p| p.dts.is_some() && p.dts != p.pts),
            "B-frames carry a DTS"
        );
        let dts: Vec<u64> = video.iter().map(|p| p.dts.or(p.pts).unwrap()).collect();
        assert!(dts.windows(2).all(|w| w[1] > w[0]), "decode order");
        assert!(
            video[0].random_access,
            "the first access unit is a key frame"
        );
        let audio = of(&pes, EsCodec::Aac);
        assert!(audio.len() >= 20, "AAC PES packets: {}", audio.len());
        assert!(
            audio
                .iter()
                .all(|p| p.data[0] == 0xff && p.data[1] & 0xf0 == 0xf0),
            "ADTS sync"
        );
        assert_eq!(
            (stats.continuity_errors, stats.sync_losses, stats.psi_errors),
            (0, 0, 0)
        );
        assert!(pes.iter().all(|p| !p.discontinuity));
        let summary: Vec<(u16, usize)> = pes.iter().map(|p| (p.pid, p.data.len())).collect();
        match &first {
            None => first = Some(summary),
            Some(f) => assert_eq!(f, &summary, "chunking changes nothing (chunk {chunk})"),
        }
    }
}

#[test]
fn damage_is_counted_and_the_stream_goes_on() {
    let ts = h264_two_audio();
    let (_, clean, _) = demux(&ts, 1316);
    // Drop five packets in the middle and put garbage in front.
    let mut damaged = b"not a transport stream at all".to_vec();
    let mid = (ts.len() / 188 / 2) * 188;
    damaged.extend_from_slice(&ts[..mid]);
    damaged.extend_from_slice(&ts[mid + 5 * 188..]);
    let (_, pes, stats) = demux(&damaged, 1316);
    assert!(stats.sync_losses >= 1, "garbage is a sync loss");
    assert!(stats.continuity_errors >= 1, "the gap is counted");
    let (v0, v1) = (
        of(&clean, EsCodec::H264).len(),
        of(&pes, EsCodec::H264).len(),
    );
    assert!(v1 + 2 >= v0, "the stream goes on: {v1} of {v0} video PES");
    assert!(
        pes.iter().all(|p| !p.discontinuity),
        "timestamps did not jump: no discontinuity"
    );
}

#[test]
fn hevc_and_a_pmt_change_mid_stream() {
    let h264 = h264_two_audio();
    let mut args: Vec<&str> = VIDEO_3S.to_vec();
    args.extend(HEVC);
    args.extend(["-tables_version", "1"]);
    let hevc = ffmpeg_ts("hevc", &args);
    let mut both = h264.clone();
    both.extend_from_slice(&hevc);
    let (streams, pes, stats) = demux(&both, 1316);
    assert_eq!(streams.len(), 2, "the PMT change is announced");
    assert_eq!(
        streams[1].iter().map(|e| e.codec).collect::<Vec<_>>(),
        [EsCodec::H265]
    );
    assert_eq!(stats.pmt_changes, 1);
    assert_eq!(of(&pes, EsCodec::H265).len(), 90);
    assert!(
        of(&pes, EsCodec::H264).len() >= 89,
        "the first part is intact"
    );
}

#[test]
fn the_33_bit_clock_wraps_without_a_discontinuity() {
    // 2^33 / 90 kHz = 95,443.72 s: start 3.7 s before the wrap (ffmpeg adds its
    // 1.4 s mux delay), so the 3 s stream crosses it.
    let mut args: Vec<&str> = VIDEO_3S.to_vec();
    args.extend([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-output_ts_offset",
        "95440",
    ]);
    let ts = ffmpeg_ts("wrap", &args);
    let (_, pes, _) = demux(&ts, 1316);
    let video = of(&pes, EsCodec::H264);
    let dts: Vec<u64> = video.iter().map(|p| p.dts.or(p.pts).unwrap()).collect();
    assert!(
        dts.first().unwrap() < &(1u64 << 33) && dts.last().unwrap() > &(1u64 << 33),
        "the timeline crosses 2^33: {:?} … {:?}",
        dts.first(),
        dts.last()
    );
    assert!(
        dts.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] < 9_000),
        "monotonic across the wrap"
    );
    assert!(video.iter().all(|p| !p.discontinuity));
}

/// TS → demuxer → frames → the live packager; returns the stream and the tracks.
fn package(ts: &[u8]) -> (LiveStream, Vec<Track>, ingest::ts::FrameStats) {
    let mut d = TsDemuxer::new();
    let mut f = TsFrames::new();
    let mut live = LiveStream::new(LiveConfig {
        segment_target_ms: 1_000,
        part_target_ms: 250,
        window_ms: 30_000,
    });
    let mut tracks = Vec::new();
    let mut out = Vec::new();
    let mut now = 0u64;
    let mut feed = |d: &mut TsDemuxer, f: &mut TsFrames, live: &mut LiveStream, now: u64| {
        while let Some(e) = d.poll_event() {
            f.handle(e, &mut out);
        }
        for e in out.drain(..) {
            match e {
                FrameEvent::Track(t) => {
                    tracks.push(t.clone());
                    live.handle_track(t, now);
                }
                FrameEvent::Frame(fr) => live.handle_frame(fr, now),
            }
        }
    };
    for chunk in ts.chunks(1316) {
        d.handle_input(chunk);
        now += 1;
        feed(&mut d, &mut f, &mut live, now);
    }
    d.finish();
    feed(&mut d, &mut f, &mut live, now);
    live.handle_end(now + 1);
    (live, tracks, f.stats())
}

/// The rendition's init segment and media segments as one fMP4 file in the temp dir.
fn rendition_file(live: &LiveStream, name: &str) -> std::path::PathBuf {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let r = live
        .rendition(name)
        .unwrap_or_else(|| panic!("rendition {name}"));
    let mut file = r.init.to_vec();
    for s in &r.segments {
        for p in &s.parts {
            file.extend_from_slice(&p.data);
        }
    }
    let path = std::env::temp_dir().join(format!(
        "ferrocast-ts-probe-{}-{name}-{}.mp4",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, &file).unwrap();
    path
}

/// The rendition as one fMP4 file, probed.
fn ffprobe_rendition(live: &LiveStream, name: &str) -> String {
    let path = rendition_file(live, name);
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height,sample_rate,channels,nb_read_frames:stream_tags=language",
            "-count_frames",
            "-of",
            "compact=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe on PATH");
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// What `ffmpeg -v error -i rendition.mp4 -f null -` complains about (empty: it
/// decoded every sample without an error).
fn ffmpeg_decode_errors(live: &LiveStream, name: &str) -> String {
    let path = rendition_file(live, name);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg on PATH");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "ffmpeg failed on {name}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn ts_to_cmaf_reads_back_in_ffprobe() {
    let (live, tracks, stats) = package(&h264_two_audio());
    assert_eq!(stats.malformed, 0);
    let video: Vec<_> = tracks
        .iter()
        .filter(|t| t.codec.kind() == MediaKind::Video)
        .collect();
    let audio: Vec<_> = tracks
        .iter()
        .filter(|t| t.codec.kind() == MediaKind::Audio)
        .collect();
    assert_eq!(video.len(), 1);
    assert!(
        video[0].codec.codec_string().starts_with("avc1."),
        "{}",
        video[0].codec.codec_string()
    );
    assert_eq!(audio.len(), 2, "two audio tracks");
    assert_eq!(
        audio.iter().map(|t| t.language.clone()).collect::<Vec<_>>(),
        [Some("eng".into()), Some("fra".into())]
    );
    let names: Vec<&str> = live.renditions().iter().map(|r| r.name.as_str()).collect();
    let v = names
        .iter()
        .find(|n| n.starts_with("video"))
        .expect("a video rendition");
    let probe = ffprobe_rendition(&live, v);
    assert!(
        probe.contains("codec_name=h264")
            && probe.contains("width=320")
            && probe.contains("height=180"),
        "{probe}"
    );
    let frames: u32 = probe
        .split("nb_read_frames=")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(frames >= 85, "decodable frames: {frames} ({probe})");
    let a = names
        .iter()
        .find(|n| n.starts_with("audio"))
        .expect("an audio rendition");
    let probe = ffprobe_rendition(&live, a);
    assert!(
        probe.contains("codec_name=aac") && probe.contains("sample_rate=48000"),
        "{probe}"
    );
}

#[test]
fn hevc_ts_to_cmaf_reads_back_in_ffprobe() {
    let mut args: Vec<&str> = VIDEO_3S.to_vec();
    args.extend(HEVC);
    let (live, tracks, _) = package(&ffmpeg_ts("hevc-cmaf", &args));
    assert!(
        tracks[0].codec.codec_string().starts_with("hvc1."),
        "{}",
        tracks[0].codec.codec_string()
    );
    let v = live.renditions()[0].name.clone();
    let probe = ffprobe_rendition(&live, &v);
    assert!(
        probe.contains("codec_name=hevc") && probe.contains("width=320"),
        "{probe}"
    );
}

/// TS → demuxer → frames only: the tracks, the frames and the counters.
fn ts_frames(ts: &[u8]) -> (Vec<Track>, Vec<Frame>, ingest::ts::FrameStats) {
    let mut d = TsDemuxer::new();
    let mut f = TsFrames::new();
    let (mut tracks, mut frames, mut out) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in ts.chunks(1316) {
        d.handle_input(chunk);
        while let Some(e) = d.poll_event() {
            f.handle(e, &mut out);
        }
    }
    d.finish();
    while let Some(e) = d.poll_event() {
        f.handle(e, &mut out);
    }
    for e in out {
        match e {
            FrameEvent::Track(t) => tracks.push(t),
            FrameEvent::Frame(fr) => frames.push(fr),
        }
    }
    (tracks, frames, f.stats())
}

/// `seconds` of a 48 kHz tone as `channels`-channel Opus (libopus, 96 kb/s per
/// stereo pair); `video` adds 320x180 H.264.
fn opus_ts(name: &str, channels: u8, seconds: u32, video: bool) -> Vec<u8> {
    let (t, ac) = (seconds.to_string(), channels.to_string());
    let bitrate = format!("{}k", 96 * u32::from(channels.div_ceil(2)));
    let mut a: Vec<&str> = Vec::new();
    if video {
        a.extend(VIDEO_3S);
    }
    a.extend([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &t,
    ]);
    if video {
        a.extend(["-map", "0:v", "-map", "1:a"]);
        a.extend(["-c:v", "libx264", "-preset", "ultrafast", "-g", "30"]);
    }
    a.extend(["-c:a", "libopus", "-b:a", &bitrate, "-ac", &ac]);
    if channels > 2 {
        a.extend(["-mapping_family", "1"]);
    }
    ffmpeg_ts(name, &a)
}

/// The Opus track of `tracks` with `id`, its config.
fn opus_config(tracks: &[Track], id: u32) -> &OpusConfig {
    tracks
        .iter()
        .find_map(|t| match &t.codec {
            CodecConfig::Opus(c) if t.id == id => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("Opus track {id} in {tracks:?}"))
}

/// The frames of audio track `id` cover `seconds` (after the pre-skip) to within one
/// 20 ms packet, and each starts where the previous one ended (90 kHz).
fn check_opus_timing(frames: &[Frame], id: u32, pre_skip: u16, seconds: u32) {
    let audio: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.kind == MediaKind::Audio && f.track == id)
        .collect();
    let samples: Vec<u32> = audio
        .iter()
        .map(|f| packet_samples(&f.data).expect("a valid TOC"))
        .collect();
    let total = i64::from(samples.iter().sum::<u32>()) - i64::from(pre_skip);
    let expected = i64::from(seconds) * 48_000;
    assert!(
        (total - expected).abs() <= 960,
        "{} frames, {total} samples after pre-skip, expected {expected} ± 960",
        audio.len()
    );
    for (w, n) in audio.windows(2).zip(&samples) {
        assert_eq!(
            w[1].pts - w[0].pts,
            i64::from(*n) * 90_000 / 48_000,
            "gapless"
        );
    }
}

/// The audio rendition `name` reads back in ffprobe as 48 kHz Opus with `channels`
/// and decodes without an error.
fn check_opus_rendition(live: &LiveStream, name: &str, channels: u8) -> String {
    let probe = ffprobe_rendition(live, name);
    assert!(
        probe.contains("codec_name=opus")
            && probe.contains("sample_rate=48000")
            && probe.contains(&format!("channels={channels}|")),
        "{probe}"
    );
    let frames: u32 = probe
        .split("nb_read_frames=")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(frames >= 25, "decodable packets: {frames} ({probe})");
    let errors = ffmpeg_decode_errors(live, name);
    assert!(errors.is_empty(), "ffmpeg decoding {name}: {errors}");
    probe
}

#[test]
fn opus_stereo_with_h264_to_cmaf() {
    let ts = opus_ts("opus-stereo", 2, 3, true);
    let (streams, _, _) = demux(&ts, 1316);
    assert_eq!(
        streams[0].iter().map(|e| e.codec).collect::<Vec<_>>(),
        [EsCodec::H264, EsCodec::Opus]
    );
    assert_eq!(streams[0][1].opus_audio.as_deref(), Some(&[0x02][..]));
    let (tracks, frames, stats) = ts_frames(&ts);
    assert_eq!((stats.malformed, stats.unsupported), (0, 0));
    let c = opus_config(&tracks, 0);
    assert_eq!((c.channels, c.mapping_family), (2, 0));
    assert_eq!(c.pre_skip, 312, "the first access unit's start_trim");
    check_opus_timing(&frames, 0, c.pre_skip, 3);

    let (live, _, _) = package(&ts);
    check_opus_rendition(&live, "audio0", 2);
    let probe = ffprobe_rendition(&live, "video0");
    assert!(probe.contains("codec_name=h264"), "{probe}");
}

#[test]
fn opus_mono_and_5_1_to_cmaf() {
    for (channels, family) in [(1, 0), (6, 1)] {
        let ts = opus_ts(&format!("opus-{channels}ch"), channels, 2, false);
        let (tracks, frames, stats) = ts_frames(&ts);
        assert_eq!((stats.malformed, stats.unsupported), (0, 0));
        let c = opus_config(&tracks, 0);
        assert_eq!((c.channels, c.mapping_family), (channels, family));
        check_opus_timing(&frames, 0, c.pre_skip, 2);
        let (live, _, _) = package(&ts);
        check_opus_rendition(&live, "audio0", channels);
    }
}

#[test]
fn two_opus_languages_are_two_audio_tracks() {
    let ts = ffmpeg_ts(
        "opus-languages",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=660:sample_rate=48000",
            "-t",
            "2",
            "-map",
            "0:a",
            "-map",
            "1:a",
            "-t",
            "2",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-ac",
            "2",
            "-metadata:s:a:0",
            "language=eng",
            "-metadata:s:a:1",
            "language=fra",
        ],
    );
    let (tracks, frames, stats) = ts_frames(&ts);
    assert_eq!((stats.malformed, stats.unsupported), (0, 0));
    assert_eq!(
        tracks
            .iter()
            .map(|t| (t.id, t.language.as_deref()))
            .collect::<Vec<_>>(),
        [(0, Some("eng")), (1, Some("fra"))]
    );
    for id in [0, 1] {
        check_opus_timing(&frames, id, opus_config(&tracks, id).pre_skip, 2);
    }
    let (live, _, _) = package(&ts);
    assert!(check_opus_rendition(&live, "audio0", 2).contains("language=eng"));
    assert!(check_opus_rendition(&live, "audio1", 2).contains("language=fra"));
}

#[test]
fn damaged_opus_is_counted_and_the_stream_goes_on() {
    let ts = opus_ts("opus-damage", 2, 2, false);
    let (_, clean, _) = ts_frames(&ts);
    // Drop the second packet of a PES in the middle (its access units are cut), then
    // scribble over payload bytes further on.
    let (streams, _, _) = demux(&ts, 1316);
    let pid = streams[0][0].pid;
    let packets: Vec<&[u8]> = ts.chunks(188).collect();
    let starts: Vec<usize> = (0..packets.len())
        .filter(|&i| {
            let p = packets[i];
            p[1] & 0x40 != 0 && u16::from_be_bytes([p[1] & 0x1f, p[2]]) == pid
        })
        .collect();
    let cut = starts[starts.len() / 2] + 1;
    let mut damaged: Vec<u8> = packets
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != cut)
        .flat_map(|(_, p)| p.iter().copied())
        .collect();
    let mut seed = 7u32;
    for at in ((cut + 20) * 188..damaged.len()).step_by(997) {
        if at % 188 > 4 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            damaged[at] = (seed >> 24) as u8;
        }
    }
    let (tracks, frames, stats) = ts_frames(&damaged);
    assert_eq!(tracks.len(), 1);
    assert!(
        stats.malformed >= 1,
        "the cut access unit is counted: {stats:?}"
    );
    assert!(
        frames.len() + 20 >= clean.len(),
        "the stream goes on: {} of {} frames",
        frames.len(),
        clean.len()
    );
}
