//! The media loop: one thread with a single-threaded runtime that owns the UDP
//! socket and every WebRTC session (str0m is sans-IO: the loop feeds it
//! datagrams and timer ticks and sends what it returns).
//!
//! Inputs, from one `select!`:
//! - datagrams, routed by [`Demux`];
//! - [`LoopInput`]: offers and DELETEs from the HTTP routes, media from the
//!   channels' feeds;
//! - the earliest str0m timer of any session, and a housekeeping tick.
//!
//! Output never waits: datagrams go out with `try_send_to`; a full socket buffer
//! drops the datagram (counted; NACK/RTX repairs it). Every viewer of a channel
//! is written the same `Arc`'d sample, so fan-out costs packetization and SRTP
//! per viewer and no copies of the media.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::demux::Demux;
use super::feed::Feeds;
use super::loop_input::{
    Answered, FeedItem, LoopInput, OfferError, OfferRequest, Role, SessionId, StreamInfo,
};
use super::metrics::WebrtcMetrics;
use super::offer::{self, Local};
use super::publisher::Publisher;
use super::sample::{RtcSample, SampleKind};
use super::session::{RoleState, Session};
use super::viewer::{Health, Viewer};

/// Largest datagram read (SRTP packets stay under the path MTU; anything bigger
/// is not ours).
const MAX_DATAGRAM: usize = 2048;
/// Housekeeping: publishers' key frame timer, ended streams.
const TICK: Duration = Duration::from_millis(100);
/// The cached group of pictures for new viewers is dropped above this size
/// (new viewers then wait for the next key frame).
const MAX_GOP_BYTES: usize = 16 * 1024 * 1024;
/// A session whose client never completes ICE and DTLS within this is closed
/// (str0m's ICE-lite timeout counts only from the first binding request, RFC 8445
/// §5.1.1.1 servers never send any).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Input items handled per wake-up before the socket gets a turn again.
const INPUT_BATCH: usize = 256;

/// `[webrtc]` settings the loop uses.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// `max_sessions`.
    pub max_sessions: usize,
    /// `slow_viewer_loss`.
    pub slow_viewer_loss: f32,
    /// `slow_viewer_window_s`.
    pub slow_viewer_window: Duration,
    /// `whip_keyframe_interval_s`.
    pub whip_keyframe_interval: Duration,
    /// AAC bit rate beside WHIP's Opus (`whip_aac`), when on.
    pub whip_aac_bitrate: Option<u32>,
    /// Viewers of a stream whose publisher is gone are disconnected after this
    /// (`[packaging] reconnect_grace_s`: a publisher coming back continues).
    pub stream_end_grace: Duration,
}

/// What the loop knows of one channel.
#[derive(Default)]
struct Room {
    /// The feed currently describing the channel (a publish session's id).
    feed: Option<u64>,
    info: Option<StreamInfo>,
    /// Video from the last key frame on, for new viewers.
    gop: Vec<Arc<RtcSample>>,
    gop_bytes: usize,
    viewers: Vec<SessionId>,
    publisher: Option<SessionId>,
    /// When the last feed ended (viewers are closed after the grace).
    ended_at: Option<Instant>,
}

impl Room {
    fn keep(&mut self, sample: &Arc<RtcSample>) {
        if sample.kind != SampleKind::Video {
            return;
        }
        if sample.keyframe {
            self.gop.clear();
            self.gop_bytes = 0;
        } else if self.gop.is_empty() {
            return;
        }
        self.gop_bytes += sample.data.len();
        if self.gop_bytes > MAX_GOP_BYTES {
            self.gop.clear();
            self.gop_bytes = 0;
            return;
        }
        self.gop.push(sample.clone());
    }
}

/// The loop's state.
pub struct MediaLoop {
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    local: Local,
    feeds: Feeds,
    metrics: WebrtcMetrics,
    settings: LoopSettings,
    demux: Demux,
    sessions: HashMap<SessionId, Session>,
    rooms: HashMap<Arc<str>, Room>,
}

