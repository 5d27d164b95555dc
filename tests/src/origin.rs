//! # A real `ferrocast-origin` on free ports
//!
//! [`Origin::start`] writes a TOML config (the keys of `docs/CONTRACTS-dev.md`) into
//! a fresh temp dir, starts the binary under the [supervisor](crate::process) with
//! its stderr captured to `origin.stderr.log`, and waits until `GET /healthz`
//! answers 200. Dropping the [`Origin`] stops the process and removes the dir.
//!
//! The binary is `$FERROCAST_ORIGIN_BIN` if set, else
//! `$CARGO_TARGET_DIR/debug/ferrocast-origin` (default target dir: the workspace's
//! `target/`). If that file is missing, `cargo build -p origin` is run once.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::http;
use crate::process::Supervised;

/// How long the origin may take from spawn to a 200 on `/healthz`.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `[packaging]` section and the channels of a test origin.
#[derive(Debug, Clone)]
pub struct OriginConfig {
    /// `[packaging] segment_target_s`.
    pub segment_target_s: f64,
    /// `[packaging] part_target_s`.
    pub part_target_s: f64,
    /// `[packaging] window_s`.
    pub window_s: f64,
    /// `[packaging] reconnect_grace_s`.
    pub reconnect_grace_s: f64,
    /// `[[channels]]`: `(name, stream_key)`.
    pub channels: Vec<(String, String)>,
    /// `RUST_LOG` for the origin.
    pub rust_log: String,
    /// More TOML sections (e.g. `[api]`, `[database]`), placed before `[[channels]]`.
    pub extra_toml: String,
    /// `[srt] passphrase`.
    pub srt_passphrase: Option<String>,
    /// More `[webrtc]` keys (the section holds the harness's `udp_listen`).
    pub webrtc_toml: String,
}

impl Default for OriginConfig {
    /// Short segments and parts so that tests reach steady state quickly.
    fn default() -> Self {
        Self {
            segment_target_s: 1.0,
            part_target_s: 0.25,
            window_s: 12.0,
            reconnect_grace_s: 10.0,
            channels: vec![("test".into(), unique_key("test"))],
            rust_log: "info".into(),
            extra_toml: String::new(),
            srt_passphrase: None,
            webrtc_toml: String::new(),
        }
    }
}

impl OriginConfig {
    /// Renders the TOML file. `extra` are free ports for the listeners this test
    /// does not use (`[http3]`, `[srt]`, `[webrtc]`), so that parallel origins never
    /// collide on a default port.
    pub fn to_toml(
        &self,
        http: SocketAddr,
        rtmp: SocketAddr,
        extra: [u16; 3],
        data_dir: &Path,
    ) -> String {
        let mut s = format!(
            "[http]\nlisten = \"{http}\"\n\n[rtmp]\nlisten = \"{rtmp}\"\n\n\
             [http3]\nlisten = \"127.0.0.1:{h3}\"\n\n[srt]\nlisten = \"127.0.0.1:{srt}\"\n\n\
             [webrtc]\nudp_listen = \"127.0.0.1:{rtc}\"\n{webrtc}\n\
             [storage]\ndata_dir = {data:?}\n\n[packaging]\nsegment_target_s = {seg:?}\n\
             part_target_s = {part:?}\nwindow_s = {win}\nreconnect_grace_s = {grace}\n",
            data = data_dir.display().to_string(),
            seg = self.segment_target_s,
            part = self.part_target_s,
            win = toml_number(self.window_s),
            h3 = extra[0],
            srt = extra[1],
            rtc = extra[2],
            webrtc = self.webrtc_toml,
            grace = toml_number(self.reconnect_grace_s),
        );
        if let Some(p) = &self.srt_passphrase {
            s = s.replace(
                &format!("[srt]\nlisten = \"127.0.0.1:{}\"\n", extra[1]),
                &format!(
                    "[srt]\nlisten = \"127.0.0.1:{}\"\npassphrase = {p:?}\n",
                    extra[1]
                ),
            );
        }
        if !self.extra_toml.is_empty() {
            s.push('\n');
            s.push_str(&self.extra_toml);
            s.push('\n');
        }
        for (name, key) in &self.channels {
            s.push_str(&format!(
                "\n[[channels]]\nname = {name:?}\nstream_key = {key:?}\n"
            ));
        }
        s
    }

