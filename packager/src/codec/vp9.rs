//! VP9: VPCodecConfigurationRecord (VP Codec ISO Media File Format Binding v1.0 §2.2,
//! the payload of the `vpcC` FullBox version 1).
//!
//! The record is accepted with or without the `vpcC` FullBox header (`01 000000`):
//! MP4 demuxers hand over the box payload, some RTMP encoders the bare record.
//! [`Vp9Config::config`] is always the bare record.
//!
//! The record carries no picture size: [`Vp9Config::video_info`] reports 0x0 until
//! [`Vp9Config::set_dimensions`] is called (e.g. from the first key frame's
//! uncompressed header, or from RTMP `onMetaData`).

use bytes::Bytes;

use super::reader::ByteReader;
use super::CodecError;
use crate::media::VideoInfo;

const CODEC: &str = "VP9";

/// A parsed `vpcC` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Vp9Config {
    /// The record exactly as received.
    pub record: Bytes,
    /// The bare VPCodecConfigurationRecord (no FullBox header), a slice of `record`;
    /// written into `vpcC` version 1.
    pub config: Bytes,
    /// `profile` (0–3).
    pub profile: u8,
    /// `level` (10 = 1.0 … 62 = 6.2).
    pub level: u8,
    /// `bitDepth` (8, 10 or 12).
    pub bit_depth: u8,
    /// `chromaSubsampling` (0 = 4:2:0 vertical, 1 = 4:2:0 colocated, 2 = 4:2:2, 3 = 4:4:4).
    pub chroma_subsampling: u8,
    /// `videoFullRangeFlag`.
    pub full_range: bool,
    /// `colourPrimaries` (ISO/IEC 23091-2).
    pub colour_primaries: u8,
    /// `transferCharacteristics` (ISO/IEC 23091-2).
    pub transfer_characteristics: u8,
    /// `matrixCoefficients` (ISO/IEC 23091-2).
    pub matrix_coefficients: u8,
    /// Picture width, 0 until known (see the module docs).
    pub width: u32,
    /// Picture height, 0 until known.
    pub height: u32,
    /// Frame rate, when some other source told us.
    pub frame_rate: Option<f64>,
}

