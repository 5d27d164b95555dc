//! Channels and their live state: who publishes, the packager, and the notifier that
//! wakes blocked requests.
//!
//! A channel moves through `Idle → Live → Grace → (Live again | Ended)`. While in
//! `Grace` the playlists stay up; a publisher with the same key continues them after
//! a discontinuity. After the grace period the playlists end (`EXT-X-ENDLIST`); a
//! later publisher starts a fresh stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use packager::live::{LiveConfig, LiveStream};
use tokio::sync::watch;

use crate::config::PackagingConfig;
use crate::rate_meter::RateMeter;

/// Who is publishing to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublisherState {
    /// Never published since start, or the last stream ended and was replaced.
    Idle,
    /// A publisher is connected; the number identifies its session.
    Live(u64),
    /// The publisher of that session dropped; waiting for it to come back.
    Grace(u64),
    /// The stream ended (grace expired); playlists carry EXT-X-ENDLIST.
    Ended,
}

/// Mutable state of one channel, behind [`Channel::lock`].
#[derive(Debug)]
pub struct ChannelState {
    /// The packager of the current (or last) stream; `None` before the first publish.
    pub stream: Option<LiveStream>,
    /// Publisher presence.
    pub publisher: PublisherState,
    next_session: u64,
}

/// One channel.
#[derive(Debug)]
pub struct Channel {
    /// URL name.
    pub name: String,
    /// Playback needs a verified token (the catalog's `playback = token`), mirrored
    /// here so delivery does not ask the database per request.
    token_required: AtomicBool,
    /// The publish session an operator kicked (0: none).
    kicked_session: AtomicU64,
    /// Ingest bytes per second, for the API.
    ingest_rate: Mutex<RateMeter>,
    live_config: LiveConfig,
    state: Mutex<ChannelState>,
    changed: watch::Sender<u64>,
}

impl Channel {
    fn new(name: &str, live_config: LiveConfig) -> Self {
        Self {
            name: name.to_owned(),
            token_required: AtomicBool::new(false),
            kicked_session: AtomicU64::new(0),
            ingest_rate: Mutex::default(),
            live_config,
            state: Mutex::new(ChannelState {
                stream: None,
                publisher: PublisherState::Idle,
                next_session: 1,
            }),
            changed: watch::channel(0).0,
        }
    }

    /// Whether playback needs a verified token.
    pub fn token_required(&self) -> bool {
        self.token_required.load(Ordering::Relaxed)
    }

    /// Mirrors the catalog's playback rule.
    pub fn set_token_required(&self, required: bool) {
        self.token_required.store(required, Ordering::Relaxed);
    }

    /// Asks the live publisher to be disconnected; returns its session, or `None`
    /// when nobody is publishing.
    pub fn kick(&self) -> Option<u64> {
        let PublisherState::Live(session) = self.lock().publisher else {
            return None;
        };
        self.kicked_session.store(session, Ordering::Relaxed);
        Some(session)
    }

    /// `bytes` of media arrived from the publisher at `now_ms`.
    pub fn count_ingest(&self, bytes: u64, now_ms: u64) {
        self.ingest_rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(bytes, now_ms);
    }

    /// The publisher's bitrate over the last few seconds.
    pub fn ingest_bits_per_second(&self, now_ms: u64) -> u64 {
        self.ingest_rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .bits_per_second(now_ms)
    }

    /// Whether `session` was kicked.
    pub fn is_kicked(&self, session: u64) -> bool {
        self.kicked_session.load(Ordering::Relaxed) == session
    }

    /// Locks the channel state. Hold it briefly: ingest writes under it.
    pub fn lock(&self) -> MutexGuard<'_, ChannelState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A receiver that sees a new value whenever the stream changed (new part,
    /// segment, end).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Wakes every waiter.
    pub fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Claims the channel for a new publisher. Returns the session number, or `None`
    /// when somebody is live already.
    pub fn begin_publish(&self) -> Option<u64> {
        let mut state = self.lock();
        if let PublisherState::Live(_) = state.publisher {
            return None;
        }
        let fresh = matches!(
            state.publisher,
            PublisherState::Idle | PublisherState::Ended
        );
        if fresh || state.stream.is_none() {
            state.stream = Some(LiveStream::new(self.live_config.clone()));
        }
        let session = state.next_session;
        state.next_session += 1;
        state.publisher = PublisherState::Live(session);
        Some(session)
    }

    /// The publisher of `session` dropped: flush and enter the grace period.
    pub fn publisher_gone(&self, session: u64, now_ms: u64) {
        {
            let mut state = self.lock();
            if state.publisher != PublisherState::Live(session) {
                return;
            }
            if let Some(stream) = state.stream.as_mut() {
                stream.handle_publisher_gone(now_ms);
            }
            state.publisher = PublisherState::Grace(session);
        }
        self.notify();
    }

    /// The grace period of `session` is over: end the stream unless someone came back.
    /// Returns whether the stream ended.
    pub fn grace_expired(&self, session: u64, now_ms: u64) -> bool {
        {
            let mut state = self.lock();
            if state.publisher != PublisherState::Grace(session) {
                return false;
            }
            if let Some(stream) = state.stream.as_mut() {
                stream.handle_end(now_ms);
            }
            state.publisher = PublisherState::Ended;
        }
        self.notify();
        true
    }
}

/// The live state of every channel that has been published to, by name.
///
/// Which channels exist and which key opens which is the catalog's business
/// ([`crate::catalog`]); an entry appears here the first time a publisher is let in.
#[derive(Debug)]
pub struct Channels {
    live_config: LiveConfig,
    by_name: RwLock<HashMap<String, Arc<Channel>>>,
}

impl Channels {
    /// An empty registry whose channels are packaged with `packaging`.
    pub fn new(packaging: &PackagingConfig) -> Self {
        Self {
            live_config: live_config(packaging),
            by_name: RwLock::default(),
        }
    }

    /// A channel by URL name.
    pub fn get(&self, name: &str) -> Option<Arc<Channel>> {
        self.by_name
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The channel `name`, created (idle) if it has no live state yet.
    pub fn ensure(&self, name: &str) -> Arc<Channel> {
        if let Some(channel) = self.get(name) {
            return channel;
        }
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Channel::new(name, self.live_config.clone())))
            .clone()
    }

    /// Every channel with live state.
    pub fn all(&self) -> Vec<Arc<Channel>> {
        self.by_name
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// `[packaging]` in the packager's units.
pub fn live_config(p: &PackagingConfig) -> LiveConfig {
    LiveConfig {
        segment_target_ms: (p.segment_target_s * 1000.0).round() as u32,
        part_target_ms: (p.part_target_s * 1000.0).round() as u32,
        window_ms: (p.window_s * 1000.0).round() as u32,
    }
}
