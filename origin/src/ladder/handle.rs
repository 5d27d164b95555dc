//! The ingest side of a live ladder: hands the source video to the ladder thread
//! without ever waiting for it.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use packager::media::{Frame, MediaKind, Track, TrackId};
use prometheus::IntCounter;

use super::worker::{self, Input};
use super::{Ladders, QUEUE_FRAMES};
use crate::channels::Channel;

/// One publish session's ladder thread, as ingest sees it. Dropping it closes the
/// queue; the thread then finishes on its own (ingest does not wait for it).
pub struct LadderHandle {
    tx: SyncSender<Input>,
    /// The source video track the ladder encodes: the first one announced.
    source: Option<TrackId>,
    /// A frame was dropped: drop until the next key frame (the decoder needs one).
    resync: bool,
    /// A track announcement that found the queue full, sent before the next frame.
    pending_track: Option<Track>,
    queue_full: IntCounter,
}

impl LadderHandle {
    /// Starts the ladder thread of `session` on `channel`. `parts_produced` counts
    /// the ladder's parts with the channel's.
    pub fn start(
        ladders: &Ladders,
        channel: Arc<Channel>,
        session: u64,
        parts_produced: IntCounter,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_FRAMES);
        let queue_full = ladders
            .metrics
            .input_dropped
            .with_label_values(&[&channel.name, "queue_full"]);
        let name = format!("ladder-{}", channel.name);
        let ladders = ladders.clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || worker::run(rx, ladders, channel, session, parts_produced))?;
        Ok(Self {
            tx,
            source: None,
            resync: false,
            pending_track: None,
            queue_full,
        })
    }

    /// A track was announced by the publisher; the first video track is the
    /// ladder's source, and its re-announcements (new SPS, new size) reach it too.
    pub fn track(&mut self, track: &Track) {
        if track.kind() != MediaKind::Video || *self.source.get_or_insert(track.id) != track.id {
            return;
        }
        self.pending_track = Some(track.clone());
        self.send_pending_track();
    }

    /// Sends the pending track announcement; whether the queue took it.
    fn send_pending_track(&mut self) -> bool {
        let Some(track) = self.pending_track.take() else {
            return true;
        };
        match self.tx.try_send(Input::Track(track)) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => true,
            Err(TrySendError::Full(Input::Track(track))) => {
                self.pending_track = Some(track);
                // Frames of the new configuration need it first, from a key frame.
                self.resync = true;
                false
            }
            Err(TrySendError::Full(_)) => false,
        }
    }

    /// A frame arrived from the publisher.
    pub fn frame(&mut self, frame: &Frame) {
        if frame.kind != MediaKind::Video || self.source != Some(frame.track) {
            return;
        }
        if !self.send_pending_track() || (self.resync && !frame.keyframe) {
            self.queue_full.inc();
            return;
        }
        match self
            .tx
            .try_send(Input::Frame(frame.clone(), Instant::now()))
        {
            Ok(()) => self.resync = false,
            Err(TrySendError::Full(_)) => {
                self.queue_full.inc();
                self.resync = true;
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}
