//! # Several video and audio tracks in one MPEG-TS stream over SRT
//!
//! ffmpeg encodes the same picture twice (640x360 and 320x180, same 1 s GOP) and two
//! audio tracks tagged `eng` and `spa`, and pushes them as one MPEG-TS program over
//! SRT. Checked:
//! - the multivariant playlist has two variants (RESOLUTION, CODECS, the audio
//!   group) and two audio renditions with BCP 47 languages (`en`, `es`);
//! - the MPD has one video AdaptationSet with two Representations and two audio
//!   AdaptationSets with `lang`;
//! - every rendition's newest init + segment is read by ffprobe with the right
//!   codec and size, and each video segment starts with a key frame;
//! - the two variants list the same media sequence numbers (aligned segments,
//!   so a player can switch between them at any segment boundary).

use std::time::Duration;

use anyhow::{ensure, Result};
use tests::ffprobe;
use tests::http;
use tests::live;
use tests::m3u8;
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::process::Supervised;
use tests::srt::{segments, srt_url, wait};
use tests::tools;

#[test]
fn two_video_and_two_audio_tracks_become_variants_and_renditions() {
    if !tools::require(
        "two_video_and_two_audio_tracks_become_variants_and_renditions",
        &["ffmpeg", "ffprobe"],
    ) {
        return;
    }
    run().unwrap();
}

fn publisher(origin: &Origin, url: &str) -> Result<Supervised> {
    let args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=660:sample_rate=48000",
        "-filter_complex",
        "[0:v]split=2[hi][lo0];[lo0]scale=320:180[lo]",
        "-map",
        "[hi]",
        "-map",
        "[lo]",
        "-map",
        "1:a",
        "-map",
        "2:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-bf",
        "0",
        "-g",
        "30",
        "-keyint_min",
        "30",
        "-sc_threshold",
        "0",
        "-b:v:0",
        "1200k",
        "-b:v:1",
        "300k",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:1",
        "language=spa",
        "-f",
        "mpegts",
        url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    origin.spawn_beside("ffmpeg-multitrack", "ffmpeg", &args)
}

/// The newest init + segment of a rendition, and the media sequence numbers its
/// playlist lists.
fn newest_media(origin: &Origin, channel: &str, rendition: &str) -> Result<(Vec<u8>, Vec<u64>)> {
    let url = origin.live_url(channel, &format!("{rendition}/index.m3u8"));
    let bytes = live::newest_init_and_segment(&url)?;
    let (_, media) = live::fetch_media(&url)?;
    Ok((bytes, media.segments.iter().map(|s| s.msn).collect()))
}

fn run() -> Result<()> {
    let key = unique_key("multi");
    let origin = Origin::start(OriginConfig {
        channels: vec![("multi".into(), key.clone())],
        ..OriginConfig::default()
    })?;
    let _ffmpeg = publisher(
        &origin,
        &srt_url(&origin, &format!("publish/live/{key}"), ""),
    )?;
    wait("three segments", Duration::from_secs(40), || {
        segments(&origin, "multi") >= 3
    })?;

    let master = http::get(&origin.live_url("multi", "master.m3u8"))?.text();
    let playlist = m3u8::parse(&master)?;
    let variants = playlist.variants()?;
    ensure!(variants.len() == 2, "two variants:\n{master}");
    let mut resolutions: Vec<&str> = variants
        .iter()
        .map(|(a, _)| a.get("RESOLUTION").unwrap_or(""))
        .collect();
    resolutions.sort();
    ensure!(
        resolutions == ["320x180", "640x360"],
        "variant resolutions {resolutions:?}:\n{master}"
    );
    for (attrs, _) in &variants {
        ensure!(
            attrs.get("AUDIO") == Some("aud")
                && attrs.req("CODECS")?.contains("avc1.")
                && attrs.req("CODECS")?.contains("mp4a.40.2"),
            "each variant names its codecs and the audio group:\n{master}"
        );
    }
    let audio = playlist.attr_lists("#EXT-X-MEDIA")?;
    let mut languages: Vec<&str> = audio
        .iter()
        .filter(|a| a.get("TYPE") == Some("AUDIO"))
        .filter_map(|a| a.get("LANGUAGE"))
        .collect();
    languages.sort();
    ensure!(
        languages == ["en", "es"],
        "audio languages {languages:?}:\n{master}"
    );

    let mpd = http::get(&origin.live_url("multi", "manifest.mpd"))?.text();
    ensure!(
        mpd.matches("contentType=\"video\"").count() == 1
            && mpd.matches("<Representation id=\"video").count() == 2,
        "one video AdaptationSet with two Representations:\n{mpd}"
    );
    ensure!(
        mpd.contains("contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"en\"")
            && mpd.contains("contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"es\""),
        "two audio AdaptationSets with languages:\n{mpd}"
    );

    let mut video_msns = Vec::new();
    for (rendition, want) in [
        ("video0", Some((640, 360))),
        ("video1", Some((320, 180))),
        ("audio0", None),
        ("audio1", None),
    ] {
        let (bytes, msns) = newest_media(&origin, "multi", rendition)?;
        let probe = ffprobe::probe(&[&bytes])?;
        match want {
            Some((w, h)) => {
                ensure!(
                    probe.str_field("codec_name")? == "h264"
                        && probe.int_field("width")? == w
                        && probe.int_field("height")? == h,
                    "{rendition}: {:?}",
                    probe.streams
                );
                ensure!(
                    probe.packets.first().is_some_and(|p| p.is_key()),
                    "{rendition}: the segment starts with a key frame"
                );
                video_msns.push(msns);
            }
            None => ensure!(
                probe.str_field("codec_name")? == "aac",
                "{rendition}: {:?}",
                probe.streams
            ),
        }
    }
    // Both variants cut at the same boundaries: their newest common segments match.
    let (a, b) = (&video_msns[0], &video_msns[1]);
    let common: Vec<&u64> = a.iter().filter(|m| b.contains(m)).collect();
    ensure!(
        common.len() + 1 >= a.len().min(b.len()),
        "aligned media sequence numbers: {a:?} vs {b:?}"
    );
    Ok(())
}
