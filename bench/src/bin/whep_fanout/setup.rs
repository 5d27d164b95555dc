//! What the bench runs against: the 2.5 Mbit/s clip (encoded once with
//! ffmpeg, no B-frames), a release `ferrocast-origin` on free loopback ports
//! with one channel, and a paced RTMP publisher on its own thread.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bench::loop_clip::{send_tag, LoopClip};
use bench::rtmp_client::Publisher;
use bench::whep_client::http::{request, HttpUrl};

/// The bench channel's name.
pub(crate) const CHANNEL: &str = "bench";

/// Encodes the clip if `path` does not exist: 10 s of 1280x720 30 fps
/// `testsrc2` with temporal noise (so x264 spends the bitrate), x264 veryfast
/// at 2.372 Mbit/s, GOP 60, no B-frames (WebRTC carries none), AAC 128 kbit/s.
pub(crate) fn ensure_clip(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    eprintln!("encoding the 10 s clip once: {}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp.flv");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "10", "-vf", "noise=alls=12:allf=t"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-b:v", "2372k"])
        .args(["-maxrate", "2500k", "-bufsize", "5000k", "-g", "60"])
        .args(["-keyint_min", "60", "-sc_threshold", "0", "-bf", "0"])
        .args(["-c:a", "aac", "-b:a", "128k", "-f", "flv"])
        .arg(&tmp)
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg failed: {status}");
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// A running origin; killed on drop.
pub(crate) struct Origin {
    child: Child,
    /// `[http] listen`.
    pub http: SocketAddr,
    /// `[rtmp] listen`.
    pub rtmp: SocketAddr,
    /// The channel's stream key.
    pub key: String,
    /// The temp dir with the config, data and logs.
    pub dir: PathBuf,
}

impl Origin {
    /// Starts `bin` with a config of free loopback ports and one channel, and
    /// waits for `/healthz`.
    pub(crate) async fn start(bin: &Path) -> Result<Self> {
        if !bin.exists() {
            bail!(
                "{} is missing: cargo build --release -p origin",
                bin.display()
            );
        }
        let dir = std::env::temp_dir().join(format!("whep-fanout-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data"))?;
        let p = free_ports(5)?;
        let http: SocketAddr = format!("127.0.0.1:{}", p[0]).parse()?;
        let rtmp: SocketAddr = format!("127.0.0.1:{}", p[1]).parse()?;
        let key = format!("bench-sk-{:x}", std::process::id());
        // Short parts as in the e2e tests; WebRTC on loopback only.
        let toml = format!(
            "[http]\nlisten = \"{http}\"\n\n[rtmp]\nlisten = \"{rtmp}\"\n\n\
             [http3]\nlisten = \"127.0.0.1:{}\"\n\n[srt]\nlisten = \"127.0.0.1:{}\"\n\n\
             [webrtc]\nudp_listen = \"127.0.0.1:{}\"\n\n[storage]\ndata_dir = {:?}\n\n\
             [packaging]\nsegment_target_s = 2.0\npart_target_s = 0.333\n\n\
             [[channels]]\nname = \"{CHANNEL}\"\nstream_key = \"{key}\"\n",
            p[2],
            p[3],
            p[4],
            dir.join("data").display().to_string(),
        );
        let cfg = dir.join("origin.toml");
        std::fs::write(&cfg, toml)?;
        let log = std::fs::File::create(dir.join("origin.stderr.log"))?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let origin = Origin {
            child,
            http,
            rtmp,
            key,
            dir,
        };
        let health = HttpUrl::parse(&format!("http://{http}/healthz"))?;
        let t0 = Instant::now();
        loop {
            if let Ok(r) = request(hyper::Method::GET, &health, None, None).await {
                if r.status == 200 {
                    return Ok(origin);
                }
            }
            if t0.elapsed() > Duration::from_secs(20) {
                bail!(
                    "origin not healthy after 20 s; see {}",
                    origin.dir.join("origin.stderr.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id (for CPU accounting).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<_>>()?;
    Ok(listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<_>>()?)
}

/// Publishes `clip` in a loop, paced at real time, to `url` on a thread of its
/// own (so a busy viewer runtime cannot delay it) until `stop`.
pub(crate) fn spawn_publisher(
    clip: Arc<LoopClip>,
    url: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(publish(&clip, &url, &stop))
    })
}

async fn publish(clip: &LoopClip, url: &str, stop: &AtomicBool) -> Result<()> {
    let mut p = Publisher::connect(url)
        .await
        .with_context(|| format!("publishing to {url}"))?;
    clip.send_start(&mut p).await?;
    let start = tokio::time::Instant::now();
    let mut offset = 0u64;
    'run: loop {
        for tag in &clip.media {
            if stop.load(Relaxed) {
                break 'run;
            }
            let ts = offset + u64::from(tag.timestamp);
            tokio::time::sleep_until(start + Duration::from_millis(ts)).await;
            send_tag(&mut p, tag, ts as u32).await?;
        }
        offset += clip.length_ms;
    }
    p.close().await?;
    Ok(())
}
