//! Connection-fatal RTMP errors.
//!
//! Every variant is something that makes us close the connection; the `Display`
//! text is what the listener logs ("rtmp: closing PEER: TEXT"), so it names the
//! peer's fault precisely and carries the numbers involved. Stream keys never
//! appear in these texts.

use super::amf0::AmfError;
use crate::flv::FlvError;

/// Why an RTMP session cannot go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RtmpError {
    /// C0 asked for an RTMP version other than 3 (§5.2.2).
    #[error("unsupported RTMP version {0} in C0 (expected 3)")]
    UnsupportedVersion(u8),
    /// The handshake did not complete within the limit.
    #[error("handshake not completed within {limit_ms} ms")]
    HandshakeTimeout {
        /// The configured limit.
        limit_ms: u64,
    },
    /// The peer sent nothing for longer than the idle limit.
    #[error("no data from peer for {limit_ms} ms")]
    IdleTimeout {
        /// The configured limit.
        limit_ms: u64,
    },
    /// Set Chunk Size above our limit (§5.4.1).
    #[error("chunk size {requested} exceeds limit {limit}")]
    ChunkSizeTooLarge {
        /// What the peer asked for.
        requested: u32,
        /// Our limit.
        limit: u32,
    },
    /// Set Chunk Size of zero or with the reserved top bit set (§5.4.1).
    #[error("invalid chunk size {0}")]
    InvalidChunkSize(u32),
    /// A chunk message header announced a message above our limit (§5.3.1.2).
    #[error("message of {size} bytes exceeds limit {limit}")]
    MessageTooLarge {
        /// The announced message length.
        size: u32,
        /// Our limit.
        limit: u32,
    },
    /// The peer used more chunk stream ids than we keep state for.
    #[error("more than {limit} chunk streams in use")]
    TooManyChunkStreams {
        /// Our limit.
        limit: usize,
    },
    /// `createStream` beyond the per-connection limit.
    #[error("more than {limit} message streams on one connection")]
    TooManyStreams {
        /// Our limit.
        limit: u32,
    },
    /// A type 1/2/3 chunk on a chunk stream that never had a type 0 header (§5.3.1.2).
    #[error("chunk type {fmt} on chunk stream {csid} without a preceding full header")]
    MissingChunkHeader {
        /// The chunk header type.
        fmt: u8,
        /// The chunk stream id.
        csid: u32,
    },
    /// A type 0/1 header arrived while a message on that chunk stream was incomplete.
    #[error("new message header on chunk stream {csid} before the previous message ended")]
    HeaderInsideMessage {
        /// The chunk stream id.
        csid: u32,
    },
    /// A protocol control or user control message had the wrong length (§5.4, §6.2).
    #[error("malformed control message type {type_id}")]
    MalformedControl {
        /// The message type id.
        type_id: u8,
    },
    /// A command or data message could not be decoded as AMF0.
    #[error("malformed AMF0 in {context}: {source}")]
    Amf {
        /// Which message.
        context: &'static str,
        /// What was wrong.
        source: AmfError,
    },
    /// A command arrived that is not allowed in the current state.
    #[error("command {command:?} not allowed {state}")]
    UnexpectedCommand {
        /// The command name.
        command: String,
        /// The state it arrived in, e.g. "before connect".
        state: &'static str,
    },
    /// `publish` on a message stream id `createStream` never returned.
    #[error("publish on unknown message stream {0}")]
    UnknownStream(u32),
    /// A second `publish` while this connection already publishes.
    #[error("second publish on a connection that is already publishing")]
    SecondPublish,
    /// An audio or video message was not a valid FLV tag body.
    #[error("bad media: {0}")]
    Media(#[from] FlvError),
}
