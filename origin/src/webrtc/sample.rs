//! What the media loop writes to viewers: one access unit, ready for str0m's
//! packetizer, shared by every viewer of a channel (`Arc<[u8]>`, no copy per viewer).
//!
//! - H.264 goes out in Annex B (str0m's packetizer, RFC 6184 §5.7, splits on start
//!   codes). The packager's samples are length-prefixed (ISO/IEC 14496-15 §5.3.3);
//!   [`annex_b_access_unit`] converts and puts the SPS/PPS in front of every IDR, so
//!   a viewer that starts at a key frame can always decode it.
//! - RTP clocks: 90 kHz for video (RFC 6184 §5.1), 48 kHz for Opus whatever the
//!   input rate (RFC 7587 §4.1). [`rtp_ticks`] rescales track timestamps.

use std::sync::Arc;
use std::time::Instant;

use packager::codec::av1::Av1Config;
use packager::codec::avc::{nal_unit_type, AvcConfig};

/// Video or audio, as the loop routes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// An H.264 access unit in Annex B.
    Video,
    /// One Opus packet.
    Audio,
}

/// One access unit for WebRTC viewers.
#[derive(Debug, Clone)]
pub struct RtcSample {
    /// Video or audio.
    pub kind: SampleKind,
    /// Presentation time on the RTP clock (90 kHz video, 48 kHz Opus).
    pub rtp_time: u64,
    /// When this media time happened at the origin: the same mapping for audio
    /// and video, so RTCP sender reports let players synchronise them
    /// (RFC 3550 §6.4.1).
    pub wallclock: Instant,
    /// A key frame (IDR with parameter sets); always true for audio.
    pub keyframe: bool,
    /// The payload.
    pub data: Arc<[u8]>,
}

/// `ticks` of a track with `timescale` ticks per second, on a `clock` Hz RTP
/// clock. Negative times (before the stream's origin) become 0.
pub fn rtp_ticks(ticks: i64, timescale: u32, clock: u32) -> u64 {
    if ticks <= 0 || timescale == 0 {
        return 0;
    }
    (i128::from(ticks) * i128::from(clock) / i128::from(timescale)) as u64
}

/// The SDP `profile-level-id` (RFC 6184 §8.1: profile_idc, constraint flags,
/// level_idc as six hex digits) of an `avcC` record.
pub fn profile_level_id(config: &AvcConfig) -> u32 {
    (u32::from(config.profile) << 16)
        | (u32::from(config.constraints) << 8)
        | u32::from(config.level)
}

/// Whether a length-prefixed H.264 sample holds an IDR slice (nal_unit_type 5,
/// ISO/IEC 14496-10 Table 7-1).
pub fn is_idr(config: &AvcConfig, data: &[u8]) -> bool {
    length_prefixed_units(data, config.nal_length_size).any(|n| nal_unit_type(n[0]) == 5)
}

/// Converts a length-prefixed H.264 sample into Annex B, with the record's SPS
/// and PPS in front when `keyframe` and the sample carries none itself. Access unit
/// delimiters are dropped (RFC 6184 §5.7 leaves them to the receiver, and Chrome's
/// depacketizer ignores them). Truncated length prefixes end the sample.
pub fn annex_b_access_unit(config: &AvcConfig, data: &[u8], keyframe: bool) -> Vec<u8> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let mut out = Vec::with_capacity(data.len() + 64);
    let has_parameter_sets = length_prefixed_units(data, config.nal_length_size)
        .any(|n| matches!(nal_unit_type(n[0]), 7 | 8));
    if keyframe && !has_parameter_sets {
        for unit in config.sps.iter().chain(config.pps.iter()) {
            out.extend_from_slice(&START);
            out.extend_from_slice(unit);
        }
    }
    for unit in length_prefixed_units(data, config.nal_length_size) {
        if nal_unit_type(unit[0]) == 9 {
            continue;
        }
        out.extend_from_slice(&START);
        out.extend_from_slice(unit);
    }
    out
}

