//! The live ABR ladder of channels with `ladder = true` (issue 7).
//!
//! Per publish session, a dedicated std thread (never a tokio worker: FFmpeg
//! blocks) runs a [`packager::transcode::live_ladder::LiveLadder`] on the source's
//! first video track:
//!
//! ```text
//! ingest ─ ChannelSink ─┬─ LiveStream (source renditions, under the channel lock)
//!                       └─ try_send ─▶ [bounded queue] ─▶ ladder thread
//!                                                          decode → scale → x264
//!                                                          └─▶ LiveStream (lock per frame) + notify
//! ```
//!
//! - [`handle`]: the ingest side. Sending never blocks ingest: a full queue drops
//!   the frame (counted) and the following ones up to the next key frame, which
//!   the decoder needs to resynchronise.
//! - [`worker`]: the thread, and its [`packager::transcode::LadderSink`] that
//!   announces each rendition to the channel's `LiveStream` as video track
//!   `100 + i` (`i`: its place in `[ladder] renditions`; source multitrack ids are
//!   small) named after the rendition, so its URL is `/live/{channel}/{name}/…`.
//!   The source stays the first video track, the segmentation leader; the ladder's
//!   key frames are forced at the source's, so its segments cut at the same times.
//! - [`metrics`] has the `ferrocast_ladder_*` metrics.
//!
//! Lifecycle: the thread starts with the publish session and stops when the
//! session ends (its queue closes). A publisher that reconnects within the grace
//! period gets a new thread; its renditions continue the same playlists (same
//! track ids and names) after the discontinuity. Output that arrives after its
//! session ended is dropped.

pub mod handle;
pub mod metrics;
pub mod worker;

use std::time::Duration;

use packager::transcode::{LadderSpec, RenditionSpec};

pub use handle::LadderHandle;
pub use metrics::LadderMetrics;

use crate::config::LadderConfig;

/// First track id of ladder renditions.
pub const FIRST_TRACK_ID: u32 = 100;

/// Source frames the queue to a ladder thread holds (about 8 s at 30 fps): longer
/// than the shed threshold, so the ladder sheds before ingest has to drop.
pub const QUEUE_FRAMES: usize = 256;

/// What every live ladder of this origin shares.
#[derive(Clone)]
pub struct Ladders {
    /// The renditions and encoder settings.
    pub spec: LadderSpec,
    /// `[ladder] max_realtime_lag_s`.
    pub max_lag: Duration,
    /// `ferrocast_ladder_*`.
    pub metrics: LadderMetrics,
}

impl Ladders {
    /// The ladders `[ladder]` describes.
    pub fn new(config: &LadderConfig, metrics: LadderMetrics) -> Self {
        Self {
            spec: ladder_spec(config),
            max_lag: Duration::from_secs_f64(config.max_realtime_lag_s),
            metrics,
        }
    }
}

/// `[ladder]` as the transcoder's [`LadderSpec`] (VOD jobs use it too).
pub fn ladder_spec(config: &LadderConfig) -> LadderSpec {
    LadderSpec {
        renditions: config
            .renditions
            .iter()
            .map(|r| RenditionSpec {
                name: r.name.clone(),
                height: r.height,
                video_bitrate: r.bitrate_kbps.saturating_mul(1000),
            })
            .collect(),
        keyframe_interval_s: config.keyframe_interval_s,
        preset: config.preset.clone(),
        audio_bitrate: config.audio_bitrate_kbps.saturating_mul(1000),
        threads: config.threads,
    }
}
