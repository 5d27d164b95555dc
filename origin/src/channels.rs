//! Channels and their live state: who publishes, the packager, and the notifier that
//! wakes blocked requests.
//!
//! A channel moves through `Idle → Live → Grace → (Live again | Ended)`. While in
//! `Grace` the playlists stay up; a publisher with the same key continues them after
//! a discontinuity. After the grace period the playlists end (`EXT-X-ENDLIST`); a
//! later publisher starts a fresh stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use packager::live::{LiveConfig, LiveStream};
use tokio::sync::watch;

use crate::config::{ChannelConfig, PackagingConfig};

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
    stream_key: String,
    live_config: LiveConfig,
    state: Mutex<ChannelState>,
    changed: watch::Sender<u64>,
}

impl Channel {
    fn new(config: &ChannelConfig, live_config: LiveConfig) -> Self {
        Self {
            name: config.name.clone(),
            stream_key: config.stream_key.clone(),
            live_config,
            state: Mutex::new(ChannelState {
                stream: None,
                publisher: PublisherState::Idle,
                next_session: 1,
            }),
            changed: watch::channel(0).0,
        }
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

    fn key_matches(&self, key: &str) -> bool {
        // Constant-time with respect to the key's contents (issue 4 moves keys to the
        // catalog, hashed).
        let a = self.stream_key.as_bytes();
        let b = key.as_bytes();
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// All channels, by name.
#[derive(Debug, Default)]
pub struct Channels {
    by_name: HashMap<String, Arc<Channel>>,
}

impl Channels {
    /// Channels from `[[channels]]`, packaged with `packaging`.
    pub fn from_config(channels: &[ChannelConfig], packaging: &PackagingConfig) -> Self {
        let live = live_config(packaging);
        let by_name = channels
            .iter()
            .map(|c| (c.name.clone(), Arc::new(Channel::new(c, live.clone()))))
            .collect();
        Self { by_name }
    }

    /// A channel by URL name.
    pub fn get(&self, name: &str) -> Option<&Arc<Channel>> {
        self.by_name.get(name)
    }

    /// The channel a stream key names. Every channel's key is compared, so the time
    /// taken does not reveal which channel matched.
    pub fn by_stream_key(&self, key: &str) -> Option<&Arc<Channel>> {
        let mut found = None;
        for channel in self.by_name.values() {
            if channel.key_matches(key) {
                found = Some(channel);
            }
        }
        found
    }

    /// All channels.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Channel>> {
        self.by_name.values()
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
