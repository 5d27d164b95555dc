//! Shared harness for the edge integration tests: a fake [`Upstream`], a server on
//! 127.0.0.1:0, and hyper clients speaking HTTP/1.1, h2c (prior knowledge) or TLS.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use edge::pipeline::Pipeline;
use edge::server::{serve_with, ServerOptions};
use edge::upstream::{
    ObjectKind, Upstream, UpstreamBody, UpstreamFuture, UpstreamRequest, UpstreamResponse,
};
use futures_util::StreamExt;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The body of `/live/ch/video0/seg1.m4s`.
pub const SEGMENT: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// Cache-Control the fake upstream gives segments.
pub const IMMUTABLE: &str = "public, max-age=86400, immutable";

/// Paths: `/live/ch/video0/seg1.m4s` (full, immutable), `/live/ch/video0/index.m3u8`
/// (full, max-age=1), `/live/ch/video0/part9.0.m4s` (404 with max-age=1), `/stream`
/// (streaming, fed by the channel from [`FakeUpstream::stream_sender`]); else 404.
#[derive(Default)]
pub struct FakeUpstream {
    streams: Mutex<Vec<mpsc::UnboundedReceiver<Bytes>>>,
    /// Every request the upstream saw (path, query).
    pub seen: Mutex<Vec<UpstreamRequest>>,
}

impl FakeUpstream {
    /// A sender whose chunks make up the body of the next `/stream` request; the body
    /// ends when the sender is dropped.
    pub fn stream_sender(&self) -> mpsc::UnboundedSender<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.streams.lock().unwrap().push(rx);
        tx
    }
}

fn full(kind: ObjectKind, ct: &'static str, cc: &str, body: &'static [u8]) -> UpstreamResponse {
    UpstreamResponse {
        status: StatusCode::OK,
        kind,
        content_type: ct,
        cache_control: cc.into(),
        headers: http::HeaderMap::new(),
        body: UpstreamBody::Full(Bytes::from_static(body)),
    }
}

impl Upstream for FakeUpstream {
    fn fetch(&self, request: UpstreamRequest) -> UpstreamFuture {
        self.seen.lock().unwrap().push(request.clone());
        let response = match request.path.as_str() {
            "/live/ch/video0/seg1.m4s" => {
                full(ObjectKind::Segment, "video/mp4", IMMUTABLE, SEGMENT)
            }
            "/live/ch/video0/index.m3u8" => full(
                ObjectKind::MediaPlaylist,
                "application/vnd.apple.mpegurl",
                "public, max-age=1",
                b"#EXTM3U\n",
            ),
            "/live/ch/video0/part9.0.m4s" => UpstreamResponse {
                cache_control: "max-age=1".into(),
                headers: http::HeaderMap::new(),
                ..UpstreamResponse::error(StatusCode::NOT_FOUND, "part not yet hinted")
            },
            "/stream" => match self.streams.lock().unwrap().pop() {
                Some(mut rx) => UpstreamResponse {
                    status: StatusCode::OK,
                    kind: ObjectKind::Segment,
                    content_type: "video/mp4",
                    cache_control: IMMUTABLE.into(),
                    headers: http::HeaderMap::new(),
                    body: UpstreamBody::Streaming(
                        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed(),
                    ),
                },
                None => UpstreamResponse::error(StatusCode::NOT_FOUND, "no stream armed"),
            },
            _ => UpstreamResponse::error(StatusCode::NOT_FOUND, "not found"),
        };
        Box::pin(async move { response })
    }
}

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub upstream: Arc<FakeUpstream>,
    pub pipeline: Arc<Pipeline>,
    pub ready: Arc<AtomicBool>,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
}

impl TestServer {
    /// Plain TCP, default options but a short grace.
    pub async fn start() -> Self {
        Self::start_with(None, options(Duration::from_secs(5))).await
    }

    pub async fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        options: ServerOptions,
    ) -> Self {
        let upstream = Arc::new(FakeUpstream::default());
        let registry = prometheus::Registry::new();
        let ready = Arc::new(AtomicBool::new(true));
        let flag = ready.clone();
        let pipeline = Arc::new(
            Pipeline::new(upstream.clone(), &registry)
                .unwrap()
                .with_readiness(move || flag.load(Ordering::SeqCst)),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(
            listener,
            pipeline.clone(),
            tls,
            async {
                let _ = rx.await;
            },
            options,
        ));
        Self {
            addr,
            upstream,
            pipeline,
            ready,
            shutdown: Some(tx),
            task,
        }
    }

    /// Ask the server to shut down (returns at once; await `task` to see it end).
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn options(grace: Duration) -> ServerOptions {
    ServerOptions {
        shutdown_grace: grace,
        ..ServerOptions::default()
    }
}

/// A client connection speaking one HTTP version.
pub enum Client {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

impl Client {
    /// Connect over plain TCP: HTTP/1.1, or HTTP/2 with prior knowledge (h2c).
    pub async fn connect(addr: SocketAddr, version: Version) -> Self {
        let tcp = TcpStream::connect(addr).await.unwrap();
        Self::handshake(TokioIo::new(tcp), version).await
    }

    pub async fn handshake<I>(io: I, version: Version) -> Self
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        if version == Version::HTTP_2 {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            Client::H2(send)
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            Client::H1(send)
        }
    }

    /// Send `method path` with extra header fields; returns the response head + body.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Response<Incoming> {
        let (uri, version) = match self {
            Client::H1(_) => (path.to_owned(), Version::HTTP_11),
            Client::H2(_) => (format!("http://localhost{path}"), Version::HTTP_2),
        };
        let mut builder = Request::builder().method(method).uri(uri).version(version);
        if version == Version::HTTP_11 {
            builder = builder.header("host", "localhost");
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder.body(Empty::new()).unwrap();
        match self {
            Client::H1(s) => s.send_request(req).await.unwrap(),
            Client::H2(s) => s.send_request(req).await.unwrap(),
        }
    }

    /// GET/HEAD/… and collect the whole body.
    pub async fn fetch(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (http::response::Parts, Bytes) {
        let resp = self.send(method, path, headers).await;
        let (parts, body) = resp.into_parts();
        (parts, body.collect().await.unwrap().to_bytes())
    }
}

/// Both plain-TCP versions, for tests that run the same checks on each.
pub const VERSIONS: [Version; 2] = [Version::HTTP_11, Version::HTTP_2];

/// A header as text, panicking with its name if missing.
pub fn header<'a>(parts: &'a http::response::Parts, name: &str) -> &'a str {
    parts
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}: {:?}", parts.headers))
        .to_str()
        .unwrap()
}

/// Every response carries the CORS origin and exposes the ETag.
pub fn assert_cors(parts: &http::response::Parts) {
    assert_eq!(header(parts, "access-control-allow-origin"), "*");
    assert!(header(parts, "access-control-expose-headers").contains("ETag"));
}

/// Next non-empty data frame of `body` (`None` at its end), failing the test after 5 s.
pub async fn next_data(body: &mut Incoming) -> Option<Bytes> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("chunk did not arrive in time")?
            .expect("body error");
        // HTTP/2 may end a stream with an empty DATA frame carrying END_STREAM.
        match frame.into_data() {
            Ok(data) if !data.is_empty() => return Some(data),
            _ => {}
        }
    }
}
