//! VOD packaging over the live segmenter, with the live tests' synthetic publisher.

use std::collections::HashMap;

use super::*;
use crate::live::test_support::{audio_track, video_track, Publisher, T0_MS};
use crate::live::{LiveConfig, LiveStream};
use crate::media::{Frame, MediaKind};

fn small_window() -> LiveConfig {
    LiveConfig {
        segment_target_ms: 2000,
        part_target_ms: 500,
        window_ms: 6000,
    }
}

/// Runs a publisher for `ms` of media, collecting after every frame.
fn record(ms: i64, collect_every: usize) -> (Vec<VodFile>, VodSummary, u64) {
    let mut p = Publisher::av();
    let mut s = LiveStream::new(small_window());
    p.announce(&mut s);
    let mut rec = VodRecorder::new();
    let mut files = Vec::new();
    let mut n = 0;
    while p.next_ms() < ms {
        let (f, now) = p.next_frame();
        s.handle_frame(f, now);
        n += 1;
        if n % collect_every == 0 {
            files.extend(rec.collect(&s));
        }
    }
    s.handle_end(T0_MS + ms as u64);
    let missed_before_finish = rec.missed_segments();
    let (more, summary) = rec.finish(&s);
    files.extend(more);
    (files, summary, missed_before_finish)
}

fn file<'a>(files: &'a [VodFile], path: &str) -> &'a str {
    let f = files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} missing"));
    std::str::from_utf8(&f.data).unwrap()
}

