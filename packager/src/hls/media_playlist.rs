//! The LL-HLS media playlist of one rendition (rfc8216bis §4.4.3–§4.4.5), and its
//! delta-update form (§6.2.5.1).
//!
//! Layout, in order:
//!
//! ```text
//! #EXTM3U
//! #EXT-X-VERSION:9                      EXT-X-SKIP needs 9 (§4.4.5.2, §7)
//! #EXT-X-TARGETDURATION:2               §4.4.3.1
//! #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=1.002   §4.4.3.8
//! #EXT-X-PART-INF:PART-TARGET=0.334     §4.4.3.7
//! #EXT-X-MEDIA-SEQUENCE:n               §4.4.3.2
//! #EXT-X-DISCONTINUITY-SEQUENCE:d       §4.4.3.3
//! #EXT-X-SKIP:SKIPPED-SEGMENTS=k        §4.4.5.2, delta updates only
//! per segment: [EXT-X-DISCONTINUITY] [EXT-X-MAP] EXT-X-PROGRAM-DATE-TIME
//!              [EXT-X-PART…] EXTINF + URI
//! the segment in progress: its EXT-X-PARTs (no EXTINF yet)
//! #EXT-X-PRELOAD-HINT:TYPE=PART,URI=…   §4.4.5.3, not when ended
//! #EXT-X-RENDITION-REPORT:…             §4.4.5.4, one per other rendition
//! #EXT-X-ENDLIST                        §4.4.3.4, when ended
//! ```

use std::fmt::Write;

use super::{decimal_floor, PARTS_LISTED_TARGET_DURATIONS};
use crate::live::wallclock::iso8601_ms;
use crate::live::{LiveStream, Rendition, Segment};

/// `EXT-X-VERSION` of media playlists: EXT-X-SKIP / CAN-SKIP-UNTIL require 9.
pub const VERSION: u32 = 9;
/// `CAN-SKIP-UNTIL` in target durations (§4.4.3.8: at least six).
pub const CAN_SKIP_TARGET_DURATIONS: u32 = 6;
/// `PART-HOLD-BACK` in part targets (§4.4.3.8: at least two, SHOULD be three).
pub const PART_HOLD_BACK_PARTS: u32 = 3;

/// The media playlist of `rendition`, or `None` when the stream has no such
/// rendition. With `skip`, segments older than `CAN-SKIP-UNTIL` from the end are
/// replaced by `EXT-X-SKIP` (`_HLS_skip=YES`).
pub fn media_playlist(stream: &LiveStream, rendition: &str, skip: bool) -> Option<String> {
    let r = stream.rendition(rendition)?;
    let cfg = stream.config();
    let target = stream.target_duration_s();
    let part_target_s = f64::from(cfg.part_target_ms) / 1000.0;
    let skip_until_s = f64::from(target * CAN_SKIP_TARGET_DURATIONS);
    let ts = f64::from(r.timescale);

    let mut out = String::with_capacity(4096);
    out.push_str("#EXTM3U\n");
    let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
    let _ = writeln!(
        out,
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL={skip_until_s:.1},PART-HOLD-BACK={:.3}",
        part_target_s * f64::from(PART_HOLD_BACK_PARTS)
    );
    let _ = writeln!(
        out,
        "#EXT-X-PART-INF:PART-TARGET={}",
        decimal_floor(part_target_s, 3)
    );

    // Listed: complete segments in the window, then the one in progress if it has parts.
    let listed: Vec<&Segment> = r
        .playlist_segments()
        .filter(|s| s.complete || !s.parts.is_empty())
        .collect();
    let first_msn = listed.first().map_or(r.next_msn, |s| s.msn);
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first_msn}");
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        r.discontinuity_sequence()
    );

    // Seconds from each segment's end to the playlist's end.
    let total: f64 = listed.iter().map(|s| s.duration_s(r.timescale)).sum();
    let mut end_of = Vec::with_capacity(listed.len());
    let mut acc = 0.0;
    for s in &listed {
        acc += s.duration_s(r.timescale);
        end_of.push(total - acc);
    }
    // §6.2.5.1: skip only complete segments at least the Skip Boundary from the end.
    let skipped = if skip {
        listed
            .iter()
            .zip(&end_of)
            .take_while(|(s, left)| s.complete && **left >= skip_until_s)
            .count()
    } else {
        0
    };
    if skipped > 0 {
        let _ = writeln!(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}");
    }

    let parts_from_s = f64::from(target * PARTS_LISTED_TARGET_DURATIONS);
    let mut map_version = None;
    for (s, left) in listed.iter().zip(&end_of).skip(skipped) {
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if map_version != Some(s.init_version) {
            map_version = Some(s.init_version);
            let _ = writeln!(
                out,
                "#EXT-X-MAP:URI=\"{}\"",
                Rendition::init_uri(s.init_version)
            );
        }
        let _ = writeln!(
            out,
            "#EXT-X-PROGRAM-DATE-TIME:{}",
            iso8601_ms(s.program_date_time_ms)
        );
        if !s.complete || *left < parts_from_s {
            for (p, part) in s.parts.iter().enumerate() {
                let _ = write!(
                    out,
                    "#EXT-X-PART:DURATION={},URI=\"part{}.{p}.m4s\"",
                    decimal_floor(part.duration_ticks as f64 / ts, 5),
                    s.msn
                );
                out.push_str(if part.independent {
                    ",INDEPENDENT=YES\n"
                } else {
                    "\n"
                });
            }
        }
        if s.complete {
            let _ = writeln!(
                out,
                "#EXTINF:{:.5},\nseg{}.m4s",
                s.duration_s(r.timescale),
                s.msn
            );
        }
    }

    if !r.ended {
        let (msn, p) = r.next_part();
        let _ = writeln!(
            out,
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part{msn}.{p}.m4s\""
        );
    }
    for other in stream.renditions().iter().filter(|o| o.name != r.name) {
        let _ = write!(
            out,
            "#EXT-X-RENDITION-REPORT:URI=\"../{}/index.m3u8\"",
            other.name
        );
        match other.last_part() {
            Some((msn, part)) => {
                let _ = writeln!(out, ",LAST-MSN={msn},LAST-PART={part}");
            }
            None => out.push('\n'),
        }
    }
    if r.ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    Some(out)
}
