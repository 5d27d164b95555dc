//! # whep-fanout — WHEP viewers of one channel per origin core, vs LL-HLS
//!
//! ```text
//! whep-fanout [--origin-bin target/release/ferrocast-origin] [--clip FILE.flv]
//!             [--steps 25,50,100,200,250,300,350,400] [--max 400] [--step-s 10] [--settle-s 3]
//!             [--hls-viewers N] [--no-hls] [--no-whep] [--client-threads 1] [--budget-s 270]
//! whep-fanout --whep-url http://127.0.0.1:8089/whep --pid PID [--fps 30] [--no-audio]
//!             [--hls-url http://HOST:PORT/live/CH/master.m3u8] ...
//! either: [--reorder-packets 1500] [--recv-buffer 2097152 (0: system default)]
//! ```
//! By default it starts a release origin on loopback, publishes the 2.5 Mbit/s
//! clip (H.264 without B-frames + AAC, encoded once with ffmpeg) over RTMP from
//! a thread of its own, then:
//!
//! 1. **Baseline**: the origin's CPU with the publisher alone (`--settle-s`).
//! 2. **WHEP ramp**: viewers (`bench::whep_client`, video + audio) are added up
//!    to each step; once connected and settled, the origin's CPU (process tree,
//!    `/proc`) and every viewer's counters are read over a `--step-s` window. A
//!    step is *sustained* when every viewer got ≥ 98 % of the frames the clip
//!    has, no RTP packet stayed lost, and the origin used ≤ 1.0 core. The ramp
//!    stops at the first step that is not, or at `--max`, or when the time
//!    budget would be exceeded.
//! 3. **LL-HLS**: the WHEP viewers leave (DELETE); after a new baseline,
//!    `--hls-viewers` emulated LL-HLS viewers (blocking playlist reloads and
//!    parts, one keep-alive connection per playlist) watch for a window.
//!
//! Cost per viewer is the origin's CPU above its baseline, divided by viewers,
//! in CPU-ms per viewer-second; viewers per core is 1000 over that. The last
//! line is `RESULT ...` with the ratio WHEP / LL-HLS. The viewers run on this
//! process's `--client-threads` (default one) thread(s) on the same machine;
//! its CPU is printed too: near 1.0 per thread, the client is the limit.
//! Against another server (`--whep-url`, e.g. the str0m spike), `--pid` names
//! the process whose CPU is measured and there is no LL-HLS phase unless
//! `--hls-url` is given.

#[path = "whep_fanout/llhls.rs"]
mod llhls;
#[path = "whep_fanout/setup.rs"]
mod setup;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bench::edge_load::server_cpu::{CpuMeter, CpuUse};
use bench::loop_clip::LoopClip;
use bench::whep_client::{ViewerStats, Viewers, WhepOptions, WhepViewer, LARGE_RECV_BUFFER};

const USAGE: &str = "usage: whep-fanout [--origin-bin PATH] [--clip FILE.flv] \
[--steps 25,50,100,200,250,300,350,400] [--max 400] [--step-s 10] [--settle-s 3] [--hls-viewers N] [--no-hls] \
[--no-whep] [--client-threads 1] [--budget-s 270] | --whep-url URL --pid PID [--fps 30] [--no-audio] [--hls-url URL] [--reorder-packets N] [--recv-buffer BYTES]";

/// Frames a sustained viewer must get, as a share of the clip's.
const MIN_FRAME_SHARE: f64 = 0.98;

/// Origin CPU a sustained step may use, in cores.
const MAX_ORIGIN_CORES: f64 = 1.0;

struct Args {
    origin_bin: PathBuf,
    clip: PathBuf,
    steps: Vec<usize>,
    max: usize,
    step_s: f64,
    settle_s: f64,
    hls_viewers: Option<usize>,
    no_hls: bool,
    no_whep: bool,
    client_threads: usize,
    budget_s: f64,
    whep_url: Option<String>,
    pid: Option<u32>,
    fps: Option<f64>,
    audio: bool,
    reorder_packets: Option<usize>,
    recv_buffer: Option<usize>,
    hls_url: Option<String>,
}

