//! The way back: a packager H.264 [`Frame`] (length-prefixed NAL units, parameter
//! sets in the `avcC`) as the Annex B access unit FFmpeg's `h264` decoder takes
//! without any `extradata` (for the live ladder, which decodes ingest's frames).
//!
//! Key frames get the record's SPS and PPS in front, so a decoder can start at any
//! key frame; NAL units are written with 4-byte start codes (ITU-T H.264 Annex B).

use crate::codec::avc::AvcConfig;
use crate::media::Frame;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// `frame`'s NAL units in Annex B, preceded by `config`'s parameter sets when it is
/// a key frame. A length prefix that runs past the end stops the conversion (the
/// units before it are kept), so damaged input cannot panic.
pub fn annex_b_access_unit(config: &AvcConfig, frame: &Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.data.len() + 64);
    if frame.keyframe {
        for unit in config.sps.iter().chain(config.pps.iter()) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(unit);
        }
    }
    let size = usize::from(config.nal_length_size);
    let mut rest = &frame.data[..];
    while rest.len() > size {
        let len = rest[..size]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let Some(unit) = rest.get(size..size + len) else {
            break;
        };
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(unit);
        rest = &rest[size + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::codec::annex_b::nal_units;
    use crate::codec::test_util::hex;
    use crate::media::MediaKind;

    /// The 640×360 High-profile record ffmpeg 5.1 + libx264 wrote (see avc_tests.rs).
    fn config() -> AvcConfig {
        AvcConfig::parse(hex(
            "0164001effe1001a6764001eacd940a02ff970110000030001000003003c0f162d96\
             01000668ebe3cb22c0fdf8f800",
        ))
        .unwrap()
    }

    fn frame(keyframe: bool, data: &'static [u8]) -> Frame {
        Frame {
            kind: MediaKind::Video,
            track: 0,
            dts: 0,
            pts: 0,
            keyframe,
            data: Bytes::from_static(data),
        }
    }

    #[test]
    fn key_frames_carry_the_parameter_sets() {
        let config = config();
        let data = &[0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 3, 0x65, 0x88, 0x84];
        let key = annex_b_access_unit(&config, &frame(true, data));
        let units = nal_units(&key);
        assert_eq!(units.len(), 4);
        assert_eq!(units[0], &config.sps[0][..]);
        assert_eq!(units[1], &config.pps[0][..]);
        assert_eq!(units[2..], [&[0x06, 0x05][..], &[0x65, 0x88, 0x84][..]]);
        let delta = annex_b_access_unit(&config, &frame(false, &[0, 0, 0, 2, 0x41, 0x9a]));
        assert_eq!(delta, vec![0, 0, 0, 1, 0x41, 0x9a]);
    }

    #[test]
    fn a_length_past_the_end_stops_without_panicking() {
        let out = annex_b_access_unit(&config(), &frame(false, &[0, 0, 0, 1, 0x41, 0, 0, 9, 9]));
        assert_eq!(out, vec![0, 0, 0, 1, 0x41]);
    }
}
