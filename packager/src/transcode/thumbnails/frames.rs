//! Decoded frames at chosen media times, from the file's best video stream.
//!
//! For a target time the reader either decodes forward from where it is, or seeks
//! (`avformat_seek_file` with the target as the upper bound, so it lands on the key
//! frame at or before it), flushes the decoder and decodes forward from there. It
//! seeks when the target lies more than about a GOP ahead (decoding from the key
//! frame before the target is then less work than decoding up to it) or behind
//! (the poster, after the tiles). The GOP is measured from the key frames the
//! demuxer hands out; until two were seen a long default is assumed, so short files
//! are simply decoded through.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::media::Type;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::util::frame;
use ffmpeg_next::{codec, decoder, format, Packet};

use super::ThumbnailError;

/// GOP assumed before two key frames were seen: seeks only for targets further
/// ahead than this.
const UNKNOWN_GOP_S: f64 = 10.0;

/// Never seek forward for less than this (a seek costs a demuxer reset and a
/// decoder flush).
const MIN_SEEK_AHEAD_S: f64 = 1.0;

/// A target this far before the current frame is reached by seeking back.
const SEEK_BACK_S: f64 = 0.5;

/// A frame within a millisecond before the target counts as at the target.
const AT_TARGET_S: f64 = 0.001;

/// The best video stream of a file, decoded on demand.
pub(super) struct FrameReader {
    input: format::context::Input,
    stream: usize,
    /// Seconds per stream time base unit.
    time_base: f64,
    /// The stream's first timestamp, in seconds; media times are relative to it.
    start_s: f64,
    duration_s: f64,
    decoder: decoder::Video,
    /// The last decoded frame and its media time.
    current: Option<(f64, frame::Video)>,
    /// The demuxer has no more packets (end of file sent to the decoder).
    packets_done: bool,
    /// The decoder has returned its last frame.
    drained: bool,
    last_key_s: Option<f64>,
    gop_s: Option<f64>,
    /// Seeks done (tests check the reader seeks when it should).
    pub(super) seeks: u32,
}

