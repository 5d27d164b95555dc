//! # A real `ferrocast-edge` on a free port
//!
//! [`Edge::start`] writes a TOML config (the keys of `configs/edge.toml`) into a
//! fresh temp dir, starts the binary under the [supervisor](crate::process) with
//! its stdout and stderr captured, and waits until `GET /healthz` answers 200 and
//! the banner `ferrocast-edge listening on http://ADDR` was printed. Dropping the
//! [`Edge`] stops the process and removes the dir (not the disk-tier dir, which the
//! caller owns, so that a test can start a second edge on it).
//!
//! [`Edge::stop`] (or [`Edge::kill_hard`]) and [`Edge::start_again`] (or
//! [`Edge::restart`]) run the same config on the same port again: the disk tier's store files and index snapshot
//! survive, the memory tier does not.
//!
//! The binary is `$FERROCAST_EDGE_BIN` if set, else
//! `$CARGO_TARGET_DIR/debug/ferrocast-edge`; if that file is missing,
//! `cargo build -p edge --bin ferrocast-edge` is run once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::http;
use crate::origin::{free_ports, locate_or_build, strip_ansi, STARTUP_TIMEOUT};
use crate::process::Supervised;

/// How long a `SIGTERM`ed edge may take to drain and write its index snapshot.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a test edge is configured with.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// `[upstream] parents`: `http://127.0.0.1:PORT` of origins or other edges.
    pub parents: Vec<String>,
    /// `[cache.memory] bytes` (the edge refuses less than 1 MiB).
    pub memory_bytes: u64,
    /// `[cache.disk] path, bytes` (at least 64 MiB); `None`: no disk tier.
    pub disk: Option<(PathBuf, u64)>,
    /// `[api] admin_keys` (each at least 16 characters); empty: no purge API.
    pub admin_keys: Vec<String>,
    /// `[cache.disk] snapshot_interval_s`; `None`: the edge's default.
    pub snapshot_interval_s: Option<u64>,
    /// More `[http]` keys, as (key, TOML value): limits such as `header_timeout_ms`.
    pub http_keys: Vec<(String, String)>,
    /// `RUST_LOG` for the edge.
    pub rust_log: String,
    /// `[auth] public_key` (base64url Ed25519), when tokens are verified.
    pub public_key: Option<String>,
    /// `[tls] cert, key`: HTTPS on the HTTP port, and HTTP/3 on the same port
    /// number over UDP (as browsers expect).
    pub tls: Option<crate::h3::TlsFiles>,
    /// More `[http3]` keys, as (key, TOML value).
    pub http3_keys: Vec<(String, String)>,
}

impl EdgeConfig {
    /// An edge in front of `parents` with a 64 MiB memory tier, no disk tier and no
    /// purge API.
    pub fn new(parents: Vec<String>) -> Self {
        Self {
            parents,
            memory_bytes: 64 << 20,
            disk: None,
            admin_keys: Vec::new(),
            snapshot_interval_s: None,
            http_keys: Vec::new(),
            rust_log: "info".into(),
            public_key: None,
            tls: None,
            http3_keys: Vec::new(),
        }
    }

