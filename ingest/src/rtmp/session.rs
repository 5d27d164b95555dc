//! The sans-IO RTMP server session: bytes in, bytes / events / deadlines out.
//!
//! It never touches a socket or a clock: the driver passes received bytes and the
//! current time in milliseconds (any monotonic origin), and drains what the session
//! wants to send or report.
//!
//! ## Drain order
//!
//! After every call to [`RtmpSession::handle_input`], [`RtmpSession::handle_timeout`],
//! [`RtmpSession::accept_publish`] or [`RtmpSession::reject_publish`]:
//!
//! 1. send everything from [`RtmpSession::poll_transmit`] (until `None`);
//! 2. handle every [`RtmpSession::poll_event`] (until `None`); on
//!    [`SessionEvent::PublishRequested`] decide, then call `accept_publish` or
//!    `reject_publish` and start again at 1 — input processing is paused while a
//!    decision is pending, so no media is lost or reordered;
//! 3. if [`RtmpSession::is_closing`], close the connection (after step 1 flushed
//!    the reply explaining why);
//! 4. wait for input or until [`RtmpSession::poll_timeout`].
//!
//! Any `Err` is connection-fatal: log it and close.

use std::collections::{BTreeSet, VecDeque};

use bytes::{Bytes, BytesMut};
use packager::media::{Frame, Track};

use super::amf0::{decode_all, Amf0Value};
use super::chunk_reader::{ChunkReader, RtmpMessage};
use super::chunk_writer::{ChunkWriter, CSID_PROTOCOL_CONTROL};
use super::handshake::Handshake;
use super::messages::{split_aggregate, type_id, user_control, ControlMessage};
use super::metadata::StreamMetadata;
use super::{RtmpError, RtmpLimits};
use crate::flv::{FlvDemuxer, MediaEvent};

/// The acknowledgement window we announce, and use until the peer sets one (§5.4.4).
pub const WINDOW_ACK_SIZE: u32 = 2_500_000;

/// What a session reports to its driver.
#[derive(Clone, PartialEq)]
pub enum SessionEvent {
    /// The peer asked to publish; answer with `accept_publish` / `reject_publish`.
    PublishRequested {
        /// The application from `connect` (`live`), without query or slashes.
        app: String,
        /// The publish name without `?query`. Never log it.
        stream_key: String,
        /// The message stream it publishes on.
        stream_id: u32,
    },
    /// A track was announced or its configuration changed.
    Track(Track),
    /// One access unit.
    Frame(Frame),
    /// The encoder's `onMetaData` (for logs).
    Metadata(StreamMetadata),
    /// The accepted publish ended (FCUnpublish, closeStream or deleteStream).
    Unpublished,
}

