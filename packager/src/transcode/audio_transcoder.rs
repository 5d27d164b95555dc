//! A live audio track re-encoded frame by frame, for WebRTC delivery: AAC → Opus
//! (browsers' WebRTC stacks only play Opus) and Opus → AAC (a WHIP publish watched
//! over HLS).
//!
//! # Pipeline
//!
//! One [`Frame`] in, decoded at once, resampled, and encoded as soon as a whole
//! output frame is ready; [`AudioTranscoder::push`] hands out everything that is
//! ready, so nothing waits beyond one output frame (20 ms for Opus) plus the codecs'
//! own delay (libopus's look-ahead, the pre-skip below).
//!
//! | source | decoder | how it is fed without `extradata` |
//! |---|---|---|
//! | AAC | FFmpeg `aac` | each raw access unit behind a 7-byte ADTS header (ISO/IEC 14496-3 §1.A.2.2.1) built from the AudioSpecificConfig: ADTS is self-describing |
//! | Opus | FFmpeg `opus` | the channel count as the `ch_layout` option: without an OpusHead the decoder assumes mapping family 0 (RFC 7845 §5.1.1.1), which is all mono/stereo Opus |
//!
//! | target | encoder | output |
//! |---|---|---|
//! | [`AudioTarget::Opus`] | `libopus`, 48 kHz, 20 ms (960-sample) frames, mono for mono sources else stereo | timescale 48 000: the RTP clock rate of Opus is always 48 kHz (RFC 7587 §4.1), whatever the input rate |
//! | [`AudioTarget::Aac`] | [`AudioEncoder`] (AAC-LC) | timescale = the AAC sample rate |
//!
//! # The Opus configuration
//!
//! The output track's [`OpusConfig`] is built from the encoder's parameters
//! (channel count, mapping family 0, input rate 48 kHz: the encoder is fed 48 kHz),
//! not from `extradata`. `PreSkip` (RFC 7845 §5.1: samples at 48 kHz a decoder
//! discards at the start) is libopus's look-ahead, measured once in
//! [`AudioTranscoder::new`] by encoding one silent frame on a throw-away encoder:
//! FFmpeg stamps the first packet `-pre_skip` samples before the first input sample.
//!
//! # Timestamps
//!
//! Output pts count output samples from the first input frame's pts (rescaled to
//! the output timescale), so the track lines up with video; as with any encoder
//! with a look-ahead, the first packet starts `pre_skip` (Opus) or 1,024 (AAC)
//! samples before it. Each decoded frame's pts is compared with the sample count:
//! if the input jumped forward or backward by more than [`MAX_DRIFT_MS`], or went
//! backwards at all, the encoder is flushed (its tail keeps the old timeline) and
//! reopened on the new one. Continuous input never re-bases, so its output has no
//! gaps.
//!
//! # Bad input
//!
//! A frame the decoder rejects is skipped and counted ([`AudioTranscoder::skipped`]);
//! the decoder resynchronises on the next frame. Skipped frames leave the output
//! that much behind the source; once that exceeds [`MAX_DRIFT_MS`] the timeline
//! re-bases.

use bytes::{BufMut, Bytes, BytesMut};
use ffmpeg_next::format::sample::{Sample, Type as SampleType};
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::util::mathematics::rescale::Rescale;
use ffmpeg_next::{codec, decoder, encoder, frame, ChannelLayout, Dictionary, Packet, Rational};

use super::audio_encoder::AudioEncoder;
use super::error::TranscodeError;
use super::sink::{LadderSink, SinkError};
use crate::codec::aac::AacConfig;
use crate::codec::bitreader::BitReader;
use crate::codec::opus::{OpusConfig, OPUS_SAMPLES_PER_FRAME, OPUS_SAMPLE_RATE};
use crate::media::{AudioInfo, CodecConfig, Frame, MediaKind, Track, TrackId};

/// The largest difference, in milliseconds, between a frame's pts and where the
/// output timeline expects it before the timeline re-bases.
pub const MAX_DRIFT_MS: i64 = 100;

const LIBOPUS: &str = "libopus";
/// libopus takes interleaved samples (float or s16).
const OPUS_FORMAT: Sample = Sample::F32(SampleType::Packed);

