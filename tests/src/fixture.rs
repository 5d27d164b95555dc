//! # The usual set-up: one origin, one ffmpeg publisher on its first channel
//!
//! Most test files need exactly this, and then several checks against it.

use std::time::Duration;

use anyhow::Result;

use crate::live;
use crate::m3u8::MediaPlaylist;
use crate::origin::{Origin, OriginConfig};
use crate::publisher::{PublishOptions, Publisher};

/// How long a fresh stream may take to produce its first segments: ffmpeg start,
/// the RTMP handshake and commands, then the segments themselves.
pub const FIRST_SEGMENTS_TIMEOUT: Duration = Duration::from_secs(40);

/// An origin with ffmpeg publishing to its first channel. Fields drop in order:
/// the publisher first, then the origin.
pub struct LiveFixture {
    /// The publisher (ffmpeg).
    pub publisher: Publisher,
    /// The origin.
    pub origin: Origin,
    /// Channel name.
    pub channel: String,
    /// Its stream key.
    pub key: String,
}

impl LiveFixture {
    /// Starts the origin with `cfg` and ffmpeg with `opts` on the first channel.
    pub fn start(cfg: OriginConfig, opts: &PublishOptions) -> Result<Self> {
        let origin = Origin::start(cfg)?;
        let (channel, key) = origin.config.channels[0].clone();
        let publisher =
            Publisher::start(&origin.rtmp_url(&key), opts, origin.dir(), "ffmpeg-main")?;
        Ok(Self {
            publisher,
            origin,
            channel,
            key,
        })
    }

    /// URL of `rest` under `/live/{channel}/`.
    pub fn url(&self, rest: &str) -> String {
        self.origin.live_url(&self.channel, rest)
    }

    /// URL of a rendition's media playlist.
    pub fn media_url(&self, rendition: &str) -> String {
        self.url(&format!("{rendition}/index.m3u8"))
    }

    /// Waits until `rendition` lists `n` complete segments. On a time-out the error
    /// carries ffmpeg's stderr too, since a publisher that failed is the usual cause.
    pub fn wait_segments(&mut self, rendition: &str, n: usize) -> Result<MediaPlaylist> {
        live::wait_segments(&self.media_url(rendition), n, FIRST_SEGMENTS_TIMEOUT).map_err(|e| {
            let running = self.publisher.is_running();
            e.context(format!(
                "ffmpeg running: {running}; ffmpeg stderr: {}",
                self.publisher.stderr().trim()
            ))
        })
    }
}
