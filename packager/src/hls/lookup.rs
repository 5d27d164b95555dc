//! What a request for an init segment, a segment or a part gets right now.
//!
//! - A part that exists is served; the preload-hinted part (rfc8216bis §4.4.5.3)
//!   and the few after it are [`PartLookup::Pending`]: the server holds the request
//!   until the part exists (or three target durations pass); anything else is
//!   [`PartLookup::Gone`] (404).
//! - A segment in progress is [`SegmentLookup::InProgress`] with the parts so far:
//!   the server streams them and then the rest as they come (LL-DASH chunked
//!   transfer); the next segment or the one after is [`SegmentLookup::Future`].

use bytes::Bytes;

use super::advance_part_limit;
use crate::live::Rendition;

/// A part request's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartLookup {
    /// The part's bytes.
    Ready(Bytes),
    /// Hinted or soon due: hold the request.
    Pending,
    /// Never will exist (or no longer does): 404.
    Gone,
}

/// A segment request's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentLookup {
    /// The whole segment, as its parts (concatenate or write them in order).
    Complete(Vec<Bytes>),
    /// Being produced: the parts so far; more follow.
    InProgress(Vec<Bytes>),
    /// Not started yet but due soon (the next two segments): hold.
    Future,
    /// Not retained or never will exist: 404.
    Gone,
}

/// Part `p` of segment `msn` of `r`.
pub fn part(r: &Rendition, msn: u64, p: u32) -> PartLookup {
    let limit = advance_part_limit(r.config.part_target_ms);
    if let Some(s) = r.segment(msn) {
        if let Some(part) = s.parts.get(p as usize) {
            return PartLookup::Ready(part.data.clone());
        }
        let due = !s.complete && !r.ended && (p as usize) < s.parts.len() + limit as usize;
        return if due {
            PartLookup::Pending
        } else {
            PartLookup::Gone
        };
    }
    let (next_msn, _) = r.next_part();
    let next = if r.in_progress().is_some() {
        next_msn + 1
    } else {
        next_msn
    };
    if !r.ended && msn == next && p < limit {
        PartLookup::Pending
    } else {
        PartLookup::Gone
    }
}

/// Segment `msn` of `r`.
pub fn segment(r: &Rendition, msn: u64) -> SegmentLookup {
    if let Some(s) = r.segment(msn) {
        let parts = s.parts.iter().map(|p| p.data.clone()).collect();
        return if s.complete {
            SegmentLookup::Complete(parts)
        } else {
            SegmentLookup::InProgress(parts)
        };
    }
    let newest = r.segments.back().map_or(r.next_msn, |s| s.msn + 1);
    let next = newest.max(r.next_msn);
    if !r.ended && msn >= next && msn <= next + 1 {
        SegmentLookup::Future
    } else {
        SegmentLookup::Gone
    }
}

/// The init segment named `file` (`init.mp4`, or `init-v{n}.mp4` after a
/// configuration change) while any retained segment needs it.
pub fn init(r: &Rendition, file: &str) -> Option<Bytes> {
    r.init_by_uri(file)
}
