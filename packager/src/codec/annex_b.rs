//! Annex B byte streams (ITU-T H.264 Annex B, H.265 Annex B): NAL units separated
//! by `00 00 01` / `00 00 00 01` start codes, as MPEG-TS carries them and as x264
//! writes them. [`nal_units`] splits such a stream; MPEG-TS ingest and the
//! transcoder both use it to turn access units into length-prefixed samples.

/// Splits Annex B bytes into NAL units (start codes removed). Bytes before the first
/// start code and empty units are dropped.
pub fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    // Start codes are found with memchr's vectorised substring search: a byte loop
    // here was the largest single cost of SRT ingest (docs/benchmarks.md §11).
    let mut units = Vec::new();
    let mut start = None;
    for i in memchr::memmem::find_iter(data, &[0, 0, 1]) {
        // Matches do not overlap, so `i` is never inside the previous start code.
        if let Some(s) = start {
            // A 4-byte start code's leading zero belongs to neither unit.
            let end = if i > s && data[i - 1] == 0 { i - 1 } else { i };
            units.push(&data[s..end]);
        }
        start = Some(i + 3);
    }
    if let Some(s) = start {
        units.push(&data[s..]);
    }
    units.retain(|u| !u.is_empty());
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_3_and_4_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        assert_eq!(
            nal_units(&data),
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        assert!(nal_units(&[1, 2, 3]).is_empty());
    }
}