/// What to re-encode a source audio track into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioTarget {
    /// Opus at `bitrate` bit/s (48 kHz, 20 ms frames).
    Opus {
        /// Bits per second, e.g. 64 000.
        bitrate: u32,
    },
    /// AAC-LC at `bitrate` bit/s.
    Aac {
        /// Bits per second, e.g. 128 000.
        bitrate: u32,
    },
}

/// One live audio track decoded and re-encoded frame by frame.
pub struct AudioTranscoder {
    source: Track,
    /// The ADTS header template for AAC sources (`None` for Opus).
    adts: Option<AdtsHeader>,
    decoder: decoder::Audio,
    target: AudioTarget,
    encoder: TargetEncoder,
    track: Track,
    /// The source's format, which the encoder was opened for (and is reopened for).
    info: AudioInfo,
    timeline: Option<Timeline>,
    skipped: u64,
    decoded: frame::Audio,
}

impl std::fmt::Debug for AudioTranscoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioTranscoder")
            .field("source", &self.source.codec.codec_string())
            .field("target", &self.target)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl AudioTranscoder {
    /// Opens a decoder for `source` (AAC or mono/stereo Opus) and an encoder for
    /// `target`. The output track keeps the source's id, name and language.
    pub fn new(source: &Track, target: AudioTarget) -> Result<Self, TranscodeError> {
        super::init();
        let (decoder, adts) = open_decoder(source)?;
        let info = source
            .codec
            .audio_info()
            .ok_or_else(|| unsupported(source))?;
        let encoder = TargetEncoder::open(target, info)?;
        let (codec, timescale) = match &encoder {
            TargetEncoder::Aac(aac) => (aac.track().codec.clone(), aac.track().timescale),
            TargetEncoder::Opus(opus) => (CodecConfig::Opus(opus.config()?), OPUS_SAMPLE_RATE),
        };
        let track = Track {
            id: source.id,
            codec,
            timescale,
            language: source.language.clone(),
            name: source.name.clone(),
        };
        Ok(Self {
            source: source.clone(),
            adts,
            decoder,
            target,
            encoder,
            track,
            info,
            timeline: None,
            skipped: 0,
            decoded: frame::Audio::empty(),
        })
    }

    /// The output track: announce it before the first frame `push` hands out.
    pub fn track(&self) -> &Track {
        &self.track
    }

    /// Source frames the decoder rejected so far (skipped, see the module docs).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Decodes `frame` (of the source track, pts in its timescale) and hands every
    /// output frame that is ready to `out`, in decode order.
    pub fn push(
        &mut self,
        frame: &Frame,
        out: &mut impl FnMut(Frame),
    ) -> Result<(), TranscodeError> {
        if frame.data.is_empty() {
            // An empty packet would tell FFmpeg the stream ended.
            self.skipped += 1;
            return Ok(());
        }
        let data = match &self.adts {
            Some(adts) => adts.wrap(&frame.data),
            None => Bytes::clone(&frame.data),
        };
        let mut packet = Packet::copy(&data);
        packet.set_pts(Some(frame.pts));
        packet.set_dts(Some(frame.pts));
        match self.decoder.send_packet(&packet) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::InvalidData) => self.skipped += 1,
            Err(e) => return Err(TranscodeError::decode("audio")(e)),
        }
        self.drain_decoder(&mut FrameSink::new(self.track.id, out))
    }

    /// Drains the decoder and the encoder (end of stream): the last, possibly
    /// short, output frame and the encoder's look-ahead come out. A later
    /// [`AudioTranscoder::push`] starts a new stream on its own timeline.
    pub fn flush(&mut self, out: &mut impl FnMut(Frame)) -> Result<(), TranscodeError> {
        let mut sink = FrameSink::new(self.track.id, out);
        match self.decoder.send_eof() {
            Ok(()) | Err(ffmpeg_next::Error::Eof) => {}
            Err(e) => return Err(TranscodeError::decode("audio")(e)),
        }
        self.drain_decoder(&mut sink)?;
        // Ready for a new stream: the next frame starts a new timeline.
        self.decoder.flush();
        self.timeline = None;
        self.encoder.flush(&mut sink)?;
        self.encoder = TargetEncoder::open(self.target, self.info)?;
        Ok(())
    }

    fn drain_decoder(&mut self, sink: &mut FrameSink<'_>) -> Result<(), TranscodeError> {
        let time_base = Rational::new(1, self.source.timescale.max(1) as i32);
        loop {
            match received(self.decoder.receive_frame(&mut self.decoded)) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(ffmpeg_next::Error::InvalidData) => {
                    self.skipped += 1;
                    continue;
                }
                Err(e) => return Err(TranscodeError::decode("audio")(e)),
            }
            let Some(pts) = self.decoded.pts().or_else(|| self.decoded.timestamp()) else {
                continue;
            };
            let samples = self.decoded.samples() as i64;
            let rate = self.decoded.rate().max(1);
            let timeline = match self.timeline.as_mut() {
                Some(t) if t.continues(pts, rate, self.source.timescale) => t,
                known => {
                    if known.is_some() {
                        // A jump: the old timeline's tail, then a fresh encoder.
                        self.encoder.flush(sink)?;
                        self.encoder = TargetEncoder::open(self.target, self.info)?;
                    }
                    self.timeline.insert(Timeline::start(pts, rate))
                }
            };
            timeline.advance(pts, samples);
            self.encoder.push(&self.decoded, time_base, sink)?;
        }
    }
}

