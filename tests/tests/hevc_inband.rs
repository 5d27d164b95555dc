//! # Parameter sets inside the samples (ISO/IEC 14496-15 §8.4.1.1.1, §5.4.2.1)
//!
//! Publishers may repeat VPS/SPS/PPS (H.264: SPS/PPS) in key frames. The packager
//! strips copies of the record's, so `hvc1`/`avc1` stays true, and turns a
//! rendition into `hev1` once its samples carry one that differs.
//!
//! - HEVC over Enhanced RTMP, from a hand-made publisher (the bench's
//!   `ertmp-publish` moves parameter sets into the record, and ffmpeg 5.1 cannot
//!   publish HEVC over RTMP): libx265 with `repeat-headers=1:aud=1` makes clip A,
//!   and clip B differs only in `cbqpoffs` (so its PPS differs). The record is A's.
//!   Playing A: `init.mp4` is `hvc1` (ffprobe's `codec_tag_string`), CODECS
//!   `hvc1.`, no parameter set in the segments, every frame decodes. Then B: a new
//!   `init-v1.mp4` that ffprobe reads as `hev1`, CODECS `hev1.`, B's PPS inside the
//!   segments, and ffmpeg decodes them without an error (it must use B's PPS).
//! - H.264 from ffmpeg (libx264 `repeat-headers=1`, FLV `-c copy` over RTMP):
//!   `avc1`, and the SPS of the `avcC` never appears in a segment.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::ffprobe;
use tests::http;
use tests::live::{fetch_media, wait_segments};
use tests::m3u8;
use tests::origin::{Origin, OriginConfig};
use tests::rtmp_raw;
use tests::tools;

const X265: &str =
    "log-level=error:keyint=30:min-keyint=30:scenecut=0:bframes=0:repeat-headers=1:aud=1";
const FPS: u64 = 30;
/// RTMP chunk size this publisher announces.
const CHUNK: usize = 4096;

fn ffmpeg(args: &[&str]) -> Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .context("run ffmpeg")?;
    ensure!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// 3 s of 640x360 HEVC in Annex B with `extra` x265 parameters.
fn hevc_clip(dir: &Path, name: &str, extra: &str) -> Result<Vec<u8>> {
    let out = dir.join(name);
    let params = format!("{X265}{extra}");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-t",
        "3",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        &params,
        "-pix_fmt",
        "yuv420p",
        "-f",
        "hevc",
        out.to_str().context("utf-8 path")?,
    ])?;
    Ok(std::fs::read(out)?)
}

fn nal_type(nal: &[u8]) -> u8 {
    (nal[0] >> 1) & 0x3f
}

/// NAL units of Annex B bytes (start codes and trailing zero bytes removed).
fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |n| n - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        if end > s + 1 {
            out.push(&data[s..end]);
        }
    }
    out
}

/// One access unit: key (IRAP), and the sample (4-byte lengths, AUD left out,
/// parameter sets kept).
struct Au {
    key: bool,
    sample: Vec<u8>,
}

/// Access units of an x265 `aud=1` stream, and its first VPS, SPS and PPS.
fn access_units(data: &[u8]) -> (Vec<Au>, [Vec<u8>; 3]) {
    let mut aus: Vec<Au> = Vec::new();
    let mut sets: [Vec<u8>; 3] = Default::default();
    for nal in nal_units(data) {
        let t = nal_type(nal);
        if t == 35 {
            aus.push(Au {
                key: false,
                sample: Vec::new(),
            });
            continue;
        }
        if (32..=34).contains(&t) && sets[usize::from(t - 32)].is_empty() {
            sets[usize::from(t - 32)] = nal.to_vec();
        }
        if let Some(au) = aus.last_mut() {
            au.key |= (16..=23).contains(&t);
            au.sample
                .extend_from_slice(&(nal.len() as u32).to_be_bytes());
            au.sample.extend_from_slice(nal);
        }
    }
    (aus, sets)
}

/// Removes emulation prevention bytes (H.265 §7.4.2).
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    for &b in nal {
        if b == 3 && out.ends_with(&[0, 0]) {
            continue;
        }
        out.push(b);
    }
    out
}

