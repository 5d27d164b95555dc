//! # A blocking TLS client for certificate tests
//!
//! rustls (ring) over a `std` TCP stream: [`TlsClient`] trusts the given roots,
//! sends SNI, and reports which certificate the server presented, so that tests can
//! tell an old certificate from a new one. [`TlsClient::get`] is an HTTP/1.0 GET
//! (the body ends at EOF, no chunking to undo); [`TlsClient::open_get`] returns the
//! stream after the request, for a test that reads a body slowly.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// A TLS stream to a test server.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A client trusting fixed roots; see the module docs.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: String,
}

/// One response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header block, as text.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
    /// The leaf certificate the server presented.
    pub leaf: CertificateDer<'static>,
}

impl TlsClient {
    /// Trusts `roots` (DER), connects with SNI `name`.
    pub fn new(roots: &[CertificateDer<'static>], name: &str) -> Result<Self> {
        let mut store = rustls::RootCertStore::empty();
        for r in roots {
            store.add(r.clone()).context("adding a root")?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            name: name.to_owned(),
        })
    }

    /// Connects and completes the handshake; the stream and the server's leaf.
    pub fn connect(&self, addr: SocketAddr) -> Result<(TlsStream, CertificateDer<'static>)> {
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
        let name = ServerName::try_from(self.name.clone())?;
        let conn = ClientConnection::new(self.config.clone(), name)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .context("TLS handshake")?;
        }
        let leaf = stream
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .context("no server certificate")?
            .clone()
            .into_owned();
        Ok((stream, leaf))
    }

    /// Connects and sends `GET path HTTP/1.0`; the stream is left at the response.
    pub fn open_get(
        &self,
        addr: SocketAddr,
        path: &str,
    ) -> Result<(TlsStream, CertificateDer<'static>)> {
        let (mut stream, leaf) = self.connect(addr)?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.name)?;
        stream.flush()?;
        Ok((stream, leaf))
    }

    /// `GET path` on a new connection, read to the end.
    pub fn get(&self, addr: SocketAddr, path: &str) -> Result<Response> {
        let (mut stream, leaf) = self.open_get(addr, path)?;
        let mut raw = Vec::new();
        read_to_end(&mut stream, &mut raw)?;
        let (head, body) = split_response(&raw)?;
        Ok(Response {
            status: status_of(&head)?,
            head,
            body,
            leaf,
        })
    }
}

/// Reads until the peer closes (a missing close_notify counts as the end).
pub fn read_to_end(stream: &mut TlsStream, out: &mut Vec<u8>) -> Result<()> {
    match stream.read_to_end(out) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Splits a raw response at the blank line.
pub fn split_response(raw: &[u8]) -> Result<(String, Vec<u8>)> {
    let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!("no response head in {} bytes", raw.len());
    };
    Ok((
        String::from_utf8_lossy(&raw[..at]).into_owned(),
        raw[at + 4..].to_vec(),
    ))
}

/// The status code of a response head.
pub fn status_of(head: &str) -> Result<u16> {
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {head:?}"))
}
