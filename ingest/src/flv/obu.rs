//! AV1: removes temporal delimiter OBUs from an access unit.
//!
//! AV1-ISOBMFF §2.4 ("AV1 Sample Format"): "Temporal delimiter OBUs SHOULD be
//! removed" from samples, and the media model (`packager::media`) stores AV1
//! frames without them. Each OBU starts with `obu_header()` (AV1 spec §5.3.1:
//! forbidden bit, `obu_type:4`, `obu_extension_flag`, `obu_has_size_field`,
//! reserved bit), an optional extension byte, and when `obu_has_size_field` is set,
//! a leb128 `obu_size` (§4.10.5). An OBU without a size field runs to the end.

use bytes::{Bytes, BytesMut};

/// `OBU_TEMPORAL_DELIMITER` (AV1 spec §6.2.2).
const OBU_TEMPORAL_DELIMITER: u8 = 2;

/// Reads a leb128 value (at most 8 bytes, §4.10.5); returns (value, length).
fn leb128(b: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in b.iter().take(8).enumerate() {
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// `data` without temporal delimiter OBUs. Slices when the kept OBUs are
/// contiguous (the usual case: one leading delimiter) and returns `data` unchanged
/// if it cannot be walked as OBUs.
pub fn strip_temporal_delimiters(data: Bytes) -> Bytes {
    let mut keep: Vec<(usize, usize)> = Vec::new();
    let mut found = false;
    let mut pos = 0;
    while pos < data.len() {
        let h = data[pos];
        let obu_type = (h >> 3) & 0x0F;
        let header_len = 1 + usize::from(h & 0x04 != 0);
        let end = if h & 0x02 != 0 {
            let Some((size, n)) = data.get(pos + header_len..).and_then(leb128) else {
                return data;
            };
            let Some(end) = usize::try_from(size)
                .ok()
                .and_then(|s| (pos + header_len + n).checked_add(s))
            else {
                return data;
            };
            if end > data.len() {
                return data;
            }
            end
        } else {
            data.len()
        };
        if obu_type == OBU_TEMPORAL_DELIMITER {
            found = true;
        } else if let Some(last) = keep.last_mut().filter(|l| l.1 == pos) {
            last.1 = end;
        } else {
            keep.push((pos, end));
        }
        pos = end;
    }
    match (found, keep.as_slice()) {
        (false, _) => data,
        (true, []) => Bytes::new(),
        (true, [(a, b)]) => data.slice(*a..*b),
        (true, ranges) => {
            let mut out = BytesMut::with_capacity(ranges.iter().map(|(a, b)| b - a).sum());
            for (a, b) in ranges {
                out.extend_from_slice(&data[*a..*b]);
            }
            out.freeze()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Temporal delimiter with size 0, sequence header (type 1) and frame (type 6).
    const TD: [u8; 2] = [0x12, 0x00];
    const SEQ: [u8; 4] = [0x0A, 0x02, 0xAA, 0xBB];
    const FRAME: [u8; 5] = [0x32, 0x03, 1, 2, 3];

    #[test]
    fn leading_delimiter_is_sliced_off() {
        let au = Bytes::from([&TD[..], &SEQ, &FRAME].concat());
        let out = strip_temporal_delimiters(au.clone());
        assert_eq!(&out[..], &[&SEQ[..], &FRAME].concat()[..]);
        assert_eq!(out.as_ptr(), au[2..].as_ptr(), "must slice, not copy");
    }

    #[test]
    fn inner_delimiters_are_removed_and_others_untouched() {
        let au = Bytes::from([&SEQ[..], &TD, &FRAME].concat());
        assert_eq!(
            &strip_temporal_delimiters(au)[..],
            &[&SEQ[..], &FRAME].concat()[..]
        );
        let plain = Bytes::from([&SEQ[..], &FRAME].concat());
        assert_eq!(strip_temporal_delimiters(plain.clone()), plain);
        let garbage = Bytes::from_static(&[0x32, 0x7F, 1]);
        assert_eq!(strip_temporal_delimiters(garbage.clone()), garbage);
    }
}
