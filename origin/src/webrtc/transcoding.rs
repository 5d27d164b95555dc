//! The feed thread's transcoders, over `packager::transcode` (FFmpeg):
//! - [`AudioToOpus`]: AAC (or any decodable audio) to Opus for WebRTC viewers,
//!   one per publish session, shared by every viewer (RFC 7587: 48 kHz, 20 ms);
//! - [`VideoWithoutBframes`]: H.264 with B-frames re-encoded without them
//!   (x264 `bframes=0`, `tune=zerolatency`), with key frames on viewers' requests.
//!
//! Both hand out `(pts, timescale, …)` so the feed maps them onto RTP clocks.

use packager::codec::avc::AvcConfig;
use packager::media::{CodecConfig, Frame, Track};
use packager::transcode::realtime_video::{
    EncodedVideo, H264Profile, NoBFramesEncoder, NoBFramesOptions,
};
use packager::transcode::{AudioTarget, AudioTranscoder, TranscodeError};

use super::feed_worker::FeedSettings;
use super::sample;

/// AAC to Opus, for one publish session.
pub struct AudioToOpus {
    transcoder: AudioTranscoder,
    timescale: u32,
}

impl AudioToOpus {
    /// Opens decoder and encoder for `source` at `bitrate` bit/s.
    pub fn new(source: &Track, bitrate: u32) -> Result<Self, TranscodeError> {
        packager::transcode::init();
        let transcoder = AudioTranscoder::new(source, AudioTarget::Opus { bitrate })?;
        let timescale = transcoder.track().timescale;
        Ok(Self {
            transcoder,
            timescale,
        })
    }

    /// One source frame in; `out(pts, timescale, opus_packet)` for each packet ready.
    pub fn push(
        &mut self,
        frame: &Frame,
        out: &mut dyn FnMut(i64, u32, Vec<u8>),
    ) -> Result<(), TranscodeError> {
        let timescale = self.timescale;
        self.transcoder.push(frame, &mut |f: Frame| {
            out(f.pts, timescale, f.data.to_vec())
        })
    }
}

/// H.264 with B-frames to H.264 without, for one publish session.
pub struct VideoWithoutBframes {
    encoder: NoBFramesEncoder,
    /// The output's current `avcC` (for parameter sets before IDRs).
    config: Option<AvcConfig>,
    timescale: u32,
}

impl VideoWithoutBframes {
    /// Opens the decoder for `source`; the encoder opens on the first picture.
    pub fn new(source: &Track, settings: &FeedSettings) -> Result<Self, TranscodeError> {
        packager::transcode::init();
        let options = NoBFramesOptions {
            preset: settings.reencode_preset.clone(),
            bitrate_kbps: settings.reencode_bitrate_kbps,
            profile: H264Profile::High,
            ..NoBFramesOptions::default()
        };
        Ok(Self {
            encoder: NoBFramesEncoder::new(source, options)?,
            config: None,
            timescale: source.timescale,
        })
    }

    /// The next picture out is an IDR (a viewer's PLI/FIR).
    pub fn request_keyframe(&mut self) {
        self.encoder.request_keyframe();
    }

    /// One source frame in; `out((pts, timescale, keyframe, annex_b))` for each
    /// picture ready.
    pub fn push(
        &mut self,
        frame: &Frame,
        out: &mut dyn FnMut((i64, u32, bool, Vec<u8>)),
    ) -> Result<(), TranscodeError> {
        let timescale = self.timescale;
        let config = &mut self.config;
        self.encoder.push(frame, &mut |e| match e {
            EncodedVideo::Track(track) => {
                if let CodecConfig::H264(c) = track.codec {
                    *config = Some(c);
                }
            }
            EncodedVideo::Frame(f) => {
                if let Some(c) = config.as_ref() {
                    let data = sample::annex_b_access_unit(c, &f.data, f.keyframe);
                    out((f.pts, timescale, f.keyframe, data));
                }
            }
        })
    }
}
