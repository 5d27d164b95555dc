//! VOD end to end: tus upload → probe → ladder transcode → CMAF VOD (HLS + static
//! DASH, same segments) → thumbnails → `ready`, judged by ffprobe; bad uploads fail
//! with a reason while the origin keeps serving; a restart mid-transcode finishes
//! the job.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tests::checks::{wait_until, Checks};
use tests::ffprobe::{format_duration, probe_url};
use tests::http;
use tests::origin::{Origin, OriginConfig};
use tests::tools;
use tests::vod::{asset_of_upload, make_clip, tus_upload, wait_settled, Clip};

const ADMIN_KEY: &str = "vod-test-admin-key";

/// A small ladder so the tests stay quick on two cores.
fn config(preset: &str) -> OriginConfig {
    OriginConfig {
        extra_toml: format!(
            "[api]\nadmin_keys = [{ADMIN_KEY:?}]\n\n\
             [ladder]\npreset = {preset:?}\naudio_bitrate_kbps = 96\n\
             renditions = [\n  {{ name = \"360p\", height = 360, bitrate_kbps = 700 }},\n  \
             {{ name = \"240p\", height = 240, bitrate_kbps = 400 }},\n  \
             {{ name = \"144p\", height = 144, bitrate_kbps = 200 }},\n]\n"
        ),
        ..OriginConfig::default()
    }
}

fn extinfs(playlist: &str) -> Vec<f64> {
    playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect()
}

fn get_ok(origin: &Origin, path: &str) -> Result<http::Response> {
    let r = http::get(&origin.url(path))?;
    if r.status != 200 {
        bail!("GET {path}: {}", r.status);
    }
    Ok(r)
}

