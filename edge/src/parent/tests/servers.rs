//! Small parents on 127.0.0.1 for the client tests: an echo server (HTTP/1.1,
//! HTTP/2 prior knowledge, or TLS with ALPN) with switches for health, status and
//! delay; a server that accepts and never answers; a closed port.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Which protocol a test server speaks.
#[derive(Clone, Copy, Debug)]
pub(super) enum Proto {
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only (prior knowledge on plain TCP).
    Http2,
}

/// Switches shared between a test and its server.
#[derive(Debug, Default)]
pub(super) struct Switches {
    /// `/healthz` answers 503 while set.
    pub(super) sick: AtomicBool,
    /// Status for every other path when non-zero (else 200).
    pub(super) status: AtomicU16,
    /// Milliseconds to wait before answering any other path.
    pub(super) delay_ms: AtomicU64,
}

/// A running echo server. `GET /healthz` answers `ok`; `/stall…` sends `first` and
/// then nothing; any other path answers `{addr} {version} {path?query} x-test={…}
/// x-secret={…}`.
pub(super) struct EchoServer {
    /// Where it listens.
    pub(super) addr: SocketAddr,
    /// TCP connections accepted so far.
    pub(super) accepted: Arc<AtomicUsize>,
    /// Behaviour switches.
    pub(super) switches: Arc<Switches>,
    task: JoinHandle<()>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EchoServer {
    /// The parent URL with `scheme` (`http`, `h2c`, `https`).
    pub(super) fn url(&self, scheme: &str) -> String {
        let host = if scheme == "https" {
            format!("localhost:{}", self.addr.port())
        } else {
            self.addr.to_string()
        };
        format!("{scheme}://{host}")
    }

    /// Start a plain-TCP server.
    pub(super) async fn start(proto: Proto) -> Self {
        Self::start_inner(proto, None).await
    }

    /// Start a TLS server; protocol by ALPN (`tls` must offer `h2`, `http/1.1`).
    pub(super) async fn start_tls(tls: Arc<rustls::ServerConfig>) -> Self {
        Self::start_inner(Proto::Http1, Some(TlsAcceptor::from(tls))).await
    }

    async fn start_inner(proto: Proto, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let switches = Arc::new(Switches::default());
        let (count, shared) = (accepted.clone(), switches.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let (switches, tls) = (shared.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(tcp, proto, addr, switches).await,
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            let proto = if h2 { Proto::Http2 } else { Proto::Http1 };
                            serve(stream, proto, addr, switches).await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            accepted,
            switches,
            task,
        }
    }
}

async fn serve<S>(io: S, proto: Proto, addr: SocketAddr, switches: Arc<Switches>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| respond(req, addr, switches.clone()));
    let io = TokioIo::new(io);
    let _ = match proto {
        Proto::Http1 => {
            hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
        }
        Proto::Http2 => {
            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(io, service)
                .await
        }
    };
}

async fn respond(
    req: Request<Incoming>,
    addr: SocketAddr,
    switches: Arc<Switches>,
) -> Result<Response<Body>, Infallible> {
    let full = |status: StatusCode, text: String| {
        let mut response = Response::new(Full::new(Bytes::from(text)).boxed_unsync());
        *response.status_mut() = status;
        Ok(response)
    };
    if req.uri().path() == "/healthz" {
        return if switches.sick.load(Ordering::SeqCst) {
            full(StatusCode::SERVICE_UNAVAILABLE, "sick".into())
        } else {
            full(StatusCode::OK, "ok".into())
        };
    }
    let delay = switches.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if req.uri().path().starts_with("/stall") {
        let first = stream::once(async { Ok(Frame::data(Bytes::from_static(b"first"))) });
        let body = StreamBody::new(first.chain(stream::pending()));
        return Ok(Response::new(body.boxed_unsync()));
    }
    let status = match switches.status.load(Ordering::SeqCst) {
        0 => StatusCode::OK,
        code => StatusCode::from_u16(code).unwrap(),
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let text = format!(
        "{addr} {:?} {} x-test={} x-secret={}",
        req.version(),
        req.uri().path_and_query().map_or("", |pq| pq.as_str()),
        header("x-test"),
        header("x-secret"),
    );
    full(status, text)
}

/// A server that accepts connections and never answers; counts accepts.
pub(super) struct SilentServer {
    /// Where it listens.
    pub(super) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SilentServer {
    /// Start it.
    pub(super) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        Self { addr, task }
    }
}

/// An address on which nothing listens (bound, then closed).
pub(super) async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