/// An HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) for 8-bit 4:2:0,
/// one temporal layer, 4-byte NAL lengths; arrays complete (as for `hvc1`).
fn hvcc(sets: &[Vec<u8>; 3]) -> Vec<u8> {
    let sps = rbsp(&sets[1][2..]);
    let mut r = vec![1];
    r.extend_from_slice(&sps[1..13]); // general_profile_tier_level
    r.extend_from_slice(&[0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 3]);
    for (i, nal) in sets.iter().enumerate() {
        r.push(0x80 | (32 + i as u8));
        r.extend_from_slice(&1u16.to_be_bytes());
        r.extend_from_slice(&(nal.len() as u16).to_be_bytes());
        r.extend_from_slice(nal);
    }
    r
}

fn amf_string(out: &mut Vec<u8>, s: &str) {
    out.push(2);
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn amf_number(out: &mut Vec<u8>, n: f64) {
    out.push(0);
    out.extend_from_slice(&n.to_be_bytes());
}

/// A publisher that writes RTMP without reading replies (a thread drains them).
struct Rtmp {
    s: TcpStream,
}

impl Rtmp {
    /// Connects, publishes `key` on stream 1 (the origin's first createStream id).
    fn publish(origin: &Origin, key: &str) -> Result<Self> {
        let url = origin.rtmp_url(key);
        let addr = url
            .trim_start_matches("rtmp://")
            .split('/')
            .next()
            .context("rtmp url")?
            .parse()?;
        let mut s = rtmp_raw::connect(addr)?;
        rtmp_raw::handshake(&mut s)?;
        let mut drain = s.try_clone()?;
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while matches!(drain.read(&mut buf), Ok(n) if n > 0) {}
        });
        s.set_read_timeout(None)?;
        s.write_all(&rtmp_raw::set_chunk_size(CHUNK as u32))?;
        let mut p = Self { s };
        let mut connect = Vec::new();
        amf_string(&mut connect, "connect");
        amf_number(&mut connect, 1.0);
        connect.push(3); // object
        for (k, v) in [("app", "live"), ("tcUrl", url.rsplit_once('/').unwrap().0)] {
            connect.extend_from_slice(&(k.len() as u16).to_be_bytes());
            connect.extend_from_slice(k.as_bytes());
            amf_string(&mut connect, v);
        }
        connect.extend_from_slice(&[0, 0, 9]);
        p.send(3, 20, 0, 0, &connect)?;
        let mut create = Vec::new();
        amf_string(&mut create, "createStream");
        amf_number(&mut create, 2.0);
        create.push(5); // null
        p.send(3, 20, 0, 0, &create)?;
        let mut publish = Vec::new();
        amf_string(&mut publish, "publish");
        amf_number(&mut publish, 3.0);
        publish.push(5);
        amf_string(&mut publish, key);
        amf_string(&mut publish, "live");
        p.send(4, 20, 1, 0, &publish)?;
        Ok(p)
    }

    /// One message: a type-0 chunk, then type-3 continuations (RTMP §5.3.1).
    fn send(&mut self, csid: u8, type_id: u8, stream: u32, ts: u32, body: &[u8]) -> Result<()> {
        let mut out = vec![csid];
        out.extend_from_slice(&ts.min(0xff_ffff).to_be_bytes()[1..]);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.push(type_id);
        out.extend_from_slice(&stream.to_le_bytes());
        for (i, piece) in body.chunks(CHUNK).enumerate() {
            if i > 0 {
                out.push(0xc0 | csid);
            }
            out.extend_from_slice(piece);
        }
        self.s.write_all(&out)?;
        Ok(())
    }

    /// An Enhanced RTMP video tag body: ExVideoTagHeader with FourCC `hvc1`.
    fn video(&mut self, ts: u32, key: bool, packet_type: u8, payload: &[u8]) -> Result<()> {
        let frame_type = if key { 1 } else { 2 };
        let mut body = vec![0x80 | (frame_type << 4) | packet_type];
        body.extend_from_slice(b"hvc1");
        if packet_type == 1 {
            body.extend_from_slice(&[0, 0, 0]); // composition time 0
        }
        body.extend_from_slice(payload);
        self.send(6, 9, 1, ts, &body)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Init `init_uri` and the segments of `pl` after index `from`: (init, media).
fn fetch(media_url: &str, init_uri: &str, segs: &[&m3u8::Segment]) -> Result<(Vec<u8>, Vec<u8>)> {
    let init = http::get(&http::resolve(media_url, init_uri))?;
    ensure!(init.status == 200, "{}", init.summary());
    let mut media = Vec::new();
    for s in segs {
        let r = http::get(&http::resolve(media_url, &s.uri))?;
        ensure!(r.status == 200, "{}", r.summary());
        media.extend_from_slice(&r.body);
    }
    Ok((init.body, media))
}

/// What `ffmpeg -v error` says decoding the file (empty: no error).
fn decode_errors(dir: &Path, name: &str, init: &[u8], media: &[u8]) -> Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, [init, media].concat())?;
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()?;
    ensure!(out.status.success(), "ffmpeg failed on {name}");
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}

