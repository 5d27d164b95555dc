//! Live to VOD: a channel with `record` on becomes a VOD asset when its stream
//! ends, without re-encoding; the asset plays (ffprobe through HLS and DASH) and
//! its duration matches the live session's to within one segment.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tests::checks::wait_for;
use tests::ffprobe::{format_duration, probe_url};
use tests::http;
use tests::origin::{Origin, OriginConfig};
use tests::publisher::{PublishOptions, Publisher};
use tests::tools;
use tests::vod::wait_settled;

const ADMIN_KEY: &str = "live-to-vod-admin-key";

fn ffprobe_duration(url: &str) -> Result<(f64, usize)> {
    let v = probe_url(url, "format=duration:stream=codec_type")?;
    Ok((
        format_duration(&v)?,
        v["streams"].as_array().map_or(0, Vec::len),
    ))
}

#[test]
fn a_recorded_live_stream_becomes_a_playable_asset_of_the_same_duration() -> Result<()> {
    if !tools::require("live_to_vod", &["ffmpeg", "ffprobe"]) {
        return Ok(());
    }
    let origin = Origin::start(OriginConfig {
        reconnect_grace_s: 2.0,
        extra_toml: format!("[api]\nadmin_keys = [{ADMIN_KEY:?}]\n"),
        ..OriginConfig::default()
    })?;
    let (status, v) = http::api_call(
        "PATCH",
        &origin.url("/api/v1/channels/test"),
        Some(ADMIN_KEY),
        Some(r#"{"record": true}"#),
    )?;
    if status != 200 || v["record"] != true {
        bail!("PATCH record: {status} {v}");
    }
    // 20 s of media with 1 s key frames (segment target 1 s).
    let opts = PublishOptions {
        duration_s: Some(20.0),
        ..PublishOptions::default()
    }
    .with_gop_s(1.0);
    let mut publisher = Publisher::start(
        &origin.rtmp_url(origin.config.key_of("test")),
        &opts,
        origin.dir(),
        "publisher",
    )?;
    let live_segments = wait_for(
        "the live playlist",
        Duration::from_secs(20),
        Duration::from_millis(300),
        || {
            let r = http::get(&origin.live_url("test", "video0/index.m3u8"))?;
            Ok((r.status == 200).then_some(()))
        },
    );
    live_segments?;
    if publisher.wait_exit(Duration::from_secs(60))? != Some(true) {
        bail!("ffmpeg did not finish cleanly: {}", publisher.stderr());
    }
    // The stream ends after the 2 s grace; the asset is made then.
    let id = wait_for(
        "the recorded asset",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || {
            let (_, v) = http::api_call(
                "GET",
                &origin.url("/api/v1/assets?limit=50"),
                Some(ADMIN_KEY),
                None,
            )?;
            Ok(v["assets"]
                .as_array()
                .and_then(|l| {
                    l.iter()
                        .find(|a| a["channel"] == "test" && a["origin"] == "live")
                })
                .and_then(|a| a["id"].as_str().map(str::to_owned)))
        },
    )?;
    let asset = wait_settled(&origin, ADMIN_KEY, &id, Duration::from_secs(60))?;
    if asset["status"] != "ready" {
        bail!("{asset}");
    }
    let duration = asset["duration_s"].as_f64().context("duration")?;
    // The live session: 20 s published; one segment target (1 s) of tolerance.
    if (duration - 20.0).abs() > 1.0 {
        bail!("recorded {duration} s of a 20 s session");
    }
    let (hls_d, hls_streams) = ffprobe_duration(&origin.url(&format!("/vod/{id}/master.m3u8")))?;
    let (dash_d, dash_streams) = ffprobe_duration(&origin.url(&format!("/vod/{id}/manifest.mpd")))?;
    if (hls_d - duration).abs() > 0.2 || (dash_d - duration).abs() > 0.2 {
        bail!("ffprobe: HLS {hls_d} s, DASH {dash_d} s, catalog {duration} s");
    }
    eprintln!("RESULT live-to-VOD: catalog {duration:.3} s, ffprobe HLS {hls_d:.3} s / DASH {dash_d:.3} s of a 20 s session");
    if hls_streams < 2 || dash_streams < 2 {
        bail!("streams: HLS {hls_streams}, DASH {dash_streams}");
    }
    let poster = http::get(&origin.url(&format!("/vod/{id}/poster.jpg")))?;
    if poster.status != 200 {
        bail!("no poster: {}", poster.status);
    }
    // The live channel itself is untouched: it ended normally.
    let master = http::get(&origin.live_url("test", "video0/index.m3u8"))?.text();
    if !master.contains("#EXT-X-ENDLIST") {
        bail!("the live playlist did not end:\n{master}");
    }
    Ok(())
}
