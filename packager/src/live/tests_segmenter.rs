//! Segmenter tests on a virtual clock: cuts, parts, alignment, window, bandwidth.

use super::test_support::*;
use super::*;

fn secs(r: &Rendition, s: &Segment) -> f64 {
    s.duration_s(r.timescale)
}

#[test]
fn renditions_are_named_and_ordered_video_first() {
    let mut s = LiveStream::new(config());
    s.handle_track(audio_track(0), T0_MS);
    s.handle_track(video_track(0), T0_MS);
    s.handle_track(video_track(1), T0_MS);
    let names: Vec<&str> = s.renditions().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["video0", "video1", "audio0"]);
    assert_eq!(s.rendition("audio0").unwrap().timescale, 48_000);
    assert_eq!(s.rendition("video0").unwrap().timescale, 90_000);
    assert!(!s.rendition("video0").unwrap().init.is_empty());
}

#[test]
fn segments_cut_at_key_frames_and_parts_stay_within_the_target() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let v = s.rendition("video0").unwrap();
    let complete: Vec<&Segment> = v.segments.iter().filter(|s| s.complete).collect();
    assert_eq!(complete.len(), 4, "0-2, 2-4, 4-6, 6-8 s");
    for (i, seg) in complete.iter().enumerate() {
        assert_eq!(seg.msn, i as u64);
        assert!(
            (secs(v, seg) - 2.0).abs() < 0.001,
            "segment {i} lasts {}",
            secs(v, seg)
        );
        assert!(
            seg.parts[0].independent,
            "a segment starts with a key frame"
        );
        assert!(seg.parts[1..].iter().all(|p| !p.independent));
        let target = f64::from(config().part_target_ms) / 1000.0;
        for (j, part) in seg.parts.iter().enumerate() {
            assert!(
                part.duration <= target + 1e-9,
                "part {j} lasts {}",
                part.duration
            );
            if j + 1 < seg.parts.len() {
                assert!(
                    part.duration >= 0.85 * target,
                    "part {j} lasts {}",
                    part.duration
                );
            }
        }
        assert_eq!(seg.program_date_time_ms, T0_MS + 2000 * i as u64);
    }
    // The segment in progress started at the key frame of 8 s.
    let open = v.in_progress().unwrap();
    assert_eq!((open.msn, open.start_dts), (4, 8 * 90_000));
}

#[test]
fn part_and_segment_timelines_are_contiguous() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 7_000);
    for r in s.renditions() {
        let mut next = None;
        for seg in &r.segments {
            assert_eq!(
                seg.duration_ticks,
                seg.parts.iter().map(|p| p.duration_ticks).sum::<u64>()
            );
            for part in &seg.parts {
                if let Some(n) = next {
                    assert_eq!(part.start_dts, n, "{}: gap or overlap", r.name);
                }
                next = Some(part.start_dts + part.duration_ticks);
            }
        }
    }
}

#[test]
fn a_sparse_gop_makes_longer_segments_and_raises_the_target_duration() {
    let mut p = Publisher {
        gop: 90,
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 10_000);
    let v = s.rendition("video0").unwrap();
    assert!(v
        .segments
        .iter()
        .filter(|s| s.complete)
        .all(|seg| (secs(v, seg) - 3.0).abs() < 0.001));
    assert_eq!(s.target_duration_s(), 3);
}

#[test]
fn audio_segments_align_with_video_segments() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    let frame_s = 1024.0 / 48_000.0;
    for seg in v.segments.iter().filter(|s| s.complete) {
        let aseg = a.segment(seg.msn).expect("same msn in audio");
        let vt = seg.start_dts as f64 / 90_000.0;
        let at = aseg.start_dts as f64 / 48_000.0;
        assert!(
            (vt - at).abs() <= frame_s / 2.0 + 1e-9,
            "msn {}: video {vt} audio {at}",
            seg.msn
        );
        assert!(aseg.parts.iter().all(|p| p.independent));
    }
    // Audio durations are whole AAC frames despite millisecond timestamps.
    assert!(a
        .segments
        .iter()
        .flat_map(|s| &s.parts)
        .all(|p| p.duration_ticks % 1024 == 0));
}

#[test]
fn audio_only_streams_cut_by_time_and_video_only_streams_work() {
    let mut p = Publisher {
        video: false,
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 7_000);
    let a = s.rendition("audio0").unwrap();
    assert_eq!(s.renditions().len(), 1);
    let complete: Vec<&Segment> = a.segments.iter().filter(|s| s.complete).collect();
    assert_eq!(complete.len(), 3);
    // Cut at the first frame past the target minus the cut tolerance (50 ms).
    assert!(
        complete
            .iter()
            .all(|seg| (1.95..2.0).contains(&secs(a, seg))),
        "{:?}",
        complete.iter().map(|seg| secs(a, seg)).collect::<Vec<_>>()
    );

    let mut p = Publisher {
        audio: false,
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 5_000);
    assert_eq!(s.renditions().len(), 1);
    assert_eq!(
        s.rendition("video0")
            .unwrap()
            .segments
            .iter()
            .filter(|s| s.complete)
            .count(),
        2
    );
}

