//! # The live ABR ladder (issue 7)
//!
//! ffmpeg publishes 1280×720 at 30 fps (key frames every 2 s, AAC) over RTMP to a
//! channel with the ladder on (`[ladder] live_default = true`, the default ladder
//! 720p / 480p / 360p). The origin must:
//!
//! - list ≥ 4 variants in `master.m3u8` (the source plus three) with `CODECS`,
//!   `RESOLUTION` (the ladder's sizes) and `BANDWIDTH`, and the same renditions in
//!   the MPD;
//! - cut every ladder rendition's segments where it cuts the source: the same
//!   media sequence numbers with the same durations (within a frame);
//! - produce segments ffprobe decodes at the scaled size;
//! - report `ferrocast_ladder_realtime_factor{channel}` (> 0.5: generous, a
//!   2-core box with builds running) and shed nothing at this load.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::edge::sum_samples;
use tests::ffprobe;
use tests::fixture::LiveFixture;
use tests::http;
use tests::live::wait_segments;
use tests::m3u8;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

/// The default ladder: name and size for a 1280×720 source.
const LADDER: [(&str, &str); 3] = [
    ("720p", "1280x720"),
    ("480p", "854x480"),
    ("360p", "640x360"),
];
const SEGMENT_TARGET_S: f64 = 2.0;
/// One frame at 30 fps.
const FRAME_S: f64 = 1.0 / 30.0;

/// The msn → duration map of a media playlist's complete segments.
fn durations(url: &str) -> Result<Vec<(u64, f64)>> {
    let (r, m) = tests::live::fetch_media(url)?;
    ensure!(r.status == 200, "{url}: {}", r.summary());
    Ok(m.segments.iter().map(|s| (s.msn, s.duration)).collect())
}

