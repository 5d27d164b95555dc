//! Scrubbing thumbnails and a poster for a VOD asset (issue 7): one small picture
//! every `interval_s`, tiled into a single JPEG sprite, indexed by a WebVTT file
//! whose cues point at regions of the sprite (`sprite.jpg#xywh=x,y,w,h`), plus a
//! full-size poster JPEG.
//!
//! | file | concept |
//! |---|---|
//! | [`frames`] | decoded frames at chosen times (seek to the key frame before, or decode forward) |
//! | [`picture`] | scaling, the sprite grid, mean luma, JPEG encoding (`mjpeg`) |
//! | [`plan`] | the tile interval and grid, and the WebVTT index |
//!
//! Blocking and CPU-bound: run it on a dedicated thread. An audio-only file is
//! [`ThumbnailError::NoVideo`]; the caller then simply has no thumbnails.

mod frames;
mod picture;
mod plan;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next::software::scaling;

use frames::FrameReader;
use picture::{display_size, encode_jpeg, even, mean_luma, Scaler, Sprite};
use plan::TilePlan;

/// Default seconds between tiles.
pub const DEFAULT_INTERVAL_S: f64 = 5.0;
/// Default tile width in pixels (the height follows the video's aspect ratio).
pub const DEFAULT_TILE_WIDTH: u32 = 160;
/// Default tiles per sprite row.
pub const DEFAULT_COLUMNS: u32 = 10;
/// Default maximum tiles; longer videos get a wider interval.
pub const DEFAULT_MAX_TILES: u32 = 100;
/// Without `poster_at_s`, the poster is taken at this fraction of the duration
/// (past intros and fades from black).
pub const POSTER_AT_FRACTION: f64 = 0.1;
/// Posters are at most this tall (the video's own size below it).
pub const POSTER_MAX_HEIGHT: u32 = 720;
/// Largest accepted tile width.
pub const MAX_TILE_WIDTH: u32 = 1280;
/// Largest accepted sprite side in pixels (JPEG allows 65 535; this keeps the
/// sprite's raw picture under 100 MB).
pub const MAX_SPRITE_SIDE: u32 = 8_192;
/// Tiles are at most this many times as tall as wide (an absurdly tall video is
/// squeezed rather than given a sprite taller than [`MAX_SPRITE_SIDE`]).
const MAX_TILE_ASPECT: u32 = 4;

/// A poster candidate darker than this mean luma (0–255) is skipped for a later one.
const DARK_MEAN_LUMA: f64 = 32.0;
/// Poster candidates tried before settling for the brightest dark one.
const POSTER_TRIES: u32 = 4;
/// `mjpeg` quantisers (2 best … 31 smallest): the poster is seen large.
const POSTER_QSCALE: i32 = 3;
const SPRITE_QSCALE: i32 = 5;

/// What to make.
#[derive(Debug, Clone, PartialEq)]
pub struct ThumbnailSpec {
    /// Seconds between tiles (widened when the video would need more than `max_tiles`).
    pub interval_s: f64,
    /// Tile width in pixels; the height keeps the display aspect ratio (even).
    pub tile_width: u32,
    /// Tiles per sprite row.
    pub columns: u32,
    /// At most this many tiles (fewer if the sprite would be taller than
    /// [`MAX_SPRITE_SIDE`]).
    pub max_tiles: u32,
    /// Poster time in seconds; `None` = [`POSTER_AT_FRACTION`] of the duration.
    pub poster_at_s: Option<f64>,
}

impl Default for ThumbnailSpec {
    fn default() -> Self {
        Self {
            interval_s: DEFAULT_INTERVAL_S,
            tile_width: DEFAULT_TILE_WIDTH,
            columns: DEFAULT_COLUMNS,
            max_tiles: DEFAULT_MAX_TILES,
            poster_at_s: None,
        }
    }
}

/// The made pictures and their index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnails {
    /// A full-size (at most [`POSTER_MAX_HEIGHT`] tall) JPEG frame.
    pub poster_jpeg: Vec<u8>,
    /// All tiles in one JPEG, `columns` wide, row by row.
    pub sprite_jpeg: Vec<u8>,
    /// The WebVTT index: one cue per tile, payload `{sprite_uri}#xywh=x,y,w,h`.
    pub vtt: String,
}

/// Why there are no thumbnails.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThumbnailError {
    /// libavformat cannot open the file as media.
    #[error("not a media file: {0}")]
    NotMedia(String),
    /// The file has no video stream (audio only, or only cover art).
    #[error("no video stream")]
    NoVideo,
    /// The video stream cannot be decoded or scaled.
    #[error("cannot decode the video: {0}")]
    Decode(String),
    /// Not a single video frame decoded.
    #[error("the video stream has no decodable frame")]
    NoFrames,
    /// The JPEG encoder failed.
    #[error("cannot encode a JPEG: {0}")]
    Encode(String),
    /// The spec asks for something impossible (named field).
    #[error("invalid thumbnail spec: {0}")]
    InvalidSpec(&'static str),
    /// `cancel` was set.
    #[error("cancelled")]
    Cancelled,
}