fn parse_args() -> Result<Args> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mut a = Args {
        origin_bin: PathBuf::from(&target).join("release/ferrocast-origin"),
        clip: PathBuf::from(&target).join("bench-clip-2500k-nobf.flv"),
        steps: vec![25, 50, 100, 200, 250, 300, 350, 400],
        max: 400,
        step_s: 10.0,
        settle_s: 3.0,
        hls_viewers: None,
        no_hls: false,
        no_whep: false,
        client_threads: 1,
        budget_s: 270.0,
        whep_url: None,
        pid: None,
        fps: None,
        audio: true,
        reorder_packets: None,
        recv_buffer: None,
        hls_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--origin-bin" => a.origin_bin = value()?.into(),
            "--clip" => a.clip = value()?.into(),
            "--steps" => {
                a.steps = value()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()
                    .context("--steps")?
            }
            "--max" => a.max = value()?.parse().context("--max")?,
            "--step-s" => a.step_s = value()?.parse().context("--step-s")?,
            "--settle-s" => a.settle_s = value()?.parse().context("--settle-s")?,
            "--hls-viewers" => a.hls_viewers = Some(value()?.parse().context("--hls-viewers")?),
            "--no-hls" => a.no_hls = true,
            "--no-whep" => a.no_whep = true,
            "--client-threads" => {
                a.client_threads = value()?.parse().context("--client-threads")?
            }
            "--budget-s" => a.budget_s = value()?.parse().context("--budget-s")?,
            "--whep-url" => a.whep_url = Some(value()?),
            "--pid" => a.pid = Some(value()?.parse().context("--pid")?),
            "--fps" => a.fps = Some(value()?.parse().context("--fps")?),
            "--no-audio" => a.audio = false,
            "--reorder-packets" => {
                a.reorder_packets = Some(value()?.parse().context("--reorder-packets")?)
            }
            "--recv-buffer" => a.recv_buffer = Some(value()?.parse().context("--recv-buffer")?),
            "--hls-url" => a.hls_url = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    a.steps.retain(|&n| n > 0 && n <= a.max);
    a.steps.sort_unstable();
    a.steps.dedup();
    if a.steps.is_empty() || a.max > 5000 || a.step_s < 1.0 || a.step_s > 600.0 {
        bail!("steps must be 1..=max (max ≤ 5000), --step-s 1..600\n{USAGE}");
    }
    if a.whep_url.is_some() && a.pid.is_none() {
        bail!("--whep-url needs --pid (the server whose CPU is measured)");
    }
    Ok(a)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let rt = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()?
    };
    rt.block_on(run(args))
}

/// Where the viewers go and whose CPU counts.
struct Target {
    whep_url: String,
    hls: Option<(String, String)>,
    pid: u32,
    fps: f64,
    _origin: Option<setup::Origin>,
}

