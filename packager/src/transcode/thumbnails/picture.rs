//! Pictures for thumbnails: a decoded frame scaled (swscale) to full-range YUV 4:2:0
//! (`yuvj420p`, what JPEG stores), tiles pasted into a sprite, mean luma to spot
//! black frames, and JPEG encoding with FFmpeg's `mjpeg` encoder at a fixed
//! quantiser.

use ffmpeg_next::codec;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::frame;

use super::ThumbnailError;

/// JPEG's pixel format: YUV 4:2:0 with full-range (0–255) luma.
const JPEG_PIXEL: Pixel = Pixel::YUVJ420P;

/// Luma and chroma of black in full range.
const BLACK: [u8; 3] = [0, 128, 128];

/// The display size of a decoded frame: its pixels stretched by the sample aspect
/// ratio (anamorphic video), as `(width, height)`.
pub(super) fn display_size(frame: &frame::Video) -> (f64, f64) {
    let sar = frame.aspect_ratio();
    let stretch = if sar.numerator() > 0 && sar.denominator() > 0 {
        f64::from(sar.numerator()) / f64::from(sar.denominator())
    } else {
        1.0
    };
    (
        f64::from(frame.width()) * stretch,
        f64::from(frame.height()),
    )
}

/// Rounds to the nearest even number, at least 2 (4:2:0 needs even sizes).
pub(super) fn even(value: f64) -> u32 {
    ((value / 2.0).round() as u32).max(1) * 2
}

/// Scales decoded frames to one output size; rebuilds its swscale context when the
/// input's format or size changes mid-stream.
pub(super) struct Scaler {
    width: u32,
    height: u32,
    flags: scaling::Flags,
    context: Option<scaling::Context>,
}

impl Scaler {
    /// Scales to `width` x `height` (even) with swscale's `flags` filter.
    pub(super) fn new(width: u32, height: u32, flags: scaling::Flags) -> Self {
        Self {
            width,
            height,
            flags,
            context: None,
        }
    }

    /// `frame` at this scaler's size, in [`JPEG_PIXEL`].
    pub(super) fn scale(&mut self, frame: &frame::Video) -> Result<frame::Video, ThumbnailError> {
        let stale = self.context.as_ref().is_none_or(|c| {
            let input = c.input();
            (input.format, input.width, input.height)
                != (frame.format(), frame.width(), frame.height())
        });
        if stale {
            self.context = Some(
                scaling::Context::get(
                    frame.format(),
                    frame.width(),
                    frame.height(),
                    JPEG_PIXEL,
                    self.width,
                    self.height,
                    self.flags,
                )
                .map_err(|e| ThumbnailError::Decode(format!("cannot scale the video: {e}")))?,
            );
        }
        let mut out = frame::Video::empty();
        let context = self.context.as_mut().expect("made above");
        context
            .run(frame, &mut out)
            .map_err(|e| ThumbnailError::Decode(format!("cannot scale the video: {e}")))?;
        Ok(out)
    }
}

/// A grid of equal tiles in one picture; cells without a tile stay black.
pub(super) struct Sprite {
    picture: frame::Video,
    tile_width: u32,
    tile_height: u32,
}

impl Sprite {
    /// A black sprite of `columns` x `rows` tiles of `tile_width` x `tile_height`.
    pub(super) fn new(tile_width: u32, tile_height: u32, columns: u32, rows: u32) -> Self {
        let mut picture = frame::Video::new(JPEG_PIXEL, tile_width * columns, tile_height * rows);
        for (plane, value) in BLACK.iter().enumerate() {
            picture.data_mut(plane).fill(*value);
        }
        Self {
            picture,
            tile_width,
            tile_height,
        }
    }

    /// Copies `tile` (from a [`Scaler`] at the tile size) into cell (`column`, `row`).
    pub(super) fn paste(&mut self, column: u32, row: u32, tile: &frame::Video) {
        debug_assert_eq!(
            (tile.format(), tile.width(), tile.height()),
            (JPEG_PIXEL, self.tile_width, self.tile_height)
        );
        for plane in 0..3 {
            // Chroma planes are half size in both directions (4:2:0; sizes are even).
            let shift = u32::from(plane > 0);
            let x = ((column * self.tile_width) >> shift) as usize;
            let y = ((row * self.tile_height) >> shift) as usize;
            let width = tile.plane_width(plane) as usize;
            let (src_stride, dst_stride) = (tile.stride(plane), self.picture.stride(plane));
            let src = tile.data(plane);
            let dst = self.picture.data_mut(plane);
            for line in 0..tile.plane_height(plane) as usize {
                let from = line * src_stride;
                let to = (y + line) * dst_stride + x;
                dst[to..to + width].copy_from_slice(&src[from..from + width]);
            }
        }
    }

    /// The whole sprite.
    pub(super) fn picture(&self) -> &frame::Video {
        &self.picture
    }
}

/// Mean luma (0–255) of a [`JPEG_PIXEL`] picture, sampled on every other pixel of
/// every other line.
pub(super) fn mean_luma(picture: &frame::Video) -> f64 {
    let (width, stride) = (picture.width() as usize, picture.stride(0));
    let luma = picture.data(0);
    let (mut sum, mut samples) = (0u64, 0u64);
    for line in (0..picture.height() as usize).step_by(2) {
        for &y in luma[line * stride..line * stride + width].iter().step_by(2) {
            sum += u64::from(y);
            samples += 1;
        }
    }
    if samples == 0 {
        0.0
    } else {
        sum as f64 / samples as f64
    }
}

/// Encodes a [`JPEG_PIXEL`] picture as one baseline JPEG with FFmpeg's `mjpeg`
/// encoder. `qscale` is the fixed quantiser, 2 (best) to 31 (smallest), as the
/// ffmpeg CLI's `-q:v`.
pub(super) fn encode_jpeg(picture: &frame::Video, qscale: i32) -> Result<Vec<u8>, ThumbnailError> {
    let failed = |e: ffmpeg_next::Error| ThumbnailError::Encode(e.to_string());
    let codec = ffmpeg_next::encoder::find(codec::Id::MJPEG)
        .ok_or_else(|| ThumbnailError::Encode("FFmpeg has no mjpeg encoder".into()))?;
    let mut encoder = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(failed)?;
    encoder.set_width(picture.width());
    encoder.set_height(picture.height());
    encoder.set_format(JPEG_PIXEL);
    encoder.set_time_base((1, 1));
    // A fixed quantiser: the rate controller can only pick within [qmin, qmax].
    encoder.set_qmin(qscale);
    encoder.set_qmax(qscale);
    let mut encoder = encoder.open_as(codec).map_err(failed)?;
    let mut input = picture.clone();
    input.set_pts(Some(0));
    encoder.send_frame(&input).map_err(failed)?;
    encoder.send_eof().map_err(failed)?;
    let mut packet = ffmpeg_next::Packet::empty();
    encoder.receive_packet(&mut packet).map_err(failed)?;
    packet
        .data()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| ThumbnailError::Encode("the mjpeg encoder returned nothing".into()))
}
