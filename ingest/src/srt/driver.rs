//! The SRT listener's I/O driver: one task owns the UDP socket, the handshake
//! state machine and every connection on it.
//!
//! srt-protocol 0.4.4 is sans-IO: [`MultiplexListener`] answers handshakes
//! (draft-sharabayko-srt §4.3.1, "Caller-Listener Handshake") and hands out a
//! [`Connection`](srt_protocol::connection::Connection) per caller; each becomes
//! a [`Publisher`] (a `DuplexConnection` plus the MPEG-TS pipeline). srt-tokio
//! drives the same machines with a listener task, a task per connection and two
//! channel hops per datagram; here there are none. Each loop turn handles one of:
//!
//! - **the socket**: datagrams are read with non-blocking `recv_from` (up to
//!   [`MAX_BATCH`], until `WouldBlock`) into one reusable buffer, parsed (§3:
//!   data and control packets) with the address family known once, and routed
//!   by source address — srt-protocol's session id; the destination socket id
//!   cannot route, as 0.4.4 gives every connection of a listener the same
//!   local socket id — to their publisher, or else to the listener (new
//!   callers, handshake retransmissions). Then each publisher that got input
//!   is serviced once (timers, ACKs out, messages released into the pipeline).
//!   While idle the task waits for readiness; once datagrams flow it *polls*
//!   the socket on every [`TICK`] instead (the readiness registration is
//!   dropped, so arriving datagrams wake nobody), and goes back to waiting for
//!   readiness when a tick finds nothing;
//! - **the timer**: one for the socket. While polling it fires every tick;
//!   while waiting for readiness, at the earliest deadline of all publishers
//!   (not within a tick of the last wake-up), re-armed only when that changes.
//!   Due publishers are serviced, and unparsable datagrams are reported every
//!   [`REPORT_INTERVAL`];
//! - **an admission answer** (`PublishHandler::check`, then `publish`): these
//!   are the only futures, polled in this task ([`FuturesUnordered`]);
//! - **shutdown**: every live sink ends, as it does when a caller leaves.
//!
//! Packets (handshake replies, ACK, NAK, keep-alive, shutdown) are sent with a
//! non-blocking `send_to` from this task; a full send buffer drops the packet,
//! which SRT recovers from as from any loss.
//!
//! srt-protocol panics on some crafted packets; each datagram is handled under
//! `catch_unwind`. A panic in a connection closes that publisher; one in the
//! handshake machine resets it (pending handshakes restart), and the port,
//! with its other publishers, keeps running.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Cursor};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use srt_protocol::listener::{
    AccessControlResponse, Input, MultiplexListener, ResultOf, SessionId,
};
use srt_protocol::packet::Packet;
use srt_protocol::settings::{ConnInitSettings, KeySettings};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tracing::{debug, warn};

mod admit;
mod listen;

use super::driver_conn::Publisher;
use super::input_errors::DatagramErrorReport;
use crate::publish::{MediaSink, PublishHandler, PublishRejection, PublishRequest};

/// Most datagrams read per wake-up before the publishers are serviced.
pub const MAX_BATCH: usize = 4096;
/// How often unparsable datagrams are reported (as srt-tokio's statistics did).
pub const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// While datagrams flow, the driver wakes once per tick: the socket is read
/// and timers are served then — one wake-up per tick for every stream on the
/// port instead of one per datagram and per TSBPD release. Messages are released at most a tick after their
/// TSBPD time (§4.5; the latency is 120 ms) and ACKs (every 10 ms, §4.8.1)
/// go out up to a tick late; the kernel queues datagrams meanwhile
/// (`SO_RCVBUF`, see the listener). An idle socket still wakes on the first
/// datagram.
pub const TICK: Duration = Duration::from_millis(5);
/// The receive buffer: any UDP datagram fits, so none is truncated.
const MAX_DATAGRAM: usize = 65_536;

/// An answer from the application about a caller.
enum Admission {
    /// `PublishHandler::check` answered for a caller still in its handshake.
    Checked {
        session: SessionId,
        publish: PublishRequest,
        key_settings: Option<KeySettings>,
        result: Result<(), PublishRejection>,
    },
    /// `PublishHandler::publish` answered for publisher `id` at `peer`.
    Published {
        id: u64,
        peer: SocketAddr,
        result: Result<Box<dyn MediaSink>, PublishRejection>,
    },
}

type AdmissionFuture = Pin<Box<dyn Future<Output = Admission> + Send>>;

/// The listener's rules and the application, as the driver needs them.
pub struct DriverConfig {
    /// srt-protocol's settings for every handshake (latency, payload size).
    pub settings: ConnInitSettings,
    /// `[srt] passphrase`.
    pub passphrase: Option<String>,
    /// Decides publish requests and receives the media.
    pub handler: Arc<dyn PublishHandler>,
}