/// An AV1 sample (low-overhead OBUs with `obu_size`, AV1-ISOBMFF §2.4) as a
/// temporal unit for str0m's AV1 packetizer, with the `av1C` configOBUs (the
/// sequence header, AV1-ISOBMFF §2.3.3) in front of key frames that carry none, so
/// a viewer starting there can decode (RTP payload format for AV1 §7.5).
pub fn av1_temporal_unit(config: &Av1Config, data: &[u8], keyframe: bool) -> Vec<u8> {
    // OBU header: obu_type in bits 6..3 (AV1 §5.3.2); 1 = OBU_SEQUENCE_HEADER.
    let has_sequence_header = data.first().is_some_and(|h| (h >> 3) & 0x0f == 1);
    let config_obus = config.record.get(4..).unwrap_or_default();
    let mut out = Vec::with_capacity(data.len() + config_obus.len());
    if keyframe && !has_sequence_header {
        out.extend_from_slice(config_obus);
    }
    out.extend_from_slice(data);
    out
}

/// The non-empty NAL units of a sample whose units carry `size`-byte big-endian
/// length prefixes (ISO/IEC 14496-15 §5.3.3).
fn length_prefixed_units(data: &[u8], size: u8) -> impl Iterator<Item = &[u8]> {
    let size = usize::from(size.clamp(1, 4));
    let mut rest = data;
    std::iter::from_fn(move || loop {
        if rest.len() < size {
            return None;
        }
        let len = rest[..size]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let body = rest.get(size..size + len)?;
        rest = &rest[size + len..];
        if !body.is_empty() {
            return Some(body);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn config() -> AvcConfig {
        // A real 64x64 High-profile SPS/PPS pair (x264).
        let sps = [
            0x67, 0x64, 0x00, 0x0a, 0xac, 0xd9, 0x44, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00,
            0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x48, 0x96, 0x58,
        ];
        let pps = [0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];
        AvcConfig::from_parameter_sets(
            &[Bytes::copy_from_slice(&sps)],
            &[Bytes::copy_from_slice(&pps)],
        )
        .expect("valid parameter sets")
    }

    fn prefixed(units: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for u in units {
            out.extend_from_slice(&(u.len() as u32).to_be_bytes());
            out.extend_from_slice(u);
        }
        out
    }

    #[test]
    fn idr_gets_parameter_sets_and_loses_its_delimiter() {
        let c = config();
        let sample = prefixed(&[&[0x09, 0xf0], &[0x65, 0x88, 0x84]]);
        assert!(is_idr(&c, &sample));
        let out = annex_b_access_unit(&c, &sample, true);
        let units = packager::codec::annex_b::nal_units(&out);
        let types: Vec<u8> = units.iter().map(|u| u[0] & 0x1f).collect();
        assert_eq!(types, [7, 8, 5]);
        assert_eq!(units[2], &[0x65, 0x88, 0x84]);
    }

    #[test]
    fn non_idr_is_converted_as_is_and_truncation_stops_cleanly() {
        let c = config();
        let mut sample = prefixed(&[&[0x41, 0x9a, 0x01]]);
        assert!(!is_idr(&c, &sample));
        sample.extend_from_slice(&[0, 0, 0, 9, 0x41]); // claims 9 bytes, has 1
        let out = annex_b_access_unit(&c, &sample, false);
        assert_eq!(out, [0, 0, 0, 1, 0x41, 0x9a, 0x01]);
    }

    #[test]
    fn profile_level_id_and_rtp_clocks() {
        assert_eq!(profile_level_id(&config()), 0x64000a);
        assert_eq!(rtp_ticks(1_000, 1_000, 90_000), 90_000);
        assert_eq!(rtp_ticks(441, 44_100, 48_000), 480);
        assert_eq!(rtp_ticks(-5, 1_000, 90_000), 0);
    }
}