    /// The stream key of channel `name`.
    pub fn key_of(&self, name: &str) -> &str {
        self.channels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.as_str())
            .unwrap_or_else(|| panic!("no channel {name} in the test config"))
    }
}

/// Integers as integers (`window_s = 12`), others as floats: either is valid TOML
/// for a float key, but an integer key would reject `12.0`.
fn toml_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

/// A stream key that cannot be confused with anything else in a log.
pub fn unique_key(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-sk-{:08x}{:04x}",
        nanos ^ std::process::id(),
        next_counter()
    )
}

fn next_counter() -> u32 {
    static C: Mutex<u32> = Mutex::new(0);
    let mut c = C.lock().unwrap_or_else(|e| e.into_inner());
    *c += 1;
    *c
}

/// A running origin. See the module docs.
pub struct Origin {
    /// `[http] listen`.
    pub http: SocketAddr,
    /// `[rtmp] listen`.
    pub rtmp: SocketAddr,
    /// `[srt] listen` (UDP).
    pub srt: SocketAddr,
    /// `[webrtc] udp_listen`.
    pub webrtc: SocketAddr,
    /// The configuration it was started with.
    pub config: OriginConfig,
    proc: Supervised,
    dir: tempfile::TempDir,
    restarts: u32,
}

impl Origin {
    /// Starts an origin with `config` and waits for `/healthz`.
    pub fn start(config: OriginConfig) -> Result<Self> {
        let bin = origin_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("ferrocast-e2e-")
            .tempdir()?;
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir)?;
        let ports = free_ports(5)?;
        let http: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse()?;
        let rtmp: SocketAddr = format!("127.0.0.1:{}", ports[1]).parse()?;
        let cfg_path = dir.path().join("origin.toml");
        std::fs::write(
            &cfg_path,
            config.to_toml(http, rtmp, [ports[2], ports[3], ports[4]], &data_dir),
        )?;
        let proc = spawn_origin(&bin, dir.path(), &config.rust_log, "")?;
        let srt: SocketAddr = format!("127.0.0.1:{}", ports[3]).parse()?;
        let webrtc: SocketAddr = format!("127.0.0.1:{}", ports[4]).parse()?;
        let mut origin = Self {
            http,
            rtmp,
            srt,
            webrtc,
            config,
            proc,
            dir,
            restarts: 0,
        };
        origin.wait_healthy()?;
        eprintln!(
            "[harness] origin pid {} http {} rtmp {} dir {}",
            origin.proc.pid(),
            origin.http,
            origin.rtmp,
            origin.dir.path().display()
        );
        Ok(origin)
    }

    /// Stops the origin (SIGKILL when `hard`, else SIGTERM with a 10 s grace) and
    /// starts it again on the same configuration, ports and data directory; waits
    /// for `/healthz`. Its log is then the new process's.
    pub fn restart(&mut self, hard: bool) -> Result<()> {
        if hard {
            self.proc.kill_hard()?;
        } else {
            self.proc.stop(Duration::from_secs(10))?;
        }
        self.restarts += 1;
        let suffix = format!(".{}", self.restarts);
        self.proc = spawn_origin(
            &origin_binary()?,
            self.dir.path(),
            &self.config.rust_log,
            &suffix,
        )?;
        self.wait_healthy()
    }

    fn wait_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = self.url("/healthz");
        loop {
            if let Some(st) = self.proc.try_wait()? {
                bail!(
                    "ferrocast-origin exited with {st} during start-up; stderr:\n{}",
                    self.log()
                );
            }
            if let Ok(r) = http::get_with_timeout(&url, Duration::from_secs(2)) {
                if r.status == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "ferrocast-origin not healthy after {STARTUP_TIMEOUT:?}; stderr:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// `http://…/live/{channel}/{rest}`.
    pub fn live_url(&self, channel: &str, rest: &str) -> String {
        self.url(&format!("/live/{channel}/{rest}"))
    }

    /// `rtmp://127.0.0.1:PORT/live/{key}`.
    pub fn rtmp_url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{}", self.rtmp, key)
    }

    /// Everything the origin wrote to stderr so far, ANSI escapes removed.
    pub fn log(&self) -> String {
        strip_ansi(&self.proc.stderr())
    }

    /// The log from byte offset `from` (a previous `log().len()`).
    pub fn log_since(&self, from: usize) -> String {
        let l = self.log();
        l.get(from..).unwrap_or("").to_owned()
    }

    /// Waits up to `timeout` for a log line after offset `from` matching `pred`.
    pub fn wait_log_line(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.log_since(from).lines().find(|l| pred(l)) {
                return Some(l.to_owned());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.proc.try_wait(), Ok(None))
    }

    /// The temp dir (config, logs, data).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts a client `program` (ffmpeg, srt-live-transmit, …) that lives no
    /// longer than the test, its output in `{name}.out` / `{name}.err` in
    /// [`Origin::dir`].
    pub fn spawn_beside(&self, name: &str, program: &str, args: &[String]) -> Result<Supervised> {
        Supervised::spawn(
            name,
            Path::new(program),
            args,
            &[],
            &self.dir().join(format!("{name}.out")),
            &self.dir().join(format!("{name}.err")),
        )
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.proc.stop(Duration::from_secs(5));
        if std::thread::panicking() || std::env::var_os("FERROCAST_TEST_SHOW_LOG").is_some() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("[harness] origin stderr (last {} lines):", tail.len());
            for l in tail.iter().rev() {
                eprintln!("  | {l}");
            }
        }
    }
}

