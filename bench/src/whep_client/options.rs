//! How a viewer behaves: what it offers, where it binds, the token, and the
//! knobs that make it lossy, slow or gone.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use super::stats::Frame;

/// H.264 `profile-level-id`s offered by default, one payload type each (all
/// `packetization-mode=1`): Constrained Baseline 3.1, Main 3.1, High 3.1 and
/// High 4.0 — what browsers offer for 720p/1080p, so the origin's passthrough of
/// the source's own profile matches one of them.
pub const DEFAULT_H264_PROFILES: [u32; 4] = [0x42e01f, 0x4d001f, 0x64001f, 0x640028];

/// Default [`WhepOptions::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default [`WhepOptions::stats_interval`]: how often str0m reports the NACK,
/// PLI and FIR counts.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Returns a latency sample for a frame, or `None` to skip it. Called from the
/// viewer's task for every frame, so it must be cheap.
pub type LatencyProbe = Arc<dyn Fn(&Frame<'_>) -> Option<Duration> + Send + Sync>;

/// What a viewer does with its socket. Changed while it runs with
/// [`super::WhepViewer::set_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Read every datagram and answer it; run str0m's timers.
    #[default]
    Normal,
    /// Read at most this many datagrams per second; the rest queue in the
    /// socket's receive buffer and overflow it (a viewer on a slow link).
    Slow {
        /// Datagrams per second.
        per_s: u32,
    },
    /// Read nothing and send nothing, not even ICE consent checks: a viewer
    /// whose machine vanished. The server should reap the session.
    Vanished,
}

/// Options of one viewer.
#[derive(Clone)]
pub struct WhepOptions {
    /// `Authorization: Bearer` value for token channels (the other way is a
    /// `/t/{token}` URL prefix, which is just part of the URL).
    pub bearer: Option<String>,
    /// Offer a recvonly H.264 transceiver.
    pub video: bool,
    /// Offer a recvonly Opus transceiver.
    pub audio: bool,
    /// The H.264 `profile-level-id`s to offer.
    pub h264_profiles: Vec<u32>,
    /// Address the UDP socket binds to (port 0); also the host candidate.
    pub bind: IpAddr,
    /// Bytes of `SO_RCVBUF` to ask for (`None`: the system default).
    pub recv_buffer: Option<usize>,
    /// Limit for the POST round trip and for ICE + DTLS.
    pub connect_timeout: Duration,
    /// How often str0m emits its ingress stats (NACK/PLI/FIR counts).
    pub stats_interval: Duration,
    /// Drop every Nth datagram read after DTLS completed (0: none), before
    /// str0m sees it: loss that NACK/RTX should recover.
    pub drop_every: u64,
    /// Send a PLI as soon as the video stream is known (str0m itself sends
    /// PLIs on loss it cannot repair).
    pub pli_on_start: bool,
    /// What to do with the socket at the start.
    pub mode: ReadMode,
    /// Called for every frame; its samples are summed in
    /// [`super::ViewerStats::latency`].
    pub latency_probe: Option<LatencyProbe>,
}

impl Default for WhepOptions {
    fn default() -> Self {
        WhepOptions {
            bearer: None,
            video: true,
            audio: true,
            h264_profiles: DEFAULT_H264_PROFILES.to_vec(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            recv_buffer: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            stats_interval: DEFAULT_STATS_INTERVAL,
            drop_every: 0,
            pli_on_start: false,
            mode: ReadMode::Normal,
            latency_probe: None,
        }
    }
}

impl std::fmt::Debug for WhepOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhepOptions")
            .field("bearer", &self.bearer.as_ref().map(|_| "…"))
            .field("video", &self.video)
            .field("audio", &self.audio)
            .field("h264_profiles", &self.h264_profiles)
            .field("bind", &self.bind)
            .field("recv_buffer", &self.recv_buffer)
            .field("connect_timeout", &self.connect_timeout)
            .field("drop_every", &self.drop_every)
            .field("pli_on_start", &self.pli_on_start)
            .field("mode", &self.mode)
            .field("latency_probe", &self.latency_probe.is_some())
            .finish()
    }
}
