//! RTMP message types (§6.1.1, §7.1), protocol control messages (§5.4), user
//! control messages (§6.2, §7.1.7) and aggregate messages (§7.1.6).

use bytes::{BufMut, Bytes, BytesMut};

use super::chunk_reader::RtmpMessage;
use super::RtmpError;

/// Message type ids.
pub mod type_id {
    /// §5.4.1 Set Chunk Size.
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// §5.4.2 Abort Message.
    pub const ABORT: u8 = 2;
    /// §5.4.3 Acknowledgement.
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// §6.2 User Control Message.
    pub const USER_CONTROL: u8 = 4;
    /// §5.4.4 Window Acknowledgement Size.
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// §5.4.5 Set Peer Bandwidth.
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// §7.1.4 audio.
    pub const AUDIO: u8 = 8;
    /// §7.1.5 video.
    pub const VIDEO: u8 = 9;
    /// §7.1.2 data message, AMF3.
    pub const DATA_AMF3: u8 = 15;
    /// §7.1.1 command message, AMF3.
    pub const COMMAND_AMF3: u8 = 17;
    /// §7.1.2 data message, AMF0.
    pub const DATA_AMF0: u8 = 18;
    /// §7.1.1 command message, AMF0.
    pub const COMMAND_AMF0: u8 = 20;
    /// §7.1.6 aggregate message.
    pub const AGGREGATE: u8 = 22;
}

/// User control event types (§7.1.7).
pub mod user_control {
    /// Stream Begin: the stream is functional.
    pub const STREAM_BEGIN: u16 = 0;
    /// Set Buffer Length (client → server).
    pub const SET_BUFFER_LENGTH: u16 = 3;
    /// Ping Request.
    pub const PING_REQUEST: u16 = 6;
    /// Ping Response.
    pub const PING_RESPONSE: u16 = 7;
}

/// Set Peer Bandwidth limit type 2: dynamic (§5.4.5).
pub const LIMIT_TYPE_DYNAMIC: u8 = 2;

/// A protocol control or user control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage {
    /// §5.4.1: the sender's new maximum chunk size.
    SetChunkSize(u32),
    /// §5.4.2: discard the partial message on this chunk stream.
    Abort(u32),
    /// §5.4.3: bytes received so far.
    Acknowledgement(u32),
    /// §5.4.4: acknowledge every this many bytes.
    WindowAckSize(u32),
    /// §5.4.5: limit the peer's output bandwidth.
    SetPeerBandwidth {
        /// Window size in bytes.
        size: u32,
        /// 0 hard, 1 soft, 2 dynamic.
        limit_type: u8,
    },
    /// §6.2: an event type and its data.
    UserControl {
        /// Event type (§7.1.7).
        event: u16,
        /// Event data.
        data: Bytes,
    },
}

fn be32(p: &[u8], type_id: u8) -> Result<u32, RtmpError> {
    p.get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(RtmpError::MalformedControl { type_id })
}

