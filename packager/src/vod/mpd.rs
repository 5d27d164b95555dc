//! The static MPD of a recorded asset (ISO/IEC 23009-1 `MPD@type="static"`).
//!
//! - One video AdaptationSet with every video rendition (`segmentAlignment`: they
//!   share boundaries), one AdaptationSet per audio rendition.
//! - `SegmentTemplate` with `$RepresentationID$/seg$Number$.m4s` and a
//!   `SegmentTimeline` (§5.3.9.6), so the MPD names the same files as the HLS
//!   playlists; `presentationTimeOffset` is each Period's first decode time.
//! - A new Period (§5.3.2) starts wherever the leading rendition (first video, else
//!   first audio) has a discontinuity or a new init segment: a `SegmentTemplate`
//!   has one `@initialization`, and timelines restart after a discontinuity.
//!   `Period@start` is the leader's media time before it.
//! - `mediaPresentationDuration` is the leader's total duration.

use std::fmt::Write;

use super::recorder::{RecordedRendition, RecordedSegment};
use crate::codec::captions::CaptionServices;
use crate::dash::mpd::{
    accessibility, audio_adaptation_set_start, representation_head, segment_timeline,
};
use crate::dash::PROFILES;
use crate::live::wallclock::xs_duration;
use crate::live::Rendition;
use crate::media::MediaKind;

/// `manifest.mpd` over `renditions` (each with at least one segment).
pub fn static_mpd(renditions: &[RecordedRendition]) -> String {
    let leader = renditions
        .iter()
        .find(|r| r.kind() == MediaKind::Video)
        .or_else(|| renditions.first());
    let duration = leader.map_or(0.0, RecordedRendition::duration_s);
    let longest = leader.map_or(1.0, |l| {
        l.segments
            .iter()
            .map(|s| s.duration_ticks as f64 / f64::from(l.timescale.max(1)))
            .fold(1.0, f64::max)
    });
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"{PROFILES}\" type=\"static\" \
         mediaPresentationDuration=\"{}\" maxSegmentDuration=\"{}\" minBufferTime=\"{}\">",
        xs_duration(duration),
        xs_duration(longest.ceil()),
        xs_duration(longest.ceil().min(4.0)),
    );
    if let Some(leader) = leader {
        for (k, (from, to, start_s)) in periods(leader).into_iter().enumerate() {
            period(&mut out, renditions, k, from, to, start_s);
        }
    }
    out.push_str("</MPD>\n");
    out
}

/// `(first msn, end msn exclusive, start seconds)` of each Period, from the
/// leader's discontinuities and init changes.
fn periods(leader: &RecordedRendition) -> Vec<(u64, u64, f64)> {
    let mut out: Vec<(u64, u64, f64)> = Vec::new();
    let mut elapsed = 0u64;
    let mut prev: Option<&RecordedSegment> = None;
    for s in &leader.segments {
        let split = prev.is_none_or(|p| s.discontinuity || s.init_version != p.init_version);
        if split {
            if let Some(last) = out.last_mut() {
                last.1 = s.msn;
            }
            let start = elapsed as f64 / f64::from(leader.timescale.max(1));
            out.push((s.msn, u64::MAX, start));
        }
        elapsed += s.duration_ticks;
        prev = Some(s);
    }
    out
}

fn period(
    out: &mut String,
    renditions: &[RecordedRendition],
    k: usize,
    from: u64,
    to: u64,
    start_s: f64,
) {
    let in_period = |r: &RecordedRendition| -> Vec<RecordedSegment> {
        r.segments
            .iter()
            .filter(|s| s.msn >= from && s.msn < to)
            .copied()
            .collect()
    };
    let _ = writeln!(
        out,
        "  <Period id=\"p{k}\" start=\"{}\">",
        xs_duration(start_s)
    );
    let videos: Vec<&RecordedRendition> = renditions
        .iter()
        .filter(|r| r.kind() == MediaKind::Video && !in_period(r).is_empty())
        .collect();
    let mut as_id = 0;
    if !videos.is_empty() {
        let _ = writeln!(
            out,
            "    <AdaptationSet id=\"{as_id}\" contentType=\"video\" mimeType=\"video/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\">"
        );
        let captions = videos
            .iter()
            .fold(CaptionServices::NONE, |acc, v| acc.union(v.captions));
        accessibility(out, captions);
        for r in &videos {
            representation(out, r, &in_period(r));
        }
        out.push_str("    </AdaptationSet>\n");
    }
    for r in renditions.iter().filter(|r| r.kind() == MediaKind::Audio) {
        let segs = in_period(r);
        if segs.is_empty() {
            continue;
        }
        as_id += 1;
        audio_adaptation_set_start(out, as_id, &r.track);
        representation(out, r, &segs);
        out.push_str("    </AdaptationSet>\n");
    }
    out.push_str("  </Period>\n");
}

fn representation(out: &mut String, r: &RecordedRendition, segs: &[RecordedSegment]) {
    let Some(first) = segs.first() else { return };
    let bandwidth = r.peak_bandwidth().max(1);
    representation_head(out, &r.name, &r.track, bandwidth, r.frame_rate);
    let _ = writeln!(
        out,
        "        <SegmentTemplate timescale=\"{}\" initialization=\"$RepresentationID$/{}\" \
         media=\"$RepresentationID$/seg$Number$.m4s\" startNumber=\"{}\" presentationTimeOffset=\"{}\">",
        r.timescale,
        Rendition::init_uri(first.init_version),
        first.msn,
        first.start_dts,
    );
    segment_timeline(out, segs.iter().map(|s| (s.start_dts, s.duration_ticks)));
    out.push_str("        </SegmentTemplate>\n      </Representation>\n");
}
