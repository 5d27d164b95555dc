//! Test fixtures for the live segmenter, playlists and MPD: real decoder
//! configuration records (made by Debian's ffmpeg: libx264 High 640x360 and AAC-LC
//! 48 kHz stereo) and a virtual publisher producing interleaved, timestamped frames
//! on a virtual clock.

use bytes::{BufMut, Bytes, BytesMut};

use super::{LiveConfig, LiveStream};
use crate::codec::aac::AacConfig;
use crate::codec::avc::AvcConfig;
use crate::codec::hevc::HevcConfig;
use crate::media::{CodecConfig, Frame, MediaKind, Track};

/// `avcC` of `ffmpeg -f lavfi -i testsrc=size=640x360:rate=30 -c:v libx264 -profile:v high`.
pub(crate) const AVC_RECORD_HEX: &str =
    "0164001effe1001a6764001eacd940a02ff970110000030001000003003c0f162d9601000668ebe3cb22c0fdf8f800";
/// The SPS of [`AVC_RECORD_HEX`] (NAL header included).
pub(crate) const AVC_SPS_HEX: &str = "6764001eacd940a02ff970110000030001000003003c0f162d96";
/// The PPS of [`AVC_RECORD_HEX`].
pub(crate) const AVC_PPS_HEX: &str = "68ebe3cb22c0";
/// `hvcC` of `ffmpeg -f lavfi -i testsrc=size=1280x720:rate=25 -c:v libx265
/// -x265-params info=0 -tag:v hvc1` (Main, level 93; VPS, SPS, PPS arrays complete).
pub(crate) const HEVC_RECORD_HEX: &str =
    "0101600000009000000000005df000fcfdf8f800000f03a00001001840010c01ff\
    ff01600000030090000003000003005d959809a10001002b420101016000000300900000030000\
    03005da00280802d165959a4932bc05a020000030002000003003210a2000100074401c172b46240";
/// AudioSpecificConfig of ffmpeg's `aac` encoder at 48 kHz stereo.
pub(crate) const AAC_ASC_HEX: &str = "119056e500";
/// An SEI NAL unit with CEA-608 RU2 on CC1 (made by FFmpeg's libx264 wrapper,
/// `-a53cc 1`), see `codec::captions`.
pub(crate) const CC1_SEI_HEX: &str = "060411b5003147413934034200fc9425fd8080ff80";
/// An SEI NAL unit with CEA-608 RCL on CC3 (field 2), same layout.
pub(crate) const CC3_SEI_HEX: &str = "060411b5003147413934034200fc8080fd1520ff80";
/// An SEI NAL unit with one CEA-708 DTVCC packet: a 2-byte block for service 1.
pub(crate) const SERVICE1_SEI_HEX: &str = "060414b50031474139340343ffff0322fe4142fe0000ff80";
/// Wall clock of the virtual publisher's first frame.
pub(crate) const T0_MS: u64 = 1_700_000_000_000;