impl ControlMessage {
    /// Decodes a control message of type 1–6; `None` for other types.
    pub fn parse(type_id: u8, p: &Bytes) -> Result<Option<Self>, RtmpError> {
        Ok(Some(match type_id {
            type_id::SET_CHUNK_SIZE => Self::SetChunkSize(be32(p, type_id)?),
            type_id::ABORT => Self::Abort(be32(p, type_id)?),
            type_id::ACKNOWLEDGEMENT => Self::Acknowledgement(be32(p, type_id)?),
            type_id::WINDOW_ACK_SIZE => Self::WindowAckSize(be32(p, type_id)?),
            type_id::SET_PEER_BANDWIDTH => Self::SetPeerBandwidth {
                size: be32(p, type_id)?,
                limit_type: *p.get(4).ok_or(RtmpError::MalformedControl { type_id })?,
            },
            type_id::USER_CONTROL => {
                if p.len() < 2 {
                    return Err(RtmpError::MalformedControl { type_id });
                }
                Self::UserControl {
                    event: u16::from_be_bytes([p[0], p[1]]),
                    data: p.slice(2..),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// The message type id and body.
    pub fn encode(&self) -> (u8, BytesMut) {
        let mut b = BytesMut::with_capacity(6);
        let t = match self {
            Self::SetChunkSize(v) => {
                b.put_u32(*v);
                type_id::SET_CHUNK_SIZE
            }
            Self::Abort(v) => {
                b.put_u32(*v);
                type_id::ABORT
            }
            Self::Acknowledgement(v) => {
                b.put_u32(*v);
                type_id::ACKNOWLEDGEMENT
            }
            Self::WindowAckSize(v) => {
                b.put_u32(*v);
                type_id::WINDOW_ACK_SIZE
            }
            Self::SetPeerBandwidth { size, limit_type } => {
                b.put_u32(*size);
                b.put_u8(*limit_type);
                type_id::SET_PEER_BANDWIDTH
            }
            Self::UserControl { event, data } => {
                b.put_u16(*event);
                b.put_slice(data);
                type_id::USER_CONTROL
            }
        };
        (t, b)
    }
}

/// Splits an aggregate message (§7.1.6) into its sub-messages. Each is an FLV tag
/// (type, UI24 size, UI24+UI8 timestamp, UI24 stream id, body) followed by a UI32
/// back pointer. Sub-message timestamps are rebased so the first one equals the
/// aggregate's own timestamp. Stops at the first malformed sub-message.
pub fn split_aggregate(msg: &RtmpMessage) -> Vec<RtmpMessage> {
    let p = &msg.payload;
    let mut out = Vec::new();
    let mut pos = 0;
    let mut first_ts: Option<u32> = None;
    while pos + 11 <= p.len() {
        let h = &p[pos..pos + 11];
        let size = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        let ts = u32::from_be_bytes([h[7], h[4], h[5], h[6]]);
        let body_end = pos + 11 + size;
        if body_end > p.len() {
            break;
        }
        let base = *first_ts.get_or_insert(ts);
        out.push(RtmpMessage {
            csid: msg.csid,
            timestamp: msg.timestamp.wrapping_add(ts.wrapping_sub(base)),
            type_id: h[0],
            stream_id: msg.stream_id,
            payload: p.slice(pos + 11..body_end),
        });
        pos = body_end + 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_round_trip() {
        for m in [
            ControlMessage::SetChunkSize(4096),
            ControlMessage::Abort(4),
            ControlMessage::Acknowledgement(123_456),
            ControlMessage::WindowAckSize(2_500_000),
            ControlMessage::SetPeerBandwidth {
                size: 2_500_000,
                limit_type: 2,
            },
            ControlMessage::UserControl {
                event: 6,
                data: Bytes::from_static(&[0, 0, 1, 0]),
            },
        ] {
            let (t, body) = m.encode();
            assert_eq!(ControlMessage::parse(t, &body.freeze()).unwrap(), Some(m));
        }
        assert_eq!(
            ControlMessage::parse(1, &Bytes::from_static(&[0, 1])),
            Err(RtmpError::MalformedControl { type_id: 1 })
        );
    }

    #[test]
    fn aggregate_is_split_and_rebased() {
        let mut p = Vec::new();
        for (t, ts, body) in [(9u8, 1000u32, &b"vid"[..]), (8, 1020, b"au")] {
            p.push(t);
            p.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            p.extend_from_slice(&ts.to_be_bytes()[1..]);
            p.push((ts >> 24) as u8);
            p.extend_from_slice(&[0, 0, 0]);
            p.extend_from_slice(body);
            p.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
        }
        let agg = RtmpMessage {
            csid: 6,
            timestamp: 5000,
            type_id: 22,
            stream_id: 1,
            payload: p.into(),
        };
        let parts = split_aggregate(&agg);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].type_id, parts[0].timestamp, &parts[0].payload[..]),
            (9, 5000, &b"vid"[..])
        );
        assert_eq!(
            (parts[1].type_id, parts[1].timestamp, parts[1].stream_id),
            (8, 5020, 1)
        );
    }
}
