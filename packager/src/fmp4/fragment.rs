//! `moof` + `mdat` (ISO/IEC 14496-12 §8.8.4–§8.8.8, §8.1.1): one CMAF chunk
//! (ISO/IEC 23000-19 §7.3.2.3) of consecutive samples of track 1.
//!
//! - `tfhd` sets `default-base-is-moof` (CMAF §7.5.16), so `trun.data_offset` counts
//!   from the first byte of this `moof`.
//! - `tfdt` is version 1 (64-bit `baseMediaDecodeTime`) so long-running live streams
//!   never wrap.
//! - `trun` is version 1: `sample_composition_time_offset` is signed, as B-frames and
//!   negative offsets from some encoders need.
//!
//! [`fragment_chunks`] keeps sample payloads as the caller's [`Bytes`] (no copy) for
//! vectored writes and caches; [`fragment`] concatenates them into one buffer.

use bytes::{BufMut, Bytes, BytesMut};

use super::writer::{write_box, write_full_box};
use super::Sample;

/// The fMP4 track_ID of every Ferrocast track file.
pub(crate) const TRACK_ID: u32 = 1;

/// `tfhd` flag `default-base-is-moof` (§8.8.7.1).
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags (§8.8.8.1): data-offset, sample duration, size, flags and
/// composition-time-offset present.
const TRUN_FLAGS: u32 = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;

/// Sample flags (§8.8.3.1) of a sync sample: `sample_depends_on` = 2 (depends on no
/// other sample), `sample_is_non_sync_sample` = 0.
pub const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// Sample flags of a non-sync sample: `sample_depends_on` = 1,
/// `sample_is_non_sync_sample` = 1.
pub const NON_SYNC_SAMPLE_FLAGS: u32 = 0x0101_0000;

/// Bytes of `trun` per sample with [`TRUN_FLAGS`].
const TRUN_BYTES_PER_SAMPLE: usize = 16;

/// The `moof` and `mdat` header as one buffer, followed by every sample payload as
/// the caller's own [`Bytes`] (zero copy). Concatenated, they are [`fragment`].
pub fn fragment_chunks(
    sequence_number: u32,
    base_media_decode_time: u64,
    samples: &[Sample],
) -> Vec<Bytes> {
    let payload: u64 = samples.iter().map(|s| s.data.len() as u64).sum();
    // §4.2: an mdat over 4 GiB needs size = 1 and a 64-bit largesize.
    let large = payload + 8 > u64::from(u32::MAX);
    let mdat_header = if large { 16 } else { 8 };
    let mut out =
        BytesMut::with_capacity(100 + samples.len() * TRUN_BYTES_PER_SAMPLE + mdat_header);
    let mut data_offset_at = 0;
    write_box(&mut out, b"moof", |out| {
        // §8.8.5 MovieFragmentHeaderBox.
        write_full_box(out, b"mfhd", 0, 0, |out| out.put_u32(sequence_number));
        write_box(out, b"traf", |out| {
            // §8.8.7 TrackFragmentHeaderBox: no optional fields, base is the moof.
            write_full_box(out, b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, |out| {
                out.put_u32(TRACK_ID)
            });
            // §8.8.12 TrackFragmentBaseMediaDecodeTimeBox, version 1.
            write_full_box(out, b"tfdt", 1, 0, |out| {
                out.put_u64(base_media_decode_time)
            });
            // §8.8.8 TrackRunBox, version 1 (signed composition offsets).
            write_full_box(out, b"trun", 1, TRUN_FLAGS, |out| {
                out.put_u32(samples.len() as u32);
                data_offset_at = out.len();
                out.put_i32(0);
                for s in samples {
                    out.put_u32(s.duration);
                    out.put_u32(s.data.len() as u32);
                    out.put_u32(if s.keyframe {
                        SYNC_SAMPLE_FLAGS
                    } else {
                        NON_SYNC_SAMPLE_FLAGS
                    });
                    out.put_i32(s.composition_offset);
                }
            });
        });
    });
    // data_offset: from the moof's first byte to the first sample byte.
    let data_offset = (out.len() + mdat_header) as i32;
    out[data_offset_at..data_offset_at + 4].copy_from_slice(&data_offset.to_be_bytes());
    if large {
        out.put_u32(1);
        out.put_slice(b"mdat");
        out.put_u64(payload + 16);
    } else {
        out.put_u32((payload + 8) as u32);
        out.put_slice(b"mdat");
    }
    let mut chunks = Vec::with_capacity(samples.len() + 1);
    chunks.push(out.freeze());
    chunks.extend(samples.iter().map(|s| s.data.clone()));
    chunks
}

/// One `moof` (`mfhd`, `traf` with `tfhd`, `tfdt` v1, `trun` v1) followed by its
/// `mdat`, as one contiguous buffer.
pub fn fragment(sequence_number: u32, base_media_decode_time: u64, samples: &[Sample]) -> Bytes {
    let chunks = fragment_chunks(sequence_number, base_media_decode_time, samples);
    let total = chunks.iter().map(Bytes::len).sum();
    let mut out = BytesMut::with_capacity(total);
    for c in &chunks {
        out.put_slice(c);
    }
    out.freeze()
}