#[test]
fn live_ladder_renditions_align_with_the_source() {
    if !tools::require("live_ladder", &["ffmpeg", "ffprobe"]) {
        return;
    }
    let cfg = OriginConfig {
        segment_target_s: SEGMENT_TARGET_S,
        part_target_s: 0.5,
        window_s: 30.0,
        extra_toml: "[ladder]\nlive_default = true\nmax_realtime_lag_s = 6.0\n".into(),
        ..OriginConfig::default()
    };
    let opts = PublishOptions {
        size: "1280x720".into(),
        ..PublishOptions::default().with_gop_s(SEGMENT_TARGET_S)
    };
    let mut fx = LiveFixture::start(cfg, &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 3).expect("source segments");
    // The ladder's renditions follow an encoder delay behind.
    for (name, _) in LADDER {
        wait_segments(&fx.media_url(name), 3, Duration::from_secs(60))
            .with_context(|| format!("origin log:\n{}", fx.origin.log()))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
    let mut checks = Checks::new();

    checks.run("master.m3u8 lists the source and 3 ladder variants", || {
        let url = fx.url("master.m3u8");
        let r = http::get(&url)?;
        ensure!(r.status == 200, "{}", r.summary());
        let pl = m3u8::parse(&r.text())?;
        let variants = pl.variants()?;
        ensure!(
            variants.len() >= 4,
            "{} variants:\n{}",
            variants.len(),
            r.text()
        );
        let find = |uri: &str| variants.iter().find(|(_, u)| u == uri).map(|(a, _)| a);
        let source = find("video0/index.m3u8").context("no source variant")?;
        ensure!(source.get("RESOLUTION") == Some("1280x720"), "{source}");
        for (name, size) in LADDER {
            let a = find(&format!("{name}/index.m3u8"))
                .with_context(|| format!("no {name} variant:\n{}", r.text()))?;
            ensure!(a.get("RESOLUTION") == Some(size), "{name}: {a}");
            let codecs = a.req("CODECS")?;
            ensure!(
                codecs.starts_with("avc1.") && codecs.contains("mp4a.40.2"),
                "{name}: CODECS {codecs}"
            );
            let bw = a.u64("BANDWIDTH")?;
            ensure!(
                (100_000..20_000_000).contains(&bw),
                "{name}: BANDWIDTH {bw} is not a measured rate"
            );
            ensure!(
                a.get("AUDIO").is_some(),
                "{name} plays with the source audio: {a}"
            );
        }
        Ok(())
    });

    checks.run("the MPD lists every rendition with its size", || {
        let r = http::get(&fx.url("manifest.mpd"))?;
        ensure!(r.status == 200, "{}", r.summary());
        let text = r.text();
        let doc = roxmltree::Document::parse(&text)?;
        let reps: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("Representation"))
            .collect();
        for (name, size) in LADDER {
            let (w, h) = size.split_once('x').unwrap();
            let rep = reps
                .iter()
                .find(|n| n.attribute("id") == Some(name))
                .with_context(|| format!("no Representation {name}"))?;
            ensure!(
                rep.attribute("width") == Some(w) && rep.attribute("height") == Some(h),
                "{name}: {rep:?}"
            );
            ensure!(rep
                .attribute("codecs")
                .is_some_and(|c| c.starts_with("avc1.")));
            ensure!(rep.attribute("bandwidth").is_some());
        }
        Ok(())
    });

    checks.run(
        "ladder segments have the source's msn and durations",
        || {
            let source = durations(&fx.media_url("video0"))?;
            for (name, _) in LADDER {
                let ladder = durations(&fx.media_url(name))?;
                let mut compared = 0;
                for (msn, d) in &ladder {
                    let Some((_, sd)) = source.iter().find(|(m, _)| m == msn) else {
                        bail!("{name} msn {msn} is not a source msn: {source:?}");
                    };
                    // The ladder's newest segment may be the source's still-open one.
                    if Some(msn) == ladder.last().map(|(m, _)| m) {
                        continue;
                    }
                    ensure!(
                        (d - sd).abs() <= FRAME_S + 1e-6,
                        "{name} msn {msn}: {d} s, source {sd} s"
                    );
                    compared += 1;
                }
                ensure!(compared >= 2, "{name}: only {compared} segments compared");
            }
            Ok(())
        },
    );

    checks.run(
        "ffprobe decodes a ladder segment at the scaled size",
        || {
            let bytes = tests::live::newest_init_and_segment(&fx.media_url("360p"))?;
            let p = ffprobe::probe(&[&bytes])?;
            ensure!(p.str_field("codec_name")? == "h264", "{:?}", p.streams);
            let size = (p.int_field("width")?, p.int_field("height")?);
            ensure!(size == (640, 360), "360p decodes as {size:?}");
            ensure!(
                p.packets.first().is_some_and(|k| k.is_key()),
                "starts with a key frame"
            );
            ensure!(p.packets.len() >= 30, "{} packets", p.packets.len());
            Ok(())
        },
    );

    checks.run(
        "the real-time factor is reported and nothing was shed",
        || {
            let channel = fx.channel.clone();
            let metrics = wait_for(
                "ferrocast_ladder_realtime_factor",
                Duration::from_secs(20),
                Duration::from_millis(500),
                || {
                    let text = http::get(&fx.origin.url("/metrics"))?.text();
                    let rtf = sum_samples(
                        &text,
                        "ferrocast_ladder_realtime_factor",
                        &[("channel", &channel)],
                    );
                    Ok((rtf > 0.0).then_some(text))
                },
            )?;
            let labels = [("channel", channel.as_str())];
            let rtf = sum_samples(&metrics, "ferrocast_ladder_realtime_factor", &labels);
            ensure!(rtf > 0.5, "real-time factor {rtf}");
            let active = sum_samples(&metrics, "ferrocast_ladder_renditions_active", &labels);
            let shed = sum_samples(&metrics, "ferrocast_ladder_shed_total", &labels);
            ensure!(
                active == 3.0 && shed == 0.0,
                "active {active}, shed {shed} (rtf {rtf})"
            );
            let seconds = sum_samples(&metrics, "ferrocast_ladder_encode_seconds_total", &labels);
            ensure!(seconds > 0.0, "encode seconds {seconds}");
            eprintln!("live ladder: real-time factor {rtf:.2}");
            Ok(())
        },
    );

    checks.run("the publisher and the origin are still fine", || {
        ensure!(
            fx.publisher.is_running(),
            "ffmpeg: {}",
            fx.publisher.stderr()
        );
        ensure!(fx.origin.is_running(), "origin exited");
        Ok(())
    });
    checks.finish();
}
