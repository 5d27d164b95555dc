//! # Blocking playlist reload and preload hints (rfc8216bis §6.2.5.2, §4.4.5.3)
//!
//! Against a real origin (1 s segments, 0.25 s parts) with ffmpeg publishing:
//!
//! - `_HLS_msn` for a segment not yet complete is held, then answered with a
//!   playlist that contains it; `_HLS_msn` + `_HLS_part` for the hinted part too;
//! - a request for the preload-hinted part's URI is held until the part is
//!   complete, then 200 with the bytes later listed under that URI;
//! - `_HLS_msn` more than two beyond the last segment → 400 at once;
//!   `_HLS_part` without `_HLS_msn` → 400;
//! - parts never hinted, or long gone, → 404 with the `Cache-Control` of
//!   ARCHITECTURE.md's caching rules;
//! - with the publisher gone (and a long reconnect grace, so the stream is not
//!   ended), a blocking request for a future segment → 503 after about three
//!   target durations.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::fixture::LiveFixture;
use tests::http::{self, Response};
use tests::live::fetch_media;
use tests::m3u8::{self, MediaPlaylist};
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const SEGMENT_TARGET: f64 = 1.0;
const PART_TARGET: f64 = 0.25;
/// Short, so that old parts fall out of the window (and the 3-target-duration
/// after-life) within a few seconds.
const WINDOW: f64 = 6.0;

fn config(grace_s: f64) -> OriginConfig {
    OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: PART_TARGET,
        window_s: WINDOW,
        reconnect_grace_s: grace_s,
        ..OriginConfig::default()
    }
}

/// A blocking-reload answer: 200, a media playlist, and the media playlist cache
/// rule (ARCHITECTURE.md: `public, max-age=` one part target).
fn blocking_ok(r: &Response) -> Result<MediaPlaylist> {
    ensure!(r.status == 200, "{}: {}", r.summary(), r.text());
    let ma = r.max_age().context("blocking response without max-age")?;
    ensure!(
        r.has_directive("public") && ma <= PART_TARGET.ceil() as u64,
        "{}: blocking responses are `public, max-age=` one part target",
        r.summary()
    );
    m3u8::parse_media(&r.text())
}

/// An error answer: status `code` and `Cache-Control: no-store`.
fn error_no_store(r: &Response, code: u16) -> Result<()> {
    ensure!(r.status == code, "expected {code}: {}", r.summary());
    ensure!(
        r.has_directive("no-store"),
        "{}: errors are `no-store` (ARCHITECTURE.md caching rules)",
        r.summary()
    );
    Ok(())
}

