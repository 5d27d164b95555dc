//! # Publisher reconnects and the end of a stream
//!
//! - Within `reconnect_grace_s`: ffmpeg is killed (SIGKILL, like a crash) and a new
//!   ffmpeg publishes with the same key. The same media playlists go on: MSNs keep
//!   increasing with none missing (RFC 8216 §6.2.1: a server MUST NOT change the
//!   MSN of a segment; §6.2.2: the playlist only grows at the end), the new media
//!   comes after `EXT-X-DISCONTINUITY` (§4.4.4.3: timestamps and encoding
//!   changed), no `EXT-X-ENDLIST` appears, and the MPD gains a Period
//!   (ISO/IEC 23009-1 §5.3.2: a new Period for a new timeline).
//! - Without reconnect: after a short grace the playlist ends with
//!   `EXT-X-ENDLIST` (§4.4.3.4), not before the grace is over.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::fixture::LiveFixture;
use tests::http;
use tests::live::{fetch_media, wait_msn};
use tests::monitor::PlaylistMonitor;
use tests::origin::OriginConfig;
use tests::publisher::{PublishOptions, Publisher};
use tests::tools;

const SEGMENT_TARGET: f64 = 1.0;
/// PROGRAM-DATE-TIME is stamped from arrival at ingest, so consecutive dates
/// may differ from date + EXTINF by scheduling jitter; a real gap is a stall of
/// most of a segment.
const PDT_TOLERANCE_S: f64 = 0.25;

fn config(grace_s: f64) -> OriginConfig {
    OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: 0.25,
        window_s: 20.0,
        reconnect_grace_s: grace_s,
        ..OriginConfig::default()
    }
}

fn count_periods(mpd: &str) -> Result<usize> {
    let doc = roxmltree::Document::parse(mpd).context("MPD XML")?;
    Ok(doc
        .root_element()
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "Period")
        .count())
}

#[test]
fn reconnect_within_grace_continues_after_a_discontinuity() {
    if !tools::require("reconnect", &["ffmpeg"]) {
        return;
    }
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(config(10.0), &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 3).expect("3 video segments");
    fx.wait_segments("audio0", 3).expect("3 audio segments");
    let periods_before = count_periods(&http::get(&fx.url("manifest.mpd")).unwrap().text()).ok();
    let monitors: Vec<(&str, PlaylistMonitor)> = ["video0", "audio0"]
        .into_iter()
        .map(|r| {
            (
                r,
                PlaylistMonitor::start(&fx.media_url(r), Duration::from_millis(250)),
            )
        })
        .collect();
    let (_, before) = fetch_media(&fx.media_url("video0")).unwrap();
    let last_before = before.last_msn().unwrap();

    fx.publisher.kill().expect("kill ffmpeg");
    std::thread::sleep(Duration::from_secs(2));
    let (_, during) = fetch_media(&fx.media_url("video0")).unwrap();
    let second = Publisher::start(fx.publisher.url(), &opts, fx.origin.dir(), "ffmpeg-again")
        .expect("restart ffmpeg");
    let target = last_before + 5;
    let after = wait_msn(&fx.media_url("video0"), target, Duration::from_secs(40));
    let audio_after = wait_msn(&fx.media_url("audio0"), target, Duration::from_secs(20));
    // Let the monitors (polling every 250 ms) catch up with what we just saw.
    std::thread::sleep(Duration::from_millis(700));
    let reports: Vec<_> = monitors.into_iter().map(|(r, m)| (r, m.stop())).collect();
    let mut checks = Checks::new();

    checks.run(
        "no EXT-X-ENDLIST during the grace period (§4.4.3.4)",
        || {
            ensure!(
                !during.endlist,
                "ENDLIST 2 s after the drop:\n{}",
                during.raw
            );
            for (r, rep) in &reports {
                ensure!(!rep.endlist, "{r}: ENDLIST seen while reconnecting");
            }
            Ok(())
        },
    );

    for (r, rep) in &reports {
        checks.run(
            &format!("{r}: MSNs keep increasing, none missing (§6.2.1)"),
            || {
                ensure!(
                    rep.fetches > 10,
                    "{r}: only {} playlist fetches",
                    rep.fetches
                );
                ensure!(rep.errors.is_empty(), "{r}: fetch errors {:?}", rep.errors);
                ensure!(
                    rep.conflicts.is_empty(),
                    "{r}: segments changed: {:?}",
                    rep.conflicts
                );
                let missing = rep.missing_msns();
                ensure!(missing.is_empty(), "{r}: MSNs {missing:?} never appeared");
                let last = rep.last_msn().context("no segments")?;
                ensure!(
                    last >= target,
                    "{r}: reached only msn {last}, wanted {target}"
                );
                Ok(())
            },
        );
        checks.run(
            &format!("{r}: the new publisher's media follows EXT-X-DISCONTINUITY (§4.4.4.3)"),
            || {
                let d = rep.discontinuities();
                ensure!(
                    !d.is_empty(),
                    "{r}: no EXT-X-DISCONTINUITY after the reconnect"
                );
                ensure!(
                    d.iter().all(|m| *m > last_before),
                    "{r}: discontinuity at {d:?}, before the drop (last msn then {last_before})"
                );
                ensure!(
                    d.len() == 1,
                    "{r}: {} discontinuities for one reconnect: {d:?}",
                    d.len()
                );
                // PROGRAM-DATE-TIME moves forward across the break (the gap is real time).
                let at = d[0];
                let (Some(prev), Some(cur)) = (rep.segments.get(&(at - 1)), rep.segments.get(&at))
                else {
                    anyhow::bail!("{r}: segments around the discontinuity not seen");
                };
                if let (Some(p), Some(c)) = (prev.pdt, cur.pdt) {
                    ensure!(
                        c > p,
                        "{r}: PDT went backwards across the discontinuity: {p} → {c}"
                    );
                }
                // Outside the break, dates are contiguous.
                let gaps: Vec<String> = rep
                    .pdt_gaps(PDT_TOLERANCE_S)
                    .into_iter()
                    .filter(|g| !g.starts_with(&format!("msn {at}:")))
                    .collect();
                ensure!(
                    gaps.is_empty(),
                    "{r}: PDT gaps away from the discontinuity: {gaps:?}"
                );
                Ok(())
            },
        );
    }

    checks.run("the final playlists still show EXT-X-DISCONTINUITY", || {
        let after = after.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        ensure!(
            after.playlist.has("#EXT-X-DISCONTINUITY"),
            "video0 window lost the discontinuity:\n{}",
            after.raw
        );
        ensure!(!after.endlist, "ENDLIST after reconnect");
        let audio = audio_after.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        ensure!(
            audio.playlist.has("#EXT-X-DISCONTINUITY"),
            "audio0 has no discontinuity"
        );
        // §4.4.3.3: EXT-X-DISCONTINUITY-SEQUENCE counts discontinuities that left
        // the window; with a 20 s window nothing has, so it is absent or 0.
        if let Some(v) = after.playlist.tag("#EXT-X-DISCONTINUITY-SEQUENCE") {
            ensure!(
                v.trim() == "0",
                "EXT-X-DISCONTINUITY-SEQUENCE {v} with the break in view"
            );
        }
        Ok(())
    });

    checks.run(
        "the MPD starts a new Period (ISO/IEC 23009-1 §5.3.2)",
        || {
            let mpd = http::get(&fx.url("manifest.mpd"))?;
            ensure!(mpd.status == 200, "{}", mpd.summary());
            let n = count_periods(&mpd.text())?;
            let before = periods_before.context("MPD before the reconnect was unreadable")?;
            ensure!(
                n > before,
                "{n} Period(s) after the reconnect, {before} before"
            );
            Ok(())
        },
    );

    drop(second);
    checks.finish();
}