impl FrameReader {
    /// Opens `path` and its best video stream (cover art does not count).
    pub(super) fn open(path: &Path) -> Result<Self, ThumbnailError> {
        let input = format::input(&path).map_err(|e| ThumbnailError::NotMedia(e.to_string()))?;
        let best = input.streams().best(Type::Video).map(|s| s.index());
        let stream = input
            .streams()
            .filter(|s| s.parameters().medium() == Type::Video)
            .filter(|s| !s.disposition().contains(Disposition::ATTACHED_PIC))
            .min_by_key(|s| Some(s.index()) != best)
            .ok_or(ThumbnailError::NoVideo)?;
        let time_base = f64::from(stream.time_base());
        let start_s = match stream.start_time() {
            ffmpeg_next::ffi::AV_NOPTS_VALUE => 0.0,
            start => start as f64 * time_base,
        };
        let duration_s = if stream.duration() > 0 {
            stream.duration() as f64 * time_base
        } else if input.duration() > 0 {
            // AV_TIME_BASE (microsecond) units; AV_NOPTS_VALUE (negative) when unknown.
            input.duration() as f64 / 1e6
        } else {
            scan_duration(path, stream.index(), time_base, start_s)
        };
        let decoder = codec::context::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().video())
            .map_err(|e| ThumbnailError::Decode(format!("no decoder for the video: {e}")))?;
        let index = stream.index();
        Ok(Self {
            input,
            stream: index,
            time_base,
            start_s,
            duration_s,
            decoder,
            current: None,
            packets_done: false,
            drained: false,
            last_key_s: None,
            gop_s: None,
            seeks: 0,
        })
    }

    /// The video's duration in seconds, as the container states it (0 if unknown).
    pub(super) fn duration_s(&self) -> f64 {
        self.duration_s
    }

    /// The first frame at or after media time `target_s` (seconds from the first
    /// frame), or the last frame when the video ends before it; `None` only when
    /// no frame decodes at all.
    pub(super) fn frame_at(
        &mut self,
        target_s: f64,
        cancel: &AtomicBool,
    ) -> Result<Option<(f64, &frame::Video)>, ThumbnailError> {
        let seek = match &self.current {
            Some((at, _)) if target_s < at - SEEK_BACK_S => true,
            Some(_) if self.drained => false,
            Some((at, _)) => target_s - at > self.seek_ahead_s(),
            None => target_s > self.seek_ahead_s(),
        };
        if seek {
            self.seek(target_s);
        }
        self.decode_until(target_s, cancel)?;
        Ok(self.current.as_ref().map(|(at, frame)| (*at, frame)))
    }

    fn seek_ahead_s(&self) -> f64 {
        (self.gop_s.unwrap_or(UNKNOWN_GOP_S) * 1.5).max(MIN_SEEK_AHEAD_S)
    }

    /// Seeks to the key frame at or before `target_s`; on failure the reader
    /// carries on from where it is.
    fn seek(&mut self, target_s: f64) {
        let ts = ((target_s + self.start_s) * 1e6) as i64;
        // ffmpeg-next passes `..ts` as max_ts, which avformat_seek_file treats as
        // inclusive: the key frame at or before the target.
        if self.input.seek(ts, ..ts).is_ok() {
            self.seeks += 1;
            self.decoder.flush();
            self.current = None;
            self.packets_done = false;
            self.drained = false;
            // The next key frame is not one GOP after the last one seen.
            self.last_key_s = None;
        }
    }

    fn decode_until(&mut self, target_s: f64, cancel: &AtomicBool) -> Result<(), ThumbnailError> {
        loop {
            if let Some((at, _)) = &self.current {
                if *at >= target_s - AT_TARGET_S {
                    return Ok(());
                }
            }
            if self.drained {
                return Ok(());
            }
            let mut frame = frame::Video::empty();
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    let at = match frame.timestamp().or(frame.pts()) {
                        Some(ts) => ts as f64 * self.time_base - self.start_s,
                        // No timestamp: just after the previous frame.
                        None => self.current.as_ref().map_or(0.0, |(at, _)| at + 1e-3),
                    };
                    self.current = Some((at, frame));
                }
                Err(ffmpeg_next::Error::Eof) => self.drained = true,
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) => {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(ThumbnailError::Cancelled);
                    }
                    self.feed()?;
                }
                Err(e) => return Err(ThumbnailError::Decode(e.to_string())),
            }
        }
    }

    /// Sends the decoder the next packet of the stream, or the end of the stream.
    fn feed(&mut self) -> Result<(), ThumbnailError> {
        if self.packets_done {
            // The decoder had the end of stream and still wants input: nothing
            // more will come out.
            self.drained = true;
            return Ok(());
        }
        let mut packet = Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() != self.stream => continue,
                Ok(()) => {
                    self.note_key_frame(&packet);
                    match self.decoder.send_packet(&packet) {
                        // A corrupt packet costs a picture, not the thumbnails.
                        Ok(()) | Err(ffmpeg_next::Error::InvalidData) => return Ok(()),
                        Err(e) => return Err(ThumbnailError::Decode(e.to_string())),
                    }
                }
                // End of file, or a read error (a truncated file): decode what came.
                Err(_) => {
                    self.packets_done = true;
                    return match self.decoder.send_eof() {
                        Ok(()) | Err(ffmpeg_next::Error::Eof) => Ok(()),
                        Err(e) => Err(ThumbnailError::Decode(e.to_string())),
                    };
                }
            }
        }
    }

    fn note_key_frame(&mut self, packet: &Packet) {
        let Some(pts) = packet.pts().filter(|_| packet.is_key()) else {
            return;
        };
        let at = pts as f64 * self.time_base;
        if let Some(last) = self.last_key_s.filter(|last| at > *last) {
            let gap = at - last;
            self.gop_s = Some(self.gop_s.map_or(gap, |gop| gop.max(gap)));
        }
        self.last_key_s = Some(at);
    }
}

/// The end of the last packet of stream `index`, for containers that state no
/// duration (raw elementary streams, some live captures); demuxes without decoding.
fn scan_duration(path: &Path, index: usize, time_base: f64, start_s: f64) -> f64 {
    let Ok(mut input) = format::input(&path) else {
        return 0.0;
    };
    let mut end = 0i64;
    let mut packet = Packet::empty();
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            if let Some(pts) = packet.pts() {
                end = end.max(pts + packet.duration().max(0));
            }
        }
    }
    (end as f64 * time_base - start_s).max(0.0)
}