async fn run(args: Args) -> Result<()> {
    let t_start = Instant::now();
    let stop_publisher = Arc::new(AtomicBool::new(false));
    let mut publisher = None;
    let target = match &args.whep_url {
        Some(url) => Target {
            whep_url: url.clone(),
            hls: match &args.hls_url {
                Some(u) => Some(split_url(u)?),
                None => None,
            },
            pid: args.pid.context("--pid")?,
            fps: args.fps.unwrap_or(30.0),
            _origin: None,
        },
        None => {
            setup::ensure_clip(&args.clip)?;
            let clip = Arc::new(LoopClip::load(&args.clip)?);
            let origin = setup::Origin::start(&args.origin_bin).await?;
            eprintln!(
                "origin pid {} http {} (dir {})",
                origin.pid(),
                origin.http,
                origin.dir.display()
            );
            let url = format!("rtmp://{}/live/{}", origin.rtmp, origin.key);
            publisher = Some(setup::spawn_publisher(
                clip.clone(),
                url,
                stop_publisher.clone(),
            ));
            Target {
                whep_url: format!("http://{}/whep/{}", origin.http, setup::CHANNEL),
                hls: Some((
                    origin.http.to_string(),
                    format!("/live/{}/master.m3u8", setup::CHANNEL),
                )),
                pid: origin.pid(),
                fps: args.fps.unwrap_or(1000.0 / clip.frame_ms),
                _origin: Some(origin),
            }
        }
    };
    let mut opts = WhepOptions {
        audio: args.audio,
        recv_buffer: Some(LARGE_RECV_BUFFER),
        ..WhepOptions::default()
    };
    if let Some(n) = args.reorder_packets {
        opts.video_reorder_packets = n;
    }
    if let Some(b) = args.recv_buffer {
        // 0: the system default.
        opts.recv_buffer = (b > 0).then_some(b);
    }
    if args.no_whep {
        if let Some((authority, master)) = &target.hls {
            wait_hls(authority, master).await?;
        }
    } else {
        wait_live(&target.whep_url, &opts).await?;
    }
    let meter = CpuMeter::new(Some(target.pid));

    println!(
        "# whep-fanout {} fps={:.2} step_s={} (client threads {})",
        target.whep_url, target.fps, args.step_s, args.client_threads
    );
    let base = measure(&meter, args.settle_s.max(3.0)).await;
    let base_share = base.server_share().unwrap_or(0.0);
    println!("baseline (publisher only): origin {:.3} cores", base_share);
    println!("viewers  origin_cores  client_cores  ms_cpu_per_viewer_s  fps_min  fps_mean  lossy  short  nacks  plis  connect_p50_ms  sustained  marginal_ms");

    let mut viewers = Viewers::new();
    let mut best: Option<Step> = None;
    let mut prev: Option<(usize, f64)> = None;
    let origin_is_child = target._origin.is_some();
    let steps = if args.no_whep {
        &[][..]
    } else {
        &args.steps[..]
    };
    for &n in steps {
        // A step takes about connect + settle + window; stop before the budget.
        let needed = args.step_s + args.settle_s + 10.0 + 30.0;
        if t_start.elapsed().as_secs_f64() + needed > args.budget_s {
            eprintln!("time budget reached before {n} viewers");
            break;
        }
        let add = n - viewers.len();
        viewers.add(&target.whep_url, add, &opts, 16).await;
        if !viewers.failures().is_empty() {
            eprintln!(
                "{} viewers failed to start, first: {}",
                viewers.failures().len(),
                viewers.failures()[0]
            );
        }
        let connected = viewers.wait_connected(Duration::from_secs(15)).await;
        tokio::time::sleep(Duration::from_secs_f64(args.settle_s)).await;
        let step = measure_step(
            &meter,
            &viewers,
            args.step_s,
            target.fps,
            base_share,
            origin_is_child,
        )
        .await;
        let marginal = prev.map(|(pn, pc): (usize, f64)| {
            (step.origin_cores - pc) * 1000.0 / (n as f64 - pn as f64)
        });
        prev = Some((n, step.origin_cores));
        println!("{}  {}", step.row(connected), fmt_opt(marginal));
        let ok = step.sustained && connected == n && viewers.failures().is_empty();
        if ok {
            best = Some(step);
        } else {
            break;
        }
    }
    let closed = viewers.close(32).await;
    eprintln!("{} WHEP viewers closed", closed.len());

    let mut hls_cost = None;
    if let (Some((authority, master)), false) = (&target.hls, args.no_hls) {
        let n = args
            .hls_viewers
            .or(best.as_ref().map(|s| s.viewers))
            .unwrap_or(args.steps[0]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let base2 = measure(&meter, args.settle_s.max(3.0)).await;
        let base2_share = base2.server_share().unwrap_or(0.0);
        let counters = Arc::new(llhls::HlsCounters::default());
        let mut tasks = Vec::new();
        for _ in 0..n {
            tasks.push(tokio::spawn(llhls::viewer(
                authority.clone(),
                master.clone(),
                counters.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_secs_f64(args.settle_s)).await;
        let parts0 = counters.parts.load(Relaxed);
        let bytes0 = counters.bytes.load(Relaxed);
        let use_ = measure(&meter, args.step_s).await;
        let parts = counters.parts.load(Relaxed) - parts0;
        let bytes = counters.bytes.load(Relaxed) - bytes0;
        counters.stop.store(true, Relaxed);
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(12), t).await;
        }
        let share = use_.server_share().unwrap_or(f64::NAN);
        let per_viewer = (share - base2_share).max(0.0) * 1000.0 / n as f64;
        println!(
            "LL-HLS: {n} viewers, baseline {:.3} cores, origin {:.3} cores, client {:.3} cores, \
             {:.2} ms CPU per viewer-second, {:.1} parts/s and {:.2} Mbit/s per viewer, {} errors",
            base2_share,
            share,
            client_cores(&use_, origin_is_child),
            per_viewer,
            parts as f64 / use_.wall_s / n as f64,
            bytes as f64 * 8.0 / use_.wall_s / n as f64 / 1e6,
            counters.errors.load(Relaxed)
        );
        hls_cost = Some(per_viewer);
    }

    stop_publisher.store(true, Relaxed);
    if let Some(p) = publisher {
        match p.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("publisher: {e:#}"),
            Err(_) => eprintln!("publisher thread panicked"),
        }
    }
    let (n, whep_cost) = best
        .as_ref()
        .map_or((0, f64::NAN), |s| (s.viewers, s.ms_per_viewer_s));
    let per_core = if whep_cost > 0.0 {
        1000.0 / whep_cost
    } else {
        f64::INFINITY
    };
    let hls = hls_cost.unwrap_or(f64::NAN);
    println!(
        "RESULT sustained_viewers={n} whep_ms_per_viewer_s={whep_cost:.3} whep_viewers_per_core={per_core:.0} \
         hls_ms_per_viewer_s={hls:.3} ratio_whep_over_hls={:.2} elapsed_s={:.0}",
        whep_cost / hls,
        t_start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

/// `http://host:port/path` → (`host:port`, `/path`).
fn split_url(url: &str) -> Result<(String, String)> {
    let u = bench::whep_client::http::HttpUrl::parse(url)?;
    Ok((u.authority, u.path))
}

/// Waits (≤ 30 s) until the first media playlist of `master` lists parts.
async fn wait_hls(authority: &str, master: &str) -> Result<()> {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if llhls::probe(authority, master).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("http://{authority}{master} has no parts after 30 s")
}

/// Waits (≤ 30 s) until one viewer can connect and gets a key frame: the
/// channel is live and packaged.
async fn wait_live(url: &str, opts: &WhepOptions) -> Result<()> {
    let t0 = Instant::now();
    loop {
        let r = async {
            let v = WhepViewer::connect(url, opts).await?;
            v.wait_key_frame(Duration::from_secs(8)).await?;
            let _ = v.close().await;
            anyhow::Ok(())
        }
        .await;
        match r {
            Ok(()) => return Ok(()),
            Err(e) if t0.elapsed() > Duration::from_secs(30) => {
                return Err(e.context(format!("{url} not live after 30 s")))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn measure(meter: &CpuMeter, secs: f64) -> CpuUse {
    let a = meter.sample();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    a.until(&meter.sample())
}

/// This process's own CPU share: the meter reads our process tree, which
/// holds the origin when we started it.
fn client_cores(used: &CpuUse, origin_is_child: bool) -> f64 {
    let client = used.client_share().unwrap_or(f64::NAN);
    match (origin_is_child, used.server_share()) {
        (true, Some(server)) => (client - server).max(0.0),
        _ => client,
    }
}

/// One step's numbers.
struct Step {
    viewers: usize,
    origin_cores: f64,
    client_cores: f64,
    ms_per_viewer_s: f64,
    fps_min: f64,
    fps_mean: f64,
    lossy: usize,
    short: usize,
    nacks: u64,
    plis: u64,
    connect_p50: Option<Duration>,
    sustained: bool,
}

impl Step {
    fn row(&self, connected: usize) -> String {
        format!(
            "{:>7}  {:>12.3}  {:>12.3}  {:>19.3}  {:>7.1}  {:>8.1}  {:>5}  {:>5}  {:>5}  {:>4}  {:>14}  {}",
            format!("{connected}/{}", self.viewers),
            self.origin_cores,
            self.client_cores,
            self.ms_per_viewer_s,
            self.fps_min,
            self.fps_mean,
            self.lossy,
            self.short,
            self.nacks,
            self.plis,
            self.connect_p50
                .map_or("-".into(), |d| format!("{:.0}", d.as_secs_f64() * 1000.0)),
            if self.sustained { "yes" } else { "NO" }
        )
    }
}

async fn measure_step(
    meter: &CpuMeter,
    viewers: &Viewers,
    secs: f64,
    fps: f64,
    base_share: f64,
    origin_is_child: bool,
) -> Step {
    let before = viewers.stats();
    let used = measure(meter, secs).await;
    let after = viewers.stats();
    let windows: Vec<ViewerStats> = after.iter().zip(&before).map(|(a, b)| a.since(b)).collect();
    let n = windows.len().max(1);
    let fps_of = |w: &ViewerStats| w.video_frames as f64 / used.wall_s;
    let fps_min = windows.iter().map(fps_of).fold(f64::INFINITY, f64::min);
    let fps_mean = windows.iter().map(fps_of).sum::<f64>() / n as f64;
    let lossy = windows.iter().filter(|w| w.packets_lost > 0).count();
    if let Some(w) = windows.iter().find(|w| w.packets_lost > 0) {
        eprintln!("  a lossy viewer's window: {w:?}");
    }
    let ended = after.iter().filter(|s| s.ended.is_some()).count();
    if let Some(why) = after.iter().find_map(|s| s.ended.as_ref()) {
        eprintln!("  {ended} sessions ended, first because: {why}");
    }
    let short = windows
        .iter()
        .filter(|w| fps_of(w) < fps * MIN_FRAME_SHARE)
        .count();
    let mut connect: Vec<Duration> = after.iter().filter_map(|s| s.connected_after).collect();
    connect.sort_unstable();
    let origin_cores = used.server_share().unwrap_or(f64::NAN);
    let sustained = lossy == 0 && short == 0 && ended == 0 && origin_cores <= MAX_ORIGIN_CORES;
    Step {
        viewers: windows.len(),
        origin_cores,
        client_cores: client_cores(&used, origin_is_child),
        ms_per_viewer_s: (origin_cores - base_share).max(0.0) * 1000.0 / n as f64,
        fps_min,
        fps_mean,
        lossy,
        short,
        nacks: windows.iter().map(|w| w.nacks_sent).sum(),
        plis: windows.iter().map(|w| w.plis_sent).sum(),
        connect_p50: connect.get(connect.len() / 2).copied(),
        sustained,
    }
}
