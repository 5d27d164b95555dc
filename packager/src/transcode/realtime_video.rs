//! A live H.264 track with B-frames re-encoded without them, frame by frame, for
//! WebRTC delivery (RTP carries H.264 in decode order with one timestamp per
//! picture; browsers' jitter buffers stutter on reordered pictures).
//!
//! # Detecting B-frame sources
//!
//! A video frame whose `pts != dts` ([`reorders`]) is presented at another time
//! than it is decoded: the source reorders pictures, i.e. has B-frames (ISO/IEC
//! 14496-12 §8.6.1.3, composition offsets). A caller checks the first frames of a
//! track; a source without B-frames has `pts == dts` on every frame (ingest
//! normalises RTMP's composition time and MPEG-TS's PTS/DTS to that).
//!
//! # Pipeline and latency
//!
//! | stage | what | frames of delay |
//! |---|---|---|
//! | input | the source sample as Annex B, its `avcC` SPS/PPS in front of key frames ([`annex_b_access_unit`]) | 0 |
//! | decode | FFmpeg `h264`, one thread, no frame threading (each frame thread would add a frame) | the source's reorder depth (`max_num_reorder_frames`, 1–2 for x264's B-frames), inherent |
//! | encode | libx264 `tune=zerolatency`, `bframes=0`: no look-ahead, sliced threads | 0: one packet out per picture in |
//! | output | `h264_output`'s `AvcOutput`: Annex B → `avcC` + length-prefixed samples | 0 |
//!
//! # Key frames
//!
//! Every picture the decoder marks as a key frame (an IDR or recovery point of the
//! source) and the first picture after [`NoBFramesEncoder::request_keyframe`] (a
//! WebRTC PLI or FIR) is encoded as an IDR picture (ISO/IEC 14496-10 §3.69, `nal_unit_type` 5):
//! `forced-idr=1`, scene-cut key frames off. x264 repeats SPS and PPS in front of
//! every IDR (no global header), which is what a WebRTC receiver joining late needs.
//!
//! # Output
//!
//! [`EncodedVideo::Track`] whenever the `avcC` changes (first picture, a new
//! resolution), then [`EncodedVideo::Frame`]s with `pts == dts` (the source
//! pictures' presentation times, in the source track's timescale), one per decoded
//! source picture, in presentation (= decode) order.
//!
//! # Errors and changes
//!
//! A frame the decoder rejects is skipped and counted ([`NoBFramesEncoder::skipped`]);
//! FFmpeg conceals what it can and the next key frame resynchronises. A new source
//! `avcC` ([`NoBFramesEncoder::update_source`]) drains and reopens the decoder; a
//! picture of a new size or pixel format drains and reopens the encoder.

use ffmpeg_next::codec::Flags as CodecFlags;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{codec, decoder, encoder, frame, Dictionary, Packet, Rational};

use super::audio_transcoder::received;
use super::error::TranscodeError;
use super::h264_input::annex_b_access_unit;
use super::h264_output::AvcOutput;
use super::rendition::{picture_type, x264_context, OUTPUT_PIXEL_FORMAT, X264};
use super::sink::{LadderSink, SinkError};
use crate::codec::avc::AvcConfig;
use crate::media::{CodecConfig, Frame, MediaKind, Track};

/// x264 preset unless the caller picks one.
pub const DEFAULT_PRESET: &str = "veryfast";
/// Video bitrate (kbit/s) unless the caller picks one.
pub const DEFAULT_BITRATE_KBPS: u32 = 2_500;
/// Frame rate assumed for rate control when the SPS has no timing info.
const FALLBACK_FRAME_RATE: i32 = 30;
/// Safety cap on the distance between IDRs, in seconds: key frames come from the
/// source and from [`NoBFramesEncoder::request_keyframe`].
const MAX_KEYFRAME_INTERVAL_S: i32 = 10;

/// Whether `frame` is presented at another time than it is decoded: the mark of a
/// source with B-frames (see the module docs).
pub fn reorders(frame: &Frame) -> bool {
    frame.kind == MediaKind::Video && frame.pts != frame.dts
}

