//! # A clip replayed in a loop by the RTMP load generators
//!
//! `rtmp-load` and `whep-fanout` replay one ffmpeg-made `.flv` clip: the script
//! tag and sequence headers are sent once, then the media tags loop at real time
//! with timestamps shifted by the clip's length. [`LoopClip::load`] splits the
//! file that way and starts the media at the first key frame, so every lap is
//! decodable.

use std::path::Path;

use crate::flv_file::{read_tags, FlvFileError, FlvTag, TAG_SCRIPT, TAG_VIDEO};
use crate::rtmp_client::{ClientError, Publisher};

/// Why a clip cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoopClipError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a readable FLV file.
    #[error(transparent)]
    Flv(#[from] FlvFileError),
    /// No media tag is a key frame.
    #[error("clip has no key frame")]
    NoKeyFrame,
}

/// The clip split into what is sent once and what is replayed.
#[derive(Debug, Clone)]
pub struct LoopClip {
    /// The `onMetaData` script tag, if any.
    pub script: Option<FlvTag>,
    /// The sequence headers (decoder configurations).
    pub headers: Vec<FlvTag>,
    /// Media tags from the first key frame, timestamps from 0.
    pub media: Vec<FlvTag>,
    /// Length of one lap in ms (last timestamp + one video frame).
    pub length_ms: u64,
    /// Video frame duration in ms (33.3 when the clip has fewer than two frames).
    pub frame_ms: f64,
}

impl LoopClip {
    /// Reads and splits an FLV file.
    pub fn load(path: &Path) -> Result<Self, LoopClipError> {
        let data = std::fs::read(path).map_err(|source| LoopClipError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let tags = read_tags(data.into())?;
        let script = tags.iter().find(|t| t.tag_type == TAG_SCRIPT).cloned();
        let headers = tags
            .iter()
            .filter(|t| t.is_sequence_header())
            .cloned()
            .collect();
        let mut media: Vec<FlvTag> = tags
            .into_iter()
            .filter(|t| t.tag_type != TAG_SCRIPT && !t.is_sequence_header())
            .collect();
        let first_key = media
            .iter()
            .position(FlvTag::is_keyframe)
            .ok_or(LoopClipError::NoKeyFrame)?;
        media.drain(..first_key);
        let t0 = media[0].timestamp;
        for t in &mut media {
            t.timestamp -= t0;
        }
        let video: Vec<u32> = media
            .iter()
            .filter(|t| t.tag_type == TAG_VIDEO)
            .map(|t| t.timestamp)
            .collect();
        let frame_ms = match video.as_slice() {
            [first, .., last] if last > first => f64::from(last - first) / (video.len() - 1) as f64,
            _ => 1000.0 / 30.0,
        };
        let last = media.last().map_or(0, |t| t.timestamp);
        let length_ms = u64::from(last) + frame_ms.round().max(1.0) as u64;
        Ok(Self {
            script,
            headers,
            media,
            length_ms,
            frame_ms,
        })
    }

    /// Sends the script tag and the sequence headers (once per connection).
    pub async fn send_start(&self, p: &mut Publisher) -> Result<(), ClientError> {
        if let Some(s) = &self.script {
            p.send_script_tag(&s.body).await?;
        }
        for h in &self.headers {
            send_tag(p, h, 0).await?;
        }
        Ok(())
    }
}

/// Sends one audio or video tag at timestamp `ts` (ms).
pub async fn send_tag(p: &mut Publisher, tag: &FlvTag, ts: u32) -> Result<(), ClientError> {
    if tag.tag_type == TAG_VIDEO {
        p.send_video(ts, tag.body.clone()).await
    } else {
        p.send_audio(ts, tag.body.clone()).await
    }
}
