//! One client connection made with hyper's low-level `client::conn` handshake
//! (not the pooled client), so the number of TCP connections is exactly the number
//! of [`Conn`]s. HTTP/1.1 keeps the connection alive; HTTP/2 is h2c with prior
//! knowledge, or h2 over TLS 1.3 by ALPN; HTTP/3 is [`H3Conn`]. Either way one
//! request is in flight at a time.
//!
//! A [`Connector`] holds what every connection of a run shares: the address, the
//! TLS configuration (and so its session tickets) and the QUIC endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper::header::HOST;
use hyper::rt::{Read, Write};
use hyper::{Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use rustls::HandshakeKind;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::cli::{Args, HttpVersion};
use super::counting_verifier::CountingVerifier;
use super::h3_conn::{self, H3Conn};
use super::tls;

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

/// What every connection of a run shares.
pub struct Connector {
    /// `host:port` as given.
    authority: String,
    version: HttpVersion,
    /// TLS over TCP (`https://` with HTTP/1.1 or HTTP/2), and the SNI name.
    tcp_tls: Option<(TlsConnector, ServerName<'static>)>,
    /// QUIC (`--http 3`): the endpoint, the server's address and SNI name.
    quic: Option<(quinn::Endpoint, SocketAddr, String)>,
    /// The TLS certificate verifier, which counts full handshakes.
    verifier: Option<Arc<CountingVerifier>>,
}

impl Connector {
    /// The connector for `args`. For HTTP/3 this binds the client's UDP socket,
    /// so it must run inside the runtime.
    pub async fn new(args: &Args) -> Result<Self> {
        let mut connector = Connector {
            authority: args.authority.clone(),
            version: args.http,
            tcp_tls: None,
            quic: None,
            verifier: None,
        };
        if let Some(t) = &args.tls {
            let client = tls::client_config(t, args.http)?;
            connector.verifier = Some(client.verifier);
            let config = client.config;
            if args.http == HttpVersion::H3 {
                let server = tokio::net::lookup_host(&args.authority)
                    .await?
                    .next()
                    .with_context(|| format!("{} has no address", args.authority))?;
                let endpoint = h3_conn::endpoint(server, config)?;
                connector.quic = Some((endpoint, server, t.server_name.clone()));
            } else {
                let name = ServerName::try_from(t.server_name.clone())
                    .with_context(|| format!("{:?} is not a server name", t.server_name))?;
                connector.tcp_tls = Some((TlsConnector::from(config), name));
            }
        }
        Ok(connector)
    }

    /// Server certificates verified so far (full TLS handshakes); `None`
    /// without TLS.
    pub fn certificates_verified(&self) -> Option<u64> {
        self.verifier.as_ref().map(|v| v.verified())
    }

    /// Connects (TCP with `TCP_NODELAY`, then TLS; or QUIC) and does the HTTP
    /// handshake; a TCP connection's driver runs as its own task.
    pub async fn connect(&self) -> Result<Conn> {
        if let Some((endpoint, server, name)) = &self.quic {
            let conn = H3Conn::connect(endpoint, *server, name).await?;
            return Ok(Conn {
                kind: Kind::H3(conn),
                resumed: None,
            });
        }
        let stream = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        stream.set_nodelay(true)?;
        match &self.tcp_tls {
            None => Ok(Conn {
                kind: handshake(TokioIo::new(stream), self.version).await?,
                resumed: None,
            }),
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), stream)
                    .await
                    .context("TLS handshake")?;
                let resumed = tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed);
                Ok(Conn {
                    kind: handshake(TokioIo::new(tls), self.version).await?,
                    resumed: Some(resumed),
                })
            }
        }
    }
}

/// The HTTP/1.1 or HTTP/2 handshake over `io`.
async fn handshake<T>(io: T, version: HttpVersion) -> Result<Kind>
where
    T: Read + Write + Unpin + Send + 'static,
{
    Ok(match version {
        HttpVersion::H1 => {
            let (send, conn) = http1::handshake(io).await?;
            tokio::spawn(conn);
            Kind::H1(send)
        }
        HttpVersion::H2 => {
            let (send, conn) = http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(16 << 20)
                .initial_connection_window_size(32 << 20)
                .handshake(io)
                .await?;
            tokio::spawn(conn);
            Kind::H2(send)
        }
        HttpVersion::H3 => anyhow::bail!("HTTP/3 runs over QUIC, not TCP"),
    })
}

/// The protocol of a [`Conn`].
enum Kind {
    /// HTTP/1.1.
    H1(http1::SendRequest<Empty<Bytes>>),
    /// HTTP/2 (h2c or h2).
    H2(http2::SendRequest<Empty<Bytes>>),
    /// HTTP/3.
    H3(H3Conn),
}

/// A connected client.
pub struct Conn {
    kind: Kind,
    /// For TLS over TCP: whether the handshake resumed a session (rustls'
    /// [`HandshakeKind`]). `None` for clear text, and for QUIC, whose client
    /// does not expose it.
    pub resumed: Option<bool>,
}

impl Conn {
    /// Whether the peer closed the connection (no further request can be sent).
    pub fn is_closed(&self) -> bool {
        match &self.kind {
            Kind::H1(send) => send.is_closed(),
            Kind::H2(send) => send.is_closed(),
            Kind::H3(conn) => conn.is_closed(),
        }
    }

    /// GETs `uri` and reads the whole body. For HTTP/1.1 `uri` is the path and
    /// `host` the `Host` field; for HTTP/2 and HTTP/3 `uri` is absolute
    /// (`http://host/path`, `https://host/path`).
    pub async fn get(&mut self, uri: &Uri, host: &str) -> Result<Outcome> {
        let mut req = Request::get(uri.clone()).body(Empty::new())?;
        let response = match &mut self.kind {
            Kind::H3(conn) => return conn.get(uri).await,
            Kind::H1(send) => {
                req.headers_mut().insert(HOST, host.parse()?);
                send.ready().await?;
                send.send_request(req).await?
            }
            Kind::H2(send) => {
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