/// Spawns `ferrocast-origin --config {dir}/origin.toml`, logging to
/// `origin.stdout{suffix}.log` / `origin.stderr{suffix}.log` in `dir`.
fn spawn_origin(bin: &Path, dir: &Path, rust_log: &str, suffix: &str) -> Result<Supervised> {
    Supervised::spawn(
        "ferrocast-origin",
        bin,
        &[
            "--config".into(),
            dir.join("origin.toml").display().to_string(),
        ],
        &[
            ("RUST_LOG".into(), rust_log.to_owned()),
            ("NO_COLOR".into(), "1".into()),
        ],
        &dir.join(format!("origin.stdout{suffix}.log")),
        &dir.join(format!("origin.stderr{suffix}.log")),
    )
}

/// Removes ANSI colour escapes (`ESC [ … m`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `n` distinct free TCP ports on 127.0.0.1, never handed out twice in this process.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let p = l.local_addr()?.port();
        held.push(l);
        if !given.contains(&p) {
            given.push(p);
            ports.push(p);
        }
    }
    Ok(ports)
}

/// The workspace root (`tests/..`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent dir")
        .to_owned()
}

/// Finds (and if missing, builds) the `ferrocast-origin` binary.
pub fn origin_binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| locate_or_build("FERROCAST_ORIGIN_BIN", "origin", "ferrocast-origin"))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// `$env_var`, else `target/debug/{bin}`, built with `cargo build -p {package}`
/// when missing.
pub fn locate_or_build(
    env_var: &str,
    package: &str,
    bin: &str,
) -> std::result::Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(env_var) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{env_var}={} is not a file", p.display()))
        };
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("debug").join(bin);
    if !path.is_file() {
        eprintln!(
            "[harness] {} missing: running `cargo build -p {package} --bin {bin}`",
            path.display()
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", package, "--bin", bin])
            .current_dir(workspace_root())
            .status()
            .map_err(|e| format!("run cargo build: {e}"))?;
        if !st.success() || !path.is_file() {
            return Err(format!(
                "`cargo build -p {package} --bin {bin}` failed ({st}); {} still missing",
                path.display()
            ));
        }
    }
    Ok(path)
}
