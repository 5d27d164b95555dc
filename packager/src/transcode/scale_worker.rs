//! One rendition's swscale pass on a thread of its own, so the renditions scale in
//! parallel with each other and with the encoders' calls on the caller's thread.
//!
//! The ffmpeg CLI gets the same parallelism from swscale's slice threads (its
//! `scale` filter sets them to the CPU count); ffmpeg-next can only set that
//! AVOption through `unsafe`, and without it our caller's thread did all the
//! scaling and was the bottleneck of the ladder (docs/benchmarks.md §14).
//!
//! Protocol: [`ScaleWorker::start`] hands the worker the shared input frame and the
//! rendition's reusable output frame; [`ScaleWorker::finish`] waits for it and
//! lends the scaled frame back. The worker drops its reference to the input before
//! it replies, so once every started worker has finished, the caller holds the only
//! reference again. The `SwsContext` is made and used on the worker thread only.

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

type Outcome = Result<frame::Video, ffmpeg_next::Error>;

/// A scaling thread for one output size and format.
pub(crate) struct ScaleWorker {
    jobs: Option<Sender<Job>>,
    done: Receiver<Outcome>,
    thread: Option<JoinHandle<()>>,
    /// The output frame while it is not on the worker.
    spare: Option<frame::Video>,
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
                    if done_tx.send(result.map(|()| output)).is_err() {
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
            spare: Some(frame::Video::new(format, width, height)),
        })
    }

    /// Starts scaling `input`. A previous job that was never finished (an error
    /// path) is collected first.
    pub(crate) fn start(&mut self, input: &Arc<frame::Video>) -> Result<(), TranscodeError> {
        if self.spare.is_none() {
            self.finish()?;
        }
        let output = self.spare.take().expect("collected above");
        let job = Job {
            input: Arc::clone(input),
            output,
        };
        self.jobs
            .as_ref()
            .and_then(|tx| tx.send(job).ok())
            .ok_or_else(gone)
    }

    /// Waits for the started job and lends out the scaled frame.
    pub(crate) fn finish(&mut self) -> Result<&mut frame::Video, TranscodeError> {
        if self.spare.is_none() {
            let output = self
                .done
                .recv()
                .map_err(|_| gone())?
                .map_err(TranscodeError::encode(SWSCALE))?;
            self.spare = Some(output);
        }
        Ok(self.spare.as_mut().expect("set above"))
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
        reason: "the scaling thread stopped".to_owned(),
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
