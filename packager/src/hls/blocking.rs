//! The blocking-reload decision (rfc8216bis §6.2.5.2), as a pure function.
//!
//! A media playlist request with `_HLS_msn=M` (and optionally `_HLS_part=P`) is
//! held until the playlist holds what it asks for. The spec's rules, in the order
//! [`decide`] applies them:
//!
//! 1. A playlist with `EXT-X-ENDLIST` never blocks: answer now.
//! 2. `_HLS_part` without `_HLS_msn` is a 400 ([`check_directives`]; `decide`
//!    always has an msn).
//! 3. `M` beyond the last segment's msn plus two is a 400.
//! 4. `P` beyond the last part by more than the Advance Part Limit
//!    ([`super::advance_part_limit`]) is a 400.
//! 5. Without `P`: ready once a segment with msn `M` or later is complete
//!    (a Media Segment is listed with its URI).
//! 6. With `P`: ready once a part `(M, P)` or any later part exists. A `P` past the
//!    last part of a *complete* segment `M` means part 0 of segment `M + 1`.
//! 7. Otherwise: hold. The server answers 503 after three target durations; that
//!    timer is the server's, not this module's.

use super::advance_part_limit;
use crate::live::Rendition;

/// What to do with a blocking playlist request now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockDecision {
    /// Render and send the playlist.
    Ready,
    /// Hold the request; re-decide when the stream changes.
    Wait,
    /// Answer 400 with this reason.
    BadRequest(BlockError),
}

/// Why a blocking request is a client error (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// `_HLS_part` came without `_HLS_msn`.
    #[error("_HLS_part requires _HLS_msn")]
    PartWithoutMsn,
    /// `_HLS_msn` is more than two past the last segment.
    #[error("_HLS_msn={msn} is more than two segments past the last one ({last})")]
    MsnTooFar {
        /// Requested.
        msn: u64,
        /// Last segment's msn in the playlist.
        last: u64,
    },
    /// `_HLS_part` is further ahead than the Advance Part Limit.
    #[error("_HLS_part={part} of segment {msn} is more than {limit} parts past the last part")]
    PartTooFar {
        /// Requested msn.
        msn: u64,
        /// Requested part.
        part: u32,
        /// The Advance Part Limit.
        limit: u32,
    },
}

/// Rule 2: the directive combination itself.
pub fn check_directives(msn: Option<u64>, part: Option<u32>) -> Result<(), BlockError> {
    match (msn, part) {
        (None, Some(_)) => Err(BlockError::PartWithoutMsn),
        _ => Ok(()),
    }
}

/// Decides a request for `_HLS_msn=msn` and optional `_HLS_part=part` on `r`.
pub fn decide(r: &Rendition, msn: u64, part: Option<u32>) -> BlockDecision {
    if r.ended {
        return BlockDecision::Ready;
    }
    let last_part = r.last_part();
    // The last segment listed: the newest one with parts, else the one before the next.
    let last_msn = last_part.map_or(r.next_msn.checked_sub(1), |(m, _)| Some(m));
    let last_for_limit = last_msn.unwrap_or(0);
    if msn > last_for_limit + 2 || (last_msn.is_none() && msn > r.next_msn + 1) {
        return BlockDecision::BadRequest(BlockError::MsnTooFar {
            msn,
            last: last_for_limit,
        });
    }
    let Some(mut p) = part else {
        let newest_complete = r.segments.iter().rev().find(|s| s.complete).map(|s| s.msn);
        return if newest_complete.is_some_and(|m| m >= msn) {
            BlockDecision::Ready
        } else {
            BlockDecision::Wait
        };
    };
    let limit = advance_part_limit(r.config.part_target_ms);
    let mut m = msn;
    // Rule 6: past the end of a complete segment means the next segment's part 0.
    if let Some(s) = r.segment(msn).filter(|s| s.complete) {
        if p as usize >= s.parts.len() {
            m += 1;
            p = 0;
        }
    }
    // Rule 4: how many parts ahead of the newest one is (m, p)?
    let ahead = match last_part {
        Some((lm, lp)) if m == lm => i64::from(p) - i64::from(lp),
        Some((lm, _)) if m > lm => i64::from(p) + 1,
        Some(_) => 0,
        None => i64::from(p) + 1,
    };
    if ahead > i64::from(limit) {
        return BlockDecision::BadRequest(BlockError::PartTooFar {
            msn,
            part: p,
            limit,
        });
    }
    match last_part {
        Some(last) if last >= (m, p) => BlockDecision::Ready,
        _ => BlockDecision::Wait,
    }
}
