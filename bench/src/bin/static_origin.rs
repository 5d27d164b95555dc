//! # static-origin — a tiny origin of sized, cacheable objects for edge benchmarks
//!
//! ```text
//! static-origin --listen 127.0.0.1:PORT
//! ```
//! Serves HTTP/1.1 and h2c (prior knowledge) on one port:
//!
//! - `GET /healthz` → `200 ok` (edges health-check their parents with it);
//! - `GET /sized/{bytes}/{name}` → exactly `bytes` bytes (at most 64 MiB, else
//!   400), `Cache-Control: public, max-age=86400`, a `Content-Type` by the name's
//!   extension and a strong `ETag`. The body is a slice of one pseudo-random
//!   buffer made once, at an offset hashed from `name`: the same URL always gives
//!   the same bytes and no request copies any. The query string is ignored;
//! - `GET /stats` → `{"requests": N}`, the number of `/sized` requests so far;
//! - anything else → 404.
//!
//! `HEAD` is answered like `GET` without the body.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

const USAGE: &str = "usage: static-origin --listen 127.0.0.1:PORT";

/// Largest object served.
const MAX_BYTES: usize = 64 << 20;
/// Range of the per-name offsets into the shared buffer.
const OFFSETS: usize = 1 << 20;

type Body = http_body_util::Either<Full<Bytes>, Empty<Bytes>>;

/// The shared pseudo-random buffer (xorshift64), made on the first `/sized` request.
fn buffer() -> &'static Bytes {
    static BUF: OnceLock<Bytes> = OnceLock::new();
    BUF.get_or_init(|| {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut v = Vec::with_capacity(MAX_BYTES + OFFSETS);
        while v.len() < MAX_BYTES + OFFSETS {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            v.extend_from_slice(&state.to_le_bytes());
        }
        Bytes::from(v)
    })
}

/// FNV-1a of `name`, folded into `0..OFFSETS`.
fn offset_of(name: &str) -> usize {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % OFFSETS as u64) as usize
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("m4s" | "mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::Left(Full::new(Bytes::from_static(text.as_bytes()))));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// `/sized/{bytes}/{name}` (`rest` is what follows `/sized/`).
fn sized(rest: &str, head: bool) -> Response<Body> {
    let Some((size, name)) = rest.split_once('/') else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let size = match size.parse::<usize>() {
        Ok(n) if n <= MAX_BYTES && !name.is_empty() => n,
        _ => return plain(StatusCode::BAD_REQUEST, "bytes must be 0..=67108864\n"),
    };
    let offset = offset_of(name);
    let body = if head {
        Body::Right(Empty::new())
    } else {
        Body::Left(Full::new(buffer().slice(offset..offset + size)))
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    h.insert(CONTENT_LENGTH, HeaderValue::from(size));
    let etag = format!("\"{size:x}-{offset:x}\"");
    h.insert(ETAG, HeaderValue::from_str(&etag).expect("hex etag"));
    r
}

fn route(req: &Request<Incoming>, requests: &AtomicU64) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/sized/") {
        requests.fetch_add(1, Relaxed);
        return sized(rest, head);
    }
    match path {
        "/healthz" => plain(StatusCode::OK, "ok"),
        "/stats" => {
            let json = format!("{{\"requests\": {}}}\n", requests.load(Relaxed));
            let mut r = Response::new(Body::Left(Full::new(Bytes::from(json))));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn parse_listen() -> Result<String> {
    let mut it = std::env::args().skip(1);
    let mut listen = None;
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--listen" => listen = Some(it.next().context(USAGE)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    listen.context(USAGE)
}

#[tokio::main]
async fn main() -> Result<()> {
    let listen = parse_listen()?;
    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    eprintln!("static-origin listening on {}", listener.local_addr()?);
    let requests = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let requests = requests.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let r = route(&req, &requests);
                async move { Ok::<_, Infallible>(r) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
