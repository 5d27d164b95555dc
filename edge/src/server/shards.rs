//! HTTP shards: one listener per core, each on its own thread with a
//! single-threaded tokio runtime (nginx's worker model).
//!
//! Why not one multi-threaded runtime: with a thousand busy connections, the
//! work-stealing scheduler's per-worker queue (256 tasks) overflows into the global
//! queue, which a worker only checks every 31 polls, so the overflowed connections
//! starve: p99 at 1,000 connections was 159 ms against a 2.6 ms median. A
//! current-thread runtime has one FIFO queue: p99 16.6 ms, and no cross-thread
//! wakeups per request (docs/benchmarks.md §7). The kernel spreads new connections
//! over the shards' `SO_REUSEPORT` sockets; a connection stays on its shard.
//!
//! Everything behind the pipeline (tiers, coalescer, parents, metrics) is shared
//! and thread-safe; a fetch spawned by a request runs on that request's shard and
//! wakes waiters on other shards directly.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpSocket;
use tokio::sync::watch;

use super::{serve_with, ServerOptions};
use crate::pipeline::Pipeline;

/// Pending connections each shard's socket queues before `accept`.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Running HTTP shards; [`HttpShards::join`] waits for all of them to stop.
pub struct HttpShards {
    threads: Vec<JoinHandle<()>>,
    local_addr: SocketAddr,
}

impl HttpShards {
    /// Binds `shards` (at least one) `SO_REUSEPORT` listeners on `addr` — port 0
    /// picks one port for all — and serves `pipeline` on each until `shutdown`
    /// becomes true, then drains as [`serve_with`] does. `options.max_connections`
    /// is for the whole node and is split evenly between the shards.
    pub fn start(
        addr: SocketAddr,
        shards: usize,
        pipeline: Arc<Pipeline>,
        tls: Option<Arc<rustls::ServerConfig>>,
        options: ServerOptions,
        shutdown: watch::Receiver<bool>,
    ) -> io::Result<Self> {
        let shards = shards.max(1);
        let first = bind_reuseport(addr)?;
        let local_addr = first.local_addr()?;
        let mut sockets = vec![first];
        for _ in 1..shards {
            sockets.push(bind_reuseport(local_addr)?);
        }
        let per_shard = ServerOptions {
            max_connections: options.max_connections.div_ceil(shards),
            ..options
        };
        let mut threads = Vec::with_capacity(shards);
        for (index, socket) in sockets.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            // The listener registers with the shard's reactor, which runs once the
            // shard thread enters `block_on`.
            let listener = {
                let _context = runtime.enter();
                socket.listen(LISTEN_BACKLOG)?
            };
            let (pipeline, tls, options) = (pipeline.clone(), tls.clone(), per_shard.clone());
            let stop = stopped(shutdown.clone());
            let thread = std::thread::Builder::new()
                .name(format!("http-shard-{index}"))
                .spawn(move || {
                    runtime.block_on(serve_with(listener, pipeline, tls, stop, options))
                })?;
            threads.push(thread);
        }
        Ok(Self {
            threads,
            local_addr,
        })
    }

    /// The address all shards listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many shards run.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Never true: there is at least one shard.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Waits (blocking the calling thread) until every shard has stopped.
    pub fn join(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// A bound, not yet listening, socket that shares its port with the other shards.
fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::Duration;

    use super::*;
    use crate::upstream::{Upstream, UpstreamFuture, UpstreamRequest, UpstreamResponse};

    struct NotFound;
    impl Upstream for NotFound {
        fn fetch(&self, _: UpstreamRequest) -> UpstreamFuture {
            Box::pin(async { UpstreamResponse::error(http::StatusCode::NOT_FOUND, "no") })
        }
    }

    fn get_healthz(addr: SocketAddr) -> String {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn shards_share_one_port_serve_and_stop_on_shutdown() {
        let registry = prometheus::Registry::new();
        let pipeline = Arc::new(Pipeline::new(Arc::new(NotFound), &registry).unwrap());
        let (tx, rx) = watch::channel(false);
        let shards = HttpShards::start(
            "127.0.0.1:0".parse().unwrap(),
            3,
            pipeline,
            None,
            ServerOptions::default(),
            rx,
        )
        .unwrap();
        assert_eq!(shards.len(), 3);
        let addr = shards.local_addr();
        for _ in 0..30 {
            assert!(get_healthz(addr).starts_with("HTTP/1.1 200"));
        }
        tx.send(true).unwrap();
        shards.join();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "stopped listening"
        );
    }

    #[test]
    fn a_port_in_use_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = prometheus::Registry::new();
        let pipeline = Arc::new(Pipeline::new(Arc::new(NotFound), &registry).unwrap());
        let (_tx, rx) = watch::channel(false);
        let result = HttpShards::start(
            taken.local_addr().unwrap(),
            2,
            pipeline,
            None,
            ServerOptions::default(),
            rx,
        );
        assert!(result.is_err());
    }
}
