//! One VOD job, start to end, on a blocking thread: probe the source, transcode the
//! ladder into the VOD packager while writing each finished segment, write the
//! playlists and the MPD, then the poster, sprite and WebVTT thumbnails.
//!
//! Files of an earlier attempt (a job interrupted by a restart runs again from
//! the start) are removed first; only `source` is kept.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use packager::media::{Frame, Track};
use packager::transcode::thumbnails::ThumbnailSpec;
use packager::transcode::{
    probe, transcode_file, LadderSink, LadderSpec, ProbeError, Progress, SinkError, TranscodeError,
};
use packager::vod::{VodFile, VodPackager, VodSummary};

use super::paths::SOURCE_FILE;
use super::store::write_files;
use super::thumbnail_files::write_thumbnails;

/// Why a job failed; the text is the asset's `reason`.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The upload is not usable media.
    #[error("{0}")]
    Probe(#[from] ProbeError),
    /// Transcoding failed.
    #[error("{0}")]
    Transcode(#[from] TranscodeError),
    /// Writing the outputs failed.
    #[error("writing the asset failed: {0}")]
    Write(#[from] std::io::Error),
    /// The transcode produced nothing playable.
    #[error("the transcode produced no segments")]
    Empty,
}

impl JobError {
    /// The origin is shutting down: the job is not failed, it runs again after the
    /// restart.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Transcode(TranscodeError::Cancelled))
    }
}

/// What a finished job produced.
#[derive(Debug)]
pub struct JobOutput {
    /// The packaged renditions.
    pub summary: VodSummary,
    /// Whether poster, sprite and thumbs.vtt were written.
    pub thumbnails: bool,
    /// Wall time of the transcode.
    pub transcode_s: f64,
}

/// Writes each segment as the packager completes it.
struct DiskSink<'a> {
    dir: &'a Path,
    packager: VodPackager,
}

impl DiskSink<'_> {
    fn write(&self, files: &[VodFile]) -> Result<(), SinkError> {
        write_files(self.dir, files).map_err(SinkError::Io)
    }
}

impl LadderSink for DiskSink<'_> {
    fn track(&mut self, track: Track) -> Result<(), SinkError> {
        let files = self.packager.handle_track(track);
        self.write(&files)
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        let files = self.packager.handle_frame(frame);
        self.write(&files)
    }
}

/// Runs a job for the asset in `dir`; `progress` gets `(percent, eta_s)`.
/// A failed job leaves only the source behind (a full disk, say, must not leave
/// half an asset); a cancelled one keeps its files until it runs again.
pub fn run(
    dir: &Path,
    spec: &LadderSpec,
    thumbs: &ThumbnailSpec,
    progress: &mut dyn FnMut(f64, Option<f64>),
    cancel: &AtomicBool,
) -> Result<JobOutput, JobError> {
    let result = run_once(dir, spec, thumbs, progress, cancel);
    if let Err(e) = &result {
        if !e.is_cancelled() {
            if let Err(clear) = clear_outputs(dir) {
                tracing::warn!(dir = %dir.display(), error = %clear, "removing a failed job's outputs failed");
            }
        }
    }
    result
}

fn run_once(
    dir: &Path,
    spec: &LadderSpec,
    thumbs: &ThumbnailSpec,
    progress: &mut dyn FnMut(f64, Option<f64>),
    cancel: &AtomicBool,
) -> Result<JobOutput, JobError> {
    clear_outputs(dir)?;
    let source = dir.join(SOURCE_FILE);
    let info = probe(&source)?;
    let started = Instant::now();
    let mut sink = DiskSink {
        dir,
        packager: VodPackager::new(
            (spec.keyframe_interval_s * 1000.0).round() as u32,
            info.video().is_some(),
        ),
    };
    let duration = info.duration.map(|d| d.as_secs_f64());
    let mut report = |p: Progress| {
        let Some(total) = p.duration_s.or(duration).filter(|d| *d > 0.0) else {
            return;
        };
        let fraction = (p.media_s / total).clamp(0.0, 1.0);
        let elapsed = started.elapsed().as_secs_f64();
        let eta = (fraction > 0.01).then(|| elapsed * (1.0 - fraction) / fraction);
        // The last percent is packaging and thumbnails.
        progress(fraction * 99.0, eta);
    };
    transcode_file(&source, spec, &mut sink, &mut report, cancel)?;
    let transcode_s = started.elapsed().as_secs_f64();
    let (files, summary) = sink.packager.finish();
    if summary.renditions.is_empty() {
        return Err(JobError::Empty);
    }
    // Playlists last: `write_files` keeps the order, so a listed segment exists.
    write_files(dir, &files)?;
    let thumbnails = write_thumbnails(&source, dir, thumbs, cancel);
    progress(100.0, Some(0.0));
    Ok(JobOutput {
        summary,
        thumbnails,
        transcode_s,
    })
}

/// Removes everything in `dir` but the source.
fn clear_outputs(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == SOURCE_FILE {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_job_leaves_only_the_source_even_after_an_earlier_attempt() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SOURCE_FILE), vec![0x5a; 4096]).unwrap();
        // Outputs of an earlier attempt.
        std::fs::create_dir_all(dir.path().join("720p")).unwrap();
        std::fs::write(dir.path().join("720p/seg1.m4s"), b"moof").unwrap();
        std::fs::write(dir.path().join("master.m3u8"), b"#EXTM3U\n").unwrap();
        let result = run(
            dir.path(),
            &LadderSpec::default(),
            &ThumbnailSpec::default(),
            &mut |_, _| {},
            &AtomicBool::new(false),
        );
        let err = result.expect_err("random bytes are not media");
        assert!(matches!(err, JobError::Probe(_)), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from(SOURCE_FILE)]);
    }
}
