//! A whole file through the ladder: libavformat demuxes, the best video stream and
//! the best audio stream are each decoded once, video feeds a [`VideoLadder`] and
//! audio an [`AudioEncoder`]. Blocking; run it on a dedicated thread.
//!
//! Cover art (`attached_pic` video streams in MP3/M4A) is not video. Corrupt
//! packets are skipped like the ffmpeg CLI does; a file that decodes to nothing
//! fails. The cancel flag is checked before every packet.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::media::Type;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{codec, decoder, format, frame, Dictionary, Packet, Rational, Stream};

use super::audio_encoder::AudioEncoder;
use super::error::TranscodeError;
use super::sink::LadderSink;
use super::spec::LadderSpec;
use super::video_ladder::{VideoLadder, VideoSource};
use crate::fmp4::VIDEO_TIMESCALE;

/// How far a transcode has got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Seconds of media decoded and encoded, from the first frame.
    pub media_s: f64,
    /// The container's duration, when it states one.
    pub duration_s: Option<f64>,
}

/// What a finished transcode produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSummary {
    /// Seconds of media encoded (video if any, else audio), first to last frame end.
    pub duration_s: f64,
    /// `(name, width, height)` of each video rendition, track id = index.
    pub renditions: Vec<(String, u32, u32)>,
    /// Whether an audio track was produced.
    pub has_audio: bool,
}

/// Seconds of media between two progress reports.
pub const PROGRESS_EVERY_S: f64 = 1.0;

struct VideoInput {
    index: usize,
    decoder: decoder::Video,
    ladder: VideoLadder,
    first: Option<i64>,
    last: Option<i64>,
    frames: u64,
}

struct AudioInput {
    index: usize,
    decoder: decoder::Audio,
    encoder: AudioEncoder,
    time_base: Rational,
    first: Option<i64>,
    end: Option<i64>,
    frames: u64,
}

/// Transcodes `input` with `spec` into `sink`; see the module docs.
pub fn transcode_file(
    input: &Path,
    spec: &LadderSpec,
    sink: &mut dyn LadderSink,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<FileSummary, TranscodeError> {
    super::init();
    let mut context = format::input(&input).map_err(|e| TranscodeError::NotMedia(e.to_string()))?;
    let duration_s = u64::try_from(context.duration())
        .ok()
        .filter(|us| *us > 0)
        .map(|us| us as f64 / 1e6);
    let mut video = best_stream(&context, Type::Video)
        .map(|s| open_video(&s, spec))
        .transpose()?;
    let mut audio = best_stream(&context, Type::Audio)
        .map(|s| open_audio(&s, spec))
        .transpose()?;
    if video.is_none() && audio.is_none() {
        return Err(TranscodeError::NoSupportedStream);
    }
    let mut reported = f64::NEG_INFINITY;
    let mut packet = Packet::empty();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(TranscodeError::Cancelled);
        }
        match packet.read(&mut context) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => break,
            // A demuxer resyncs past corrupt data (as the ffmpeg CLI does).
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Err(e) => return Err(TranscodeError::Read(e.to_string())),
        }
        let stream = packet.stream();
        if let Some(v) = video.as_mut().filter(|v| v.index == stream) {
            // A corrupt packet is skipped; the decoder recovers at the next one.
            if let Err(e) = v.decoder.send_packet(&packet) {
                skip_or_fail(e, "video")?;
            }
            v.receive(sink)?;
        } else if let Some(a) = audio.as_mut().filter(|a| a.index == stream) {
            if let Err(e) = a.decoder.send_packet(&packet) {
                skip_or_fail(e, "audio")?;
            }
            a.receive(sink)?;
        } else {
            continue;
        }
        let media_s = media_seconds(video.as_ref(), audio.as_ref());
        if media_s - reported >= PROGRESS_EVERY_S {
            reported = media_s;
            progress(Progress {
                media_s,
                duration_s,
            });
        }
    }
    if let Some(v) = video.as_mut() {
        v.decoder
            .send_eof()
            .map_err(TranscodeError::decode("video"))?;
        v.receive(sink)?;
        v.ladder.flush(sink)?;
    }
    if let Some(a) = audio.as_mut() {
        a.decoder
            .send_eof()
            .map_err(TranscodeError::decode("audio"))?;
        a.receive(sink)?;
        a.encoder.flush(sink)?;
    }
    let video = video.filter(|v| v.frames > 0);
    let audio = audio.filter(|a| a.frames > 0);
    if video.is_none() && audio.is_none() {
        return Err(TranscodeError::Decode {
            stream: "any",
            reason: "no frame could be decoded".to_owned(),
        });
    }
    let media_s = media_seconds(video.as_ref(), audio.as_ref());
    progress(Progress {
        media_s,
        duration_s,
    });
    Ok(FileSummary {
        duration_s: media_s,
        renditions: video
            .as_ref()
            .map(|v| {
                v.ladder
                    .renditions()
                    .iter()
                    .map(|r| (r.planned.name.clone(), r.planned.width, r.planned.height))
                    .collect()
            })
            .unwrap_or_default(),
        has_audio: audio.is_some(),
    })
}

