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
//! rate for rate control. The scaler uses bicubic, the ffmpeg CLI's `scale` default.

use ffmpeg_next::codec::{self, Flags as CodecFlags};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling::{self, Flags as ScaleFlags};
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{encoder, frame, picture, Dictionary, Packet, Rational};

use super::error::TranscodeError;
use super::h264_output::AvcOutput;
use super::sink::LadderSink;
use super::spec::{LadderSpec, PlannedRendition, VBV_BUFFER_S};
use crate::codec::avc::AvcConfig;
use crate::fmp4::VIDEO_TIMESCALE;
use crate::media::TrackId;

/// The pixel format every rendition is encoded in (4:2:0, 8 bit: High profile).
pub const OUTPUT_PIXEL_FORMAT: Pixel = Pixel::YUV420P;

const X264: &str = "libx264";

/// (format, width, height) of the frames a scaler was built for.
type ScalerInput = (Pixel, u32, u32);

pub(crate) struct Rendition {
    planned: PlannedRendition,
    encoder: encoder::video::Encoder,
    scaler: Option<(ScalerInput, scaling::Context)>,
    scaled: frame::Video,
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
        let codec = encoder::find_by_name(X264).ok_or_else(|| TranscodeError::Encode {
            encoder: X264,
            reason: "this FFmpeg has no libx264".to_owned(),
        })?;
        let mut video = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(TranscodeError::encode(X264))?;
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
        let scaled = frame::Video::new(OUTPUT_PIXEL_FORMAT, planned.width, planned.height);
        let output = AvcOutput::new(track, &planned.name);
        Ok(Self {
            planned,
            encoder,
            scaler: None,
            scaled,
            packet: Packet::empty(),
            output,
        })
    }

    /// The `avcC` announced so far (after the first encoded frame).
    pub(crate) fn config(&self) -> Option<&AvcConfig> {
        self.output.config()
    }

    /// Scales `frame` (unless it already has this size and format), stamps it with
    /// `pts` (90 kHz) and `key`, encodes it, and drains finished packets to `sink`.
    pub(crate) fn encode(
        &mut self,
        frame: &mut frame::Video,
        pts: i64,
        key: bool,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        let kind = if key {
            picture::Type::I
        } else {
            picture::Type::None
        };
        let passthrough = frame.format() == OUTPUT_PIXEL_FORMAT
            && frame.width() == self.planned.width
            && frame.height() == self.planned.height;
        let input = if passthrough {
            frame
        } else {
            self.scale(frame)?;
            &mut self.scaled
        };
        input.set_pts(Some(pts));
        input.set_kind(kind);
        self.encoder
            .send_frame(input)
            .map_err(TranscodeError::encode(X264))?;
        self.drain(sink)
    }

    /// Signals the end of input and drains every remaining packet.
    pub(crate) fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        self.encoder
            .send_eof()
            .map_err(TranscodeError::encode(X264))?;
        self.drain(sink)
    }

    fn scale(&mut self, frame: &frame::Video) -> Result<(), TranscodeError> {
        let key = (frame.format(), frame.width(), frame.height());
        if self.scaler.as_ref().is_none_or(|(k, _)| *k != key) {
            let context = scaling::Context::get(
                key.0,
                key.1,
                key.2,
                OUTPUT_PIXEL_FORMAT,
                self.planned.width,
                self.planned.height,
                ScaleFlags::BICUBIC,
            )
            .map_err(TranscodeError::encode("swscale"))?;
            self.scaler = Some((key, context));
        }
        let (_, scaler) = self.scaler.as_mut().expect("set above");
        scaler
            .run(frame, &mut self.scaled)
            .map_err(TranscodeError::encode("swscale"))
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
