//! Every branch of the blocking-reload decision (rfc8216bis §6.2.5.2) and of the
//! part / segment / init lookups.

use super::blocking::{check_directives, decide};
use super::*;
use crate::live::test_support::*;
use crate::live::LiveStream;

/// 9 s of stream: segments 0..=3 complete, 4 in progress with two parts.
fn live() -> LiveStream {
    let mut p = Publisher::av();
    stream_with(&mut p, config(), 9_000)
}

#[test]
fn decide_covers_every_rule() {
    let s = live();
    let v = s.rendition("video0").unwrap();
    assert_eq!(v.last_part(), Some((4, 1)));
    use BlockDecision::*;
    // Rule 3: msn beyond last + 2.
    assert_eq!(
        decide(v, 7, None),
        BadRequest(BlockError::MsnTooFar { msn: 7, last: 4 })
    );
    assert_eq!(decide(v, 6, None), Wait);
    // Rule 5: msn alone waits for a complete segment.
    assert_eq!(decide(v, 3, None), Ready);
    assert_eq!(
        decide(v, 0, None),
        Ready,
        "old segments are in the playlist already"
    );
    assert_eq!(decide(v, 4, None), Wait, "segment 4 is still in progress");
    // Rule 6: parts.
    assert_eq!(decide(v, 4, Some(1)), Ready);
    assert_eq!(decide(v, 4, Some(2)), Wait, "the hinted part");
    assert_eq!(decide(v, 2, Some(3)), Ready);
    // Past the last part of a complete segment: part 0 of the next one.
    assert_eq!(decide(v, 3, Some(6)), Ready, "= (4, 0)");
    assert_eq!(decide(v, 5, Some(0)), Wait);
    // Rule 4: the Advance Part Limit (9 for 334 ms parts).
    assert_eq!(decide(v, 4, Some(10)), Wait);
    assert_eq!(
        decide(v, 4, Some(11)),
        BadRequest(BlockError::PartTooFar {
            msn: 4,
            part: 11,
            limit: 9
        })
    );
    assert_eq!(decide(v, 5, Some(8)), Wait);
    assert_eq!(
        decide(v, 5, Some(9)),
        BadRequest(BlockError::PartTooFar {
            msn: 5,
            part: 9,
            limit: 9
        })
    );
    // Rule 2.
    assert_eq!(
        check_directives(None, Some(0)),
        Err(BlockError::PartWithoutMsn)
    );
    assert_eq!(check_directives(Some(1), Some(0)), Ok(()));
    assert_eq!(check_directives(None, None), Ok(()));
    assert_eq!(
        BlockError::PartWithoutMsn.to_string(),
        "_HLS_part requires _HLS_msn"
    );
}

#[test]
fn decide_never_blocks_an_ended_playlist() {
    let mut s = live();
    s.handle_end(T0_MS + 9_000);
    let v = s.rendition("video0").unwrap();
    assert_eq!(decide(v, 5, Some(0)), BlockDecision::Ready);
    assert_eq!(decide(v, 100, None), BlockDecision::Ready);
}

#[test]
fn decide_before_any_segment() {
    let mut s = LiveStream::new(config());
    s.handle_track(video_track(0), T0_MS);
    let v = s.rendition("video0").unwrap();
    assert_eq!(decide(v, 0, Some(0)), BlockDecision::Wait);
    assert_eq!(decide(v, 1, None), BlockDecision::Wait);
    assert!(matches!(
        decide(v, 3, None),
        BlockDecision::BadRequest(BlockError::MsnTooFar { .. })
    ));
}

#[test]
fn part_lookups() {
    let s = live();
    let v = s.rendition("video0").unwrap();
    let open = v.in_progress().unwrap();
    assert_eq!(part(v, 4, 1), PartLookup::Ready(open.parts[1].data.clone()));
    assert_eq!(part(v, 4, 2), PartLookup::Pending, "hinted");
    assert_eq!(
        part(v, 4, 10),
        PartLookup::Pending,
        "within the advance limit"
    );
    assert_eq!(part(v, 4, 11), PartLookup::Gone);
    assert_eq!(
        part(v, 5, 0),
        PartLookup::Pending,
        "the next segment's first part"
    );
    assert_eq!(part(v, 5, 9), PartLookup::Gone);
    assert_eq!(part(v, 6, 0), PartLookup::Gone);
    assert_eq!(
        part(v, 3, 6),
        PartLookup::Gone,
        "segment 3 has parts 0..=5 only"
    );
    assert!(matches!(part(v, 1, 0), PartLookup::Ready(_)));
}

#[test]
fn pruned_and_ended_lookups_are_gone() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 61_000);
    let v = s.rendition("video0").unwrap();
    assert_eq!(part(v, 0, 0), PartLookup::Gone);
    assert_eq!(segment(v, 0), SegmentLookup::Gone);
    s.handle_end(T0_MS + 61_000);
    let v = s.rendition("video0").unwrap();
    assert_eq!(part(v, 31, 0), PartLookup::Gone);
    assert_eq!(segment(v, 31), SegmentLookup::Gone);
    assert!(matches!(segment(v, 30), SegmentLookup::Complete(_)));
}

#[test]
fn segment_lookups() {
    let s = live();
    let v = s.rendition("video0").unwrap();
    let seg3: Vec<_> = v
        .segment(3)
        .unwrap()
        .parts
        .iter()
        .map(|p| p.data.clone())
        .collect();
    assert_eq!(segment(v, 3), SegmentLookup::Complete(seg3));
    match segment(v, 4) {
        SegmentLookup::InProgress(parts) => assert_eq!(parts.len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(segment(v, 5), SegmentLookup::Future);
    assert_eq!(segment(v, 6), SegmentLookup::Future);
    assert_eq!(segment(v, 7), SegmentLookup::Gone);
}

#[test]
fn init_lookups() {
    let s = live();
    let v = s.rendition("video0").unwrap();
    assert_eq!(init(v, "init.mp4"), Some(v.init.clone()));
    assert_eq!(init(v, "init-v1.mp4"), None);
}
