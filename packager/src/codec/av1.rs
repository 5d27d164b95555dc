//! AV1: AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3) and the sequence header OBU
//! in its `configOBUs` ([`super::av1_sequence`]).
//!
//! The record's four fixed bytes give profile, level, tier, bit depth and chroma
//! format. Picture size, frame rate and colour come from the sequence header. When
//! `configOBUs` is empty (allowed by §2.3.4, the sequence header then travels in the
//! first key frame), `width`/`height` are 0 and `frame_rate` is `None` until
//! [`Av1Config::set_sequence_header`] is called with that OBU.

use bytes::Bytes;

use super::av1_sequence::{find_sequence_header, SequenceHeader};
use super::reader::ByteReader;
use super::CodecError;
use crate::media::VideoInfo;

const CODEC: &str = "AV1";

/// A parsed `av1C` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Av1Config {
    /// The record exactly as received, copied into the `av1C` box.
    pub record: Bytes,
    /// `seq_profile` (0 Main, 1 High, 2 Professional).
    pub profile: u8,
    /// `seq_level_idx_0`.
    pub level: u8,
    /// `seq_tier_0` (High tier).
    pub high_tier: bool,
    /// 8, 10 or 12, from `high_bitdepth` and `twelve_bit`.
    pub bit_depth: u8,
    /// `monochrome`.
    pub monochrome: bool,
    /// `chroma_subsampling_x`, `chroma_subsampling_y`, `chroma_sample_position`.
    pub chroma: (u8, u8, u8),
    /// The sequence header, when `configOBUs` carried one.
    pub sequence_header: Option<SequenceHeader>,
}

