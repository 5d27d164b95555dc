//! One rendition's swscale pass on a thread of its own, so the renditions scale in
//! parallel with each other and with the encoders' calls on the caller's thread.
//!
//! The ffmpeg CLI gets the same parallelism from swscale's slice threads (its
//! `scale` filter sets them to the CPU count); ffmpeg-next can only set that
//! AVOption through `unsafe`, and without it our caller's thread did all the
//! scaling and was the bottleneck of the ladder (docs/benchmarks.md §14).
//!
//! Protocol: [`ScaleWorker::start`] hands the worker the shared input frame and one
//! of the rendition's reusable output frames ([`OUTPUT_FRAMES`] of them, so the
//! worker can scale frame N while the encoder still takes frame N − 1);
//! [`ScaleWorker::finish`] returns the oldest started job's output, and
//! [`ScaleWorker::recycle`] gives it back once encoded. Results come back in the
//! order the jobs were started. The `SwsContext` is made and used on the worker
//! thread only.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame;
use ffmpeg_next::software::scaling::{self, Flags as ScaleFlags};

use super::error::TranscodeError;

const SWSCALE: &str = "swscale";

/// (format, width, height) of the frames a scaler was built for.
type ScalerInput = (Pixel, u32, u32);

struct Job {
    input: Arc<frame::Video>,
    output: frame::Video,
}

/// The output frame comes back even when scaling failed, so none is lost.
type Outcome = (frame::Video, Result<(), ffmpeg_next::Error>);

/// Output frames per worker: one being scaled, one being encoded.
pub(crate) const OUTPUT_FRAMES: usize = 2;

/// A scaling thread for one output size and format.
pub(crate) struct ScaleWorker {
    jobs: Option<Sender<Job>>,
    done: Receiver<Outcome>,
    thread: Option<JoinHandle<()>>,
    /// Output frames not on the worker and not lent out.
    spare: Vec<frame::Video>,
    /// Jobs started and not yet finished.
    in_flight: usize,
}

impl ScaleWorker {
    /// Starts a thread that scales to `width`×`height` in `format` (bicubic, the
    /// ffmpeg CLI's default).
    pub(crate) fn spawn(format: Pixel, width: u32, height: u32) -> Result<Self, TranscodeError> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel::<Outcome>();
        let thread = std::thread::Builder::new()
            .name(format!("scale-{width}x{height}"))
            .spawn(move || {
                let mut scaler: Option<(ScalerInput, scaling::Context)> = None;
                while let Ok(Job { input, mut output }) = job_rx.recv() {
                    let result = scale(&mut scaler, &input, &mut output, (format, width, height));
                    drop(input);
                    if done_tx.send((output, result)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| TranscodeError::Encode {
                encoder: SWSCALE,
                reason: format!("cannot start a scaling thread: {e}"),
            })?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            spare: (0..OUTPUT_FRAMES)
                .map(|_| frame::Video::new(format, width, height))
                .collect(),
            in_flight: 0,
        })
    }

    /// Starts scaling `input`. If every output frame is busy (a job that was
    /// started and never finished, on an error path), the oldest job is collected
    /// and dropped first.
    pub(crate) fn start(&mut self, input: &Arc<frame::Video>) -> Result<(), TranscodeError> {
        while self.spare.is_empty() {
            if self.in_flight == 0 {
                // Every frame is lent out: the caller broke the protocol.
                return Err(gone());
            }
            if let Ok(stale) = self.finish() {
                self.recycle(stale);
            }
        }
        let output = self.spare.pop().expect("checked above");
        let job = Job {
            input: Arc::clone(input),
            output,
        };
        self.jobs
            .as_ref()
            .and_then(|tx| tx.send(job).ok())
            .ok_or_else(gone)?;
        self.in_flight += 1;
        Ok(())
    }

    /// Waits for the oldest started job and returns its scaled frame; give it back
    /// with [`ScaleWorker::recycle`].
    pub(crate) fn finish(&mut self) -> Result<frame::Video, TranscodeError> {
        if self.in_flight == 0 {
            return Err(gone());
        }
        let (output, result) = self.done.recv().map_err(|_| gone())?;
        self.in_flight -= 1;
        match result {
            Ok(()) => Ok(output),
            Err(e) => {
                self.recycle(output);
                Err(TranscodeError::encode(SWSCALE)(e))
            }
        }
    }

    /// Returns an output frame lent out by [`ScaleWorker::finish`].
    pub(crate) fn recycle(&mut self, frame: frame::Video) {
        self.spare.push(frame);
    }

    /// Collects every started job (error paths), so no job is left behind.
    pub(crate) fn settle(&mut self) {
        while self.in_flight > 0 {
            match self.finish() {
                Ok(frame) => self.recycle(frame),
                Err(_) => break,
            }
        }
    }
}

impl Drop for ScaleWorker {
    fn drop(&mut self) {
        // Closing the job channel ends the thread's loop.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn gone() -> TranscodeError {
    TranscodeError::Encode {
        encoder: SWSCALE,
        reason: "the scaling thread stopped or lost a job".to_owned(),
    }
}

fn scale(
    scaler: &mut Option<(ScalerInput, scaling::Context)>,
    input: &frame::Video,
    output: &mut frame::Video,
    (format, width, height): ScalerInput,
) -> Result<(), ffmpeg_next::Error> {
    let key = (input.format(), input.width(), input.height());
    if scaler.as_ref().is_none_or(|(k, _)| *k != key) {
        let context = scaling::Context::get(
            key.0,
            key.1,
            key.2,
            format,
            width,
            height,
            ScaleFlags::BICUBIC,
        )?;
        *scaler = Some((key, context));
    }
    let (_, context) = scaler.as_mut().expect("set above");
    context.run(input, output)
}