    /// Renders the TOML file. `http3` is a free port for the HTTP/3 listener when
    /// there is no TLS (it does not run then), so parallel edges never collide on its
    /// default; with TLS it shares the HTTP port's number.
    pub fn to_toml(&self, http: SocketAddr, http3: u16) -> String {
        let http3 = if self.tls.is_some() {
            http.port()
        } else {
            http3
        };
        let http3_keys: String = self
            .http3_keys
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        let list = |xs: &[String]| {
            xs.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let http_keys: String = self
            .http_keys
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        let mut s = format!(
            "[http]\nlisten = \"{http}\"\n{http_keys}\n[http3]\nlisten = \"127.0.0.1:{http3}\"\n{http3_keys}\n\
             [upstream]\nparents = [{parents}]\n\n[cache.memory]\nbytes = {mem}\n\n\
             [api]\nadmin_keys = [{keys}]\n",
            parents = list(&self.parents),
            mem = self.memory_bytes,
            keys = list(&self.admin_keys),
        );
        if let Some(key) = &self.public_key {
            s.push_str(&format!("\n[auth]\npublic_key = {key:?}\n"));
        }
        if let Some(tls) = &self.tls {
            s.push_str(&format!(
                "\n[tls]\ncert = {:?}\nkey = {:?}\n",
                tls.cert.display().to_string(),
                tls.key.display().to_string()
            ));
        }
        if let Some((path, bytes)) = &self.disk {
            s.push_str(&format!(
                "\n[cache.disk]\npath = {:?}\nbytes = {bytes}\n",
                path.display().to_string()
            ));
            if let Some(secs) = self.snapshot_interval_s {
                s.push_str(&format!("snapshot_interval_s = {secs}\n"));
            }
        }
        s
    }
}

/// A running (or stopped, between [`Edge::stop`] and [`Edge::start_again`]) edge.
pub struct Edge {
    /// `[http] listen`.
    pub http: SocketAddr,
    /// The configuration it was started with.
    pub config: EdgeConfig,
    proc: Option<Supervised>,
    runs: u32,
    bin: PathBuf,
    cfg_path: PathBuf,
    dir: tempfile::TempDir,
}

impl Edge {
    /// Starts an edge with `config` and waits for `/healthz` and the banner.
    pub fn start(config: EdgeConfig) -> Result<Self> {
        let bin = edge_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("ferrocast-e2e-edge-")
            .tempdir()?;
        if let Some((path, _)) = &config.disk {
            std::fs::create_dir_all(path)
                .with_context(|| format!("create the disk-tier dir {}", path.display()))?;
        }
        let ports = free_ports(2)?;
        let http: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse()?;
        let cfg_path = dir.path().join("edge.toml");
        std::fs::write(&cfg_path, config.to_toml(http, ports[1]))?;
        let mut edge = Self {
            http,
            config,
            proc: None,
            runs: 0,
            bin,
            cfg_path,
            dir,
        };
        edge.start_again()?;
        Ok(edge)
    }

    /// Starts the process again (same config, port and disk dir) after [`Edge::stop`].
    pub fn start_again(&mut self) -> Result<()> {
        if self.proc.is_some() {
            bail!("ferrocast-edge on {} is already running", self.http);
        }
        self.runs += 1;
        let run = self.runs;
        let proc = Supervised::spawn(
            &format!("ferrocast-edge#{run}"),
            &self.bin,
            &["--config".into(), self.cfg_path.display().to_string()],
            &[
                ("RUST_LOG".into(), self.config.rust_log.clone()),
                ("NO_COLOR".into(), "1".into()),
            ],
            &self.stdout_path(run),
            &self.dir.path().join(format!("edge-{run}.stderr.log")),
        )?;
        self.proc = Some(proc);
        self.wait_healthy()?;
        eprintln!(
            "[harness] edge run {run} pid {} http {} parents {:?} dir {}",
            self.pid().unwrap_or(0),
            self.http,
            self.config.parents,
            self.dir.path().display()
        );
        Ok(())
    }

    /// Sends `SIGTERM` and waits (up to [`STOP_GRACE`], then `SIGKILL`) for the
    /// process to end; the graceful path writes the disk index snapshot.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        let mut proc = self.proc.take().context("the edge is not running")?;
        let st = proc
            .stop(STOP_GRACE)?
            .context("ferrocast-edge did not exit even after SIGKILL")?;
        eprintln!("[harness] edge run {} stopped: {st}", self.runs);
        Ok(st)
    }

    /// Sends `SIGKILL` (a crash: no drain, no index snapshot) and reaps the process.
    pub fn kill_hard(&mut self) -> Result<()> {
        let mut proc = self.proc.take().context("the edge is not running")?;
        proc.kill_hard()?;
        eprintln!("[harness] edge run {} killed", self.runs);
        Ok(())
    }