#[test]
fn upload_becomes_a_ladder_in_hls_and_dash_with_thumbnails() -> Result<()> {
    if !tools::require("vod", &["ffmpeg", "ffprobe"]) {
        return Ok(());
    }
    let origin = Origin::start(config("ultrafast"))?;
    let clip = origin.dir().join("clip.mp4");
    make_clip(
        &clip,
        Clip {
            seconds: 12,
            video: Some((640, 360)),
            audio: true,
        },
    )?;
    tus_upload(&origin, ADMIN_KEY, &clip, "Harbour sunrise", 256 * 1024)?;
    let id = asset_of_upload(&origin, ADMIN_KEY, "Harbour sunrise")?;
    let asset = wait_settled(&origin, ADMIN_KEY, &id, Duration::from_secs(180))?;
    let mut checks = Checks::new();
    checks.run("asset is ready with media facts", || {
        if asset["status"] != "ready" {
            bail!("{asset}");
        }
        let d = asset["duration_s"].as_f64().context("duration")?;
        if (d - 12.0).abs() > 0.5 {
            bail!("duration {d}");
        }
        if asset["width"] != 640 || asset["height"] != 360 {
            bail!("resolution {} x {}", asset["width"], asset["height"]);
        }
        let codecs = asset["codecs"].as_str().unwrap_or_default();
        if !codecs.contains("avc1.") || !codecs.contains("mp4a.40.2") {
            bail!("codecs {codecs}");
        }
        Ok(())
    });
    let master = get_ok(&origin, &format!("/vod/{id}/master.m3u8"))?.text();
    checks.run("multivariant lists every rendition", || {
        let variants: Vec<&str> = master
            .lines()
            .filter(|l| l.starts_with("#EXT-X-STREAM-INF:"))
            .collect();
        if variants.len() != 3 {
            bail!("{master}");
        }
        for (v, res) in variants.iter().zip(["640x360", "426x240", "256x144"]) {
            if !v.contains(&format!("RESOLUTION={res}"))
                || !v.contains("CODECS=\"avc1.")
                || !v.contains("BANDWIDTH=")
            {
                bail!("variant {v} (want {res})");
            }
        }
        Ok(())
    });
    checks.run("segment boundaries match across renditions", || {
        // Variant URI lines, and the audio rendition's `URI="…"` attribute.
        let uris: Vec<String> = master
            .lines()
            .filter_map(|l| match l.split_once("URI=\"") {
                Some((_, rest)) => rest.split('"').next().map(str::to_owned),
                None => l.ends_with("index.m3u8").then(|| l.to_owned()),
            })
            .collect();
        let mut lists = Vec::new();
        for u in &uris {
            let p = get_ok(&origin, &format!("/vod/{id}/{u}"))?.text();
            if !p.contains("#EXT-X-PLAYLIST-TYPE:VOD") || !p.trim_end().ends_with("#EXT-X-ENDLIST")
            {
                bail!("{u} is not a VOD playlist:\n{p}");
            }
            lists.push((u.clone(), extinfs(&p)));
        }
        let (first, reference) = &lists[0];
        for (u, l) in &lists[1..] {
            if l.len() != reference.len()
                || l.iter().zip(reference).any(|(a, b)| (a - b).abs() > 0.05)
            {
                bail!("{u} {l:?} vs {first} {reference:?}");
            }
        }
        if lists.len() != 4 {
            bail!("want 3 video + 1 audio playlists, got {uris:?}");
        }
        Ok(())
    });
    checks.run("ffprobe reads every rendition through HLS", || {
        let v = probe_url(
            &origin.url(&format!("/vod/{id}/master.m3u8")),
            "stream=codec_name,width,height:format=duration",
        )?;
        let d: f64 = format_duration(&v)?;
        if (d - 12.0).abs() > 0.5 {
            bail!("duration {d}");
        }
        let heights: Vec<i64> = v["streams"]
            .as_array()
            .context("streams")?
            .iter()
            .filter_map(|s| s["height"].as_i64())
            .collect();
        for h in [360, 240, 144] {
            if !heights.contains(&h) {
                bail!("no {h}p stream in {v}");
            }
        }
        Ok(())
    });
    checks.run("ffprobe reads the static MPD", || {
        let mpd = get_ok(&origin, &format!("/vod/{id}/manifest.mpd"))?.text();
        if !mpd.contains("type=\"static\"") {
            bail!("{mpd}");
        }
        let v = probe_url(
            &origin.url(&format!("/vod/{id}/manifest.mpd")),
            "stream=codec_name,height:format=duration",
        )?;
        let d: f64 = format_duration(&v)?;
        if (d - 12.0).abs() > 0.5 {
            bail!("duration {d}");
        }
        let n = v["streams"].as_array().map_or(0, Vec::len);
        if n != 4 {
            bail!("{n} streams: {v}");
        }
        Ok(())
    });
    checks.run("poster, sprite and WebVTT index", || {
        let poster = get_ok(&origin, &format!("/vod/{id}/poster.jpg"))?;
        if poster.content_type() != "image/jpeg" || !poster.body.starts_with(&[0xff, 0xd8]) {
            bail!("poster {}", poster.summary());
        }
        let vtt = get_ok(&origin, &format!("/vod/{id}/thumbs.vtt"))?.text();
        if !vtt.starts_with("WEBVTT") || !vtt.contains("sprite.jpg#xywh=") {
            bail!("{vtt}");
        }
        get_ok(&origin, &format!("/vod/{id}/sprite.jpg"))?;
        Ok(())
    });
    checks.run("the source is never served", || {
        let r = http::get(&origin.url(&format!("/vod/{id}/source")))?;
        if r.status != 404 {
            bail!("{}", r.status);
        }
        Ok(())
    });
    checks.run("search finds it by a title word", || {
        let (s, v) = http::api_call("GET", &origin.url("/api/v1/assets?q=harbour"), None, None)?;
        let found = v["assets"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["id"] == id.as_str()));
        if s != 200 || !found {
            bail!("{s} {v}");
        }
        Ok(())
    });
    checks.finish();
    Ok(())
}

