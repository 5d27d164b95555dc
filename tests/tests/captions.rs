//! # CEA-608 captions in H.264 SEI pass through and are announced
//!
//! A test pattern with real CEA-608 roll-up captions on CC1 (ATSC A/53 `cc_data`
//! in SEI, see `tests::captions_fixture`) is published to a real origin twice at
//! once, over SRT (MPEG-TS) and over RTMP (FLV), both `-c copy`; a third channel
//! gets the same pictures with `cc_data` that holds only null pairs (an encoder
//! with nobody captioning). Then:
//!
//! - the captioned channels' `master.m3u8` has one
//!   `EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS` (`GROUP-ID="cc"`, `INSTREAM-ID="CC1"`,
//!   `DEFAULT=YES`, `AUTOSELECT=YES`) and `CLOSED-CAPTIONS="cc"` on the variant, and
//!   the MPD's video AdaptationSet has `Accessibility
//!   schemeIdUri="urn:scte:dash:cc:cea-608:2015" value="CC1=und"`;
//! - the captions survive packaging: init + complete segments of `video0`, read by
//!   ffprobe (decoding every frame) report `closed_captions=1`, and ffmpeg's CEA-608
//!   decoder (`movie=…[out0+subcc]`) reads the caption text back;
//! - the padding-only channel announces nothing: no `CLOSED-CAPTIONS` at all in
//!   its multivariant playlist (not even `NONE`), no `Accessibility` in its MPD.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use roxmltree::Document;
use tests::captions_fixture::{self, CAPTION_TEXT, FPS};
use tests::checks::{wait_for, Checks};
use tests::http;
use tests::live::wait_segments;
use tests::m3u8;
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::process::Supervised;
use tests::tools;

/// Seconds of fixture video; the test is done long before it ends.
const FIXTURE_S: u32 = 25;
/// How long a channel may take to show what is checked.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `ffmpeg -re` copying the H.264 elementary stream `input` to `url` as `format`.
fn push(origin: &Origin, input: &Path, format: &str, url: &str, name: &str) -> Result<Supervised> {
    let rate = FPS.to_string();
    let args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-re",
        "-f",
        "h264",
        "-framerate",
        &rate,
        "-i",
        &input.display().to_string(),
        "-c",
        "copy",
        "-f",
        format,
        url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    origin.spawn_beside(name, "ffmpeg", &args)
}

fn get_text(url: &str) -> Result<String> {
    let r = http::get(url)?;
    ensure!(r.status == 200, "{}", r.summary());
    Ok(r.text())
}

/// The multivariant playlist announces CC1 in group "cc" and the variant uses it.
fn check_master(origin: &Origin, channel: &str) -> Result<()> {
    let text = wait_for(
        &format!("CLOSED-CAPTIONS in {channel}/master.m3u8"),
        TIMEOUT,
        Duration::from_millis(250),
        || {
            let t = get_text(&origin.live_url(channel, "master.m3u8"))?;
            Ok(t.contains("TYPE=CLOSED-CAPTIONS").then_some(t))
        },
    )?;
    let pl = m3u8::parse(&text)?;
    let cc: Vec<m3u8::Attrs> = pl
        .attr_lists("#EXT-X-MEDIA")?
        .into_iter()
        .filter(|a| a.get("TYPE") == Some("CLOSED-CAPTIONS"))
        .collect();
    ensure!(cc.len() == 1, "one caption rendition expected:\n{text}");
    let a = &cc[0];
    for (name, value) in [
        ("GROUP-ID", "cc"),
        ("INSTREAM-ID", "CC1"),
        ("DEFAULT", "YES"),
        ("AUTOSELECT", "YES"),
    ] {
        ensure!(a.get(name) == Some(value), "{name} != {value}:\n{text}");
    }
    ensure!(
        a.is_quoted("INSTREAM-ID") && a.is_quoted("GROUP-ID"),
        "{text}"
    );
    ensure!(
        a.get("URI").is_none(),
        "captions are in-band: no URI\n{text}"
    );
    let variants = pl.variants()?;
    ensure!(!variants.is_empty(), "no variant:\n{text}");
    for (v, uri) in &variants {
        ensure!(
            v.get("CLOSED-CAPTIONS") == Some("cc") && v.is_quoted("CLOSED-CAPTIONS"),
            "variant {uri} lacks CLOSED-CAPTIONS=\"cc\":\n{text}"
        );
    }
    Ok(())
}

/// `(schemeIdUri, value)` of the Accessibility descriptors of the video
/// AdaptationSets of every Period.
fn accessibility(origin: &Origin, channel: &str) -> Result<Vec<(String, String)>> {
    let xml = get_text(&origin.live_url(channel, "manifest.mpd"))?;
    let doc = Document::parse(&xml).context("MPD is not XML")?;
    let mut out = Vec::new();
    let video_sets = doc
        .descendants()
        .filter(|n| n.has_tag_name("AdaptationSet") && n.attribute("contentType") == Some("video"));
    for set in video_sets {
        for a in set.children().filter(|c| c.has_tag_name("Accessibility")) {
            out.push((
                a.attribute("schemeIdUri").unwrap_or_default().to_owned(),
                a.attribute("value").unwrap_or_default().to_owned(),
            ));
        }
    }
    ensure!(
        doc.descendants().any(|n| n.has_tag_name("AdaptationSet")),
        "the MPD has no AdaptationSet yet:\n{xml}"
    );
    Ok(out)
}

