//! # ertmp-publish — publish ffmpeg-made HEVC or AV1 as Enhanced RTMP
//!
//! ```text
//! ertmp-publish --url rtmp://127.0.0.1:1935/live/KEY --video x.h265|x.hevc|x.ivf|x.obu
//!               [--audio x.aac] [--fps 30] [--fast] [--loops N] [--frames-x]
//! ```
//! Reads the whole elementary stream, builds the hvcC / av1C record
//! (`bench::elementary`), connects with `bench::rtmp_client`, sends
//! `@setDataFrame onMetaData`, the Enhanced RTMP SequenceStart (FourCC `hvc1`
//! or `av01`) and the AAC AudioSpecificConfig, then every access unit as
//! CodedFrames (or CodedFramesX with `--frames-x`) interleaved with the AAC
//! frames by timestamp — paced at real time unless `--fast` — and finally a
//! SequenceEnd. `--loops N` repeats the clip with shifted timestamps.
//! Exits non-zero with the server's status on a rejected publish.

use anyhow::{bail, Context, Result};
use bench::elementary::{adts, av1, hevc, AccessUnit};
use bench::flv_tags::{self, AV01, HVC1};
use bench::rtmp_client::{amf0::Amf0, Publisher};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    video: String,
    audio: Option<String>,
    fps: f64,
    fast: bool,
    loops: u32,
    frames_x: bool,
}

const USAGE: &str =
    "usage: ertmp-publish --url rtmp://HOST:PORT/live/KEY --video FILE(.h265|.hevc|.ivf|.obu) \
[--audio FILE.aac] [--fps 30] [--fast] [--loops N] [--frames-x]";

fn parse_args() -> Result<Args> {
    let mut a = Args {
        url: String::new(),
        video: String::new(),
        audio: None,
        fps: 30.0,
        fast: false,
        loops: 1,
        frames_x: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--video" => a.video = value()?,
            "--audio" => a.audio = Some(value()?),
            "--fps" => a.fps = value()?.parse().context("--fps")?,
            "--loops" => a.loops = value()?.parse().context("--loops")?,
            "--fast" => a.fast = true,
            "--frames-x" => a.frames_x = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if a.url.is_empty() || a.video.is_empty() || a.fps <= 0.0 || a.loops == 0 {
        bail!("{USAGE}");
    }
    Ok(a)
}

/// The video side: FourCC, record, width, height and access units.
type Video = ([u8; 4], Vec<u8>, u32, u32, Vec<AccessUnit>);

fn load_video(path: &str, fps: f64) -> Result<Video> {
    let data = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "h265" | "hevc" | "265" => {
            let s = hevc::read_annex_b(&data, fps)?;
            (HVC1, s.record, s.width, s.height, s.units)
        }
        "ivf" => {
            let s = av1::read_ivf(&data)?;
            (AV01, s.record, s.width, s.height, s.units)
        }
        "obu" => {
            let s = av1::read_obu_file(&data, fps)?;
            (AV01, s.record, s.width, s.height, s.units)
        }
        _ => bail!("{path}: expected .h265/.hevc/.265 (HEVC Annex B) or .ivf/.obu (AV1)"),
    })
}

enum Item<'a> {
    Video(&'a AccessUnit),
    Audio(&'a [u8]),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let (fourcc, record, width, height, units) = load_video(&args.video, args.fps)?;
    if units.is_empty() {
        bail!("{}: no access units", args.video);
    }
    let audio = args.audio.as_deref().map(|p| -> Result<adts::AacStream> {
        let data = std::fs::read(p).with_context(|| format!("reading {p}"))?;
        Ok(adts::read_adts(&data)?)
    });
    let audio = audio.transpose()?;
    let frame_ms = 1000.0 / args.fps;
    let clip_ms = units.last().map_or(0, |u| u.dts_ms) + frame_ms.round() as u64;
    eprintln!(
        "{}: {} {}x{}, {} access units ({} key), {:.2} s{}",
        args.video,
        String::from_utf8_lossy(&fourcc),
        width,
        height,
        units.len(),
        units.iter().filter(|u| u.key).count(),
        clip_ms as f64 / 1000.0,
        audio.as_ref().map_or(String::new(), |a| format!(
            ", AAC {} Hz x{}",
            a.sample_rate, a.channels
        )),
    );

    let mut items: Vec<(u64, Item<'_>)> =
        units.iter().map(|u| (u.dts_ms, Item::Video(u))).collect();
    if let Some(a) = &audio {
        items.extend(
            a.frames
                .iter()
                .filter(|(t, _)| *t < clip_ms)
                .map(|(t, f)| (*t, Item::Audio(&f[..]))),
        );
    }
    items.sort_by_key(|(t, it)| (*t, matches!(it, Item::Video(_))));

    let mut p = Publisher::connect(&args.url).await.context("publishing")?;
    let mut meta = vec![
        ("width".to_string(), Amf0::Number(f64::from(width))),
        ("height".to_string(), Amf0::Number(f64::from(height))),
        ("framerate".to_string(), Amf0::Number(args.fps)),
        (
            "videocodecid".to_string(),
            Amf0::Number(f64::from(u32::from_be_bytes(fourcc))),
        ),
        (
            "encoder".to_string(),
            Amf0::String("ferrocast ertmp-publish".into()),
        ),
    ];
    if let Some(a) = &audio {
        meta.push(("audiocodecid".to_string(), Amf0::Number(10.0)));
        meta.push((
            "audiosamplerate".to_string(),
            Amf0::Number(f64::from(a.sample_rate)),
        ));
        meta.push((
            "audiochannels".to_string(),
            Amf0::Number(f64::from(a.channels)),
        ));
    }
    p.send_metadata(meta).await?;
    p.send_video(0, flv_tags::ex_sequence_start(fourcc, &record))
        .await?;
    if let Some(a) = &audio {
        p.send_audio(0, flv_tags::aac_sequence_header(&a.asc))
            .await?;
    }

    let start = Instant::now();
    let (mut video_sent, mut audio_sent) = (0u64, 0u64);
    for lap in 0..u64::from(args.loops) {
        let offset = lap * clip_ms;
        for (t, item) in &items {
            let ts = t + offset;
            if !args.fast {
                tokio::time::sleep_until((start + Duration::from_millis(ts)).into()).await;
            }
            let ts32 = ts as u32;
            match item {
                Item::Video(u) => {
                    let body = if args.frames_x && u.cts_ms == 0 {
                        flv_tags::ex_coded_frames_x(fourcc, u.key, &u.data)
                    } else {
                        flv_tags::ex_coded_frames(fourcc, u.key, u.cts_ms, &u.data)
                    };
                    p.send_video(ts32, body).await?;
                    video_sent += 1;
                }
                Item::Audio(f) => {
                    p.send_audio(ts32, flv_tags::aac_frame(f)).await?;
                    audio_sent += 1;
                }
            }
        }
    }
    let end_ts = (u64::from(args.loops) * clip_ms) as u32;
    p.send_video(end_ts, flv_tags::ex_sequence_end(fourcc))
        .await?;
    let bytes = p.bytes_sent;
    // Give the server a moment to read the tail before we close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    p.close().await?;
    eprintln!(
        "sent {video_sent} video and {audio_sent} audio messages, {bytes} bytes in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
