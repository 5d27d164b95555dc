//! Ingest shards: one RTMP listener per core, each on its own thread with a
//! single-threaded tokio runtime.
//!
//! A publisher's connection is accepted by one shard (the kernel spreads new
//! connections over the shards' `SO_REUSEPORT` sockets) and lives on that thread
//! until it closes. Nothing of it ever moves between threads, so a message arriving
//! costs one wakeup of one thread — the work-stealing scheduler would instead wake
//! a second worker to look for work on most wakeups. Measured on the 2-core bench
//! machine: ~20 % less origin CPU per stream (docs/benchmarks.md).
//!
//! Sinks are called on the shard's thread; the packager state they feed is shared
//! (behind a lock) with the HTTP side, which runs on the main runtime.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpSocket;
use tokio::sync::watch;

use super::{serve, RtmpLimits};
use crate::publish::PublishHandler;

/// Pending connections each shard's socket queues before `accept`.
const LISTEN_BACKLOG: u32 = 1024;

/// Running ingest shards; [`IngestShards::join`] waits for all of them to stop.
pub struct IngestShards {
    threads: Vec<JoinHandle<()>>,
    local_addr: SocketAddr,
}

impl IngestShards {
    /// Binds `shards` (at least one) `SO_REUSEPORT` listeners on `addr` — port 0
    /// picks one port for all of them — and serves each on its own thread until
    /// `shutdown` becomes `true`.
    pub fn start(
        addr: SocketAddr,
        shards: usize,
        handler: Arc<dyn PublishHandler>,
        limits: RtmpLimits,
        shutdown: watch::Receiver<bool>,
    ) -> io::Result<Self> {
        let first = bind_reuseport(addr)?;
        let local_addr = first.local_addr()?;
        let mut sockets = vec![first];
        for _ in 1..shards.max(1) {
            sockets.push(bind_reuseport(local_addr)?);
        }
        let mut threads = Vec::with_capacity(sockets.len());
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
            let (handler, shutdown) = (handler.clone(), shutdown.clone());
            let thread = std::thread::Builder::new()
                .name(format!("rtmp-shard-{index}"))
                .spawn(move || runtime.block_on(serve(listener, handler, limits, shutdown)))?;
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
    use crate::publish::{PublishFuture, PublishRejection, PublishRequest};
    use crate::rtmp::handshake::HANDSHAKE_SIZE;

    struct RejectAll;

    impl PublishHandler for RejectAll {
        fn publish(&self, _: PublishRequest) -> PublishFuture {
            Box::pin(async { Err(PublishRejection::UnknownKey) })
        }
    }

    /// C0+C1 in, S0+S1+S2 out: the shard accepted and drives the connection.
    fn handshake(addr: SocketAddr) {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c0c1 = vec![3u8];
        c0c1.extend(std::iter::repeat_n(0u8, HANDSHAKE_SIZE));
        tcp.write_all(&c0c1).unwrap();
        let mut s0s1s2 = vec![0u8; 1 + 2 * HANDSHAKE_SIZE];
        tcp.read_exact(&mut s0s1s2).unwrap();
        assert_eq!(s0s1s2[0], 3, "S0 carries RTMP version 3");
    }

    #[test]
    fn every_shard_shares_one_port_and_stops_on_shutdown() {
        let (stop_tx, stop_rx) = watch::channel(false);
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let shards =
            IngestShards::start(addr, 3, Arc::new(RejectAll), RtmpLimits::default(), stop_rx)
                .unwrap();
        assert_eq!(shards.len(), 3);
        let addr = shards.local_addr();
        assert_ne!(addr.port(), 0);
        // Enough connections that the kernel's reuseport hash reaches every shard.
        for _ in 0..24 {
            handshake(addr);
        }
        stop_tx.send(true).unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            shards.join();
            let _ = done_tx.send(());
        });
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("shards stop within 10 s of shutdown");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "nothing listens after shutdown"
        );
    }

    #[test]
    fn a_port_in_use_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (_stop_tx, stop_rx) = watch::channel(false);
        let result = IngestShards::start(
            taken.local_addr().unwrap(),
            2,
            Arc::new(RejectAll),
            RtmpLimits::default(),
            stop_rx,
        );
        assert!(result.is_err(), "a plain listener owns the port");
    }
}
