//! One client connection made with hyper's low-level `client::conn` handshake
//! (not the pooled client), so the number of TCP connections is exactly the number
//! of [`Conn`]s. HTTP/1.1 keeps the connection alive; HTTP/2 is h2c with prior
//! knowledge. Either way one request is in flight at a time.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper::header::HOST;
use hyper::{Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::cli::HttpVersion;

/// The response header counted per value.
pub const X_CACHE: &str = "x-cache";

/// What one complete response was.
#[derive(Debug)]
pub struct Outcome {
    /// Status code.
    pub status: u16,
    /// The `x-cache` value, if any.
    pub x_cache: Option<hyper::header::HeaderValue>,
    /// Body bytes read.
    pub bytes: u64,
}

/// A connected client.
pub enum Conn {
    /// HTTP/1.1.
    H1(http1::SendRequest<Empty<Bytes>>),
    /// HTTP/2 (h2c).
    H2(http2::SendRequest<Empty<Bytes>>),
}

impl Conn {
    /// Connects to `authority` (`host:port`) with `TCP_NODELAY` and does the
    /// handshake; the connection's driver runs as its own task.
    pub async fn connect(authority: &str, version: HttpVersion) -> Result<Conn> {
        let stream = TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        let io = TokioIo::new(stream);
        Ok(match version {
            HttpVersion::H1 => {
                let (send, conn) = http1::handshake(io).await?;
                tokio::spawn(conn);
                Conn::H1(send)
            }
            HttpVersion::H2 => {
                let (send, conn) = http2::Builder::new(TokioExecutor::new())
                    .initial_stream_window_size(16 << 20)
                    .initial_connection_window_size(32 << 20)
                    .handshake(io)
                    .await?;
                tokio::spawn(conn);
                Conn::H2(send)
            }
        })
    }

    /// Whether the peer closed the connection (no further request can be sent).
    pub fn is_closed(&self) -> bool {
        match self {
            Conn::H1(send) => send.is_closed(),
            Conn::H2(send) => send.is_closed(),
        }
    }

    /// GETs `uri` and reads the whole body. For HTTP/1.1 `uri` is the path and
    /// `host` the `Host` field; for HTTP/2 `uri` is absolute (`http://host/path`).
    pub async fn get(&mut self, uri: &Uri, host: &str) -> Result<Outcome> {
        let mut req = Request::get(uri.clone()).body(Empty::new())?;
        let response = match self {
            Conn::H1(send) => {
                req.headers_mut().insert(HOST, host.parse()?);
                send.ready().await?;
                send.send_request(req).await?
            }
            Conn::H2(send) => {
                send.ready().await?;
                send.send_request(req).await?
            }
        };
        let status = response.status().as_u16();
        let x_cache = response.headers().get(X_CACHE).cloned();
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                bytes += data.len() as u64;
            }
        }
        Ok(Outcome {
            status,
            x_cache,
            bytes,
        })
    }
}
