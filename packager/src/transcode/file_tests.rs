//! `transcode_file` on clips made by the ffmpeg CLI: rendition sizes, key frames at
//! the same pts in every rendition, audio-only input, cancel, progress, junk input,
//! and one rendition muxed with our own `fmp4` functions and decoded by ffprobe.
//! Skipped loudly without ffmpeg/ffprobe.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use super::test_support::{av_clip, junk_file, run, small_ladder, tone_clip, TestSink};
use super::*;
use crate::fmp4::{fragment, init_segment, Sample};
use crate::media::{CodecConfig, Frame, Track};

#[test]
fn every_rendition_has_its_size_and_key_frames_at_the_same_pts() {
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = av_clip(dir.path()) else {
        return;
    };
    let (result, sink) = run(&input, &small_ladder());
    let summary = result.unwrap();
    let expected = [("360p", 640, 360), ("240p", 426, 240), ("144p", 256, 144)];
    let names: Vec<(&str, u32, u32)> = summary
        .renditions
        .iter()
        .map(|(n, w, h)| (n.as_str(), *w, *h))
        .collect();
    assert_eq!(names, expected);
    assert!(summary.has_audio);
    assert!(
        (2.9..3.1).contains(&summary.duration_s),
        "{}",
        summary.duration_s
    );

    let (_, reference) = sink.video(0);
    let key_pts = |frames: &[Frame]| -> Vec<i64> {
        frames
            .iter()
            .filter(|f| f.keyframe)
            .map(|f| f.pts)
            .collect()
    };
    // One frame per source frame, and B-frames (pts != dts somewhere).
    assert_eq!(reference.len(), 75);
    assert!(reference.iter().any(|f| f.pts != f.dts));
    // Key frames on the 1 s grid from the first frame (25 fps: frames 0, 25, 50).
    let mut all_pts: Vec<i64> = reference.iter().map(|f| f.pts).collect();
    all_pts.sort_unstable();
    let first = all_pts[0];
    let grid: Vec<i64> = [0, 25, 50].iter().map(|&n| all_pts[n]).collect();
    assert_eq!(grid, vec![first, first + 90_000, first + 180_000]);
    assert_eq!(key_pts(reference), grid);

    for (id, (name, width, height)) in expected.iter().enumerate() {
        let (track, frames) = sink.video(id as u32);
        assert_eq!(track.name.as_deref(), Some(*name));
        assert_eq!(track.timescale, 90_000);
        let CodecConfig::H264(avc) = &track.codec else {
            panic!("{:?}", track.codec)
        };
        assert_eq!(avc.profile, 100, "High profile");
        let info = track.codec.video_info().unwrap();
        assert_eq!((info.width, info.height), (*width, *height));
        assert_eq!(frames.len(), 75, "{name}");
        assert_eq!(key_pts(frames), grid, "{name}");
        assert!(frames
            .iter()
            .all(|f| f.data.len() > 4 && f.data[..4] != [0, 0, 0, 1]));
    }

    let audio = &sink.tracks[&(false, 0)];
    assert_eq!(audio.name.as_deref(), Some("audio"));
    let info = audio.codec.audio_info().unwrap();
    assert_eq!((info.sample_rate, info.channels), (48_000, 2));
    let audio_frames = &sink.frames[&(false, 0)];
    // 3 s at 48 kHz is 140.6 AAC frames, plus the encoder's priming frame.
    assert!(
        (141..=143).contains(&audio_frames.len()),
        "{}",
        audio_frames.len()
    );
}

#[test]
fn a_rendition_decodes_in_ffprobe_after_our_fmp4_muxer() {
    if Command::new("ffprobe").arg("-version").output().is_err() {
        eprintln!("SKIPPED: no ffprobe");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = av_clip(dir.path()) else {
        return;
    };
    let (result, sink) = run(&input, &small_ladder());
    result.unwrap();
    let (track, frames) = sink.video(1);
    let mp4 = dir.path().join("240p.mp4");
    std::fs::write(&mp4, mux(track, frames)).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,profile,width,height,nb_read_frames",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(&mp4)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "decoder complained: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "codec_name=h264",
        "profile=High",
        "width=426",
        "height=240",
        "nb_read_frames=75",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
}

/// Init segment plus one fragment with every frame, dts shifted to start at 0.
fn mux(track: &Track, frames: &[Frame]) -> Vec<u8> {
    let first_dts = frames[0].dts;
    let samples: Vec<Sample> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let next = frames.get(i + 1).map_or(f.dts + 3600, |n| n.dts);
            Sample {
                duration: (next - f.dts) as u32,
                composition_offset: (f.pts - f.dts) as i32,
                keyframe: f.keyframe,
                data: f.data.clone(),
            }
        })
        .collect();
    let mut out = init_segment(track).unwrap().to_vec();
    out.extend_from_slice(&fragment(1, (frames[0].dts - first_dts) as u64, &samples));
    out
}

