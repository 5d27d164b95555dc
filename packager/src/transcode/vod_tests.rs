//! A real transcode through the VOD packager: every rendition, video and audio,
//! gets the same segments (the transcoder announces audio first; video must lead).

use std::sync::atomic::AtomicBool;

use crate::media::{Frame, Track};
use crate::transcode::test_support::clip;
use crate::transcode::{transcode_file, LadderSink, LadderSpec, RenditionSpec, SinkError};
use crate::vod::{VodFile, VodPackager};

struct PackagingSink {
    packager: Option<VodPackager>,
    files: Vec<VodFile>,
}

impl LadderSink for PackagingSink {
    fn track(&mut self, track: Track) -> Result<(), SinkError> {
        let files = self.packager.as_mut().expect("open").handle_track(track);
        self.files.extend(files);
        Ok(())
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        let files = self.packager.as_mut().expect("open").handle_frame(frame);
        self.files.extend(files);
        Ok(())
    }
}

#[test]
fn transcoded_renditions_share_segment_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = clip(
        dir.path(),
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "9",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
        ],
    ) else {
        return;
    };
    let spec = LadderSpec {
        renditions: vec![
            RenditionSpec::new("360p", 360, 700_000),
            RenditionSpec::new("180p", 180, 200_000),
        ],
        keyframe_interval_s: 2.0,
        preset: "ultrafast".into(),
        audio_bitrate: 96_000,
        threads: 2,
    };
    let mut sink = PackagingSink {
        packager: Some(VodPackager::new(2000, true)),
        files: Vec::new(),
    };
    transcode_file(
        &input,
        &spec,
        &mut sink,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let (files, summary) = sink.packager.take().unwrap().finish();
    sink.files.extend(files);
    assert!(sink.files.iter().any(|f| f.path == "master.m3u8"));
    let durations: Vec<(String, Vec<(u64, f64)>)> = summary
        .renditions
        .iter()
        .map(|r| {
            let ts = f64::from(r.timescale);
            (
                r.name.clone(),
                r.segments
                    .iter()
                    .map(|s| (s.msn, s.duration_ticks as f64 / ts))
                    .collect(),
            )
        })
        .collect();
    let (_, reference) = &durations[0];
    for (name, list) in &durations[1..] {
        assert_eq!(
            list.len(),
            reference.len(),
            "{name}: {list:?} vs {reference:?}"
        );
        for ((m1, d1), (m2, d2)) in list.iter().zip(reference) {
            assert_eq!(m1, m2, "{name}");
            // Within one AAC frame (21.3 ms).
            assert!((d1 - d2).abs() < 0.025, "{name}: msn {m1} {d1} vs {d2}");
        }
    }
    assert!(
        (summary.duration_s - 9.0).abs() < 0.1,
        "{}",
        summary.duration_s
    );
}