/// The highest H.264 profile the output may use (x264's `profile`: a ceiling;
/// x264 signals the lowest profile its tools need, e.g. Baseline for `ultrafast`,
/// which turns CABAC off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum H264Profile {
    /// Constrained Baseline (x264's `baseline`: profile_idc 66 with
    /// constraint_set1_flag): every WebRTC endpoint; CAVLC and no 8×8 transform
    /// cost bitrate.
    ConstrainedBaseline,
    /// Main (`4d..`).
    Main,
    /// High (`64..`): the best quality per bit.
    #[default]
    High,
}

impl H264Profile {
    fn x264_name(self) -> &'static str {
        match self {
            H264Profile::ConstrainedBaseline => "baseline",
            H264Profile::Main => "main",
            H264Profile::High => "high",
        }
    }
}

/// How to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoBFramesOptions {
    /// x264 preset, e.g. `veryfast` ([`DEFAULT_PRESET`]).
    pub preset: String,
    /// Target (and VBV maximum) bitrate in kbit/s ([`DEFAULT_BITRATE_KBPS`]); the
    /// VBV buffer holds one second.
    pub bitrate_kbps: u32,
    /// Output profile.
    pub profile: H264Profile,
    /// x264 threads (sliced threads, no added delay); 0 lets x264 choose.
    pub threads: usize,
}

impl Default for NoBFramesOptions {
    fn default() -> Self {
        Self {
            preset: DEFAULT_PRESET.to_owned(),
            bitrate_kbps: DEFAULT_BITRATE_KBPS,
            profile: H264Profile::default(),
            threads: 0,
        }
    }
}

/// What [`NoBFramesEncoder`] hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodedVideo {
    /// The output track, before its first frame and whenever its `avcC` changes.
    Track(Track),
    /// One picture, `pts == dts`.
    Frame(Frame),
}

/// libx264 opened for one picture size and format.
struct OpenEncoder {
    encoder: encoder::video::Encoder,
    /// (width, height, format) of the pictures it takes.
    input: (u32, u32, Pixel),
    /// Converts other pixel formats to 4:2:0 8-bit.
    scaler: Option<scaling::Context>,
}

/// A live H.264 track decoded and re-encoded without B-frames (see the module docs).
pub struct NoBFramesEncoder {
    source: Track,
    config: AvcConfig,
    options: NoBFramesOptions,
    decoder: decoder::Video,
    /// A key frame has been sent (earlier frames cannot be decoded).
    started: bool,
    encoder: Option<OpenEncoder>,
    output: AvcOutput,
    keyframe_requested: bool,
    skipped: u64,
    picture: frame::Video,
    packet: Packet,
}

