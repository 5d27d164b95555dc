//! The HTTP parent upstream client: fetch objects from a list of parents (mid-tier
//! edges or origins) with consistent hashing, health checks and failover.
//!
//! The cache layer calls [`Parents::fetch`] on a miss, streams
//! [`ParentResponse::body`] to its waiters as it arrives and stores it. This type is
//! not an [`Upstream`](crate::upstream::Upstream) itself; the cache layer wraps it.
//!
//! How a fetch picks its parent:
//!
//! 1. [`hashing`]: rendezvous hashing of the path (without query) gives every
//!    parent a rank; the first is the path's home, so mid-tier caches split the
//!    catalog, and the rest is the failover order.
//! 2. [`health`]: healthy parents are tried first, unhealthy ones after them
//!    (health is a hint, not a wall), both in hash order.
//! 3. Each attempt must produce a response head within the first-byte timeout —
//!    `blocking_first_byte_timeout` for LL-HLS blocking playlist requests (a query
//!    with `_HLS_msn`), which are forwarded with their query and held by the parent
//!    for up to three target durations.
//! 4. A connect failure, a timeout, a reset before the head or a 502/503/504 moves
//!    on to the next parent: GET is idempotent, so retrying it is safe (RFC 9110
//!    §9.2.2). Any other status — 404 included — is the answer.
//! 5. The body then streams with an idle timeout (`client::body_stream`); a body
//!    that fails mid-way is not retried (bytes were already handed out).
//!
//! Parent URLs and transports (`http://`, `https://` with ALPN, `h2c://` for HTTP/2
//! with prior knowledge) are described in [`config`]; metrics in [`metrics`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use edge::parent::{ParentConfig, Parents};
//! let registry = prometheus::Registry::new();
//! let config = ParentConfig {
//!     parents: vec!["h2c://10.0.0.1:8080".into(), "https://mid.example".into()],
//!     ..ParentConfig::default()
//! };
//! let parents = Parents::new(config, &registry)?;
//! let (_stop, shutdown) = tokio::sync::watch::channel(false);
//! tokio::spawn(parents.clone().run_health_checks(shutdown));
//! let response = parents.fetch("/live/ch/video0/seg12.m4s", http::HeaderMap::new()).await?;
//! println!("{} from {}", response.status, response.parent);
//! # Ok(()) }
//! ```

pub mod client;
pub mod config;
pub mod error;
pub mod hashing;
pub mod health;
pub mod metrics;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use http::{HeaderMap, StatusCode};
use prometheus::Registry;

use client::ClientPool;
use config::Endpoint;
use health::HealthState;
use metrics::ParentMetrics;

pub use config::{ParentConfig, ParentConfigError};
pub use error::ParentError;

/// The query parameter that makes an LL-HLS playlist request blocking (RFC 8216bis
/// §6.2.5.2).
pub const BLOCKING_QUERY_PARAM: &str = "_HLS_msn";

/// A parent's answer: its head, and its body as it arrives.
pub struct ParentResponse {
    /// The parent's status (never 502–504: those fail over).
    pub status: StatusCode,
    /// The parent's header fields, hop-by-hop fields removed (RFC 9110 §7.6.1).
    pub headers: HeaderMap,
    /// The body, chunk by chunk; an error is the last item.
    pub body: BoxStream<'static, Result<Bytes, ParentError>>,
    /// The authority of the parent that answered.
    pub parent: String,
}

impl std::fmt::Debug for ParentResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

/// One configured parent.
#[derive(Debug)]
struct Parent {
    /// The authority; the parent's name in logs, metrics and hashing.
    name: Arc<str>,
    endpoint: Endpoint,
    health: HealthState,
}

/// The parents of an edge and the pooled clients to reach them. `Send + Sync`;
/// share it in an `Arc`.
#[derive(Debug)]
pub struct Parents {
    config: ParentConfig,
    parents: Vec<Parent>,
    clients: ClientPool,
    metrics: ParentMetrics,
}

impl Parents {
    /// Parse `config`, build the clients and register the metrics into `registry`.
    /// Needs no runtime; fetches and health checks run on tokio.
    pub fn new(config: ParentConfig, registry: &Registry) -> Result<Arc<Self>, ParentConfigError> {
        let endpoints = config::parse_parents(&config)?;
        let clients = ClientPool::new(&config)?;
        let metrics = ParentMetrics::register(registry)?;
        let parents = endpoints
            .into_iter()
            .map(|endpoint| Parent {
                name: Arc::from(endpoint.authority.as_str()),
                endpoint,
                health: HealthState::new(),
            })
            .collect::<Vec<_>>();
        for parent in &parents {
            metrics.set_healthy(&parent.name, true);
        }
        Ok(Arc::new(Self {
            config,
            parents,
            clients,
            metrics,
        }))
    }

