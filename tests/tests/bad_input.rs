//! # Hostile and mistaken RTMP input, while another stream keeps playing
//!
//! One origin, ffmpeg publishing channel A, a [`PlaylistMonitor`] on A's video
//! playlist. Meanwhile, on the same RTMP port:
//!
//! 1. random bytes instead of a handshake (RTMP spec §5.2.2: C0 must be version 3);
//! 2. a truncated handshake (C0 + half of C1, then silence), which only the
//!    handshake timeout can end — it runs in a thread alongside the others;
//! 3. an oversized chunk: a valid handshake, then Set Chunk Size 0x7fffffff
//!    (§5.4.1 allows it; the origin's named max-chunk-size limit does not) and a
//!    message announcing 16 MiB − 1 bytes;
//! 4. a message header announcing 16 MiB − 1 bytes at the default chunk size,
//!    beyond the named max-message-size limit (§5.3.1.2);
//! 5. ffmpeg publishing with an unknown key (the issue: rejected before
//!    NetStream.Publish.Start, with a clear status and log line);
//! 6. a second ffmpeg publishing on A's key (the issue: a second publisher on a
//!    live key is rejected).
//!
//! For each: the connection is closed (or ffmpeg fails), and a new log line names
//! the peer or the reason. Over the whole run: neither stream key appears in the
//! log (ARCHITECTURE.md: "stream keys and tokens never appear in logs"), and
//! channel A has no gap — its playlist kept advancing, no MSN is missing, no
//! `EXT-X-DISCONTINUITY`, and PROGRAM-DATE-TIMEs are contiguous.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use tests::checks::Checks;
use tests::fixture::LiveFixture;
use tests::monitor::PlaylistMonitor;
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::publisher::{PublishOptions, Publisher};
use tests::rtmp_raw::{self, Closed};
use tests::tools;

const SEGMENT_TARGET: f64 = 1.0;
/// PROGRAM-DATE-TIME is stamped from arrival at ingest, so consecutive dates
/// may differ from date + EXTINF by scheduling jitter; a real gap is a stall of
/// most of a segment.
const PDT_TOLERANCE_S: f64 = 0.25;
/// Generous bound for the origin's RTMP handshake timeout (10 s by default).
const HANDSHAKE_TIMEOUT_BOUND: Duration = Duration::from_secs(45);
/// How long a plainly bad connection may stay open.
const CLOSE_BOUND: Duration = Duration::from_secs(10);

/// Waits for a log line after `from` that mentions `peer` (e.g. `127.0.0.1:41234`).
fn log_line_for_peer(origin: &Origin, from: usize, peer: &str) -> Result<String> {
    origin
        .wait_log_line(from, Duration::from_secs(5), |l| l.contains(peer))
        .with_context(|| {
            format!(
                "no log line names the peer {peer}; log since:\n{}",
                origin.log_since(from)
            )
        })
}

fn expect_closed(c: &Closed, what: &str, bound: Duration) -> Result<()> {
    let after = c
        .after
        .with_context(|| format!("{what}: connection still open after {bound:?}"))?;
    eprintln!(
        "  {what}: closed after {after:.2?} ({} bytes from the server)",
        c.received
    );
    Ok(())
}

/// 16 MiB − 1: the largest length a chunk message header can announce (§5.3.1.2),
/// above the origin's max-message-size limit.
const HUGE_LEN: u32 = 0x00ff_ffff;

fn oversized_chunk_size(origin: &Origin) -> Result<()> {
    let from = origin.log().len();
    let mut s = rtmp_raw::connect(origin.rtmp)?;
    let peer = s.local_addr()?.to_string();
    rtmp_raw::handshake(&mut s)?;
    rtmp_raw::write_lenient(&mut s, &rtmp_raw::set_chunk_size(0x7fff_ffff));
    // A connect command announcing a huge message, sent as one huge chunk.
    let mut msg = rtmp_raw::type0_chunk(3, 20, 0, HUGE_LEN, &[0u8; 0]);
    msg.extend_from_slice(&rtmp_raw::pseudo_random(64 * 1024, 3));
    rtmp_raw::write_lenient(&mut s, &msg);
    let c = rtmp_raw::wait_closed(&mut s, CLOSE_BOUND)?;
    expect_closed(&c, "Set Chunk Size 0x7fffffff", CLOSE_BOUND)?;
    let line = log_line_for_peer(origin, from, &peer)?;
    eprintln!("  log: {line}");
    Ok(())
}

