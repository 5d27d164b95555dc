//! # HTTP/3 from the tests: third-party clients, and a small quinn + h3 client
//!
//! Correctness is checked with clients we did not write: ngtcp2's example client
//! (`gtlsclient`, Debian's `ngtcp2-client`) and aioquic's `http3_client.py` (PyPI;
//! the example ships in the sdist, installed by `scripts/install-deps.sh test` into
//! `tests/.aioquic/`). [`H3Client`] (quinn + h3) is for what they cannot do:
//! oversized request heads, many connections from one address, a poller that keeps
//! one connection open.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use bytes::Buf;

/// A self-signed certificate and key (PEM files) for `localhost` and 127.0.0.1.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Writes a fresh pair into `dir`.
    pub fn self_signed(dir: &Path) -> Result<Self> {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, ck.cert.pem())?;
        std::fs::write(&key, ck.key_pair.serialize_pem())?;
        Ok(Self { cert, key })
    }
}

/// Where aioquic's example client and its Python live.
fn aioquic() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".aioquic");
    let python = std::env::var_os("FERROCAST_AIOQUIC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("venv/bin/python"));
    let client = std::env::var_os("FERROCAST_AIOQUIC_CLIENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("http3_client.py"));
    (python, client)
}

/// Whether both third-party clients are installed; prints why not.
pub fn third_party_clients_present(test: &str) -> bool {
    let (python, client) = aioquic();
    let mut missing = Vec::new();
    if crate::tools::which("gtlsclient").is_none() {
        missing.push("gtlsclient (apt-get install ngtcp2-client)".to_string());
    }
    if !python.exists() || !client.exists() {
        missing.push(format!(
            "aioquic ({} / {}: scripts/install-deps.sh test)",
            python.display(),
            client.display()
        ));
    }
    if missing.is_empty() {
        return true;
    }
    eprintln!("SKIPPED {test}: {}", missing.join(", "));
    false
}

/// The file a client saved for `url` in `dir` (both name it after the last path
/// segment).
fn saved(dir: &Path, url: &str) -> Result<Vec<u8>> {
    let path = url.split('?').next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or(path);
    let file = dir.join(name);
    if let Ok(bytes) = std::fs::read(&file) {
        return Ok(bytes);
    }
    // Some clients keep the query in the name.
    let with_query = url.rsplit('/').next().unwrap_or(url);
    std::fs::read(dir.join(with_query)).with_context(|| {
        let listing: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        format!("{} (for {url}); the dir holds {listing:?}", file.display())
    })
}

/// Fetches each of `urls` (same host) over HTTP/3 with ngtcp2's `gtlsclient`, all on
/// one connection; the bodies, in order. `addr` is the UDP address to send to.
pub fn gtls_fetch(addr: SocketAddr, urls: &[String], out: &Path) -> Result<Vec<Vec<u8>>> {
    std::fs::create_dir_all(out)?;
    let mut cmd = Command::new("gtlsclient");
    cmd.args(["-q", "--exit-on-all-streams-close", "--timeout=15s"])
        .arg(format!("--download={}", out.display()))
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .args(urls);
    let output = run_bounded(cmd, Duration::from_secs(30))?;
    ensure!(
        output.status.success(),
        "gtlsclient failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    urls.iter().map(|u| saved(out, u)).collect()
}

/// Fetches `urls` with aioquic's `http3_client.py`, trusting `ca`; the bodies.
/// Its log (stderr) is returned too: it names the negotiated protocol.
pub fn aioquic_fetch(urls: &[String], ca: &Path, out: &Path) -> Result<(Vec<Vec<u8>>, String)> {
    std::fs::create_dir_all(out)?;
    let (python, client) = aioquic();
    let mut cmd = Command::new(python);
    cmd.arg(client)
        .arg("--ca-certs")
        .arg(ca)
        .arg("--output-dir")
        .arg(out)
        .args(urls);
    let output = run_bounded(cmd, Duration::from_secs(30))?;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    ensure!(output.status.success(), "http3_client.py failed: {log}");
    let bodies = urls.iter().map(|u| saved(out, u)).collect::<Result<_>>()?;
    Ok((bodies, log))
}

/// Runs `cmd`, killing it after `limit`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Result<std::process::Output> {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => Ok(output?),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            bail!("{cmd:?} did not finish within {limit:?}")
        }
    }
}

/// `curl` over TLS (trusting `ca`), HTTP/1.1 or HTTP/2: (status line + headers
/// lowercased, body).
pub fn curl_fetch(url: &str, http2: bool, ca: &Path) -> Result<(String, Vec<u8>)> {
    let dir = tempfile::tempdir()?;
    let headers = dir.path().join("headers");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "--resolve"])
        .arg(resolve_arg(url)?)
        .arg(if http2 { "--http2" } else { "--http1.1" })
        .arg("--cacert")
        .arg(ca)
        .arg("-D")
        .arg(&headers)
        .arg(url);
    let output = cmd.output().context("running curl")?;
    ensure!(
        output.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let head = std::fs::read_to_string(&headers)?.to_ascii_lowercase();
    Ok((head, output.stdout))
}

