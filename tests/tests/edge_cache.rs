//! # `ferrocast-edge` in front of a real origin (issue 3)
//!
//! A real origin (1 s segments, 0.25 s parts) with ffmpeg publishing, and real
//! edges in front of it:
//!
//! - a segment through the edge: `x-cache: miss`, then `hit-memory` with `age`,
//!   bytes identical to the origin's, and ffprobe reads init + segment;
//! - origin → mid-tier edge → edge serves the playlist and a segment;
//! - 200 concurrent blocking playlist requests for the preload-hinted part reach
//!   the origin as exactly one upstream request;
//! - purge: a wrong or missing key → 401; by path, then by prefix → misses again;
//! - `..` in the path and malformed requests → 400, nothing forwarded;
//! - the origin gone: the live playlist → 503 within 3 s, a cached immutable
//!   segment still 200;
//! - a disk tier survives a graceful restart (`hit-disk`, same bytes), a record
//!   whose body bytes were flipped on disk is refetched, never served, and a purge
//!   survives a crash (`SIGKILL`) and restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::edge::{Edge, EdgeConfig};
use tests::fixture::LiveFixture;
use tests::http::{self, Response};
use tests::live::fetch_media;
use tests::m3u8::parse_part_uri;
use tests::m3u8::{self, MediaPlaylist};
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::{ffprobe, tools};

const SEGMENT_TARGET: f64 = 1.0;
const PART_TARGET: f64 = 0.25;
const RENDITION: &str = "video0";
/// A purge key of the required length (≥ 16 characters).
const ADMIN_KEY: &str = "edge-e2e-admin-key-0001";
/// Concurrent blocking playlist requests in the coalescing check.
const BLOCKING_CLIENTS: usize = 200;
/// Objects the edge fetched from its parents.
const UPSTREAM_RESPONSES: &str = "ferrocast_edge_upstream_responses_total";

fn origin_config(window_s: f64) -> OriginConfig {
    OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: PART_TARGET,
        window_s,
        ..OriginConfig::default()
    }
}

fn x_cache(r: &Response) -> &str {
    r.header("x-cache").unwrap_or("-")
}

/// `GET url` → 200 with `x-cache: want`.
fn get_expect(url: &str, want: &str) -> Result<Response> {
    let r = http::get(url)?;
    ensure!(r.status == 200, "{}: {}", r.summary(), r.text());
    ensure!(
        x_cache(&r) == want,
        "{}: x-cache {:?}, expected {want:?}",
        r.summary(),
        x_cache(&r)
    );
    Ok(r)
}

/// `GET url` on the origin → 200, the body.
fn origin_bytes(url: &str) -> Result<Vec<u8>> {
    let r = http::get(url)?;
    ensure!(r.status == 200, "origin: {}", r.summary());
    Ok(r.body)
}

fn same_bytes(what: &str, got: &[u8], want: &[u8]) -> Result<()> {
    if got != want {
        let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
        bail!(
            "{what}: {} bytes differ from the origin's {} bytes (first difference at {first_diff:?})",
            got.len(),
            want.len()
        );
    }
    Ok(())
}

/// The newest complete segment's URI in the origin's playlist.
fn newest_segment(m: &MediaPlaylist) -> Result<String> {
    Ok(m.segments
        .last()
        .context("no complete segment")?
        .uri
        .clone())
}