/// The sample count since the last (re-)base, to tell continuous input from a jump.
#[derive(Debug)]
struct Timeline {
    /// pts (source timescale) of the first sample since the base.
    origin: i64,
    /// Decoded sample rate since the base.
    rate: u32,
    /// Samples decoded since the base.
    samples: i64,
    /// The last frame's pts.
    last: i64,
}

impl Timeline {
    fn start(pts: i64, rate: u32) -> Self {
        Self {
            origin: pts,
            rate,
            samples: 0,
            last: pts,
        }
    }

    /// Whether a frame at `pts` (decoded at `rate`) continues this timeline.
    fn continues(&self, pts: i64, rate: u32, timescale: u32) -> bool {
        let scale = i64::from(timescale);
        let expected = self.origin + self.samples * scale / i64::from(self.rate);
        rate == self.rate
            && pts >= self.last
            && (pts - expected).abs() <= MAX_DRIFT_MS * scale / 1000
    }

    fn advance(&mut self, pts: i64, samples: i64) {
        self.samples += samples;
        self.last = pts;
    }
}

/// The encoder behind the target.
enum TargetEncoder {
    Opus(OpusEncoder),
    Aac(AudioEncoder),
}

impl TargetEncoder {
    /// The encoder for `target`, fed from a source of `source`'s format.
    fn open(target: AudioTarget, source: AudioInfo) -> Result<Self, TranscodeError> {
        Ok(match target {
            AudioTarget::Opus { bitrate } => {
                TargetEncoder::Opus(OpusEncoder::open(opus_channels(source.channels), bitrate)?)
            }
            AudioTarget::Aac { bitrate } => TargetEncoder::Aac(AudioEncoder::new(
                source.sample_rate,
                source.channels,
                bitrate,
                None,
            )?),
        })
    }

    fn push(
        &mut self,
        input: &frame::Audio,
        time_base: Rational,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        match self {
            TargetEncoder::Opus(e) => e.push(input, time_base, sink),
            TargetEncoder::Aac(e) => e.push(input, time_base, sink),
        }
    }

    fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        match self {
            TargetEncoder::Opus(e) => e.flush(sink),
            TargetEncoder::Aac(e) => e.flush(sink),
        }
    }
}

/// Hands frames to the caller's closure, stamped with the output track's id; the
/// encoders' own track announcements are dropped ([`AudioTranscoder::track`] is
/// the announcement).
struct FrameSink<'a> {
    track: TrackId,
    out: &'a mut dyn FnMut(Frame),
}

impl<'a> FrameSink<'a> {
    fn new(track: TrackId, out: &'a mut impl FnMut(Frame)) -> Self {
        Self { track, out }
    }
}

