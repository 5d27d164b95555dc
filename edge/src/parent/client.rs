//! The pooled HTTP clients that talk to parents, and the response body stream with
//! its idle timeout.
//!
//! Two hyper-util clients share the work:
//!
//! - `http` serves `http://` and `https://` parents through one
//!   [`HttpsConnector`]: plain TCP for `http`, rustls for `https` with ALPN offering
//!   `h2` then `http/1.1`; the client speaks HTTP/2 on connections where the parent
//!   selected `h2` (RFC 9113 §3.2) and pools HTTP/1.1 keep-alive connections
//!   otherwise (RFC 9112 §9.3).
//! - `h2c` is HTTP/2-only over TCP: the connection preface is sent at once, with no
//!   `Upgrade` (prior knowledge, RFC 9113 §3.3). All requests to one parent are
//!   multiplexed on one connection.
//!
//! Both connect with `TCP_NODELAY` (parts are small writes) and the configured
//! connect timeout, and keep idle connections for `pool_idle_timeout`. HTTP/2
//! connections send PINGs ([`H2_KEEP_ALIVE_INTERVAL`]) so a dead parent behind a
//! silent network is noticed without waiting for a request to time out.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use http::header::{self, HeaderMap, HeaderName};
use http::uri::PathAndQuery;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::config::{Endpoint, ParentConfig, ParentConfigError, Transport};
use super::error::ParentError;
use super::metrics::ParentMetrics;

/// Interval of HTTP/2 PINGs on pooled parent connections (RFC 9113 §6.7).
pub const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// Time to wait for a PING's acknowledgement before closing the connection.
pub const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections kept per parent (HTTP/1.1 needs one per concurrent
/// request; a miss storm on one mid-tier uses many).
pub const POOL_MAX_IDLE_PER_PARENT: usize = 256;

/// Header fields a proxy must not forward, in either direction (RFC 9110 §7.6.1);
/// fields named in `Connection` are removed as well.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The clients for every kind of parent.
#[derive(Debug)]
pub(crate) struct ClientPool {
    http: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    h2c: Client<HttpConnector, Empty<Bytes>>,
}

impl ClientPool {
    /// Build the clients for `config`'s timeouts and trust anchors.
    pub(crate) fn new(config: &ParentConfig) -> Result<Self, ParentConfigError> {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        // The https connector below decides per scheme; it needs the TCP connector
        // to accept `https` URIs.
        tcp.enforce_http(false);

        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(config)?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp.clone());
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_PARENT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
            .http2_keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT)
            .build(https);

        let mut plain = tcp;
        plain.enforce_http(true);
        let h2c = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
            .http2_keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT)
            .build(plain);
        Ok(Self { http, h2c })
    }

    /// Start `GET path_and_query` at `endpoint` with the forwardable fields of
    /// `headers`. The future resolves at the response head.
    pub(crate) fn send(
        &self,
        endpoint: &Endpoint,
        path_and_query: &str,
        headers: &HeaderMap,
    ) -> Result<ResponseFuture, ParentError> {
        let invalid = || ParentError::InvalidTarget {
            target: path_and_query.to_owned(),
        };
        // Origin form: an absolute path and an optional query (RFC 9112 §3.2.1).
        if !path_and_query.starts_with('/') {
            return Err(invalid());
        }
        let target: PathAndQuery = path_and_query.parse().map_err(|_| invalid())?;
        let uri = Uri::builder()
            .scheme(endpoint.request_scheme())
            .authority(endpoint.authority.clone())
            .path_and_query(target)
            .build()
            .map_err(|_| invalid())?;
        let mut request = Request::get(uri)
            .body(Empty::new())
            .map_err(|_| invalid())?;
        let forwarded = request.headers_mut();
        *forwarded = headers.clone();
        // The client writes `Host` (HTTP/1.1) or `:authority` (HTTP/2) from the URI.
        forwarded.remove(header::HOST);
        strip_hop_by_hop(forwarded);
        Ok(match endpoint.transport {
            Transport::Http | Transport::Https => self.http.request(request),
            Transport::H2c => self.h2c.request(request),
        })
    }
}

/// The rustls client configuration: web PKI roots plus the configured extra ones.
/// ALPN is set by the connector builder.
fn tls_config(config: &ParentConfig) -> Result<rustls::ClientConfig, ParentConfigError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in &config.extra_root_certs {
        roots
            .add(cert.clone())
            .map_err(|e| ParentConfigError::Tls(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ParentConfigError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Remove hop-by-hop fields, including those the `Connection` field names
/// (RFC 9110 §7.6.1).
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// What the body stream needs besides the body.
struct BodyState {
    body: Incoming,
    parent: Arc<str>,
    idle_timeout: Duration,
    metrics: ParentMetrics,
}

/// The response body as a stream of non-empty chunks as they arrive. A gap of
/// `idle_timeout` without bytes ends it with [`ParentError::BodyIdleTimeout`]; a
/// broken body with [`ParentError::Body`]. Trailers are dropped. Either error is the
/// stream's last item.
pub(crate) fn body_stream(
    body: Incoming,
    parent: Arc<str>,
    idle_timeout: Duration,
    metrics: ParentMetrics,
) -> BoxStream<'static, Result<Bytes, ParentError>> {
    let state = BodyState {
        body,
        parent,
        idle_timeout,
        metrics,
    };
    stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        loop {
            let error = match tokio::time::timeout(state.idle_timeout, state.body.frame()).await {
                Ok(None) => return None,
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Some((Ok(data), Some(state))),
                    // Empty DATA frames and trailers carry no bytes.
                    _ => continue,
                },
                Ok(Some(Err(e))) => ParentError::Body {
                    parent: state.parent.to_string(),
                    reason: super::error::chain(&e),
                },
                Err(_) => ParentError::BodyIdleTimeout {
                    parent: state.parent.to_string(),
                    after: state.idle_timeout,
                },
            };
            state.metrics.error(&state.parent, &error);
            return Some((Err(error), None));
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn strips_hop_by_hop_and_connection_named_fields() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-trace"),
        );
        headers.insert("x-trace", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=1"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["cache-control", "content-length"]);
    }
}
