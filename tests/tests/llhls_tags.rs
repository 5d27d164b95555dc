//! # Every LL-HLS tag, against draft-pantos-hls-rfc8216bis
//!
//! One origin (1 s segments, 0.25 s parts, 12 s window) with ffmpeg publishing
//! H.264 (1 s GOP, B-frames) + AAC. Once a few segments exist, named checks read
//! the multivariant playlist and both media playlists and hold each tag to the
//! clause that defines it (cited next to each assertion), fetch every URI they
//! name (status, `Cache-Control` per ARCHITECTURE.md "Caching rules",
//! `Content-Type`), check `INDEPENDENT=YES` against the key frames ffprobe sees,
//! and finally ask for a delta update (`_HLS_skip=YES`) once the playlist is longer
//! than the skip boundary.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::ffprobe;
use tests::fixture::LiveFixture;
use tests::http::{self, Response};
use tests::live::fetch_media;
use tests::m3u8::{self, MediaPlaylist};
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const SEGMENT_TARGET: f64 = 1.0;
const PART_TARGET: f64 = 0.25;
const WINDOW: f64 = 12.0;

/// Playlist content types: RFC 8216 §4 (`application/vnd.apple.mpegurl` or
/// `audio/mpegurl`).
fn check_playlist_type(r: &Response) -> Result<()> {
    let ct = r.content_type();
    ensure!(
        ct == "application/vnd.apple.mpegurl" || ct == "audio/mpegurl",
        "{}: content-type {ct:?} (RFC 8216 §4)",
        r.url
    );
    Ok(())
}

/// Media objects: `public, max-age=86400, immutable` (ARCHITECTURE.md caching
/// rules), and an MP4 content type of the rendition's kind (RFC 4337, RFC 8216
/// §3.3 for fMP4 segments).
fn check_media_object(r: &Response, kind: &str) -> Result<()> {
    ensure!(r.status == 200, "{}", r.summary());
    ensure!(
        r.has_directive("public") && r.has_directive("immutable") && r.max_age() == Some(86400),
        "{}: media objects must be `public, max-age=86400, immutable`",
        r.summary()
    );
    let ct = r.content_type();
    ensure!(
        ct == format!("{kind}/mp4") || ct == format!("{kind}/iso.segment"),
        "{}: content-type {ct:?}, expected {kind}/mp4 or {kind}/iso.segment",
        r.url
    );
    ensure!(!r.body.is_empty(), "{}: empty body", r.url);
    Ok(())
}

/// The first box type of an ISO BMFF byte string.
fn first_box(b: &[u8]) -> String {
    b.get(4..8)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default()
}

fn kind_of(rendition: &str) -> &'static str {
    if rendition.starts_with("audio") {
        "audio"
    } else {
        "video"
    }
}

