//! The thumbnail files of an asset: `poster.jpg`, `sprite.jpg` and `thumbs.vtt`
//! (whose cues point into the sprite, `sprite.jpg#xywh=…`), served at
//! `/vod/{asset}/…`.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use packager::transcode::thumbnails::{thumbnails, ThumbnailError, ThumbnailSpec, Thumbnails};
use packager::vod::VodFile;

use super::store::write_files;

/// Poster file name.
pub const POSTER_FILE: &str = "poster.jpg";
/// Thumbnail sprite file name.
pub const SPRITE_FILE: &str = "sprite.jpg";
/// WebVTT thumbnail index file name.
pub const THUMBS_FILE: &str = "thumbs.vtt";

/// The three files of `t`.
fn files(t: Thumbnails) -> [VodFile; 3] {
    [
        VodFile {
            path: POSTER_FILE.into(),
            data: t.poster_jpeg.into(),
        },
        VodFile {
            path: SPRITE_FILE.into(),
            data: t.sprite_jpeg.into(),
        },
        VodFile {
            path: THUMBS_FILE.into(),
            data: t.vtt.into(),
        },
    ]
}

/// Makes the thumbnails of `input` and writes them into `dir` (blocking). Returns
/// whether there are thumbnails: an input without video has none, and a failure is
/// logged, not fatal (the asset plays without previews).
pub fn write_thumbnails(
    input: &Path,
    dir: &Path,
    spec: &ThumbnailSpec,
    cancel: &AtomicBool,
) -> bool {
    match thumbnails(input, spec, SPRITE_FILE, cancel) {
        Ok(t) => match write_files(dir, &files(t)) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "writing thumbnails failed");
                false
            }
        },
        Err(ThumbnailError::NoVideo) => false,
        Err(e) => {
            tracing::warn!(input = %input.display(), error = %e, "thumbnails failed");
            false
        }
    }
}
