//! Independent check of the muxer with ffprobe: real H.264 (with B-frames) and AAC
//! made by ffmpeg are muxed into init + fragments, and ffprobe must read back the
//! codec, geometry, every packet and its pts/dts.
//!
//! The source packets come from ffprobe itself (`-show_packets -show_data` on an MP4
//! that ffmpeg wrote), so the payloads are already in ISO/IEC 14496-15 sample format.
//! Skipped, with a message, when ffmpeg or ffprobe is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

use super::*;
use crate::codec::aac::AacConfig;
use crate::codec::avc::AvcConfig;
use crate::media::CodecConfig;

/// A packet as the source file holds it, times in the source time base.
struct SourcePacket {
    pts: i64,
    dts: i64,
    duration: i64,
    keyframe: bool,
    data: Bytes,
}

fn tools_present() -> bool {
    for tool in ["ffmpeg", "ffprobe"] {
        if Command::new(tool)
            .arg("-version")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            eprintln!("SKIPPED ffprobe check: `{tool}` is not installed (apt-get install ffmpeg)");
            return false;
        }
    }
    true
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrocast-fmp4-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn ffprobe_json(file: &Path, show_data: bool) -> Value {
    let mut cmd = Command::new("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-show_streams",
        "-show_packets",
        "-of",
        "json",
    ]);
    if show_data {
        cmd.arg("-show_data");
    }
    serde_json::from_slice(&run(cmd.arg(file))).unwrap()
}

/// Decodes ffprobe's `-show_data` hex dump (`00000000: 0000 0002 0910 ...  ascii`).
fn hexdump(dump: &str) -> Bytes {
    let mut out = BytesMut::new();
    for line in dump.lines().filter(|l| !l.trim().is_empty()) {
        let (_, rest) = line.split_once(": ").unwrap();
        let hex_part = rest.split_once("  ").map_or(rest, |(h, _)| h);
        for group in hex_part.split_whitespace() {
            for pair in group.as_bytes().chunks(2) {
                out.put_u8(u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap());
            }
        }
    }
    out.freeze()
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_str()
        .map_or_else(|| v[key].as_i64().unwrap(), |s| s.parse().unwrap())
}

/// Extradata and packets of the first stream of `file`.
fn source(file: &Path) -> (Bytes, (i64, i64), Vec<SourcePacket>) {
    let json = ffprobe_json(file, true);
    let stream = &json["streams"][0];
    let extradata = hexdump(stream["extradata"].as_str().unwrap());
    let (num, den) = stream["time_base"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap();
    let packets = json["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| SourcePacket {
            pts: int(p, "pts"),
            dts: int(p, "dts"),
            duration: int(p, "duration"),
            keyframe: p["flags"].as_str().unwrap().starts_with('K'),
            data: hexdump(p["data"].as_str().unwrap()),
        })
        .collect();
    (
        extradata,
        (num.parse().unwrap(), den.parse().unwrap()),
        packets,
    )
}

/// Muxes `packets` into init + fragments of `per_fragment` samples, converting
/// times from `time_base` into the track's media timescale, starting at dts 0.
/// Returns the file and the expected (pts, dts) of every packet.
fn mux(
    track: &Track,
    time_base: (i64, i64),
    packets: &[SourcePacket],
    per_fragment: usize,
) -> (Vec<u8>, Vec<(i64, i64)>) {
    let scale = i64::from(media_timescale(track));
    let to_media = |t: i64| t * time_base.0 * scale / time_base.1;
    let dts0 = packets[0].dts;
    let mut file = init_segment(track).unwrap().to_vec();
    let mut expected = Vec::new();
    for (n, chunk) in packets.chunks(per_fragment).enumerate() {
        let samples: Vec<Sample> = chunk
            .iter()
            .map(|p| Sample {
                duration: to_media(p.duration) as u32,
                composition_offset: (to_media(p.pts - dts0) - to_media(p.dts - dts0)) as i32,
                keyframe: p.keyframe,
                data: p.data.clone(),
            })
            .collect();
        expected.extend(
            chunk
                .iter()
                .map(|p| (to_media(p.pts - dts0), to_media(p.dts - dts0))),
        );
        let base = to_media(chunk[0].dts - dts0) as u64;
        file.extend_from_slice(&fragment(n as u32 + 1, base, &samples));
    }
    (file, expected)
}

