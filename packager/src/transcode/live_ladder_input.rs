//! The live ladder's input: packager [`Frame`]s of the source video track → FFmpeg
//! packets → decoded pictures, with the source's timestamps.
//!
//! The decoder is opened without extradata (ffmpeg-next has no safe setter for
//! `AVCodecContext.extradata`, and the workspace forbids `unsafe`). Instead every
//! packet is the decoder's *in-band* form, which FFmpeg's parsers accept for the
//! same streams:
//!
//! | codec | packet |
//! |---|---|
//! | H.264 | Annex B (ITU-T H.264 Annex B byte stream): each length-prefixed NAL unit of the ISO/IEC 14496-15 sample gets a `00 00 00 01` start code; key frames are preceded by the `avcC` record's SPS and PPS ([`super::h264_input`]) |
//! | H.265 | the same with the `hvcC` record's VPS, SPS and PPS |
//! | AV1 | the low-overhead OBUs as they are; key frames are preceded by the `av1C` record's `configOBUs` (the sequence header, AV1-ISOBMFF §2.3.4) |
//! | VP9 | the frame as it is |
//!
//! The decoder sees packets in decode order with `pts`/`dts` in the track's
//! timescale, and gives pictures back in presentation order with those `pts`.

use std::collections::VecDeque;

use ffmpeg_next as ffmpeg;

use super::h264_input::annex_b_access_unit;
use crate::media::{CodecConfig, Frame, Track};

/// Why the source cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Audio, or a codec FFmpeg cannot decode here.
    #[error("the ladder cannot decode {0}")]
    Unsupported(String),
    /// A sample whose NAL unit lengths run past its end.
    #[error("malformed {codec} sample: {what}")]
    Malformed {
        /// Which codec.
        codec: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// FFmpeg refused.
    #[error("decoder: {0}")]
    Ffmpeg(#[from] ffmpeg::Error),
}

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The decoder's packet for `frame` of a track configured with `codec` (see the
/// module table). `with_config` prepends the record's parameter sets (or
/// configOBUs); it is set for key frames.
pub fn packet_data(
    codec: &CodecConfig,
    frame: &Frame,
    with_config: bool,
) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::with_capacity(frame.data.len() + 64);
    match codec {
        CodecConfig::H264(c) => {
            // The VOD engine's conversion (parameter sets on key frames).
            let frame = Frame {
                keyframe: with_config,
                ..frame.clone()
            };
            out = annex_b_access_unit(c, &frame);
        }
        CodecConfig::H265(c) => {
            if with_config {
                // VPS, SPS, PPS (ITU-T H.265 Table 7-1: 32, 33, 34).
                for nal_type in [32, 33, 34] {
                    for unit in c.units(nal_type) {
                        out.extend_from_slice(&START_CODE);
                        out.extend_from_slice(unit);
                    }
                }
            }
            length_prefixed_to_annex_b(&frame.data, c.nal_length_size, "H.265", &mut out)?;
        }
        CodecConfig::Av1(c) => {
            if with_config {
                // av1C: 4 fixed bytes, then configOBUs.
                out.extend_from_slice(c.record.get(4..).unwrap_or_default());
            }
            out.extend_from_slice(&frame.data);
        }
        CodecConfig::Vp9(_) => out.extend_from_slice(&frame.data),
        other => return Err(InputError::Unsupported(other.codec_string())),
    }
    Ok(out)
}

/// Appends the NAL units of an ISO/IEC 14496-15 sample (`size`-byte big-endian
/// lengths) to `out` as an Annex B byte stream.
fn length_prefixed_to_annex_b(
    mut data: &[u8],
    size: u8,
    codec: &'static str,
    out: &mut Vec<u8>,
) -> Result<(), InputError> {
    let size = usize::from(size);
    if !(1..=4).contains(&size) {
        return Err(InputError::Malformed {
            codec,
            what: "NAL length size is not 1-4",
        });
    }
    while !data.is_empty() {
        if data.len() < size {
            return Err(InputError::Malformed {
                codec,
                what: "truncated NAL unit length",
            });
        }
        let len = data[..size]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let unit = data.get(size..size + len).ok_or(InputError::Malformed {
            codec,
            what: "NAL unit longer than the sample",
        })?;
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(unit);
        data = &data[size + len..];
    }
    Ok(())
}

