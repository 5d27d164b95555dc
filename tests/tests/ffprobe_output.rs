//! # Packaged CMAF, read back by ffprobe
//!
//! ffmpeg publishes H.264 with B-frames (`-bf 3`, 2 s GOP) and AAC 48 kHz to a real
//! `ferrocast-origin`; the test downloads each rendition's `init.mp4` and complete
//! `seg{n}.m4s` and lets ffprobe — a demuxer that shares no code with the origin —
//! say what they contain:
//!
//! - codec, resolution, sample rate: the init segment's sample entry and decoder
//!   configuration (ISO/IEC 14496-15 `avcC`, ISO/IEC 14496-3 AudioSpecificConfig);
//! - B-frames survive: some packets have pts ≠ dts, i.e. the `trun` carries
//!   composition time offsets (ISO/IEC 14496-12 §8.8.8);
//! - the segment starts with a key frame (CMAF, ISO/IEC 23000-19 §7.3.2.2: a CMAF
//!   fragment of a video track starts with a SAP of type 1 or 2), flagged in the
//!   `trun` sample flags;
//! - the packet count and summed durations match the playlist's `EXTINF`;
//! - decode times run on without a hole or overlap from one segment into the next
//!   (`tfdt`, ISO/IEC 14496-12 §8.8.12).

use anyhow::{ensure, Context, Result};
use tests::checks::Checks;
use tests::ffprobe::{self, Probe};
use tests::fixture::LiveFixture;
use tests::http;
use tests::m3u8::MediaPlaylist;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const FPS: f64 = 30.0;
const AAC_FRAME: f64 = 1024.0 / 48_000.0;

fn fetch_ok(url: &str) -> Result<Vec<u8>> {
    let r = http::get(url)?;
    ensure!(r.status == 200, "{}", r.summary());
    Ok(r.body)
}

/// Init, the last complete segment and the one before it, plus that segment's
/// `EXTINF`.
struct Downloaded {
    init: Vec<u8>,
    prev: Vec<u8>,
    seg: Vec<u8>,
    extinf: f64,
    msn: u64,
}

fn download(fx: &LiveFixture, rendition: &str, m: &MediaPlaylist) -> Result<Downloaded> {
    let map = m.map_uri.as_deref().context("no EXT-X-MAP")?;
    let base = fx.media_url(rendition);
    let n = m.segments.len();
    ensure!(n >= 2, "need two complete segments, playlist has {n}");
    let (prev, last) = (&m.segments[n - 2], &m.segments[n - 1]);
    Ok(Downloaded {
        init: fetch_ok(&http::resolve(&base, map))?,
        prev: fetch_ok(&http::resolve(&base, &prev.uri))?,
        seg: fetch_ok(&http::resolve(&base, &last.uri))?,
        extinf: last.duration,
        msn: last.msn,
    })
}

/// Decode times run on without holes or overlaps: each packet's dts is the previous
/// packet's dts plus its duration (ISO/IEC 14496-12 §8.8.12: `tfdt` is the sum of
/// the durations of all earlier samples), across the segment boundary too, and the
/// cadence is the source's (`step` ticks). RTMP timestamps are whole milliseconds,
/// so up to 1 ms of jitter (`den / 1000` ticks) is the input's precision, not a fault.
fn check_continuous_dts(p: &Probe, step: i64, den: i64, what: &str) -> Result<()> {
    let jitter = den / 1000;
    let mut worst = 0i64;
    for w in p.packets.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (da, db) = (a.dts.context("dts")?, b.dts.context("dts")?);
        // ffprobe leaves out the duration of the first AAC packet; assume the cadence.
        let dur = a.duration.unwrap_or(step);
        let hole = db - (da + dur);
        worst = worst.max(hole.abs());
        ensure!(
            hole.abs() <= jitter,
            "{what}: dts {da} + duration {dur} = {}, next dts {db}: a {} of {} ticks \
             (time base 1/{den}; ISO/IEC 14496-12 §8.8.12)",
            da + dur,
            if hole > 0 { "hole" } else { "overlap" },
            hole.abs()
        );
        ensure!(
            (db - da - step).abs() <= jitter,
            "{what}: dts step {} ticks, expected {step} ± {jitter} (constant frame rate source)",
            db - da
        );
    }
    eprintln!("  {what}: largest dts hole/overlap {worst} ticks of 1/{den} s");
    Ok(())
}

/// The stream's time base denominator (e.g. 90000 or 15360).
fn time_base_den(p: &Probe) -> Result<i64> {
    let tb = p.str_field("time_base")?;
    let (num, den) = tb.split_once('/').context("time_base a/b")?;
    ensure!(num == "1", "time_base {tb} (expected 1/N)");
    Ok(den.parse()?)
}

