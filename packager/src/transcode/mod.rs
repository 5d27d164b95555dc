//! FFmpeg through ffmpeg-next (issue 7), behind the `transcode` cargo feature that
//! `ferrocast-origin` enables; the edge never links FFmpeg.
//!
//! | file | concept |
//! |---|---|
//! | [`probe`](mod@probe) | libavformat's view of a file: duration and the streams we can use |
//! | [`thumbnails`](mod@thumbnails) | poster, thumbnail sprite and its WebVTT index for a VOD asset |
//! | [`spec`] | what a ladder is asked for, and the renditions it yields for a source |
//! | [`video_ladder`] | decoded frames in, every rendition's H.264 out, key frames aligned |
//! | `rendition` | one rendition: swscale + libx264 |
//! | `scale_worker` | a rendition's swscale pass on its own thread |
//! | `h264_output` | x264's Annex B packets as `avcC` + length-prefixed samples |
//! | [`h264_input`] | the reverse, for decoding ingest's frames: Annex B with parameter sets on key frames |
//! | [`audio_encoder`] | decoded audio in, one shared AAC-LC track out |
//! | [`file`](mod@file) | a whole file: demux, decode once, ladder, progress, cancel |
//! | [`sink`] | where tracks and frames go |
//! | [`live_ladder`] | the live ABR ladder: ingest's frames in, key frames at the source's, shedding when late |
//! | [`live_ladder_input`] | the live ladder's decoder: packager frames as in-band packets |
//! | [`live_ladder_pace`] | the live ladder's real-time factor and shedding decisions |
//! | [`audio_transcoder`] | realtime audio: AAC ↔ Opus, frame by frame (WebRTC, WHIP) |
//! | [`realtime_video`] | realtime H.264 without B-frames, key frames on demand (WebRTC) |
//! | [`error`] | why a transcode failed |
//!
//! FFmpeg is initialised once per process ([`init`]); every call here is blocking
//! and belongs on a dedicated thread, never on an async worker.

pub mod probe;
pub mod thumbnails;

pub mod audio_encoder;
pub mod error;
pub mod file;
pub mod h264_input;
mod h264_output;
mod rendition;
mod scale_worker;
pub mod sink;
pub mod spec;
pub mod video_ladder;

// Live ABR ladder (issue 7, H2).
pub mod live_ladder;
pub mod live_ladder_input;
pub mod live_ladder_pace;
#[cfg(test)]
mod live_ladder_tests;

// Realtime transcoders for WebRTC delivery (issue 8).
pub mod audio_transcoder;
#[cfg(test)]
mod realtime_tests;
pub mod realtime_video;

#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod ladder_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod vod_tests;

use std::sync::Once;

pub use audio_encoder::AudioEncoder;
pub use audio_transcoder::{AudioTarget, AudioTranscoder};
pub use error::TranscodeError;
pub use file::{transcode_file, FileSummary, Progress};
pub use h264_input::annex_b_access_unit;
pub use probe::{probe, MediaInfo, ProbeError, StreamInfo, StreamKind};
pub use realtime_video::{reorders, EncodedVideo, H264Profile, NoBFramesEncoder, NoBFramesOptions};
pub use rendition::OUTPUT_PIXEL_FORMAT;
pub use sink::{LadderSink, SinkError};
pub use spec::{plan_renditions, LadderSpec, PlannedRendition, RenditionSpec};
pub use video_ladder::{KeyframeClock, RenditionStatus, VideoLadder, VideoSource};

/// Registers FFmpeg's formats and codecs and quiets its logging (once).
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Only fails on FFmpeg builds without network/registration support, which
        // changes nothing for local files.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    });
}
