//! [`VodPackager`]: a transcoder's tracks and frames in, VOD files out.
//!
//! A [`LiveStream`] set up for VOD (one part per segment, a window of one segment:
//! the recorder takes every segment as soon as it is complete, so nothing needs to
//! stay in memory) behind an [`Interleave`] buffer, followed by a [`VodRecorder`].
//! The stream's clock input is the media time, so nothing here reads a clock.
//!
//! The stream's first rendition leads the segment cuts (see `live::alignment`), and
//! it must be video when there is video. But a transcoder announces its audio
//! first (x264's output, and so its parameter sets, comes a lookahead later). So
//! when the caller expects video, frames and track announcements wait until a
//! video track is announced (or [`MAX_BUFFERED_FRAMES`] frames wait), then reach
//! the stream video first.

use super::interleave::{Interleave, MAX_BUFFERED_FRAMES};
use super::recorder::{VodRecorder, VodSummary};
use super::VodFile;
use crate::live::{LiveConfig, LiveStream};
use crate::media::{Frame, MediaKind, Track};

/// Packages one asset; see the module docs.
#[derive(Debug)]
pub struct VodPackager {
    stream: LiveStream,
    interleave: Interleave,
    recorder: VodRecorder,
    /// Tracks not yet given to the stream (until the first frame is released).
    pending_tracks: Option<Vec<Track>>,
    /// Frames held until a video track is announced.
    held: Option<Vec<Frame>>,
}

impl VodPackager {
    /// Segments are cut at the first key frame at or after `segment_target_ms`;
    /// `expect_video`: the input has video (see the module docs).
    pub fn new(segment_target_ms: u32, expect_video: bool) -> Self {
        let target = segment_target_ms.max(1000);
        Self {
            stream: LiveStream::new(LiveConfig {
                segment_target_ms: target,
                part_target_ms: target,
                window_ms: target,
            }),
            interleave: Interleave::new(),
            recorder: VodRecorder::new(),
            pending_tracks: Some(Vec::new()),
            held: expect_video.then(Vec::new),
        }
    }

    /// A track is announced (before its first frame); returns files completed by
    /// frames it releases.
    pub fn handle_track(&mut self, track: Track) -> Vec<VodFile> {
        let video = track.kind() == MediaKind::Video;
        self.interleave.handle_track(&track);
        match self.pending_tracks.as_mut() {
            Some(pending) => pending.push(track),
            None => self.stream.handle_track(track, 0),
        }
        if video {
            self.release_held()
        } else {
            Vec::new()
        }
    }

    /// One frame; returns the files completed by it.
    pub fn handle_frame(&mut self, frame: Frame) -> Vec<VodFile> {
        if let Some(held) = self.held.as_mut() {
            held.push(frame);
            if held.len() <= MAX_BUFFERED_FRAMES {
                return Vec::new();
            }
            return self.release_held();
        }
        let ready = self.interleave.handle_frame(frame);
        self.feed(ready)
    }

    /// Stops holding frames and passes the held ones on.
    fn release_held(&mut self) -> Vec<VodFile> {
        let Some(held) = self.held.take() else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for f in held {
            let ready = self.interleave.handle_frame(f);
            files.extend(self.feed(ready));
        }
        files
    }

    /// The end of the input: the last segments, the playlists and the MPD.
    pub fn finish(mut self) -> (Vec<VodFile>, VodSummary) {
        let mut files = self.release_held();
        let rest = self.interleave.finish();
        files.extend(self.feed(rest));
        let end_ms = self.last_ms();
        self.stream.handle_end(end_ms);
        let (more, summary) = self.recorder.finish(&self.stream);
        files.extend(more);
        (files, summary)
    }

    fn feed(&mut self, frames: Vec<Frame>) -> Vec<VodFile> {
        if frames.is_empty() {
            return Vec::new();
        }
        if let Some(mut pending) = self.pending_tracks.take() {
            // Video before audio, then by id: the order renditions sort in.
            pending.sort_by_key(|t| (t.kind() == MediaKind::Audio, t.id));
            for t in pending {
                self.stream.handle_track(t, 0);
            }
        }
        for f in frames {
            let ms = self.media_ms(&f);
            self.stream.handle_frame(f, ms);
        }
        self.recorder.collect(&self.stream)
    }

    /// The frame's decode time in ms: the stream's "arrival clock" for VOD.
    fn media_ms(&self, f: &Frame) -> u64 {
        let timescale = self
            .stream
            .renditions()
            .iter()
            .find(|r| r.track.kind() == f.kind && r.track.id == f.track)
            .map_or(1000, |r| r.track.timescale.max(1));
        (f.dts.max(0) as u64).saturating_mul(1000) / u64::from(timescale)
    }

    fn last_ms(&self) -> u64 {
        self.stream
            .renditions()
            .iter()
            .map(|r| r.ticks_muxed * 1000 / u64::from(r.timescale.max(1)))
            .max()
            .unwrap_or(0)
    }
}