impl std::fmt::Debug for SessionEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PublishRequested { app, stream_id, .. } => f
                .debug_struct("PublishRequested")
                .field("app", app)
                .field("stream_key", &"<redacted>")
                .field("stream_id", stream_id)
                .finish(),
            Self::Track(t) => f.debug_tuple("Track").field(t).finish(),
            Self::Frame(fr) => f.debug_tuple("Frame").field(fr).finish(),
            Self::Metadata(m) => f.debug_tuple("Metadata").field(m).finish(),
            Self::Unpublished => f.write_str("Unpublished"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Handshake,
    AwaitConnect,
    Connected,
    Closing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Publish {
    Idle,
    Pending(u32),
    Live(u32),
}

/// One RTMP server connection's protocol state. See the module docs for the
/// drain order.
#[derive(Debug)]
pub struct RtmpSession {
    pub(super) limits: RtmpLimits,
    pub(super) phase: Phase,
    handshake: Handshake,
    pub(super) reader: ChunkReader,
    pub(super) writer: ChunkWriter,
    input: BytesMut,
    out: BytesMut,
    pub(super) events: VecDeque<SessionEvent>,
    started_ms: u64,
    last_input_ms: u64,
    bytes_in: u64,
    acked_at: u64,
    peer_window: u32,
    pub(super) app: String,
    pub(super) streams: BTreeSet<u32>,
    pub(super) next_stream_id: u32,
    pub(super) publish: Publish,
    pub(super) demuxer: FlvDemuxer,
}

impl RtmpSession {
    /// A session for a connection accepted at `now_ms`.
    pub fn new(limits: RtmpLimits, now_ms: u64) -> Self {
        Self {
            reader: ChunkReader::new(limits.max_message_size, limits.max_chunk_streams),
            limits,
            phase: Phase::Handshake,
            handshake: Handshake::new(),
            writer: ChunkWriter::new(),
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            started_ms: now_ms,
            last_input_ms: now_ms,
            bytes_in: 0,
            acked_at: 0,
            peer_window: WINDOW_ACK_SIZE,
            app: String::new(),
            streams: BTreeSet::new(),
            next_stream_id: 1,
            publish: Publish::Idle,
            demuxer: FlvDemuxer::new(),
        }
    }

    /// Feeds bytes received from the peer.
    pub fn handle_input(&mut self, data: &[u8], now_ms: u64) -> Result<(), RtmpError> {
        self.last_input_ms = now_ms;
        self.bytes_in += data.len() as u64;
        self.input.extend_from_slice(data);
        self.process()
    }

    /// Tells the session the time; fails when a deadline passed.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Result<(), RtmpError> {
        let hs = self.limits.handshake_timeout_ms;
        if self.phase == Phase::Handshake && now_ms >= self.started_ms.saturating_add(hs) {
            return Err(RtmpError::HandshakeTimeout { limit_ms: hs });
        }
        let idle = self.limits.idle_timeout_ms;
        if self.phase != Phase::Closing && now_ms >= self.last_input_ms.saturating_add(idle) {
            return Err(RtmpError::IdleTimeout { limit_ms: idle });
        }
        Ok(())
    }

    /// The next time [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        let idle = self
            .last_input_ms
            .saturating_add(self.limits.idle_timeout_ms);
        match self.phase {
            Phase::Closing => None,
            Phase::Handshake => Some(
                idle.min(
                    self.started_ms
                        .saturating_add(self.limits.handshake_timeout_ms),
                ),
            ),
            _ => Some(idle),
        }
    }

    /// Bytes to send to the peer, coalesced.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The session has said its last word (a publish was rejected): flush and close.
    pub fn is_closing(&self) -> bool {
        self.phase == Phase::Closing
    }

    /// Whether a publish was accepted and has not ended.
    pub fn is_publishing(&self) -> bool {
        matches!(self.publish, Publish::Live(_))
    }

    /// Bytes received from the peer so far (for ingest bitrate).
    pub fn bytes_received(&self) -> u64 {
        self.bytes_in
    }

    /// Frames whose DTS had to be repaired so far.
    pub fn repaired_frames(&self) -> u64 {
        self.demuxer.repaired_frames()
    }

    /// The driver accepted the pending publish: send Stream Begin and
    /// NetStream.Publish.Start, then continue with buffered input.
    pub fn accept_publish(&mut self) -> Result<(), RtmpError> {
        if let Publish::Pending(sid) = self.publish {
            self.publish = Publish::Live(sid);
            self.demuxer = FlvDemuxer::new();
            let mut data = BytesMut::new();
            data.extend_from_slice(&sid.to_be_bytes());
            self.send_control(ControlMessage::UserControl {
                event: user_control::STREAM_BEGIN,
                data: data.freeze(),
            });
            self.send_status(
                sid,
                "status",
                "NetStream.Publish.Start",
                "Publishing started.",
            );
        }
        self.process()
    }

    /// The driver refused the pending publish: tell the peer why; the session is
    /// then closing.
    pub fn reject_publish(&mut self, reason: &crate::publish::PublishRejection) {
        if let Publish::Pending(sid) = self.publish {
            self.publish = Publish::Idle;
            self.send_status(
                sid,
                "error",
                "NetStream.Publish.BadName",
                &reason.to_string(),
            );
        }
        self.phase = Phase::Closing;
    }

    fn process(&mut self) -> Result<(), RtmpError> {
        if self.phase == Phase::Handshake {
            while let Some(reply) = self.handshake.advance(&mut self.input)? {
                self.out.extend_from_slice(&reply);
            }
            if !self.handshake.is_done() {
                return Ok(());
            }
            self.phase = Phase::AwaitConnect;
        }
        while self.phase != Phase::Closing && !matches!(self.publish, Publish::Pending(_)) {
            let Some(msg) = self.reader.read_message(&mut self.input)? else {
                break;
            };
            self.on_message(msg)?;
        }
        // §5.4.3: acknowledge every window's worth of received bytes.
        if self.bytes_in - self.acked_at >= u64::from(self.peer_window) {
            self.acked_at = self.bytes_in;
            self.send_control(ControlMessage::Acknowledgement(self.bytes_in as u32));
        }
        Ok(())
    }

    fn on_message(&mut self, msg: RtmpMessage) -> Result<(), RtmpError> {
        match msg.type_id {
            type_id::SET_CHUNK_SIZE..=type_id::SET_PEER_BANDWIDTH => {
                if let Some(c) = ControlMessage::parse(msg.type_id, &msg.payload)? {
                    self.on_control(c)?;
                }
            }
            type_id::AUDIO | type_id::VIDEO => self.on_media(msg)?,
            type_id::DATA_AMF0 | type_id::DATA_AMF3 => {
                let body = amf0_body(&msg);
                let values = decode_all(body, self.limits.max_amf_depth).map_err(|source| {
                    RtmpError::Amf {
                        context: "data message",
                        source,
                    }
                })?;
                if let Some(m) = StreamMetadata::from_data_message(&values) {
                    self.events.push_back(SessionEvent::Metadata(m));
                }
            }
            type_id::COMMAND_AMF0 | type_id::COMMAND_AMF3 => {
                let body = amf0_body(&msg);
                let values = decode_all(body, self.limits.max_amf_depth).map_err(|source| {
                    RtmpError::Amf {
                        context: "command",
                        source,
                    }
                })?;
                self.on_command(msg.stream_id, values)?;
            }
            type_id::AGGREGATE => {
                for sub in split_aggregate(&msg) {
                    if matches!(
                        sub.type_id,
                        type_id::AUDIO | type_id::VIDEO | type_id::DATA_AMF0
                    ) {
                        self.on_message(sub)?;
                    }
                }
            }
            _ => {} // shared objects and reserved types: not used by publishers
        }
        Ok(())
    }

    fn on_control(&mut self, c: ControlMessage) -> Result<(), RtmpError> {
        match c {
            ControlMessage::SetChunkSize(size) => {
                // §5.4.1: 31 bits, at least 1.
                if size == 0 || size & 0x8000_0000 != 0 {
                    return Err(RtmpError::InvalidChunkSize(size));
                }
                if size > self.limits.max_chunk_size {
                    let limit = self.limits.max_chunk_size;
                    return Err(RtmpError::ChunkSizeTooLarge {
                        requested: size,
                        limit,
                    });
                }
                self.reader.set_chunk_size(size);
            }
            ControlMessage::Abort(csid) => self.reader.abort(csid),
            ControlMessage::WindowAckSize(size) if size > 0 => self.peer_window = size,
            ControlMessage::UserControl {
                event: user_control::PING_REQUEST,
                data,
            } => {
                self.send_control(ControlMessage::UserControl {
                    event: user_control::PING_RESPONSE,
                    data,
                });
            }
            _ => {} // Acknowledgement, Set Peer Bandwidth, Set Buffer Length: nothing to do
        }
        Ok(())
    }

    fn on_media(&mut self, msg: RtmpMessage) -> Result<(), RtmpError> {
        let Publish::Live(sid) = self.publish else {
            return Ok(());
        };
        if msg.stream_id != sid {
            return Ok(());
        }
        if msg.type_id == type_id::VIDEO {
            self.demuxer.push_video(msg.timestamp, msg.payload)?;
        } else {
            self.demuxer.push_audio(msg.timestamp, msg.payload)?;
        }
        while let Some(e) = self.demuxer.poll_event() {
            self.events.push_back(match e {
                MediaEvent::Track(t) => SessionEvent::Track(t),
                MediaEvent::Frame(f) => SessionEvent::Frame(f),
            });
        }
        Ok(())
    }

    pub(super) fn send_control(&mut self, c: ControlMessage) {
        let (t, body) = c.encode();
        self.writer
            .write(&mut self.out, CSID_PROTOCOL_CONTROL, 0, t, 0, &body);
    }

    pub(super) fn send_command(&mut self, csid: u32, stream_id: u32, values: &[Amf0Value]) {
        let body = super::amf0::encode_all(values);
        self.writer.write(
            &mut self.out,
            csid,
            0,
            type_id::COMMAND_AMF0,
            stream_id,
            &body,
        );
    }
}

/// AMF3 command/data messages (types 17/15) start with a format byte 0 and then
/// carry AMF0 (§7.1.1); strip it.
fn amf0_body(msg: &RtmpMessage) -> &[u8] {
    let p = &msg.payload[..];
    match (msg.type_id, p.first()) {
        (type_id::COMMAND_AMF3 | type_id::DATA_AMF3, Some(0)) => &p[1..],
        _ => p,
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
