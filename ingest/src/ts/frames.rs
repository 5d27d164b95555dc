//! From demuxed PES packets to the packager's tracks and frames.
//!
//! | TS stream | track announced from | frame |
//! |---|---|---|
//! | H.264 (Annex B) | in-band SPS + PPS → `avcC` | the access unit's NAL units, 4-byte length-prefixed; AUDs and parameter sets dropped (they live in `avcC`); SEI kept (captions) |
//! | H.265 (Annex B) | in-band VPS + SPS + PPS → `hvcC` | likewise |
//! | AAC (ADTS) | the first ADTS header → AudioSpecificConfig | one raw access unit per ADTS frame, PTS advanced by 1,024 samples per frame |
//! | Opus (control headers) | the PMT's Opus audio descriptor → channel layout, the first access unit's `start_trim` → pre-skip (else [`DEFAULT_OPUS_PRE_SKIP`]) → `dOps` | one access unit per control header, PTS advanced by each packet's TOC duration |
//!
//! Timestamps stay in the TS 90 kHz clock (the track timescale); every Opus frame
//! size (multiples of 2.5 ms) is a whole number of 90 kHz ticks. A track is
//! announced again when its parameter sets change. Video is held back until its
//! first parameter sets arrive; frames before them cannot be decoded.
//! An Opus stream whose descriptor names a channel configuration this converter
//! does not map ([`OpusDescriptorError`]) is counted in [`FrameStats::unsupported`];
//! `end_trim` is not applied (CMAF fragments have no per-sample trim).

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use packager::codec::aac::AacConfig;
use packager::codec::annex_b::nal_units as annex_b_units;
use packager::codec::avc::AvcConfig;
use packager::codec::hevc::HevcConfig;
use packager::codec::opus::OpusConfig;
use packager::media::{CodecConfig, Frame, MediaKind, Track, TrackId};

use super::demuxer::{EsCodec, EsInfo, PesPacket, TsEvent};
use super::opus_descriptor::{OpusChannelLayout, OpusDescriptorError};
use super::opus_pes::{access_units, packet_samples, OpusAccessUnit, OPUS_CLOCK_HZ};
use super::timestamps::CLOCK_HZ;

/// `dOps` pre-skip when the stream does not say (no `start_trim` on the first access
/// unit seen, e.g. when joining mid-stream): libopus's encoder delay at 48 kHz, 6.5 ms,
/// what ffmpeg's libopus encoder signals.
pub const DEFAULT_OPUS_PRE_SKIP: u16 = 312;

/// What the converter produces.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameEvent {
    /// A track appeared or its configuration changed.
    Track(Track),
    /// One access unit.
    Frame(Frame),
}

/// Counters for logs and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FrameStats {
    /// PES packets whose content could not be read (bad ADTS, bad parameter sets,
    /// bad Opus control headers or TOC bytes).
    pub malformed: u64,
    /// Video access units dropped before the first parameter sets.
    pub waiting_for_parameter_sets: u64,
    /// PES packets of streams this converter does not handle (an Opus channel
    /// configuration it does not map).
    pub unsupported: u64,
}

#[derive(Debug, Default)]
struct VideoState {
    vps: Option<Bytes>,
    sps: Option<Bytes>,
    pps: Option<Bytes>,
    announced: Option<CodecConfig>,
}

#[derive(Debug)]
struct StreamState {
    info: EsInfo,
    id: TrackId,
    video: VideoState,
    audio: Option<(AacConfig, [u8; 2])>,
    opus: Option<OpusConfig>,
}

/// The converter; feed it every [`TsEvent`].
#[derive(Debug, Default)]
pub struct TsFrames {
    streams: HashMap<u16, StreamState>,
    stats: FrameStats,
}

impl TsFrames {
    /// A converter with no streams yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters so far.
    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Converts one demuxer event; appends what it yields to `out`.
    pub fn handle(&mut self, event: TsEvent, out: &mut Vec<FrameEvent>) {
        match event {
            TsEvent::Streams(streams) => self.streams_changed(streams),
            TsEvent::Pes(pes) => self.pes(pes, out),
        }
    }

