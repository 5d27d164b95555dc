//! # rtmp-load — N paced RTMP publishers and the server's CPU per stream
//!
//! ```text
//! rtmp-load --clip clip.flv --url-base rtmp://127.0.0.1:1935/live --key-prefix key
//!           --streams N [--duration 30] [--warmup 5] [--stagger-ms 2000]
//!           [--pid SERVER_PID] [--name LABEL]
//! ```
//! Parses the FLV clip once (`bench::flv_file`), then opens N publishers
//! (`{url-base}/{key-prefix}{i}`, i = 0..N) on one thread, started
//! `stagger-ms` apart in total. Each sends the clip's onMetaData and sequence
//! headers, then replays its audio/video tags paced at real time, looping
//! with the timestamps shifted by the clip length.
//!
//! After the last publisher started and `--warmup` seconds passed, the CPU
//! seconds of the server's process tree (`--pid`, via `bench::proc_cpu`) are
//! sampled, again after `--duration` seconds, and the publishers stop. The
//! last line is machine-readable:
//!
//! `RESULT name=.. streams=N ok=K window_s=.. cpu_s=.. cpu_pct_per_stream=.. streams_per_core=.. mbps_per_stream=.. max_late_ms=..`
//!
//! `max_late_ms` is the worst pacing delay of the publishers in the window:
//! if it grows, the load generator (not the server) is the bottleneck.

use anyhow::{bail, Context, Result};
use bench::loop_clip::{send_tag, LoopClip};
use bench::proc_cpu::{clock_ticks, tree_cpu_seconds};
use bench::rtmp_client::Publisher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: rtmp-load --clip FILE.flv --url-base rtmp://HOST:PORT/APP --key-prefix P \
--streams N [--duration 30] [--warmup 5] [--stagger-ms 2000] [--pid PID] [--name LABEL]";

struct Args {
    clip: String,
    url_base: String,
    key_prefix: String,
    streams: usize,
    duration: f64,
    warmup: f64,
    stagger_ms: u64,
    pid: Option<u32>,
    name: String,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        clip: String::new(),
        url_base: String::new(),
        key_prefix: String::new(),
        streams: 0,
        duration: 30.0,
        warmup: 5.0,
        stagger_ms: 2000,
        pid: None,
        name: "server".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--clip" => a.clip = value()?,
            "--url-base" => a.url_base = value()?.trim_end_matches('/').to_string(),
            "--key-prefix" => a.key_prefix = value()?,
            "--streams" => a.streams = value()?.parse().context("--streams")?,
            "--duration" => a.duration = value()?.parse().context("--duration")?,
            "--warmup" => a.warmup = value()?.parse().context("--warmup")?,
            "--stagger-ms" => a.stagger_ms = value()?.parse().context("--stagger-ms")?,
            "--pid" => a.pid = Some(value()?.parse().context("--pid")?),
            "--name" => a.name = value()?,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if a.clip.is_empty() || a.url_base.is_empty() || a.streams == 0 || a.duration <= 0.0 {
        bail!("{USAGE}");
    }
    if a.streams > 10_000 || a.duration > 3600.0 {
        bail!("refusing more than 10000 streams or 3600 s");
    }
    Ok(a)
}

#[derive(Default)]
struct Stats {
    bytes: AtomicU64,
    max_late_ms: AtomicU64,
    ok: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
}

async fn publish_one(url: String, clip: Arc<LoopClip>, stats: Arc<Stats>) -> Result<()> {
    let mut p = Publisher::connect(&url)
        .await
        .with_context(|| format!("publishing to {url}"))?;
    clip.send_start(&mut p).await?;
    stats.ok.fetch_add(1, Relaxed);
    let start = tokio::time::Instant::now();
    let mut offset = 0u64;
    'run: loop {
        for tag in &clip.media {
            if stats.stop.load(Relaxed) {
                break 'run;
            }
            let ts = offset + u64::from(tag.timestamp);
            let due = start + Duration::from_millis(ts);
            let now = tokio::time::Instant::now();
            if due > now {
                tokio::time::sleep_until(due).await;
            } else if stats.measuring.load(Relaxed) {
                stats
                    .max_late_ms
                    .fetch_max((now - due).as_millis() as u64, Relaxed);
            }
            let before = p.bytes_sent;
            send_tag(&mut p, tag, ts as u32).await?;
            stats.bytes.fetch_add(p.bytes_sent - before, Relaxed);
        }
        offset += clip.length_ms;
    }
    p.close().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let clip = Arc::new(LoopClip::load(std::path::Path::new(&args.clip))?);
    let clip_bytes: usize = clip.media.iter().map(|t| t.body.len()).sum();
    eprintln!(
        "clip {}: {} tags, {:.2} s, {:.2} Mbit/s",
        args.clip,
        clip.media.len(),
        clip.length_ms as f64 / 1000.0,
        clip_bytes as f64 * 8.0 / clip.length_ms as f64 / 1000.0
    );
    let stats = Arc::new(Stats::default());
    let mut tasks = Vec::with_capacity(args.streams);
    let gap = Duration::from_millis(args.stagger_ms / args.streams as u64);
    for i in 0..args.streams {
        let url = format!("{}/{}{}", args.url_base, args.key_prefix, i);
        tasks.push(tokio::spawn(publish_one(url, clip.clone(), stats.clone())));
        tokio::time::sleep(gap).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let ticks = clock_ticks();
    let cpu0 = args.pid.and_then(|p| tree_cpu_seconds(p, ticks));
    let bytes0 = stats.bytes.load(Relaxed);
    stats.measuring.store(true, Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let window = t0.elapsed().as_secs_f64();
    let cpu1 = args.pid.and_then(|p| tree_cpu_seconds(p, ticks));
    let bytes = stats.bytes.load(Relaxed) - bytes0;
    stats.measuring.store(false, Relaxed);
    stats.stop.store(true, Relaxed);
    let mut failures = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(10), t).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                failures += 1;
                if failures <= 5 {
                    eprintln!("stream {i}: {e:#}");
                }
            }
            _ => failures += 1,
        }
    }
    let ok = stats.ok.load(Relaxed);
    let n = args.streams as f64;
    let mbps = bytes as f64 * 8.0 / window / 1e6 / n;
    let (cpu_s, per_stream_pct, per_core) = match (cpu0, cpu1) {
        (Some(a), Some(b)) => {
            let cpu = b - a;
            let pct = cpu / window / n * 100.0;
            (
                cpu,
                pct,
                if pct > 0.0 {
                    100.0 / pct
                } else {
                    f64::INFINITY
                },
            )
        }
        _ => (f64::NAN, f64::NAN, f64::NAN),
    };
    eprintln!(
        "{}: {ok}/{} publishers started, {failures} ended with an error; server CPU {:.2} s over {:.1} s",
        args.name, args.streams, cpu_s, window
    );
    println!(
        "RESULT name={} streams={} ok={} failed={} window_s={:.1} cpu_s={:.3} cpu_pct_per_stream={:.3} streams_per_core={:.1} mbps_per_stream={:.3} max_late_ms={}",
        args.name,
        args.streams,
        ok,
        failures,
        window,
        cpu_s,
        per_stream_pct,
        per_core,
        mbps,
        stats.max_late_ms.load(Relaxed)
    );
    if ok < args.streams as u64 {
        bail!(
            "{} of {} publishers could not start",
            args.streams as u64 - ok,
            args.streams
        );
    }
    Ok(())
}
