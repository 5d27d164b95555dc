//! Live to VOD: recording a channel's live stream, all renditions, into an asset
//! directory while it runs, without re-encoding.
//!
//! A task follows the channel (woken on every new part, like blocked playlist
//! requests) and runs a [`VodRecorder`] over its [`LiveStream`]: each complete
//! segment is written once, as it appears, so memory stays at the live window. When
//! the stream ends (the reconnect grace expired) the recorder writes the playlists
//! and the MPD and the task returns what was recorded. A publisher that comes back
//! within the grace period continues the same stream and so the same recording.
//!
//! The stream a recording follows is identified by its availability start (the
//! wall clock of its first segment): a new stream after the end is a new recording.

use std::path::PathBuf;
use std::sync::Arc;

use packager::live::LiveStream;
use packager::vod::{VodFile, VodRecorder, VodSummary};

use super::store::write_files_async;
use crate::channels::Channel;

/// What a finished recording produced.
#[derive(Debug)]
pub struct Recorded {
    /// The playlists' view of it.
    pub summary: VodSummary,
    /// Segments that left the live window before they could be written.
    pub missed_segments: u64,
}

/// Why a recording stopped without an asset.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// Writing to the asset directory failed.
    #[error("writing the recording: {0}")]
    Write(#[from] std::io::Error),
    /// The stream ended before any segment was complete.
    #[error("the live stream ended before a whole segment was recorded")]
    Empty,
}

enum Step {
    Files(Vec<VodFile>),
    Finished(Vec<VodFile>, Box<VodSummary>, u64),
}

/// Records `channel`'s current stream into `dir` until it ends.
pub async fn record(channel: Arc<Channel>, dir: PathBuf) -> Result<Recorded, RecordingError> {
    let mut changed = channel.subscribe();
    let mut recorder = Some(VodRecorder::new());
    let mut following: Option<u64> = None;
    loop {
        let step = {
            let state = channel.lock();
            match state.stream.as_ref() {
                Some(stream) => step(stream, &mut recorder, &mut following),
                None => Step::Files(Vec::new()),
            }
        };
        match step {
            Step::Files(files) => write_files_async(&dir, files).await?,
            Step::Finished(files, summary, missed) => {
                write_files_async(&dir, files).await?;
                if summary.renditions.is_empty() {
                    return Err(RecordingError::Empty);
                }
                return Ok(Recorded {
                    summary: *summary,
                    missed_segments: missed,
                });
            }
        }
        if changed.changed().await.is_err() {
            // The channel is gone (shutdown): nothing more will come.
            return Err(RecordingError::Empty);
        }
    }
}

/// One look at the stream under the channel lock.
fn step(
    stream: &LiveStream,
    recorder: &mut Option<VodRecorder>,
    following: &mut Option<u64>,
) -> Step {
    let start = stream.availability_start_ms();
    let replaced = matches!((*following, start), (Some(f), Some(s)) if f != s);
    if following.is_none() {
        *following = start;
    }
    let Some(rec) = recorder.as_mut() else {
        return Step::Files(Vec::new());
    };
    if !stream.ended() && !replaced {
        return Step::Files(rec.collect(stream));
    }
    let rec = recorder.take().expect("checked above");
    let missed = rec.missed_segments();
    if replaced {
        // Our stream ended and a new one began before we looked: the record so far
        // is all there is (its last segments went with the old stream object).
        let (files, summary) = rec.finish(&LiveStream::new(stream.config().clone()));
        return Step::Finished(files, Box::new(summary), missed);
    }
    let (files, summary) = rec.finish(stream);
    Step::Finished(files, Box::new(summary), missed)
}
