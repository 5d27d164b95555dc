//! Parameter sets inside H.264/H.265 samples, checked against the sample entry.
//!
//! ISO/IEC 14496-15 lets a track say where its parameter sets are: with `avc1`
//! (§5.4.2.1) and `hvc1` (§8.4.1.1.1, `array_completeness` = 1) every one is in the
//! decoder configuration record and none is in the samples; with `avc3` and `hev1`
//! samples may carry them as well. Some publishers repeat them in every key frame
//! (OBS with NVENC, x264/x265 with `repeat-headers`, over Enhanced RTMP), usually
//! byte for byte what the record holds. So, per sample of an `avc1`/`hvc1` track:
//!
//! - no parameter set: the sample as it is ([`InBand::Absent`], nothing copied);
//! - only parameter sets byte-identical to ones in the record: the sample without
//!   them ([`InBand::Stripped`]; a slice when the rest is contiguous, as when they
//!   lead the sample, else one copy), and `avc1`/`hvc1` stays true;
//! - any parameter set that is not in the record: the sample is kept whole and the
//!   track must become `avc3`/`hev1` ([`InBand::Differs`], see
//!   [`with_parameter_sets_in_band`]).
//!
//! The scan hops over the NAL length prefixes and reads one header byte per NAL
//! unit. A sample whose lengths do not add up, or that holds nothing but parameter
//! sets, is left alone (an empty sample would be worse than a redundant one).
//! Tracks that are already `avc3`/`hev1`, and other codecs, are not scanned.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::codec::{avc, hevc};
use crate::media::CodecConfig;

/// What a sample's parameter sets mean for its `avc1`/`hvc1` track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InBand {
    /// None in the sample (or not checked): use the sample as it is.
    Absent,
    /// All were copies of the record's; this is the sample without them.
    Stripped(Bytes),
    /// One is not in the record: keep the sample, the track is `avc3`/`hev1` now.
    Differs,
}

/// Checks `sample` of a track configured by `codec` (see the module docs).
pub fn in_band_parameter_sets(codec: &CodecConfig, sample: &Bytes) -> InBand {
    match codec {
        CodecConfig::H264(c) if !c.parameter_sets_in_band => {
            scan(sample, c.nal_length_size, |nal| {
                let t = avc::nal_unit_type(nal[0]);
                avc::is_parameter_set(t).then(|| c.units(t).iter().any(|u| u[..] == *nal))
            })
        }
        CodecConfig::H265(c) if !c.parameter_sets_in_band => {
            scan(sample, c.nal_length_size, |nal| {
                let t = hevc::nal_unit_type(nal[0]);
                hevc::is_parameter_set(t).then(|| c.units(t).any(|u| u[..] == *nal))
            })
        }
        _ => InBand::Absent,
    }
}

/// `codec` described as carrying parameter sets in-band (`avc3`, `hev1`), or `None`
/// when it is not H.264/H.265 or already is.
pub fn with_parameter_sets_in_band(codec: &CodecConfig) -> Option<CodecConfig> {
    match codec {
        CodecConfig::H264(c) if !c.parameter_sets_in_band => {
            Some(CodecConfig::H264(c.with_parameter_sets_in_band()))
        }
        CodecConfig::H265(c) if !c.parameter_sets_in_band => {
            Some(CodecConfig::H265(c.with_parameter_sets_in_band()))
        }
        _ => None,
    }
}

/// Walks the length-prefixed NAL units of `sample`; `matches(nal)` is `None` for
/// a NAL unit that is not a parameter set, else whether the record has it.
fn scan(sample: &Bytes, length_size: u8, matches: impl Fn(&[u8]) -> Option<bool>) -> InBand {
    let n = usize::from(length_size);
    // Byte ranges of the NAL units kept (with their prefixes), merged when adjacent.
    let mut keep: Vec<Range<usize>> = Vec::new();
    let mut dropped = false;
    let mut at = 0;
    while at < sample.len() {
        let Some(prefix) = sample.get(at..at + n) else {
            return InBand::Absent;
        };
        let len = prefix
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let end = at + n + len;
        let Some(nal) = sample.get(at + n..end) else {
            return InBand::Absent;
        };
        match (nal.first()).and_then(|_| matches(nal)) {
            Some(true) => dropped = true,
            Some(false) => return InBand::Differs,
            None => match keep.last_mut() {
                Some(r) if r.end == at => r.end = end,
                _ => keep.push(at..end),
            },
        }
        at = end;
    }
    match keep.as_slice() {
        _ if !dropped => InBand::Absent,
        [] => InBand::Absent,
        [one] => InBand::Stripped(sample.slice(one.clone())),
        several => {
            let mut out = BytesMut::with_capacity(several.iter().map(|r| r.len()).sum());
            for r in several {
                out.extend_from_slice(&sample[r.clone()]);
            }
            InBand::Stripped(out.freeze())
        }
    }
}

#[cfg(test)]
#[path = "tests_parameter_sets.rs"]
mod tests;
