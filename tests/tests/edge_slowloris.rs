//! # 2,000 slowloris connections do not slow a player (issue 3)
//!
//! A real origin with ffmpeg publishing, an edge in front of it, and a player loop
//! that fetches the live playlist and its newest segment through the edge every
//! 100 ms, each on a new connection (the path most exposed to a crowded listener).
//!
//! 1. Baseline: the player alone for a few seconds.
//! 2. Attack: 2,000 connections each send a request line and then one header byte
//!    every 500 ms, never finishing the head; any the edge closes are reopened, so
//!    about 2,000 stay open throughout. The player runs again meanwhile.
//!
//! Checked: the attack really held ~2,000 connections open on the edge (median of
//! `ferrocast_http_connections_open` sampled while the player ran); the edge
//! closed slow heads by its header timeout (metric); every player request
//! succeeded, and its p95 latency during the attack stays within a generous bound
//! of the baseline (4× or +250 ms, whichever is larger — tight numbers belong in
//! benchmarks, not tests).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::edge::{Edge, EdgeConfig};
use tests::fixture::LiveFixture;
use tests::http;
use tests::live::fetch_media;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const RENDITION: &str = "video0";
/// Slow connections held open during the attack.
const SLOW_CONNECTIONS: usize = 2_000;
/// The edge's `[http] header_timeout_ms` in this test: short, so the attack also
/// exercises closing and the attacker's reconnects.
const HEADER_TIMEOUT_MS: u64 = 4_000;
const BASELINE: Duration = Duration::from_secs(6);
const UNDER_ATTACK: Duration = Duration::from_secs(8);

/// Player request latencies (seconds) and failures over one phase.
struct Phase {
    latencies: Vec<f64>,
    errors: Vec<String>,
}

impl Phase {
    fn percentile(&self, p: f64) -> f64 {
        let mut v = self.latencies.clone();
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    }

    fn summary(&self) -> String {
        format!(
            "{} requests, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, {} errors",
            self.latencies.len(),
            self.percentile(0.5) * 1e3,
            self.percentile(0.95) * 1e3,
            self.percentile(1.0) * 1e3,
            self.errors.len()
        )
    }
}

/// Plays for `length`: playlist, then its newest segment, every 100 ms.
fn play(media_url: &str, length: Duration) -> Phase {
    let mut phase = Phase {
        latencies: Vec::new(),
        errors: Vec::new(),
    };
    let end = Instant::now() + length;
    while Instant::now() < end {
        let started = Instant::now();
        let playlist = fetch_media(media_url);
        let result = playlist.and_then(|(_, m)| {
            let seg = m.segments.last().context("no segment")?;
            phase.latencies.push(started.elapsed().as_secs_f64());
            let t = Instant::now();
            let r = http::get(&http::resolve(media_url, &seg.uri))?;
            ensure!(r.status == 200, "segment: {}", r.summary());
            phase.latencies.push(t.elapsed().as_secs_f64());
            Ok(())
        });
        if let Err(e) = result {
            phase.errors.push(format!("{e:#}"));
        }
        thread::sleep(Duration::from_millis(100));
    }
    phase
}

/// Opens a connection that has sent a request line and one header but never ends
/// its head.
fn slow_connection(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    tcp.write_all(b"GET /live/slow HTTP/1.1\r\nHost: edge\r\nX-Slow: ")?;
    tcp.set_nonblocking(true)?;
    Ok(tcp)
}

/// Whether the edge has closed `tcp` (EOF or error; a pending read is "open").
fn closed_by_peer(tcp: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match tcp.peek(&mut byte) {
        Ok(_) => true, // EOF (0) or an answer such as 408: either way it is done
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Holds `n` slow connections open until `stop`: one header byte per connection
/// every 500 ms; closed ones are reopened. Returns how many reopens it made.
fn attack(addr: SocketAddr, n: usize, stop: Arc<AtomicBool>) -> Result<usize> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(Some(
            slow_connection(addr).context("opening a slow connection")?,
        ));
    }
    let mut reopened = 0;
    while !stop.load(Ordering::Relaxed) {
        for slot in conns.iter_mut() {
            let alive = slot
                .as_mut()
                .is_some_and(|c| !closed_by_peer(c) && c.write_all(b"a").is_ok());
            if !alive {
                *slot = slow_connection(addr).ok();
                reopened += 1;
            }
        }
        thread::sleep(Duration::from_millis(500));
    }
    Ok(reopened)
}

