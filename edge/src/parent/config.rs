//! Parent list and client tuning: [`ParentConfig`], its defaults, and the parsing of
//! parent URLs into endpoints.
//!
//! A parent is written as a URL with a scheme and an authority, nothing else:
//!
//! | form | transport |
//! |---|---|
//! | `http://host:port` | HTTP/1.1 over TCP, pooled keep-alive connections |
//! | `https://host[:port]` | TLS; HTTP/2 when the parent selects `h2` by ALPN (RFC 9113 §3.2), else HTTP/1.1 |
//! | `h2c://host:port` | HTTP/2 over cleartext TCP with prior knowledge (RFC 9113 §3.3); opt in only for parents known to speak it (a Ferrocast edge or origin does) |
//!
//! The parent's name — in metrics labels, [`Parents::order`](super::Parents::order)
//! and [`ParentResponse::parent`](super::ParentResponse::parent) — is the URL's
//! authority (`host:port`), which must be unique across the list. Paths, queries and
//! user info in a parent URL are rejected: requests keep the path they were given.

use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::Uri;
use rustls::pki_types::CertificateDer;

/// Default for [`ParentConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default for [`ParentConfig::first_byte_timeout`].
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`ParentConfig::blocking_first_byte_timeout`]: a blocking LL-HLS
/// playlist request may be held for three target durations (6–10 s) at the parent.
pub const DEFAULT_BLOCKING_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(15);
/// Default for [`ParentConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ParentConfig::health_interval`].
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// Default for [`ParentConfig::health_timeout`].
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// Default for [`ParentConfig::pool_idle_timeout`].
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Which parents to ask and how patiently; [`Default`] gives the documented defaults
/// and no parents.
#[derive(Debug, Clone)]
pub struct ParentConfig {
    /// Parent URLs (`http://`, `https://` or `h2c://`, see the module docs), e.g.
    /// `"http://10.0.0.1:8080"`, `"https://mid.example"`, `"h2c://10.0.0.2:8080"`.
    pub parents: Vec<String>,
    /// TCP connect timeout (per attempt; happy eyeballs may try several addresses).
    pub connect_timeout: Duration,
    /// Time from sending a request (pool checkout and connect included) to the
    /// response head.
    pub first_byte_timeout: Duration,
    /// [`Self::first_byte_timeout`] for blocking LL-HLS playlist requests (query
    /// with `_HLS_msn`), which the parent legitimately holds for a while.
    pub blocking_first_byte_timeout: Duration,
    /// A response body that delivers no bytes for this long fails with
    /// [`ParentError::BodyIdleTimeout`](super::ParentError::BodyIdleTimeout).
    pub idle_timeout: Duration,
    /// Period of the active health check `GET {parent}/healthz`.
    pub health_interval: Duration,
    /// Time a health check may take (head and body) before it counts as failed.
    pub health_timeout: Duration,
    /// How long an unused pooled connection is kept open.
    pub pool_idle_timeout: Duration,
    /// Trust anchors added to the built-in web PKI roots for `https://` parents
    /// (a private CA for mid-tier edges).
    pub extra_root_certs: Vec<CertificateDer<'static>>,
}

impl Default for ParentConfig {
    fn default() -> Self {
        Self {
            parents: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            first_byte_timeout: DEFAULT_FIRST_BYTE_TIMEOUT,
            blocking_first_byte_timeout: DEFAULT_BLOCKING_FIRST_BYTE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            health_interval: DEFAULT_HEALTH_INTERVAL,
            health_timeout: DEFAULT_HEALTH_TIMEOUT,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            extra_root_certs: Vec::new(),
        }
    }
}

/// A configuration [`Parents::new`](super::Parents::new) refuses.
#[derive(Debug, thiserror::Error)]
pub enum ParentConfigError {
    /// The parent list is empty.
    #[error("no parents configured")]
    NoParents,
    /// A parent is not a valid absolute URL.
    #[error("parent {url:?} is not a valid URL: {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A parent's scheme is not `http`, `https` or `h2c`.
    #[error("parent {url:?}: unsupported scheme (use http://, https:// or h2c://)")]
    UnsupportedScheme {
        /// The URL as configured.
        url: String,
    },
    /// A parent URL carries a path, query or user info.
    #[error(
        "parent {url:?}: only scheme://host[:port] is allowed, without path, query or user info"
    )]
    NotAnOrigin {
        /// The URL as configured.
        url: String,
    },
    /// Two parents share one authority (their name in metrics and logs).
    #[error("parent {authority} is listed twice")]
    Duplicate {
        /// The repeated authority.
        authority: String,
    },
    /// A timeout is zero, which would fail every request.
    #[error("{name} must be greater than zero")]
    ZeroTimeout {
        /// The configuration field.
        name: &'static str,
    },
    /// The TLS client configuration could not be built (bad extra root certificate).
    #[error("TLS client configuration: {0}")]
    Tls(String),
    /// The metrics could not be registered (typically: registered twice).
    #[error("registering upstream metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// How a parent is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// HTTP/1.1 over TCP.
    Http,
    /// TLS with ALPN `h2`, `http/1.1`.
    Https,
    /// HTTP/2 with prior knowledge over TCP.
    H2c,
}