#[test]
fn records_every_segment_of_a_stream_longer_than_the_window() {
    let (files, summary, missed) = record(60_000, 1);
    assert_eq!(missed, 0);
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let unique: std::collections::HashSet<&&str> = paths.iter().collect();
    assert_eq!(unique.len(), paths.len(), "each file handed out once");
    for r in &summary.renditions {
        assert_eq!(r.segments.len(), 30, "{}: 60 s in 2 s segments", r.name);
        let msns: Vec<u64> = r.segments.iter().map(|s| s.msn).collect();
        assert!(msns.windows(2).all(|w| w[1] == w[0] + 1));
        for s in &r.segments {
            let seg = files
                .iter()
                .find(|f| f.path == format!("{}/seg{}.m4s", r.name, s.msn))
                .expect("segment file");
            assert_eq!(seg.data.len() as u64, s.bytes);
            assert_eq!(&seg.data[4..8], b"moof");
        }
        assert!(paths.contains(&format!("{}/init.mp4", r.name).as_str()));
    }
    assert!(
        (summary.duration_s - 60.0).abs() < 0.1,
        "{}",
        summary.duration_s
    );

    let video = file(&files, "video0/index.m3u8");
    assert!(video.starts_with("#EXTM3U\n"));
    assert!(video.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"));
    assert!(video.contains("#EXT-X-MAP:URI=\"init.mp4\"\n"));
    assert!(video.ends_with("#EXT-X-ENDLIST\n"));
    assert_eq!(video.matches("#EXTINF:").count(), 30);
    assert!(!video.contains("DISCONTINUITY"));
    let total: f64 = video
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!((total - 60.0).abs() < 0.1, "{total}");

    let master = file(&files, "master.m3u8");
    assert!(master.contains("video0/index.m3u8"));
    assert!(master.contains("URI=\"audio0/index.m3u8\""));
    assert!(master.contains("RESOLUTION="));
}

#[test]
fn static_mpd_lists_the_same_segments() {
    let (files, summary, _) = record(20_000, 1);
    let mpd = file(&files, "manifest.mpd");
    let doc = roxmltree::Document::parse(mpd).expect("well-formed MPD");
    let root = doc.root_element();
    assert_eq!(root.attribute("type"), Some("static"));
    assert!(root.attribute("mediaPresentationDuration").is_some());
    assert!(root.attribute("availabilityStartTime").is_none());
    let reps: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Representation"))
        .collect();
    assert_eq!(reps.len(), 2);
    for rep in reps {
        let id = rep.attribute("id").unwrap();
        let rec = summary.renditions.iter().find(|r| r.name == id).unwrap();
        let tmpl = rep
            .descendants()
            .find(|n| n.has_tag_name("SegmentTemplate"))
            .unwrap();
        assert_eq!(
            tmpl.attribute("startNumber").unwrap(),
            rec.segments[0].msn.to_string()
        );
        let count: u64 = tmpl
            .descendants()
            .filter(|n| n.has_tag_name("S"))
            .map(|s| 1 + s.attribute("r").map_or(0, |r| r.parse::<u64>().unwrap()))
            .sum();
        assert_eq!(count, rec.segments.len() as u64, "{id}");
    }
}

#[test]
fn segments_gone_before_collection_are_counted_and_marked() {
    // Collect only every 1,500 frames (~17 s at 30 + 47 fps): older segments left
    // the 6 s window plus retention in between.
    let (files, summary, missed) = record(60_000, 1500);
    assert!(missed > 0);
    let video = summary
        .renditions
        .iter()
        .find(|r| r.name == "video0")
        .unwrap();
    assert!(video.segments.len() < 30);
    assert!(video.segments.iter().skip(1).any(|s| s.discontinuity));
    let playlist = file(&files, "video0/index.m3u8");
    assert!(playlist.contains("#EXT-X-DISCONTINUITY\n"));
}

/// A transcoder-like source: audio announced first, two video renditions with the
/// second one's frames delivered late.
#[test]
fn packager_aligns_renditions_delivered_out_of_step() {
    let mut vod = VodPackager::new(2000, true);
    let v1 = video_track(1);
    let mut files = vod.handle_track(audio_track(0));
    files.extend(vod.handle_track(video_track(0)));
    files.extend(vod.handle_track(v1));
    let mut p = Publisher::av();
    let mut lagging: Vec<Frame> = Vec::new();
    while p.next_ms() < 30_000 {
        let (f, _) = p.next_frame();
        if f.kind == MediaKind::Video {
            let mut copy = f.clone();
            copy.track = 1;
            lagging.push(copy);
            // Rendition 1 is 90 frames (3 s) behind.
            if lagging.len() > 90 {
                files.extend(vod.handle_frame(lagging.remove(0)));
            }
        }
        files.extend(vod.handle_frame(f));
    }
    for f in lagging {
        files.extend(vod.handle_frame(f));
    }
    let (more, summary) = vod.finish();
    files.extend(more);
    let by_name: HashMap<&str, &RecordedRendition> = summary
        .renditions
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let (a, b) = (by_name["video0"], by_name["video1"]);
    assert_eq!(a.segments.len(), 15);
    assert_eq!(
        a.segments
            .iter()
            .map(|s| (s.msn, s.duration_ticks))
            .collect::<Vec<_>>(),
        b.segments
            .iter()
            .map(|s| (s.msn, s.duration_ticks))
            .collect::<Vec<_>>()
    );
    let audio = by_name["audio0"];
    assert_eq!(
        audio.segments.iter().map(|s| s.msn).collect::<Vec<_>>(),
        a.segments.iter().map(|s| s.msn).collect::<Vec<_>>()
    );
    assert!((summary.duration_s - 30.0).abs() < 0.1);
    assert_eq!(summary.resolution().map(|(_, h)| h > 0), Some(true));
    assert_eq!(summary.codecs().len(), 2);
    assert!(files.iter().any(|f| f.path == "master.m3u8"));
}

#[test]
fn interleave_releases_frames_in_time_order() {
    use super::interleave::Interleave;
    let mut il = Interleave::new();
    il.handle_track(&video_track(0));
    il.handle_track(&audio_track(0));
    let frame = |kind, dts| Frame {
        kind,
        track: 0,
        dts,
        pts: dts,
        keyframe: true,
        data: Bytes::new(),
    };
    let mut out = Vec::new();
    for t in [0, 33, 66, 100] {
        out.extend(il.handle_frame(frame(MediaKind::Video, t)));
    }
    assert!(out.is_empty(), "audio not seen yet");
    out.extend(il.handle_frame(frame(MediaKind::Audio, 50)));
    out.extend(il.finish());
    let times: Vec<i64> = out.iter().map(|f| f.dts).collect();
    assert_eq!(times, vec![0, 33, 50, 66, 100]);
}