impl LadderSink for FrameSink<'_> {
    fn track(&mut self, _track: Track) -> Result<(), SinkError> {
        Ok(())
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        (self.out)(Frame {
            track: self.track,
            ..frame
        });
        Ok(())
    }
}

/// An FFmpeg `receive_*` result: `Ok(true)` when something was received,
/// `Ok(false)` for "nothing yet" (`EAGAIN`) and "nothing more" (`EOF`).
pub(crate) fn received(result: Result<(), ffmpeg_next::Error>) -> Result<bool, ffmpeg_next::Error> {
    match result {
        Ok(()) => Ok(true),
        Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The options that open FFmpeg's Opus decoders without an OpusHead: the channel
/// layout of mapping family 0.
pub(crate) fn opus_decoder_options(config: &OpusConfig) -> Dictionary<'static> {
    let mut options = Dictionary::new();
    options.set(
        "ch_layout",
        if config.channels == 1 {
            "mono"
        } else {
            "stereo"
        },
    );
    options
}

/// Mono stays mono; everything else is encoded as stereo.
fn opus_channels(source_channels: u16) -> u16 {
    if source_channels == 1 {
        1
    } else {
        2
    }
}

fn unsupported(source: &Track) -> TranscodeError {
    TranscodeError::Decode {
        stream: "audio",
        reason: format!("cannot transcode {}", source.codec.codec_string()),
    }
}

/// FFmpeg's decoder for `source`, and the ADTS template for AAC.
fn open_decoder(source: &Track) -> Result<(decoder::Audio, Option<AdtsHeader>), TranscodeError> {
    let (name, adts, options) = match &source.codec {
        CodecConfig::Aac(config) => {
            let adts = AdtsHeader::new(config).ok_or_else(|| unsupported(source))?;
            ("aac", Some(adts), Dictionary::new())
        }
        CodecConfig::Opus(config) if config.mapping_family == 0 => {
            ("opus", None, opus_decoder_options(config))
        }
        _ => return Err(unsupported(source)),
    };
    let codec = decoder::find_by_name(name).ok_or_else(|| unsupported(source))?;
    let mut context = codec::context::Context::new_with_codec(codec).decoder();
    context.set_packet_time_base(Rational::new(1, source.timescale.max(1) as i32));
    let decoder = context
        .open_as_with(codec, options)
        .and_then(|d| d.audio())
        .map_err(TranscodeError::decode("audio"))?;
    Ok((decoder, adts))
}

/// The fixed part of an ADTS header for one AAC configuration (ISO/IEC 14496-3
/// §1.A.2.2.1, `protection_absent` = 1, one raw data block per frame).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdtsHeader {
    /// `profile_ObjectType` (object type − 1; 1 = AAC-LC).
    profile: u8,
    sampling_frequency_index: u8,
    channel_configuration: u8,
}

impl AdtsHeader {
    const LEN: usize = 7;

    /// `None` when ADTS cannot describe the configuration: a core object type
    /// above 4, an explicit (escape) sampling rate, a program_config_element
    /// channel layout, or 960-sample frames. HE-AAC is described by its AAC-LC core
    /// (decoders find SBR/PS in the payload).
    pub(crate) fn new(config: &AacConfig) -> Option<Self> {
        // The core's samplingFrequencyIndex is the 4 bits after the first
        // audioObjectType (ISO/IEC 14496-3 §1.6.2.1), for HE-AAC too.
        let mut r = BitReader::new(&config.record);
        if r.bits32(5).ok()? == 31 {
            r.skip(6).ok()?;
        }
        let sampling_frequency_index = r.bits32(4).ok()? as u8;
        let ok = (1..=4).contains(&config.core_object_type)
            && sampling_frequency_index < 13
            && (1..=7).contains(&config.channel_configuration)
            && config.frame_length == 1024;
        ok.then_some(Self {
            profile: config.core_object_type - 1,
            sampling_frequency_index,
            channel_configuration: config.channel_configuration,
        })
    }

