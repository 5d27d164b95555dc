//! Reassembles RTMP messages from the chunk stream (RTMP spec §5.3).
//!
//! Each chunk is a basic header (§5.3.1.1: fmt + chunk stream id in 1–3 bytes), a
//! message header of 11/7/3/0 bytes for fmt 0/1/2/3 (§5.3.1.2), an optional
//! extended timestamp (§5.3.1.3) and up to `chunk_size` payload bytes. Header
//! fields missing from fmt 1–3 are taken from the previous chunk on the same chunk
//! stream; this module keeps that per-chunk-stream state.
//!
//! [`ChunkReader::read_message`] only consumes whole chunks: it returns `Ok(None)`
//! and leaves the buffer untouched when the next chunk has not fully arrived, so
//! the caller can append more bytes and call again.

use std::collections::HashMap;

use bytes::{Buf, Bytes, BytesMut};

use super::RtmpError;

/// Chunk size both sides start with (§5.4.1).
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// A timestamp field of this value means "see the extended timestamp" (§5.3.1.3).
const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;
/// Message header length by fmt (§5.3.1.2.1–§5.3.1.2.4).
const MESSAGE_HEADER_LEN: [usize; 4] = [11, 7, 3, 0];

/// One reassembled RTMP message (§6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpMessage {
    /// The chunk stream it arrived on.
    pub csid: u32,
    /// Absolute timestamp in milliseconds (32-bit, wraps; see `flv::timestamps`).
    pub timestamp: u32,
    /// Message type id (§6.1.1).
    pub type_id: u8,
    /// Message stream id (little-endian on the wire, §5.3.1.2.1).
    pub stream_id: u32,
    /// The message body.
    pub payload: Bytes,
}

#[derive(Debug, Default)]
struct ChunkStream {
    timestamp: u32,
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The last fmt 0–2 header used an extended timestamp (§5.3.1.3).
    extended: bool,
    /// Its value, as sent.
    ext_value: u32,
    /// The message being reassembled, if one is in progress.
    partial: Option<BytesMut>,
}

/// Chunk stream decoder state for one connection.
#[derive(Debug)]
pub struct ChunkReader {
    chunk_size: u32,
    max_message_size: u32,
    max_chunk_streams: usize,
    streams: HashMap<u32, ChunkStream>,
}

fn u24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