/// Serves SRT callers on `socket` until `shutdown` becomes `true` (`Ok`) or the
/// socket fails (`Err`; live sinks have been ended either way).
pub async fn run(
    socket: UdpSocket,
    config: DriverConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> io::Result<()> {
    let mut d = Driver::new(socket.into_std()?, config, Instant::now())?;
    let mut admissions = FuturesUnordered::<AdmissionFuture>::new();
    let sleep = tokio::time::sleep_until(d.earliest.into());
    tokio::pin!(sleep);
    let mut armed = Some(d.earliest);
    loop {
        // Polling: wake on the tick. Waiting for readiness: at the earliest
        // deadline, but not within a tick of the last wake-up.
        let at = match d.wake {
            None => d.next_tick,
            Some(_) => d.earliest.max(d.next_tick),
        };
        if armed != Some(at) {
            sleep.as_mut().reset(at.into());
            armed = Some(at);
        }
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => {
                d.close_all("server shutting down", Instant::now());
                return Ok(());
            }
            ready = readable(&d.wake), if d.wake.is_some() => {
                if let Err(e) = ready {
                    d.close_all(&format!("socket error: {e}"), Instant::now());
                    return Err(e);
                }
                // Busy again: poll on the tick, without readiness events.
                d.wake = None;
                d.receive();
                d.next_tick = Instant::now() + TICK;
            }
            () = &mut sleep => {
                armed = None;
                let now = Instant::now();
                d.next_tick = now + TICK;
                d.on_timer(now);
            }
            Some(answer) = admissions.next(), if !admissions.is_empty() => {
                d.on_admission(Instant::now(), answer);
            }
        }
        admissions.extend(d.new_admissions.drain(..));
    }
}