/// FFmpeg's pick of the `kind` stream, skipping cover art and streams without a
/// decoder here.
fn best_stream<'a>(context: &'a format::context::Input, kind: Type) -> Option<Stream<'a>> {
    let usable = |s: &Stream| {
        s.parameters().medium() == kind
            && !s.disposition().contains(Disposition::ATTACHED_PIC)
            && decoder::find(s.parameters().id()).is_some()
    };
    context
        .streams()
        .best(kind)
        .filter(|s| usable(s))
        .or_else(|| context.streams().find(|s| usable(s)))
}

/// Opens a decoder with the CLI's defaults (`threads=auto`).
fn open_decoder(stream: &Stream, kind: &'static str) -> Result<decoder::Opened, TranscodeError> {
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .map_err(TranscodeError::decode(kind))?
        .decoder();
    let mut options = Dictionary::new();
    options.set("threads", "auto");
    decoder.set_packet_time_base(stream.time_base());
    let codec = decoder::find(stream.parameters().id()).ok_or(TranscodeError::Decode {
        stream: kind,
        reason: "no decoder".to_owned(),
    })?;
    decoder
        .open_as_with(codec, options)
        .map_err(TranscodeError::decode(kind))
}

fn open_video(stream: &Stream, spec: &LadderSpec) -> Result<VideoInput, TranscodeError> {
    let decoder = open_decoder(stream, "video")?
        .video()
        .map_err(TranscodeError::decode("video"))?;
    let frame_rate = match stream.avg_frame_rate() {
        r if r.numerator() > 0 && r.denominator() > 0 => r,
        _ => stream.rate(),
    };
    let source = VideoSource {
        width: decoder.width(),
        height: decoder.height(),
        sample_aspect: decoder.aspect_ratio(),
        time_base: stream.time_base(),
        frame_rate,
    };
    Ok(VideoInput {
        index: stream.index(),
        ladder: VideoLadder::new(&source, spec)?,
        decoder,
        first: None,
        last: None,
        frames: 0,
    })
}

fn open_audio(stream: &Stream, spec: &LadderSpec) -> Result<AudioInput, TranscodeError> {
    let decoder = open_decoder(stream, "audio")?
        .audio()
        .map_err(TranscodeError::decode("audio"))?;
    let language = stream
        .metadata()
        .get("language")
        .filter(|l| !l.is_empty() && *l != "und")
        .map(crate::language::bcp47);
    let encoder = AudioEncoder::new(
        decoder.rate(),
        decoder.channels(),
        spec.audio_bitrate,
        language,
    )?;
    Ok(AudioInput {
        index: stream.index(),
        decoder,
        encoder,
        time_base: stream.time_base(),
        first: None,
        end: None,
        frames: 0,
    })
}

/// A decoder error on one packet is skipped when it is about the data; anything
/// else fails the transcode.
fn skip_or_fail(e: ffmpeg_next::Error, stream: &'static str) -> Result<(), TranscodeError> {
    match e {
        ffmpeg_next::Error::InvalidData => Ok(()),
        e => Err(TranscodeError::decode(stream)(e)),
    }
}

impl VideoInput {
    fn receive(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        let mut frame = frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(e) => return skip_or_fail(e, "video"),
            }
            self.ladder.push(&mut frame, sink)?;
            self.frames += 1;
            let pts = self.ladder.last_pts().unwrap_or(0);
            self.first.get_or_insert(pts);
            self.last = Some(pts);
        }
    }

    /// Seconds from the first frame to the end of the last (one frame duration
    /// estimated from the source rate).
    fn seconds(&self) -> f64 {
        match (self.first, self.last) {
            (Some(first), Some(last)) => {
                let ticks = f64::from(VIDEO_TIMESCALE);
                let frame = if self.frames > 1 {
                    (last - first) as f64 / (self.frames - 1) as f64
                } else {
                    0.0
                };
                ((last - first) as f64 + frame) / ticks
            }
            _ => 0.0,
        }
    }
}

impl AudioInput {
    fn receive(&mut self, sink: &mut dyn LadderSink) -> Result<(), TranscodeError> {
        let mut frame = frame::Audio::empty();
        loop {
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(e) => return skip_or_fail(e, "audio"),
            }
            if frame.samples() == 0 || frame.rate() == 0 {
                continue;
            }
            self.encoder.push(&frame, self.time_base, sink)?;
            self.frames += 1;
            let tb = f64::from(self.time_base);
            let start = frame.pts().or_else(|| frame.timestamp());
            if let Some(pts) = start {
                let pts_s = pts as f64 * tb;
                let first = *self.first.get_or_insert(pts);
                let end_s = pts_s + frame.samples() as f64 / f64::from(frame.rate());
                self.end = Some(((end_s - first as f64 * tb) * 1e6) as i64);
            }
        }
    }

    fn seconds(&self) -> f64 {
        self.end.map_or(0.0, |us| us as f64 / 1e6)
    }
}

fn media_seconds(video: Option<&VideoInput>, audio: Option<&AudioInput>) -> f64 {
    match (video, audio) {
        (Some(v), _) if v.frames > 0 => v.seconds(),
        (_, Some(a)) => a.seconds(),
        _ => 0.0,
    }
}
