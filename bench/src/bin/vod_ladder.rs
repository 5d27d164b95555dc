//! vod-ladder — issue 7's VOD ladder bench, our side: `packager::transcode::
//! transcode_file` on one file with the default ladder (1080p/720p/480p/360p, 2 s
//! key frames, AAC 128 kbit/s), timed. `bench/vod_ladder.sh` runs it against the
//! ffmpeg CLI doing the same ladder with the same encoder settings.
//!
//! ```text
//! vod-ladder INPUT [--preset veryfast] [--threads 0] [--keyframe-interval-s 2]
//! ```
//!
//! Output is counted and discarded (no muxing), as the CLI side writes `-f null`.
//! The last line is `RESULT wall_s=… frames=… bytes=… renditions=… audio=…`; the
//! per-track lines before it let the script check that both sides produced the
//! same number of frames.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use packager::media::{Frame, MediaKind, Track};
use packager::transcode::{transcode_file, LadderSink, LadderSpec, SinkError};

/// Counts frames and bytes per track.
#[derive(Default)]
struct CountingSink {
    names: BTreeMap<(bool, u32), String>,
    counts: BTreeMap<(bool, u32), (u64, u64)>,
}

impl LadderSink for CountingSink {
    fn track(&mut self, track: Track) -> Result<(), SinkError> {
        let key = (track.kind() == MediaKind::Video, track.id);
        let name = track.name.clone().unwrap_or_default();
        let size = track
            .codec
            .video_info()
            .map(|v| format!(" {}x{}", v.width, v.height))
            .unwrap_or_default();
        self.names
            .insert(key, format!("{name}{size} {}", track.codec.codec_string()));
        Ok(())
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        let c = self
            .counts
            .entry((frame.kind == MediaKind::Video, frame.track))
            .or_default();
        c.0 += 1;
        c.1 += frame.data.len() as u64;
        Ok(())
    }
}

fn parse_args() -> Result<(PathBuf, LadderSpec)> {
    let mut spec = LadderSpec::default();
    let mut input = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--preset" => spec.preset = value()?,
            "--threads" => spec.threads = value()?.parse()?,
            "--keyframe-interval-s" => spec.keyframe_interval_s = value()?.parse()?,
            s if s.starts_with("--") => bail!("unknown option {s}"),
            s => input = Some(PathBuf::from(s)),
        }
    }
    Ok((input.context("usage: vod-ladder INPUT [options]")?, spec))
}

fn main() -> Result<()> {
    let (input, spec) = parse_args()?;
    let mut sink = CountingSink::default();
    let started = Instant::now();
    let summary = transcode_file(
        &input,
        &spec,
        &mut sink,
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    let wall = started.elapsed().as_secs_f64();
    let (mut frames, mut bytes) = (0, 0);
    for (key, (n, b)) in &sink.counts {
        let name = sink.names.get(key).map_or("?", String::as_str);
        let kbps = *b as f64 * 8.0 / summary.duration_s.max(1e-3) / 1000.0;
        println!("track {name}: {n} frames, {kbps:.0} kbit/s");
        frames += n;
        bytes += b;
    }
    println!(
        "RESULT wall_s={wall:.3} frames={frames} bytes={bytes} renditions={} audio={} media_s={:.3}",
        summary.renditions.len(),
        u8::from(summary.has_audio),
        summary.duration_s
    );
    Ok(())
}