pub(crate) fn hex(s: &str) -> Bytes {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

pub(crate) fn video_track(id: u32) -> Track {
    Track {
        id,
        codec: CodecConfig::H264(AvcConfig::parse(hex(AVC_RECORD_HEX)).unwrap()),
        timescale: 1000,
        language: None,
        name: None,
    }
}

/// An H.265 track with [`HEVC_RECORD_HEX`].
pub(crate) fn hevc_video_track(id: u32) -> Track {
    Track {
        codec: CodecConfig::H265(HevcConfig::parse(hex(HEVC_RECORD_HEX)).unwrap()),
        ..video_track(id)
    }
}

pub(crate) fn audio_track(id: u32) -> Track {
    Track {
        id,
        codec: CodecConfig::Aac(AacConfig::parse(hex(AAC_ASC_HEX)).unwrap()),
        timescale: 1000,
        language: Some("en".into()),
        name: Some("English".into()),
    }
}

/// 2 s segments, 334 ms parts, 10 s window.
pub(crate) fn config() -> LiveConfig {
    LiveConfig {
        segment_target_ms: 2000,
        part_target_ms: 334,
        window_ms: 10_000,
    }
}

/// A publisher at 30 fps (key frame every `gop` frames) and AAC 1024-sample frames
/// at 48 kHz, RTMP-style millisecond timestamps starting at `src_start_ms`,
/// interleaved in decode order; each frame "arrives" at `t0_ms + media time`.
#[derive(Debug, Clone)]
pub(crate) struct Publisher {
    pub(crate) video: bool,
    pub(crate) audio: bool,
    pub(crate) gop: u64,
    pub(crate) src_start_ms: i64,
    pub(crate) t0_ms: u64,
    /// Bytes of a video frame (key frames are 4× that).
    pub(crate) frame_bytes: usize,
    /// Composition offsets cycle through these (ms), B-frame style, may be negative.
    pub(crate) cto_ms: Vec<i64>,
    pub(crate) video_n: u64,
    pub(crate) audio_n: u64,
    /// SEI NAL units (hex, no length prefix) put before every video frame's slice.
    pub(crate) sei: Vec<&'static str>,
    /// MPEG-TS style late audio: `Some(d)` announces the audio track only with its
    /// first frame (in [`Self::run`]) and interleaves each audio frame `d` ms after
    /// its media time (a TS muxer's audio buffering), arriving that much later.
    pub(crate) late_audio_ms: Option<i64>,
    /// Whether the audio track was announced (late audio: by [`Self::run`]).
    pub(crate) audio_announced: bool,
}

impl Publisher {
    pub(crate) fn av() -> Self {
        Self {
            video: true,
            audio: true,
            gop: 60,
            src_start_ms: 0,
            t0_ms: T0_MS,
            frame_bytes: 9000,
            cto_ms: vec![67, 0, 33],
            video_n: 0,
            audio_n: 0,
            sei: Vec::new(),
            late_audio_ms: None,
            audio_announced: false,
        }
    }

    fn video_ms(&self) -> i64 {
        (self.video_n as i64 * 1000 + 15) / 30
    }

    fn audio_ms(&self) -> i64 {
        (self.audio_n as i64 * 1024 * 1000 + 24_000) / 48_000
    }

    /// Where the next audio frame goes in the interleave (ms).
    fn audio_mux_ms(&self) -> i64 {
        self.audio_ms() + self.late_audio_ms.unwrap_or(0)
    }

    /// Media time (ms since this publisher's start) of the next frame (audio frames
    /// counted at their place in the interleave).
    pub(crate) fn next_ms(&self) -> i64 {
        match (self.video, self.audio) {
            (true, true) => self.video_ms().min(self.audio_mux_ms()),
            (true, false) => self.video_ms(),
            _ => self.audio_mux_ms(),
        }
    }

    /// The next frame in decode order and its arrival time.
    pub(crate) fn next_frame(&mut self) -> (Frame, u64) {
        let take_video = self.video && (!self.audio || self.video_ms() <= self.audio_mux_ms());
        let frame = if take_video {
            let ms = self.video_ms();
            let key = self.video_n.is_multiple_of(self.gop);
            let cto = self.cto_ms[(self.video_n % self.cto_ms.len() as u64) as usize];
            self.video_n += 1;
            let size = if key {
                self.frame_bytes * 4
            } else {
                self.frame_bytes
            };
            let dts = self.src_start_ms + ms;
            Frame {
                kind: MediaKind::Video,
                track: 0,
                dts,
                pts: dts + cto,
                keyframe: key,
                data: with_sei(&self.sei, nal(key, size)),
            }
        } else {
            let ms = self.audio_ms();
            self.audio_n += 1;
            let dts = self.src_start_ms + ms;
            Frame {
                kind: MediaKind::Audio,
                track: 0,
                dts,
                pts: dts,
                keyframe: true,
                data: Bytes::from(vec![0x21; 200]),
            }
        };
        let late = match frame.kind {
            MediaKind::Audio => self.late_audio_ms.unwrap_or(0),
            MediaKind::Video => 0,
        };
        let arrival = self.t0_ms + (frame.dts - self.src_start_ms + late) as u64;
        (frame, arrival)
    }

    /// Feeds frames until this publisher's media time reaches `until_ms`.
    pub(crate) fn run(&mut self, s: &mut LiveStream, until_ms: i64) {
        while self.next_ms() < until_ms {
            let (f, now) = self.next_frame();
            if f.kind == MediaKind::Audio && self.late_audio_ms.is_some() && !self.audio_announced {
                self.audio_announced = true;
                s.handle_track(audio_track(0), now);
            }
            s.handle_frame(f, now);
        }
    }

    /// Announces this publisher's tracks (late audio: only video; [`Self::run`]
    /// announces the audio with its first frame).
    pub(crate) fn announce(&mut self, s: &mut LiveStream) {
        if self.video {
            s.handle_track(video_track(0), self.t0_ms);
        }
        if self.audio && self.late_audio_ms.is_none() {
            s.handle_track(audio_track(0), self.t0_ms);
            self.audio_announced = true;
        }
    }
}

/// One length-prefixed NAL unit of `size` bytes in total (IDR or non-IDR slice).
fn nal(key: bool, size: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(size);
    b.put_u32((size - 4) as u32);
    b.put_u8(if key { 0x65 } else { 0x41 });
    b.resize(size, 0x5a);
    b.freeze()
}

/// `sei` (hex NAL units), each 4-byte length-prefixed, then `sample`.
fn with_sei(sei: &[&str], sample: Bytes) -> Bytes {
    if sei.is_empty() {
        return sample;
    }
    let mut b = BytesMut::new();
    for h in sei {
        let nal = hex(h);
        b.put_u32(nal.len() as u32);
        b.put_slice(&nal);
    }
    b.put_slice(&sample);
    b.freeze()
}

/// A stream with `p`'s tracks announced, fed until `until_ms`.
pub(crate) fn stream_with(p: &mut Publisher, cfg: LiveConfig, until_ms: i64) -> LiveStream {
    let mut s = LiveStream::new(cfg);
    p.announce(&mut s);
    p.run(&mut s, until_ms);
    s
}