#[test]
fn blocking_reload_holds_rejects_and_hints() {
    if !tools::require("blocking_reload", &["ffmpeg"]) {
        return;
    }
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(config(10.0), &opts).expect("origin + publisher start");
    let first = fx.wait_segments("video0", 2).expect("2 video segments");
    let first_msn = first.segments[0].msn;
    let url = fx.media_url("video0");
    let td = Duration::from_secs_f64(first.target_duration as f64);
    let mut checks = Checks::new();

    checks.run(
        "_HLS_msn of the segment in progress is held, then contains it",
        || {
            let (_, m) = fetch_media(&url)?;
            let next = m.next_msn();
            let r = http::get(&format!("{url}?_HLS_msn={next}"))?;
            let held = blocking_ok(&r)?;
            // §6.2.5.2: hold "until the Playlist contains a Segment with the specified
            // Media Sequence Number or later".
            ensure!(
                held.contains(next, None),
                "answer to _HLS_msn={next} does not contain seg{next}:\n{}",
                held.raw
            );
            ensure!(
                r.elapsed <= 2 * td + Duration::from_secs(1),
                "held {:?}, more than a segment beyond need",
                r.elapsed
            );
            eprintln!("  _HLS_msn={next}: answered after {:?}", r.elapsed);
            Ok(())
        },
    );

    checks.run("_HLS_msn two ahead is held for at least a segment", || {
        let (_, m) = fetch_media(&url)?;
        let target = m.next_msn() + 1;
        let r = http::get(&format!("{url}?_HLS_msn={target}"))?;
        let held = blocking_ok(&r)?;
        ensure!(
            held.contains(target, None),
            "seg{target} missing:\n{}",
            held.raw
        );
        // seg{target} cannot complete before one whole segment has been produced.
        ensure!(
            r.elapsed >= Duration::from_secs_f64(0.5 * SEGMENT_TARGET),
            "answered after {:?}: the request was not held",
            r.elapsed
        );
        ensure!(
            r.elapsed <= 3 * td + Duration::from_secs(1),
            "held {:?}",
            r.elapsed
        );
        Ok(())
    });

    checks.run(
        "_HLS_msn + _HLS_part of the hinted part is held, then contains it",
        || {
            let (_, m) = fetch_media(&url)?;
            let hint = m
                .preload_part_uri()
                .context("no EXT-X-PRELOAD-HINT TYPE=PART")?;
            let (msn, part) = m3u8::parse_part_uri(hint)?;
            let r = http::get(&format!("{url}?_HLS_msn={msn}&_HLS_part={part}"))?;
            let held = blocking_ok(&r)?;
            // §6.2.5.2: hold until the playlist "contains Partial Segment P of MSN M or later".
            ensure!(
                held.contains(msn, Some(part)),
                "answer lacks part {part} of {msn}:\n{}",
                held.raw
            );
            ensure!(
                r.elapsed <= Duration::from_secs_f64(4.0 * PART_TARGET) + Duration::from_secs(1),
                "held {:?} for one part",
                r.elapsed
            );
            Ok(())
        },
    );

    checks.run(
        "the preload-hinted part's URI is held until complete, then 200",
        || {
            let (_, m) = fetch_media(&url)?;
            let hint = m.preload_part_uri().context("no preload hint")?.to_owned();
            let r = http::get(&http::resolve(&url, &hint))?;
            ensure!(r.status == 200, "{}", r.summary());
            ensure!(
                r.has_directive("immutable") && r.max_age() == Some(86400),
                "{}: a part is immutable",
                r.summary()
            );
            ensure!(
                r.elapsed <= Duration::from_secs_f64(4.0 * PART_TARGET) + Duration::from_secs(1),
                "hinted part took {:?}",
                r.elapsed
            );
            // The bytes are the finished part: once listed, the same URI gives the same
            // bytes (§4.4.5.3: the hint names the resource that will be listed).
            let listed = wait_for(
                "the hinted part to be listed",
                3 * td,
                Duration::from_millis(100),
                || {
                    let (_, m) = fetch_media(&url)?;
                    Ok(m.all_parts().iter().any(|p| p.uri == hint).then_some(()))
                },
            );
            listed?;
            let again = http::get(&http::resolve(&url, &hint))?;
            ensure!(again.status == 200, "{}", again.summary());
            ensure!(
                again.body == r.body,
                "{hint}: held response ({} bytes) differs from the listed part ({} bytes)",
                r.body.len(),
                again.body.len()
            );
            eprintln!("  {hint}: {} bytes after {:?}", r.body.len(), r.elapsed);
            Ok(())
        },
    );

    checks.run("_HLS_msn more than two ahead → 400 at once", || {
        let (_, m) = fetch_media(&url)?;
        let newest = m.last_part().map(|(n, _)| n).unwrap_or(0).max(m.next_msn());
        // §6.2.5.2: "If the _HLS_msn is greater than the Media Sequence Number of
        // the last Media Segment in the current Playlist plus two … the Server
        // SHOULD immediately return Bad Request".
        let r = http::get(&format!("{url}?_HLS_msn={}", newest + 3))?;
        error_no_store(&r, 400)?;
        ensure!(
            r.elapsed < Duration::from_millis(750),
            "400 took {:?}",
            r.elapsed
        );
        let r = http::get(&format!("{url}?_HLS_msn={}", newest + 1000))?;
        error_no_store(&r, 400)
    });

    checks.run("_HLS_part without _HLS_msn → 400", || {
        // §6.2.5.2: _HLS_part without _HLS_msn is a Bad Request.
        let r = http::get(&format!("{url}?_HLS_part=0"))?;
        error_no_store(&r, 400)?;
        ensure!(
            r.elapsed < Duration::from_millis(750),
            "400 took {:?}",
            r.elapsed
        );
        Ok(())
    });

    checks.run("a part never hinted → 404, max-age=1", || {
        let (_, m) = fetch_media(&url)?;
        let uri = format!("part{}.0.m4s", m.next_msn() + 10);
        let r = http::get(&http::resolve(&url, &uri))?;
        ensure!(r.status == 404, "{}", r.summary());
        // ARCHITECTURE.md: "404 for a not-yet-hinted part: max-age=1".
        ensure!(
            r.max_age() == Some(1) && !r.has_directive("no-store"),
            "{}: a not-yet-hinted part's 404 is `max-age=1`",
            r.summary()
        );
        ensure!(
            r.elapsed < Duration::from_millis(750),
            "404 took {:?}",
            r.elapsed
        );
        Ok(())
    });

    checks.run("a part index beyond its finished segment → 404", || {
        let (_, m) = fetch_media(&url)?;
        let s = m.segments.last().context("no segment")?;
        let uri = format!("part{}.{}.m4s", s.msn, s.parts.len() + 5);
        let r = http::get(&http::resolve(&url, &uri))?;
        ensure!(r.status == 404, "{}", r.summary());
        ensure!(
            r.elapsed < Duration::from_millis(750),
            "404 for a part of a finished segment took {:?}",
            r.elapsed
        );
        Ok(())
    });

    checks.run("a part long out of the window → 404, no-store", || {
        // ARCHITECTURE.md: live objects stay fetchable for 3 target durations after
        // leaving the playlist. Wait until seg{first_msn} left it well before that.
        let lag = (3.0 * td.as_secs_f64() / SEGMENT_TARGET).ceil() as u64 + 3;
        wait_for(
            "the first segment to leave the window",
            Duration::from_secs_f64(WINDOW + 20.0),
            Duration::from_millis(250),
            || {
                let (_, m) = fetch_media(&url)?;
                Ok((m.media_sequence > first_msn + lag).then_some(()))
            },
        )?;
        let r = http::get(&http::resolve(&url, &format!("part{first_msn}.0.m4s")))?;
        error_no_store(&r, 404)?;
        let r = http::get(&http::resolve(&url, &format!("seg{first_msn}.m4s")))?;
        ensure!(r.status == 404, "{}", r.summary());
        Ok(())
    });

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

#[test]
fn blocking_reload_times_out_with_503_without_a_publisher() {
    if !tools::require("blocking_reload", &["ffmpeg"]) {
        return;
    }
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    // A long grace: the stream stays live (no EXT-X-ENDLIST) while nothing arrives.
    let mut fx = LiveFixture::start(config(120.0), &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 2).expect("2 video segments");
    fx.publisher.kill().expect("kill ffmpeg");
    // Let the origin notice the drop (and close any segment it closes on a drop).
    std::thread::sleep(Duration::from_millis(1500));
    let url = fx.media_url("video0");
    let (_, m) = fetch_media(&url).expect("playlist after the publisher left");
    assert!(
        !m.endlist,
        "EXT-X-ENDLIST within the reconnect grace:\n{}",
        m.raw
    );
    let next = m.next_msn();
    let td = m.target_duration as f64;
    let started = Instant::now();
    let r = http::get(&format!("{url}?_HLS_msn={next}")).expect("blocking request");
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "  _HLS_msn={next} with no publisher: {} after {took:.2} s",
        r.status
    );
    // §6.2.5.2 / the issue: 503 once the segment has not appeared within three
    // target durations.
    assert_eq!(r.status, 503, "{}", r.summary());
    assert!(
        r.has_directive("no-store"),
        "{}: errors are no-store",
        r.summary()
    );
    assert!(
        took >= 2.5 * td && took <= 3.0 * td + 2.0,
        "503 after {took:.2} s; expected about 3 × target duration ({td} s)"
    );
}
