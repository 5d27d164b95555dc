//! The VOD media playlist of one recorded rendition (rfc8216bis).
//!
//! - `EXT-X-PLAYLIST-TYPE:VOD` (§4.4.3.5) and `EXT-X-ENDLIST` (§4.4.3.4): the
//!   playlist never changes.
//! - `EXT-X-TARGETDURATION` (§4.4.3.1): every `EXTINF`, rounded to the nearest
//!   integer, is at most the target, so the target is the longest rounded one.
//! - `EXT-X-MAP` (§4.4.4.5) before the first segment and wherever the init segment
//!   changes; fMP4 with `EXT-X-MAP` needs version 6 (§7), written as 7 like live.
//! - `EXT-X-DISCONTINUITY` (§4.4.4.3) before a segment not continuous with the
//!   previous one.
//! - `EXT-X-INDEPENDENT-SEGMENTS` (§4.4.2.1): every segment starts with a key frame.

use std::fmt::Write;

use super::recorder::RecordedRendition;
use super::segment_file;
use crate::live::Rendition;

/// `index.m3u8` of `r`.
pub fn vod_media_playlist(r: &RecordedRendition) -> String {
    let timescale = f64::from(r.timescale.max(1));
    let seconds = |ticks: u64| ticks as f64 / timescale;
    let target = r
        .segments
        .iter()
        .map(|s| seconds(s.duration_ticks).round() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = String::with_capacity(64 + r.segments.len() * 40);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:7\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    out.push_str("#EXT-X-PLAYLIST-TYPE:VOD\n");
    let first_msn = r.segments.first().map_or(0, |s| s.msn);
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first_msn}");
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    let mut init = None;
    for (i, s) in r.segments.iter().enumerate() {
        if i > 0 && s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if init != Some(s.init_version) {
            let _ = writeln!(
                out,
                "#EXT-X-MAP:URI=\"{}\"",
                Rendition::init_uri(s.init_version)
            );
            init = Some(s.init_version);
        }
        let _ = writeln!(
            out,
            "#EXTINF:{:.5},\n{}",
            seconds(s.duration_ticks),
            segment_file(s.msn)
        );
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}
