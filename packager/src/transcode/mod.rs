//! FFmpeg through ffmpeg-next (issue 7), behind the `transcode` cargo feature that
//! `ferrocast-origin` enables; the edge never links FFmpeg.
//!
//! | file | concept |
//! |---|---|
//! | [`probe`] | libavformat's view of a file: duration and the streams we can use |
//! | [`thumbnails`] | poster, thumbnail sprite and its WebVTT index for a VOD asset |
//!
//! FFmpeg is initialised once per process ([`init`]); every call here is blocking
//! and belongs on a dedicated thread, never on an async worker.

pub mod probe;
pub mod thumbnails;

use std::sync::Once;

pub use probe::{probe, MediaInfo, ProbeError, StreamInfo, StreamKind};

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