impl std::fmt::Debug for NoBFramesEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoBFramesEncoder")
            .field("source", &self.source.id)
            .field("options", &self.options)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl NoBFramesEncoder {
    /// Opens the decoder for `source` (H.264); the encoder opens on the first
    /// decoded picture, at its size. The output track keeps the source's id and
    /// timescale.
    pub fn new(source: &Track, options: NoBFramesOptions) -> Result<Self, TranscodeError> {
        super::init();
        let config = h264_config(source)?.clone();
        let name = source.name.clone().unwrap_or_else(|| "video".to_owned());
        Ok(Self {
            source: source.clone(),
            config,
            options,
            decoder: open_decoder(source)?,
            started: false,
            encoder: None,
            output: AvcOutput::new(source.id, &name),
            keyframe_requested: false,
            skipped: 0,
            picture: frame::Video::empty(),
            packet: Packet::empty(),
        })
    }

    /// Makes the next output picture an IDR (a WebRTC PLI or FIR).
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Source frames the decoder rejected so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// A new configuration for the source track (ingest announced the track
    /// again): when its `avcC` or timescale differs, both codecs are drained into
    /// `out` ([`NoBFramesEncoder::flush`]) and reopened, and decoding resumes at
    /// the next key frame with the new parameter sets.
    pub fn update_source(
        &mut self,
        track: &Track,
        out: &mut impl FnMut(EncodedVideo),
    ) -> Result<(), TranscodeError> {
        let config = h264_config(track)?.clone();
        if config == self.config && track.timescale == self.source.timescale {
            return Ok(());
        }
        // Everything of the old configuration out; the encoder reopens on the next
        // picture (in the new timescale, at the new size).
        self.flush(out)?;
        self.decoder = open_decoder(track)?;
        self.source = track.clone();
        self.config = config;
        Ok(())
    }

    /// Decodes `frame` and encodes every picture the decoder releases, handing
    /// the results to `out`.
    pub fn push(
        &mut self,
        frame: &Frame,
        out: &mut impl FnMut(EncodedVideo),
    ) -> Result<(), TranscodeError> {
        if !frame.keyframe && !self.started {
            return Ok(());
        }
        self.started = true;
        let access_unit = annex_b_access_unit(&self.config, frame);
        if access_unit.is_empty() {
            // Nothing usable (an empty packet would tell FFmpeg the stream ended).
            self.skipped += 1;
            return Ok(());
        }
        let mut packet = Packet::copy(&access_unit);
        packet.set_pts(Some(frame.pts));
        packet.set_dts(Some(frame.dts));
        if frame.keyframe {
            packet.set_flags(codec::packet::Flags::KEY);
        }
        match self.decoder.send_packet(&packet) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::InvalidData) => self.skipped += 1,
            Err(e) => return Err(TranscodeError::decode("video")(e)),
        }
        self.drain_decoder(out)
    }

    /// End of stream: the pictures the decoder still holds, then x264's.
    pub fn flush(&mut self, out: &mut impl FnMut(EncodedVideo)) -> Result<(), TranscodeError> {
        self.drain_decoder_to_end(out)?;
        if let Some(mut open) = self.encoder.take() {
            open.encoder
                .send_eof()
                .map_err(TranscodeError::encode(X264))?;
            self.drain_encoder(&mut open, out)?;
        }
        Ok(())
    }

    fn drain_decoder_to_end(
        &mut self,
        out: &mut impl FnMut(EncodedVideo),
    ) -> Result<(), TranscodeError> {
        match self.decoder.send_eof() {
            Ok(()) | Err(ffmpeg_next::Error::Eof) => {}
            Err(e) => return Err(TranscodeError::decode("video")(e)),
        }
        self.drain_decoder(out)?;
        // Reusable: the next stream starts at its first key frame.
        self.decoder.flush();
        self.started = false;
        Ok(())
    }

    fn drain_decoder(&mut self, out: &mut impl FnMut(EncodedVideo)) -> Result<(), TranscodeError> {
        loop {
            match received(self.decoder.receive_frame(&mut self.picture)) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(ffmpeg_next::Error::InvalidData) => {
                    self.skipped += 1;
                    continue;
                }
                Err(e) => return Err(TranscodeError::decode("video")(e)),
            }
            let Some(pts) = self.picture.timestamp().or(self.picture.pts()) else {
                continue;
            };
            self.encode_picture(pts, out)?;
        }
    }

    /// Encodes the decoded picture in `self.picture` at `pts`.
    fn encode_picture(
        &mut self,
        pts: i64,
        out: &mut impl FnMut(EncodedVideo),
    ) -> Result<(), TranscodeError> {
        let input = (
            self.picture.width(),
            self.picture.height(),
            self.picture.format(),
        );
        let mut open = match self.encoder.take() {
            Some(open) if open.input == input => open,
            previous => {
                if let Some(mut old) = previous {
                    old.encoder
                        .send_eof()
                        .map_err(TranscodeError::encode(X264))?;
                    self.drain_encoder(&mut old, out)?;
                }
                self.open_encoder(input)?
            }
        };
        // A request is used up by any IDR, including a source key frame.
        let requested = std::mem::take(&mut self.keyframe_requested);
        let key = self.picture.is_key() || requested;
        let result = (|| {
            let mut converted;
            let picture = match open.scaler.as_mut() {
                Some(scaler) => {
                    converted = frame::Video::empty();
                    scaler
                        .run(&self.picture, &mut converted)
                        .map_err(TranscodeError::encode("swscale"))?;
                    &mut converted
                }
                None => &mut self.picture,
            };
            picture.set_pts(Some(pts));
            // The decoder's picture type (B, P…) must not reach x264 as a forced type.
            picture.set_kind(picture_type(key));
            open.encoder
                .send_frame(picture)
                .map_err(TranscodeError::encode(X264))
        })();
        let drained = result.and_then(|()| self.drain_encoder(&mut open, out));
        self.encoder = Some(open);
        drained
    }

    fn open_encoder(&self, input: (u32, u32, Pixel)) -> Result<OpenEncoder, TranscodeError> {
        let (width, height, format) = input;
        let direct = matches!(format, Pixel::YUV420P | Pixel::YUVJ420P);
        let scaler = if direct {
            None
        } else {
            Some(
                scaling::Context::get(
                    format,
                    width,
                    height,
                    OUTPUT_PIXEL_FORMAT,
                    width,
                    height,
                    scaling::Flags::BICUBIC,
                )
                .map_err(TranscodeError::encode("swscale"))?,
            )
        };
        let (codec, mut video) = x264_context()?;
        video.set_width(width);
        video.set_height(height);
        video.set_format(if direct { format } else { OUTPUT_PIXEL_FORMAT });
        video.set_time_base(Rational::new(1, self.source.timescale.max(1) as i32));
        video.set_frame_rate(Some(self.frame_rate()));
        // No GLOBAL_HEADER: parameter sets in-band, see h264_output.rs.
        video.set_flags(CodecFlags::empty());
        let encoder = video
            .open_as_with(codec, self.x264_options())
            .map_err(TranscodeError::encode(X264))?;
        Ok(OpenEncoder {
            encoder,
            input,
            scaler,
        })
    }

    fn frame_rate(&self) -> Rational {
        match self.config.frame_rate {
            Some(fps) if fps > 0.0 => Rational::new((fps * 1000.0).round() as i32, 1000),
            _ => Rational::new(FALLBACK_FRAME_RATE, 1),
        }
    }

    /// x264's AVOptions (the names the ffmpeg CLI takes).
    fn x264_options(&self) -> Dictionary<'static> {
        let bitrate = (u64::from(self.options.bitrate_kbps) * 1000).to_string();
        let fps = f64::from(self.frame_rate());
        let gop = (fps * f64::from(MAX_KEYFRAME_INTERVAL_S)).round().max(1.0) as u32;
        let mut d = Dictionary::new();
        d.set("preset", &self.options.preset);
        d.set("tune", "zerolatency");
        d.set("profile", self.options.profile.x264_name());
        d.set("bf", "0");
        d.set("b", &bitrate);
        d.set("maxrate", &bitrate);
        d.set("bufsize", &bitrate);
        d.set("g", &gop.to_string());
        d.set("sc_threshold", "0");
        d.set("forced-idr", "1");
        d.set("threads", &self.options.threads.to_string());
        d
    }

    fn drain_encoder(
        &mut self,
        open: &mut OpenEncoder,
        out: &mut impl FnMut(EncodedVideo),
    ) -> Result<(), TranscodeError> {
        let mut sink = VideoSink {
            timescale: self.source.timescale,
            out,
        };
        while received(open.encoder.receive_packet(&mut self.packet))
            .map_err(TranscodeError::encode(X264))?
        {
            let (Some(pts), Some(data)) = (self.packet.pts(), self.packet.data()) else {
                continue;
            };
            // No B-frames: decode order is presentation order.
            self.output.packet(data, pts, pts, &mut sink)?;
        }
        Ok(())
    }
}