impl MediaLoop {
    /// A loop over `socket` (already bound, non-blocking).
    pub fn new(
        socket: std::net::UdpSocket,
        local: Local,
        feeds: Feeds,
        metrics: WebrtcMetrics,
        settings: LoopSettings,
    ) -> std::io::Result<Self> {
        let local_addr = socket.local_addr()?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket: Arc::new(UdpSocket::from_std(socket)?),
            local_addr,
            local,
            feeds,
            metrics,
            settings,
            demux: Demux::default(),
            sessions: HashMap::new(),
            rooms: HashMap::new(),
        })
    }

    /// Runs until `stop` turns true or every sender of `inputs` is gone.
    pub async fn run(
        mut self,
        mut inputs: mpsc::Receiver<LoopInput>,
        mut stop: watch::Receiver<bool>,
    ) {
        let socket = self.socket.clone();
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                received = socket.recv_from(&mut buf) => match received {
                    Ok((len, source)) => self.datagram(&buf[..len], source),
                    // ICMP port unreachable from a vanished viewer surfaces here on
                    // Linux; it is not the socket's failure.
                    Err(e) => tracing::debug!(error = %e, "WebRTC UDP receive error"),
                },
                input = inputs.recv() => {
                    let Some(input) = input else { break };
                    self.input(input);
                    for _ in 0..INPUT_BATCH {
                        match inputs.try_recv() {
                            Ok(input) => self.input(input),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => self.timeouts(),
                _ = tick.tick() => self.housekeeping(),
            }
        }
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in ids {
            if let Some(s) = self.sessions.get_mut(&id) {
                s.close("shutdown");
            }
            self.drive(id);
        }
    }

    fn next_deadline(&self) -> Instant {
        let far = Instant::now() + TICK;
        self.sessions
            .values()
            .map(|s| s.next_timeout)
            .min()
            .map_or(far, |t| t.min(far))
    }

    fn datagram(&mut self, data: &[u8], source: SocketAddr) {
        self.metrics.received_bytes.inc_by(data.len() as u64);
        let id = match self.demux.route(source, data) {
            Ok(id) => id,
            Err(reason) => {
                self.metrics
                    .datagrams_dropped
                    .with_label_values(&[reason.label()])
                    .inc();
                return;
            }
        };
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let Ok(contents) = data.try_into() else {
            self.metrics
                .datagrams_dropped
                .with_label_values(&["unparsable"])
                .inc();
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local_addr,
                contents,
            },
        );
        if let Err(e) = session.rtc.handle_input(input) {
            tracing::debug!(session = %id, error = %e, "WebRTC input refused");
            self.metrics
                .datagrams_dropped
                .with_label_values(&["refused"])
                .inc();
        }
        self.drive(id);
    }

    fn input(&mut self, input: LoopInput) {
        match input {
            LoopInput::Offer(request) => self.offer(request),
            LoopInput::Delete {
                channel,
                session,
                role,
                reply,
            } => {
                let found = match self.sessions.get_mut(&session) {
                    Some(s) if &*s.channel == channel.as_str() && s.role() == role => {
                        s.close("deleted");
                        true
                    }
                    _ => false,
                };
                if found {
                    self.drive(session);
                }
                let _ = reply.send(found);
            }
            LoopInput::Feed {
                channel,
                feed,
                item,
            } => self.feed(channel, feed, item),
        }
    }

    fn offer(&mut self, request: OfferRequest) {
        let OfferRequest {
            channel,
            offer,
            publisher,
            reply,
        } = request;
        let role = if publisher.is_some() {
            Role::Publisher
        } else {
            Role::Viewer
        };
        let result = self.set_up(channel, offer, publisher);
        let label = match &result {
            Ok(_) => "accepted",
            Err(e) => e.label(),
        };
        self.metrics
            .offers
            .with_label_values(&[role.label(), label])
            .inc();
        if let Err(Ok(answered)) = reply.send(result) {
            // The HTTP request went away: nobody will connect.
            if let Some(s) = self.sessions.get_mut(&answered.session) {
                s.close("abandoned");
            }
            self.drive(answered.session);
        }
    }

    fn set_up(
        &mut self,
        channel: String,
        offer: str0m::change::SdpOffer,
        publisher: Option<Box<dyn ingest::publish::MediaSink>>,
    ) -> Result<Answered, OfferError> {
        if self.sessions.len() >= self.settings.max_sessions {
            return Err(OfferError::Full);
        }
        let channel: Arc<str> = Arc::from(channel.as_str());
        let id = SessionId::random();
        let now = Instant::now();
        let (built, role) = match publisher {
            Some(sink) => {
                let built = offer::publisher(offer, &self.local)?;
                let p = Publisher::new(
                    sink,
                    built.video,
                    self.settings.whip_keyframe_interval,
                    self.settings.whip_aac_bitrate,
                    now,
                );
                (built, RoleState::Publisher(Box::new(p)))
            }
            None => {
                let room = self.rooms.get(&channel);
                let info = room
                    .filter(|r| r.feed.is_some())
                    .and_then(|r| r.info.clone())
                    .ok_or_else(|| OfferError::NotLive(channel.to_string()))?;
                if let Some(reason) = &info.refusal {
                    return Err(OfferError::Refused(reason.clone()));
                }
                let built = offer::viewer(offer, &info, &self.local)?;
                let v = Viewer::new(built.video, built.audio);
                (built, RoleState::Viewer(v))
            }
        };
        let room = self.rooms.entry(channel.clone()).or_default();
        match role {
            RoleState::Viewer(_) => {
                room.viewers.push(id);
                self.metrics
                    .channel_viewers
                    .with_label_values(&[&channel])
                    .inc();
                self.feeds
                    .shared(&channel)
                    .viewers
                    .fetch_add(1, Ordering::Relaxed);
            }
            RoleState::Publisher(_) => room.publisher = Some(id),
        }
        self.demux.add(built.ufrag.clone(), id);
        let session = Session {
            id,
            channel,
            ufrag: built.ufrag,
            rtc: built.rtc,
            role,
            next_timeout: now,
            end_reason: None,
            created: now,
            connected: false,
        };
        self.metrics
            .sessions
            .with_label_values(&[session.role().label()])
            .inc();
        tracing::info!(session = %id, channel = %session.channel, role = session.role().label(), "WebRTC session set up");
        self.sessions.insert(id, session);
        Ok(Answered {
            session: id,
            sdp: built.answer,
        })
    }

    fn feed(&mut self, channel: Arc<str>, feed: u64, item: FeedItem) {
        let room = self.rooms.entry(channel.clone()).or_default();
        match item {
            FeedItem::Info(info) => {
                if room.feed != Some(feed) {
                    // A new publish session (or a reconnect): old media is stale.
                    room.gop.clear();
                    room.gop_bytes = 0;
                }
                room.feed = Some(feed);
                room.info = Some(info);
                room.ended_at = None;
            }
            FeedItem::Ended => {
                if room.feed == Some(feed) {
                    room.feed = None;
                    room.gop.clear();
                    room.gop_bytes = 0;
                    room.ended_at = Some(Instant::now());
                }
            }
            FeedItem::Sample(sample) => {
                if room.feed != Some(feed) {
                    return;
                }
                room.keep(&sample);
                let viewers = room.viewers.clone();
                for id in viewers {
                    let Some(s) = self.sessions.get_mut(&id) else {
                        continue;
                    };
                    let RoleState::Viewer(v) = &mut s.role else {
                        continue;
                    };
                    if let Err(e) = v.write(&mut s.rtc, &sample) {
                        tracing::debug!(session = %id, error = %e, "WebRTC write failed");
                    }
                    self.drive(id);
                }
            }
        }
    }

    fn timeouts(&mut self) {
        let now = Instant::now();
        let due: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|s| s.next_timeout <= now)
            .map(|s| s.id)
            .collect();
        for id in due {
            if let Some(s) = self.sessions.get_mut(&id) {
                let _ = s.rtc.handle_input(Input::Timeout(now));
            }
            self.drive(id);
        }
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        let mut to_drive = Vec::new();
        for s in self.sessions.values_mut() {
            if !s.connected && now.duration_since(s.created) >= CONNECT_TIMEOUT {
                s.close("never_connected");
                to_drive.push(s.id);
                continue;
            }
            if let RoleState::Publisher(p) = &mut s.role {
                p.drain_aac();
                if p.kicked() {
                    s.close("kicked");
                    to_drive.push(s.id);
                    continue;
                }
                if p.next_keyframe_due().is_none_or(|due| due <= now) && s.rtc.is_connected() {
                    p.maybe_request_keyframe(&mut s.rtc, false, now);
                    to_drive.push(s.id);
                }
            }
        }
        // Viewers of a stream whose publisher did not come back.
        for room in self.rooms.values() {
            if room
                .ended_at
                .is_some_and(|t| now.duration_since(t) >= self.settings.stream_end_grace)
            {
                for id in &room.viewers {
                    if let Some(s) = self.sessions.get_mut(id) {
                        s.close("stream_ended");
                        to_drive.push(*id);
                    }
                }
            }
        }
        for id in to_drive {
            self.drive(id);
        }
        self.rooms
            .retain(|_, r| r.feed.is_some() || !r.viewers.is_empty() || r.publisher.is_some());
    }

    /// Sends what `id`'s session has to send and handles its events, until str0m
    /// asks for a timer; removes the session if it died.
    fn drive(&mut self, id: SessionId) {
        let mut connected = false;
        let mut keyframe_wanted = false;
        let now = Instant::now();
        {
            let Some(s) = self.sessions.get_mut(&id) else {
                return;
            };
            loop {
                if !s.rtc.is_alive() {
                    break;
                }
                match s.rtc.poll_output() {
                    Ok(Output::Timeout(t)) => {
                        s.next_timeout = t;
                        break;
                    }
                    Ok(Output::Transmit(t)) => {
                        match self.socket.try_send_to(&t.contents, t.destination) {
                            Ok(n) => self.metrics.sent_bytes.inc_by(n as u64),
                            Err(_) => self
                                .metrics
                                .datagrams_dropped
                                .with_label_values(&["send_failed"])
                                .inc(),
                        }
                    }
                    Ok(Output::Event(event)) => match event {
                        Event::Connected => {
                            s.connected = true;
                            connected = true;
                        }
                        Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                            s.close("ice_timeout");
                        }
                        Event::MediaData(data) => {
                            if let RoleState::Publisher(p) = &mut s.role {
                                p.media(&data);
                            }
                        }
                        Event::KeyframeRequest(_) => {
                            if matches!(s.role, RoleState::Viewer(_)) {
                                self.metrics.keyframe_requests.inc();
                                keyframe_wanted = true;
                            }
                        }
                        Event::MediaEgressStats(stats) => {
                            if let (RoleState::Viewer(v), Some(loss)) = (&mut s.role, stats.loss) {
                                let health = v.observe_loss(
                                    loss,
                                    self.settings.slow_viewer_loss,
                                    self.settings.slow_viewer_window,
                                    now,
                                );
                                if health == Health::Slow {
                                    tracing::warn!(session = %id, channel = %s.channel, loss, "WebRTC viewer dropped: too much loss for too long");
                                    s.close("slow");
                                }
                            }
                        }
                        _ => {}
                    },
                    Err(e) => {
                        tracing::debug!(session = %id, error = %e, "WebRTC session failed");
                        s.close("error");
                    }
                }
            }
        }
        if connected {
            self.connected(id);
        }
        if keyframe_wanted {
            self.keyframe_wanted(id, now);
        }
        let alive = self.sessions.get(&id).is_some_and(|s| s.rtc.is_alive());
        if !alive {
            self.remove(id);
        }
    }

    /// ICE and DTLS are up: a viewer gets the current GOP, then live media.
    fn connected(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        tracing::debug!(session = %id, channel = %s.channel, "WebRTC session connected");
        let RoleState::Viewer(v) = &mut s.role else {
            return;
        };
        v.connected = true;
        let gop = self
            .rooms
            .get(&s.channel)
            .map(|r| r.gop.clone())
            .unwrap_or_default();
        for sample in &gop {
            let _ = v.write(&mut s.rtc, sample);
        }
        if v.waiting_for_keyframe() {
            self.keyframe_wanted(id, Instant::now());
        }
        // The burst is sent by the next drive.
        let _ = self
            .sessions
            .get_mut(&id)
            .map(|s| s.rtc.handle_input(Input::Timeout(Instant::now())));
        self.drive(id);
    }

    /// A viewer needs a key frame: ask whoever can make one.
    fn keyframe_wanted(&mut self, viewer: SessionId, now: Instant) {
        let Some(channel) = self.sessions.get(&viewer).map(|s| s.channel.clone()) else {
            return;
        };
        self.feeds
            .shared(&channel)
            .keyframe_wanted
            .store(true, Ordering::Relaxed);
        let publisher = self.rooms.get(&channel).and_then(|r| r.publisher);
        if let Some(pid) = publisher {
            if let Some(p) = self.sessions.get_mut(&pid) {
                if let RoleState::Publisher(publisher) = &mut p.role {
                    publisher.maybe_request_keyframe(&mut p.rtc, true, now);
                }
            }
            self.drive(pid);
        }
    }

    fn remove(&mut self, id: SessionId) {
        let Some(mut s) = self.sessions.remove(&id) else {
            return;
        };
        let role = s.role();
        let reason = s.end_reason.unwrap_or("ice_timeout");
        self.demux.remove(&s.ufrag, id);
        if let Some(room) = self.rooms.get_mut(&s.channel) {
            room.viewers.retain(|v| *v != id);
            if room.publisher == Some(id) {
                room.publisher = None;
            }
        }
        match &mut s.role {
            RoleState::Viewer(_) => {
                self.feeds
                    .shared(&s.channel)
                    .viewers
                    .fetch_sub(1, Ordering::Relaxed);
                self.metrics
                    .channel_viewers
                    .with_label_values(&[&s.channel])
                    .dec();
            }
            RoleState::Publisher(p) => p.end(),
        }
        self.metrics
            .sessions
            .with_label_values(&[role.label()])
            .dec();
        self.metrics
            .ended
            .with_label_values(&[role.label(), reason])
            .inc();
        tracing::info!(session = %id, channel = %s.channel, role = role.label(), reason, "WebRTC session ended");
    }
}