#[test]
fn no_reconnect_ends_the_playlist_after_the_grace() {
    if !tools::require("reconnect", &["ffmpeg"]) {
        return;
    }
    const GRACE: f64 = 3.0;
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(config(GRACE), &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 2).expect("2 video segments");
    let url = fx.media_url("video0");
    fx.publisher.kill().expect("kill ffmpeg");
    let killed = Instant::now();

    std::thread::sleep(Duration::from_millis(1000));
    let (_, early) = fetch_media(&url).expect("playlist 1 s after the drop");
    assert!(
        !early.endlist,
        "EXT-X-ENDLIST 1 s after the drop, before the {GRACE} s grace:\n{}",
        early.raw
    );
    let ended = wait_for(
        "EXT-X-ENDLIST",
        Duration::from_secs_f64(GRACE + 8.0),
        Duration::from_millis(100),
        || {
            let (_, m) = fetch_media(&url)?;
            Ok(m.endlist.then_some(m))
        },
    )
    .expect("the playlist ends after the grace");
    let at = killed.elapsed().as_secs_f64();
    eprintln!("  EXT-X-ENDLIST {at:.2} s after the drop (grace {GRACE} s)");
    assert!(
        at >= GRACE - 0.5,
        "ENDLIST after {at:.2} s, before the {GRACE} s grace was over"
    );
    // §4.4.3.4: nothing may follow; an ended playlist keeps its segments, and has
    // no preload hint for a part that will never come (§4.4.5.3).
    assert!(
        !ended.segments.is_empty(),
        "ended playlist lists no segment"
    );
    assert!(
        ended.preload_part_uri().is_none(),
        "ended playlist still hints a part:\n{}",
        ended.raw
    );
    let audio = fetch_media(&fx.media_url("audio0"))
        .expect("audio0 playlist")
        .1;
    assert!(
        audio.endlist,
        "audio0 did not end with video0:\n{}",
        audio.raw
    );
}