#[test]
fn bad_uploads_fail_with_a_reason_and_audio_only_works() -> Result<()> {
    if !tools::require("vod", &["ffmpeg", "ffprobe"]) {
        return Ok(());
    }
    let origin = Origin::start(config("ultrafast"))?;
    let junk = origin.dir().join("junk.mp4");
    let mut bytes = vec![0u8; 300_000];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    std::fs::write(&junk, &bytes)?;
    let audio = origin.dir().join("audio.m4a");
    make_clip(
        &audio,
        Clip {
            seconds: 8,
            video: None,
            audio: true,
        },
    )?;
    tus_upload(&origin, ADMIN_KEY, &junk, "junk bytes", 100_000)?;
    tus_upload(&origin, ADMIN_KEY, &audio, "only a tone", 1 << 20)?;
    let junk_id = asset_of_upload(&origin, ADMIN_KEY, "junk bytes")?;
    let audio_id = asset_of_upload(&origin, ADMIN_KEY, "only a tone")?;
    let failed = wait_settled(&origin, ADMIN_KEY, &junk_id, Duration::from_secs(60))?;
    let mut checks = Checks::new();
    checks.run("random bytes fail with a reason", || {
        let reason = failed["reason"].as_str().unwrap_or_default();
        if failed["status"] != "failed" || !reason.contains("not a media file") {
            bail!("{failed}");
        }
        Ok(())
    });
    let ready = wait_settled(&origin, ADMIN_KEY, &audio_id, Duration::from_secs(120))?;
    checks.run("audio-only becomes an audio-only asset", || {
        if ready["status"] != "ready" || ready["codecs"] != "mp4a.40.2" {
            bail!("{ready}");
        }
        let master = get_ok(&origin, &format!("/vod/{audio_id}/master.m3u8"))?.text();
        let v = probe_url(
            &origin.url(&format!("/vod/{audio_id}/master.m3u8")),
            "stream=codec_type:format=duration",
        )?;
        let d: f64 = format_duration(&v)?;
        if (d - 8.0).abs() > 0.5 || master.contains("RESOLUTION") {
            bail!("{master} {v}");
        }
        Ok(())
    });
    checks.run("the origin kept serving", || {
        let r = http::get(&origin.url("/healthz"))?;
        if r.status != 200 || !origin_alive(&origin) {
            bail!("healthz {}", r.status);
        }
        Ok(())
    });
    checks.finish();
    Ok(())
}

fn origin_alive(origin: &Origin) -> bool {
    http::get(&origin.url("/readyz")).is_ok_and(|r| r.status == 200)
}

#[test]
fn a_restart_mid_transcode_finishes_the_job() -> Result<()> {
    if !tools::require("vod", &["ffmpeg", "ffprobe"]) {
        return Ok(());
    }
    // A slower preset and a longer clip, so the restart lands mid-transcode.
    let mut origin = Origin::start(config("medium"))?;
    let clip = origin.dir().join("long.mp4");
    make_clip(
        &clip,
        Clip {
            seconds: 40,
            video: Some((640, 360)),
            audio: true,
        },
    )?;
    tus_upload(&origin, ADMIN_KEY, &clip, "interrupted", 1 << 20)?;
    let id = asset_of_upload(&origin, ADMIN_KEY, "interrupted")?;
    let url = origin.url(&format!("/api/v1/assets/{id}"));
    wait_until(
        "the transcode to make progress",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let (_, v) = http::api_call("GET", &url, Some(ADMIN_KEY), None)?;
            Ok(v["job"]["progress_percent"].as_f64().unwrap_or(0.0) > 5.0
                && v["status"] == "processing")
        },
    )?;
    origin.restart(true)?;
    let asset = wait_settled(&origin, ADMIN_KEY, &id, Duration::from_secs(300))?;
    if asset["status"] != "ready" {
        bail!("after the restart: {asset}");
    }
    let v = probe_url(
        &origin.url(&format!("/vod/{id}/master.m3u8")),
        "format=duration",
    )?;
    let d: f64 = format_duration(&v)?;
    if (d - 40.0).abs() > 0.5 {
        bail!("duration {d}");
    }
    let attempts = asset["job"]["attempts"].as_i64().unwrap_or(0);
    if attempts < 2 {
        bail!("the job ran {attempts} time(s): {asset}");
    }
    Ok(())
}