/// Makes the poster, sprite and WebVTT index of `input`; cue payloads point at
/// `sprite_uri` (as the player resolves it against the VTT's URL, e.g.
/// `sprite.jpg`). Blocking; checks `cancel` between packets.
pub fn thumbnails(
    input: &Path,
    spec: &ThumbnailSpec,
    sprite_uri: &str,
    cancel: &AtomicBool,
) -> Result<Thumbnails, ThumbnailError> {
    validate(spec)?;
    super::init();
    let mut frames = FrameReader::open(input)?;
    let duration_s = frames.duration_s();
    let plan = TilePlan::new(duration_s, spec.interval_s, spec.columns, spec.max_tiles);

    let (_, first) = frames
        .frame_at(0.0, cancel)?
        .ok_or(ThumbnailError::NoFrames)?;
    let (display_width, display_height) = display_size(first);
    let tile_width = spec.tile_width;
    let tile_height = even(f64::from(tile_width) * display_height / display_width)
        .min(tile_width * MAX_TILE_ASPECT);
    // Fewer tiles (a wider interval) rather than a sprite taller than the limit.
    let max_rows = (MAX_SPRITE_SIDE / tile_height).max(1);
    let plan = if plan.rows > max_rows {
        TilePlan::new(
            duration_s,
            spec.interval_s,
            spec.columns,
            max_rows * plan.columns,
        )
    } else {
        plan
    };
    let mut sprite = Sprite::new(tile_width, tile_height, plan.columns, plan.rows);
    let mut scaler = Scaler::new(tile_width, tile_height, scaling::Flags::AREA);
    for index in 0..plan.count {
        let Some((_, frame)) = frames.frame_at(plan.time_s(index), cancel)? else {
            break;
        };
        let tile = scaler.scale(frame)?;
        let (column, row) = plan.cell(index);
        sprite.paste(column, row, &tile);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(ThumbnailError::Cancelled);
    }
    let sprite_jpeg = encode_jpeg(sprite.picture(), SPRITE_QSCALE)?;
    let poster_jpeg = poster(&mut frames, duration_s, spec.poster_at_s, cancel)?;
    Ok(Thumbnails {
        poster_jpeg,
        sprite_jpeg,
        vtt: plan.vtt(sprite_uri, tile_width, tile_height),
    })
}

fn validate(spec: &ThumbnailSpec) -> Result<(), ThumbnailError> {
    if !(spec.interval_s.is_finite() && spec.interval_s > 0.0) {
        return Err(ThumbnailError::InvalidSpec("interval_s"));
    }
    if !(16..=MAX_TILE_WIDTH).contains(&spec.tile_width) || spec.tile_width & 1 != 0 {
        return Err(ThumbnailError::InvalidSpec("tile_width"));
    }
    if spec.columns == 0 || spec.columns.saturating_mul(spec.tile_width) > MAX_SPRITE_SIDE {
        return Err(ThumbnailError::InvalidSpec("columns"));
    }
    if spec.max_tiles == 0 {
        return Err(ThumbnailError::InvalidSpec("max_tiles"));
    }
    if spec
        .poster_at_s
        .is_some_and(|at| !(at.is_finite() && at >= 0.0))
    {
        return Err(ThumbnailError::InvalidSpec("poster_at_s"));
    }
    Ok(())
}

/// The poster: the frame at `at_s` (default [`POSTER_AT_FRACTION`] of the
/// duration) at display size, at most [`POSTER_MAX_HEIGHT`] tall; a nearly black
/// frame (fade, title card) gives way to one a little later, up to
/// [`POSTER_TRIES`] candidates, else the brightest of them.
fn poster(
    frames: &mut FrameReader,
    duration_s: f64,
    at_s: Option<f64>,
    cancel: &AtomicBool,
) -> Result<Vec<u8>, ThumbnailError> {
    let at_s = at_s
        .unwrap_or(duration_s * POSTER_AT_FRACTION)
        .min(duration_s);
    let step_s = (duration_s * 0.05).max(1.0);
    let mut brightest: Option<(f64, ffmpeg_next::util::frame::Video)> = None;
    for attempt in 0..POSTER_TRIES {
        let t = at_s + f64::from(attempt) * step_s;
        if attempt > 0 && t >= duration_s {
            break;
        }
        let Some((_, frame)) = frames.frame_at(t, cancel)? else {
            break;
        };
        let (width, height) = display_size(frame);
        let scale = (f64::from(POSTER_MAX_HEIGHT) / height).min(1.0);
        let mut scaler = Scaler::new(
            even(width * scale),
            even(height * scale),
            scaling::Flags::BICUBIC,
        );
        let picture = scaler.scale(frame)?;
        let luma = mean_luma(&picture);
        if brightest.as_ref().is_none_or(|(best, _)| luma > *best) {
            brightest = Some((luma, picture));
        }
        if luma >= DARK_MEAN_LUMA {
            break;
        }
    }
    let (_, picture) = brightest.ok_or(ThumbnailError::NoFrames)?;
    encode_jpeg(&picture, POSTER_QSCALE)
}