#[test]
fn edge_caches_coalesces_purges_and_outlives_its_origin() {
    if !tools::require("edge_cache", &["ffmpeg", "ffprobe"]) {
        return;
    }
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(origin_config(12.0), &opts).expect("origin + publisher start");
    fx.wait_segments(RENDITION, 3).expect("3 video segments");
    let ch = fx.channel.clone();
    let origin_media = fx.media_url(RENDITION);
    let mut config = EdgeConfig::new(vec![fx.origin.url("")]);
    config.admin_keys = vec![ADMIN_KEY.into()];
    let edge = Edge::start(config).expect("edge starts");
    let edge_media = edge.live_url(&ch, &format!("{RENDITION}/index.m3u8"));
    let mut checks = Checks::new();
    // The segment the first check caches; purged later.
    let mut cached_segment = String::new();

    checks.run(
        "a segment: miss, then hit-memory with age, the origin's bytes, ffprobe reads it",
        || {
            let (_, m) = fetch_media(&origin_media)?;
            let uri = newest_segment(&m)?;
            let init_uri = m.map_uri.clone().context("no EXT-X-MAP")?;
            let url = http::resolve(&edge_media, &uri);
            let first = get_expect(&url, "miss")?;
            let second = get_expect(&url, "hit-memory")?;
            let age: u64 = second
                .header("age")
                .context("a hit without Age")?
                .parse()
                .context("Age is not a number")?;
            ensure!(age <= 5, "age {age} s for an object cached just now");
            let want = origin_bytes(&http::resolve(&origin_media, &uri))?;
            same_bytes("the miss", &first.body, &want)?;
            same_bytes("the hit", &second.body, &want)?;
            ensure!(
                second.has_directive("immutable"),
                "{}: the segment's Cache-Control is replayed",
                second.summary()
            );
            let init = get_expect(&http::resolve(&edge_media, &init_uri), "miss")?;
            same_bytes(
                "init",
                &init.body,
                &origin_bytes(&http::resolve(&origin_media, &init_uri))?,
            )?;
            let probe = ffprobe::probe(&[&init.body, &second.body])?;
            ensure!(
                probe.str_field("codec_name")? == "h264",
                "ffprobe: {:?}",
                probe.streams
            );
            ensure!(
                probe.packets.len() >= 20 && probe.packets[0].is_key(),
                "ffprobe: {} packets, first key: {:?}",
                probe.packets.len(),
                probe.packets.first().map(|p| p.is_key())
            );
            ensure!(
                edge.metric(
                    "ferrocast_edge_cache_lookups_total",
                    &[("result", "hit-memory")]
                )? >= 1.0,
                "the hit is not counted in ferrocast_edge_cache_lookups_total"
            );
            eprintln!(
                "  {uri}: {} bytes, {} packets",
                want.len(),
                probe.packets.len()
            );
            cached_segment = uri;
            Ok(())
        },
    );

    checks.run(
        "origin → mid-tier edge → edge serves the playlist and a segment",
        || {
            let mid = Edge::start(EdgeConfig::new(vec![fx.origin.url("")]))?;
            let outer = Edge::start(EdgeConfig::new(vec![mid.url("")]))?;
            let outer_media = outer.live_url(&ch, &format!("{RENDITION}/index.m3u8"));
            let r = get_expect(&outer_media, "miss")?;
            let m = m3u8::parse_media(&r.text())?;
            ensure!(
                m.segments.len() >= 2 && !m.endlist,
                "playlist through two edges:\n{}",
                m.raw
            );
            let uri = newest_segment(&m)?;
            let seg = get_expect(&http::resolve(&outer_media, &uri), "miss")?;
            same_bytes(
                "segment through two edges",
                &seg.body,
                &origin_bytes(&http::resolve(&origin_media, &uri))?,
            )?;
            // The mid-tier has it now: a second outer edge would hit there. The outer
            // edge answers from memory.
            get_expect(&http::resolve(&outer_media, &uri), "hit-memory")?;
            let mid_label = mid.http.to_string();
            let via_mid = outer.metric(UPSTREAM_RESPONSES, &[("parent", &mid_label)])?;
            let mid_up = mid.metric(UPSTREAM_RESPONSES, &[("status", "200")])?;
            ensure!(
                via_mid >= 2.0 && mid_up >= 2.0,
                "outer edge: {via_mid} responses from the mid-tier; mid-tier: {mid_up} 200s from the origin"
            );
            Ok(())
        },
    );

    checks.run(
        "200 concurrent blocking playlist requests → one upstream request",
        || {
            let (_, m) = fetch_media(&origin_media)?;
            let hint = m
                .preload_part_uri()
                .context("no EXT-X-PRELOAD-HINT TYPE=PART")?;
            let (msn, part) = parse_part_uri(hint)?;
            let url = format!("{edge_media}?_HLS_msn={msn}&_HLS_part={part}");
            let before = edge.metric(UPSTREAM_RESPONSES, &[])?;
            let barrier = Arc::new(Barrier::new(BLOCKING_CLIENTS));
            let started = Instant::now();
            let handles: Vec<_> = (0..BLOCKING_CLIENTS)
                .map(|_| {
                    let (url, barrier) = (url.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        http::get(&url)
                    })
                })
                .collect();
            let mut by_cache: BTreeMap<String, usize> = BTreeMap::new();
            let mut failures = Vec::new();
            for h in handles {
                match h.join() {
                    Ok(Ok(r)) => {
                        *by_cache.entry(x_cache(&r).to_owned()).or_default() += 1;
                        let holds = m3u8::parse_media(&r.text())
                            .is_ok_and(|p| p.contains(msn, Some(part)));
                        if r.status != 200 || !holds {
                            failures.push(format!("{} (holds part: {holds})", r.summary()));
                        }
                    }
                    Ok(Err(e)) => failures.push(format!("{e:#}")),
                    Err(_) => failures.push("client thread panicked".into()),
                }
            }
            let took = started.elapsed();
            let after = edge.metric(UPSTREAM_RESPONSES, &[])?;
            eprintln!(
                "  {BLOCKING_CLIENTS} × _HLS_msn={msn}&_HLS_part={part}: {took:?}, x-cache {by_cache:?}, \
                 upstream responses +{}",
                after - before
            );
            ensure!(
                failures.is_empty(),
                "{} of {BLOCKING_CLIENTS} failed, e.g. {:?}",
                failures.len(),
                &failures[..failures.len().min(3)]
            );
            ensure!(
                after - before == 1.0,
                "{UPSTREAM_RESPONSES} rose by {} for one coalesced blocking request",
                after - before
            );
            ensure!(
                by_cache.get("miss") == Some(&1),
                "exactly one request leads the fetch: {by_cache:?}"
            );
            Ok(())
        },
    );

    checks.run(
        "purge: bad key 401, by path → miss, by prefix → miss",
        || {
            ensure!(!cached_segment.is_empty(), "the first check cached nothing");
            let url = http::resolve(&edge_media, &cached_segment);
            let path = url
                .strip_prefix(&edge.url(""))
                .context("edge URL")?
                .to_owned();
            get_expect(&url, "hit-memory")?;
            let q = format!("path={path}");
            for key in [
                None,
                Some("not-the-admin-key-at-all"),
                Some("edge-e2e-admin-key-000"),
            ] {
                let (st, body) = edge.purge(&q, key)?;
                ensure!(st == 401, "purge with key {key:?}: {st} {body}");
            }
            get_expect(&url, "hit-memory")?;
            let (st, body) = edge.purge(&q, Some(ADMIN_KEY))?;
            ensure!(
                st == 200 && body.contains("\"purged\":1"),
                "purge by path: {st} {body}"
            );
            let again = get_expect(&url, "miss")?;
            same_bytes(
                "refetched after purge",
                &again.body,
                &origin_bytes(&http::resolve(&origin_media, &cached_segment))?,
            )?;
            get_expect(&url, "hit-memory")?;
            let (st, body) = edge.purge(&format!("prefix=/live/{ch}/"), Some(ADMIN_KEY))?;
            ensure!(st == 200, "purge by prefix: {st} {body}");
            let n: u64 = body
                .trim()
                .strip_prefix("{\"purged\":")
                .and_then(|s| s.strip_suffix('}'))
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("purge answer {body:?}"))?;
            ensure!(n >= 2, "purge by prefix removed {n} objects");
            get_expect(&url, "miss")?;
            let (st, body) = edge.purge("prefix=/", Some(ADMIN_KEY))?;
            ensure!(st == 400, "purge of everything (prefix=/): {st} {body}");
            Ok(())
        },
    );

    checks.run("path traversal and malformed requests → 400", || {
        let before = edge.metric(UPSTREAM_RESPONSES, &[])?;
        let requests: [(&str, &[u8]); 4] = [
            (
                "/live/../etc/passwd",
                b"GET /live/../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            ),
            (
                "/live/%2e%2e/etc/passwd",
                b"GET /live/%2e%2e/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            ),
            (
                "a header line without a colon",
                b"GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\nConnection: close\r\n\r\n",
            ),
            (
                "a request line that is not HTTP",
                b"GET /healthz HTTTP/9\x01\r\n\r\n",
            ),
        ];
        for (what, raw) in requests {
            let st = edge.raw_status(raw)?;
            ensure!(st == 400, "{what}: {st}, expected 400");
        }
        let after = edge.metric(UPSTREAM_RESPONSES, &[])?;
        ensure!(
            after == before,
            "bad requests were forwarded upstream ({before} → {after})"
        );
        let r = edge.get("/healthz")?;
        ensure!(r.status == 200, "after bad input: {}", r.summary());
        Ok(())
    });

    checks.run(
        "origin gone: live playlist → 503 within 3 s, cached segment → 200",
        move || {
            let (_, m) = fetch_media(&origin_media)?;
            let uri = newest_segment(&m)?;
            let seg_url = http::resolve(&edge_media, &uri);
            // Through the edge (a miss, or a hit if an earlier check fetched it).
            let want = http::get(&seg_url)?;
            ensure!(want.status == 200, "{}", want.summary());
            let want = want.body;
            same_bytes(
                "segment before the origin goes",
                &want,
                &origin_bytes(&http::resolve(&origin_media, &uri))?,
            )?;
            get_expect(&edge_media, "miss")?;
            let LiveFixture {
                publisher, origin, ..
            } = fx;
            drop(publisher);
            drop(origin);
            let gone = Instant::now();
            let answer = wait_for(
                "the live playlist to answer 503",
                Duration::from_secs(6),
                Duration::from_millis(100),
                || {
                    let r = http::get_with_timeout(&edge_media, Duration::from_secs(5))?;
                    match r.status {
                        200 => Ok(None),
                        _ => Ok(Some(r)),
                    }
                },
            )?;
            let after = gone.elapsed();
            eprintln!(
                "  playlist without origin: {} after {after:?}",
                answer.summary()
            );
            ensure!(answer.status == 503, "{}", answer.summary());
            ensure!(
                after <= Duration::from_secs(3),
                "503 only {after:?} after the origin went away"
            );
            ensure!(
                answer.has_directive("no-store"),
                "{}: an error is no-store",
                answer.summary()
            );
            let again = http::get(&edge_media)?;
            ensure!(again.status == 503, "then: {}", again.summary());
            let seg = get_expect(&seg_url, "hit-memory")?;
            same_bytes("cached segment without origin", &seg.body, &want)?;
            Ok(())
        },
    );
    checks.finish();
}

/// Where `needle` occurs in `hay` (non-overlapping).
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i] == needle[0] && &hay[i..i + needle.len()] == needle {
            out.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Flips 16 bytes in the middle of every copy of a 64-byte run from the middle of
/// `body` in `store`; returns how many copies were found.
fn corrupt_on_disk(store: &Path, body: &[u8]) -> Result<usize> {
    let mid = body.len() / 2;
    let needle = &body[mid..mid + 64];
    let mut bytes = std::fs::read(store)?;
    let at = find_all(&bytes, needle);
    for &i in &at {
        for b in &mut bytes[i + 24..i + 40] {
            *b ^= 0xa5;
        }
    }
    std::fs::write(store, &bytes)?;
    Ok(at.len())
}

#[test]
fn edge_disk_tier_survives_restart_and_refetches_corrupt_records() {
    if !tools::require("edge_disk", &["ffmpeg"]) {
        return;
    }
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(origin_config(30.0), &opts).expect("origin + publisher start");
    fx.wait_segments(RENDITION, 2).expect("2 video segments");
    let origin_media = fx.media_url(RENDITION);
    let disk_dir = tempfile::tempdir().expect("temp dir");
    let store = disk_dir.path().join("disk").join("store-0.fcs");
    let mut config = EdgeConfig::new(vec![fx.origin.url("")]);
    config.memory_bytes = 1 << 20;
    config.admin_keys = vec![ADMIN_KEY.into()];
    config.disk = Some((disk_dir.path().join("disk"), 64 << 20));
    config.snapshot_interval_s = Some(2);
    let mut edge = Edge::start(config).expect("edge starts");
    let edge_media = edge.live_url(&fx.channel, &format!("{RENDITION}/index.m3u8"));
    let mut checks = Checks::new();
    // Segments requested twice (admitted to disk), with the origin's bytes.
    let mut targets: Vec<(String, Vec<u8>)> = Vec::new();

    checks.run(
        "segments asked for twice are written to disk once memory overflows",
        || {
            // Targets: the oldest segments, until they overflow the 1 MiB memory
            // tier; fillers (asked for once) then push every target out of memory.
            let mut next_msn = fx.wait_segments(RENDITION, 2)?.segments[0].msn;
            let mut fetched = 0usize;
            let mut filler = 0usize;
            let deadline = Instant::now() + Duration::from_secs(50);
            loop {
                let (_, m) = fetch_media(&origin_media)?;
                let Some(s) = m.segments.iter().find(|s| s.msn >= next_msn) else {
                    ensure!(Instant::now() < deadline, "no new segment in time");
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                };
                next_msn = s.msn + 1;
                let url = http::resolve(&edge_media, &s.uri);
                let first = get_expect(&url, "miss")?;
                let want = origin_bytes(&http::resolve(&origin_media, &s.uri))?;
                same_bytes(&s.uri, &first.body, &want)?;
                if fetched < (1 << 20) + (32 << 10) {
                    let second = http::get(&url)?;
                    ensure!(second.status == 200, "{}", second.summary());
                    same_bytes(&s.uri, &second.body, &want)?;
                    fetched += want.len();
                    targets.push((s.uri.clone(), want));
                } else {
                    filler += want.len();
                }
                let writes = edge.metric("ferrocast_edge_cache_disk_writes_total", &[])?;
                if filler >= 1 << 20 && writes >= targets.len() as f64 {
                    eprintln!(
                        "  {} targets ({fetched} bytes), {filler} filler bytes, {writes} disk writes",
                        targets.len()
                    );
                    return Ok(());
                }
                ensure!(
                    Instant::now() < deadline,
                    "{writes} disk writes for {} targets after {filler} filler bytes",
                    targets.len()
                );
            }
        },
    );

    checks.run(
        "after a graceful restart the targets are hit-disk with the same bytes",
        || {
            ensure!(!targets.is_empty(), "no targets");
            edge.restart()?;
            for (uri, want) in &targets {
                let r = get_expect(&http::resolve(&edge_media, uri), "hit-disk")?;
                same_bytes(uri, &r.body, want)?;
            }
            Ok(())
        },
    );

    checks.run(
        "a record with flipped body bytes is refetched, never served",
        || {
            ensure!(
                targets.len() >= 2,
                "need two targets, have {}",
                targets.len()
            );
            let st = edge.stop()?;
            ensure!(st.success(), "edge exited with {st} on SIGTERM");
            let (bad_uri, bad_want) = &targets[0];
            let copies = corrupt_on_disk(&store, bad_want)?;
            ensure!(
                copies >= 1,
                "{bad_uri}'s body not found in {}",
                store.display()
            );
            edge.start_again()?;
            let url = http::resolve(&edge_media, bad_uri);
            let r = http::get(&url)?;
            ensure!(r.status == 200, "{}", r.summary());
            same_bytes(
                &format!("{bad_uri} after corruption (x-cache {})", x_cache(&r)),
                &r.body,
                bad_want,
            )?;
            ensure!(
                x_cache(&r) != "hit-disk",
                "{bad_uri}: served as hit-disk after its record was corrupted"
            );
            eprintln!(
                "  {bad_uri}: {copies} copies corrupted; then x-cache {}",
                x_cache(&r)
            );
            let corrupt = edge.metric("ferrocast_edge_cache_disk_corrupt", &[])?;
            ensure!(
                corrupt >= 1.0,
                "ferrocast_edge_cache_disk_corrupt = {corrupt}"
            );
            // The others are untouched.
            let (uri, want) = &targets[targets.len() - 1];
            let r = get_expect(&http::resolve(&edge_media, uri), "hit-disk")?;
            same_bytes(uri, &r.body, want)?;
            Ok(())
        },
    );

    checks.run(
        "the index is snapshotted periodically while the edge runs",
        || {
            let snap = disk_dir.path().join("disk").join("index.snap");
            let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            let before = mtime(&snap);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let now = mtime(&snap);
                if now.is_some() && now != before {
                    return Ok(());
                }
                ensure!(
                    Instant::now() < deadline,
                    "index.snap not rewritten within 10 s with snapshot_interval_s = 2 ({before:?})"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        },
    );

    checks.run(
        "a purged object stays purged after a crash (SIGKILL) and a restart",
        || {
            ensure!(
                targets.len() >= 3,
                "need three targets, have {}",
                targets.len()
            );
            let (uri, want) = &targets[1];
            let url = http::resolve(&edge_media, uri);
            let path = url
                .strip_prefix(&edge.url(""))
                .context("edge URL")?
                .to_owned();
            let (st, body) = edge.purge(&format!("path={path}"), Some(ADMIN_KEY))?;
            ensure!(
                st == 200 && body.contains("\"purged\":1"),
                "purge of a disk-only object: {st} {body}"
            );
            // No graceful stop: the kill follows the purge within milliseconds, so
            // (barring a periodic snapshot in that window) the restart must replay
            // the purge from the store's log.
            edge.kill_hard()?;
            edge.start_again()?;
            let r = http::get(&url)?;
            ensure!(r.status == 200, "{}", r.summary());
            ensure!(
                x_cache(&r) == "miss",
                "{uri} purged before the crash answers x-cache {:?}",
                x_cache(&r)
            );
            same_bytes(uri, &r.body, want)?;
            // An object not purged survives the crash.
            let (uri, want) = &targets[2];
            let r = get_expect(&http::resolve(&edge_media, uri), "hit-disk")?;
            same_bytes(uri, &r.body, want)?;
            Ok(())
        },
    );
    checks.finish();
}
