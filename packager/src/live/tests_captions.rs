//! Caption detection per rendition: found in the video frames' SEI, late or from
//! the start, kept across a re-announce, and no longer scanned once settled.

use super::test_support::*;
use crate::codec::captions::{CaptionServices, SCAN_FRAMES_AFTER_FIRST_FIND};

fn cc1() -> CaptionServices {
    CaptionServices::NONE.with_608(1)
}

#[test]
fn video_captions_are_noted_on_the_rendition() {
    let mut p = Publisher {
        sei: vec![CC1_SEI_HEX, SERVICE1_SEI_HEX],
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 3_000);
    assert_eq!(s.rendition("video0").unwrap().captions, cc1().with_708(1));
    assert!(s.rendition("audio0").unwrap().captions.is_empty());
    // Without SEI, nothing.
    let s = stream_with(&mut Publisher::av(), config(), 3_000);
    assert!(s.rendition("video0").unwrap().captions.is_empty());
}

#[test]
fn late_captions_are_found_and_scanning_stops_after_the_settle_window() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 5_000);
    assert!(s.rendition("video0").unwrap().captions.is_empty());
    assert!(s.packers[0].captions.is_scanning(), "still looking");
    p.sei = vec![CC1_SEI_HEX];
    p.run(&mut s, 5_100);
    assert_eq!(s.rendition("video0").unwrap().captions, cc1());
    // 30 fps: the settle window ends SCAN_FRAMES_AFTER_FIRST_FIND frames later.
    let settle_ms = i64::from(SCAN_FRAMES_AFTER_FIRST_FIND) * 1000 / 30;
    p.run(&mut s, 5_100 + settle_ms + 100);
    assert!(!s.packers[0].captions.is_scanning());
    // Captions on CC3 after that are not noticed (the cost of not scanning).
    p.sei = vec![CC3_SEI_HEX];
    p.run(&mut s, 5_100 + settle_ms + 1_000);
    assert_eq!(s.rendition("video0").unwrap().captions, cc1());
}

#[test]
fn a_changed_track_keeps_its_captions_and_is_scanned_again() {
    let mut p = Publisher {
        sei: vec![CC1_SEI_HEX],
        ..Publisher::av()
    };
    let mut s = stream_with(&mut p, config(), 30_000);
    assert!(!s.packers[0].captions.is_scanning());
    // A re-announce with a changed configuration (here: a language).
    let changed = crate::media::Track {
        language: Some("en".into()),
        ..video_track(0)
    };
    s.handle_track(changed, T0_MS + 30_000);
    assert_eq!(s.rendition("video0").unwrap().init_version, 1);
    assert!(s.packers[0].captions.is_scanning());
    p.sei = vec![CC3_SEI_HEX];
    p.run(&mut s, 31_000);
    assert_eq!(
        s.rendition("video0").unwrap().captions,
        cc1().with_608(3),
        "kept, plus what the new configuration carries"
    );
    // An identical re-announce changes nothing.
    let same = s.rendition("video0").unwrap().track.clone();
    s.handle_track(same, T0_MS + 31_000);
    assert_eq!(s.rendition("video0").unwrap().init_version, 1);
}