fn master_codecs(origin: &Origin, channel: &str) -> Result<String> {
    let r = http::get(&origin.live_url(channel, "master.m3u8"))?;
    ensure!(r.status == 200, "{}", r.summary());
    let pl = m3u8::parse(&r.text())?;
    let (a, _) = pl.variants()?.into_iter().next().context("no variant")?;
    Ok(a.req("CODECS")?.to_owned())
}

#[test]
fn hevc_parameter_sets_in_band_are_stripped_or_make_hev1() {
    if !tools::require("hevc_inband", &["ffmpeg", "ffprobe"]) {
        return;
    }
    if !tools::ffmpeg_has_encoder("libx265") {
        eprintln!("SKIPPED hevc_inband: ffmpeg lacks libx265");
        return;
    }
    let origin = Origin::start(OriginConfig::default()).expect("origin start");
    let (channel, key) = origin.config.channels[0].clone();
    let dir = origin.dir().to_path_buf();
    let (a, a_sets) = access_units(&hevc_clip(&dir, "a.h265", "").unwrap());
    let (b, b_sets) = access_units(&hevc_clip(&dir, "b.h265", ":cbqpoffs=4").unwrap());
    assert_eq!((a.len(), b.len()), (90, 90));
    assert!(contains(&a[30].sample, &a_sets[0]), "A repeats its VPS");
    assert_eq!(a_sets[..2], b_sets[..2], "same VPS and SPS");
    assert_ne!(a_sets[2], b_sets[2], "B's PPS differs");

    let mut p = Rtmp::publish(&origin, &key).expect("publish");
    p.video(0, true, 0, &hvcc(&a_sets)).unwrap();
    let ms = |n: usize| (n as u64 * 1000 / FPS) as u32;
    for (n, au) in a.iter().enumerate() {
        p.video(ms(n), au.key, 1, &au.sample).unwrap();
    }
    let media_url = origin.live_url(&channel, "video0/index.m3u8");
    let pl = wait_segments(&media_url, 2, Duration::from_secs(30)).expect("2 segments of A");

    let mut checks = Checks::new();
    checks.run("A: hvc1, no parameter set in the samples, decodes", || {
        let segs: Vec<&m3u8::Segment> = pl.segments.iter().collect();
        let (init, media) = fetch(&media_url, "init.mp4", &segs)?;
        let probe = ffprobe::probe(&[&init, &media])?;
        ensure!(probe.str_field("codec_tag_string")? == "hvc1");
        ensure!(probe.packets.len() == 60, "{} packets", probe.packets.len());
        for set in &a_sets {
            ensure!(!contains(&media, set), "a parameter set left in a sample");
        }
        let errors = decode_errors(&dir, "a.mp4", &init, &media)?;
        ensure!(errors.is_empty(), "{errors}");
        let codecs = master_codecs(&origin, &channel)?;
        ensure!(codecs.starts_with("hvc1."), "CODECS {codecs}");
        Ok(())
    });

    for (n, au) in b.iter().enumerate() {
        p.video(ms(a.len() + n), au.key, 1, &au.sample).unwrap();
    }
    let pl = wait_for(
        "2 segments after the switch",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let (_, m) = fetch_media(&media_url)?;
            let after = m.segments.iter().skip_while(|s| !s.discontinuity).count();
            Ok((after >= 2).then_some(m))
        },
    )
    .expect("B packaged");
    checks.run("B: a new init, hev1, B's PPS in-band, decodes", || {
        ensure!(
            pl.raw.contains("#EXT-X-MAP:URI=\"init-v1.mp4\""),
            "{}",
            pl.raw
        );
        let segs: Vec<&m3u8::Segment> = pl
            .segments
            .iter()
            .skip_while(|s| !s.discontinuity)
            .collect();
        let (init, media) = fetch(&media_url, "init-v1.mp4", &segs)?;
        let probe = ffprobe::probe(&[&init, &media])?;
        ensure!(probe.str_field("codec_tag_string")? == "hev1");
        ensure!(probe.packets.first().is_some_and(|k| k.is_key()));
        ensure!(
            contains(&media, &b_sets[2]),
            "B's PPS is not in the samples"
        );
        let errors = decode_errors(&dir, "b.mp4", &init, &media)?;
        ensure!(errors.is_empty(), "{errors}");
        let codecs = master_codecs(&origin, &channel)?;
        ensure!(codecs.starts_with("hev1."), "CODECS {codecs}");
        let old = http::get(&http::resolve(&media_url, "init.mp4"))?;
        ensure!(contains(&old.body, b"hvc1"), "init.mp4 stays hvc1");
        Ok(())
    });
    drop(p);
    checks.finish();
}

