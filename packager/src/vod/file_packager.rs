//! [`VodPackager`]: a transcoder's tracks and frames in, VOD files out.
//!
//! A [`LiveStream`] set up for VOD (one part per segment, a window of one segment:
//! the recorder takes every segment as soon as it is complete, so nothing needs to
//! stay in memory) behind an [`Interleave`] buffer, followed by a [`VodRecorder`].
//! The stream's clock input is the media time, so nothing here reads a clock.

use super::interleave::Interleave;
use super::recorder::{VodRecorder, VodSummary};
use super::VodFile;
use crate::live::{LiveConfig, LiveStream};
use crate::media::{Frame, Track};

/// Packages one asset; see the module docs.
#[derive(Debug)]
pub struct VodPackager {
    stream: LiveStream,
    interleave: Interleave,
    recorder: VodRecorder,
}

impl VodPackager {
    /// Segments are cut at the first key frame at or after `segment_target_ms`.
    pub fn new(segment_target_ms: u32) -> Self {
        let target = segment_target_ms.max(1000);
        Self {
            stream: LiveStream::new(LiveConfig {
                segment_target_ms: target,
                part_target_ms: target,
                window_ms: target,
            }),
            interleave: Interleave::new(),
            recorder: VodRecorder::new(),
        }
    }

    /// A track is announced (before its first frame).
    pub fn handle_track(&mut self, track: Track) {
        self.interleave.handle_track(&track);
        self.stream.handle_track(track, 0);
    }

    /// One frame; returns the files completed by it.
    pub fn handle_frame(&mut self, frame: Frame) -> Vec<VodFile> {
        let ready = self.interleave.handle_frame(frame);
        self.feed(ready)
    }

    /// The end of the input: the last segments, the playlists and the MPD.
    pub fn finish(mut self) -> (Vec<VodFile>, VodSummary) {
        let rest = self.interleave.finish();
        let mut files = self.feed(rest);
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