    /// [`Edge::stop`], checking that the edge exited successfully, then
    /// [`Edge::start_again`].
    pub fn restart(&mut self) -> Result<()> {
        let st = self.stop()?;
        if !st.success() {
            bail!(
                "ferrocast-edge exited with {st} on SIGTERM; stderr:\n{}",
                self.log()
            );
        }
        self.start_again()
    }

    fn stdout_path(&self, run: u32) -> PathBuf {
        self.dir.path().join(format!("edge-{run}.stdout.log"))
    }

    fn wait_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = self.url("/healthz");
        let scheme = if self.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let banner = format!("ferrocast-edge listening on {scheme}://{}", self.http);
        let stdout = self.stdout_path(self.runs);
        loop {
            let proc = self.proc.as_mut().context("the edge is not running")?;
            if let Some(st) = proc.try_wait()? {
                let log = self.log();
                self.proc = None;
                bail!("ferrocast-edge exited with {st} during start-up; stderr:\n{log}");
            }
            // With TLS the plain client cannot probe; the banner follows readiness.
            let healthy = self.config.tls.is_some()
                || http::get_with_timeout(&url, Duration::from_secs(2))
                    .is_ok_and(|r| r.status == 200);
            // The banner is printed right after the listener is up: wait for both.
            let printed = std::fs::read_to_string(&stdout).is_ok_and(|s| s.contains(&banner));
            if healthy && printed {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "ferrocast-edge not ready after {STARTUP_TIMEOUT:?} (healthz 200: {healthy}, \
                     banner {banner:?} printed: {printed}); stderr:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The real program's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(Supervised::pid)
    }

    /// `http://127.0.0.1:PORT{path}`; `url("")` is the form `[upstream] parents` takes.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// `https://localhost:PORT{path}` (the name the test certificate has).
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.http.port(), path)
    }

    /// `http://…/live/{channel}/{rest}`.
    pub fn live_url(&self, channel: &str, rest: &str) -> String {
        self.url(&format!("/live/{channel}/{rest}"))
    }

    /// `GET {path}` on this edge.
    pub fn get(&self, path: &str) -> Result<http::Response> {
        http::get(&self.url(path))
    }

    /// `POST /api/v1/purge?{query}` with `Authorization: Bearer {key}` (none when
    /// `key` is `None`); returns the status and the body.
    pub fn purge(&self, query: &str, key: Option<&str>) -> Result<(u16, String)> {
        let url = self.url(&format!("/api/v1/purge?{query}"));
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build();
        let mut req = agent.post(&url);
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e).with_context(|| format!("POST {url}")),
        };
        let status = resp.status();
        Ok((status, resp.into_string()?))
    }

    /// The sum of every sample of metric `name` whose labels include all of
    /// `labels` (`&[]`: every series), from `GET /metrics`; 0 when none exists yet.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Result<f64> {
        if let Some(tls) = &self.config.tls {
            let (_, body) = crate::h3::curl_fetch(&self.https_url("/metrics"), false, &tls.cert)?;
            return Ok(sum_samples(&String::from_utf8_lossy(&body), name, labels));
        }
        let r = self.get("/metrics")?;
        if r.status != 200 {
            bail!("{}", r.summary());
        }
        Ok(sum_samples(&r.text(), name, labels))
    }

    /// Sends `request` as raw bytes (for requests a URL library would refuse or
    /// normalise) and returns the status code of the answer.
    pub fn raw_status(&self, request: &[u8]) -> Result<u16> {
        raw_status(self.http, request)
    }

    /// Everything the current (or last) run wrote to stderr, ANSI escapes removed.
    pub fn log(&self) -> String {
        let path = self
            .dir
            .path()
            .join(format!("edge-{}.stderr.log", self.runs));
        strip_ansi(&std::fs::read_to_string(path).unwrap_or_default())
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.proc
            .as_mut()
            .is_some_and(|p| matches!(p.try_wait(), Ok(None)))
    }

    /// The temp dir (config, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            let _ = p.stop(STOP_GRACE);
        }
        if std::thread::panicking() || std::env::var_os("FERROCAST_TEST_SHOW_LOG").is_some() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "[harness] edge {} run {} stderr (last {} lines):",
                self.http,
                self.runs,
                tail.len()
            );
            for l in tail.iter().rev() {
                eprintln!("  | {l}");
            }
        }
    }
}