    fn streams_changed(&mut self, streams: Vec<EsInfo>) {
        let mut next = HashMap::new();
        let (mut video_id, mut audio_id) = (0, 0);
        for info in streams {
            let id = match info.codec {
                EsCodec::H264 | EsCodec::H265 => &mut video_id,
                EsCodec::Aac | EsCodec::Opus => &mut audio_id,
            };
            let state = match self.streams.remove(&info.pid) {
                Some(s)
                    if s.info.codec == info.codec
                        && s.info.opus_audio == info.opus_audio
                        && s.id == *id =>
                {
                    s
                }
                _ => StreamState {
                    info: info.clone(),
                    id: *id,
                    video: VideoState::default(),
                    audio: None,
                    opus: None,
                },
            };
            *id += 1;
            next.insert(info.pid, state);
        }
        self.streams = next;
    }

    fn pes(&mut self, pes: PesPacket, out: &mut Vec<FrameEvent>) {
        let Some(s) = self.streams.get_mut(&pes.pid) else {
            return;
        };
        let Some(pts) = pes.pts else {
            self.stats.malformed += 1;
            return;
        };
        let dts = pes.dts.unwrap_or(pts);
        match s.info.codec {
            EsCodec::H264 | EsCodec::H265 => video(s, &pes, pts, dts, &mut self.stats, out),
            EsCodec::Aac => aac(s, &pes, pts, &mut self.stats, out),
            EsCodec::Opus => opus(s, &pes, pts, &mut self.stats, out),
        }
    }
}

fn track(s: &StreamState, codec: CodecConfig) -> Track {
    Track {
        id: s.id,
        codec,
        timescale: CLOCK_HZ as u32,
        language: s.info.language.clone(),
        name: None,
    }
}

fn video(
    s: &mut StreamState,
    pes: &PesPacket,
    pts: u64,
    dts: u64,
    stats: &mut FrameStats,
    out: &mut Vec<FrameEvent>,
) {
    let hevc = s.info.codec == EsCodec::H265;
    let mut body = BytesMut::with_capacity(pes.data.len() + 16);
    let mut keyframe = false;
    for unit in annex_b_units(&pes.data) {
        let (kind, parameter) = if hevc {
            let t = (unit[0] >> 1) & 0x3f;
            // ITU-T H.265 table 7-1: 32 VPS, 33 SPS, 34 PPS, 35 AUD, 16..=23 IRAP.
            keyframe |= (16..=23).contains(&t);
            (t, matches!(t, 32..=35))
        } else {
            let t = unit[0] & 0x1f;
            // ITU-T H.264 table 7-1: 5 IDR, 7 SPS, 8 PPS, 9 AUD.
            keyframe |= t == 5;
            (t, matches!(t, 7..=9))
        };
        let unit_bytes = pes.data.slice_ref(unit);
        match (hevc, kind) {
            (true, 32) => s.video.vps = Some(unit_bytes),
            (true, 33) | (false, 7) => s.video.sps = Some(unit_bytes),
            (true, 34) | (false, 8) => s.video.pps = Some(unit_bytes),
            _ => {}
        }
        if !parameter {
            body.put_u32(unit.len() as u32);
            body.put_slice(unit);
        }
    }
    // (Re)announce when the parameter sets are complete and new.
    let config = match (&s.video.vps, &s.video.sps, &s.video.pps) {
        (vps, Some(sps), Some(pps)) if !hevc || vps.is_some() => {
            let built = if hevc {
                HevcConfig::from_parameter_sets(
                    &[vps.clone().unwrap_or_default()],
                    std::slice::from_ref(sps),
                    std::slice::from_ref(pps),
                )
                .map(CodecConfig::H265)
            } else {
                AvcConfig::from_parameter_sets(std::slice::from_ref(sps), std::slice::from_ref(pps))
                    .map(CodecConfig::H264)
            };
            match built {
                Ok(c) => Some(c),
                Err(_) => {
                    stats.malformed += 1;
                    None
                }
            }
        }
        _ => None,
    };
    if let Some(config) = config {
        if s.video.announced.as_ref() != Some(&config) {
            s.video.announced = Some(config.clone());
            out.push(FrameEvent::Track(track(s, config)));
        }
    }
    if s.video.announced.is_none() {
        stats.waiting_for_parameter_sets += 1;
        return;
    }
    if body.is_empty() {
        return;
    }
    out.push(FrameEvent::Frame(Frame {
        kind: MediaKind::Video,
        track: s.id,
        dts: dts as i64,
        pts: pts as i64,
        keyframe,
        data: body.freeze(),
    }));
}