/// `--resolve localhost:PORT:127.0.0.1` for a `https://localhost:PORT/...` URL, so
/// curl never asks a resolver.
fn resolve_arg(url: &str) -> Result<String> {
    let rest = url.strip_prefix("https://").context("https URL")?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{hostport}:127.0.0.1"))
}

/// A response read by [`H3Client`].
#[derive(Debug)]
pub struct H3Response {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// A quinn + h3 client on its own runtime, one connection, blocking calls.
pub struct H3Client {
    runtime: tokio::runtime::Runtime,
    endpoint: quinn::Endpoint,
    send: Option<h3::client::SendRequest<h3_quinn::OpenStreams, bytes::Bytes>>,
    server: SocketAddr,
}

impl H3Client {
    /// A client bound to `local` (an address in 127.0.0.0/8, port 0), trusting
    /// the certificate in `ca`, for the server at `server`.
    pub fn new(local: SocketAddr, ca: &Path, server: SocketAddr) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(ca)?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h3".to_vec()];
        // Resumption tickets are kept in memory (rustls's default) and offered
        // for 0-RTT when the server allowed it (`connect_early`).
        tls.enable_early_data = true;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)?;
        let config = quinn::ClientConfig::new(Arc::new(crypto));
        let endpoint = {
            let _guard = runtime.enter();
            let mut endpoint = quinn::Endpoint::client(local)?;
            endpoint.set_default_client_config(config);
            endpoint
        };
        Ok(Self {
            runtime,
            endpoint,
            send: None,
            server,
        })
    }

    /// Opens the connection (once): the handshake and HTTP/3 settings.
    pub fn connect(&mut self) -> Result<()> {
        if self.send.is_some() {
            return Ok(());
        }
        let (endpoint, server) = (self.endpoint.clone(), self.server);
        let send = self.runtime.block_on(async move {
            let conn = tokio::time::timeout(
                Duration::from_secs(10),
                endpoint.connect(server, "localhost")?,
            )
            .await
            .context("handshake timed out")??;
            let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(conn)).await?;
            tokio::spawn(async move {
                let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
            });
            anyhow::Ok(send)
        })?;
        self.send = Some(send);
        Ok(())
    }

    /// Drops the connection (the resumption ticket stays with the client).
    pub fn disconnect(&mut self) {
        self.send = None;
    }

    /// Opens a new connection with 0-RTT when a ticket allows it; whether the
    /// requests that follow (until the handshake completes) go out as early data.
    pub fn connect_early(&mut self) -> Result<bool> {
        self.send = None;
        let (endpoint, server) = (self.endpoint.clone(), self.server);
        let (send, early) = self.runtime.block_on(async move {
            let connecting = endpoint.connect(server, "localhost")?;
            let (conn, early) = match connecting.into_0rtt() {
                Ok((conn, _accepted)) => (conn, true),
                Err(connecting) => (
                    tokio::time::timeout(Duration::from_secs(10), connecting)
                        .await
                        .context("handshake timed out")??,
                    false,
                ),
            };
            let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(conn)).await?;
            tokio::spawn(async move {
                let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
            });
            anyhow::Ok((send, early))
        })?;
        self.send = Some(send);
        Ok(early)
    }

    /// `GET path` with extra `headers`, on the connection (opened if needed).
    pub fn get(&mut self, path: &str, headers: &[(&str, String)]) -> Result<H3Response> {
        self.request("GET", path, headers, None)
    }

    /// `method path` with extra `headers` and an optional body.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<H3Response> {
        self.connect()?;
        let mut send = self.send.clone().context("connected")?;
        let uri = format!("https://localhost:{}{path}", self.server.port());
        let mut req = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(())?;
        self.runtime.block_on(async move {
            tokio::time::timeout(Duration::from_secs(20), async move {
                let mut stream = send.send_request(req).await?;
                if let Some(body) = body {
                    stream.send_data(bytes::Bytes::from(body)).await?;
                }
                stream.finish().await?;
                let resp = stream.recv_response().await?;
                let mut body = Vec::new();
                while let Some(mut chunk) = stream.recv_data().await? {
                    while chunk.has_remaining() {
                        let c = chunk.chunk();
                        body.extend_from_slice(c);
                        let n = c.len();
                        chunk.advance(n);
                    }
                }
                anyhow::Ok(H3Response {
                    status: resp.status().as_u16(),
                    headers: resp.headers().clone(),
                    body,
                })
            })
            .await
            .context("HTTP/3 request timed out")?
        })
    }

    /// Attempts `n` new connections at once; how many completed their handshake.
    pub fn connect_many(&self, n: usize) -> usize {
        let (endpoint, server) = (self.endpoint.clone(), self.server);
        self.runtime.block_on(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..n {
                let endpoint = endpoint.clone();
                tasks.spawn(async move {
                    let connecting = endpoint.connect(server, "localhost").ok()?;
                    let conn = tokio::time::timeout(Duration::from_secs(5), connecting)
                        .await
                        .ok()?
                        .ok()?;
                    conn.close(0u32.into(), b"");
                    Some(())
                });
            }
            let mut ok = 0;
            while let Some(r) = tasks.join_next().await {
                if matches!(r, Ok(Some(()))) {
                    ok += 1;
                }
            }
            ok
        })
    }
}
