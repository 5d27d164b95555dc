//! # HEVC and AV1 over Enhanced RTMP
//!
//! ffmpeg 5.1 cannot publish HEVC or AV1 over RTMP, so ffmpeg only makes the
//! elementary streams (libx265 → Annex B `.h265`, libsvtav1 → `.ivf`, AAC → ADTS)
//! in a temp dir, and the `bench` crate's `ertmp-publish` wraps them into Enhanced
//! RTMP tags (ExVideoTagHeader, FourCC `hvc1` / `av01`: SequenceStart, then
//! CodedFrames) and publishes them to a real origin. Then:
//!
//! - ffprobe reads the packaged `init.mp4` + a segment as hevc / av1 at 640x360,
//!   with the sample entry the CODECS string names (`hvc1`, ISO/IEC 14496-15
//!   §8.4.1; `av01`, AV1-ISOBMFF §2.2);
//! - the multivariant playlist's CODECS has `hvc1.` (ISO/IEC 14496-15 Annex E) or
//!   `av01.` (AV1-ISOBMFF "Codecs Parameter String").
//!
//! The publisher binary is `$FERROCAST_ERTMP_PUBLISH_BIN`, else
//! `target/debug/ertmp-publish`, built with `cargo build -p bench` when missing.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use tests::checks::Checks;
use tests::ffprobe;
use tests::http;
use tests::live::wait_segments;
use tests::m3u8;
use tests::origin::{locate_or_build, Origin, OriginConfig};
use tests::process::Supervised;
use tests::tools;

const SEGMENT_TARGET: f64 = 1.0;
/// Seconds of media encoded once and looped by the publisher.
const CLIP_S: u32 = 4;

/// Runs ffmpeg to make an elementary stream.
fn ffmpeg(args: &[&str]) -> Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .context("run ffmpeg")?;
    ensure!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn make_video(dir: &Path, codec: Codec) -> Result<std::path::PathBuf> {
    let t = CLIP_S.to_string();
    let src = "testsrc2=size=640x360:rate=30";
    match codec {
        Codec::Hevc => {
            let out = dir.join("clip.h265");
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                src,
                "-t",
                &t,
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "keyint=30:min-keyint=30:scenecut=0:log-level=error",
                "-pix_fmt",
                "yuv420p",
                "-f",
                "hevc",
                out.to_str().context("utf-8 path")?,
            ])?;
            Ok(out)
        }
        Codec::Av1 => {
            let out = dir.join("clip.ivf");
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                src,
                "-t",
                &t,
                "-c:v",
                "libsvtav1",
                "-preset",
                "12",
                "-g",
                "30",
                "-pix_fmt",
                "yuv420p",
                "-f",
                "ivf",
                out.to_str().context("utf-8 path")?,
            ])?;
            Ok(out)
        }
    }
}

fn make_audio(dir: &Path) -> Result<std::path::PathBuf> {
    let out = dir.join("clip.aac");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &CLIP_S.to_string(),
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-f",
        "adts",
        out.to_str().context("utf-8 path")?,
    ])?;
    Ok(out)
}

#[derive(Clone, Copy, Debug)]
enum Codec {
    Hevc,
    Av1,
}

impl Codec {
    fn encoder(self) -> &'static str {
        match self {
            Codec::Hevc => "libx265",
            Codec::Av1 => "libsvtav1",
        }
    }
    fn ffprobe_name(self) -> &'static str {
        match self {
            Codec::Hevc => "hevc",
            Codec::Av1 => "av1",
        }
    }
    fn sample_entry(self) -> &'static str {
        match self {
            Codec::Hevc => "hvc1",
            Codec::Av1 => "av01",
        }
    }
}

