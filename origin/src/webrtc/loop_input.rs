//! What the rest of the origin sends the media loop: offers and deletions from the
//! HTTP routes, media from the channels' feeds. One bounded queue, so the loop is
//! the only owner of sessions and needs no locks.

use std::sync::Arc;

use ingest::publish::MediaSink;
use str0m::change::SdpOffer;
use tokio::sync::oneshot;

use super::sample::RtcSample;

/// Unguessable session id: the last path segment of a session's `Location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub u128);

impl SessionId {
    /// A random id (128 bits from the thread's CSPRNG).
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// Parses the 32 hex digits of [`SessionId`]'s `Display`.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32)
            .then(|| u128::from_str_radix(s, 16).ok())
            .flatten()
            .map(Self)
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// WHEP viewer or WHIP publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Receives a channel (WHEP).
    Viewer,
    /// Sends a channel (WHIP).
    Publisher,
}

impl Role {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Publisher => "publisher",
        }
    }
}

/// What WebRTC viewers of a channel get, as far as the feed knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamInfo {
    /// The video sent; `None`: no video for WebRTC.
    pub video: Option<VideoOut>,
    /// Opus channel count of the audio sent; `None`: no audio for WebRTC.
    pub opus_channels: Option<u8>,
    /// Why WHEP refuses this channel (B-frames with `bframes = "refuse"`, a codec
    /// WebRTC cannot carry); the text goes into the 409.
    pub refusal: Option<String>,
}

/// The video codec WebRTC viewers of a channel get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoOut {
    /// H.264 with this `profile-level-id` (RFC 6184 §8.1).
    H264 {
        /// profile_idc, constraint flags, level_idc.
        profile_level_id: u32,
    },
    /// AV1 (RTP payload format for AV1, §7.2: profile 0 by default).
    Av1,
}

impl VideoOut {
    /// The H.264 `profile-level-id`, for H.264.
    pub fn h264_profile_level_id(self) -> Option<u32> {
        match self {
            VideoOut::H264 { profile_level_id } => Some(profile_level_id),
            VideoOut::Av1 => None,
        }
    }
}

/// One item of a channel's feed.
#[derive(Debug)]
pub enum FeedItem {
    /// The stream's WebRTC description changed.
    Info(StreamInfo),
    /// An access unit.
    Sample(Arc<RtcSample>),
    /// The publish session that fed this ended.
    Ended,
}

/// Why an offer was refused; each maps to one HTTP status (see `routes`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// The body is not an SDP offer str0m can read.
    #[error("malformed SDP offer: {0}")]
    BadSdp(String),
    /// Nothing in the offer matches what the channel has.
    #[error("no supported codec: {0}")]
    NoCodec(String),
    /// Nobody publishes the channel.
    #[error("channel {0:?} is not live")]
    NotLive(String),
    /// The channel cannot be sent over WebRTC (B-frames refused, codec).
    #[error("{0}")]
    Refused(String),
    /// `[webrtc] max_sessions` reached.
    #[error("too many WebRTC sessions")]
    Full,
    /// str0m refused to build the session.
    #[error("cannot set up the session: {0}")]
    Internal(String),
}

impl OfferError {
    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            OfferError::BadSdp(_) => "bad_sdp",
            OfferError::NoCodec(_) => "no_codec",
            OfferError::NotLive(_) => "not_live",
            OfferError::Refused(_) => "refused",
            OfferError::Full => "full",
            OfferError::Internal(_) => "internal",
        }
    }
}

/// A session the loop set up.
#[derive(Debug)]
pub struct Answered {
    /// For the `Location`.
    pub session: SessionId,
    /// The SDP answer.
    pub sdp: String,
}

/// An offer for the loop.
pub struct OfferRequest {
    /// The channel named in the URL.
    pub channel: String,
    /// The parsed offer.
    pub offer: SdpOffer,
    /// For a WHIP publisher, the sink its media goes to (the publish was accepted).
    pub publisher: Option<Box<dyn MediaSink>>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<Answered, OfferError>>,
}

/// The media loop's input.
pub enum LoopInput {
    /// Set up a session.
    Offer(OfferRequest),
    /// End a session (HTTP DELETE); replies whether it existed.
    Delete {
        /// The channel in the URL: a session is only found under its own channel.
        channel: String,
        /// From the URL.
        session: SessionId,
        /// From the URL (`/whep` or `/whip`).
        role: Role,
        /// Whether a session was ended.
        reply: oneshot::Sender<bool>,
    },
    /// Media or stream information from a channel's feed.
    Feed {
        /// The channel.
        channel: Arc<str>,
        /// Which publish session's feed (a channel's publisher may reconnect while
        /// the old feed is still draining).
        feed: u64,
        /// What happened.
        item: FeedItem,
    },
}