struct Driver {
    /// Non-blocking; read and written only with `recv_from` / `send_to` that
    /// fail with `WouldBlock`.
    socket: std::net::UdpSocket,
    local: SocketAddr,
    is_ipv6: bool,
    config: DriverConfig,
    listener: MultiplexListener,
    publishers: HashMap<SocketAddr, Publisher>,
    /// Publishers that got input since they were last serviced.
    dirty: Vec<SocketAddr>,
    /// Admission futures started while handling input, for the loop to poll.
    new_admissions: Vec<AdmissionFuture>,
    /// Answers to feed the listener once its current input is handled.
    responses: Vec<(SessionId, AccessControlResponse)>,
    /// The caller being accepted (its `publish` request) while the listener
    /// completes its handshake.
    accepting: Option<(SessionId, PublishRequest)>,
    next_id: u64,
    parse_errors: u64,
    garbage: DatagramErrorReport,
    next_report: Instant,
    /// No later than the earliest deadline (an early wake-up only rescans).
    earliest: Instant,
    /// The timer does not fire before this ([`TICK`]).
    next_tick: Instant,
    /// While idle, a registration of (a duplicate of) the socket with the
    /// runtime, for readiness; `None` while busy: the socket is polled on each
    /// tick, so datagrams arriving meanwhile wake nobody.
    wake: Option<UdpSocket>,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Driver {
    fn new(socket: std::net::UdpSocket, config: DriverConfig, now: Instant) -> io::Result<Self> {
        let local = socket.local_addr()?;
        Ok(Self {
            listener: MultiplexListener::new(now, local, config.settings.clone()),
            is_ipv6: local.is_ipv6(),
            wake: Some(UdpSocket::from_std(socket.try_clone()?)?),
            socket,
            local,
            config,
            publishers: HashMap::new(),
            dirty: Vec::new(),
            new_admissions: Vec::new(),
            responses: Vec::new(),
            accepting: None,
            next_id: 0,
            parse_errors: 0,
            garbage: DatagramErrorReport::default(),
            next_report: now + REPORT_INTERVAL,
            earliest: now + REPORT_INTERVAL,
            next_tick: now,

            rx: vec![0; MAX_DATAGRAM],
            tx: Vec::with_capacity(1500),
        })
    }

    /// Reads up to [`MAX_BATCH`] datagrams, then services the publishers that
    /// got some. Returns how many were read.
    fn receive(&mut self) -> usize {
        let mut rx = std::mem::take(&mut self.rx);
        let mut read = 0;
        // One arrival time for the batch: datagrams waited up to a tick in the
        // kernel anyway.
        let now = Instant::now();
        while read < MAX_BATCH {
            match self.socket.recv_from(&mut rx) {
                Ok((n, from)) => {
                    read += 1;
                    self.on_datagram(now, &rx[..n], from);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    debug!(addr = %self.local, "srt: receive error: {e}");
                    break;
                }
            }
        }
        self.rx = rx;
        self.service_dirty(Instant::now());
        read
    }

    fn on_datagram(&mut self, now: Instant, datagram: &[u8], from: SocketAddr) {
        let handled = catch_unwind(AssertUnwindSafe(|| {
            let packet = match Packet::parse(&mut Cursor::new(datagram), self.is_ipv6) {
                Ok(packet) => packet,
                Err(_) => {
                    self.parse_errors += 1;
                    return;
                }
            };
            match self.publishers.get_mut(&from) {
                Some(p) => {
                    if !p.dirty {
                        self.dirty.push(from);
                    }
                    p.handle_packet(now, packet);
                }
                None => self.feed_listener(now, Input::Packet(Ok((packet, from)))),
            }
        }));
        if handled.is_err() {
            self.recover(now, from);
        }
    }

    /// After srt-protocol panicked on a datagram from `from`.
    fn recover(&mut self, now: Instant, from: SocketAddr) {
        if self.publishers.contains_key(&from) {
            self.close_publisher(from, "srt-protocol failed on a packet from the caller", now);
            return;
        }
        warn!(addr = %self.local, %from, "srt: the handshake state machine failed on a packet from {from}; pending handshakes restart");
        self.config.handler.handshake_failed("srt");
        self.listener = MultiplexListener::new(now, self.local, self.config.settings.clone());
        self.accepting = None;
        self.responses.clear();
    }

    fn on_timer(&mut self, now: Instant) {
        if self.wake.is_none() && self.receive() == 0 {
            // Idle: wait for readiness again (a datagram that arrived since the
            // read is reported as soon as the socket is registered). If that
            // fails, polling goes on.
            let registered = self.socket.try_clone().and_then(UdpSocket::from_std);
            self.wake = registered.ok();
        }
        let due: Vec<SocketAddr> = (self.publishers.iter())
            .filter(|(_, p)| p.deadline <= now && !p.dirty)
            .map(|(addr, _)| *addr)
            .collect();
        self.dirty.extend(due);
        self.service_dirty(now);
        if now >= self.next_report {
            let handler = &*self.config.handler;
            self.garbage
                .update(self.parse_errors, handler, self.local, now);
            self.next_report = now + REPORT_INTERVAL;
        }
        let deadlines = self.publishers.values().map(|p| p.deadline);
        self.earliest = deadlines.fold(self.next_report, Instant::min);
    }

    /// Services each publisher that got input or is due, once.
    fn service_dirty(&mut self, now: Instant) {
        let mut closed = Vec::new();
        for addr in std::mem::take(&mut self.dirty) {
            let Some(p) = self.publishers.get_mut(&addr) else {
                continue;
            };
            let (socket, tx) = (&self.socket, &mut self.tx);
            let handler = &*self.config.handler;
            let open = p.service(now, handler, |packet, to| {
                send(socket, tx, packet, to);
            });
            if p.kicked() {
                p.close("publisher kicked by an operator", handler, now);
                p.stop(now);
                let _ = p.service(now, handler, |packet, to| {
                    send(socket, tx, packet, to);
                });
            }
            self.earliest = self.earliest.min(p.deadline);
            if !open {
                closed.push(addr);
            }
        }
        for addr in closed {
            self.close_publisher(addr, "peer closed the connection", now);
        }
    }

    fn close_publisher(&mut self, addr: SocketAddr, reason: &str, now: Instant) {
        if let Some(mut p) = self.publishers.remove(&addr) {
            p.close(reason, &*self.config.handler, now);
        }
        // The listener's session for `addr` is still "open": a failed delegation
        // makes it drop the session, so the address can call again.
        let session = SessionId(addr);
        self.feed_listener(now, Input::Failure(ResultOf::DelegatePacket(session)));
    }

    fn close_all(&mut self, reason: &str, now: Instant) {
        for (_, mut p) in self.publishers.drain() {
            p.close(reason, &*self.config.handler, now);
        }
    }

    fn on_admission(&mut self, now: Instant, answer: Admission) {
        let handled = catch_unwind(AssertUnwindSafe(|| self.admission(now, answer)));
        if handled.is_err() {
            // Only the listener's machine runs here (a publisher's panics are
            // its own datagrams'); reset it as for a crafted handshake.
            self.recover(now, self.local);
        }
        self.service_dirty(now);
    }
}

/// Resolves when the socket is readable (never while polling: `wake` is `None`).
async fn readable(wake: &Option<UdpSocket>) -> io::Result<()> {
    match wake {
        Some(socket) => socket.readable().await,
        None => std::future::pending().await,
    }
}

/// Sends one packet; `false` if the socket did not take it (logged at debug).
fn send(socket: &std::net::UdpSocket, tx: &mut Vec<u8>, packet: &Packet, to: SocketAddr) -> bool {
    tx.clear();
    packet.serialize(tx);
    match socket.send_to(tx, to) {
        Ok(_) => true,
        Err(e) => {
            debug!(%to, "srt: send failed: {e}");
            false
        }
    }
}
