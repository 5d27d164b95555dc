//! Splits outgoing RTMP messages into chunks (RTMP spec §5.3).
//!
//! The server sends few, small messages (control messages and command replies), so
//! the writer keeps no per-chunk-stream compression state: every message starts
//! with a type 0 header (§5.3.1.2.1) and continues with type 3 chunks
//! (§5.3.1.2.4), each repeating the extended timestamp when one is used (§5.3.1.3).

use bytes::{BufMut, BytesMut};

use super::chunk_reader::DEFAULT_CHUNK_SIZE;

/// Chunk stream id for protocol control messages (§5.4: csid 2).
pub const CSID_PROTOCOL_CONTROL: u32 = 2;
/// Chunk stream id we use for NetConnection command replies.
pub const CSID_COMMAND: u32 = 3;
/// Chunk stream id we use for NetStream status messages.
pub const CSID_STREAM_STATUS: u32 = 5;

/// Encoder state: only the chunk size we announced.
#[derive(Debug)]
pub struct ChunkWriter {
    chunk_size: u32,
}

impl Default for ChunkWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn put_basic_header(out: &mut BytesMut, fmt: u8, csid: u32) {
    // §5.3.1.1: 1, 2 or 3 bytes depending on the chunk stream id.
    match csid {
        2..=63 => out.put_u8(fmt << 6 | csid as u8),
        64..=319 => {
            out.put_u8(fmt << 6);
            out.put_u8((csid - 64) as u8);
        }
        _ => {
            out.put_u8(fmt << 6 | 1);
            out.put_u16_le((csid - 64) as u16);
        }
    }
}

fn put_u24(out: &mut BytesMut, v: u32) {
    out.put_slice(&v.to_be_bytes()[1..]);
}

impl ChunkWriter {
    /// A writer with the default chunk size of 128.
    pub fn new() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Use `size` from now on; call right after queueing our Set Chunk Size.
    pub fn set_chunk_size(&mut self, size: u32) {
        self.chunk_size = size.max(1);
    }

    /// Appends `payload` as one message on chunk stream `csid` to `out`.
    pub fn write(
        &self,
        out: &mut BytesMut,
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: &[u8],
    ) {
        let extended = timestamp >= 0xFF_FFFF;
        put_basic_header(out, 0, csid);
        put_u24(out, if extended { 0xFF_FFFF } else { timestamp });
        put_u24(out, payload.len() as u32);
        out.put_u8(type_id);
        out.put_u32_le(stream_id);
        if extended {
            out.put_u32(timestamp);
        }
        let mut chunks = payload.chunks(self.chunk_size as usize);
        if let Some(first) = chunks.next() {
            out.put_slice(first);
        }
        for chunk in chunks {
            put_basic_header(out, 3, csid);
            if extended {
                out.put_u32(timestamp);
            }
            out.put_slice(chunk);
        }
    }
}
