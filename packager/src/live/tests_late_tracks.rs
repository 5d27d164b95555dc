//! Followers announced after the leader opened a segment (MPEG-TS announces a
//! track with its first PES): they join the leader's open segment.

use super::test_support::*;
use super::*;
use crate::dash::{live_mpd, MpdOptions};
use crate::hls::media_playlist;

/// Half an AAC frame at 48 kHz, in seconds.
const HALF_AAC_FRAME_S: f64 = 512.0 / 48_000.0;

fn start_s(r: &Rendition, s: &Segment) -> f64 {
    s.start_dts as f64 / f64::from(r.timescale)
}

fn end_s(r: &Rendition, s: &Segment) -> f64 {
    (s.start_dts + s.duration_ticks) as f64 / f64::from(r.timescale)
}

/// Every complete video segment has an audio segment of the same msn starting
/// within half an audio frame of it, and the audio msns are the video msns.
fn assert_aligned(s: &LiveStream) {
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    let msns = |r: &Rendition| r.segments.iter().map(|s| s.msn).collect::<Vec<_>>();
    assert_eq!(msns(v), msns(a));
    for seg in v.segments.iter().filter(|s| s.complete) {
        let aseg = a.segment(seg.msn).unwrap();
        assert!(
            (start_s(v, seg) - start_s(a, aseg)).abs() <= HALF_AAC_FRAME_S + 1e-9,
            "msn {}: video {} audio {}",
            seg.msn,
            start_s(v, seg),
            start_s(a, aseg)
        );
    }
}