#[test]
fn frames_before_the_first_key_frame_are_dropped() {
    let mut s = LiveStream::new(config());
    let mut p = Publisher::av();
    p.announce(&mut s);
    // Skip the first key frame: start at video frame 1 and audio frame 1.
    p.video_n = 1;
    p.audio_n = 1;
    p.run(&mut s, 5_000);
    let v = s.rendition("video0").unwrap();
    let a = s.rendition("audio0").unwrap();
    // The timeline starts at the first frame (audio, 21 ms); the first segment at the
    // key frame of 2 s.
    assert_eq!(
        v.segments[0].start_dts,
        (2000 - 21) * 90,
        "first segment at the 2 s key frame"
    );
    let (vt, at) = (
        v.segments[0].start_dts as f64 / 90_000.0,
        a.segments[0].start_dts as f64 / 48_000.0,
    );
    assert!(
        (vt - at).abs() <= 0.011,
        "audio before the first key frame is dropped: {vt} {at}"
    );
    assert_eq!((v.segments[0].msn, a.segments[0].msn), (0, 0));
}

#[test]
fn large_source_timestamps_start_the_timeline_at_zero() {
    // 32-bit-wrap-extended timestamps: ingest hands over monotonic i64 past 2^32.
    let mut p = Publisher {
        src_start_ms: (1 << 32) - 1000,
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 5_000);
    let v = s.rendition("video0").unwrap();
    assert_eq!(v.segments[0].start_dts, 0);
    assert_eq!(v.segments.iter().filter(|s| s.complete).count(), 2);
}

#[test]
fn the_part_counter_grows_with_every_part() {
    let mut p = Publisher::av();
    let mut s = LiveStream::new(config());
    p.announce(&mut s);
    let mut last = s.parts_produced();
    let mut grew = 0;
    while p.next_ms() < 4_000 {
        let (f, now) = p.next_frame();
        let before = s.version();
        s.handle_frame(f, now);
        if s.parts_produced() > last {
            grew += 1;
            assert!(s.version() > before);
        }
        last = s.parts_produced();
    }
    let parts: usize = s
        .renditions()
        .iter()
        .flat_map(|r| &r.segments)
        .map(|s| s.parts.len())
        .sum();
    assert_eq!(s.parts_produced(), parts as u64);
    assert!(grew > 10);
}

#[test]
fn the_window_is_bounded_and_old_segments_stay_fetchable_for_a_while() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 61_000);
    let v = s.rendition("video0").unwrap();
    let listed: Vec<&Segment> = v.playlist_segments().filter(|s| s.complete).collect();
    let listed_s: f64 = listed.iter().map(|seg| secs(v, seg)).sum();
    assert!(
        (10.0..12.0).contains(&listed_s),
        "playlist holds {listed_s} s"
    );
    // Retention: the window (10 s) past the playlist, so 10 more seconds.
    let before = v.playlist_start();
    let kept_s: f64 = v.segments.iter().take(before).map(|seg| secs(v, seg)).sum();
    assert!(
        (10.0..12.0).contains(&kept_s),
        "kept {kept_s} s past the playlist"
    );
    assert_eq!(v.segments.front().unwrap().msn, 20);
    assert!(v.segment(0).is_none());
    assert_eq!(v.inits.len(), 1);
}

#[test]
fn bandwidth_is_measured_per_rendition() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let v = s.rendition("video0").unwrap();
    // Per 2 s: 59 × 9000 + one 36000-byte key frame, plus moof overhead.
    let payload_bps = (59 * 9000 + 36_000) * 8 / 2;
    let (peak, avg) = (v.peak_bandwidth, v.average_bandwidth());
    assert!(
        peak >= payload_bps && peak < payload_bps * 105 / 100,
        "peak {peak} vs {payload_bps}"
    );
    assert!(avg <= peak && avg >= payload_bps, "avg {avg}");
    let a = s.rendition("audio0").unwrap();
    let audio_payload = 200 * 8 * 48_000 / 1024;
    assert!(a.peak_bandwidth >= audio_payload && a.peak_bandwidth < audio_payload * 13 / 10);
    assert!((v.frame_rate().unwrap() - 30.0).abs() < 0.01);
}