/// The media-playlist checks shared by both renditions.
fn check_media_tags(r: &Response, m: &MediaPlaylist) -> Result<()> {
    check_playlist_type(r)?;
    // ARCHITECTURE.md: media playlists are `public, max-age=` one part target.
    let max_age = r.max_age().context("media playlist without max-age")?;
    ensure!(
        r.has_directive("public") && max_age <= PART_TARGET.ceil() as u64,
        "{}: expected `public, max-age=` ≤ one part target",
        r.summary()
    );
    // §4.4.3.1: every EXTINF, rounded to the nearest integer, ≤ EXT-X-TARGETDURATION.
    for s in &m.segments {
        ensure!(
            (s.duration.round() as u64) <= m.target_duration,
            "seg{} EXTINF {} rounds above EXT-X-TARGETDURATION {} (§4.4.3.1)",
            s.msn,
            s.duration,
            m.target_duration
        );
    }
    ensure!(
        m.target_duration as f64 >= SEGMENT_TARGET,
        "EXT-X-TARGETDURATION {} below the configured segment target",
        m.target_duration
    );
    // §4.4.3.7: EXT-X-PART-INF with PART-TARGET, required when EXT-X-PART is present.
    let part_target = m.part_target.context("EXT-X-PART-INF missing (§4.4.3.7)")?;
    ensure!(
        (part_target - PART_TARGET).abs() < 0.02,
        "PART-TARGET {part_target} differs from part_target_s {PART_TARGET}"
    );
    // §4.4.3.8: EXT-X-SERVER-CONTROL.
    let sc = m
        .server_control
        .as_ref()
        .context("EXT-X-SERVER-CONTROL missing (§4.4.3.8)")?;
    ensure!(
        sc.get("CAN-BLOCK-RELOAD") == Some("YES"),
        "CAN-BLOCK-RELOAD=YES missing: {sc}"
    );
    let phb = sc.f64("PART-HOLD-BACK")?;
    ensure!(
        phb >= 3.0 * part_target - 1e-3,
        "PART-HOLD-BACK {phb} < 3 × PART-TARGET {part_target} (§4.4.3.8)"
    );
    let skip_until = sc.f64("CAN-SKIP-UNTIL")?;
    ensure!(
        skip_until >= 6.0 * m.target_duration as f64,
        "CAN-SKIP-UNTIL {skip_until} < 6 × target duration {} (§4.4.3.8)",
        m.target_duration
    );
    if let Some(hb) = sc.get("HOLD-BACK") {
        let hb: f64 = hb.parse()?;
        ensure!(
            hb >= 3.0 * m.target_duration as f64,
            "HOLD-BACK {hb} < 3 × target (§4.4.3.8)"
        );
    }
    // §4.4.4.5: EXT-X-MAP for fMP4.
    ensure!(
        m.map_uri.is_some(),
        "EXT-X-MAP missing (§4.4.4.5, fMP4 needs it)"
    );
    // §4.4.4.6: PROGRAM-DATE-TIME (the issue requires it; latency is measured by it).
    ensure!(
        m.playlist.has("#EXT-X-PROGRAM-DATE-TIME"),
        "EXT-X-PROGRAM-DATE-TIME missing"
    );
    ensure!(
        m.segments.iter().all(|s| s.pdt.is_some()),
        "segments before the first EXT-X-PROGRAM-DATE-TIME"
    );
    // §4.4.5.3: EXT-X-PRELOAD-HINT TYPE=PART with a URI.
    let hint = m
        .preload_hints
        .iter()
        .find(|a| a.get("TYPE") == Some("PART"))
        .context("EXT-X-PRELOAD-HINT TYPE=PART missing (§4.4.5.3)")?;
    ensure!(
        hint.is_quoted("URI"),
        "preload hint URI must be a quoted-string: {hint}"
    );
    ensure!(!m.endlist, "live playlist has EXT-X-ENDLIST");
    ensure!(
        !m.all_parts().is_empty(),
        "no EXT-X-PART in a low-latency playlist (§4.4.4.9)"
    );
    Ok(())
}

/// Parts: durations (§4.4.4.9) and INDEPENDENT=YES at segment starts.
fn check_parts(m: &MediaPlaylist, rendition: &str) -> Result<()> {
    let pt = m.part_target.context("no PART-TARGET")?;
    for s in &m.segments {
        let Some(last) = s.parts.len().checked_sub(1) else {
            continue; // segments older than the part window carry no parts
        };
        for (i, p) in s.parts.iter().enumerate() {
            // §4.4.4.9: a part's DURATION MUST be ≤ the Part Target Duration
            // (1 ms of slack for decimal printing).
            ensure!(
                p.duration <= pt + 1e-3,
                "{rendition} {}: DURATION {} > PART-TARGET {pt} (§4.4.4.9)",
                p.uri,
                p.duration
            );
            // §4.4.4.9: every part but the last of its parent segment (and parts
            // with INDEPENDENT=YES) lasts at least 85% of the Part Target Duration.
            if i != last && !p.independent {
                ensure!(
                    p.duration >= 0.85 * pt - 1e-3,
                    "{rendition} {}: DURATION {} < 85% of PART-TARGET {pt} (§4.4.4.9)",
                    p.uri,
                    p.duration
                );
            }
        }
        // Segments are cut at key frames, so each one's first part starts with one:
        // §4.4.4.9 INDEPENDENT=YES "if the Partial Segment contains an independent
        // frame".
        ensure!(
            s.parts[0].independent,
            "{rendition} {}: first part of seg{} lacks INDEPENDENT=YES",
            s.parts[0].uri,
            s.msn
        );
        // A segment's parts add up to the segment (§4.4.4.9: parts of a Parent
        // Segment together contain the same media).
        let sum: f64 = s.parts.iter().map(|p| p.duration).sum();
        ensure!(
            (sum - s.duration).abs() <= 0.01 + 0.001 * s.parts.len() as f64,
            "{rendition} seg{}: parts sum to {sum:.4} s, EXTINF {:.4} s",
            s.msn,
            s.duration
        );
    }
    Ok(())
}

