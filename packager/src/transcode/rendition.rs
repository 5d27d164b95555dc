//! One video rendition: swscale to its size, libx264 with the ladder's settings,
//! and [`AvcOutput`] into the media model.
//!
//! x264 settings (all passed as the same AVOptions the ffmpeg CLI sets, so the CLI
//! baseline in `bench/vod_ladder.sh` is the same encoder configuration):
//!
//! | option | value | why |
//! |---|---|---|
//! | `preset` | [`LadderSpec::preset`] | speed/quality trade-off |
//! | `profile` | `high` | 8×8 transforms, CABAC; every player since 2012 |
//! | `b`, `maxrate`, `bufsize` | bitrate, bitrate, [`VBV_BUFFER_S`] × bitrate | capped VBR: segments stay near the advertised BANDWIDTH |
//! | `g` | 2 × keyframe interval (frames) | a safety cap only; keyframes come from the ladder |
//! | `sc_threshold` | 0 | no scene-cut keyframes: they would differ between renditions |
//! | `forced-idr` | 1 | a forced key frame is an IDR (closed GOP), a segment start |
//! | `threads` | [`LadderSpec::threads`] | 0 = x264's own choice |
//!
//! The time base is 1/90000 ([`VIDEO_TIMESCALE`]); x264 gets the nominal frame
//! rate for rate control. Scaling (bicubic, the ffmpeg CLI's `scale` default) runs
//! on the rendition's own thread ([`ScaleWorker`]); a frame that already has the
//! rendition's size and format is encoded as it is, without a copy.

use std::sync::Arc;

use ffmpeg_next::codec::{self, Flags as CodecFlags};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{encoder, frame, picture, Dictionary, Packet, Rational};

use super::error::TranscodeError;
use super::h264_output::AvcOutput;
use super::scale_worker::ScaleWorker;
use super::sink::LadderSink;
use super::spec::{LadderSpec, PlannedRendition, VBV_BUFFER_S};
use crate::codec::avc::AvcConfig;
use crate::fmp4::VIDEO_TIMESCALE;
use crate::media::TrackId;

/// The pixel format every rendition is encoded in (4:2:0, 8 bit: High profile).
pub const OUTPUT_PIXEL_FORMAT: Pixel = Pixel::YUV420P;

pub(crate) const X264: &str = "libx264";

/// libx264 and a fresh encoder context for it, to be configured and opened (with
/// the codec) by the caller.
pub(crate) fn x264_context() -> Result<(ffmpeg_next::Codec, encoder::video::Video), TranscodeError>
{
    let codec = encoder::find_by_name(X264).ok_or_else(|| TranscodeError::Encode {
        encoder: X264,
        reason: "this FFmpeg has no libx264".to_owned(),
    })?;
    let video = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(TranscodeError::encode(X264))?;
    Ok((codec, video))
}

/// `pict_type` for a frame the ladder does (I: forced IDR) or does not key.
pub(crate) fn picture_type(key: bool) -> picture::Type {
    if key {
        picture::Type::I
    } else {
        picture::Type::None
    }
}

pub(crate) struct Rendition {
    planned: PlannedRendition,
    encoder: encoder::video::Encoder,
    /// Started on the first frame that needs scaling.
    worker: Option<ScaleWorker>,
    packet: Packet,
    output: AvcOutput,
}

impl Rendition {
    /// Opens libx264 for `planned` as video track `track`.
    pub(crate) fn open(
        track: TrackId,
        planned: PlannedRendition,
        spec: &LadderSpec,
        frame_rate: Rational,
    ) -> Result<Self, TranscodeError> {
        let (codec, mut video) = x264_context()?;
        video.set_width(planned.width);
        video.set_height(planned.height);
        video.set_format(OUTPUT_PIXEL_FORMAT);
        video.set_time_base(Rational::new(1, VIDEO_TIMESCALE as i32));
        video.set_frame_rate(Some(frame_rate));
        // No GLOBAL_HEADER: parameter sets in-band, see h264_output.rs.
        video.set_flags(CodecFlags::empty());
        let options = x264_options(spec, &planned, frame_rate);
        let encoder = video
            .open_as_with(codec, options)
            .map_err(TranscodeError::encode(X264))?;
        let output = AvcOutput::new(track, &planned.name);
        Ok(Self {
            planned,
            encoder,
            worker: None,
            packet: Packet::empty(),
            output,
        })
    }

