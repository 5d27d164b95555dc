//! Live ABR ladder renditions as followers: named video tracks, fed an encoder
//! delay after the source, with their own B-frame structure, cut exactly where the
//! source (the leader) cuts.

use super::test_support::*;
use super::*;
use crate::hls::multivariant_playlist;

/// 90 kHz ticks of one frame at 30 fps.
const FRAME: i64 = 3000;
/// Frames per GOP: an I frame and 20 P-B-B groups.
const GOP: i64 = 61;

fn track(id: u32, name: Option<&str>) -> Track {
    Track {
        timescale: 90_000,
        name: name.map(str::to_owned),
        ..video_track(id)
    }
}

/// Display index (within its GOP) of the picture at decode index `j`: I, then
/// P-B-B groups (`I0 P3 B1 B2 P6 B4 B5 …`), as x264 with B-frames sends them.
fn display_index(j: i64) -> i64 {
    if j == 0 {
        return 0;
    }
    let (g, r) = ((j - 1) / 3, (j - 1) % 3);
    match r {
        0 => 3 * g + 3,
        r => 3 * g + r,
    }
}

fn frame(track: u32, dts: i64, pts: i64, key: bool) -> Frame {
    let mut data = vec![0u8, 0, 0, 60, if key { 0x65 } else { 0x41 }];
    data.resize(64, 0x5a);
    Frame {
        kind: MediaKind::Video,
        track,
        dts,
        pts,
        keyframe: key,
        data: data.into(),
    }
}

/// Source frame `n` in decode order: two frames of reorder delay.
fn source_frame(n: i64) -> Frame {
    let (gop_start, j) = (n - n % GOP, n % GOP);
    let pts = (gop_start + display_index(j) + 2) * FRAME;
    frame(0, n * FRAME, pts, j == 0)
}

/// Runs a source of `frames` frames and a ladder rendition `name` (track 100)
/// that re-encodes every picture without B-frames, retimed as `live_ladder` does
/// (decode time = pts − the source key frames' composition offset), each frame
/// delivered `delay` ticks after the source frame of the same pts.
fn run(frames: i64, delay: i64, name: &str) -> LiveStream {
    let mut s = LiveStream::new(config());
    s.handle_track(track(0, None), T0_MS);
    let mut ladder: Vec<(i64, Frame)> = Vec::new();
    let mut announced = false;
    let now = |dts: i64| T0_MS + (dts / 90) as u64;
    for n in 0..frames {
        let f = source_frame(n);
        let key_offset = 2 * FRAME;
        // The same picture from the ladder, due `delay` after its source frame.
        ladder.push((
            f.dts + delay,
            frame(100, f.pts - key_offset, f.pts, f.keyframe),
        ));
        let at = f.dts;
        s.handle_frame(f, now(at));
        // Deliver the ladder frames that are due, in pts order.
        ladder.sort_by_key(|(_, f)| f.pts);
        while let Some(i) = ladder.iter().position(|(due, _)| *due <= at) {
            // Only when it is the lowest pts pending (an encoder outputs in order).
            if i != 0 {
                break;
            }
            let (_, lf) = ladder.remove(0);
            if !announced {
                announced = true;
                s.handle_track(track(100, Some(name)), now(at));
            }
            s.handle_frame(lf, now(at));
        }
    }
    s
}

#[test]
fn named_video_tracks_are_their_renditions_url_names() {
    let mut s = LiveStream::new(config());
    s.handle_track(track(0, None), T0_MS);
    s.handle_track(track(100, Some("720p")), T0_MS);
    s.handle_track(track(101, Some("video0")), T0_MS);
    s.handle_track(track(102, Some("a/b")), T0_MS);
    s.handle_track(track(103, Some("720p")), T0_MS);
    let names: Vec<&str> = s.renditions().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["video0", "720p", "video101", "video102", "video103"]
    );
    // A re-announce of the same track keeps its rendition.
    s.handle_track(track(100, Some("720p")), T0_MS);
    assert_eq!(s.renditions().len(), 5);
    assert!(multivariant_playlist(&s).contains("\n720p/index.m3u8\n"));
}

#[test]
fn a_ladder_rendition_fed_late_cuts_where_the_source_cuts() {
    // 700 ms of encoder delay, about 12 s of media.
    let s = run(360, 63_000, "360p");
    let (src, lad) = (s.rendition("video0").unwrap(), s.rendition("360p").unwrap());
    assert_eq!(src.timescale, lad.timescale);
    let complete: Vec<&Segment> = lad.segments.iter().filter(|g| g.complete).collect();
    assert!(
        complete.len() >= 4,
        "{} complete ladder segments",
        complete.len()
    );
    assert_eq!(complete[0].msn, 0, "the ladder joins the first segment");
    for seg in complete {
        let lead = src.segment(seg.msn).expect("same msn in the source");
        assert!(lead.complete);
        assert_eq!(
            (seg.start_dts, seg.duration_ticks),
            (lead.start_dts, lead.duration_ticks),
            "msn {}",
            seg.msn
        );
        assert!(
            seg.parts[0].independent,
            "msn {} starts with a key frame",
            seg.msn
        );
    }
}

#[test]
fn a_ladder_rendition_is_not_cut_before_its_key_frame_whatever_the_delay() {
    for delay in [0, FRAME / 2, 5 * FRAME, 90_000, 180_000] {
        let s = run(250, delay, "240p");
        let (src, lad) = (s.rendition("video0").unwrap(), s.rendition("240p").unwrap());
        for seg in lad.segments.iter().filter(|g| g.complete) {
            let lead = src.segment(seg.msn).unwrap();
            assert_eq!(
                seg.start_dts, lead.start_dts,
                "delay {delay} msn {}",
                seg.msn
            );
            assert!(seg.parts[0].independent, "delay {delay} msn {}", seg.msn);
        }
    }
}
