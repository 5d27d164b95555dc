//! # tus 1.0 uploads at their edges, with a raw HTTP client
//!
//! One origin with an admin key, `[uploads] max_bytes = 8 MiB`, `expire_s = 6`, and
//! an ffmpeg publisher on its channel. While a thread keeps fetching `/healthz` and
//! the live media playlist (every answer must be 200), the test:
//!
//! - discovers the server (OPTIONS: Tus-Version, Tus-Extension, Tus-Max-Size, CORS);
//! - is refused without the key (401), with another protocol version (412), over the
//!   size limit (413 at creation and for a PATCH past Upload-Length), with a wrong
//!   content type (415) and a wrong offset (409);
//! - cuts a PATCH off after 400 000 of its 1 MiB body (the socket is shut down) and
//!   finds HEAD reporting exactly the bytes that arrived, stored byte for byte;
//! - resumes from there in 1 MiB PATCHes: the last answer names the asset, whose
//!   `{data_dir}/vod/{asset}/source` is byte-identical to what was sent and which
//!   has a job (queued, or already taken by the runner), visible only with the
//!   admin key;
//! - terminates an upload (DELETE: files gone, HEAD 404), lets another expire (the
//!   sweeper deletes it), and makes one hit a full disk (its partial file replaced by
//!   a link to `/dev/full`: 507, the offset stays 0; then terminated by a POST with
//!   `X-HTTP-Method-Override: DELETE`) — none of them becomes an asset;
//! - edits and deletes the asset through `/api/v1/assets` (its files go too);
//! - reads the upload counters from `/metrics`.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use tests::checks::wait_until;
use tests::fixture::LiveFixture;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;

const ADMIN_KEY: &str = "uploads-admin-key-0123456789";
const MAX_BYTES: u64 = 8 * 1024 * 1024;
// Long enough that the other uploads never expire between two requests on a busy box.
const EXPIRE_S: u64 = 6;
const CHUNK: usize = 1024 * 1024;

