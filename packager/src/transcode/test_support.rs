//! Shared by the transcode tests: a sink that records everything and checks the
//! [`LadderSink`] contract as it goes, clips made with the ffmpeg CLI (tests skip
//! loudly without it), and a small, fast ladder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use super::*;
use crate::media::{Frame, MediaKind, Track};

/// Collects everything and checks the sink contract as it goes.
#[derive(Default)]
pub(crate) struct TestSink {
    pub(crate) tracks: BTreeMap<(bool, u32), Track>,
    pub(crate) frames: BTreeMap<(bool, u32), Vec<Frame>>,
}

impl LadderSink for TestSink {
    fn track(&mut self, track: Track) -> Result<(), SinkError> {
        let key = (track.kind() == MediaKind::Video, track.id);
        self.tracks.insert(key, track);
        Ok(())
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        let key = (frame.kind == MediaKind::Video, frame.track);
        assert!(self.tracks.contains_key(&key), "frame before its track");
        let frames = self.frames.entry(key).or_default();
        if let Some(prev) = frames.last() {
            assert!(frame.dts >= prev.dts, "dts went back on {key:?}");
        }
        frames.push(frame);
        Ok(())
    }
}

impl TestSink {
    pub(crate) fn video(&self, id: u32) -> (&Track, &[Frame]) {
        (&self.tracks[&(true, id)], &self.frames[&(true, id)])
    }
}

/// Makes a clip with the ffmpeg CLI; `None` (test skipped loudly) without it.
pub(crate) fn clip(dir: &Path, name: &str, args: &[&str]) -> Option<PathBuf> {
    let out = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: ffmpeg could not make {name}");
        return None;
    }
    Some(out)
}

/// 3 s of 640×360 at 25 fps with a 440 Hz tone.
pub(crate) fn av_clip(dir: &Path) -> Option<PathBuf> {
    clip(
        dir,
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-ac",
            "2",
        ],
    )
}

pub(crate) fn small_ladder() -> LadderSpec {
    LadderSpec {
        renditions: vec![
            RenditionSpec::new("360p", 360, 800_000),
            RenditionSpec::new("240p", 240, 400_000),
            RenditionSpec::new("144p", 144, 150_000),
        ],
        keyframe_interval_s: 1.0,
        preset: "veryfast".into(),
        audio_bitrate: 96_000,
        threads: 2,
    }
}

pub(crate) fn run(
    input: &Path,
    spec: &LadderSpec,
) -> (Result<FileSummary, TranscodeError>, TestSink) {
    let mut sink = TestSink::default();
    let result = transcode_file(input, spec, &mut sink, &mut |_| {}, &AtomicBool::new(false));
    (result, sink)
}

/// `len` bytes of xorshift noise at `dir/junk.bin`: no container recognises it.
pub(crate) fn junk_file(dir: &Path, len: usize) -> PathBuf {
    let junk = dir.join("junk.bin");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    std::fs::write(&junk, bytes).expect("write junk");
    junk
}

/// `seconds` of AAC tone at 44.1 kHz mono, no video (`tone.m4a`).
pub(crate) fn tone_clip(dir: &Path, seconds: &str) -> Option<PathBuf> {
    clip(
        dir,
        "tone.m4a",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=44100",
            "-t",
            seconds,
            "-c:a",
            "aac",
        ],
    )
}
