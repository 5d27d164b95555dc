//! [`ParentError`]: why a request to the parents, or its body, failed.
//!
//! Errors are `Clone` (the cache layer hands one failure to every coalesced waiter),
//! so transport errors are kept as their rendered text. Each variant names the
//! parent it happened at; [`ParentError::AllParentsFailed`] wraps the last of them
//! when failover ran out of parents.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use http::StatusCode;

/// A failed request to a parent, or a failed response body.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ParentError {
    /// The TCP connection (or TLS handshake) to the parent failed (refused, unreachable, bad certificate).
    #[error("connecting to parent {parent}: {reason}")]
    Connect {
        /// The parent's authority.
        parent: String,
        /// The underlying error.
        reason: String,
    },
    /// The TCP connect did not complete within `connect_timeout`.
    #[error("connecting to parent {parent}: timed out after {after:?}")]
    ConnectTimeout {
        /// The parent's authority.
        parent: String,
        /// The configured connect timeout.
        after: Duration,
    },
    /// No response head arrived within the (blocking) first-byte timeout.
    #[error("parent {parent} sent no response head within {after:?}")]
    FirstByteTimeout {
        /// The parent's authority.
        parent: String,
        /// The timeout that applied.
        after: Duration,
    },
    /// The parent answered 502, 503 or 504 (RFC 9110 §15.6.3–§15.6.5): it could not
    /// serve the object itself, so the next parent was asked.
    #[error("parent {parent} answered {status}")]
    GatewayStatus {
        /// The parent's authority.
        parent: String,
        /// The status it sent.
        status: StatusCode,
    },
    /// The request failed on an established connection before a response head
    /// (connection reset, HTTP/2 stream reset, malformed response).
    #[error("request to parent {parent} failed: {reason}")]
    Request {
        /// The parent's authority.
        parent: String,
        /// The underlying error.
        reason: String,
    },
    /// The response body delivered no bytes for `idle_timeout`.
    #[error("parent {parent}: response body idle for {after:?}")]
    BodyIdleTimeout {
        /// The parent's authority.
        parent: String,
        /// The configured idle timeout.
        after: Duration,
    },
    /// The response body broke off (reset, truncated, protocol error).
    #[error("parent {parent}: response body failed: {reason}")]
    Body {
        /// The parent's authority.
        parent: String,
        /// The underlying error.
        reason: String,
    },
    /// `path_and_query` is not an origin-form request target (RFC 9112 §3.2.1).
    #[error("invalid request target {target:?}")]
    InvalidTarget {
        /// The rejected target.
        target: String,
    },
    /// Every parent was tried (healthy ones first) and each failed; `last` is the
    /// failure at the last one.
    #[error("all {tried} parents failed, last: {last}")]
    AllParentsFailed {
        /// How many parents were tried.
        tried: usize,
        /// The last parent's failure.
        last: Box<ParentError>,
    },
}

impl ParentError {
    /// The label of this error in `ferrocast_edge_upstream_errors_total`.
    pub fn label(&self) -> &'static str {
        match self {
            ParentError::Connect { .. } => "connect",
            ParentError::ConnectTimeout { .. } => "connect_timeout",
            ParentError::FirstByteTimeout { .. } => "first_byte_timeout",
            ParentError::GatewayStatus { .. } => "gateway_status",
            ParentError::Request { .. } => "request",
            ParentError::BodyIdleTimeout { .. } => "body_idle_timeout",
            ParentError::Body { .. } => "body",
            ParentError::InvalidTarget { .. } => "invalid_target",
            ParentError::AllParentsFailed { .. } => "all_parents_failed",
        }
    }

    /// The parent the error happened at (the last one tried for
    /// [`ParentError::AllParentsFailed`]); `None` for an invalid target.
    pub fn parent(&self) -> Option<&str> {
        match self {
            ParentError::Connect { parent, .. }
            | ParentError::ConnectTimeout { parent, .. }
            | ParentError::FirstByteTimeout { parent, .. }
            | ParentError::GatewayStatus { parent, .. }
            | ParentError::Request { parent, .. }
            | ParentError::BodyIdleTimeout { parent, .. }
            | ParentError::Body { parent, .. } => Some(parent),
            ParentError::InvalidTarget { .. } => None,
            ParentError::AllParentsFailed { last, .. } => last.parent(),
        }
    }

    /// Whether a timeout caused this (a caller may answer 504 rather than 502).
    pub fn is_timeout(&self) -> bool {
        match self {
            ParentError::ConnectTimeout { .. }
            | ParentError::FirstByteTimeout { .. }
            | ParentError::BodyIdleTimeout { .. } => true,
            ParentError::AllParentsFailed { last, .. } => last.is_timeout(),
            _ => false,
        }
    }

    /// Whether no connection could be made (the parent looks down).
    pub fn is_connect(&self) -> bool {
        match self {
            ParentError::Connect { .. } | ParentError::ConnectTimeout { .. } => true,
            ParentError::AllParentsFailed { last, .. } => last.is_connect(),
            _ => false,
        }
    }

    /// Classify an error of hyper-util's client for `parent`.
    pub(crate) fn from_client(
        parent: &str,
        error: &hyper_util::client::legacy::Error,
        connect_timeout: Duration,
    ) -> Self {
        let parent = parent.to_owned();
        let reason = chain(error);
        if error.is_connect() {
            if caused_by_timeout(error) {
                ParentError::ConnectTimeout {
                    parent,
                    after: connect_timeout,
                }
            } else {
                ParentError::Connect { parent, reason }
            }
        } else {
            ParentError::Request { parent, reason }
        }
    }
}

/// The error and its sources, joined with `: `.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether an `io::Error` of kind `TimedOut` is among the error's sources (how
/// hyper-util's `HttpConnector` reports its connect timeout).
fn caused_by_timeout(error: &hyper_util::client::legacy::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = cause.source();
    }
    false
}
