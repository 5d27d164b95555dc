//! # Zero-copy disk-tier hits, written from the mapping or sent with `sendfile(2)`
//! (issue 6, `[cache.disk] zero_copy, sendfile`)
//!
//! An origin written here (plain TCP) serves a deterministic 900 KB immutable object.
//! A real `ferrocast-edge` with a 1 MiB memory tier (so the object lives on disk
//! only: objects above 1/8 of the memory tier are not kept in memory) and a disk
//! tier with `zero_copy = true, sendfile = true` sits in front of it; one with
//! `zero_copy = true` alone and one with neither (hits copied out) are the others.
//!
//! Checked, over raw HTTP/1.1 on plain TCP:
//! - a `hit-disk` GET is byte-identical to the origin's body, and
//!   `ferrocast_http_sendfile_bytes_total` grew by most of it (the tail of a short
//!   write may go through the cork buffer instead);
//! - a range request (`bytes=100-899999`) of a disk hit is `206` with exactly those
//!   bytes, also sent from the file;
//! - `HEAD` answers the head only, with the full `content-length`;
//! - h2c (curl, prior knowledge, when curl is installed) gets the same bytes and
//!   does not use `sendfile`;
//! - the `zero_copy`-only edge and the copying edge serve the same bytes and never
//!   use `sendfile`;
//! - with a memory tier large enough to hold the object, a disk hit (after other
//!   objects pushed it out of memory onto disk) is promoted to memory as a heap copy: the next, memory hit is
//!   byte-identical and not sent from the store file (a borrowed body kept in
//!   memory would pin its disk segment);
//! - a TLS edge with `zero_copy = true, sendfile = true` (HTTP/1.1 and HTTP/2 over TLS, curl) serves
//!   its disk hits byte-identical and never uses `sendfile` (no kTLS: the kernel
//!   would send plaintext).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use tests::checks::Checks;
use tests::edge::{Edge, EdgeConfig};

/// Below the 1 MiB segment of a 64 MiB disk tier (the largest object it stores),
/// far above the 128 KiB a 1 MiB memory tier keeps.
const BODY_LEN: usize = 900_000;
const PATH: &str = "/vod/sendfile/seg-900k.m4s";
const SENT: &str = "ferrocast_http_sendfile_bytes_total";

fn body() -> Vec<u8> {
    (0..BODY_LEN).map(|i| (i * 7 % 251) as u8).collect()
}

/// Serves `body()` on every path but `/healthz` (the edge's parent health check),
/// keep-alive, GET and HEAD.
fn start_origin() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = serve(tcp);
            });
        }
    });
    Ok(addr)
}

fn serve(tcp: TcpStream) -> Result<()> {
    let mut reader = BufReader::new(tcp.try_clone()?);
    let mut out = tcp;
    let body = body();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header == "\r\n" {
                break;
            }
        }
        if line.split_whitespace().nth(1) == Some("/healthz") {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
            continue;
        }
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {BODY_LEN}\r\n\
             Cache-Control: public, max-age=86400, immutable\r\n\r\n"
        )?;
        if !line.starts_with("HEAD") {
            out.write_all(&body)?;
        }
    }
}

/// A response read off a raw HTTP/1.1 connection.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// `method PATH` with `extra` header lines, `Connection: close`; reads to EOF.
fn request(edge: SocketAddr, method: &str, extra: &str) -> Result<Raw> {
    request_path(edge, method, PATH, extra)
}

fn request_path(edge: SocketAddr, method: &str, path: &str, extra: &str) -> Result<Raw> {
    let mut tcp = TcpStream::connect(edge)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        tcp,
        "{method} {path} HTTP/1.1\r\nHost: edge\r\n{extra}Connection: close\r\n\r\n"
    )?;
    let mut all = Vec::new();
    tcp.read_to_end(&mut all)?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of head")?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Raw {
        status,
        headers,
        body: all[end + 4..].to_vec(),
    })
}

/// GETs until the edge answers `hit-disk` (the admission filter stores an object
/// on its second sighting; the disk writer runs in the background).
fn warm_to_disk(edge: SocketAddr) -> Result<Raw> {
    let mut seen = Vec::new();
    for _ in 0..40 {
        let r = request(edge, "GET", "")?;
        ensure!(r.status == 200, "status {}", r.status);
        if r.header("x-cache") == "hit-disk" {
            return Ok(r);
        }
        seen.push(r.header("x-cache").to_owned());
        thread::sleep(Duration::from_millis(100));
    }
    bail!("{PATH} never became hit-disk; x-cache: {seen:?}")
}

