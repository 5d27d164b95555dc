//! WebRTC's Prometheus metrics (`ferrocast_webrtc_*`).

use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

/// `ferrocast_webrtc_*`.
#[derive(Clone)]
pub struct WebrtcMetrics {
    /// `ferrocast_webrtc_sessions{role}`: live sessions, `viewer` (WHEP) or
    /// `publisher` (WHIP).
    pub sessions: IntGaugeVec,
    /// `ferrocast_webrtc_channel_viewers{channel}`: WHEP viewers per channel.
    pub channel_viewers: IntGaugeVec,
    /// `ferrocast_webrtc_offers_total{role,result}`: SDP offers answered
    /// (`accepted`) or refused, by reason (`bad_sdp`, `no_codec`, `not_live`,
    /// `bframes`, `token`, `key`, `busy`, `full`, `unavailable`).
    pub offers: IntCounterVec,
    /// `ferrocast_webrtc_sessions_ended_total{role,reason}`: `deleted` (HTTP
    /// DELETE), `ice_timeout` (vanished: no STUN consent checks for 15 s),
    /// `never_connected` (no ICE/DTLS within 30 s of the answer), `slow` (viewer
    /// dropped for loss), `stream_ended`, `kicked`, `abandoned`, `error`, `shutdown`.
    pub ended: IntCounterVec,
    /// `ferrocast_webrtc_datagrams_dropped_total{reason}`: UDP input that belongs to
    /// no session (`unknown_source`, `not_stun`, `oversize`) and output the socket
    /// refused (`send_failed`).
    pub datagrams_dropped: IntCounterVec,
    /// `ferrocast_webrtc_feed_dropped_total{reason}`: media not delivered to the
    /// media loop (`queue_full`: ingest never waits for WebRTC).
    pub feed_dropped: IntCounterVec,
    /// `ferrocast_webrtc_keyframe_requests_total`: PLI/FIR received from viewers.
    pub keyframe_requests: IntCounter,
    /// `ferrocast_webrtc_sent_bytes_total`: UDP payload bytes sent.
    pub sent_bytes: IntCounter,
    /// `ferrocast_webrtc_received_bytes_total`: UDP payload bytes received.
    pub received_bytes: IntCounter,
}

impl WebrtcMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let opts = Opts::new;
        let m = Self {
            sessions: IntGaugeVec::new(
                opts("ferrocast_webrtc_sessions", "WebRTC sessions by role"),
                &["role"],
            )?,
            channel_viewers: IntGaugeVec::new(
                opts(
                    "ferrocast_webrtc_channel_viewers",
                    "WHEP viewers per channel",
                ),
                &["channel"],
            )?,
            offers: IntCounterVec::new(
                opts(
                    "ferrocast_webrtc_offers_total",
                    "WHEP/WHIP offers by role and result",
                ),
                &["role", "result"],
            )?,
            ended: IntCounterVec::new(
                opts(
                    "ferrocast_webrtc_sessions_ended_total",
                    "WebRTC sessions ended, by role and reason",
                ),
                &["role", "reason"],
            )?,
            datagrams_dropped: IntCounterVec::new(
                opts(
                    "ferrocast_webrtc_datagrams_dropped_total",
                    "UDP datagrams dropped on the WebRTC port, by reason",
                ),
                &["reason"],
            )?,
            feed_dropped: IntCounterVec::new(
                opts(
                    "ferrocast_webrtc_feed_dropped_total",
                    "Media items not delivered to the WebRTC media loop",
                ),
                &["reason"],
            )?,
            keyframe_requests: IntCounter::new(
                "ferrocast_webrtc_keyframe_requests_total",
                "PLI/FIR key frame requests received from WebRTC viewers",
            )?,
            sent_bytes: IntCounter::new(
                "ferrocast_webrtc_sent_bytes_total",
                "UDP payload bytes sent on the WebRTC port",
            )?,
            received_bytes: IntCounter::new(
                "ferrocast_webrtc_received_bytes_total",
                "UDP payload bytes received on the WebRTC port",
            )?,
        };
        registry.register(Box::new(m.sessions.clone()))?;
        registry.register(Box::new(m.channel_viewers.clone()))?;
        registry.register(Box::new(m.offers.clone()))?;
        registry.register(Box::new(m.ended.clone()))?;
        registry.register(Box::new(m.datagrams_dropped.clone()))?;
        registry.register(Box::new(m.feed_dropped.clone()))?;
        registry.register(Box::new(m.keyframe_requests.clone()))?;
        registry.register(Box::new(m.sent_bytes.clone()))?;
        registry.register(Box::new(m.received_bytes.clone()))?;
        Ok(m)
    }
}
