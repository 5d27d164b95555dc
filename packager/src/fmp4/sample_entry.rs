//! The `stsd` sample entry of each codec: the visual (ISO/IEC 14496-12 §12.1.3) or
//! audio (§12.2.3) base fields followed by the codec's configuration box, copied
//! verbatim from the parsed record:
//!
//! | codec | entry | configuration box |
//! |---|---|---|
//! | H.264 | `avc1` or `avc3` | `avcC` (ISO/IEC 14496-15 §5.4.2.1) |
//! | H.265 | `hvc1` or `hev1` | `hvcC` (ISO/IEC 14496-15 §8.4.1.1) |
//! | AV1 | `av01` | `av1C` (AV1-ISOBMFF §2.3) |
//! | VP9 | `vp09` | `vpcC` FullBox v1 (VP-ISOBMFF §2.2) |
//! | AAC | `mp4a` | `esds` (ISO/IEC 14496-14 §5.6) |
//! | Opus | `Opus` | `dOps` (Opus-ISOBMFF §4.3.2) |
//!
//! `hvc1`/`avc1` while every parameter set travels in the record (samples that
//! repeat the record's own are stripped, see [`super::parameter_sets`]), which
//! Apple players require; `hev1`/`avc3` once samples carry parameter sets that
//! differ from it. The `hvcC` gets `array_completeness` to match (§8.4.1.1.1,
//! [`crate::codec::hevc::HevcConfig::sample_entry_record`]).

use bytes::{BufMut, BytesMut};

use super::writer::{write_box, write_descriptor, write_full_box};
use crate::media::{AudioInfo, CodecConfig, VideoInfo};

/// `objectTypeIndication` for MPEG-4 Audio (ISO/IEC 14496-1 Table 5, as registered).
const OTI_MPEG4_AUDIO: u8 = 0x40;
/// `streamType` AudioStream (ISO/IEC 14496-1 Table 6).
const STREAM_TYPE_AUDIO: u8 = 0x05;
/// `SLConfigDescriptor.predefined` = 2 ("reserved for use in MP4 files").
const SL_PREDEFINED_MP4: u8 = 0x02;

/// Writes the single sample entry for `codec` into an open `stsd`.
pub(crate) fn write_sample_entry(out: &mut BytesMut, codec: &CodecConfig) {
    match codec {
        CodecConfig::H264(c) => visual(out, c.sample_entry_type(), c.video_info(), |out| {
            write_box(out, b"avcC", |out| out.put_slice(&c.record));
        }),
        CodecConfig::H265(c) => visual(out, c.sample_entry_type(), c.video_info(), |out| {
            write_box(out, b"hvcC", |out| out.put_slice(&c.sample_entry_record()));
        }),
        CodecConfig::Av1(c) => visual(out, b"av01", c.video_info(), |out| {
            write_box(out, b"av1C", |out| out.put_slice(&c.record));
        }),
        CodecConfig::Vp9(c) => visual(out, b"vp09", c.video_info(), |out| {
            write_full_box(out, b"vpcC", 1, 0, |out| out.put_slice(&c.config));
        }),
        CodecConfig::Aac(c) => audio(out, b"mp4a", c.audio_info(), |out| {
            write_esds(out, &c.record);
        }),
        CodecConfig::Opus(c) => audio(out, b"Opus", c.audio_info(), |out| {
            write_box(out, b"dOps", |out| out.put_slice(&c.record));
        }),
    }
}

/// `SampleEntry` (§8.5.2.2): six reserved bytes and `data_reference_index` = 1.
fn sample_entry_header(out: &mut BytesMut) {
    out.put_slice(&[0; 6]);
    out.put_u16(1);
}

/// `VisualSampleEntry` (§12.1.3.2).
fn visual(out: &mut BytesMut, kind: &[u8; 4], info: VideoInfo, config: impl FnOnce(&mut BytesMut)) {
    write_box(out, kind, |out| {
        sample_entry_header(out);
        out.put_u16(0); // pre_defined
        out.put_u16(0); // reserved
        out.put_slice(&[0; 12]); // pre_defined[3]
        out.put_u16(info.width.min(u32::from(u16::MAX)) as u16);
        out.put_u16(info.height.min(u32::from(u16::MAX)) as u16);
        out.put_u32(0x0048_0000); // horizresolution: 72 dpi
        out.put_u32(0x0048_0000); // vertresolution: 72 dpi
        out.put_u32(0); // reserved
        out.put_u16(1); // frame_count
        out.put_slice(&[0; 32]); // compressorname: empty Pascal string
        out.put_u16(0x0018); // depth: colour, no alpha
        out.put_i16(-1); // pre_defined
        config(out);
    });
}

/// `AudioSampleEntry` (§12.2.3.2), version 0. `samplerate` is 16.16, so rates above
/// 65535 Hz are written as 0 and the `mdhd` timescale carries the real rate.
fn audio(out: &mut BytesMut, kind: &[u8; 4], info: AudioInfo, config: impl FnOnce(&mut BytesMut)) {
    write_box(out, kind, |out| {
        sample_entry_header(out);
        out.put_slice(&[0; 8]); // reserved[2]
        out.put_u16(info.channels);
        out.put_u16(16); // samplesize
        out.put_u16(0); // pre_defined
        out.put_u16(0); // reserved
        let rate = if info.sample_rate <= 0xffff {
            info.sample_rate << 16
        } else {
            0
        };
        out.put_u32(rate);
        config(out);
    });
}

/// `esds` (ISO/IEC 14496-14 §5.6): ES_Descriptor { DecoderConfigDescriptor {
/// DecoderSpecificInfo = AudioSpecificConfig }, SLConfigDescriptor }
/// (ISO/IEC 14496-1 §7.2.6.5, §7.2.6.6, §7.3.2.3).
fn write_esds(out: &mut BytesMut, asc: &[u8]) {
    write_full_box(out, b"esds", 0, 0, |out| {
        write_descriptor(out, 0x03, |out| {
            out.put_u16(0); // ES_ID: 0 in MP4 files (ISO/IEC 14496-14 §3.1.2)
            out.put_u8(0); // streamDependenceFlag, URL_Flag, OCRstreamFlag, streamPriority
            write_descriptor(out, 0x04, |out| {
                out.put_u8(OTI_MPEG4_AUDIO);
                out.put_u8((STREAM_TYPE_AUDIO << 2) | 0x01); // upStream 0, reserved 1
                out.put_slice(&[0; 3]); // bufferSizeDB: unknown
                out.put_u32(0); // maxBitrate: unknown
                out.put_u32(0); // avgBitrate: unknown (variable)
                write_descriptor(out, 0x05, |out| out.put_slice(asc));
            });
            write_descriptor(out, 0x06, |out| out.put_u8(SL_PREDEFINED_MP4));
        });
    });
}