/// The soft open-files limit of this process (Linux `/proc/self/limits`).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn slowloris_connections_do_not_slow_a_player() {
    if !tools::require("edge_slowloris", &["ffmpeg"]) {
        return;
    }
    let limit = open_files_limit().unwrap_or(0);
    assert!(
        limit >= (SLOW_CONNECTIONS + 500) as u64,
        "this test holds {SLOW_CONNECTIONS} sockets; raise the open-files limit (ulimit -n, now {limit})"
    );
    let opts = PublishOptions::default().with_gop_s(1.0);
    let origin = OriginConfig {
        segment_target_s: 1.0,
        part_target_s: 0.25,
        window_s: 12.0,
        ..OriginConfig::default()
    };
    let mut fx = LiveFixture::start(origin, &opts).expect("origin + publisher start");
    fx.wait_segments(RENDITION, 2).expect("2 video segments");
    let mut config = EdgeConfig::new(vec![fx.origin.url("")]);
    config.http_keys = vec![("header_timeout_ms".into(), HEADER_TIMEOUT_MS.to_string())];
    let edge = Edge::start(config).expect("edge starts");
    let media = edge.live_url(&fx.channel, &format!("{RENDITION}/index.m3u8"));
    let mut checks = Checks::new();

    let baseline = play(&media, BASELINE);
    eprintln!("baseline: {}", baseline.summary());

    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        let addr = edge.http;
        thread::spawn(move || attack(addr, SLOW_CONNECTIONS, stop))
    };
    let open = |e: &Edge| {
        e.metric("ferrocast_http_connections_open", &[])
            .unwrap_or(0.0)
    };
    let held = wait_for(
        "the slow connections to be open",
        Duration::from_secs(20),
        Duration::from_millis(200),
        || Ok((open(&edge) >= SLOW_CONNECTIONS as f64 * 0.95).then_some(())),
    );
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (sampling, url) = (sampling.clone(), edge.url("/metrics"));
        thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                if let Ok(r) = http::get(&url) {
                    let open = "ferrocast_http_connections_open";
                    samples.push(tests::edge::sum_samples(&r.text(), open, &[]));
                }
                thread::sleep(Duration::from_millis(250));
            }
            samples
        })
    };
    let during = play(&media, UNDER_ATTACK);
    sampling.store(false, Ordering::Relaxed);
    let mut samples = sampler.join().expect("sampler thread");
    samples.sort_by(f64::total_cmp);
    let open_median = samples.get(samples.len() / 2).copied().unwrap_or(0.0);
    stop.store(true, Ordering::Relaxed);
    let reopened = attacker.join().expect("attacker thread");
    eprintln!("under attack: {}", during.summary());

    checks.run(
        "the attack held ~2,000 slow connections open on the edge",
        || {
            held.context("ferrocast_http_connections_open never reached 95 % of the attack")?;
            let reopened = reopened?;
            ensure!(
                open_median >= SLOW_CONNECTIONS as f64 * 0.85,
                "median {open_median} connections open while the player ran ({} samples)",
                samples.len()
            );
            eprintln!(
                "median open connections {open_median}; attacker reopened {reopened} the edge closed"
            );
            Ok(())
        },
    );
    checks.run("the edge closed slow heads by its header timeout", || {
        let timed_out = edge.metric(
            "ferrocast_http_connections_timed_out_total",
            &[("reason", "header")],
        )?;
        ensure!(
            timed_out >= SLOW_CONNECTIONS as f64,
            "{timed_out} header timeouts; every slow connection should have hit one"
        );
        Ok(())
    });
    checks.run(
        "every player request succeeded, before and during the attack",
        || {
            ensure!(
                baseline.errors.is_empty() && during.errors.is_empty(),
                "baseline errors {:?}, attack errors {:?}",
                baseline.errors,
                during.errors
            );
            ensure!(during.latencies.len() >= 20, "{}", during.summary());
            Ok(())
        },
    );
    checks.run(
        "the player's p95 latency is not slowed by the attack",
        || {
            let before = baseline.percentile(0.95);
            let after = during.percentile(0.95);
            let bound = (before * 4.0).max(before + 0.25);
            ensure!(
                after <= bound,
                "p95 {:.1} ms under attack vs {:.1} ms before (bound {:.1} ms)",
                after * 1e3,
                before * 1e3,
                bound * 1e3
            );
            Ok(())
        },
    );
    checks.finish();
}
