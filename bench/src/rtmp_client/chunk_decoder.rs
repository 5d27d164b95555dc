//! # RTMP chunk stream (RTMP spec 1.0, §5.3) — sans-IO, receiving side
//!
//! [`ChunkDecoder`] reassembles what the server sends us: all four header
//! types, extended timestamps, interleaved chunk streams, and Set Chunk Size
//! applied as soon as it is decoded. Feed it with
//! [`ChunkDecoder::handle_bytes`], then drain [`ChunkDecoder::poll_message`]
//! until it returns `Ok(None)`. Limits on what a server may send are the
//! named constants of [`super::chunk`], each with its own [`ChunkError`].

use super::chunk::{
    msg_type, Message, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_CHUNK_STREAMS, MAX_MESSAGE_SIZE,
};
use bytes::BytesMut;
use std::collections::HashMap;
use thiserror::Error;

/// Why the server's chunk stream could not be decoded (connection-fatal).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChunkError {
    /// Set Chunk Size of 0 or above [`MAX_CHUNK_SIZE`].
    #[error("server set an invalid chunk size {0}")]
    BadChunkSize(u32),
    /// A message longer than [`MAX_MESSAGE_SIZE`].
    #[error("server message of {0} bytes exceeds the limit")]
    MessageTooLarge(usize),
    /// A type 1/2/3 header on a chunk stream that never had a type 0.
    #[error("chunk stream {0} continued without a type 0 header")]
    NoPreviousHeader(u32),
    /// More than [`MAX_CHUNK_STREAMS`] chunk streams.
    #[error("server opened too many chunk streams")]
    TooManyChunkStreams,
}

#[derive(Default)]
struct InState {
    timestamp: u32,
    delta: u32,
    length: usize,
    type_id: u8,
    stream_id: u32,
    extended: bool,
    started: bool,
    partial: BytesMut,
}

/// Reassembles the server's chunks into messages.
pub struct ChunkDecoder {
    buf: BytesMut,
    chunk_size: usize,
    streams: HashMap<u32, InState>,
    /// Total bytes handed in (for Acknowledgements).
    pub bytes_in: u64,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkDecoder {
    /// A decoder at the default chunk size.
    pub fn new() -> Self {
        ChunkDecoder {
            buf: BytesMut::new(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: HashMap::new(),
            bytes_in: 0,
        }
    }

    /// Appends bytes read from the socket.
    pub fn handle_bytes(&mut self, data: &[u8]) {
        self.bytes_in += data.len() as u64;
        self.buf.extend_from_slice(data);
    }

    /// Returns the next complete message, `Ok(None)` when more bytes are
    /// needed. Set Chunk Size messages are applied here and also returned.
    pub fn poll_message(&mut self) -> Result<Option<Message>, ChunkError> {
        loop {
            match self.parse_chunk()? {
                Step::NeedMore => return Ok(None),
                Step::Partial => continue,
                Step::Done(msg) => {
                    if msg.type_id == msg_type::SET_CHUNK_SIZE && msg.payload.len() >= 4 {
                        let p = &msg.payload;
                        let size = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7FFF_FFFF;
                        if size == 0 || size as usize > MAX_CHUNK_SIZE {
                            return Err(ChunkError::BadChunkSize(size));
                        }
                        self.chunk_size = size as usize;
                    }
                    return Ok(Some(msg));
                }
            }
        }
    }

    fn parse_chunk(&mut self) -> Result<Step, ChunkError> {
        let b = &self.buf[..];
        let Some(&b0) = b.first() else {
            return Ok(Step::NeedMore);
        };
        let fmt = b0 >> 6;
        let (csid, mut pos) = match b0 & 0x3F {
            0 if b.len() >= 2 => (u32::from(b[1]) + 64, 2),
            1 if b.len() >= 3 => (u32::from(b[1]) + u32::from(b[2]) * 256 + 64, 3),
            0 | 1 => return Ok(Step::NeedMore),
            c => (u32::from(c), 1),
        };
        let header_len = [11, 7, 3, 0][usize::from(fmt)];
        if b.len() < pos + header_len {
            return Ok(Step::NeedMore);
        }
        if !self.streams.contains_key(&csid) && self.streams.len() >= MAX_CHUNK_STREAMS {
            return Err(ChunkError::TooManyChunkStreams);
        }
        let st = self.streams.entry(csid).or_default();
        if fmt != 0 && !st.started {
            return Err(ChunkError::NoPreviousHeader(csid));
        }
        let h = &b[pos..pos + header_len];
        let u24 = |s: &[u8]| u32::from_be_bytes([0, s[0], s[1], s[2]]);
        let ts_field = if fmt < 3 { u24(h) } else { 0 };
        let extended = if fmt < 3 {
            ts_field == 0xFF_FFFF
        } else {
            st.extended
        };
        pos += header_len;
        let ext_value = if extended {
            if b.len() < pos + 4 {
                return Ok(Step::NeedMore);
            }
            let v = u32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]);
            pos += 4;
            Some(v)
        } else {
            None
        };
        let length = if fmt < 2 {
            u24(&h[3..]) as usize
        } else {
            st.length
        };
        if length > MAX_MESSAGE_SIZE {
            return Err(ChunkError::MessageTooLarge(length));
        }
        let continuing = fmt == 3 && !st.partial.is_empty();
        let already = if continuing { st.partial.len() } else { 0 };
        let take = (length - already).min(self.chunk_size);
        if b.len() < pos + take {
            return Ok(Step::NeedMore);
        }
        // The whole chunk is here: commit the header.
        let field = ext_value.unwrap_or(ts_field);
        match fmt {
            0 => {
                st.timestamp = field;
                st.delta = field;
                st.stream_id = u32::from_le_bytes([h[7], h[8], h[9], h[10]]);
            }
            1 | 2 => {
                st.delta = field;
                st.timestamp = st.timestamp.wrapping_add(field);
            }
            _ if !continuing => st.timestamp = st.timestamp.wrapping_add(st.delta),
            _ => {}
        }
        if fmt < 2 {
            st.length = length;
            st.type_id = h[6];
        }
        st.extended = extended;
        st.started = true;
        st.partial.extend_from_slice(&b[pos..pos + take]);
        let consumed = pos + take;
        let done = st.partial.len() == st.length;
        let msg = done.then(|| Message {
            type_id: st.type_id,
            stream_id: st.stream_id,
            timestamp: st.timestamp,
            payload: st.partial.split().freeze(),
        });
        let _ = self.buf.split_to(consumed);
        Ok(msg.map_or(Step::Partial, Step::Done))
    }
}

