//! Frames of several tracks back in decode-time order.
//!
//! A transcoder emits each rendition's frames as its encoder produces them, so one
//! track can run seconds ahead of another (x264's lookahead holds frames back, the
//! audio encoder does not). The live segmenter tolerates followers ahead of the
//! leader by only [`FOLLOWER_MAX_LAG_TARGETS`](crate::live::FOLLOWER_MAX_LAG_TARGETS)
//! segment targets, so VOD packaging merges the tracks first: a frame is released
//! once every track that has not finished has a frame at least as late queued, or
//! when more than [`MAX_BUFFERED_FRAMES`] wait (a track that stopped producing must
//! not hold the rest in memory).

use std::collections::VecDeque;

use crate::media::{Frame, MediaKind, Track, TrackId};

/// Frames held at most before the earliest is released regardless.
pub const MAX_BUFFERED_FRAMES: usize = 4096;

#[derive(Debug)]
struct Queue {
    kind: MediaKind,
    id: TrackId,
    timescale: u32,
    frames: VecDeque<Frame>,
}

impl Queue {
    /// Decode time of the front frame in microseconds.
    fn front_us(&self) -> Option<i128> {
        self.frames
            .front()
            .map(|f| i128::from(f.dts) * 1_000_000 / i128::from(self.timescale.max(1)))
    }
}

/// The merge buffer.
#[derive(Debug, Default)]
pub struct Interleave {
    queues: Vec<Queue>,
    buffered: usize,
}

impl Interleave {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or updates) a track; frames of unknown tracks pass straight through.
    pub fn handle_track(&mut self, track: &Track) {
        let kind = track.kind();
        match self
            .queues
            .iter_mut()
            .find(|q| q.kind == kind && q.id == track.id)
        {
            Some(q) => q.timescale = track.timescale,
            None => self.queues.push(Queue {
                kind,
                id: track.id,
                timescale: track.timescale,
                frames: VecDeque::new(),
            }),
        }
    }

    /// Queues `frame`; returns the frames now in order.
    pub fn handle_frame(&mut self, frame: Frame) -> Vec<Frame> {
        let Some(q) = self
            .queues
            .iter_mut()
            .find(|q| q.kind == frame.kind && q.id == frame.track)
        else {
            return vec![frame];
        };
        q.frames.push_back(frame);
        self.buffered += 1;
        self.drain(false)
    }

    /// Every frame still held, in order (the end of input).
    pub fn finish(&mut self) -> Vec<Frame> {
        self.drain(true)
    }

    fn drain(&mut self, all: bool) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let waiting_track = self.queues.iter().any(|q| q.frames.is_empty());
            if !all && waiting_track && self.buffered <= MAX_BUFFERED_FRAMES {
                return out;
            }
            let earliest = self
                .queues
                .iter_mut()
                .filter_map(|q| q.front_us().map(|t| (t, q)))
                .min_by_key(|(t, _)| *t);
            let Some((_, q)) = earliest else {
                return out;
            };
            if let Some(f) = q.frames.pop_front() {
                self.buffered -= 1;
                out.push(f);
            }
        }
    }
}