/// `[cache.disk] zero_copy, sendfile`.
fn disk_keys(zero_copy: bool, sendfile: bool) -> Vec<(String, String)> {
    vec![
        ("zero_copy".into(), zero_copy.to_string()),
        ("sendfile".into(), sendfile.to_string()),
    ]
}

fn start_edge(
    origin: SocketAddr,
    zero_copy: bool,
    sendfile: bool,
) -> Result<(Edge, tempfile::TempDir)> {
    let disk = tempfile::Builder::new()
        .prefix("ferrocast-sendfile-disk-")
        .tempdir()?;
    let edge = Edge::start(EdgeConfig {
        memory_bytes: 1 << 20,
        disk: Some((disk.path().to_owned(), 64 << 20)),
        disk_keys: disk_keys(zero_copy, sendfile),
        ..EdgeConfig::new(vec![format!("http://{origin}")])
    })?;
    Ok((edge, disk))
}

/// The edge's HTTP listener, from `http://127.0.0.1:PORT`.
fn addr_of(edge: &Edge) -> SocketAddr {
    edge.url("")
        .trim_start_matches("http://")
        .parse()
        .expect("edge address")
}

fn sent(edge: &Edge) -> Result<f64> {
    edge.metric(SENT, &[])
}

#[test]
fn disk_hits_over_sendfile_are_byte_identical() {
    let mut checks = Checks::new();
    let origin = start_origin().expect("origin");
    let want = body();
    let (edge, _disk) = start_edge(origin, true, true).expect("edge with sendfile");
    let (plain, _disk2) = start_edge(origin, false, false).expect("edge copying hits");
    let (zc, _disk3) = start_edge(origin, true, false).expect("edge with zero_copy only");
    let addr = addr_of(&edge);
    let plain_addr = addr_of(&plain);

    checks.run(
        "a hit-disk GET is byte-identical and sent from the file",
        || {
            warm_to_disk(addr)?;
            let before = sent(&edge)?;
            let r = request(addr, "GET", "")?;
            ensure!(
                r.header("x-cache") == "hit-disk",
                "x-cache {}",
                r.header("x-cache")
            );
            ensure!(r.body == want, "body differs ({} bytes)", r.body.len());
            let grew = sent(&edge)? - before;
            ensure!(
                grew >= (BODY_LEN / 2) as f64,
                "{SENT} grew by {grew} for a {BODY_LEN}-byte hit"
            );
            eprintln!("  {grew} of {BODY_LEN} body bytes via sendfile");
            Ok(())
        },
    );

    checks.run(
        "a range of a disk hit is 206 with exactly those bytes",
        || {
            let before = sent(&edge)?;
            let r = request(addr, "GET", "Range: bytes=100-899999\r\n")?;
            ensure!(r.status == 206, "status {}", r.status);
            ensure!(
                r.header("x-cache") == "hit-disk",
                "x-cache {}",
                r.header("x-cache")
            );
            ensure!(
                r.header("content-range") == format!("bytes 100-{}/{BODY_LEN}", BODY_LEN - 1),
                "content-range {}",
                r.header("content-range")
            );
            ensure!(
                r.body == want[100..],
                "range body differs ({} bytes)",
                r.body.len()
            );
            ensure!(sent(&edge)? > before, "the range did not use sendfile");
            Ok(())
        },
    );

    checks.run("HEAD of a disk hit: full content-length, no body", || {
        let r = request(addr, "HEAD", "")?;
        ensure!(r.status == 200, "status {}", r.status);
        ensure!(
            r.header("content-length") == BODY_LEN.to_string(),
            "content-length {}",
            r.header("content-length")
        );
        ensure!(
            r.body.is_empty(),
            "HEAD carried {} body bytes",
            r.body.len()
        );
        Ok(())
    });

    checks.run("h2c gets the same bytes without sendfile", || {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("body");
        let before = sent(&edge)?;
        let status = std::process::Command::new("curl")
            .args(["-sS", "--http2-prior-knowledge", "-o"])
            .arg(&out)
            .arg(format!("http://{addr}{PATH}"))
            .status();
        let Ok(status) = status else {
            eprintln!("  curl not installed: skipped");
            return Ok(());
        };
        ensure!(status.success(), "curl: {status}");
        ensure!(std::fs::read(&out)? == want, "h2c body differs");
        ensure!(sent(&edge)? == before, "h2c used sendfile");
        Ok(())
    });

    checks.run(
        "with zero_copy alone the same bytes (range too), no sendfile",
        || {
            let addr = addr_of(&zc);
            warm_to_disk(addr)?;
            let r = request(addr, "GET", "")?;
            ensure!(
                r.header("x-cache") == "hit-disk",
                "x-cache {}",
                r.header("x-cache")
            );
            ensure!(r.body == want, "body differs");
            let r = request(addr, "GET", "Range: bytes=100-\r\n")?;
            ensure!(
                r.status == 206 && r.body == want[100..],
                "range: status {}",
                r.status
            );
            ensure!(sent(&zc)? == 0.0, "sendfile used while off");
            Ok(())
        },
    );

    checks.run(
        "copied hits (zero_copy = false): the same bytes, no sendfile",
        || {
            warm_to_disk(plain_addr)?;
            let r = request(plain_addr, "GET", "")?;
            ensure!(
                r.header("x-cache") == "hit-disk",
                "x-cache {}",
                r.header("x-cache")
            );
            ensure!(r.body == want, "body differs");
            ensure!(sent(&plain)? == 0.0, "sendfile used while off");
            Ok(())
        },
    );

    checks.run("a promoted disk hit is a heap copy in memory", || {
        let disk = tempfile::Builder::new()
            .prefix("ferrocast-sendfile-disk-")
            .tempdir()?;
        let edge = Edge::start(EdgeConfig {
            memory_bytes: 8 << 20,
            disk: Some((disk.path().to_owned(), 64 << 20)),
            disk_keys: disk_keys(true, true),
            ..EdgeConfig::new(vec![format!("http://{origin}")])
        })?;
        let addr = addr_of(&edge);
        // Seen twice, the object is admitted to disk when memory evicts it: other
        // objects of the same size, seen once each, push it out.
        request(addr, "GET", "")?;
        request(addr, "GET", "")?;
        let mut i = 0;
        while edge.metric("ferrocast_edge_cache_disk_writes_total", &[])? < 1.0 {
            ensure!(i < 200, "{PATH} never reached the disk tier");
            request_path(addr, "GET", &format!("/vod/sendfile/fill-{i}.m4s"), "")?;
            i += 1;
            thread::sleep(Duration::from_millis(20));
        }
        let first = request(addr, "GET", "")?;
        ensure!(
            first.header("x-cache") == "hit-disk",
            "x-cache {}",
            first.header("x-cache")
        );
        ensure!(first.body == want, "disk hit body differs");
        let before = sent(&edge)?;
        ensure!(before > 0.0, "the disk hit did not use sendfile");
        let second = request(addr, "GET", "")?;
        ensure!(
            second.header("x-cache") == "hit-memory",
            "x-cache {}",
            second.header("x-cache")
        );
        ensure!(second.body == want, "memory hit body differs");
        ensure!(
            sent(&edge)? == before,
            "the memory hit was sent from the store file"
        );
        Ok(())
    });

    checks.run("over TLS the same bytes, no sendfile", || {
        let dir = tempfile::tempdir()?;
        let tls = tests::h3::TlsFiles::self_signed(dir.path())?;
        let disk = tempfile::Builder::new()
            .prefix("ferrocast-sendfile-disk-")
            .tempdir()?;
        let edge = Edge::start(EdgeConfig {
            memory_bytes: 1 << 20,
            disk: Some((disk.path().to_owned(), 64 << 20)),
            disk_keys: disk_keys(true, true),
            tls: Some(tls.clone()),
            ..EdgeConfig::new(vec![format!("http://{origin}")])
        })?;
        let url = edge.https_url(PATH);
        let mut hit = false;
        for _ in 0..40 {
            let (head, body) = tests::h3::curl_fetch(&url, false, &tls.cert)?;
            ensure!(body == want, "TLS body differs ({} bytes)", body.len());
            if head.contains("x-cache: hit-disk") {
                hit = true;
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        ensure!(hit, "never hit-disk over TLS");
        let (head, body) = tests::h3::curl_fetch(&url, true, &tls.cert)?;
        ensure!(head.contains("x-cache: hit-disk"), "h2 over TLS: {head}");
        ensure!(body == want, "h2 over TLS body differs");
        ensure!(sent(&edge)? == 0.0, "sendfile used under TLS");
        Ok(())
    });

    checks.finish();
}