enum Step {
    NeedMore,
    Partial,
    Done(Message),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtmp_client::chunk::ChunkEncoder;
    use bytes::Bytes;

    fn msg(type_id: u8, ts: u32, len: usize) -> Message {
        Message {
            type_id,
            stream_id: 1,
            timestamp: ts,
            payload: Bytes::from((0..len).map(|i| i as u8).collect::<Vec<_>>()),
        }
    }

    #[test]
    fn round_trip_interleaved_ext_timestamps_and_byte_by_byte() {
        let mut enc = ChunkEncoder::new();
        enc.set_chunk_size(100);
        let msgs = [
            (6, msg(9, 0, 1000)),
            (4, msg(8, 0, 50)),
            (6, msg(9, 40, 250)),
            (6, msg(9, 0x0100_0000, 350)),
            (6, msg(9, 0x0100_0021, 10)),
            (300, msg(9, 5, 101)),
            (65_000, msg(9, 5, 10)),
        ];
        let mut wire = Vec::new();
        // Tell the decoder about the chunk size the way a peer would.
        let mut size_msg = msg(1, 0, 0);
        size_msg.stream_id = 0;
        size_msg.payload = Bytes::from_static(&[0, 0, 0, 100]);
        ChunkEncoder::new().encode(2, &size_msg, &mut wire);
        for (csid, m) in &msgs {
            enc.encode(*csid, m, &mut wire);
        }
        let mut dec = ChunkDecoder::new();
        let mut got = Vec::new();
        for byte in &wire {
            dec.handle_bytes(std::slice::from_ref(byte));
            while let Some(m) = dec.poll_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got[0], size_msg);
        let expected: Vec<Message> = msgs.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(&got[1..], &expected[..]);
    }

    #[test]
    fn hostile_input_is_named() {
        let mut dec = ChunkDecoder::new();
        dec.handle_bytes(&[0x43, 0, 0, 0, 0, 0, 1, 20]);
        assert_eq!(dec.poll_message(), Err(ChunkError::NoPreviousHeader(3)));
        let mut dec = ChunkDecoder::new();
        dec.handle_bytes(&[0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 20, 0, 0, 0, 0]);
        assert!(matches!(
            dec.poll_message(),
            Err(ChunkError::MessageTooLarge(_))
        ));
        let mut dec = ChunkDecoder::new();
        dec.handle_bytes(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(dec.poll_message(), Err(ChunkError::BadChunkSize(0)));
    }
}
