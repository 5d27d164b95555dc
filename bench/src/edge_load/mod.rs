//! # edge_load — an HTTP load generator for caching edges
//!
//! Drives a fixed object set at a fixed number of connections over HTTP/1.1 or
//! HTTP/2 (h2c with prior knowledge, or over TLS 1.3) or HTTP/3 (QUIC), one
//! request in flight per connection, and reports throughput, latency
//! percentiles, status codes, the edge's `x-cache` answers, new connections per
//! second and resumed TLS handshakes, and the server's CPU time per request and
//! per byte. The `edge-load` binary is its command line.
//!
//! - [`cli`]: the command line and the object set it names;
//! - [`picker`]: uniform or Zipf choice of the next object (seeded);
//! - [`tls`]: the TLS 1.3 client configuration (trusted certificates, ALPN,
//!   session tickets kept or not);
//! - [`counting_verifier`]: counts verified server certificates (full
//!   handshakes, over TCP and QUIC alike);
//! - [`conn`]: one connection (hyper's low-level HTTP/1.1 or HTTP/2 client over
//!   TCP or TLS, or [`h3_conn`]) and the [`conn::Connector`] they share;
//! - [`h3_conn`]: one HTTP/3 connection over quinn + h3;
//! - [`server_cpu`]: CPU time of the server and of this client over the
//!   measured phase;
//! - [`stats`]: per-connection counters, merged into the final [`stats::Report`];
//! - [`run`]: the connection tasks, warm-up and stop conditions.

pub mod cli;
pub mod conn;
pub mod counting_verifier;
pub mod h3_conn;
pub mod picker;
pub mod run;
pub mod server_cpu;
pub mod stats;
pub mod tls;
