//! The CMAF header (ISO/IEC 23000-19 §7.3.2.1): `ftyp` + `moov` for one track, with
//! empty sample tables and `mvex`/`trex`, as ISO/IEC 14496-12 §8.8.1 requires for
//! fragmented files.
//!
//! ```text
//! ftyp
//! moov ─ mvhd
//!      ├ trak ─ tkhd
//!      │      └ mdia ─ mdhd, hdlr
//!      │             └ minf ─ vmhd | smhd
//!      │                    ├ dinf ─ dref ─ url
//!      │                    └ stbl ─ stsd ─ (sample entry), stts, stsc, stsz, stco
//!      └ mvex ─ trex
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::fragment::TRACK_ID;
use super::sample_entry::write_sample_entry;
use super::writer::{put_unity_matrix, write_box, write_full_box};
use super::{media_timescale, MuxError};
use crate::media::{MediaKind, Track};

/// `ftyp` major brand: the CMAF structural brand (ISO/IEC 23000-19 §7.2).
const MAJOR_BRAND: &[u8; 4] = b"cmfc";
/// `ftyp` compatible brands: CMAF, ISO BMFF v6 (tfdt v1, trun v1), MP4 v1, DASH.
const COMPATIBLE_BRANDS: [&[u8; 4]; 5] = [b"cmfc", b"iso6", b"isom", b"mp41", b"dash"];
/// `mvhd` timescale; the movie has no duration, so any value works.
const MOVIE_TIMESCALE: u32 = 1000;

/// `ftyp` + `moov` (with `mvex`/`trex`) for one track; its `track_ID` is 1.
pub fn init_segment(track: &Track) -> Result<Bytes, MuxError> {
    let mut out = BytesMut::with_capacity(1024);
    // §4.3 FileTypeBox.
    write_box(&mut out, b"ftyp", |out| {
        out.put_slice(MAJOR_BRAND);
        out.put_u32(0); // minor_version
        for brand in COMPATIBLE_BRANDS {
            out.put_slice(brand);
        }
    });
    write_box(&mut out, b"moov", |out| {
        write_mvhd(out);
        write_box(out, b"trak", |out| {
            write_tkhd(out, track);
            write_box(out, b"mdia", |out| write_mdia(out, track));
        });
        write_box(out, b"mvex", |out| {
            // §8.8.3 TrackExtendsBox: every default comes from the trun.
            write_full_box(out, b"trex", 0, 0, |out| {
                out.put_u32(TRACK_ID);
                out.put_u32(1); // default_sample_description_index
                out.put_u32(0); // default_sample_duration
                out.put_u32(0); // default_sample_size
                out.put_u32(0); // default_sample_flags
            });
        });
    });
    Ok(out.freeze())
}

/// §8.2.2 MovieHeaderBox, version 0, duration 0 (unknown: live/fragmented).
fn write_mvhd(out: &mut BytesMut) {
    write_full_box(out, b"mvhd", 0, 0, |out| {
        out.put_u32(0); // creation_time
        out.put_u32(0); // modification_time
        out.put_u32(MOVIE_TIMESCALE);
        out.put_u32(0); // duration
        out.put_u32(0x0001_0000); // rate 1.0
        out.put_u16(0x0100); // volume 1.0
        out.put_slice(&[0; 10]); // reserved
        put_unity_matrix(out);
        out.put_slice(&[0; 24]); // pre_defined[6]
        out.put_u32(TRACK_ID + 1); // next_track_ID
    });
}

/// §8.3.2 TrackHeaderBox, flags track_enabled | track_in_movie.
fn write_tkhd(out: &mut BytesMut, track: &Track) {
    write_full_box(out, b"tkhd", 0, 0x000003, |out| {
        out.put_u32(0); // creation_time
        out.put_u32(0); // modification_time
        out.put_u32(TRACK_ID);
        out.put_u32(0); // reserved
        out.put_u32(0); // duration
        out.put_slice(&[0; 8]); // reserved[2]
        out.put_u16(0); // layer
        out.put_u16(0); // alternate_group
        let audio = track.kind() == MediaKind::Audio;
        out.put_u16(if audio { 0x0100 } else { 0 }); // volume
        out.put_u16(0); // reserved
        put_unity_matrix(out);
        let (w, h) = track
            .codec
            .video_info()
            .map_or((0, 0), |v| (v.width, v.height));
        out.put_u32(w.min(0xffff) << 16); // width, 16.16
        out.put_u32(h.min(0xffff) << 16); // height, 16.16
    });
}

/// `mdhd`, `hdlr` and `minf` (§8.4).
fn write_mdia(out: &mut BytesMut, track: &Track) {
    // §8.4.2 MediaHeaderBox.
    write_full_box(out, b"mdhd", 0, 0, |out| {
        out.put_u32(0); // creation_time
        out.put_u32(0); // modification_time
        out.put_u32(media_timescale(track));
        out.put_u32(0); // duration
        out.put_u16(packed_language(track.language.as_deref()));
        out.put_u16(0); // pre_defined
    });
    let video = track.kind() == MediaKind::Video;
    // §8.4.3 HandlerBox.
    write_full_box(out, b"hdlr", 0, 0, |out| {
        out.put_u32(0); // pre_defined
        out.put_slice(if video { b"vide" } else { b"soun" });
        out.put_slice(&[0; 12]); // reserved[3]
        out.put_slice(if video {
            b"VideoHandler\0" as &[u8]
        } else {
            b"SoundHandler\0"
        });
    });
    write_box(out, b"minf", |out| {
        if video {
            // §12.1.2 VideoMediaHeaderBox: flags = 1, graphicsmode copy, opcolor 0.
            write_full_box(out, b"vmhd", 0, 1, |out| out.put_slice(&[0; 8]));
        } else {
            // §12.2.2 SoundMediaHeaderBox: balance 0.
            write_full_box(out, b"smhd", 0, 0, |out| out.put_u32(0));
        }
        // §8.7.1 DataInformationBox with one self-contained (flags = 1) url entry.
        write_box(out, b"dinf", |out| {
            write_full_box(out, b"dref", 0, 0, |out| {
                out.put_u32(1);
                write_full_box(out, b"url ", 0, 1, |_| {});
            });
        });
        write_box(out, b"stbl", |out| {
            write_full_box(out, b"stsd", 0, 0, |out| {
                out.put_u32(1); // entry_count
                write_sample_entry(out, &track.codec);
            });
            // Empty tables: samples live in the fragments (§8.8.1).
            for kind in [b"stts", b"stsc", b"stco"] {
                write_full_box(out, kind, 0, 0, |out| out.put_u32(0));
            }
            write_full_box(out, b"stsz", 0, 0, |out| out.put_u64(0)); // sample_size, sample_count
        });
    });
}

/// The `mdhd` language (§8.4.2.3): ISO 639-2/T code, three lowercase letters packed
/// as 5-bit `c - 0x60` values. Anything else (BCP 47 tags like `en-US`, two-letter
/// codes) becomes `und`.
pub(crate) fn packed_language(language: Option<&str>) -> u16 {
    let code = match language {
        Some(l) if l.len() == 3 && l.bytes().all(|b| b.is_ascii_lowercase()) => l.as_bytes(),
        _ => b"und",
    };
    code.iter()
        .fold(0u16, |acc, &c| (acc << 5) | u16::from(c - 0x60))
}