impl Vp9Config {
    /// Parses a VPCodecConfigurationRecord (bare, or with the `vpcC` FullBox header).
    pub fn parse(record: Bytes) -> Result<Self, CodecError> {
        CodecError::check_size(CODEC, record.len())?;
        let with_header = record.len() >= 12
            && record[..4] == [1, 0, 0, 0]
            && 12 + usize::from(u16::from_be_bytes([record[10], record[11]])) == record.len();
        let config = if with_header {
            record.slice(4..)
        } else {
            record.clone()
        };
        let mut r = ByteReader::new(CODEC, config.clone());
        let profile = r.u8("profile")?;
        let level = r.u8("level")?;
        let packed = r.u8("bitDepth, chromaSubsampling, videoFullRangeFlag")?;
        let colour_primaries = r.u8("colourPrimaries")?;
        let transfer_characteristics = r.u8("transferCharacteristics")?;
        let matrix_coefficients = r.u8("matrixCoefficients")?;
        let init_size = usize::from(r.u16("codecInitializationDataSize")?);
        r.take(init_size, "codecInitializationData")?;
        if profile > 3 {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "profile > 3",
            });
        }
        let bit_depth = packed >> 4;
        if !matches!(bit_depth, 8 | 10 | 12) {
            return Err(CodecError::Invalid {
                codec: CODEC,
                what: "bitDepth not 8, 10 or 12",
            });
        }
        Ok(Vp9Config {
            record,
            config,
            profile,
            level,
            bit_depth,
            chroma_subsampling: (packed >> 1) & 0x07,
            full_range: packed & 1 == 1,
            colour_primaries,
            transfer_characteristics,
            matrix_coefficients,
            width: 0,
            height: 0,
            frame_rate: None,
        })
    }

    /// Records the picture size (and frame rate, if known) learnt elsewhere.
    pub fn set_dimensions(&mut self, width: u32, height: u32, frame_rate: Option<f64>) {
        self.width = width;
        self.height = height;
        self.frame_rate = frame_rate;
    }

    /// `vp09.PP.LL.DD` (VP-ISOBMFF §E "Codecs Parameter String"). The optional
    /// `.CC.cp.tc.mc.FF` fields are appended only when they differ from the defaults
    /// (4:2:0 colocated, BT.709, limited range); "unspecified" (2) counts as default.
    pub fn codec_string(&self) -> String {
        let short = format!(
            "vp09.{:02}.{:02}.{:02}",
            self.profile, self.level, self.bit_depth
        );
        let colour_default = |v: u8| v == 1 || v == 2;
        if self.chroma_subsampling == 1
            && colour_default(self.colour_primaries)
            && colour_default(self.transfer_characteristics)
            && colour_default(self.matrix_coefficients)
            && !self.full_range
        {
            return short;
        }
        format!(
            "{short}.{:02}.{:02}.{:02}.{:02}.{:02}",
            self.chroma_subsampling,
            self.colour_primaries,
            self.transfer_characteristics,
            self.matrix_coefficients,
            u8::from(self.full_range)
        )
    }

    /// Picture size (0x0 until [`Vp9Config::set_dimensions`]) and frame rate.
    pub fn video_info(&self) -> VideoInfo {
        VideoInfo {
            width: self.width,
            height: self.height,
            frame_rate: self.frame_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_util::hex;
    use proptest::prelude::*;

    /// `vpcC` payload from `ffmpeg -c:v libvpx-vp9 -f mp4` (640x360, ffprobe Profile 0).
    const FFMPEG_VPCC: &str = "01000000 0015820202020000";

    #[test]
    fn parses_box_payload_and_bare_record() {
        let boxed = Vp9Config::parse(hex(FFMPEG_VPCC)).unwrap();
        assert_eq!(
            (
                boxed.profile,
                boxed.level,
                boxed.bit_depth,
                boxed.chroma_subsampling
            ),
            (0, 21, 8, 1)
        );
        assert_eq!(boxed.codec_string(), "vp09.00.21.08");
        assert_eq!(boxed.config, hex("0015820202020000"));
        let bare = Vp9Config::parse(hex("0015820202020000")).unwrap();
        assert_eq!(bare.config, boxed.config);
        assert_eq!(
            bare.video_info(),
            VideoInfo {
                width: 0,
                height: 0,
                frame_rate: None
            }
        );
    }

    #[test]
    fn full_codec_string_and_dimensions() {
        // Profile 2, level 4.1, 10 bit, 4:2:0 colocated, BT.2020 PQ, full range.
        let mut c = Vp9Config::parse(hex("02 29 a3 09 10 09 0000")).unwrap();
        assert_eq!(c.codec_string(), "vp09.02.41.10.01.09.16.09.01");
        c.set_dimensions(3840, 2160, Some(60.0));
        assert_eq!(
            c.video_info(),
            VideoInfo {
                width: 3840,
                height: 2160,
                frame_rate: Some(60.0)
            }
        );
    }

    #[test]
    fn rejects_bad_records() {
        assert!(matches!(
            Vp9Config::parse(hex("0015")),
            Err(CodecError::Truncated { .. })
        ));
        assert!(matches!(
            Vp9Config::parse(hex("0415820202020000")),
            Err(CodecError::Invalid { .. })
        ));
        assert!(matches!(
            Vp9Config::parse(hex("0015720202020000")),
            Err(CodecError::Invalid { .. })
        ));
        assert!(matches!(
            Vp9Config::parse(hex("00158202020200ff")),
            Err(CodecError::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn random_records_never_panic(data in proptest::collection::vec(any::<u8>(), 0..24)) {
            if let Ok(c) = Vp9Config::parse(data.into()) {
                let _ = c.codec_string();
            }
        }
    }
}