/// ffprobe reads our file back: returns its first stream and (pts, dts) per packet.
fn probe_ours(name: &str, file: &[u8]) -> (Value, Vec<(i64, i64)>) {
    let path = temp_dir(name).join("out.mp4");
    std::fs::write(&path, file).unwrap();
    let json = ffprobe_json(&path, false);
    let packets = json["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (int(p, "pts"), int(p, "dts")))
        .collect();
    (json["streams"][0].clone(), packets)
}

#[test]
fn ffprobe_reads_h264_with_b_frames() {
    if !tools_present() {
        return;
    }
    let dir = temp_dir("h264-src");
    let src = dir.join("src.mp4");
    run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
        ])
        .args([
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-bf",
            "2",
            "-g",
            "25",
        ])
        .arg(&src));
    let (extradata, time_base, packets) = source(&src);
    assert_eq!(packets.len(), 50);
    let codec = CodecConfig::H264(AvcConfig::parse(extradata).unwrap());
    let track = Track {
        id: 0,
        codec,
        timescale: 90_000,
        language: None,
        name: None,
    };
    let (file, expected) = mux(&track, time_base, &packets, 10);
    let (stream, got) = probe_ours("h264", &file);
    assert_eq!(stream["codec_name"], "h264");
    assert_eq!(stream["profile"], "High");
    assert_eq!(
        (stream["width"].as_i64(), stream["height"].as_i64()),
        (Some(320), Some(240))
    );
    assert_eq!(stream["time_base"], "1/90000");
    assert_eq!(got.len(), packets.len(), "packet count");
    assert_eq!(got, expected, "pts/dts per packet");
    assert!(
        got.iter().any(|(pts, dts)| pts != dts),
        "B-frames give composition offsets"
    );
    assert!(
        got.windows(2).any(|w| w[1].0 < w[0].0),
        "pts out of decode order (B-frames)"
    );
}

#[test]
fn ffprobe_reads_aac() {
    if !tools_present() {
        return;
    }
    let dir = temp_dir("aac-src");
    let src = dir.join("src.mp4");
    run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
        ])
        .args(["-ac", "2", "-t", "1", "-c:a", "aac"])
        .arg(&src));
    let (extradata, time_base, packets) = source(&src);
    let codec = CodecConfig::Aac(AacConfig::parse(extradata).unwrap());
    let track = Track {
        id: 0,
        codec,
        timescale: 48_000,
        language: Some("eng".into()),
        name: None,
    };
    let (file, expected) = mux(&track, time_base, &packets, 8);
    let (stream, got) = probe_ours("aac", &file);
    assert_eq!(stream["codec_name"], "aac");
    assert_eq!(stream["profile"], "LC");
    assert_eq!(stream["sample_rate"], "48000");
    assert_eq!(stream["channels"].as_i64(), Some(2));
    assert_eq!(stream["tags"]["language"], "eng");
    assert_eq!(got, expected);
}

/// Encodes 1 s of test media with ffmpeg (`args` select the encoder), muxes it with
/// `make_codec(extradata)` and checks ffprobe's stream fields and every pts/dts.
fn round_trip(
    name: &str,
    input: &str,
    args: &[&str],
    make_codec: impl Fn(Bytes) -> CodecConfig,
) -> Value {
    let src = temp_dir(&format!("{name}-src")).join("src.mp4");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", input, "-t", "1"])
        .args(args)
        .arg(&src));
    let (extradata, time_base, packets) = source(&src);
    let track = Track {
        id: 0,
        codec: make_codec(extradata),
        timescale: 90_000,
        language: None,
        name: None,
    };
    let (file, expected) = mux(&track, time_base, &packets, 7);
    let (stream, got) = probe_ours(name, &file);
    assert_eq!(got, expected, "{name}: pts/dts per packet");
    stream
}

#[test]
fn ffprobe_reads_hevc_av1_vp9_opus() {
    if !tools_present() {
        return;
    }
    let video = "testsrc=size=320x240:rate=25";
    let s = round_trip(
        "hevc",
        video,
        &[
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
        ],
        |x| CodecConfig::H265(crate::codec::hevc::HevcConfig::parse(x).unwrap()),
    );
    assert_eq!(
        (s["codec_name"].as_str(), s["codec_tag_string"].as_str()),
        (Some("hevc"), Some("hvc1"))
    );
    assert_eq!(
        (s["width"].as_i64(), s["height"].as_i64()),
        (Some(320), Some(240))
    );
    let s = round_trip(
        "av1",
        video,
        &["-pix_fmt", "yuv420p", "-c:v", "libsvtav1"],
        |x| CodecConfig::Av1(crate::codec::av1::Av1Config::parse(x).unwrap()),
    );
    assert_eq!(
        (
            s["codec_name"].as_str(),
            s["width"].as_i64(),
            s["height"].as_i64()
        ),
        (Some("av1"), Some(320), Some(240))
    );
    let s = round_trip(
        "vp9",
        video,
        &[
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
        ],
        |_| {
            // The MP4 demuxer does not export vpcC as extradata: use a record ffmpeg wrote.
            let mut c = crate::codec::vp9::Vp9Config::parse(Bytes::from_static(&[
                0, 0x15, 0x82, 2, 2, 2, 0, 0,
            ]))
            .unwrap();
            c.set_dimensions(320, 240, None);
            CodecConfig::Vp9(c)
        },
    );
    assert_eq!(
        (
            s["codec_name"].as_str(),
            s["width"].as_i64(),
            s["height"].as_i64()
        ),
        (Some("vp9"), Some(320), Some(240))
    );
    let s = round_trip(
        "opus",
        "sine=frequency=440:sample_rate=48000",
        &["-ac", "2", "-c:a", "libopus"],
        |x| {
            // The MP4 demuxer exports dOps as an OpusHead: the conversion is exercised too.
            CodecConfig::Opus(crate::codec::opus::OpusConfig::parse(x).unwrap())
        },
    );
    assert_eq!(
        (
            s["codec_name"].as_str(),
            s["sample_rate"].as_str(),
            s["channels"].as_i64()
        ),
        (Some("opus"), Some("48000"), Some(2))
    );
}