#[test]
fn ll_hls_tags_follow_rfc8216bis() {
    if !tools::require("llhls_tags", &["ffmpeg", "ffprobe"]) {
        return;
    }
    let cfg = OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: PART_TARGET,
        window_s: WINDOW,
        ..OriginConfig::default()
    };
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(cfg, &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 4).expect("4 video segments");
    fx.wait_segments("audio0", 4).expect("4 audio segments");
    let master_url = fx.url("master.m3u8");
    let mut checks = Checks::new();

    checks.run(
        "multivariant playlist: STREAM-INF attributes and audio group",
        || {
            let r = http::get(&master_url)?;
            ensure!(r.status == 200, "{}", r.summary());
            check_playlist_type(&r)?;
            // ARCHITECTURE.md: multivariant playlists get a short max-age (≈ one segment).
            let ma = r.max_age().context("multivariant without max-age")?;
            ensure!(
                ma >= 1 && ma <= 2 * SEGMENT_TARGET.ceil() as u64,
                "{}: max-age should be about one segment target",
                r.summary()
            );
            let pl = m3u8::parse(&r.text())?;
            let variants = pl.variants()?;
            ensure!(
                !variants.is_empty(),
                "no EXT-X-STREAM-INF (RFC 8216 §4.3.4.2)"
            );
            let media = pl.attr_lists("#EXT-X-MEDIA")?;
            // §4.4.6.1: EXT-X-MEDIA TYPE=AUDIO with GROUP-ID, NAME and (for a separate
            // rendition) URI.
            let audio = media
                .iter()
                .find(|a| a.get("TYPE") == Some("AUDIO"))
                .context("no EXT-X-MEDIA TYPE=AUDIO (§4.4.6.1)")?;
            let group = audio.req("GROUP-ID")?;
            audio.req("NAME")?;
            let audio_uri = audio.req("URI")?;
            let audio_url = http::resolve(&master_url, audio_uri);
            ensure!(
                audio_url.ends_with("/audio0/index.m3u8"),
                "audio rendition URI {audio_url}"
            );
            for (a, uri) in &variants {
                // §4.4.6.2: BANDWIDTH REQUIRED, AVERAGE-BANDWIDTH, CODECS, RESOLUTION,
                // FRAME-RATE for video, AUDIO naming an EXT-X-MEDIA group.
                let bw = a.u64("BANDWIDTH")?;
                let avg = a.u64("AVERAGE-BANDWIDTH")?;
                ensure!(
                    (50_000..50_000_000).contains(&avg) && bw >= avg,
                    "BANDWIDTH {bw} / AVERAGE-BANDWIDTH {avg} implausible (peak ≥ average)"
                );
                let codecs = a.req("CODECS")?;
                ensure!(a.is_quoted("CODECS"), "CODECS must be a quoted-string");
                let list: Vec<&str> = codecs.split(',').collect();
                ensure!(
                    list.iter().any(|c| c.starts_with("avc1.") && c.len() == 11),
                    "CODECS {codecs:?} lacks avc1.PPCCLL (RFC 6381 §3.3)"
                );
                ensure!(
                    list.contains(&"mp4a.40.2"),
                    "CODECS {codecs:?} lacks mp4a.40.2 (AAC-LC)"
                );
                ensure!(a.get("RESOLUTION") == Some("640x360"), "RESOLUTION in {a}");
                let fr = a.f64("FRAME-RATE")?;
                ensure!((fr - 30.0).abs() < 0.1, "FRAME-RATE {fr}, published at 30");
                ensure!(
                    a.get("AUDIO") == Some(group),
                    "AUDIO={:?} vs group {group}",
                    a.get("AUDIO")
                );
                let vurl = http::resolve(&master_url, uri);
                ensure!(vurl.ends_with("/video0/index.m3u8"), "variant URI {vurl}");
                // BANDWIDTH is measured: compare with what the segments actually weigh.
                let measured = measured_bitrate(&vurl)? + measured_bitrate(&audio_url)?;
                ensure!(
                    avg as f64 > measured / 2.5 && (avg as f64) < measured * 2.5,
                    "AVERAGE-BANDWIDTH {avg} far from the measured {measured:.0} bit/s"
                );
                eprintln!("  variant {uri}: {a} (measured {measured:.0} bit/s)");
            }
            Ok(())
        },
    );

    for rendition in ["video0", "audio0"] {
        let url = fx.media_url(rendition);
        checks.run(&format!("{rendition}: media playlist tags"), || {
            let (r, m) = fetch_media(&url)?;
            check_media_tags(&r, &m)
        });
        checks.run(
            &format!("{rendition}: part durations and INDEPENDENT"),
            || {
                let (_, m) = fetch_media(&url)?;
                check_parts(&m, rendition)
            },
        );
        checks.run(
            &format!("{rendition}: PROGRAM-DATE-TIME tracks the wall clock"),
            || {
                let (_, m) = fetch_media(&url)?;
                let last = m.segments.last().context("no segments")?;
                let end = last.pdt.context("no PDT")? + m3u8::chrono_secs(last.duration);
                let lag = (chrono::Utc::now().fixed_offset() - end).num_milliseconds() as f64 / 1e3;
                // The last complete segment ended less than a segment (+ slack) ago.
                ensure!(
                    (-0.5..=3.0 * SEGMENT_TARGET).contains(&lag),
                    "last segment ends {lag:.3} s before now: PDT is not stamped from arrival time"
                );
                // §4.4.4.6 + contiguity: each PDT = previous PDT + previous EXTINF.
                for w in m.segments.windows(2) {
                    let (a, b) = (&w[0], &w[1]);
                    if let (Some(pa), Some(pb)) = (a.pdt, b.pdt) {
                        let d = (pb - pa).num_milliseconds() as f64 / 1e3 - a.duration;
                        ensure!(
                            d.abs() < 0.25,
                            "PDT of seg{} is {d:+.3} s off seg{} + EXTINF",
                            b.msn,
                            a.msn
                        );
                    }
                }
                Ok(())
            },
        );
    }

    checks.run(
        "rendition reports name the other rendition (§4.4.5.4)",
        || {
            for (this, other) in [("video0", "audio0"), ("audio0", "video0")] {
                let this_url = fx.media_url(this);
                let (_, m) = fetch_media(&this_url)?;
                let (_, o) = fetch_media(&fx.media_url(other))?;
                let rep = m
                    .rendition_reports
                    .iter()
                    .find(|a| {
                        a.get("URI").is_some_and(|u| {
                            http::resolve(&this_url, u).ends_with(&format!("/{other}/index.m3u8"))
                        })
                    })
                    .with_context(|| format!("{this} has no EXT-X-RENDITION-REPORT for {other}"))?;
                let last_msn = rep.u64("LAST-MSN")?;
                let actual = o
                    .last_part()
                    .map(|(msn, _)| msn)
                    .or(o.last_msn())
                    .unwrap_or(0);
                // §4.4.5.4: LAST-MSN is the other rendition's last MSN; the two fetches
                // are a moment apart, so allow one segment of drift.
                ensure!(
                    last_msn + 1 >= actual && last_msn <= actual + 1,
                    "{this}'s report says {other} LAST-MSN={last_msn}, {other} is at {actual}"
                );
                rep.u64("LAST-PART")
                    .context("LAST-PART is required when the rendition has parts (§4.4.5.4)")?;
            }
            Ok(())
        },
    );

    for rendition in ["video0", "audio0"] {
        let url = fx.media_url(rendition);
        checks.run(
            &format!("{rendition}: every URI fetches with the right headers"),
            || {
                let (_, m) = fetch_media(&url)?;
                let kind = kind_of(rendition);
                let init = http::get(&http::resolve(
                    &url,
                    m.map_uri.as_deref().context("no map")?,
                ))?;
                check_media_object(&init, kind)?;
                ensure!(
                    first_box(&init.body) == "ftyp",
                    "init starts with {:?}",
                    first_box(&init.body)
                );
                let mut n = 0;
                for s in &m.segments {
                    let r = http::get(&http::resolve(&url, &s.uri))?;
                    check_media_object(&r, kind)?;
                    n += 1;
                }
                for p in m.all_parts() {
                    let r = http::get(&http::resolve(&url, &p.uri))?;
                    check_media_object(&r, kind)?;
                    let b = first_box(&r.body);
                    ensure!(
                        b == "moof" || b == "styp",
                        "{}: starts with box {b:?}",
                        p.uri
                    );
                    n += 1;
                }
                // The preload-hinted part is held until complete, then 200 (§4.4.5.3).
                let hint = m.preload_part_uri().context("no preload hint")?;
                let r = http::get(&http::resolve(&url, hint))?;
                check_media_object(&r, kind)?;
                ensure!(
                    r.elapsed < Duration::from_secs_f64(4.0 * SEGMENT_TARGET),
                    "hinted part took {:?}",
                    r.elapsed
                );
                // Rendition report URIs are playlists.
                for rep in &m.rendition_reports {
                    let r = http::get(&http::resolve(&url, rep.req("URI")?))?;
                    ensure!(r.status == 200, "{}", r.summary());
                    check_playlist_type(&r)?;
                }
                eprintln!("  {rendition}: {n} segments and parts + init + hint fetched");
                Ok(())
            },
        );
    }

    checks.run(
        "video0: INDEPENDENT=YES exactly on parts that start with a key frame",
        || {
            let url = fx.media_url("video0");
            let (_, m) = fetch_media(&url)?;
            let init = http::get(&http::resolve(
                &url,
                m.map_uri.as_deref().context("no map")?,
            ))?
            .body;
            let seg = m
                .segments
                .iter()
                .rev()
                .find(|s| !s.parts.is_empty())
                .context("no complete segment with parts")?;
            let mut concat = Vec::new();
            for p in &seg.parts {
                let body = http::get(&http::resolve(&url, &p.uri))?.body;
                concat.extend_from_slice(&body);
                let probe = ffprobe::probe(&[&init, &body])?;
                let first = probe.packets.first().context("part without packets")?;
                let has_key = probe.packets.iter().any(|k| k.is_key());
                ensure!(
                    p.independent == first.is_key(),
                    "{}: INDEPENDENT={} but first frame key={} (§4.4.4.9)",
                    p.uri,
                    p.independent,
                    first.is_key()
                );
                if !p.independent {
                    ensure!(
                        !has_key,
                        "{}: has a key frame mid-part but no INDEPENDENT",
                        p.uri
                    );
                }
            }
            // The parts together hold the whole segment's frames.
            let whole = ffprobe::probe(&[&init, &concat])?;
            let seg_body = http::get(&http::resolve(&url, &seg.uri))?.body;
            let seg_probe = ffprobe::probe(&[&init, &seg_body])?;
            ensure!(
                whole.packets.len() == seg_probe.packets.len(),
                "parts of seg{} hold {} frames, the segment {}",
                seg.msn,
                whole.packets.len(),
                seg_probe.packets.len()
            );
            Ok(())
        },
    );

    checks.run(
        "delta update: _HLS_skip=YES gives EXT-X-SKIP (§6.2.5.1, §4.4.5.2)",
        || {
            let url = fx.media_url("video0");
            let started = Instant::now();
            // The full playlist must outgrow the skip boundary first.
            let (full, delta) = wait_for(
                "a playlist longer than CAN-SKIP-UNTIL",
                Duration::from_secs_f64(WINDOW + 20.0),
                Duration::from_millis(500),
                || {
                    let (_, full) = fetch_media(&url)?;
                    let until = full
                        .server_control
                        .as_ref()
                        .context("no SERVER-CONTROL")?
                        .f64("CAN-SKIP-UNTIL")?;
                    if full.total_duration() < until + 2.0 * full.target_duration as f64 {
                        return Ok(None);
                    }
                    let r = http::get(&format!("{url}?_HLS_skip=YES"))?;
                    ensure!(r.status == 200, "{}", r.summary());
                    let delta = m3u8::parse_media(&r.text())?;
                    Ok(Some((full, delta)))
                },
            )?;
            eprintln!("  skip boundary reached after {:?}", started.elapsed());
            ensure!(
                delta.playlist.has("#EXT-X-SKIP"),
                "no EXT-X-SKIP although the playlist ({:.1} s) is longer than CAN-SKIP-UNTIL:\n{}",
                full.total_duration(),
                delta.raw
            );
            ensure!(delta.skipped > 0, "SKIPPED-SEGMENTS=0");
            // §6.2.5.1: a delta update lists the full playlist's tail: the same MSNs
            // name the same URIs (the two fetches are a moment apart, so compare where
            // they overlap, and require that they do).
            let mut overlap = 0;
            for s in &delta.segments {
                if let Some(f) = full.segment(s.msn) {
                    ensure!(
                        f.uri == s.uri,
                        "msn {}: full says {}, delta says {}",
                        s.msn,
                        f.uri,
                        s.uri
                    );
                    overlap += 1;
                }
            }
            ensure!(
                overlap > 0,
                "delta and full playlist share no MSN:\n{}",
                delta.raw
            );
            // §4.4.5.2: skipped segments lie beyond the skip boundary from the end.
            let until = full
                .server_control
                .as_ref()
                .context("no SERVER-CONTROL")?
                .f64("CAN-SKIP-UNTIL")?;
            ensure!(
                delta.total_duration() + 1e-3 >= until - full.target_duration as f64,
                "delta keeps only {:.1} s, less than the skip boundary {until}",
                delta.total_duration()
            );
            // §4.4.3.8: a delta still carries server control and part info.
            ensure!(
                delta.server_control.is_some(),
                "delta lacks EXT-X-SERVER-CONTROL"
            );
            Ok(())
        },
    );

    checks.run("publisher still running", || {
        if !fx.publisher.is_running() {
            bail!("ffmpeg exited: {}", fx.publisher.stderr());
        }
        Ok(())
    });
    checks.finish();
}

/// Bits per second of a rendition's listed complete segments.
fn measured_bitrate(playlist_url: &str) -> Result<f64> {
    let (_, m) = fetch_media(playlist_url)?;
    let mut bytes = 0usize;
    let mut secs = 0.0;
    for s in &m.segments {
        let r = http::get(&http::resolve(playlist_url, &s.uri))?;
        ensure!(r.status == 200, "{}", r.summary());
        bytes += r.body.len();
        secs += s.duration;
    }
    ensure!(secs > 0.0, "no segments to measure");
    Ok(bytes as f64 * 8.0 / secs)
}
