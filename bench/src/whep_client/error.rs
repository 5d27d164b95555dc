//! Why a WHEP viewer could not start or ended.

use std::time::Duration;

/// A WHEP client failure.
#[derive(Debug, thiserror::Error)]
pub enum WhepError {
    /// The URL is not `http://host:port/path`.
    #[error("not an http:// URL: {0}")]
    BadUrl(String),
    /// The server answered the POST (or DELETE) with another status than
    /// expected; `body` is its (one-line) error text.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        /// `POST` or `DELETE`.
        method: &'static str,
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The response body, trimmed.
        body: String,
    },
    /// A `201 Created` without a `Location` header.
    #[error("201 without a Location header")]
    NoLocation,
    /// The HTTP exchange failed (connection refused, reset, malformed response).
    #[error("HTTP: {0}")]
    Http(String),
    /// Binding or using the UDP socket failed.
    #[error("UDP socket: {0}")]
    Io(#[from] std::io::Error),
    /// The server's SDP answer does not parse or str0m refused it.
    #[error("SDP answer: {0}")]
    Answer(String),
    /// str0m failed (offer creation, ICE, DTLS).
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
    /// Something did not happen in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The session ended before what was awaited happened.
    #[error("session ended: {0}")]
    Ended(String),
}

impl WhepError {
    /// The HTTP status, when the server refused with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            WhepError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, WhepError::Timeout(..))
    }
}