/// Finds (and if missing, builds) the `ferrocast-edge` binary.
pub fn edge_binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| locate_or_build("FERROCAST_EDGE_BIN", "edge", "ferrocast-edge"))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Sends raw `request` bytes to `addr`, reads the answer until the peer closes (or
/// 10 s pass) and returns the status code of its first line.
pub fn raw_status(addr: SocketAddr, request: &[u8]) -> Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request)?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) if !answer.is_empty() => break,
            Err(e) => return Err(e).context("no answer to a raw request"),
        }
        // One response head is all we need.
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or("");
    status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP/1 response: {status_line:?}"))
}

/// Sums the samples of `name` in Prometheus text exposition whose labels include
/// all of `labels`.
pub fn sum_samples(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(parse_sample)
        .filter(|(n, ls, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

/// One sample of the text exposition: name, `(label, value)` pairs, value.
type Sample = (String, Vec<(String, String)>, f64);

/// `name{a="b",c="d"} value` → `(name, [(a, b), (c, d)], value)`.
fn parse_sample(line: &str) -> Option<Sample> {
    let line = line.trim();
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let Some((name, rest)) = series.split_once('{') else {
        return Some((series.to_owned(), Vec::new(), value));
    };
    let body = rest.strip_suffix('}')?;
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('"') {
            return None;
        }
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => val.push(chars.next()?),
                '"' => break,
                c => val.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').trim().to_owned(), val));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Some((name.to_owned(), labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_matching_samples() {
        let text = "# HELP x y\n# TYPE x counter\n\
            ferrocast_edge_upstream_responses_total{parent=\"127.0.0.1:1\",status=\"200\"} 3\n\
            ferrocast_edge_upstream_responses_total{parent=\"127.0.0.1:2\",status=\"200\"} 4\n\
            ferrocast_edge_upstream_responses_total{parent=\"127.0.0.1:1\",status=\"404\"} 1\n\
            ferrocast_edge_cache_disk_writes_total 7\n";
        let n = "ferrocast_edge_upstream_responses_total";
        assert_eq!(sum_samples(text, n, &[]), 8.0);
        assert_eq!(sum_samples(text, n, &[("status", "200")]), 7.0);
        assert_eq!(sum_samples(text, n, &[("parent", "127.0.0.1:1")]), 4.0);
        assert_eq!(sum_samples(text, n, &[("status", "500")]), 0.0);
        assert_eq!(
            sum_samples(text, "ferrocast_edge_cache_disk_writes_total", &[]),
            7.0
        );
        assert_eq!(sum_samples(text, "ferrocast_edge_cache_disk", &[]), 0.0);
    }

    #[test]
    fn renders_the_disk_tier_only_when_asked() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut c = EdgeConfig::new(vec!["http://127.0.0.1:8".into()]);
        assert!(!c.to_toml(addr, 10).contains("[cache.disk]"));
        c.disk = Some(("/tmp/x".into(), 64 << 20));
        c.admin_keys = vec!["0123456789abcdef".into()];
        let t = c.to_toml(addr, 10);
        assert!(t.contains("[cache.disk]\npath = \"/tmp/x\"\nbytes = 67108864"));
        assert!(t.contains("admin_keys = [\"0123456789abcdef\"]"));
        assert!(t.contains("parents = [\"http://127.0.0.1:8\"]"));
    }
}