fn oversized_message(origin: &Origin) -> Result<()> {
    let from = origin.log().len();
    let mut s = rtmp_raw::connect(origin.rtmp)?;
    let peer = s.local_addr()?.to_string();
    rtmp_raw::handshake(&mut s)?;
    // Default chunk size 128: first chunk with a type-0 header, then type-3 ones.
    let body = rtmp_raw::pseudo_random(128, 4);
    let mut bytes = rtmp_raw::type0_chunk(3, 20, 0, HUGE_LEN, &body);
    for _ in 0..64 {
        bytes.push(0xc3); // fmt 3, csid 3
        bytes.extend_from_slice(&body);
    }
    rtmp_raw::write_lenient(&mut s, &bytes);
    let c = rtmp_raw::wait_closed(&mut s, CLOSE_BOUND)?;
    expect_closed(&c, "message length 16 MiB - 1", CLOSE_BOUND)?;
    let line = log_line_for_peer(origin, from, &peer)?;
    eprintln!("  log: {line}");
    Ok(())
}

fn random_bytes(origin: &Origin) -> Result<()> {
    let from = origin.log().len();
    let mut s = rtmp_raw::connect(origin.rtmp)?;
    let peer = s.local_addr()?.to_string();
    let mut junk = rtmp_raw::pseudo_random(4096, 0x5eed);
    junk[0] = 0x47; // not version 3 (an MPEG-TS sync byte, a plausible mistake)
    rtmp_raw::write_lenient(&mut s, &junk);
    let c = rtmp_raw::wait_closed(&mut s, CLOSE_BOUND)?;
    expect_closed(&c, "random bytes", CLOSE_BOUND)?;
    let line = log_line_for_peer(origin, from, &peer)?;
    eprintln!("  log: {line}");
    Ok(())
}

/// Runs an ffmpeg publisher that must be refused, and returns the new log text.
fn refused_publisher(origin: &Origin, key: &str, name: &str) -> Result<String> {
    let from = origin.log().len();
    let opts = PublishOptions {
        audio: false,
        duration_s: Some(15.0),
        ..PublishOptions::default().with_gop_s(SEGMENT_TARGET)
    };
    let mut p = Publisher::start(&origin.rtmp_url(key), &opts, origin.dir(), name)?;
    let started = Instant::now();
    let exit = p.wait_exit(Duration::from_secs(12))?;
    let ok = exit.context(
        "ffmpeg still publishing 12 s later: the origin accepted a publish it must refuse",
    )?;
    ensure!(!ok, "ffmpeg exited successfully: the publish was accepted");
    eprintln!(
        "  {name}: ffmpeg failed after {:.2?}: {}",
        started.elapsed(),
        p.stderr().trim()
    );
    // Give the origin a moment to log the close.
    std::thread::sleep(Duration::from_millis(300));
    Ok(origin.log_since(from))
}

fn find_line<'a>(log: &'a str, words: &[&str]) -> Option<&'a str> {
    log.lines().find(|l| {
        let l = l.to_ascii_lowercase();
        words.iter().any(|w| l.contains(w))
    })
}

