//! # edge_load — an HTTP load generator for caching edges
//!
//! Drives a fixed object set at a fixed number of connections over HTTP/1.1 or
//! HTTP/2 (h2c, prior knowledge), one request in flight per connection, and
//! reports throughput, latency percentiles, status codes and the edge's `x-cache`
//! answers. The `edge-load` binary is its command line.
//!
//! - [`cli`]: the command line and the object set it names;
//! - [`picker`]: uniform or Zipf choice of the next object (seeded);
//! - [`conn`]: one hyper low-level client connection (HTTP/1.1 or HTTP/2);
//! - [`stats`]: per-connection counters, merged into the final [`stats::Report`];
//! - [`run`]: the connection tasks, warm-up and stop conditions.

pub mod cli;
pub mod conn;
pub mod picker;
pub mod run;
pub mod stats;
