//! H.264/H.265 parameter sets inside a rendition's samples (see
//! [`crate::fmp4::parameter_sets`]): copies of the record's are stripped, so the
//! `avc1`/`hvc1` sample entry stays true; the first sample with one that differs
//! turns the rendition into `avc3`/`hev1` (ISO/IEC 14496-15 §5.4.2.1, §8.4.1.1.1)
//! the way a changed track configuration does (`alignment`): a new init version
//! after a discontinuity, starting with that sample. A later re-announce of the
//! same record (a repeated sequence header) keeps it `avc3`/`hev1`.

use super::LiveStream;
use crate::fmp4::{self, InBand};
use crate::media::{Frame, Track};

impl LiveStream {
    /// Strips `frame`'s copies of rendition `i`'s parameter sets, or switches the
    /// rendition to in-band parameter sets when one differs.
    pub(super) fn check_parameter_sets(&mut self, i: usize, frame: &mut Frame, now_ms: u64) {
        let track = &self.renditions[i].track;
        match fmp4::in_band_parameter_sets(&track.codec, &frame.data) {
            InBand::Absent => {}
            InBand::Stripped(data) => frame.data = data,
            InBand::Differs => {
                if let Some(in_band) = with_parameter_sets_in_band(track) {
                    self.track_announced(in_band, now_ms);
                }
            }
        }
    }
}

/// Whether `announced` is `current` before it went in-band (nothing changed).
pub(super) fn is_in_band_form_of(current: &Track, announced: &Track) -> bool {
    with_parameter_sets_in_band(announced).is_some_and(|t| t == *current)
}

/// `track` described with in-band parameter sets (`avc3`/`hev1`), if it can be.
fn with_parameter_sets_in_band(track: &Track) -> Option<Track> {
    fmp4::with_parameter_sets_in_band(&track.codec).map(|codec| Track {
        codec,
        ..track.clone()
    })
}