impl Av1Config {
    /// Parses an AV1CodecConfigurationRecord (with its configOBUs sequence header).
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        CodecError::check_size(CODEC, record.len())?;
        let mut r = ByteReader::new(CODEC, record.clone());
        let b0 = r.u8("marker, version")?;
        // §2.3.3: marker = 1, version = 1.
        if b0 != 0x81 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "marker/version is not 1/1",
            });
        }
        let b1 = r.u8("seq_profile, seq_level_idx_0")?;
        let b2 = r.u8("seq_tier_0 .. chroma_sample_position")?;
        r.u8("initial_presentation_delay")?;
        let obus = r.rest();
        let sequence_header = find_sequence_header(&obus)?
            .map(SequenceHeader::parse)
            .transpose()?;
        let bit_depth = match (b2 & 0x40 != 0, b2 & 0x20 != 0) {
            (false, _) => 8,
            (true, false) => 10,
            (true, true) => 12,
        };
        Ok(Av1Config {
            record,
            profile: b1 >> 5,
            level: b1 & 0x1f,
            high_tier: b2 & 0x80 != 0,
            bit_depth,
            monochrome: b2 & 0x10 != 0,
            chroma: ((b2 >> 3) & 1, (b2 >> 2) & 1, b2 & 3),
            sequence_header,
        })
    }

    /// Supplies the sequence header OBU (with its OBU header) when `configOBUs` was
    /// empty, e.g. from the first key frame.
    pub fn set_sequence_header(&mut self, obu: &[u8]) -> Result<(), CodecError> {
        let payload = find_sequence_header(obu)?.ok_or(CodecError::Invalid {
            codec: CODEC,
            what: "no sequence header OBU",
        })?;
        self.sequence_header = Some(SequenceHeader::parse(payload)?);
        Ok(())
    }

    /// `av01.P.LLT.DD` (AV1-ISOBMFF "Codecs Parameter String"). The optional
    /// `.M.CCC.cp.tc.mc.F` fields are all appended only when one differs from its
    /// default (not monochrome, 4:2:0 `110`, BT.709, limited range); "unspecified"
    /// colour (2) counts as default.
    pub fn codec_string(&self) -> String {
        let tier = if self.high_tier { 'H' } else { 'M' };
        let short = format!(
            "av01.{}.{:02}{tier}.{:02}",
            self.profile, self.level, self.bit_depth
        );
        let (cp, tc, mc, full) = self.sequence_header.map_or((1, 1, 1, false), |h| {
            (
                h.color_primaries,
                h.transfer_characteristics,
                h.matrix_coefficients,
                h.full_range,
            )
        });
        let default = |v: u8| v == 1 || v == 2;
        let (x, y, pos) = self.chroma;
        if !self.monochrome
            && (x, y, pos) == (1, 1, 0)
            && default(cp)
            && default(tc)
            && default(mc)
            && !full
        {
            return short;
        }
        format!(
            "{short}.{}.{x}{y}{pos}.{cp:02}.{tc:02}.{mc:02}.{}",
            u8::from(self.monochrome),
            u8::from(full)
        )
    }

    /// Picture size (from the sequence header; 0x0 without one) and frame rate when
    /// its timing info signals it.
    pub fn video_info(&self) -> VideoInfo {
        self.sequence_header.map_or(
            VideoInfo {
                width: 0,
                height: 0,
                frame_rate: None,
            },
            |h| VideoInfo {
                width: h.max_width,
                height: h.max_height,
                frame_rate: h.frame_rate,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::hex;
    use proptest::prelude::*;

    /// `ffmpeg -f lavfi -i testsrc=size=640x360:rate=30 -c:v libsvtav1 -f mp4`
    /// (SVT-AV1 1.4.1); ffprobe: av1 Main, 640x360.
    const SVT_640X360: &str = "81010c00 0a0b0000000cc4ff6700be0010";

    #[test]
    fn parses_svt_record() {
        let c = Av1Config::parse(hex(SVT_640X360)).unwrap();
        assert_eq!(
            (c.profile, c.level, c.high_tier, c.bit_depth),
            (0, 1, false, 8)
        );
        assert_eq!(c.chroma, (1, 1, 0));
        assert_eq!(c.codec_string(), "av01.0.01M.08");
        let info = c.video_info();
        assert_eq!((info.width, info.height), (640, 360));
    }

    #[test]
    fn empty_config_obus_then_sequence_header() {
        let mut c = Av1Config::parse(hex("81010c00")).unwrap();
        assert_eq!(
            c.video_info(),
            VideoInfo {
                width: 0,
                height: 0,
                frame_rate: None
            }
        );
        c.set_sequence_header(&hex("0a0b0000000cc4ff6700be0010"))
            .unwrap();
        assert_eq!((c.video_info().width, c.video_info().height), (640, 360));
        assert!(c.set_sequence_header(&hex("1200")).is_err());
    }

    #[test]
    fn long_codec_string_for_non_default_colour() {
        let mut c = Av1Config::parse(hex(SVT_640X360)).unwrap();
        let h = c.sequence_header.as_mut().unwrap();
        (
            h.color_primaries,
            h.transfer_characteristics,
            h.matrix_coefficients,
            h.full_range,
        ) = (9, 16, 9, false);
        c.bit_depth = 10;
        assert_eq!(c.codec_string(), "av01.0.01M.10.0.110.09.16.09.0");
    }

    #[test]
    fn rejects_bad_records() {
        assert!(matches!(
            Av1Config::parse(hex("8101")),
            Err(CodecError::Truncated { .. })
        ));
        assert!(matches!(
            Av1Config::parse(hex("01010c00")),
            Err(CodecError::Invalid { .. })
        ));
        // Sequence header OBU whose size runs past the end.
        assert!(matches!(
            Av1Config::parse(hex("81010c00 0a2000")),
            Err(CodecError::Truncated { .. })
        ));
        assert!(Av1Config::parse(hex("81010c00 0aff ffffffffffffff")).is_err());
    }

    proptest! {
        #[test]
        fn random_records_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..48)) {
            let mut v = hex("81010c00").to_vec();
            v.extend(&tail);
            if let Ok(c) = Av1Config::parse(v.into()) {
                let _ = (c.codec_string(), c.video_info());
            }
            let _ = Av1Config::parse(tail.into());
        }

        #[test]
        fn random_sequence_headers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = SequenceHeader::parse(&data);
        }
    }
}