/// [`AvcOutput`]'s tracks (in the source's timescale) and frames as [`EncodedVideo`].
struct VideoSink<'a, F> {
    timescale: u32,
    out: &'a mut F,
}

impl<F: FnMut(EncodedVideo)> LadderSink for VideoSink<'_, F> {
    fn track(&mut self, track: Track) -> Result<(), SinkError> {
        (self.out)(EncodedVideo::Track(Track {
            timescale: self.timescale,
            ..track
        }));
        Ok(())
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        (self.out)(EncodedVideo::Frame(frame));
        Ok(())
    }
}

fn h264_config(track: &Track) -> Result<&AvcConfig, TranscodeError> {
    match &track.codec {
        CodecConfig::H264(config) => Ok(config),
        other => Err(TranscodeError::Decode {
            stream: "video",
            reason: format!("not H.264: {}", other.codec_string()),
        }),
    }
}

/// FFmpeg's `h264` decoder, single-threaded (see the latency table), pts in the
/// track's timescale.
fn open_decoder(track: &Track) -> Result<decoder::Video, TranscodeError> {
    let codec = decoder::find(codec::Id::H264).ok_or_else(|| TranscodeError::Decode {
        stream: "video",
        reason: "this FFmpeg has no h264 decoder".to_owned(),
    })?;
    let mut context = codec::context::Context::new_with_codec(codec).decoder();
    context.set_packet_time_base(Rational::new(1, track.timescale.max(1) as i32));
    context
        .open_as(codec)
        .and_then(|d| d.video())
        .map_err(TranscodeError::decode("video"))
}
