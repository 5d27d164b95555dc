//! Where the tiles go and when they apply: the tile interval (widened so a long
//! video fits `max_tiles`), the sprite grid, and the WebVTT index that players read
//! for scrubbing previews.
//!
//! The index follows the W3C WebVTT format (§4.1 file structure: the `WEBVTT`
//! signature, a blank line, then cues; §4.2 cue timings `hh:mm:ss.ttt -->
//! hh:mm:ss.ttt`), and each cue's payload is the sprite's URI with a W3C Media
//! Fragments spatial dimension (§4.3: `#xywh=x,y,w,h`, pixels) — the convention
//! hls.js-based players, video.js' thumbnails plugins, Shaka Player and JW Player read.

use std::fmt::Write as _;

/// The tile grid for one video.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TilePlan {
    /// Seconds between tiles (the spec's interval, or wider for long videos).
    pub(super) interval_s: f64,
    /// How many tiles (at least one).
    pub(super) count: u32,
    /// Tiles per sprite row.
    pub(super) columns: u32,
    /// Sprite rows.
    pub(super) rows: u32,
    /// The video's duration; the last cue ends there.
    pub(super) duration_s: f64,
}

impl TilePlan {
    /// One tile per `interval_s` over `duration_s`; when that would need more than
    /// `max_tiles`, the interval grows to the next whole second that fits.
    pub(super) fn new(duration_s: f64, interval_s: f64, columns: u32, max_tiles: u32) -> Self {
        let duration_s = duration_s.max(0.0);
        let max_tiles = max_tiles.max(1);
        let mut interval_s = interval_s;
        if tiles_for(duration_s, interval_s) > max_tiles {
            interval_s = (duration_s / f64::from(max_tiles)).ceil().max(interval_s);
        }
        let count = tiles_for(duration_s, interval_s).min(max_tiles);
        let columns = columns.clamp(1, count);
        Self {
            interval_s,
            count,
            columns,
            rows: count.div_ceil(columns),
            duration_s,
        }
    }

    /// The media time (seconds from the first frame) tile `index` shows.
    pub(super) fn time_s(&self, index: u32) -> f64 {
        f64::from(index) * self.interval_s
    }

    /// Tile `index`'s column and row in the sprite.
    pub(super) fn cell(&self, index: u32) -> (u32, u32) {
        (index % self.columns, index / self.columns)
    }

    /// The WebVTT index: one cue per tile, from its time to the next tile's (the
    /// last one to the end), pointing at `{sprite_uri}#xywh=x,y,w,h`.
    pub(super) fn vtt(&self, sprite_uri: &str, tile_width: u32, tile_height: u32) -> String {
        let mut out = String::from("WEBVTT\n");
        for index in 0..self.count {
            let start_ms = millis(self.time_s(index));
            let end_ms = if index + 1 < self.count {
                millis(self.time_s(index + 1))
            } else {
                millis(self.duration_s).max(start_ms + 1)
            };
            let (column, row) = self.cell(index);
            let _ = write!(
                out,
                "\n{} --> {}\n{sprite_uri}#xywh={},{},{tile_width},{tile_height}\n",
                timestamp(start_ms),
                timestamp(end_ms),
                column * tile_width,
                row * tile_height,
            );
        }
        out
    }
}

/// Tiles needed to cover `duration_s` at one per `interval_s` (at least one).
fn tiles_for(duration_s: f64, interval_s: f64) -> u32 {
    // A hair under a whole number of intervals (12.0000001 s at 2 s) is no extra tile.
    let tiles = (duration_s / interval_s - 1e-6).ceil();
    if tiles >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        (tiles as u32).max(1)
    }
}

fn millis(seconds: f64) -> u64 {
    (seconds * 1000.0).round().max(0.0) as u64
}

/// WebVTT §4.2 timestamp with hours: `hh:mm:ss.ttt` (hours may exceed two digits).
fn timestamp(ms: u64) -> String {
    let (s, ms) = (ms / 1000, ms % 1000);
    format!("{:02}:{:02}:{:02}.{ms:03}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tile_per_interval_and_a_grid_of_columns() {
        let plan = TilePlan::new(12.0, 2.0, 5, 100);
        assert_eq!((plan.count, plan.columns, plan.rows), (6, 5, 2));
        assert_eq!(plan.interval_s, 2.0);
        assert_eq!(plan.cell(5), (0, 1));
        assert_eq!(plan.time_s(5), 10.0);
        // A partial last interval still gets its tile.
        assert_eq!(TilePlan::new(12.5, 2.0, 5, 100).count, 7);
        // Fewer tiles than columns: the sprite is as wide as the tiles.
        let short = TilePlan::new(3.0, 5.0, 10, 100);
        assert_eq!((short.count, short.columns, short.rows), (1, 1, 1));
    }

    #[test]
    fn a_long_video_widens_the_interval_to_fit_max_tiles() {
        let plan = TilePlan::new(7200.0, 5.0, 10, 100);
        assert_eq!(plan.interval_s, 72.0);
        assert_eq!((plan.count, plan.rows), (100, 10));
        let odd = TilePlan::new(1001.0, 1.0, 10, 100);
        assert_eq!(odd.interval_s, 11.0);
        assert_eq!(odd.count, 91);
    }

    #[test]
    fn the_index_is_webvtt_with_contiguous_cues_and_media_fragments() {
        let vtt = TilePlan::new(12.5, 5.0, 2, 100).vtt("sprite.jpg", 160, 90);
        assert_eq!(
            vtt,
            "WEBVTT\n\
             \n00:00:00.000 --> 00:00:05.000\nsprite.jpg#xywh=0,0,160,90\n\
             \n00:00:05.000 --> 00:00:10.000\nsprite.jpg#xywh=160,0,160,90\n\
             \n00:00:10.000 --> 00:00:12.500\nsprite.jpg#xywh=0,90,160,90\n"
        );
    }

    #[test]
    fn timestamps_carry_hours() {
        assert_eq!(timestamp(0), "00:00:00.000");
        assert_eq!(timestamp(3_723_004), "01:02:03.004");
        assert_eq!(timestamp(360_000_000), "100:00:00.000");
    }
}