#[test]
fn bad_rtmp_input_is_refused_and_never_disturbs_another_stream() {
    if !tools::require("bad_input", &["ffmpeg"]) {
        return;
    }
    let cfg = OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: 0.25,
        window_s: 60.0,
        channels: vec![("chan-a".into(), unique_key("a"))],
        ..OriginConfig::default()
    };
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(cfg, &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 2).expect("channel A is live");
    let monitor = PlaylistMonitor::start(&fx.media_url("video0"), Duration::from_millis(250));
    let bad_key = unique_key("wrong");
    let started = Instant::now();

    // The truncated handshake runs in a thread: only the handshake timeout ends it.
    let rtmp_addr = fx.origin.rtmp;
    let log_from = fx.origin.log().len();
    let truncated = std::thread::spawn(move || -> Result<(String, Closed)> {
        let mut s: TcpStream = rtmp_raw::connect(rtmp_addr)?;
        let peer = s.local_addr()?.to_string();
        let mut c0c1 = vec![3u8];
        c0c1.extend_from_slice(&rtmp_raw::pseudo_random(rtmp_raw::HANDSHAKE_SIZE / 2, 9));
        rtmp_raw::write_lenient(&mut s, &c0c1);
        let closed = rtmp_raw::wait_closed(&mut s, HANDSHAKE_TIMEOUT_BOUND)?;
        Ok((peer, closed))
    });

    let mut checks = Checks::new();
    checks.run("random bytes: closed, logged with the peer", || {
        random_bytes(&fx.origin)
    });
    checks.run("oversized chunk size: closed, logged", || {
        oversized_chunk_size(&fx.origin)
    });
    checks.run("oversized message: closed, logged", || {
        oversized_message(&fx.origin)
    });
    checks.run("unknown key: refused, logged without the key", || {
        let log = refused_publisher(&fx.origin, &bad_key, "ffmpeg-unknown-key")?;
        let line = find_line(
            &log,
            &[
                "unknown",
                "reject",
                "denied",
                "invalid",
                "refus",
                "not found",
            ],
        )
        .with_context(|| format!("no log line says the key was refused:\n{log}"))?;
        eprintln!("  log: {line}");
        Ok(())
    });
    checks.run(
        "duplicate publisher on A's key: refused, A continues",
        || {
            let log = refused_publisher(&fx.origin, &fx.key, "ffmpeg-duplicate")?;
            let line = find_line(
                &log,
                &[
                    "already",
                    "duplicate",
                    "busy",
                    "in use",
                    "reject",
                    "refus",
                    "live",
                ],
            )
            .with_context(|| {
                format!("no log line says the second publisher was refused:\n{log}")
            })?;
            eprintln!("  log: {line}");
            ensure!(
                fx.publisher.is_running(),
                "A's ffmpeg died: {}",
                fx.publisher.stderr()
            );
            Ok(())
        },
    );
    checks.run(
        "truncated handshake: closed by the handshake timeout, logged",
        || {
            let (peer, closed) = truncated
                .join()
                .map_err(|_| anyhow::anyhow!("truncated-handshake thread panicked"))??;
            expect_closed(&closed, "truncated handshake", HANDSHAKE_TIMEOUT_BOUND)?;
            let line = log_line_for_peer(&fx.origin, log_from, &peer)?;
            eprintln!("  log: {line}");
            Ok(())
        },
    );

    // Let A run a little past the last disturbance, then judge its playlist.
    std::thread::sleep(Duration::from_secs(2));
    let report = monitor.stop();
    let elapsed = started.elapsed();
    checks.run("channel A shows no gap", || {
        ensure!(
            report.errors.is_empty(),
            "playlist fetch errors: {:?}",
            report.errors
        );
        ensure!(
            report.conflicts.is_empty(),
            "segments changed: {:?}",
            report.conflicts
        );
        ensure!(!report.endlist, "A's playlist ended");
        let missing = report.missing_msns();
        ensure!(missing.is_empty(), "MSNs {missing:?} never appeared");
        let d = report.discontinuities();
        ensure!(d.is_empty(), "EXT-X-DISCONTINUITY at msn {d:?} (§4.4.4.3)");
        ensure!(report.without_pdt().is_empty(), "segments without PDT");
        // §4.4.4.6: each date follows from the previous segment's date + EXTINF.
        let gaps = report.pdt_gaps(PDT_TOLERANCE_S);
        ensure!(gaps.is_empty(), "PROGRAM-DATE-TIME gaps: {gaps:?}");
        let stall = report.longest_stall();
        ensure!(
            stall <= Duration::from_secs_f64(3.0 * SEGMENT_TARGET),
            "A's playlist did not advance for {stall:?}"
        );
        let (first, last) = (
            report.segments.keys().next().copied().unwrap_or(0),
            report.last_msn().unwrap_or(0),
        );
        let expected = elapsed.as_secs_f64() / SEGMENT_TARGET;
        ensure!(
            (last - first) as f64 >= 0.7 * expected - 2.0,
            "A advanced {} segments in {elapsed:.1?}",
            last - first
        );
        eprintln!(
            "  A: msn {first}..={last} over {elapsed:.1?}, longest stall {stall:.2?}, {} fetches",
            report.fetches
        );
        Ok(())
    });
    checks.run("no stream key in the log", || {
        let log = fx.origin.log();
        ensure!(
            !log.contains(&bad_key),
            "the unknown key appears in the log"
        );
        ensure!(!log.contains(&fx.key), "channel A's key appears in the log");
        Ok(())
    });
    checks.finish();
}
