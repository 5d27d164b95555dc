//! # 500 viewers, one uncached 2 MB segment, one upstream request (issue 3)
//!
//! A paced origin written here (plain TCP, so nothing of ours is on that side)
//! sends a 2 MB segment in 64 KiB chunks over about 3 s and notes when its last
//! byte left. A real `ferrocast-edge` sits in front of it. 500 clients, each on its
//! own connection opened beforehand, send their request together (raw HTTP/1.1).
//!
//! Checked:
//! - the origin saw exactly one request for the segment;
//! - every client received the whole body, byte-identical;
//! - every client's first body byte arrived before the origin finished sending —
//!   read-while-write, not store-and-forward.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use tests::checks::Checks;
use tests::edge::{Edge, EdgeConfig};

const CLIENTS: usize = 500;
const BODY_LEN: usize = 2_000_000;
const CHUNK: usize = 64 * 1024;
const CHUNK_PAUSE: Duration = Duration::from_millis(100);
const PATH: &str = "/vod/coalesce/seg-2mb.m4s";

/// Deterministic body bytes, so every client's copy can be compared.
fn body() -> Vec<u8> {
    (0..BODY_LEN).map(|i| (i % 251) as u8).collect()
}

/// The paced origin: counts segment requests, remembers when the last byte left.
struct PacedOrigin {
    addr: SocketAddr,
    segment_requests: Arc<AtomicUsize>,
    finished_at: Arc<Mutex<Option<Instant>>>,
}

impl PacedOrigin {
    fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let segment_requests = Arc::new(AtomicUsize::new(0));
        let finished_at = Arc::new(Mutex::new(None));
        let (count, done) = (segment_requests.clone(), finished_at.clone());
        thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (count, done) = (count.clone(), done.clone());
                thread::spawn(move || {
                    let _ = serve(tcp, &count, &done);
                });
            }
        });
        Ok(Self {
            addr,
            segment_requests,
            finished_at,
        })
    }
}

/// One keep-alive connection: `/healthz` → 200, the segment → paced 2 MB.
fn serve(tcp: TcpStream, count: &AtomicUsize, done: &Mutex<Option<Instant>>) -> Result<()> {
    let mut reader = BufReader::new(tcp.try_clone()?);
    let mut out = tcp;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header == "\r\n" {
                break;
            }
        }
        if path == PATH {
            count.fetch_add(1, Ordering::SeqCst);
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {BODY_LEN}\r\n\
                 Cache-Control: public, max-age=86400, immutable\r\n\r\n"
            )?;
            for (i, chunk) in body().chunks(CHUNK).enumerate() {
                if i > 0 {
                    thread::sleep(CHUNK_PAUSE);
                }
                out.write_all(chunk)?;
                out.flush()?;
            }
            *done.lock().unwrap() = Some(Instant::now());
        } else if path == "/healthz" {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
        } else {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
        }
    }
}

/// What one client saw.
struct Received {
    first_byte_at: Instant,
    body: Vec<u8>,
    x_cache: String,
}

/// `GET PATH` on `tcp` (connected beforehand, so connection set-up under a burst
/// of 500 is not part of the timing), reading the head, then the body to EOF.
fn fetch(mut tcp: TcpStream) -> Result<Received> {
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        tcp,
        "GET {PATH} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = BufReader::new(tcp);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    ensure!(status.starts_with("HTTP/1.1 200"), "status line {status:?}");
    let mut x_cache = String::new();
    let mut chunked = false;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("x-cache:") {
            x_cache = v.trim().to_owned();
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    // The first body byte (a chunk-size line counts: data follows it at once).
    reader.fill_buf()?;
    let first_byte_at = Instant::now();
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        body
    };
    Ok(Received {
        first_byte_at,
        body,
        x_cache,
    })
}

/// Decodes an HTTP/1.1 chunked body (RFC 9112 §7.1).
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .with_context(|| format!("chunk size line {size:?}"))?;
        if n == 0 {
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + n, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

#[test]
fn five_hundred_waiters_one_upstream_request_streamed_to_all() {
    let origin = PacedOrigin::start().expect("paced origin");
    let edge =
        Edge::start(EdgeConfig::new(vec![format!("http://{}", origin.addr)])).expect("edge starts");
    // Every client connects first; all send their request when the last is ready.
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (barrier, addr) = (barrier.clone(), edge.http);
            thread::spawn(move || {
                let tcp = TcpStream::connect(addr);
                barrier.wait();
                fetch(tcp?)
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let results: Vec<Result<Received>> = clients
        .into_iter()
        .map(|c| c.join().unwrap_or_else(|_| bail!("client thread panicked")))
        .collect();
    let finished_at = *origin.finished_at.lock().unwrap();
    let want = body();
    let mut checks = Checks::new();

    checks.run("the origin saw exactly one request for the segment", || {
        let n = origin.segment_requests.load(Ordering::SeqCst);
        ensure!(
            n == 1,
            "{n} upstream requests for {CLIENTS} concurrent clients"
        );
        Ok(())
    });
    checks.run(
        "every client received the whole body, byte-identical",
        || {
            let mut x_cache = std::collections::BTreeMap::<String, usize>::new();
            for (i, r) in results.iter().enumerate() {
                let r = r
                    .as_ref()
                    .map_err(|e| anyhow::anyhow!("client {i}: {e:#}"))?;
                ensure!(
                    r.body == want,
                    "client {i}: {} bytes, differs from the origin's",
                    r.body.len()
                );
                *x_cache.entry(r.x_cache.clone()).or_default() += 1;
            }
            eprintln!("x-cache: {x_cache:?}");
            Ok(())
        },
    );
    checks.run(
        "every client's first byte arrived before the origin finished sending",
        || {
            let finished_at = finished_at.context("the origin never finished")?;
            let mut firsts: Vec<Duration> = results
                .iter()
                .flatten()
                .map(|r| r.first_byte_at - started)
                .collect();
            firsts.sort();
            let latest_first = started + *firsts.last().context("no client succeeded")?;
            eprintln!(
                "origin finished after {:?}; first bytes: median {:?}, latest {:?}",
                finished_at - started,
                firsts[firsts.len() / 2],
                latest_first - started
            );
            ensure!(
                latest_first < finished_at,
                "a client got its first byte {:?} after the origin finished",
                latest_first - finished_at
            );
            Ok(())
        },
    );
    checks.finish();
}