/// FFmpeg's decoder id for a video codec configuration.
fn codec_id(codec: &CodecConfig) -> Result<ffmpeg::codec::Id, InputError> {
    Ok(match codec {
        CodecConfig::H264(_) => ffmpeg::codec::Id::H264,
        CodecConfig::H265(_) => ffmpeg::codec::Id::HEVC,
        CodecConfig::Av1(_) => ffmpeg::codec::Id::AV1,
        CodecConfig::Vp9(_) => ffmpeg::codec::Id::VP9,
        other => return Err(InputError::Unsupported(other.codec_string())),
    })
}

/// Decoder threads: frame threading adds one frame of delay per thread, so keep
/// it to two (the ladder's encoders want the cores).
const DECODER_THREADS: usize = 2;

/// One source track's decoder.
pub struct SourceDecoder {
    track: Track,
    decoder: ffmpeg::decoder::Video,
    /// Source key frames still in the decoder: `(pts, dts)`, decode order.
    keyframes: VecDeque<(i64, i64)>,
    /// Whether a key frame has been sent (frames before the first one are skipped:
    /// they cannot be decoded).
    started: bool,
}

impl std::fmt::Debug for SourceDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceDecoder")
            .field("track", &self.track.id)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

/// A decoded picture and what the source said about it.
pub struct Decoded {
    /// The picture; its `pts` is the source frame's, in the track's timescale.
    pub picture: ffmpeg::frame::Video,
    /// Presentation time in the track's timescale.
    pub pts: i64,
    /// The source frame was a key frame; then its decode time.
    pub source_key_dts: Option<i64>,
}

impl SourceDecoder {
    /// Opens a decoder for `track` (video).
    pub fn open(track: &Track) -> Result<Self, InputError> {
        super::init();
        let id = codec_id(&track.codec)?;
        let codec = ffmpeg::codec::decoder::find(id)
            .ok_or_else(|| InputError::Unsupported(track.codec.codec_string()))?;
        let mut context = ffmpeg::codec::Context::new_with_codec(codec);
        context.set_threading(ffmpeg::threading::Config {
            kind: ffmpeg::threading::Type::Frame,
            count: DECODER_THREADS,
            ..Default::default()
        });
        context.set_time_base(ffmpeg::Rational::new(1, track.timescale.max(1) as i32));
        let decoder = context.decoder().video()?;
        Ok(Self {
            track: track.clone(),
            decoder,
            keyframes: VecDeque::new(),
            started: false,
        })
    }

    /// The track this decoder was opened for.
    pub fn track(&self) -> &Track {
        &self.track
    }

    /// Sends one frame; returns whether it was sent (frames before the first key
    /// frame are not).
    pub fn send(&mut self, frame: &Frame) -> Result<bool, InputError> {
        if !frame.keyframe && !self.started {
            return Ok(false);
        }
        self.started = true;
        let data = packet_data(&self.track.codec, frame, frame.keyframe)?;
        let mut packet = ffmpeg::Packet::copy(&data);
        packet.set_pts(Some(frame.pts));
        packet.set_dts(Some(frame.dts));
        if frame.keyframe {
            packet.set_flags(ffmpeg::packet::Flags::KEY);
            self.keyframes.push_back((frame.pts, frame.dts));
            // A decoder that never returned a key frame's picture (corrupt) must
            // not let the list grow.
            while self.keyframes.len() > 16 {
                self.keyframes.pop_front();
            }
        }
        match self.decoder.send_packet(&packet) {
            // Corrupt data: FFmpeg skips it; the next key frame resynchronises.
            Ok(()) | Err(ffmpeg::Error::InvalidData) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Signals the end of the stream; [`Self::receive`] then drains the decoder.
    pub fn send_eof(&mut self) -> Result<(), InputError> {
        match self.decoder.send_eof() {
            Ok(()) | Err(ffmpeg::Error::Eof) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The next decoded picture, if one is ready.
    pub fn receive(&mut self) -> Result<Option<Decoded>, InputError> {
        let mut picture = ffmpeg::frame::Video::empty();
        match self.decoder.receive_frame(&mut picture) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => return Ok(None),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                return Ok(None)
            }
            Err(ffmpeg::Error::InvalidData) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let Some(pts) = picture.timestamp().or(picture.pts()) else {
            return Ok(None);
        };
        picture.set_pts(Some(pts));
        // Key frames leave the decoder in pts order too; ones passed by a later
        // picture were dropped by the decoder.
        while self.keyframes.front().is_some_and(|(k, _)| *k < pts) {
            self.keyframes.pop_front();
        }
        let source_key_dts = match self.keyframes.front() {
            Some(&(k, dts)) if k == pts => {
                self.keyframes.pop_front();
                Some(dts)
            }
            _ => None,
        };
        Ok(Some(Decoded {
            picture,
            pts,
            source_key_dts,
        }))
    }
}
