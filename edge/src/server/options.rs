//! [`ServerOptions`]: the listener's limits and their documented defaults.

use std::time::Duration;

/// Default for [`ServerOptions::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default for [`ServerOptions::header_read_timeout`] (nginx `client_header_timeout`
/// is 60 s; a player sends its whole head in one packet).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ServerOptions::idle_timeout`] (nginx `keepalive_timeout` is 75 s;
/// players poll every part or segment, well inside this).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for [`ServerOptions::tls_handshake_timeout`].
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ServerOptions::max_concurrent_streams`].
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 256;
/// Default for [`ServerOptions::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default for [`ServerOptions::max_header_bytes`]: request line plus headers.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// The smallest [`ServerOptions::max_header_bytes`] hyper's HTTP/1.1 reader accepts.
pub const MIN_MAX_HEADER_BYTES: usize = 8 * 1024;
/// Pause after an accept error such as EMFILE, so a full fd table is not a busy loop.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Listener tuning; [`Default`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How long in-flight requests may run after shutdown was requested.
    pub shutdown_grace: Duration,
    /// HTTP/1.1: first byte of a request → complete head (slowloris;
    /// [`super::activity`]).
    pub header_read_timeout: Duration,
    /// Keep-alive: a connection with no request for this long is closed (HTTP/2 with
    /// GOAWAY).
    pub idle_timeout: Duration,
    /// Time allowed for a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` (RFC 9113 §6.5.2). Blocking playlist
    /// reloads hold streams, so this is generous.
    pub max_concurrent_streams: u32,
    /// Connections served at once; more are accepted and closed at once (counted in
    /// `ferrocast_http_connections_rejected_total`).
    pub max_connections: usize,
    /// Largest request head: HTTP/1.1 answers 431 beyond it, HTTP/2 advertises it as
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` (RFC 9113 §6.5.2). At least
    /// [`MIN_MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// `Alt-Svc` added to every response when an HTTP/3 listener runs
    /// ([`crate::http3::alt_svc`]); `None` adds nothing.
    pub alt_svc: Option<http::HeaderValue>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            alt_svc: None,
        }
    }
}