    /// `payload` behind its header.
    pub(crate) fn wrap(&self, payload: &[u8]) -> Bytes {
        // aac_frame_length is 13 bits and counts the header; longer payloads are
        // not AAC frames (6144 bits per channel at most) and are cut to fit, for
        // the decoder to reject.
        let payload = &payload[..payload.len().min(0x1fff - Self::LEN)];
        let length = (payload.len() + Self::LEN) as u64;
        let header: u64 = (0xfff << 44) // syncword
            | (1 << 40) // ID 0 (MPEG-4), layer 0, protection_absent 1
            | (u64::from(self.profile) << 38)
            | (u64::from(self.sampling_frequency_index) << 34)
            | (u64::from(self.channel_configuration) << 30) // private_bit 0 above
            | (length << 13) // after original_copy, home, two copyright bits (0)
            | (0x7ff << 2); // adts_buffer_fullness: VBR; raw data blocks − 1 = 0
        let mut out = BytesMut::with_capacity(payload.len() + Self::LEN);
        out.put_slice(&header.to_be_bytes()[1..]);
        out.put_slice(payload);
        out.freeze()
    }
}

/// libopus opened for `channels` at 48 kHz, 20 ms frames, `bitrate` bit/s.
fn open_libopus(channels: u16, bitrate: u32) -> Result<encoder::audio::Encoder, TranscodeError> {
    let codec = encoder::find_by_name(LIBOPUS).ok_or_else(|| TranscodeError::Encode {
        encoder: LIBOPUS,
        reason: "this FFmpeg has no libopus".to_owned(),
    })?;
    let mut audio = codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(TranscodeError::encode(LIBOPUS))?;
    audio.set_rate(OPUS_SAMPLE_RATE as i32);
    audio.set_channel_layout(ChannelLayout::default(i32::from(channels)));
    audio.set_channels(i32::from(channels));
    audio.set_format(OPUS_FORMAT);
    audio.set_bit_rate(bitrate as usize);
    audio.set_time_base(Rational::new(1, OPUS_SAMPLE_RATE as i32));
    let mut options = Dictionary::new();
    options.set("frame_duration", "20");
    audio
        .open_as_with(codec, options)
        .map_err(TranscodeError::encode(LIBOPUS))
}

/// libopus's look-ahead, the OpusHead `PreSkip`: FFmpeg stamps the first packet of
/// an encoder fed from pts 0 at `-pre_skip`.
fn measure_pre_skip(channels: u16, bitrate: u32) -> Result<u16, TranscodeError> {
    let mut encoder = open_libopus(channels, bitrate)?;
    let layout = ChannelLayout::default(i32::from(channels));
    let mut silence = frame::Audio::new(OPUS_FORMAT, OPUS_SAMPLES_PER_FRAME as usize, layout);
    silence.data_mut(0).fill(0);
    silence.set_rate(OPUS_SAMPLE_RATE);
    silence.set_pts(Some(0));
    encoder
        .send_frame(&silence)
        .map_err(TranscodeError::encode(LIBOPUS))?;
    let mut packet = Packet::empty();
    encoder
        .receive_packet(&mut packet)
        .map_err(TranscodeError::encode(LIBOPUS))?;
    let pts = packet.pts().unwrap_or(0);
    u16::try_from(-pts).map_err(|_| TranscodeError::Bitstream {
        encoder: LIBOPUS,
        reason: format!("first packet at pts {pts}: no usable pre-skip"),
    })
}

/// Decoded audio in, 20 ms Opus packets out.
struct OpusEncoder {
    encoder: encoder::audio::Encoder,
    resampler: Option<resampling::Context>,
    channels: u16,
    bitrate: u32,
    layout: ChannelLayout,
    /// Bytes of one interleaved f32 sample frame (all channels).
    stride: usize,
    /// Interleaved samples waiting for a whole 20 ms frame.
    fifo: Vec<u8>,
    /// pts (1/48000) of the first sample in `fifo`.
    next_pts: Option<i64>,
    packet: Packet,
}

impl OpusEncoder {
    fn open(channels: u16, bitrate: u32) -> Result<Self, TranscodeError> {
        Ok(Self {
            encoder: open_libopus(channels, bitrate)?,
            channels,
            bitrate,
            resampler: None,
            layout: ChannelLayout::default(i32::from(channels)),
            stride: 4 * usize::from(channels),
            fifo: Vec::new(),
            next_pts: None,
            packet: Packet::empty(),
        })
    }

