//! TEMPORARY (not committed): adapters over packager::transcode, replaced when the
//! realtime transcoders land.

use packager::media::{Frame, Track};

use super::feed_worker::FeedSettings;

/// AAC (or any audio) to Opus.
pub struct AudioToOpus;

impl AudioToOpus {
    pub fn new(_source: &Track, _bitrate: u32) -> Result<Self, String> {
        Err("AAC to Opus is not available yet".into())
    }

    pub fn push(
        &mut self,
        _frame: &Frame,
        _out: &mut dyn FnMut(i64, u32, Vec<u8>),
    ) -> Result<(), String> {
        Ok(())
    }
}

/// H.264 with B-frames to H.264 without.
pub struct VideoWithoutBframes;

impl VideoWithoutBframes {
    pub fn new(_source: &Track, _settings: &FeedSettings) -> Result<Self, String> {
        Err("re-encoding is not available yet".into())
    }

    pub fn request_keyframe(&mut self) {}

    pub fn push(
        &mut self,
        _frame: &Frame,
        _out: &mut dyn FnMut((i64, u32, bool, Vec<u8>)),
    ) -> Result<(), String> {
        Ok(())
    }
}