#[test]
fn h264_with_b_frames_and_aac_read_back_by_ffprobe() {
    if !tools::require("ffprobe_output", &["ffmpeg", "ffprobe"]) {
        return;
    }
    let cfg = OriginConfig {
        segment_target_s: 2.0,
        part_target_s: 0.5,
        ..OriginConfig::default()
    };
    // The brief's publisher: 2 s GOP, 3 B-frames.
    let opts = PublishOptions::default();
    let mut fx = LiveFixture::start(cfg, &opts).expect("origin + publisher start");
    let video_pl = fx.wait_segments("video0", 3).expect("3 video segments");
    let audio_pl = fx.wait_segments("audio0", 3).expect("3 audio segments");

    let mut checks = Checks::new();
    checks.run(
        "video0: h264 640x360 with B-frames, key frame first",
        || {
            let d = download(&fx, "video0", &video_pl)?;
            let p = ffprobe::probe(&[&d.init, &d.seg])?;
            ensure!(
                p.streams.len() == 1,
                "CMAF: one track per file; got {}",
                p.streams.len()
            );
            ensure!(
                p.str_field("codec_name")? == "h264",
                "codec {}",
                p.str_field("codec_name")?
            );
            ensure!(
                (p.int_field("width")?, p.int_field("height")?) == (640, 360),
                "resolution {}x{}",
                p.int_field("width")?,
                p.int_field("height")?
            );
            ensure!(
                p.int_field("has_b_frames")? >= 1,
                "has_b_frames = {}: the avcC/SPS lost the reorder depth",
                p.int_field("has_b_frames")?
            );
            // ISO/IEC 14496-12 §8.8.8: composition offsets in trun put pts != dts.
            let reordered = p.packets.iter().filter(|k| k.pts != k.dts).count();
            ensure!(
                reordered > 0,
                "every packet has pts == dts: trun lost the composition time offsets"
            );
            let out_of_order = p.packets.windows(2).filter(|w| w[1].pts < w[0].pts).count();
            ensure!(
                out_of_order > 0,
                "pts never goes backwards in decode order: no B-frames"
            );
            // ISO/IEC 23000-19 §7.3.2.2: a video CMAF fragment starts with a SAP.
            let first = p.packets.first().context("no packets")?;
            ensure!(
                first.is_key(),
                "first packet of seg{} is not a key frame: {first:?}",
                d.msn
            );
            // Frame count vs EXTINF (RFC 8216 §4.4.4.1: EXTINF is the segment's duration).
            let expect = (d.extinf * FPS).round() as i64;
            let got = p.packets.len() as i64;
            ensure!(
                (got - expect).abs() <= 1,
                "seg{}: {got} packets for EXTINF {:.3} s (expected ≈ {expect} at {FPS} fps)",
                d.msn,
                d.extinf
            );
            let sum: f64 = p.packets.iter().filter_map(|k| k.duration_time).sum();
            ensure!(
                (sum - d.extinf).abs() <= 1.5 / FPS,
                "sample durations sum to {sum:.4} s, EXTINF says {:.4} s",
                d.extinf
            );
            eprintln!(
                "  seg{}: {got} packets, {reordered} with pts≠dts, EXTINF {:.3}",
                d.msn, d.extinf
            );
            Ok(())
        },
    );

    checks.run(
        "video0: decode times continue across segments (tfdt)",
        || {
            let d = download(&fx, "video0", &video_pl)?;
            let p = ffprobe::probe(&[&d.init, &d.prev, &d.seg])?;
            let den = time_base_den(&p)?;
            ensure!(
                den % 30 == 0,
                "time base 1/{den} cannot express 30 fps exactly"
            );
            check_continuous_dts(&p, den / 30, den, "video0")
        },
    );

    checks.run("audio0: AAC-LC 48 kHz, frame count matches EXTINF", || {
        let d = download(&fx, "audio0", &audio_pl)?;
        let p = ffprobe::probe(&[&d.init, &d.seg])?;
        ensure!(
            p.streams.len() == 1,
            "CMAF: one track per file; got {}",
            p.streams.len()
        );
        ensure!(
            p.str_field("codec_name")? == "aac",
            "codec {}",
            p.str_field("codec_name")?
        );
        ensure!(
            p.str_field("profile")? == "LC",
            "profile {}",
            p.str_field("profile")?
        );
        ensure!(
            p.int_field("sample_rate")? == 48_000,
            "sample_rate {}",
            p.int_field("sample_rate")?
        );
        ensure!(p.int_field("channels")? >= 1, "no channels");
        let expect = (d.extinf / AAC_FRAME).round() as i64;
        let got = p.packets.len() as i64;
        ensure!(
            (got - expect).abs() <= 1,
            "seg{}: {got} AAC frames for EXTINF {:.4} s (expected ≈ {expect})",
            d.msn,
            d.extinf
        );
        ensure!(
            p.packets.iter().all(|k| k.is_key()),
            "AAC frames must all be sync samples"
        );
        Ok(())
    });

    checks.run(
        "audio0: decode times continue across segments (tfdt)",
        || {
            let d = download(&fx, "audio0", &audio_pl)?;
            let p = ffprobe::probe(&[&d.init, &d.prev, &d.seg])?;
            let den = time_base_den(&p)?;
            ensure!(
                (den * 1024) % 48_000 == 0,
                "audio time base 1/{den} cannot express 1024-sample AAC frames exactly"
            );
            check_continuous_dts(&p, den * 1024 / 48_000, den, "audio0")
        },
    );

    checks.run("publisher still running", || {
        ensure!(
            fx.publisher.is_running(),
            "ffmpeg exited: {}",
            fx.publisher.stderr()
        );
        Ok(())
    });
    checks.finish();
}