#[test]
fn audio_only_input_gives_only_the_audio_track() {
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = tone_clip(dir.path(), "2") else {
        return;
    };
    let (result, sink) = run(&input, &small_ladder());
    let summary = result.unwrap();
    assert!(summary.renditions.is_empty());
    assert!(summary.has_audio);
    assert!(
        (1.9..2.2).contains(&summary.duration_s),
        "{}",
        summary.duration_s
    );
    assert_eq!(sink.tracks.len(), 1);
    let info = sink.tracks[&(false, 0)].codec.audio_info().unwrap();
    assert_eq!((info.sample_rate, info.channels), (44_100, 1));
    assert!(sink.frames[&(false, 0)].len() >= 86);
}

#[test]
fn cancel_stops_the_transcode_part_way() {
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = av_clip(dir.path()) else {
        return;
    };
    let cancel = AtomicBool::new(false);
    let mut reports = Vec::new();
    let mut sink = TestSink::default();
    let result = transcode_file(
        &input,
        &small_ladder(),
        &mut sink,
        &mut |p| {
            reports.push(p);
            cancel.store(true, Ordering::Relaxed);
        },
        &cancel,
    );
    assert!(
        matches!(result, Err(TranscodeError::Cancelled)),
        "{result:?}"
    );
    assert_eq!(reports.len(), 1);
    let duration = reports[0].duration_s.unwrap();
    assert!((2.9..3.2).contains(&duration), "{duration}");
    assert!(reports[0].media_s < 2.0, "{:?}", reports[0]);
}

#[test]
fn progress_reaches_the_duration() {
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = av_clip(dir.path()) else {
        return;
    };
    let mut reports = Vec::new();
    let mut sink = TestSink::default();
    transcode_file(
        &input,
        &small_ladder(),
        &mut sink,
        &mut |p| reports.push(p),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(reports.len() >= 3, "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].media_s <= w[1].media_s));
    let last = reports.last().unwrap();
    assert!((2.9..3.1).contains(&last.media_s), "{last:?}");
}

#[test]
fn junk_is_not_media_and_a_sink_error_stops_the_transcode() {
    let dir = tempfile::tempdir().unwrap();
    let junk = junk_file(dir.path(), 256 * 1024);
    let (result, sink) = run(&junk, &small_ladder());
    assert!(
        matches!(result, Err(TranscodeError::NotMedia(_))),
        "{result:?}"
    );
    assert!(sink.tracks.is_empty());
    // Without an extension, as uploads are stored (`notes.txt` would be read as
    // ANSI art by libavformat's `tty` demuxer).
    let text = dir.path().join("notes");
    std::fs::write(&text, "just some text\n".repeat(100)).unwrap();
    let (result, _) = run(&text, &small_ladder());
    assert!(
        matches!(result, Err(TranscodeError::NotMedia(_))),
        "{result:?}"
    );

    struct Full;
    impl LadderSink for Full {
        fn track(&mut self, _: Track) -> Result<(), SinkError> {
            Ok(())
        }
        fn frame(&mut self, _: Frame) -> Result<(), SinkError> {
            Err(SinkError::Io(std::io::Error::other("disk full")))
        }
    }
    let Some(input) = av_clip(dir.path()) else {
        return;
    };
    let result = transcode_file(
        &input,
        &small_ladder(),
        &mut Full,
        &mut |_| {},
        &AtomicBool::new(false),
    );
    assert!(
        matches!(result, Err(TranscodeError::Sink(SinkError::Io(_)))),
        "{result:?}"
    );
}
