//! The TS demuxer on what a real muxer writes: ffmpeg's `mpegts` output (the format
//! SRT publishers send), fed in awkward chunk sizes, then damaged.
//!
//! Needs `ffmpeg` on PATH (`scripts/install-deps.sh test` installs it).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use ingest::ts::{EsCodec, FrameEvent, PesPacket, TsDemuxer, TsEvent, TsFrames, TsStats};
use packager::live::{LiveConfig, LiveStream};
use packager::media::MediaKind;

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
fn package(
    ts: &[u8],
) -> (
    LiveStream,
    Vec<packager::media::Track>,
    ingest::ts::FrameStats,
) {
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

/// The rendition's init segment and media segments as one fMP4 file, probed.
fn ffprobe_rendition(live: &LiveStream, name: &str) -> String {
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
        "ferrocast-ts-probe-{}-{name}.mp4",
        std::process::id()
    ));
    std::fs::write(&path, &file).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height,sample_rate,nb_read_frames:stream_tags=language",
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