fn run(codec: Codec) {
    let name = format!("enhanced_rtmp {codec:?}");
    if !tools::require(&name, &["ffmpeg", "ffprobe"]) {
        return;
    }
    if !tools::ffmpeg_has_encoder(codec.encoder()) {
        eprintln!(
            "SKIPPED {name}: ffmpeg lacks {} (Debian's ffmpeg has it)",
            codec.encoder()
        );
        return;
    }
    let publisher_bin = locate_or_build("FERROCAST_ERTMP_PUBLISH_BIN", "bench", "ertmp-publish")
        .map_err(anyhow::Error::msg)
        .expect("the ertmp-publish binary");
    let origin = Origin::start(OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: 0.25,
        ..OriginConfig::default()
    })
    .expect("origin start");
    let (channel, key) = origin.config.channels[0].clone();
    let video = make_video(origin.dir(), codec).expect("encode the video clip");
    let audio = make_audio(origin.dir()).expect("encode the audio clip");
    let publisher = Supervised::spawn(
        "ertmp-publish",
        &publisher_bin,
        &[
            "--url".into(),
            origin.rtmp_url(&key),
            "--video".into(),
            video.display().to_string(),
            "--audio".into(),
            audio.display().to_string(),
            "--fps".into(),
            "30".into(),
            "--loops".into(),
            "5".into(),
        ],
        &[],
        &origin.dir().join("ertmp.stdout.log"),
        &origin.dir().join("ertmp.stderr.log"),
    )
    .expect("start ertmp-publish");
    let media_url = origin.live_url(&channel, "video0/index.m3u8");
    let pl = wait_segments(&media_url, 2, std::time::Duration::from_secs(40))
        .map_err(|e| e.context(format!("ertmp-publish stderr: {}", publisher.stderr())))
        .expect("2 video segments");

    let mut checks = Checks::new();
    checks.run(&format!("{codec:?}: ffprobe reads init + segment"), || {
        let init_uri = pl.map_uri.as_deref().context("no EXT-X-MAP")?;
        let init = http::get(&http::resolve(&media_url, init_uri))?;
        ensure!(init.status == 200, "{}", init.summary());
        let seg = pl.segments.last().context("no segment")?;
        let body = http::get(&http::resolve(&media_url, &seg.uri))?;
        ensure!(body.status == 200, "{}", body.summary());
        let p = ffprobe::probe(&[&init.body, &body.body])?;
        ensure!(
            p.str_field("codec_name")? == codec.ffprobe_name(),
            "codec {}",
            p.str_field("codec_name")?
        );
        ensure!(
            p.str_field("codec_tag_string")? == codec.sample_entry(),
            "sample entry {}, expected {}",
            p.str_field("codec_tag_string")?,
            codec.sample_entry()
        );
        ensure!(
            (p.int_field("width")?, p.int_field("height")?) == (640, 360),
            "{}x{}",
            p.int_field("width")?,
            p.int_field("height")?
        );
        let frames = p.packets.len() as f64;
        ensure!(
            (frames - seg.duration * 30.0).abs() <= 1.5,
            "{frames} frames for EXTINF {:.3}",
            seg.duration
        );
        ensure!(
            p.packets.first().is_some_and(|k| k.is_key()),
            "segment does not start with a key frame"
        );
        Ok(())
    });
    checks.run(&format!("{codec:?}: multivariant CODECS"), || {
        let r = http::get(&origin.live_url(&channel, "master.m3u8"))?;
        ensure!(r.status == 200, "{}", r.summary());
        let pl = m3u8::parse(&r.text())?;
        let variants = pl.variants()?;
        let (a, _) = variants.first().context("no variant")?;
        let codecs = a.req("CODECS")?;
        let prefix = format!("{}.", codec.sample_entry());
        ensure!(
            codecs.split(',').any(|c| c.starts_with(&prefix)),
            "CODECS {codecs:?} lacks {prefix}…"
        );
        ensure!(
            codecs.split(',').any(|c| c == "mp4a.40.2"),
            "CODECS {codecs:?} lacks mp4a.40.2"
        );
        ensure!(a.get("RESOLUTION") == Some("640x360"), "RESOLUTION in {a}");
        Ok(())
    });
    checks.run(&format!("{codec:?}: the AAC track is packaged too"), || {
        let url = origin.live_url(&channel, "audio0/index.m3u8");
        let m = wait_segments(&url, 1, std::time::Duration::from_secs(10))?;
        let init = http::get(&http::resolve(
            &url,
            m.map_uri.as_deref().context("no map")?,
        ))?;
        let seg = http::get(&http::resolve(&url, &m.segments[0].uri))?;
        let p = ffprobe::probe(&[&init.body, &seg.body])?;
        ensure!(
            p.str_field("codec_name")? == "aac",
            "audio codec {}",
            p.str_field("codec_name")?
        );
        Ok(())
    });
    drop(publisher);
    checks.finish();
}

#[test]
fn hevc_over_enhanced_rtmp() {
    run(Codec::Hevc);
}

#[test]
fn av1_over_enhanced_rtmp() {
    run(Codec::Av1);
}