#[test]
fn h264_sps_and_pps_repeated_by_x264_are_stripped() {
    if !tools::require("h264 repeat-headers", &["ffmpeg", "ffprobe"]) {
        return;
    }
    let origin = Origin::start(OriginConfig::default()).expect("origin start");
    let (channel, key) = origin.config.channels[0].clone();
    let flv = origin.dir().join("clip.flv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "30",
        "-bf",
        "0",
        "-x264-params",
        "repeat-headers=1",
        "-f",
        "flv",
        flv.to_str().unwrap(),
    ])
    .unwrap();
    let args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-re",
        "-i",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([flv.display().to_string()])
    .chain(["-c", "copy", "-f", "flv"].iter().map(|s| s.to_string()))
    .chain([origin.rtmp_url(&key)])
    .collect();
    let _publisher = origin
        .spawn_beside("ffmpeg-x264", "ffmpeg", &args)
        .expect("ffmpeg publishes");
    let media_url = origin.live_url(&channel, "video0/index.m3u8");
    let pl = wait_segments(&media_url, 2, Duration::from_secs(30)).expect("2 segments");
    let mut checks = Checks::new();
    checks.run("avc1, the avcC's SPS only in the init", || {
        let segs: Vec<&m3u8::Segment> = pl.segments.iter().collect();
        let (init, media) = fetch(&media_url, "init.mp4", &segs)?;
        let at = init
            .windows(4)
            .position(|w| w == b"avcC")
            .context("no avcC")?;
        let sps_len = usize::from(u16::from_be_bytes([init[at + 10], init[at + 11]]));
        let sps = &init[at + 12..at + 12 + sps_len];
        let source = std::fs::read(&flv)?;
        let repeats = source.windows(sps.len()).filter(|w| w == &sps).count();
        ensure!(repeats >= 3, "the source repeats its SPS ({repeats}×)");
        ensure!(!contains(&media, sps), "an SPS left in a sample");
        let probe = ffprobe::probe(&[&init, &media])?;
        ensure!(probe.str_field("codec_tag_string")? == "avc1");
        let errors = decode_errors(origin.dir(), "avc.mp4", &init, &media)?;
        ensure!(errors.is_empty(), "{errors}");
        let codecs = master_codecs(&origin, &channel)?;
        ensure!(codecs.starts_with("avc1."), "CODECS {codecs}");
        Ok(())
    });
    checks.finish();
}