fn check_mpd(origin: &Origin, channel: &str) -> Result<()> {
    let acc = accessibility(origin, channel)?;
    ensure!(!acc.is_empty(), "no Accessibility descriptor");
    for (scheme, value) in &acc {
        ensure!(
            scheme == "urn:scte:dash:cc:cea-608:2015" && value == "CC1=und",
            "unexpected descriptor {scheme} = {value}"
        );
    }
    Ok(())
}

/// Writes init + the complete segments of `video0` to `file`.
fn download_video(origin: &Origin, channel: &str, file: &Path) -> Result<usize> {
    let url = origin.live_url(channel, "video0/index.m3u8");
    let m = wait_segments(&url, 3, TIMEOUT)?;
    let map = m.map_uri.as_deref().context("no EXT-X-MAP")?;
    let mut bytes = http::get(&http::resolve(&url, map))?.body;
    for s in &m.segments {
        let r = http::get(&http::resolve(&url, &s.uri))?;
        ensure!(r.status == 200, "{}: {}", s.uri, r.summary());
        bytes.extend_from_slice(&r.body);
    }
    std::fs::write(file, bytes)?;
    Ok(m.segments.len())
}

/// ffprobe decodes every frame and reports whether it saw caption side data.
fn closed_captions_flag(file: &Path) -> Result<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=closed_captions", "-of", "csv=p=0"])
        .arg(file)
        .output()?;
    ensure!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The captions as SubRip, decoded by ffmpeg's CEA-608 decoder from the video's
/// A/53 side data (`movie` source, `subcc` output).
fn caption_text(file: &Path) -> Result<String> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("movie={}[out0+subcc]", file.display()))
        .args(["-map", "0:1", "-f", "srt", "-"])
        .output()?;
    ensure!(
        out.status.success(),
        "ffmpeg subcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check_segments(origin: &Origin, channel: &str, dir: &Path) -> Result<()> {
    let file = dir.join(format!("{channel}.mp4"));
    let n = download_video(origin, channel, &file)?;
    let flag = closed_captions_flag(&file)?;
    ensure!(
        flag == "1",
        "ffprobe closed_captions = {flag:?} over {n} segments"
    );
    let srt = caption_text(&file)?;
    ensure!(
        srt.contains(CAPTION_TEXT),
        "caption text {CAPTION_TEXT:?} not decoded from {n} segments; SubRip:\n{srt}"
    );
    Ok(())
}

#[test]
fn cea608_captions_pass_through_and_are_announced() {
    if !tools::require("captions", &["ffmpeg", "ffprobe"]) {
        return;
    }
    if !tools::ffmpeg_has_encoder("libx264") {
        eprintln!("SKIPPED captions: ffmpeg has no libx264");
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (captioned, padding) = captions_fixture::write_streams(dir.path(), FIXTURE_S).unwrap();
    let (k1, k2, k3) = (
        unique_key("ccsrt"),
        unique_key("ccrtmp"),
        unique_key("nocc"),
    );
    let origin = Origin::start(OriginConfig {
        channels: vec![
            ("ccsrt".into(), k1.clone()),
            ("ccrtmp".into(), k2.clone()),
            ("nocc".into(), k3.clone()),
        ],
        ..OriginConfig::default()
    })
    .unwrap();
    let srt = |key: &str| {
        format!(
            "srt://{}?streamid=publish/live/{key}&pkt_size=1316&latency=200000",
            origin.srt
        )
    };
    let _a = push(&origin, &captioned, "mpegts", &srt(&k1), "cc-srt").unwrap();
    let _b = push(&origin, &captioned, "flv", &origin.rtmp_url(&k2), "cc-rtmp").unwrap();
    let _c = push(&origin, &padding, "mpegts", &srt(&k3), "nocc-srt").unwrap();

    let mut checks = Checks::new();
    for channel in ["ccsrt", "ccrtmp"] {
        checks.run(&format!("{channel}: multivariant announces CC1"), || {
            check_master(&origin, channel)
        });
        checks.run(&format!("{channel}: MPD Accessibility CC1"), || {
            check_mpd(&origin, channel)
        });
        checks.run(
            &format!("{channel}: captions survive in the segments"),
            || check_segments(&origin, channel, dir.path()),
        );
    }
    checks.run("padding-only cc_data announces nothing", || {
        // By now the captioned channels were detected; this one ran as long.
        wait_segments(&origin.live_url("nocc", "video0/index.m3u8"), 3, TIMEOUT)?;
        let master = get_text(&origin.live_url("nocc", "master.m3u8"))?;
        ensure!(!master.contains("CLOSED-CAPTIONS"), "{master}");
        let acc = accessibility(&origin, "nocc")?;
        ensure!(acc.is_empty(), "{acc:?}");
        Ok(())
    });
    eprintln!("captions test took {:.1?}", started.elapsed());
    checks.finish();
}
