//! One SRT publisher inside [`super::driver`]: srt-protocol's connection state
//! machine, fed and drained in place, with the MPEG-TS pipeline behind it.
//!
//! [`DuplexConnection`] does the protocol: the receive buffer and loss lists
//! (draft-sharabayko-srt §4.5, §4.8), ACK / ACKACK / NAK (§3.2.4–3.2.6, §4.8.1),
//! Timestamp-Based Packet Delivery (§4.5: each message is released at its
//! TSBPD time), too-late packet drop (§4.6), keep-alive and the peer idle
//! timeout (§4.10), and shutdown (§3.2.7). [`Publisher::service`] drains it in
//! srt-tokio's order — timers, then packets to send, then released messages —
//! and hands each message to [`TsDemuxer`] → [`TsFrames`] → the [`MediaSink`].
//!
//! The sink arrives asynchronously (`PublishHandler::publish` runs after the
//! handshake completed); messages released before that wait in a bounded queue.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use srt_protocol::connection::{Connection, DuplexConnection};
use srt_protocol::packet::Packet;
use tracing::info;

use super::input_errors::InputErrorReport;
use crate::publish::{MediaSink, PublishHandler};
use crate::ts::{FrameEvent, TsDemuxer, TsFrames};

/// Messages kept while `publish` has not answered yet (≈ 1.3 MB of TS; more
/// are dropped, as srt-tokio's bounded channel would have pushed back).
pub const MAX_QUEUED_MESSAGES: usize = 1024;
/// How long a connection we asked to shut down (kick, late rejection) may keep
/// draining before it is dropped without waiting for the peer.
pub const CLOSE_LINGER: Duration = Duration::from_secs(10);

/// Where released messages go.
enum Sink {
    /// `publish` has not answered yet.
    Waiting(VecDeque<Bytes>),
    /// Live: messages go through the TS pipeline into this sink.
    Live(Box<dyn MediaSink>),
    /// Ended (or never granted): messages are discarded while SRT shuts down.
    Gone,
}

/// One caller whose handshake completed.
pub struct Publisher {
    /// Tells a late `publish` answer which publisher it was for.
    pub id: u64,
    /// The caller's address (srt-protocol's session id).
    pub peer: SocketAddr,
    /// When [`Self::service`] must run next (srt-protocol's `next_timer`).
    pub deadline: Instant,
    /// Whether input arrived since the last [`Self::service`].
    pub dirty: bool,
    conn: DuplexConnection,
    sink: Sink,
    demuxer: TsDemuxer,
    frames: TsFrames,
    out: Vec<FrameEvent>,
    bytes_in: u64,
    errors: InputErrorReport,
    stopping_since: Option<Instant>,
}

impl Publisher {
    /// A publisher for `connection`, waiting for its sink.
    pub fn new(id: u64, connection: Connection, now: Instant) -> Self {
        let peer = connection.settings.remote;
        Self {
            id,
            peer,
            deadline: now,
            dirty: true,
            conn: DuplexConnection::new(connection),
            sink: Sink::Waiting(VecDeque::new()),
            demuxer: TsDemuxer::new(),
            frames: TsFrames::new(),
            out: Vec::new(),
            bytes_in: 0,
            errors: InputErrorReport::default(),
            stopping_since: None,
        }
    }

