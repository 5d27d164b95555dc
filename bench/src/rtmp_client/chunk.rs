//! # RTMP chunk stream (RTMP spec 1.0, §5.3) — sans-IO, sending side
//!
//! [`ChunkEncoder`] turns whole messages into chunks: a type 0 header for the
//! first message on a chunk stream (or when the stream id changes or time goes
//! backwards), type 1 (timestamp delta, length, type) for the following ones,
//! and type 3 headers for continuation chunks. Timestamps at or above
//! `0xFFFFFF` go into the 4-byte extended timestamp, repeated on type 3
//! continuations (§5.3.1.3).
//!
//! The receiving side is [`super::chunk_decoder`].

use bytes::Bytes;
use std::collections::HashMap;

/// Chunk size both sides start with (§5.4.1).
pub const DEFAULT_CHUNK_SIZE: usize = 128;
/// Largest chunk size we accept from the server.
pub const MAX_CHUNK_SIZE: usize = 1 << 24;
/// Largest message we accept from the server (it only sends small control
/// and command messages to a publisher).
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// Most chunk streams the server may keep open towards us.
pub const MAX_CHUNK_STREAMS: usize = 64;

/// Message type ids (§5.4, §7.1).
pub mod msg_type {
    /// Set Chunk Size.
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// Acknowledgement.
    pub const ACK: u8 = 3;
    /// User Control Message.
    pub const USER_CONTROL: u8 = 4;
    /// Window Acknowledgement Size.
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// Set Peer Bandwidth.
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// Audio data (an FLV audio tag body).
    pub const AUDIO: u8 = 8;
    /// Video data (an FLV video tag body).
    pub const VIDEO: u8 = 9;
    /// AMF0 data message (@setDataFrame).
    pub const DATA_AMF0: u8 = 18;
    /// AMF0 command message.
    pub const COMMAND_AMF0: u8 = 20;
}

/// One RTMP message, reassembled or to be chunked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message type id (see [`msg_type`]).
    pub type_id: u8,
    /// Message stream id (0 for control and NetConnection commands).
    pub stream_id: u32,
    /// Timestamp in milliseconds.
    pub timestamp: u32,
    /// The body.
    pub payload: Bytes,
}

fn put_u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

fn put_basic_header(out: &mut Vec<u8>, fmt: u8, csid: u32) {
    match csid {
        2..=63 => out.push(fmt << 6 | csid as u8),
        64..=319 => out.extend_from_slice(&[fmt << 6, (csid - 64) as u8]),
        _ => {
            let v = (csid - 64) as u16;
            out.extend_from_slice(&[fmt << 6 | 1, v as u8, (v >> 8) as u8]);
        }
    }
}

#[derive(Clone, Copy)]
struct SentHeader {
    stream_id: u32,
    timestamp: u32,
}

/// Chunks outgoing messages. Keeps, per chunk stream id, the last header sent.
#[derive(Default)]
pub struct ChunkEncoder {
    chunk_size: usize,
    last: HashMap<u32, SentHeader>,
}

impl ChunkEncoder {
    /// An encoder at the default chunk size of 128.
    pub fn new() -> Self {
        ChunkEncoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            last: HashMap::new(),
        }
    }

    /// Switches to a new chunk size: call after queueing the Set Chunk Size
    /// message that announces it.
    pub fn set_chunk_size(&mut self, size: usize) {
        self.chunk_size = size.max(1);
    }

    /// Appends `msg`, chunked, on chunk stream `csid` (2..=65599) to `out`.
    pub fn encode(&mut self, csid: u32, msg: &Message, out: &mut Vec<u8>) {
        let len = msg.payload.len() as u32;
        let prev = self.last.get(&csid).copied();
        let delta = prev
            .filter(|p| p.stream_id == msg.stream_id && msg.timestamp >= p.timestamp)
            .map(|p| msg.timestamp - p.timestamp)
            .filter(|d| *d < 0xFF_FFFF);
        let ext: Option<u32>;
        match delta {
            Some(d) => {
                put_basic_header(out, 1, csid);
                put_u24(out, d);
                put_u24(out, len);
                out.push(msg.type_id);
                ext = None;
            }
            None => {
                put_basic_header(out, 0, csid);
                put_u24(out, msg.timestamp.min(0xFF_FFFF));
                put_u24(out, len);
                out.push(msg.type_id);
                out.extend_from_slice(&msg.stream_id.to_le_bytes());
                ext = (msg.timestamp >= 0xFF_FFFF).then_some(msg.timestamp);
                if let Some(e) = ext {
                    out.extend_from_slice(&e.to_be_bytes());
                }
            }
        }
        self.last.insert(
            csid,
            SentHeader {
                stream_id: msg.stream_id,
                timestamp: msg.timestamp,
            },
        );
        let mut chunks = msg.payload.chunks(self.chunk_size);
        if let Some(first) = chunks.next() {
            out.extend_from_slice(first);
        }
        for chunk in chunks {
            put_basic_header(out, 3, csid);
            if let Some(e) = ext {
                out.extend_from_slice(&e.to_be_bytes());
            }
            out.extend_from_slice(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(type_id: u8, ts: u32, len: usize) -> Message {
        Message {
            type_id,
            stream_id: 1,
            timestamp: ts,
            payload: Bytes::from((0..len).map(|i| i as u8).collect::<Vec<_>>()),
        }
    }

    #[test]
    fn known_bytes_type0_then_type1_then_type3() {
        let mut enc = ChunkEncoder::new();
        let mut out = Vec::new();
        enc.encode(4, &msg(8, 10, 2), &mut out);
        assert_eq!(out, [0x04, 0, 0, 10, 0, 0, 2, 8, 1, 0, 0, 0, 0, 1]);
        out.clear();
        enc.set_chunk_size(2);
        enc.encode(4, &msg(8, 30, 3), &mut out);
        assert_eq!(out, [0x44, 0, 0, 20, 0, 0, 3, 8, 0, 1, 0xC4, 2]);
    }
}
