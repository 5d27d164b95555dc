//! The ingest side of WebRTC: every publish session gets a [`RealtimeTap`] that
//! hands its tracks and frames to a feed thread ([`super::feed_worker`]) without
//! ever waiting. The thread turns them into [`super::sample::RtcSample`]s
//! (Annex B video, Opus audio; transcoding where needed) for the media loop.
//!
//! [`Feeds`] holds what the media loop and the feed threads share per channel:
//! how many viewers there are (transcoding runs only while someone watches) and
//! whether a viewer asked for a key frame.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use packager::media::{Frame, Track};
use prometheus::IntCounter;
use tokio::sync::mpsc;

use super::feed_worker::{self, FeedSettings, TapEvent};
use super::loop_input::LoopInput;

/// Frames queued between ingest and a feed thread (about 4 s of 30 fps video
/// with audio).
const TAP_QUEUE: usize = 512;

/// What the media loop and feed threads share about one channel.
#[derive(Debug, Default)]
pub struct ChannelShared {
    /// Connected WHEP viewers (the loop counts them).
    pub viewers: AtomicUsize,
    /// A viewer asked for a key frame (PLI/FIR) that the feed can make (it
    /// re-encodes); the feed thread clears it.
    pub keyframe_wanted: AtomicBool,
}

impl ChannelShared {
    /// Whether anybody watches over WebRTC.
    pub fn watched(&self) -> bool {
        self.viewers.load(Ordering::Relaxed) > 0
    }
}

/// Every channel's [`ChannelShared`], plus what feed threads need to start.
#[derive(Clone)]
pub struct Feeds {
    shared: Arc<Mutex<HashMap<String, Arc<ChannelShared>>>>,
    to_loop: mpsc::Sender<LoopInput>,
    settings: Arc<FeedSettings>,
    queue_full: IntCounter,
}

impl Feeds {
    /// Feeds sending to the media loop's queue.
    pub fn new(
        to_loop: mpsc::Sender<LoopInput>,
        settings: FeedSettings,
        queue_full: IntCounter,
    ) -> Self {
        Self {
            shared: Arc::default(),
            to_loop,
            settings: Arc::new(settings),
            queue_full,
        }
    }

    /// The shared state of `channel` (created on first use; a handful of bytes per
    /// channel ever seen).
    pub fn shared(&self, channel: &str) -> Arc<ChannelShared> {
        let mut map = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(channel.to_owned()).or_default().clone()
    }

    /// Starts the feed thread of one publish session on `channel`.
    pub fn tap(&self, channel: &str) -> std::io::Result<RealtimeTap> {
        let (tx, rx) = sync_channel(TAP_QUEUE);
        let (channel_name, shared) = (Arc::from(channel), self.shared(channel));
        let (to_loop, settings) = (self.to_loop.clone(), self.settings.clone());
        std::thread::Builder::new()
            .name(format!("webrtc-feed-{channel}"))
            // Built on its thread: FFmpeg contexts never move between threads.
            .spawn(move || {
                feed_worker::FeedWorker::new(channel_name, shared, to_loop, settings).run(rx)
            })?;
        Ok(RealtimeTap {
            tx,
            queue_full: self.queue_full.clone(),
            pending_track: None,
        })
    }
}

/// One publish session's feed, as ingest sees it. Dropping it ends the feed thread.
pub struct RealtimeTap {
    tx: SyncSender<TapEvent>,
    queue_full: IntCounter,
    /// A track announcement that found the queue full, sent before the next frame.
    pending_track: Option<Track>,
}

impl RealtimeTap {
    /// A track was announced or changed.
    pub fn track(&mut self, track: &Track) {
        if let Err(TrySendError::Full(TapEvent::Track(t))) =
            self.tx.try_send(TapEvent::Track(track.clone()))
        {
            self.pending_track = Some(t);
        }
    }

    /// One frame; dropped (and counted) when the feed thread is behind.
    pub fn frame(&mut self, frame: &Frame) {
        if let Some(track) = self.pending_track.take() {
            if let Err(TrySendError::Full(TapEvent::Track(t))) =
                self.tx.try_send(TapEvent::Track(track))
            {
                self.pending_track = Some(t);
                self.queue_full.inc();
                return;
            }
        }
        if let Err(TrySendError::Full(_)) = self.tx.try_send(TapEvent::Frame(frame.clone())) {
            self.queue_full.inc();
        }
    }
}