/// One raw HTTP/1.1 answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Writes a request head (`Connection: close`, the tus version, the admin key unless
/// told otherwise) and `body`; declares `declared` bytes when given, else the body's.
fn send_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    declared: Option<usize>,
    body: &[u8],
) -> Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let has = |n: &str| fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("tus-resumable") {
        head.push_str("Tus-Resumable: 1.0.0\r\n");
    }
    if !has("authorization") {
        head.push_str(&format!("Authorization: Bearer {ADMIN_KEY}\r\n"));
    }
    for (k, v) in fields {
        if !v.is_empty() {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    let length = declared.unwrap_or(body.len());
    if length > 0 || method == "PATCH" || method == "POST" {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    Ok(s)
}

fn read_answer(mut s: TcpStream, method: &str) -> Result<Answer> {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).context("reading the answer")?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of head")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .context("status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if method == "HEAD" {
        Vec::new()
    } else {
        raw[end + 4..].to_vec()
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer> {
    let s = send_head(addr, method, path, fields, None, body)?;
    read_answer(s, method)
}

fn expect_status(a: &Answer, status: u16, what: &str) -> Result<()> {
    ensure!(
        a.status == status,
        "{what}: expected {status}, got {} {:?} {}",
        a.status,
        a.headers,
        a.text()
    );
    ensure!(
        a.header("tus-resumable") == Some("1.0.0") || !what.starts_with("tus"),
        "{what}: no Tus-Resumable: {:?}",
        a.headers
    );
    Ok(())
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn create(addr: SocketAddr, length: usize, title: &str) -> Result<String> {
    let metadata = format!(
        "filename {},title {},tags {}",
        b64("clip.bin"),
        b64(title),
        b64("test,uploads")
    );
    let a = request(
        addr,
        "POST",
        "/api/v1/uploads",
        &[
            ("Upload-Length", &length.to_string()),
            ("Upload-Metadata", &metadata),
        ],
        b"",
    )?;
    expect_status(&a, 201, "tus creation")?;
    ensure!(a.header("upload-expires").is_some(), "no Upload-Expires");
    let location = a.header("location").context("no Location")?;
    ensure!(
        location.starts_with("/api/v1/uploads/"),
        "Location {location}"
    );
    Ok(location.to_owned())
}

fn patch(addr: SocketAddr, url: &str, offset: usize, bytes: &[u8]) -> Result<Answer> {
    request(
        addr,
        "PATCH",
        url,
        &[
            ("Content-Type", "application/offset+octet-stream"),
            ("Upload-Offset", &offset.to_string()),
        ],
        bytes,
    )
}

fn offset_of(addr: SocketAddr, url: &str) -> Result<u64> {
    let a = request(addr, "HEAD", url, &[], b"")?;
    expect_status(&a, 200, "tus HEAD")?;
    ensure!(
        a.header("cache-control") == Some("no-store"),
        "HEAD must not be cached"
    );
    a.header("upload-offset")
        .context("no Upload-Offset")?
        .parse()
        .context("Upload-Offset")
}

fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    admin: bool,
    body: Option<&str>,
) -> Result<(u16, Value)> {
    tests::http::api_call(
        method,
        &format!("http://{addr}/api/v1/{path}"),
        admin.then_some(ADMIN_KEY),
        body,
    )
}

/// Pseudo-random bytes (xorshift), so that misplaced chunks cannot compare equal.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Fetches `/healthz` and the live playlist until stopped; counts answers and
/// remembers the first failure.
struct Watcher {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(urls: Vec<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let (s, o, f) = (stop.clone(), ok.clone(), failure.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for url in &urls {
                    match tests::http::get_with_timeout(url, Duration::from_secs(5)) {
                        Ok(r) if r.status == 200 => {
                            o.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => {
                            f.lock()
                                .unwrap()
                                .get_or_insert(format!("{url}: {}", r.status));
                        }
                        Err(e) => {
                            f.lock().unwrap().get_or_insert(format!("{url}: {e:#}"));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self {
            stop,
            ok,
            failure,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(f) = self.failure.lock().unwrap().take() {
            anyhow::bail!("the origin stopped serving during uploads: {f}");
        }
        Ok(self.ok.load(Ordering::Relaxed))
    }
}

fn upload_files(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("uploads"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn tus_uploads_at_their_edges_while_live_keeps_playing() -> Result<()> {
    let cfg = OriginConfig {
        extra_toml: format!(
            "[api]\nadmin_keys = [\"{ADMIN_KEY}\"]\n\n[uploads]\nmax_bytes = {MAX_BYTES}\n\
             expire_s = {EXPIRE_S}\n"
        ),
        ..OriginConfig::default()
    };
    let mut live = LiveFixture::start(cfg, &PublishOptions::default())?;
    live.wait_segments("video0", 2)?;
    let addr = live.origin.http;
    let data = live.origin.dir().join("data");
    let watcher = Watcher::start(vec![live.origin.url("/healthz"), live.media_url("video0")]);

    // Discovery and CORS, without credentials.
    let a = request(
        addr,
        "OPTIONS",
        "/api/v1/uploads",
        &[("Authorization", "-")],
        b"",
    )?;
    expect_status(&a, 204, "tus OPTIONS")?;
    ensure!(a.header("tus-version") == Some("1.0.0"), "{:?}", a.headers);
    let ext = a.header("tus-extension").unwrap_or("");
    for e in ["creation", "termination", "expiration"] {
        ensure!(ext.split(',').any(|x| x == e), "Tus-Extension {ext}");
    }
    ensure!(a.header("tus-max-size") == Some(&MAX_BYTES.to_string()[..]));
    let allowed = a.header("access-control-allow-methods").unwrap_or("");
    ensure!(
        allowed.contains("PATCH") && allowed.contains("HEAD"),
        "{allowed}"
    );
    ensure!(a
        .header("access-control-allow-headers")
        .unwrap_or("")
        .contains("Upload-Offset"));

    // Refusals before anything is stored.
    let a = request(
        addr,
        "POST",
        "/api/v1/uploads",
        &[("Authorization", "Bearer nope"), ("Upload-Length", "10")],
        b"",
    )?;
    expect_status(&a, 401, "tus wrong key")?;
    let a = request(
        addr,
        "POST",
        "/api/v1/uploads",
        &[("Authorization", "-"), ("Upload-Length", "10")],
        b"",
    )?;
    expect_status(&a, 401, "tus no key")?;
    let a = request(
        addr,
        "POST",
        "/api/v1/uploads",
        &[("Tus-Resumable", "0.2.2"), ("Upload-Length", "10")],
        b"",
    )?;
    expect_status(&a, 412, "tus old version")?;
    ensure!(a.header("tus-version") == Some("1.0.0"));
    let a = request(
        addr,
        "POST",
        "/api/v1/uploads",
        &[("Upload-Length", &(MAX_BYTES + 1).to_string())],
        b"",
    )?;
    expect_status(&a, 413, "tus over max_bytes")?;
    let a = request(addr, "POST", "/api/v1/uploads", &[], b"")?;
    expect_status(&a, 400, "tus without Upload-Length")?;
    ensure!(
        upload_files(&data).is_empty(),
        "refused creations left files: {:?}",
        upload_files(&data)
    );

    // The upload that completes: 3.5 MiB.
    let source = payload(3 * CHUNK + CHUNK / 2);
    let url = create(addr, source.len(), "Resumed upload")?;
    let id = url.rsplit('/').next().unwrap().to_owned();
    ensure!(offset_of(addr, &url)? == 0);
    let a = request(
        addr,
        "PATCH",
        &url,
        &[
            ("Content-Type", "application/octet-stream"),
            ("Upload-Offset", "0"),
        ],
        &source[..10],
    )?;
    expect_status(&a, 415, "tus wrong content type")?;
    let a = patch(addr, &url, 5, &source[5..10])?;
    expect_status(&a, 409, "tus wrong offset")?;
    ensure!(a.header("upload-offset") == Some("0"));
    let a = request(
        addr,
        "PATCH",
        &url,
        &[
            ("Content-Type", "application/offset+octet-stream"),
            ("Upload-Offset", "0"),
            ("Authorization", "-"),
        ],
        &source[..10],
    )?;
    expect_status(&a, 401, "tus PATCH without key")?;

    // A PATCH cut off after 400 000 bytes of its declared 1 MiB.
    let cut = 400_000;
    let s = send_head(
        addr,
        "PATCH",
        &url,
        &[
            ("Content-Type", "application/offset+octet-stream"),
            ("Upload-Offset", "0"),
        ],
        Some(CHUNK),
        &source[..cut],
    )?;
    std::thread::sleep(Duration::from_millis(300));
    s.shutdown(Shutdown::Both)?;
    drop(s);
    wait_until(
        "HEAD to report the bytes of the cut PATCH",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || Ok(offset_of(addr, &url)? == cut as u64),
    )?;
    let part = std::fs::read(data.join("uploads").join(format!("{id}.part")))?;
    ensure!(
        part == source[..cut],
        "the partial file holds exactly what was sent"
    );

    // Resume in 1 MiB PATCHes.
    let mut offset = cut;
    let mut asset = None;
    while offset < source.len() {
        let end = (offset + CHUNK).min(source.len());
        let a = patch(addr, &url, offset, &source[offset..end])?;
        expect_status(&a, 204, "tus PATCH")?;
        ensure!(
            a.header("upload-offset") == Some(&end.to_string()[..]),
            "{:?}",
            a.headers
        );
        ensure!(a
            .header("access-control-expose-headers")
            .unwrap_or("")
            .contains("Upload-Offset"));
        asset = a.header("ferrocast-asset").map(str::to_owned);
        offset = end;
    }
    let asset = asset.context("the last PATCH names the asset")?;
    let stored = std::fs::read(data.join("vod").join(&asset).join("source"))?;
    ensure!(stored == source, "the stored source is byte-identical");
    ensure!(!data.join("uploads").join(format!("{id}.part")).exists());
    // HEAD of the completed upload: complete, names its asset.
    let a = request(addr, "HEAD", &url, &[], b"")?;
    expect_status(&a, 200, "tus HEAD complete")?;
    ensure!(a.header("upload-offset") == Some(&source.len().to_string()[..]));
    ensure!(a.header("ferrocast-asset") == Some(asset.as_str()));

    // The asset, with its job, hidden from the public until ready. The runner may
    // have taken the job already (these bytes are not media: it ends `failed`).
    let (status, value) = api(addr, "GET", &format!("assets/{asset}"), true, None)?;
    ensure!(status == 200, "{status} {value}");
    ensure!(
        ["uploaded", "processing", "failed"].contains(&value["status"].as_str().unwrap_or("")),
        "{value}"
    );
    ensure!(
        value["title"] == "Resumed upload" && value["source_name"] == "clip.bin",
        "{value}"
    );
    ensure!(value["size_bytes"] == source.len() as u64, "{value}");
    ensure!(
        value["tags"] == serde_json::json!(["test", "uploads"]),
        "{value}"
    );
    ensure!(
        ["queued", "running", "failed"].contains(&value["job"]["state"].as_str().unwrap_or("")),
        "{value}"
    );
    let (status, _) = api(addr, "GET", &format!("assets/{asset}"), false, None)?;
    ensure!(status == 404, "a public read of an unready asset: {status}");
    let (_, listed) = api(addr, "GET", "assets?q=resumed", true, None)?;
    ensure!(
        listed["assets"].as_array().map(Vec::len) == Some(1),
        "{listed}"
    );
    let (_, public) = api(addr, "GET", "assets", false, None)?;
    ensure!(
        public["assets"].as_array().map(Vec::len) == Some(0),
        "{public}"
    );

    // Past the declared length: refused, nothing stored. Then termination.
    let url2 = create(addr, 1000, "Terminated")?;
    expect_status(&patch(addr, &url2, 0, &source[..100])?, 204, "tus PATCH")?;
    let a = patch(addr, &url2, 100, &source[..901])?;
    expect_status(&a, 413, "tus PATCH past Upload-Length")?;
    ensure!(offset_of(addr, &url2)? == 100);
    let a = request(addr, "DELETE", &url2, &[], b"")?;
    expect_status(&a, 204, "tus DELETE")?;
    let a = request(addr, "HEAD", &url2, &[], b"")?;
    expect_status(&a, 404, "tus HEAD after DELETE")?;
    let id2 = url2.rsplit('/').next().unwrap();
    ensure!(
        !upload_files(&data).iter().any(|f| f.starts_with(id2)),
        "{:?}",
        upload_files(&data)
    );

    // Disk full: the partial file becomes a link to /dev/full.
    let url3 = create(addr, 1000, "Disk full")?;
    let id3 = url3.rsplit('/').next().unwrap();
    let part3 = data.join("uploads").join(format!("{id3}.part"));
    std::fs::remove_file(&part3)?;
    std::os::unix::fs::symlink("/dev/full", &part3)?;
    let a = patch(addr, &url3, 0, &source[..1000])?;
    expect_status(&a, 507, "tus PATCH on a full disk")?;
    ensure!(a.header("upload-offset") == Some("0"), "{:?}", a.headers);
    ensure!(a.text().contains("disk is full"), "{}", a.text());
    // Terminated through X-HTTP-Method-Override (tus core, for clients without DELETE).
    let a = request(
        addr,
        "POST",
        &url3,
        &[("X-HTTP-Method-Override", "DELETE")],
        b"",
    )?;
    expect_status(&a, 204, "tus DELETE (overridden POST) after disk full")?;
    expect_status(
        &request(addr, "HEAD", &url3, &[], b"")?,
        404,
        "tus HEAD after DELETE",
    )?;

    // Expiry: written once, then left alone.
    let url4 = create(addr, 1000, "Expires")?;
    expect_status(&patch(addr, &url4, 0, &source[..10])?, 204, "tus PATCH")?;
    let id4 = url4.rsplit('/').next().unwrap().to_owned();
    wait_until(
        "the sweeper to delete the expired upload",
        Duration::from_secs(EXPIRE_S + 15),
        Duration::from_millis(250),
        || Ok(!upload_files(&data).iter().any(|f| f.starts_with(&id4))),
    )?;
    let a = request(addr, "HEAD", &url4, &[], b"")?;
    expect_status(&a, 404, "tus HEAD after expiry")?;

    // None of those became an asset.
    let (_, all) = api(addr, "GET", "assets?limit=200", true, None)?;
    let ids: Vec<&str> = all["assets"]
        .as_array()
        .context("assets")?
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    ensure!(
        ids == [asset.as_str()],
        "only the completed upload is an asset: {ids:?}"
    );

    // Edit and delete through the assets API.
    let (status, edited) = api(
        addr,
        "PATCH",
        &format!("assets/{asset}"),
        true,
        Some(r#"{"title":"Renamed","tags":["x"]}"#),
    )?;
    ensure!(
        status == 200 && edited["title"] == "Renamed",
        "{status} {edited}"
    );
    let (status, _) = api(
        addr,
        "PATCH",
        &format!("assets/{asset}"),
        false,
        Some(r#"{"title":"No"}"#),
    )?;
    ensure!(status == 401, "PATCH without the key: {status}");
    let (status, _) = api(addr, "POST", &format!("assets/{asset}/views"), false, None)?;
    ensure!(status == 404, "views of an unready asset: {status}");

    // Counters.
    let metrics = tests::http::get(&live.origin.url("/metrics"))?.text();
    let sample =
        |name: &str, labels: &[(&str, &str)]| tests::edge::sum_samples(&metrics, name, labels);
    ensure!(
        sample("ferrocast_uploads_started_total", &[]) == 4.0,
        "{metrics}"
    );
    ensure!(sample("ferrocast_uploads_completed_total", &[]) == 1.0);
    ensure!(sample("ferrocast_upload_bytes_total", &[]) >= source.len() as f64);
    for reason in ["terminated", "expired", "disk_full", "too_large"] {
        ensure!(
            sample("ferrocast_uploads_failed_total", &[("reason", reason)]) >= 1.0,
            "failed{{reason={reason}}}"
        );
    }

    let (status, _) = api(addr, "DELETE", &format!("assets/{asset}"), true, None)?;
    ensure!(status == 204, "DELETE asset: {status}");
    ensure!(
        !data.join("vod").join(&asset).exists(),
        "the asset's files are deleted"
    );
    let (status, _) = api(addr, "GET", &format!("assets/{asset}"), true, None)?;
    ensure!(status == 404);

    let served = watcher.finish()?;
    ensure!(served >= 10, "the watcher got {served} answers");
    ensure!(live.origin.is_running(), "the origin is still running");
    Ok(())
}
