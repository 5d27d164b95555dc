//! # edge — HTTP delivery
//!
//! One request pipeline serves both tiers: the origin plugs in its live store as the
//! [`upstream::Upstream`], an edge node (next issue) plugs in its parents and caches.
//!
//! - [`upstream`]: the `Upstream` trait and the response types it returns.
//! - [`pipeline`]: the request pipeline in named phases (`request_filter`, built-in
//!   routes, `upstream_request`, fetch, `response_filter`, `logging`), working on
//!   `http::Request` / `http::Response` only, so every transport shares it.
//! - [`body`]: [`body::ResponseBody`], the transport-independent response body.
//! - [`metrics`]: delivery metrics registered into a caller-owned Prometheus registry.
//! - [`server`]: HTTP/1.1 + HTTP/2 (h2c and TLS with ALPN) on hyper 1, with graceful
//!   shutdown.
//! - [`tls`]: PEM certificate + key → `rustls::ServerConfig` with ALPN.
//! - [`node`]: the edge node — configuration, cache key, freshness, the caching
//!   upstream over [`cache`] and the parents, purge API, metrics.
//! - [`token`]: Ed25519 playback tokens in the path (`/t/{token}/…`): verify, sign;
//!   [`verified_tokens`] remembers verified ones.
//! - [`config_env`]: `FERROCAST_SECTION__KEY` overrides shared with the origin.
//! - [`parent`]: the HTTP parent client: consistent hashing, health checks, failover,
//!   timeouts, pooled HTTP/1.1 and HTTP/2 connections.
//!
//! ```no_run
//! # async fn run(upstream: std::sync::Arc<dyn edge::upstream::Upstream>) {
//! use std::sync::Arc;
//! let registry = prometheus::Registry::new();
//! let pipeline = Arc::new(edge::pipeline::Pipeline::new(upstream, &registry).unwrap());
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! edge::server::serve(listener, pipeline, None, shutdown).await;
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod admin_keys;
pub mod body;
pub mod config_env;
pub mod http3;
pub mod metrics;
pub mod node;
pub mod parent;
pub mod pipeline;
pub mod server;
pub mod tls;
pub mod token;
pub mod upstream;
pub mod verified_tokens;
