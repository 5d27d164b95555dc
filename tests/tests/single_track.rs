//! # Audio-only and video-only streams
//!
//! The issue asks for audio-only and video-only publishers to work. ffmpeg
//! publishes one track; the origin must package it alone:
//!
//! - the multivariant playlist names only that media: CODECS lists only its codec
//!   (RFC 8216 §4.3.4.2 / rfc8216bis §4.4.6.2: CODECS lists every format present),
//!   no `RESOLUTION` for audio only, no audio group for video only;
//! - that rendition's playlist advances and its segments read back in ffprobe;
//! - the absent rendition is a 404, not a playlist that never fills.

use anyhow::{ensure, Context, Result};
use tests::checks::Checks;
use tests::ffprobe;
use tests::fixture::LiveFixture;
use tests::http;
use tests::m3u8;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const SEGMENT_TARGET: f64 = 1.0;

/// The playlist URLs a multivariant playlist leads to (variants and renditions).
fn reachable(master_url: &str, pl: &m3u8::Playlist) -> Result<Vec<String>> {
    let mut out: Vec<String> = pl
        .variants()?
        .into_iter()
        .map(|(_, u)| http::resolve(master_url, &u))
        .collect();
    for a in pl.attr_lists("#EXT-X-MEDIA")? {
        if let Some(u) = a.get("URI") {
            out.push(http::resolve(master_url, u));
        }
    }
    Ok(out)
}

fn run(video: bool) {
    let (present, absent, codec) = if video {
        ("video0", "audio0", "h264")
    } else {
        ("audio0", "video0", "aac")
    };
    let name = format!("single_track {present}");
    if !tools::require(&name, &["ffmpeg", "ffprobe"]) {
        return;
    }
    let cfg = OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: 0.25,
        ..OriginConfig::default()
    };
    let opts = PublishOptions {
        video,
        audio: !video,
        ..PublishOptions::default().with_gop_s(SEGMENT_TARGET)
    };
    let mut fx = LiveFixture::start(cfg, &opts).expect("origin + publisher start");
    let m = fx
        .wait_segments(present, 3)
        .expect("3 segments of the only track");
    let master_url = fx.url("master.m3u8");
    let mut checks = Checks::new();

    checks.run(
        &format!("{present} only: multivariant names only it"),
        || {
            let r = http::get(&master_url)?;
            ensure!(r.status == 200, "{}", r.summary());
            let pl = m3u8::parse(&r.text())?;
            let variants = pl.variants()?;
            ensure!(!variants.is_empty(), "no EXT-X-STREAM-INF");
            for (a, _) in &variants {
                let codecs = a.req("CODECS")?;
                let list: Vec<&str> = codecs.split(',').collect();
                if video {
                    ensure!(
                        list.iter().all(|c| c.starts_with("avc1.")),
                        "video-only CODECS {codecs:?}"
                    );
                    ensure!(
                        a.get("AUDIO").is_none(),
                        "video-only variant names an audio group: {a}"
                    );
                    ensure!(a.get("RESOLUTION") == Some("640x360"), "RESOLUTION in {a}");
                } else {
                    ensure!(list == ["mp4a.40.2"], "audio-only CODECS {codecs:?}");
                    ensure!(
                        a.get("RESOLUTION").is_none(),
                        "audio-only variant has RESOLUTION: {a}"
                    );
                }
            }
            let urls = reachable(&master_url, &pl)?;
            ensure!(
                urls.iter()
                    .any(|u| u.ends_with(&format!("/{present}/index.m3u8"))),
                "{present} not reachable from the multivariant playlist: {urls:?}"
            );
            ensure!(
                !urls
                    .iter()
                    .any(|u| u.ends_with(&format!("/{absent}/index.m3u8"))),
                "the absent {absent} is advertised: {urls:?}"
            );
            Ok(())
        },
    );

    checks.run(
        &format!("{present} only: segments read back, {absent} is 404"),
        || {
            let url = fx.media_url(present);
            let init = http::get(&http::resolve(
                &url,
                m.map_uri.as_deref().context("no map")?,
            ))?;
            let seg = m.segments.last().context("no segment")?;
            let body = http::get(&http::resolve(&url, &seg.uri))?;
            ensure!(
                init.status == 200 && body.status == 200,
                "{} / {}",
                init.summary(),
                body.summary()
            );
            let p = ffprobe::probe(&[&init.body, &body.body])?;
            ensure!(
                p.str_field("codec_name")? == codec,
                "codec {}",
                p.str_field("codec_name")?
            );
            ensure!(!p.packets.is_empty(), "no packets");
            let r = http::get(&fx.media_url(absent))?;
            ensure!(r.status == 404, "{}", r.summary());
            Ok(())
        },
    );

    checks.run(
        &format!("{present} only: the playlist keeps advancing"),
        || {
            let last = m.last_msn().context("no segment")?;
            tests::live::wait_msn(
                &fx.media_url(present),
                last + 2,
                std::time::Duration::from_secs(10),
            )?;
            ensure!(
                fx.publisher.is_running(),
                "ffmpeg exited: {}",
                fx.publisher.stderr()
            );
            Ok(())
        },
    );
    checks.finish();
}

#[test]
fn video_only_stream() {
    run(true);
}

#[test]
fn audio_only_stream() {
    run(false);
}
