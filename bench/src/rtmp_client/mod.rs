//! # rtmp_client — an independent RTMP publisher
//!
//! Written from the RTMP 1.0 and AMF0 specifications, separately from the
//! `ingest` crate, so that it can check our server (and nginx-rtmp) from the
//! outside. The layers:
//!
//! - [`amf0`]: values of command and data messages;
//! - [`chunk`] and [`chunk_decoder`]: the sans-IO chunk stream, both ways;
//! - [`publisher`]: the tokio driver — simple handshake, Set Chunk Size
//!   4096, `connect` → `releaseStream` → `FCPublish` → `createStream` →
//!   `publish`, then `@setDataFrame`, audio and video messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bench::rtmp_client::ClientError> {
//! use bench::rtmp_client::Publisher;
//! let mut p = Publisher::connect("rtmp://127.0.0.1:1935/live/secret").await?;
//! p.send_video(0, bytes::Bytes::from_static(&[0x17, 0, 0, 0, 0])).await?;
//! p.close().await?;
//! # Ok(()) }
//! ```

pub mod amf0;
pub mod chunk;
pub mod chunk_decoder;
pub mod publisher;

pub use publisher::Publisher;

use thiserror::Error;

/// Everything that can end a publishing session.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Socket error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The URL is not `rtmp://host[:port]/app/key`.
    #[error("bad RTMP URL {0:?}: expected rtmp://host[:port]/app/key")]
    BadUrl(String),
    /// A stage of the session did not finish in time.
    #[error("timed out during {0}")]
    Timeout(&'static str),
    /// The server closed the connection.
    #[error("server closed the connection during {0}")]
    Closed(&'static str),
    /// The server's chunk stream was malformed.
    #[error("chunk stream: {0}")]
    Chunk(#[from] chunk_decoder::ChunkError),
    /// A command message was not valid AMF0.
    #[error("AMF0: {0}")]
    Amf0(#[from] amf0::Amf0Error),
    /// The handshake reply had the wrong version byte.
    #[error("server answered the handshake with version {0}")]
    BadHandshakeVersion(u8),
    /// `connect` was answered with `_error`.
    #[error("connect rejected: {0}")]
    ConnectRejected(String),
    /// `createStream` got an answer without a stream id.
    #[error("createStream answer without a stream id")]
    NoStreamId,
    /// `publish` (or the stream afterwards) got an error status such as
    /// `NetStream.Publish.BadName`.
    #[error("publish rejected: {code} ({description})")]
    PublishRejected {
        /// The `code` of the onStatus info object.
        code: String,
        /// Its `description`, if any.
        description: String,
    },
}

impl ClientError {
    /// True when the server refused the stream key or the publish.
    pub fn is_rejected(&self) -> bool {
        matches!(
            self,
            ClientError::PublishRejected { .. } | ClientError::ConnectRejected(_)
        )
    }
}

/// The parts of `rtmp://host[:port]/app/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishUrl {
    /// `host:port` to connect to (port 1935 when absent).
    pub addr: String,
    /// Application name (`live`).
    pub app: String,
    /// Stream key (publishing name).
    pub key: String,
    /// `rtmp://host[:port]/app`, sent as `tcUrl`.
    pub tc_url: String,
}

impl PublishUrl {
    /// Parses `rtmp://host[:port]/app/key`; the key is everything after
    /// the app and may itself contain `/` or a query.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        let bad = || ClientError::BadUrl(url.to_string());
        let rest = url.strip_prefix("rtmp://").ok_or_else(bad)?;
        let (host, path) = rest.split_once('/').ok_or_else(bad)?;
        let (app, key) = path.split_once('/').ok_or_else(bad)?;
        if host.is_empty() || app.is_empty() || key.is_empty() {
            return Err(bad());
        }
        let addr = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            host.to_string()
        } else {
            format!("{host}:1935")
        };
        Ok(PublishUrl {
            addr,
            app: app.to_string(),
            key: key.to_string(),
            tc_url: format!("rtmp://{host}/{app}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        let u = PublishUrl::parse("rtmp://127.0.0.1:1936/live/abc").unwrap();
        assert_eq!(u.addr, "127.0.0.1:1936");
        assert_eq!((u.app.as_str(), u.key.as_str()), ("live", "abc"));
        assert_eq!(u.tc_url, "rtmp://127.0.0.1:1936/live");
        let u = PublishUrl::parse("rtmp://example.org/live/k/x").unwrap();
        assert_eq!(
            (u.addr.as_str(), u.key.as_str()),
            ("example.org:1935", "k/x")
        );
        assert!(PublishUrl::parse("http://x/live/k").is_err());
        assert!(PublishUrl::parse("rtmp://x/live").is_err());
        assert!(PublishUrl::parse("rtmp://x/live/").is_err());
    }
}
