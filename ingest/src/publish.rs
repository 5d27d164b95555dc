//! What a listener hands to the rest of the server.
//!
//! A listener never decides whether a stream key is valid, nor where frames go: it
//! asks a [`PublishHandler`], which the origin implements.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use packager::media::{Frame, Track};

/// A publish request, as received from the protocol.
#[derive(Clone)]
pub struct PublishRequest {
    /// The RTMP application (`live`) or SRT resource prefix.
    pub app: String,
    /// The stream key. Never log it.
    pub stream_key: String,
    /// The publisher's address.
    pub peer: SocketAddr,
    /// The channel the publisher named, when the protocol names one (WHIP's
    /// `/whip/{channel}`): the key must open exactly this channel.
    pub channel: Option<String>,
}

impl std::fmt::Debug for PublishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishRequest")
            .field("app", &self.app)
            .field("stream_key", &"<redacted>")
            .field("peer", &self.peer)
            .field("channel", &self.channel)
            .finish()
    }
}

/// Why a publish request was refused; the text is sent to the publisher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRejection {
    /// No channel has this key.
    #[error("unknown stream key")]
    UnknownKey,
    /// The application name is not one we serve.
    #[error("unknown application {0:?}")]
    UnknownApp(String),
    /// Someone is already publishing to this channel.
    #[error("channel {0:?} already has a live publisher")]
    AlreadyPublishing(String),
    /// The key could not be checked (the catalog is unreachable); try again later.
    #[error("stream keys cannot be checked right now")]
    Unavailable,
    /// The key is valid but opens another channel than the one named.
    #[error("this stream key does not publish channel {0:?}")]
    WrongChannel(String),
    /// Too many wrong keys from this address recently; refused without a check.
    #[error("too many wrong stream keys from this address; try again later")]
    TooManyFailures,
}

/// Receives the media of one accepted publish session. Calls are made from the
/// connection's task, in arrival order; they must not block for long.
pub trait MediaSink: Send + 'static {
    /// The channel name this sink feeds (for logs; never the key).
    fn channel(&self) -> &str;
    /// A track was announced or its configuration changed.
    fn track(&mut self, track: Track);
    /// One access unit.
    fn frame(&mut self, frame: Frame);
    /// The publisher is gone (cleanly or not). Called exactly once.
    fn end(&mut self);
    /// Whether the application wants this publisher disconnected (an operator
    /// kicked it). Checked after each batch of input, so a kick takes effect with
    /// the publisher's next bytes.
    fn kicked(&self) -> bool {
        false
    }
}

/// Future returned by [`PublishHandler::publish`].
pub type PublishFuture =
    Pin<Box<dyn Future<Output = Result<Box<dyn MediaSink>, PublishRejection>> + Send>>;

/// Decides publish requests.
pub trait PublishHandler: Send + Sync + 'static {
    /// Authorise `request` and, if accepted, return the sink for its media.
    fn publish(&self, request: PublishRequest) -> PublishFuture;

    /// Checks `request` (application, stream key, rate limit) without going live.
    /// Listeners whose handshake finishes after the key is known (SRT: the
    /// passphrase is verified only when the handshake completes) call this first,
    /// so that a caller with a valid key but a wrong passphrase never marks the
    /// channel live. [`PublishHandler::publish`] checks again.
    fn check(&self, request: &PublishRequest) -> CheckFuture {
        let _ = request;
        Box::pin(std::future::ready(Ok(())))
    }

    /// A connection on `protocol`'s listener failed before any publish request
    /// (e.g. a TLS handshake with garbage); for metrics.
    fn handshake_failed(&self, protocol: &'static str) {
        let _ = protocol;
    }

    /// A publisher on `protocol` sent `count` more units of damaged input of
    /// `kind` (e.g. `continuity_error`); the connection goes on. For metrics.
    fn input_errors(&self, protocol: &'static str, kind: &'static str, count: u64) {
        let _ = (protocol, kind, count);
    }
}

/// Future returned by [`PublishHandler::check`].
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), PublishRejection>> + Send>>;
