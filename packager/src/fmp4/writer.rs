//! Box writing helpers (ISO/IEC 14496-12 §4.2): a size placeholder is written first
//! and patched once the body is complete, so boxes nest as closures.
//!
//! Sizes are 32-bit: every box written through these helpers is bounded (init
//! segment boxes by [`crate::codec::MAX_RECORD_SIZE`], `moof` by its sample count);
//! only `mdat` may need a 64-bit `largesize`, and [`super::fragment`] handles it.

use bytes::{BufMut, BytesMut};

/// Writes `size`, `type` and the body produced by `body` (§4.2 `Box`).
pub(crate) fn write_box(out: &mut BytesMut, kind: &[u8; 4], body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_u32(0);
    out.put_slice(kind);
    body(out);
    let size = out.len() - start;
    debug_assert!(u32::try_from(size).is_ok(), "box {kind:?} too large");
    out[start..start + 4].copy_from_slice(&(size as u32).to_be_bytes());
}

/// Writes a `FullBox` (§4.2): a [`write_box`] whose body starts with
/// `version` (8 bits) and `flags` (24 bits).
pub(crate) fn write_full_box(
    out: &mut BytesMut,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut BytesMut),
) {
    write_box(out, kind, |out| {
        out.put_u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        body(out);
    });
}

/// The unity transformation matrix of `mvhd` and `tkhd` (§8.2.2.3, 16.16 and 2.30).
pub(crate) fn put_unity_matrix(out: &mut BytesMut) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        out.put_u32(v);
    }
}

/// Writes an MPEG-4 descriptor (ISO/IEC 14496-1 §8.3.3): tag, then the body size in
/// the expandable 7-bits-per-byte form, then the body.
pub(crate) fn write_descriptor(out: &mut BytesMut, tag: u8, body: impl FnOnce(&mut BytesMut)) {
    let mut inner = BytesMut::new();
    body(&mut inner);
    out.put_u8(tag);
    let len = inner.len();
    let mut groups = 1;
    while groups < 4 && len >> (7 * groups) != 0 {
        groups += 1;
    }
    for i in (0..groups).rev() {
        let more = if i > 0 { 0x80 } else { 0 };
        out.put_u8(more | ((len >> (7 * i)) & 0x7f) as u8);
    }
    out.put_slice(&inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sizes_are_patched() {
        let mut out = BytesMut::new();
        write_box(&mut out, b"moov", |out| {
            write_full_box(out, b"mvex", 1, 0x020000, |out| out.put_u8(7));
        });
        assert_eq!(&out[..], b"\0\0\0\x15moov\0\0\0\x0dmvex\x01\x02\0\0\x07");
    }

    #[test]
    fn descriptor_lengths() {
        let mut out = BytesMut::new();
        write_descriptor(&mut out, 5, |o| o.put_slice(&[1, 2]));
        assert_eq!(&out[..], &[5, 2, 1, 2]);
        let mut out = BytesMut::new();
        write_descriptor(&mut out, 3, |o| o.put_slice(&[0; 200]));
        assert_eq!(&out[..3], &[3, 0x81, 0x48]);
        assert_eq!(out.len(), 203);
    }
}