    /// The `dOps` fields of this encoder's output: its channel count, mapping
    /// family 0, and the measured pre-skip.
    fn config(&self) -> Result<OpusConfig, TranscodeError> {
        let pre_skip = measure_pre_skip(self.channels, self.bitrate)?;
        OpusConfig::from_channel_layout(self.channels as u8, pre_skip, 0, &[]).map_err(|e| {
            TranscodeError::Bitstream {
                encoder: LIBOPUS,
                reason: e.to_string(),
            }
        })
    }

    fn push(
        &mut self,
        input: &frame::Audio,
        time_base: Rational,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        if self.next_pts.is_none() {
            let pts = input.pts().unwrap_or(0);
            self.next_pts = Some(pts.rescale(time_base, Rational::new(1, OPUS_SAMPLE_RATE as i32)));
        }
        let layout = match input.channel_layout() {
            l if l.bits() != 0 => l,
            _ => ChannelLayout::default(i32::from(input.channels())),
        };
        let stale = self.resampler.as_ref().is_none_or(|r| {
            let i = r.input();
            (i.format, i.channel_layout.bits(), i.rate)
                != (input.format(), layout.bits(), input.rate())
        });
        if stale {
            self.resampler = Some(
                resampling::Context::get(
                    input.format(),
                    layout,
                    input.rate(),
                    OPUS_FORMAT,
                    self.layout,
                    OPUS_SAMPLE_RATE,
                )
                .map_err(TranscodeError::encode("swresample"))?,
            );
        }
        let capacity =
            input.samples() * OPUS_SAMPLE_RATE as usize / input.rate().max(1) as usize + 256;
        let mut out = frame::Audio::new(OPUS_FORMAT, capacity, self.layout);
        let resampler = self.resampler.as_mut().expect("set above");
        resampler
            .run(input, &mut out)
            .map_err(TranscodeError::encode("swresample"))?;
        self.fifo
            .extend_from_slice(&out.data(0)[..out.samples() * self.stride]);
        self.encode_whole_frames(sink)
    }

    /// Encodes what is left (one short frame) and drains libopus's look-ahead.
    fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        self.encode_whole_frames(sink)?;
        if !self.fifo.is_empty() {
            self.encode_frame(self.fifo.len() / self.stride, sink)?;
        }
        match self.encoder.send_eof() {
            Ok(()) | Err(ffmpeg_next::Error::Eof) => {}
            Err(e) => return Err(TranscodeError::encode(LIBOPUS)(e)),
        }
        self.drain(sink)
    }

    fn encode_whole_frames(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        let whole = OPUS_SAMPLES_PER_FRAME as usize;
        while self.fifo.len() >= whole * self.stride {
            self.encode_frame(whole, sink)?;
        }
        Ok(())
    }

    fn encode_frame(
        &mut self,
        samples: usize,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        let bytes = samples * self.stride;
        let mut frame = frame::Audio::new(OPUS_FORMAT, samples, self.layout);
        frame.set_rate(OPUS_SAMPLE_RATE);
        frame.data_mut(0)[..bytes].copy_from_slice(&self.fifo[..bytes]);
        self.fifo.drain(..bytes);
        let pts = self.next_pts.unwrap_or(0);
        frame.set_pts(Some(pts));
        self.next_pts = Some(pts + samples as i64);
        self.encoder
            .send_frame(&frame)
            .map_err(TranscodeError::encode(LIBOPUS))?;
        self.drain(sink)
    }

    fn drain(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        while received(self.encoder.receive_packet(&mut self.packet))
            .map_err(TranscodeError::encode(LIBOPUS))?
        {
            let (Some(pts), Some(data)) = (self.packet.pts(), self.packet.data()) else {
                continue;
            };
            sink.frame(Frame {
                kind: MediaKind::Audio,
                track: 0,
                dts: pts,
                pts,
                keyframe: true,
                data: Bytes::copy_from_slice(data),
            })?;
        }
        Ok(())
    }
}
