//! Reconnects, re-announces, timestamp jumps and the end of a stream.

use super::test_support::*;
use super::*;

/// Every part's tfdt is after the previous part's end, across all segments.
fn assert_monotonic(r: &Rendition) {
    let mut end = 0;
    for part in r.segments.iter().flat_map(|s| &s.parts) {
        assert!(
            part.start_dts >= end,
            "{}: tfdt {} before {}",
            r.name,
            part.start_dts,
            end
        );
        end = part.start_dts + part.duration_ticks;
    }
}

#[test]
fn a_reconnect_continues_the_playlist_after_a_discontinuity() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 5_000);
    s.handle_publisher_gone(T0_MS + 5_000);
    let v = s.rendition("video0").unwrap();
    assert!(v.segments.iter().all(|seg| seg.complete), "flushed");
    let last_before = v.segments.back().unwrap().clone();
    assert_eq!(last_before.msn, 2);
    assert!(
        (last_before.duration_s(v.timescale) - 1.0).abs() < 0.001,
        "4 s .. 5 s, last sample 1 frame"
    );

    // The publisher comes back 3 s later; its timestamps restart at 0; tracks re-announced.
    let mut p2 = Publisher {
        t0_ms: T0_MS + 8_000,
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 5_000);
    for r in s.renditions() {
        assert_monotonic(r);
        let after = r.segment(3).expect("msn continues");
        assert!(after.discontinuity, "{}", r.name);
        assert_eq!(after.program_date_time_ms, T0_MS + 8_000);
        assert!(r
            .segments
            .iter()
            .filter(|seg| seg.msn != 3)
            .all(|seg| !seg.discontinuity));
        assert_eq!(r.init_version, 0, "identical re-announce keeps the init");
    }
    let v = s.rendition("video0").unwrap();
    // Decode time continues at the stream's old end (audio ended 13 ms after video).
    let start = v.segment(3).unwrap().start_dts;
    assert!(
        (5 * 90_000..5 * 90_000 + 2_000).contains(&start),
        "continues at {start}"
    );
    assert_eq!(s.epochs().len(), 2);
    let e = s.epochs()[1];
    assert_eq!(
        (e.first_msn, e.wall_ms, e.period_start_us),
        (3, T0_MS + 8_000, 8_000_000)
    );
}

#[test]
fn publisher_gone_twice_is_harmless() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 3_000);
    s.handle_publisher_gone(T0_MS + 3_000);
    let snapshot: Vec<Rendition> = s.renditions().to_vec();
    s.handle_publisher_gone(T0_MS + 3_500);
    assert_eq!(s.renditions(), &snapshot[..]);
}

#[test]
fn an_identical_re_announce_mid_stream_is_a_no_op() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 3_000);
    let parts = s.parts_produced();
    p.announce(&mut s);
    assert_eq!(s.parts_produced(), parts);
    p.run(&mut s, 7_000);
    for r in s.renditions() {
        assert!(r.segments.iter().all(|seg| !seg.discontinuity));
        assert_eq!(r.inits.len(), 1);
    }
    assert_eq!(s.epochs().len(), 1);
}

#[test]
fn a_changed_configuration_gets_a_new_init_after_a_discontinuity() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 3_000);
    let mut changed = video_track(0);
    changed.language = Some("de".into());
    s.handle_track(changed.clone(), T0_MS + 3_000);
    p.run(&mut s, 7_000);
    let v = s.rendition("video0").unwrap();
    assert_eq!(v.init_version, 1);
    assert_eq!(v.track, changed);
    let first_new = v.segments.iter().find(|seg| seg.init_version == 1).unwrap();
    assert!(first_new.discontinuity);
    assert!(v.init_by_uri("init-v1.mp4").is_some() && v.init_by_uri("init.mp4").is_some());
    assert_monotonic(v);
    assert_monotonic(s.rendition("audio0").unwrap());
}

#[test]
fn a_forward_timestamp_jump_is_a_discontinuity() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 3_000);
    // The source jumps 60 s ahead (encoder restart without reconnect).
    p.src_start_ms += 60_000;
    p.t0_ms -= 0;
    p.run(&mut s, 7_000);
    for r in s.renditions() {
        assert_monotonic(r);
        let discs: Vec<u64> = r
            .segments
            .iter()
            .filter(|seg| seg.discontinuity)
            .map(|seg| seg.msn)
            .collect();
        assert_eq!(discs.len(), 1, "{}: {discs:?}", r.name);
    }
    let v = s.rendition("video0").unwrap();
    let listed: f64 = v
        .segments
        .iter()
        .map(|seg| seg.duration_s(v.timescale))
        .sum();
    assert!(listed < 8.0, "no 60 s hole in the timeline: {listed}");
}

#[test]
fn a_backward_timestamp_jump_is_a_discontinuity() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 5_000);
    p.src_start_ms -= 4_000;
    p.run(&mut s, 9_000);
    for r in s.renditions() {
        assert_monotonic(r);
        assert_eq!(
            r.segments.iter().filter(|seg| seg.discontinuity).count(),
            1,
            "{}",
            r.name
        );
    }
}

#[test]
fn negative_composition_offsets_are_carried() {
    let mut p = Publisher {
        cto_ms: vec![0, -33, 33],
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 3_000);
    let v = s.rendition("video0").unwrap();
    assert_eq!(v.segments.iter().filter(|seg| seg.complete).count(), 1);
    assert_monotonic(v);
}

#[test]
fn the_end_flushes_and_marks_every_rendition() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 3_000);
    s.handle_end(T0_MS + 3_000);
    assert!(s.ended());
    for r in s.renditions() {
        assert!(
            r.ended && r.segments.iter().all(|seg| seg.complete),
            "{}",
            r.name
        );
    }
    let parts = s.parts_produced();
    p.run(&mut s, 4_000);
    assert_eq!(
        s.parts_produced(),
        parts,
        "frames after the end are ignored"
    );
}