    /// Feeds one packet from the caller (the address was matched by the driver).
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        self.conn.handle_packet_input(now, Ok((packet, self.peer)));
        self.dirty = true;
    }

    /// Runs timers, passes each packet to send to `send`, and feeds released
    /// messages to the pipeline. Returns `false` once the connection is closed
    /// (the caller then calls [`Self::close`]) or should be dropped.
    pub fn service(
        &mut self,
        now: Instant,
        handler: &dyn PublishHandler,
        mut send: impl FnMut(&Packet, SocketAddr),
    ) -> bool {
        self.dirty = false;
        if !self.conn.is_open() {
            return false;
        }
        // Statistics are not used; checking keeps their timer from going stale.
        let _ = self.conn.should_update_statistics(now);
        self.conn.check_timers(now);
        while let Some((packet, to)) = self.conn.next_packet(now) {
            send(&packet, to);
        }
        let mut released = false;
        while let Some((_, message)) = self.conn.next_data(now) {
            released = true;
            self.take(message);
        }
        if released {
            if let Sink::Live(sink) = &mut self.sink {
                let (ts, fr) = (self.demuxer.stats(), self.frames.stats());
                self.errors
                    .update(&ts, &fr, handler, self.peer, sink.channel(), now);
            }
        }
        self.deadline = self.conn.next_timer(now);
        let lingered = self
            .stopping_since
            .is_some_and(|t| now.duration_since(t) >= CLOSE_LINGER);
        self.conn.is_open() && !lingered
    }

    /// Whether an operator kicked this publisher (checked after input).
    pub fn kicked(&self) -> bool {
        matches!(&self.sink, Sink::Live(sink) if sink.kicked())
    }

    fn take(&mut self, message: Bytes) {
        match &mut self.sink {
            Sink::Live(sink) => {
                self.bytes_in += message.len() as u64;
                self.demuxer.handle_input(&message);
                while let Some(event) = self.demuxer.poll_event() {
                    self.frames.handle(event, &mut self.out);
                }
                deliver(&mut **sink, &mut self.out);
            }
            Sink::Waiting(queue) if queue.len() < MAX_QUEUED_MESSAGES => queue.push_back(message),
            Sink::Waiting(_) | Sink::Gone => {}
        }
    }

    /// Whether this publisher still waits for `publish`.
    pub fn waiting_for_sink(&self) -> bool {
        matches!(self.sink, Sink::Waiting(_))
    }

    /// `publish` granted `sink`: the queued messages go through it now.
    pub fn go_live(&mut self, sink: Box<dyn MediaSink>) {
        let queued = match std::mem::replace(&mut self.sink, Sink::Live(sink)) {
            Sink::Waiting(queued) => queued,
            _ => VecDeque::new(),
        };
        for message in queued {
            self.take(message);
        }
    }

    /// Starts SRT's shutdown (the caller is sent a Shutdown, §3.2.7) and
    /// discards further messages; the connection lingers until it closed or
    /// [`CLOSE_LINGER`] passed.
    pub fn stop(&mut self, now: Instant) {
        self.sink = Sink::Gone;
        self.conn.handle_data_input(now, None);
        self.stopping_since.get_or_insert(now);
        self.dirty = true;
    }

    /// Ends the sink if live: flushes the pipeline, logs the connection's
    /// totals with `reason`, calls `MediaSink::end`. Idempotent.
    pub fn close(&mut self, reason: &str, handler: &dyn PublishHandler, now: Instant) {
        let Sink::Live(mut sink) = std::mem::replace(&mut self.sink, Sink::Gone) else {
            return;
        };
        self.demuxer.finish();
        while let Some(event) = self.demuxer.poll_event() {
            self.frames.handle(event, &mut self.out);
        }
        deliver(&mut *sink, &mut self.out);
        let (ts, fr) = (self.demuxer.stats(), self.frames.stats());
        let peer = self.peer;
        self.errors
            .update(&ts, &fr, handler, peer, sink.channel(), now);
        info!(
            %peer,
            channel = sink.channel(),
            bytes_in = self.bytes_in,
            continuity_errors = ts.continuity_errors,
            sync_losses = ts.sync_losses,
            pmt_changes = ts.pmt_changes,
            malformed = fr.malformed,
            "srt: closing {peer}: {reason}"
        );
        sink.end();
    }
}

fn deliver(sink: &mut dyn MediaSink, out: &mut Vec<FrameEvent>) {
    for event in out.drain(..) {
        match event {
            FrameEvent::Track(track) => sink.track(track),
            FrameEvent::Frame(frame) => sink.frame(frame),
        }
    }
}