fn u32_be(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl ChunkReader {
    /// A reader with the default chunk size of 128.
    pub fn new(max_message_size: u32, max_chunk_streams: usize) -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_message_size,
            max_chunk_streams,
            streams: HashMap::new(),
        }
    }

    /// Applies the peer's Set Chunk Size (§5.4.1); the caller validated `size`.
    pub fn set_chunk_size(&mut self, size: u32) {
        self.chunk_size = size;
    }

    /// The chunk size the peer currently uses.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Abort Message (§5.4.2): drop the partial message of `csid`.
    pub fn abort(&mut self, csid: u32) {
        if let Some(s) = self.streams.get_mut(&csid) {
            s.partial = None;
        }
    }

    /// Reads chunks from `input` until one completes a message. `Ok(None)` means
    /// more bytes are needed; consumed chunks are remembered in between.
    pub fn read_message(&mut self, input: &mut BytesMut) -> Result<Option<RtmpMessage>, RtmpError> {
        loop {
            match self.read_chunk(input)? {
                ChunkOutcome::NeedMore => return Ok(None),
                ChunkOutcome::Partial => continue,
                ChunkOutcome::Message(m) => return Ok(Some(m)),
            }
        }
    }

    fn read_chunk(&mut self, input: &mut BytesMut) -> Result<ChunkOutcome, RtmpError> {
        // §5.3.1.1 basic header.
        let Some(&b0) = input.first() else {
            return Ok(ChunkOutcome::NeedMore);
        };
        let fmt = b0 >> 6;
        let (csid, mut pos) = match b0 & 0x3F {
            0 if input.len() >= 2 => (64 + u32::from(input[1]), 2),
            1 if input.len() >= 3 => (64 + u32::from(input[1]) + 256 * u32::from(input[2]), 3),
            0 | 1 => return Ok(ChunkOutcome::NeedMore),
            id => (u32::from(id), 1),
        };
        let header_len = MESSAGE_HEADER_LEN[usize::from(fmt)];
        if input.len() < pos + header_len {
            return Ok(ChunkOutcome::NeedMore);
        }
        if !self.streams.contains_key(&csid) {
            if fmt != 0 {
                return Err(RtmpError::MissingChunkHeader { fmt, csid });
            }
            if self.streams.len() >= self.max_chunk_streams {
                return Err(RtmpError::TooManyChunkStreams {
                    limit: self.max_chunk_streams,
                });
            }
        }
        let prev = self.streams.get(&csid);
        let in_progress = prev.is_some_and(|s| s.partial.is_some());
        if in_progress && fmt != 3 {
            return Err(RtmpError::HeaderInsideMessage { csid });
        }

        // §5.3.1.2 message header: fields as sent; missing ones come from `prev`.
        let h = &input[pos..pos + header_len];
        let ts_field = (fmt < 3).then(|| u24(&h[0..3]));
        let length = if fmt < 2 {
            u24(&h[3..6])
        } else {
            prev.map_or(0, |s| s.length)
        };
        let type_id = if fmt < 2 {
            h[6]
        } else {
            prev.map_or(0, |s| s.type_id)
        };
        let stream_id = if fmt == 0 {
            u32::from_le_bytes([h[7], h[8], h[9], h[10]])
        } else {
            prev.map_or(0, |s| s.stream_id)
        };
        pos += header_len;

        // §5.3.1.3 extended timestamp; also present on type 3 chunks when the header
        // in effect used one. Some encoders omit it on continuation chunks, so there
        // we only consume it when it repeats the value we know.
        let (extended, mut ext_value) = match ts_field {
            Some(t) => (t == EXTENDED_TIMESTAMP, 0),
            None => prev.map_or((false, 0), |s| (s.extended, s.ext_value)),
        };
        if extended {
            let avail = &input[pos..input.len().min(pos + 4)];
            if ts_field.is_some() || !in_progress {
                if avail.len() < 4 {
                    return Ok(ChunkOutcome::NeedMore);
                }
                ext_value = u32_be(avail);
                pos += 4;
            } else if avail.len() == 4 && u32_be(avail) == ext_value {
                pos += 4;
            } else if avail.len() < 4 && ext_value.to_be_bytes().starts_with(avail) {
                return Ok(ChunkOutcome::NeedMore); // cannot tell yet
            }
        }

        if !in_progress && length > self.max_message_size {
            return Err(RtmpError::MessageTooLarge {
                size: length,
                limit: self.max_message_size,
            });
        }
        let have = prev.and_then(|s| s.partial.as_ref()).map_or(0, |p| p.len());
        let remaining = length as usize - have;
        let take = remaining.min(self.chunk_size as usize);
        if input.len() < pos + take {
            return Ok(ChunkOutcome::NeedMore);
        }

        // The whole chunk is here: commit the header state, then consume.
        let state = self.streams.entry(csid).or_default();
        if !in_progress {
            let value = if extended {
                ext_value
            } else {
                ts_field.unwrap_or(0)
            };
            match fmt {
                0 => {
                    state.timestamp = value;
                    // §5.3.1.2.4: a type 3 chunk after type 0 reuses its timestamp as delta.
                    state.delta = value;
                }
                1 | 2 => {
                    state.delta = value;
                    state.timestamp = state.timestamp.wrapping_add(value);
                }
                _ => state.timestamp = state.timestamp.wrapping_add(state.delta),
            }
            if fmt < 3 {
                state.extended = extended;
                state.ext_value = ext_value;
            }
            state.length = length;
            state.type_id = type_id;
            state.stream_id = stream_id;
        }
        input.advance(pos);
        let data = input.split_to(take);
        let message = |payload: Bytes, s: &ChunkStream| RtmpMessage {
            csid,
            timestamp: s.timestamp,
            type_id: s.type_id,
            stream_id: s.stream_id,
            payload,
        };
        if take == remaining {
            let payload = match state.partial.take() {
                None => data.freeze(), // single-chunk message: no copy
                Some(mut p) => {
                    p.extend_from_slice(&data);
                    p.freeze()
                }
            };
            return Ok(ChunkOutcome::Message(message(payload, state)));
        }
        let partial = state
            .partial
            .get_or_insert_with(|| BytesMut::with_capacity((length as usize).min(1 << 16)));
        partial.extend_from_slice(&data);
        Ok(ChunkOutcome::Partial)
    }
}

enum ChunkOutcome {
    NeedMore,
    Partial,
    Message(RtmpMessage),
}

#[cfg(test)]
#[path = "chunk_reader_tests.rs"]
mod tests;