/// One parsed parent.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// `host:port` as configured; the parent's name.
    pub(crate) authority: Authority,
    /// How to talk to it.
    pub(crate) transport: Transport,
}

impl Endpoint {
    /// Parse one configured parent URL.
    pub(crate) fn parse(url: &str) -> Result<Self, ParentConfigError> {
        let uri: Uri =
            url.parse()
                .map_err(|e: http::uri::InvalidUri| ParentConfigError::InvalidUrl {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
        let transport = match uri.scheme_str() {
            Some("http") => Transport::Http,
            Some("https") => Transport::Https,
            Some("h2c") => Transport::H2c,
            Some(_) => {
                return Err(ParentConfigError::UnsupportedScheme {
                    url: url.to_owned(),
                })
            }
            None => {
                return Err(ParentConfigError::InvalidUrl {
                    url: url.to_owned(),
                    reason: "missing scheme".into(),
                })
            }
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| ParentConfigError::InvalidUrl {
                url: url.to_owned(),
                reason: "missing host".into(),
            })?;
        let path_ok = matches!(uri.path(), "" | "/");
        if !path_ok || uri.query().is_some() || authority.as_str().contains('@') {
            return Err(ParentConfigError::NotAnOrigin {
                url: url.to_owned(),
            });
        }
        Ok(Self {
            authority,
            transport,
        })
    }

    /// The scheme of request URIs to this parent (`h2c` parents are `http`).
    pub(crate) fn request_scheme(&self) -> Scheme {
        match self.transport {
            Transport::Https => Scheme::HTTPS,
            Transport::Http | Transport::H2c => Scheme::HTTP,
        }
    }
}

/// Parse every parent and check the configuration as a whole.
pub(crate) fn parse_parents(config: &ParentConfig) -> Result<Vec<Endpoint>, ParentConfigError> {
    if config.parents.is_empty() {
        return Err(ParentConfigError::NoParents);
    }
    for (name, value) in [
        ("connect_timeout", config.connect_timeout),
        ("first_byte_timeout", config.first_byte_timeout),
        (
            "blocking_first_byte_timeout",
            config.blocking_first_byte_timeout,
        ),
        ("idle_timeout", config.idle_timeout),
        ("health_interval", config.health_interval),
        ("health_timeout", config.health_timeout),
    ] {
        if value.is_zero() {
            return Err(ParentConfigError::ZeroTimeout { name });
        }
    }
    let mut endpoints: Vec<Endpoint> = Vec::with_capacity(config.parents.len());
    for url in &config.parents {
        let endpoint = Endpoint::parse(url.trim())?;
        if endpoints.iter().any(|e| e.authority == endpoint.authority) {
            return Err(ParentConfigError::Duplicate {
                authority: endpoint.authority.to_string(),
            });
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(parents: &[&str]) -> ParentConfig {
        ParentConfig {
            parents: parents.iter().map(|p| p.to_string()).collect(),
            ..ParentConfig::default()
        }
    }

    #[test]
    fn parses_the_three_schemes() {
        let parsed =
            parse_parents(&config(&["http://a:1", "https://b.example/", "h2c://c:3"])).unwrap();
        let got: Vec<_> = parsed
            .iter()
            .map(|e| (e.authority.as_str().to_owned(), e.transport))
            .collect();
        assert_eq!(
            got,
            [
                ("a:1".to_owned(), Transport::Http),
                ("b.example".to_owned(), Transport::Https),
                ("c:3".to_owned(), Transport::H2c),
            ]
        );
        assert_eq!(parsed[2].request_scheme(), Scheme::HTTP);
        assert_eq!(parsed[1].request_scheme(), Scheme::HTTPS);
    }

    #[test]
    fn rejects_bad_lists() {
        assert!(matches!(
            parse_parents(&config(&[])),
            Err(ParentConfigError::NoParents)
        ));
        assert!(matches!(
            parse_parents(&config(&["ftp://a:1"])),
            Err(ParentConfigError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            parse_parents(&config(&["a:1"])),
            Err(ParentConfigError::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_parents(&config(&["http://a:1/prefix"])),
            Err(ParentConfigError::NotAnOrigin { .. })
        ));
        assert!(matches!(
            parse_parents(&config(&["http://a:1/?x=1"])),
            Err(ParentConfigError::NotAnOrigin { .. })
        ));
        assert!(matches!(
            parse_parents(&config(&["http://a:1", "h2c://a:1"])),
            Err(ParentConfigError::Duplicate { .. })
        ));
        let mut zero = config(&["http://a:1"]);
        zero.idle_timeout = Duration::ZERO;
        assert!(matches!(
            parse_parents(&zero),
            Err(ParentConfigError::ZeroTimeout {
                name: "idle_timeout"
            })
        ));
    }
}