#[test]
fn audio_announced_300_ms_late_has_segment_0_covering_video_segment_0() {
    let mut p = Publisher {
        late_audio_ms: Some(300),
        ..Publisher::av()
    };
    let mut s = LiveStream::new(config());
    p.announce(&mut s);
    p.run(&mut s, 250);
    assert_eq!(s.renditions().len(), 1, "audio not announced yet");
    assert!(s.rendition("video0").unwrap().in_progress().is_some());
    p.run(&mut s, 9_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    let (v0, a0) = (v.segment(0).unwrap(), a.segment(0).expect("audio msn 0"));
    assert!(v0.complete && a0.complete);
    assert_eq!((start_s(v, v0), start_s(a, a0)), (0.0, 0.0));
    assert!(
        (end_s(v, v0) - end_s(a, a0)).abs() <= HALF_AAC_FRAME_S + 1e-9,
        "video 0..{} audio 0..{}",
        end_s(v, v0),
        end_s(a, a0)
    );
    assert!(!a0.discontinuity && a0.parts[0].independent);
    assert_aligned(&s);
    // Audio is as long as video: nothing of the first segment lost.
    assert!((v.segments.len(), a.segments.len()) == (5, 5));
}

#[test]
fn a_late_follower_starting_mid_segment_joins_it_and_drops_nothing_after() {
    // The audio's first frame is at 320 ms (frames 0..14 never reached ingest).
    let mut p = Publisher {
        late_audio_ms: Some(0),
        audio_n: 15,
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 5_000);
    let a = s.rendition("audio0").unwrap();
    let a0 = a.segment(0).expect("audio msn 0");
    assert_eq!(a0.start_dts, 15 * 1024, "starts at its first frame");
    assert_eq!(
        a.segments.iter().map(|s| s.msn).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let v = s.rendition("video0").unwrap();
    assert!((end_s(v, v.segment(0).unwrap()) - end_s(a, a0)).abs() <= HALF_AAC_FRAME_S + 1e-9);
}

#[test]
fn audio_frames_before_the_open_segment_are_dropped() {
    // Frames before the first key frame (at 2 s): neither video nor late audio
    // keeps them, and the audio joins segment 0 at the key frame.
    let mut p = Publisher {
        late_audio_ms: Some(300),
        ..Publisher::av()
    };
    let mut s = LiveStream::new(config());
    p.announce(&mut s);
    p.video_n = 1;
    p.run(&mut s, 5_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    assert_eq!((v.segments[0].msn, a.segments[0].msn), (0, 0));
    assert!(
        (start_s(v, &v.segments[0]) - start_s(a, &a.segments[0])).abs() <= HALF_AAC_FRAME_S + 1e-9
    );
    assert_aligned(&s);
}

#[test]
fn playlists_and_the_mpd_list_the_late_audio_from_msn_0() {
    let mut p = Publisher {
        late_audio_ms: Some(450),
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 7_000);
    let audio = media_playlist(&s, "audio0", false).unwrap();
    assert!(audio.contains("#EXT-X-MEDIA-SEQUENCE:0\n"), "{audio}");
    assert!(audio.contains("\nseg0.m4s\n"), "{audio}");
    let video = media_playlist(&s, "video0", false).unwrap();
    let (msn, part) = s.rendition("audio0").unwrap().last_part().unwrap();
    assert!(video.contains(&format!(
        "#EXT-X-RENDITION-REPORT:URI=\"../audio0/index.m3u8\",LAST-MSN={msn},LAST-PART={part}\n"
    )));
    let mpd = live_mpd(
        &s,
        &MpdOptions {
            utc_timing_url: "/time".into(),
            now_ms: T0_MS + 7_000,
        },
    );
    assert_eq!(mpd.matches("<AdaptationSet").count(), 2, "{mpd}");
    assert_eq!(mpd.matches("startNumber=\"0\"").count(), 2, "{mpd}");
    assert_eq!(mpd.matches("presentationTimeOffset=\"0\"").count(), 2);
    assert_eq!(mpd.matches("<S t=\"0\" ").count(), 2, "{mpd}");
}

#[test]
fn a_follower_first_announced_after_a_reconnect_shares_the_discontinuity_sequence() {
    let mut p = Publisher {
        audio: false,
        ..Publisher::av()
    };
    let mut s = stream_with(&mut p, config(), 5_000);
    s.handle_publisher_gone(T0_MS + 5_000);
    // The publisher comes back with audio, announced late.
    let mut p2 = Publisher {
        t0_ms: T0_MS + 8_000,
        late_audio_ms: Some(300),
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 5_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    let first = a.segments.front().unwrap();
    assert_eq!(first.msn, 3, "the epoch's first segment");
    assert!(first.discontinuity);
    assert_eq!(a.discontinuity_sequence(), v.discontinuity_sequence());
    let text = media_playlist(&s, "audio0", false).unwrap();
    assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-DISCONTINUITY\n"));
    // Long after, both count it the same way.
    p2.run(&mut s, 40_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    assert_eq!(a.discontinuity_sequence(), 1);
    assert_eq!(v.discontinuity_sequence(), 1);
}

#[test]
fn a_follower_announced_between_epochs_counts_the_discontinuities_before_it() {
    let mut p = Publisher {
        audio: false,
        ..Publisher::av()
    };
    let mut s = stream_with(&mut p, config(), 3_000);
    s.handle_publisher_gone(T0_MS + 3_000);
    let mut p2 = Publisher {
        audio: false,
        t0_ms: T0_MS + 5_000,
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 3_000);
    s.handle_publisher_gone(T0_MS + 8_000);
    // Announced before the third epoch's first frame: it starts with that epoch.
    s.handle_track(audio_track(0), T0_MS + 9_000);
    let mut p3 = Publisher {
        t0_ms: T0_MS + 9_000,
        ..Publisher::av()
    };
    p3.run(&mut s, 3_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    let first = a.segments.front().unwrap();
    assert!(first.discontinuity);
    assert_eq!(a.dropped_discontinuities, 1, "the second epoch's");
    let seq_at = |r: &Rendition, msn: u64| {
        r.dropped_discontinuities
            + r.segments
                .iter()
                .filter(|s| s.msn <= msn && s.discontinuity)
                .count() as u64
    };
    assert_eq!(seq_at(a, first.msn), seq_at(v, first.msn));
    assert_eq!(seq_at(a, first.msn), 2);
}

#[test]
fn a_late_video_follower_starts_its_first_segment_at_a_key_frame() {
    let mut s = LiveStream::new(config());
    s.handle_track(video_track(0), T0_MS);
    let frame = |track: u32, n: i64, key: bool| Frame {
        kind: MediaKind::Video,
        track,
        dts: n * 1000 / 30,
        pts: n * 1000 / 30,
        keyframe: key,
        data: Bytes::from(vec![0u8; 100]),
    };
    for n in 0..150i64 {
        let now = T0_MS + (n * 1000 / 30) as u64;
        s.handle_frame(frame(0, n, n % 60 == 0), now);
        if n == 10 {
            s.handle_track(video_track(1), now);
        }
        // The second encoder's key frames are every second, from 1 s.
        if n >= 10 {
            s.handle_frame(frame(1, n, n % 30 == 0), now);
        }
    }
    let v1 = s.rendition("video1").unwrap();
    let first = v1.segments.front().unwrap();
    assert_eq!(first.msn, 0, "joins the open segment");
    assert_eq!(first.start_dts, 90_000, "at its first key frame (1 s)");
    assert!(first.parts[0].independent);
    let v0 = s.rendition("video0").unwrap();
    assert_eq!(
        v1.segment(1).unwrap().start_dts,
        v0.segment(1).unwrap().start_dts
    );
}

#[test]
fn a_late_followers_segments_are_dated_like_the_leaders() {
    // The audio arrives 300 ms after the video of the same media time.
    let mut p = Publisher {
        late_audio_ms: Some(300),
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 9_000);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    for seg in &v.segments {
        let aseg = a.segment(seg.msn).unwrap();
        let offset_ms = (start_s(a, aseg) - start_s(v, seg)) * 1000.0;
        assert_eq!(
            aseg.program_date_time_ms,
            seg.program_date_time_ms
                .saturating_add_signed(offset_ms.round() as i64),
            "msn {}",
            seg.msn
        );
    }
    assert_eq!(a.segment(0).unwrap().program_date_time_ms, T0_MS);
}