    /// The preference order (parent authorities, health ignored) for `path`; a
    /// query is ignored.
    pub fn order(&self, path: &str) -> Vec<String> {
        hashing::preference(&self.names(), path)
            .into_iter()
            .map(|i| self.parents[i].name.to_string())
            .collect()
    }

    /// Every parent with whether it is considered healthy, in configuration order.
    pub fn healthy(&self) -> Vec<(String, bool)> {
        self.parents
            .iter()
            .map(|p| (p.name.to_string(), p.health.is_healthy()))
            .collect()
    }

    /// `GET path_and_query` (origin form, query forwarded intact) from the first
    /// healthy parent in hash order; on a connect failure, a first-byte timeout, a
    /// failure before the response head or a 502–504, try the next one (unhealthy
    /// parents last). `headers` are forwarded without hop-by-hop fields and `Host`.
    ///
    /// Fails with [`ParentError::AllParentsFailed`] when no parent answered, or
    /// [`ParentError::InvalidTarget`] for a target not starting with `/`.
    pub async fn fetch(
        &self,
        path_and_query: &str,
        headers: HeaderMap,
    ) -> Result<ParentResponse, ParentError> {
        let blocking = is_blocking_request(path_and_query);
        let first_byte_timeout = if blocking {
            self.config.blocking_first_byte_timeout
        } else {
            self.config.first_byte_timeout
        };
        let mut attempts = hashing::preference(&self.names(), path_and_query);
        // Stable: hash order within the healthy and within the unhealthy parents.
        attempts.sort_by_key(|&i| !self.parents[i].health.is_healthy());

        let mut last = None;
        for (n, &i) in attempts.iter().enumerate() {
            let parent = &self.parents[i];
            match self
                .attempt(
                    parent,
                    path_and_query,
                    &headers,
                    blocking,
                    first_byte_timeout,
                )
                .await
            {
                Ok(response) => {
                    if n > 0 {
                        self.metrics.failover();
                    }
                    return Ok(response);
                }
                Err(error @ ParentError::InvalidTarget { .. }) => return Err(error),
                Err(error) => {
                    self.metrics.error(&parent.name, &error);
                    if error.is_connect() && parent.health.mark_down() {
                        self.metrics.set_healthy(&parent.name, false);
                    }
                    tracing::warn!(parent = %parent.name, %error, "parent failed, trying the next one");
                    last = Some(error);
                }
            }
        }
        Err(ParentError::AllParentsFailed {
            tried: attempts.len(),
            last: Box::new(last.expect("parse_parents rejects an empty parent list")),
        })
    }

    /// One request to one parent, up to its response head.
    async fn attempt(
        &self,
        parent: &Parent,
        path_and_query: &str,
        headers: &HeaderMap,
        blocking: bool,
        first_byte_timeout: Duration,
    ) -> Result<ParentResponse, ParentError> {
        let started = Instant::now();
        let pending = self
            .clients
            .send(&parent.endpoint, path_and_query, headers)?;
        let response = match tokio::time::timeout(first_byte_timeout, pending).await {
            Err(_) => {
                return Err(ParentError::FirstByteTimeout {
                    parent: parent.name.to_string(),
                    after: first_byte_timeout,
                })
            }
            Ok(Err(e)) => {
                return Err(ParentError::from_client(
                    &parent.name,
                    &e,
                    self.config.connect_timeout,
                ))
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        self.metrics.response(
            &parent.name,
            blocking,
            status.as_u16(),
            started.elapsed().as_secs_f64(),
        );
        if matches!(
            status,
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        ) {
            return Err(ParentError::GatewayStatus {
                parent: parent.name.to_string(),
                status,
            });
        }
        let (head, body) = response.into_parts();
        let mut headers = head.headers;
        client::strip_hop_by_hop(&mut headers);
        Ok(ParentResponse {
            status,
            headers,
            body: client::body_stream(
                body,
                parent.name.clone(),
                self.config.idle_timeout,
                self.metrics.clone(),
            ),
            parent: parent.name.to_string(),
        })
    }

    fn names(&self) -> Vec<&str> {
        self.parents.iter().map(|p| &*p.name).collect()
    }
}

/// Whether `path_and_query` is a blocking LL-HLS playlist request: its query has a
/// `_HLS_msn` parameter.
pub fn is_blocking_request(path_and_query: &str) -> bool {
    path_and_query.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(BLOCKING_QUERY_PARAM))
    })
}
