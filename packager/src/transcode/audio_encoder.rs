//! The shared audio track: decoded audio in, AAC-LC out, encoded once for every
//! rendition.
//!
//! swresample converts to FFmpeg's native `aac` encoder's input (planar float) at
//! the output rate and layout ([`output_format`]); a small FIFO cuts the result into
//! the encoder's 1,024-sample frames. Output pts count samples from the first input
//! frame's pts (so the track lines up with video); the encoder's priming delay
//! shows up as a first pts 1,024 samples earlier, as in any AAC file.
//!
//! The `AudioSpecificConfig` (ISO/IEC 14496-3 §1.6.2.1) is built from the encoder's
//! parameters and read back with [`AacConfig::parse`]: for AAC-LC it is fully
//! determined by object type 2, the sampling frequency index and the channel
//! configuration (no `extradata` access needed; see `h264_output`).

use bytes::Bytes;
use ffmpeg_next::format::sample::{Sample, Type as SampleType};
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::util::mathematics::rescale::Rescale;
use ffmpeg_next::{codec, encoder, frame, ChannelLayout, Packet, Rational};

use super::error::TranscodeError;
use super::sink::LadderSink;
use crate::codec::aac::AacConfig;
use crate::media::{CodecConfig, Frame, MediaKind, Track};

const AAC: &str = "aac";
const ENCODER_FORMAT: Sample = Sample::F32(SampleType::Planar);

/// Output rates kept as they are; anything else becomes 48 kHz.
const KEPT_RATES: [u32; 6] = [48_000, 44_100, 32_000, 24_000, 22_050, 16_000];

/// `samplingFrequencyIndex` values (ISO/IEC 14496-3 Table 1.18) of [`KEPT_RATES`].
fn frequency_index(rate: u32) -> u8 {
    match rate {
        48_000 => 3,
        44_100 => 4,
        32_000 => 5,
        24_000 => 6,
        22_050 => 7,
        _ => 8, // 16 kHz
    }
}

/// Output rate and channel count for a source: the source rate when it is a common
/// AAC rate (else 48 kHz), mono for mono sources, else stereo (downmixed).
pub fn output_format(source_rate: u32, source_channels: u16) -> (u32, u16) {
    let rate = if KEPT_RATES.contains(&source_rate) {
        source_rate
    } else {
        48_000
    };
    (rate, if source_channels == 1 { 1 } else { 2 })
}

/// (format, layout bits, rate) of the frames a resampler was built for.
type ResamplerInput = (Sample, u64, u32);

/// Decoded audio in, one AAC track out.
pub struct AudioEncoder {
    encoder: encoder::audio::Encoder,
    resampler: Option<(ResamplerInput, resampling::Context)>,
    layout: ChannelLayout,
    rate: u32,
    frame_size: usize,
    fifo: Vec<Vec<f32>>,
    /// pts (in 1/rate) of the first sample in `fifo`.
    next_pts: Option<i64>,
    track: Track,
    announced: bool,
    packet: Packet,
}

impl AudioEncoder {
    /// Opens the `aac` encoder for a source of `source_rate` Hz and
    /// `source_channels` channels at `bitrate` bit/s; `language` goes on the track.
    pub fn new(
        source_rate: u32,
        source_channels: u16,
        bitrate: u32,
        language: Option<String>,
    ) -> Result<Self, TranscodeError> {
        super::init();
        let (rate, channels) = output_format(source_rate, source_channels);
        let layout = ChannelLayout::default(i32::from(channels));
        let codec = encoder::find_by_name(AAC).ok_or_else(|| TranscodeError::Encode {
            encoder: AAC,
            reason: "this FFmpeg has no aac encoder".to_owned(),
        })?;
        let mut audio = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(TranscodeError::encode(AAC))?;
        audio.set_rate(rate as i32);
        audio.set_channel_layout(layout);
        audio.set_channels(i32::from(channels));
        audio.set_format(ENCODER_FORMAT);
        audio.set_bit_rate(bitrate as usize);
        audio.set_time_base(Rational::new(1, rate as i32));
        let encoder = audio.open_as(codec).map_err(TranscodeError::encode(AAC))?;
        let frame_size = (encoder.frame_size() as usize).max(1);
        let asc = audio_specific_config(rate, channels);
        let config = AacConfig::parse(asc).map_err(|e| TranscodeError::Bitstream {
            encoder: AAC,
            reason: e.to_string(),
        })?;
        Ok(Self {
            encoder,
            resampler: None,
            layout,
            rate,
            frame_size,
            fifo: vec![Vec::new(); usize::from(channels)],
            next_pts: None,
            track: Track {
                id: 0,
                codec: CodecConfig::Aac(config),
                timescale: rate,
                language,
                name: Some("audio".to_owned()),
            },
            announced: false,
            packet: Packet::empty(),
        })
    }

    /// The output track (announced to the sink before the first frame).
    pub fn track(&self) -> &Track {
        &self.track
    }

