//! Named limits on what an RTMP peer may make us hold or wait for.
//!
//! Every limit is a constant with a doc comment (the default), collected in
//! [`RtmpLimits`] so the origin can tune them from its configuration, and each one
//! has its own [`RtmpError`](super::RtmpError) variant when a peer exceeds it.

/// Largest chunk size a peer may announce with Set Chunk Size (RTMP spec §5.4.1
/// allows up to 2^31-1; real encoders use 4096–65536). 1 MiB.
pub const DEFAULT_MAX_CHUNK_SIZE: u32 = 1 << 20;

/// Largest message (after reassembly from chunks) a peer may announce in a chunk
/// message header (§5.3.1.2). A 4K keyframe is rarely above 2 MiB. 8 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 8 << 20;

/// Most message streams a connection may hold open with `createStream` at once.
/// Publishers need one.
pub const DEFAULT_MAX_STREAMS: u32 = 8;

/// Most chunk stream ids a connection may use at once (§5.3.1.1 allows 65597);
/// each may hold one partially received message. Encoders use fewer than ten.
pub const DEFAULT_MAX_CHUNK_STREAMS: usize = 64;

/// How long the peer has, from the first byte we accept, to complete the handshake
/// (§5.2). 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// How long an established connection may stay silent before we drop it. 30 s.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 30_000;

/// Deepest nesting of AMF0 objects / arrays in a command or data message. 16.
pub const DEFAULT_MAX_AMF_DEPTH: usize = 16;

/// The limits one RTMP session enforces. `RtmpLimits::default()` uses the
/// `DEFAULT_*` constants of this module.
///
/// ```
/// use ingest::rtmp::RtmpLimits;
/// let limits = RtmpLimits { handshake_timeout_ms: 5_000, ..RtmpLimits::default() };
/// assert_eq!(limits.max_chunk_size, ingest::rtmp::limits::DEFAULT_MAX_CHUNK_SIZE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtmpLimits {
    /// See [`DEFAULT_MAX_CHUNK_SIZE`].
    pub max_chunk_size: u32,
    /// See [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub max_message_size: u32,
    /// See [`DEFAULT_MAX_STREAMS`].
    pub max_streams: u32,
    /// See [`DEFAULT_MAX_CHUNK_STREAMS`].
    pub max_chunk_streams: usize,
    /// See [`DEFAULT_HANDSHAKE_TIMEOUT_MS`].
    pub handshake_timeout_ms: u64,
    /// See [`DEFAULT_IDLE_TIMEOUT_MS`].
    pub idle_timeout_ms: u64,
    /// See [`DEFAULT_MAX_AMF_DEPTH`].
    pub max_amf_depth: usize,
}

impl Default for RtmpLimits {
    fn default() -> Self {
        Self {
            max_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_streams: DEFAULT_MAX_STREAMS,
            max_chunk_streams: DEFAULT_MAX_CHUNK_STREAMS,
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            max_amf_depth: DEFAULT_MAX_AMF_DEPTH,
        }
    }
}