    /// The `avcC` announced so far (after the first encoded frame).
    pub(crate) fn config(&self) -> Option<&AvcConfig> {
        self.output.config()
    }

    /// Whether `frame` must be scaled for this rendition (else it is encoded as is).
    fn needs_scaling(&self, frame: &frame::Video) -> bool {
        frame.format() != OUTPUT_PIXEL_FORMAT
            || frame.width() != self.planned.width
            || frame.height() != self.planned.height
    }

    /// Starts scaling `frame` on this rendition's scaling thread, if it needs it.
    pub(crate) fn start_scaling(
        &mut self,
        frame: &Arc<frame::Video>,
    ) -> Result<(), TranscodeError> {
        if !self.needs_scaling(frame) {
            return Ok(());
        }
        if self.worker.is_none() {
            self.worker = Some(ScaleWorker::spawn(
                OUTPUT_PIXEL_FORMAT,
                self.planned.width,
                self.planned.height,
            )?);
        }
        self.worker.as_mut().expect("set above").start(frame)
    }

    /// Encodes `frame` (already stamped with its 90 kHz pts and picture type by the
    /// ladder), or its scaled copy (the oldest result of
    /// [`Rendition::start_scaling`], stamped here with `pts` and `key`), and drains
    /// finished packets to `sink`.
    pub(crate) fn encode(
        &mut self,
        frame: &Arc<frame::Video>,
        pts: i64,
        key: bool,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        if !self.needs_scaling(frame) {
            self.encoder
                .send_frame(frame)
                .map_err(TranscodeError::encode(X264))?;
            return self.drain(sink);
        }
        let worker = self.worker.as_mut().ok_or_else(|| TranscodeError::Encode {
            encoder: "swscale",
            reason: "scaling was not started".to_owned(),
        })?;
        let mut scaled = worker.finish()?;
        scaled.set_pts(Some(pts));
        scaled.set_kind(picture_type(key));
        let sent = self
            .encoder
            .send_frame(&scaled)
            .map_err(TranscodeError::encode(X264));
        // x264 copies the picture while the packets are drained; only then may the
        // worker write into this frame again.
        let drained = sent.and_then(|()| self.drain(sink));
        if let Some(worker) = self.worker.as_mut() {
            worker.recycle(scaled);
        }
        drained
    }

    /// Collects scaling jobs that were started but never encoded (error paths).
    pub(crate) fn settle(&mut self) {
        if let Some(worker) = self.worker.as_mut() {
            worker.settle();
        }
    }

    /// Signals the end of input and drains every remaining packet.
    pub(crate) fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        self.encoder
            .send_eof()
            .map_err(TranscodeError::encode(X264))?;
        self.drain(sink)
    }

    fn drain(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        loop {
            match self.encoder.receive_packet(&mut self.packet) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(e) => return Err(TranscodeError::encode(X264)(e)),
            }
            let (Some(pts), Some(data)) = (self.packet.pts(), self.packet.data()) else {
                continue;
            };
            let dts = self.packet.dts().unwrap_or(pts);
            self.output.packet(data, pts, dts, sink)?;
        }
    }
}

/// The AVOptions of the table in the module docs.
fn x264_options(
    spec: &LadderSpec,
    planned: &PlannedRendition,
    frame_rate: Rational,
) -> Dictionary<'static> {
    let fps = if frame_rate.numerator() > 0 && frame_rate.denominator() > 0 {
        f64::from(frame_rate)
    } else {
        30.0
    };
    let gop = ((2.0 * spec.keyframe_interval_s * fps).round() as u32).max(1);
    let bitrate = planned.video_bitrate;
    let mut d = Dictionary::new();
    d.set("preset", &spec.preset);
    d.set("profile", "high");
    d.set("b", &bitrate.to_string());
    d.set("maxrate", &bitrate.to_string());
    d.set(
        "bufsize",
        &(u64::from(bitrate) * u64::from(VBV_BUFFER_S)).to_string(),
    );
    d.set("g", &gop.to_string());
    d.set("sc_threshold", "0");
    d.set("forced-idr", "1");
    d.set("threads", &spec.threads.to_string());
    d
}