    /// Resamples and encodes one decoded frame whose pts is in `time_base`.
    pub fn push(
        &mut self,
        input: &frame::Audio,
        time_base: Rational,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        if self.next_pts.is_none() {
            let pts = input.pts().or_else(|| input.timestamp()).unwrap_or(0);
            self.next_pts = Some(pts.rescale(time_base, Rational::new(1, self.rate as i32)));
        }
        let layout = match input.channel_layout() {
            l if l.bits() != 0 => l,
            _ => ChannelLayout::default(i32::from(input.channels())),
        };
        let key = (input.format(), layout.bits(), input.rate());
        if self.resampler.as_ref().is_none_or(|(k, _)| *k != key) {
            let context = resampling::Context::get(
                key.0,
                layout,
                key.2,
                ENCODER_FORMAT,
                self.layout,
                self.rate,
            )
            .map_err(TranscodeError::encode("swresample"))?;
            self.resampler = Some((key, context));
        }
        // Room for everything this input can produce, plus the resampler's delay.
        let capacity = input.samples() * self.rate as usize / input.rate().max(1) as usize + 256;
        let mut out = frame::Audio::new(ENCODER_FORMAT, capacity, self.layout);
        let (_, resampler) = self.resampler.as_mut().expect("set above");
        resampler
            .run(input, &mut out)
            .map_err(TranscodeError::encode("swresample"))?;
        queue(&mut self.fifo, &out);
        self.encode_full_frames(sink)
    }

    /// Flushes the resampler, encodes what is left (a short last frame) and drains
    /// the encoder.
    pub fn flush(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        if let Some((_, resampler)) = self.resampler.as_mut() {
            loop {
                let mut out = frame::Audio::new(ENCODER_FORMAT, 4096, self.layout);
                resampler
                    .flush(&mut out)
                    .map_err(TranscodeError::encode("swresample"))?;
                if out.samples() == 0 {
                    break;
                }
                queue(&mut self.fifo, &out);
            }
        }
        self.encode_full_frames(sink)?;
        let rest = self.fifo[0].len();
        if rest > 0 {
            self.encode_fifo(rest, sink)?;
        }
        self.encoder
            .send_eof()
            .map_err(TranscodeError::encode(AAC))?;
        self.drain(sink)
    }

    fn encode_full_frames(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        while self.fifo[0].len() >= self.frame_size {
            self.encode_fifo(self.frame_size, sink)?;
        }
        Ok(())
    }

    fn encode_fifo(&mut self, n: usize, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        let mut frame = frame::Audio::new(ENCODER_FORMAT, n, self.layout);
        frame.set_rate(self.rate);
        for (ch, fifo) in self.fifo.iter_mut().enumerate() {
            frame.plane_mut::<f32>(ch)[..n].copy_from_slice(&fifo[..n]);
            fifo.drain(..n);
        }
        let pts = self.next_pts.unwrap_or(0);
        frame.set_pts(Some(pts));
        self.next_pts = Some(pts + n as i64);
        self.encoder
            .send_frame(&frame)
            .map_err(TranscodeError::encode(AAC))?;
        self.drain(sink)
    }

    fn drain(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        loop {
            match self.encoder.receive_packet(&mut self.packet) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(e) => return Err(TranscodeError::encode(AAC)(e)),
            }
            let (Some(pts), Some(data)) = (self.packet.pts(), self.packet.data()) else {
                continue;
            };
            if !self.announced {
                sink.track(self.track.clone())?;
                self.announced = true;
            }
            sink.frame(Frame {
                kind: MediaKind::Audio,
                track: self.track.id,
                dts: self.packet.dts().unwrap_or(pts),
                pts,
                keyframe: true,
                data: Bytes::copy_from_slice(data),
            })?;
        }
    }
}

/// Appends a resampled frame's planes to the per-channel FIFO.
fn queue(fifo: &mut [Vec<f32>], out: &frame::Audio) {
    let n = out.samples();
    for (ch, plane) in fifo.iter_mut().enumerate() {
        plane.extend_from_slice(&out.plane::<f32>(ch)[..n]);
    }
}

/// AAC-LC AudioSpecificConfig: `audioObjectType` 2 (5 bits),
/// `samplingFrequencyIndex` (4), `channelConfiguration` (4), then GASpecificConfig
/// `frameLengthFlag`, `dependsOnCoreCoder`, `extensionFlag` all 0 (ISO/IEC 14496-3
/// §1.6.2.1, §4.4.1).
fn audio_specific_config(rate: u32, channels: u16) -> Bytes {
    let bits: u16 = (2 << 11) | (u16::from(frequency_index(rate)) << 7) | ((channels & 0x0f) << 3);
    Bytes::copy_from_slice(&bits.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_reads_back_as_aac_lc() {
        for (rate, channels) in [(48_000, 2), (44_100, 1), (16_000, 2)] {
            let config = AacConfig::parse(audio_specific_config(rate, channels)).unwrap();
            let info = config.audio_info();
            assert_eq!(config.object_type, 2);
            assert_eq!((info.sample_rate, info.channels), (rate, channels));
            assert_eq!(info.samples_per_frame, 1024);
        }
        // 48 kHz stereo is the well-known 0x1190.
        assert_eq!(&audio_specific_config(48_000, 2)[..], &[0x11, 0x90]);
    }

    #[test]
    fn odd_rates_become_48k_and_surround_becomes_stereo() {
        assert_eq!(output_format(96_000, 6), (48_000, 2));
        assert_eq!(output_format(44_100, 1), (44_100, 1));
        assert_eq!(output_format(8_000, 2), (48_000, 2));
    }
}