fn aac(
    s: &mut StreamState,
    pes: &PesPacket,
    pts: u64,
    stats: &mut FrameStats,
    out: &mut Vec<FrameEvent>,
) {
    let data = &pes.data;
    let mut at = 0;
    let mut index = 0u64;
    while at + 7 <= data.len() {
        let h = &data[at..];
        if h[0] != 0xff || h[1] & 0xf0 != 0xf0 {
            stats.malformed += 1;
            return;
        }
        // ISO/IEC 13818-7 §6.2: frame_length (13 bits) includes the header.
        let len =
            (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        let header = if h[1] & 0x01 == 0 { 9 } else { 7 };
        if len < header || at + len > data.len() {
            stats.malformed += 1;
            return;
        }
        let key = [h[2], h[3] & 0xc0];
        if s.audio.as_ref().is_none_or(|(_, k)| *k != key) {
            match AacConfig::from_adts_header(&h[..7]) {
                Ok(config) => {
                    out.push(FrameEvent::Track(track(
                        s,
                        CodecConfig::Aac(config.clone()),
                    )));
                    s.audio = Some((config, key));
                }
                Err(_) => {
                    stats.malformed += 1;
                    return;
                }
            }
        }
        let info = s.audio.as_ref().map(|(c, _)| c.audio_info());
        let rate = info.map_or(48_000, |i| i.sample_rate.max(1));
        let samples = u64::from(info.map_or(1024, |i| i.samples_per_frame));
        let t = pts + index * samples * CLOCK_HZ / u64::from(rate);
        out.push(audio_frame(s.id, t, data.slice(at + header..at + len)));
        at += len;
        index += 1;
    }
}

fn opus(
    s: &mut StreamState,
    pes: &PesPacket,
    pts: u64,
    stats: &mut FrameStats,
    out: &mut Vec<FrameEvent>,
) {
    let (units, error) = access_units(&pes.data);
    if s.opus.is_none() {
        let layout = match OpusChannelLayout::from_descriptor(s.info.opus_audio.as_deref()) {
            Ok(l) => l,
            Err(OpusDescriptorError::UnsupportedChannelConfig(_)) => {
                stats.unsupported += 1;
                return;
            }
            Err(_) => {
                stats.malformed += 1;
                return;
            }
        };
        if units.is_empty() {
            stats.malformed += 1;
            return;
        }
        let pre_skip = opus_pre_skip(&units).unwrap_or(DEFAULT_OPUS_PRE_SKIP);
        match OpusConfig::from_channel_layout(
            layout.channels,
            pre_skip,
            layout.mapping_family,
            &layout.table,
        ) {
            Ok(config) => {
                out.push(FrameEvent::Track(track(
                    s,
                    CodecConfig::Opus(config.clone()),
                )));
                s.opus = Some(config);
            }
            Err(_) => {
                stats.malformed += 1;
                return;
            }
        }
    }
    let mut malformed = error.is_some();
    let mut samples = 0u64;
    for unit in units {
        let Ok(n) = packet_samples(&unit.data) else {
            // Later units cannot be timed without this one's duration.
            malformed = true;
            break;
        };
        let t = pts + samples * CLOCK_HZ / u64::from(OPUS_CLOCK_HZ);
        out.push(audio_frame(s.id, t, unit.data));
        samples += u64::from(n);
    }
    if malformed {
        stats.malformed += 1;
    }
}

/// The `start_trim` of the first access unit, plus those of the units after it
/// while each trims a whole packet (ffmpeg spreads an encoder delay longer than its
/// first packet over several); `None` when the first unit has none.
fn opus_pre_skip(units: &[OpusAccessUnit]) -> Option<u16> {
    let mut total = units.first()?.start_trim?;
    for pair in units.windows(2) {
        let whole = packet_samples(&pair[0].data).ok();
        match (pair[0].start_trim, pair[1].start_trim) {
            (Some(t), Some(next)) if Some(u32::from(t)) == whole => {
                total = total.saturating_add(next)
            }
            _ => break,
        }
    }
    Some(total)
}

/// One audio access unit at `t` (90 kHz): audio has no reordering, and every unit
/// is a random access point.
fn audio_frame(track: TrackId, t: u64, data: Bytes) -> FrameEvent {
    FrameEvent::Frame(Frame {
        kind: MediaKind::Audio,
        track,
        dts: t as i64,
        pts: t as i64,
        keyframe: true,
        data,
    })
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
