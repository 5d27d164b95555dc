//! AAC beside a WHIP publisher's Opus (`[webrtc] whip_aac`): Opus stays the
//! channel's first audio track in CMAF; a thread transcodes it to AAC-LC as a
//! second track (id 1, named `aac`), for players without Opus in fMP4 (older
//! Apple devices).
//!
//! The media loop never waits for it: Opus frames go to the thread through a
//! bounded queue (full → dropped and counted) and the AAC frames come back
//! through another, drained into the publisher's sink on the loop's next turn.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

use ingest::publish::MediaSink;
use ingest::whip::WhipEvent;
use packager::media::{Frame, MediaKind, Track};
use packager::transcode::{AudioTarget, AudioTranscoder};

/// Opus frames queued for the thread (2 s of 20 ms packets).
const QUEUE: usize = 100;
/// The AAC track's id and name in the channel.
const AAC_TRACK: u32 = 1;
const AAC_NAME: &str = "aac";

enum Out {
    Track(Track),
    Frame(Frame),
}

/// The transcoding thread of one WHIP publisher.
pub struct AacSidecar {
    to_thread: Option<SyncSender<Frame>>,
    from_thread: Receiver<Out>,
    /// Opus frames the thread was too busy to take.
    pub dropped: u64,
}

impl AacSidecar {
    /// Starts the thread for the Opus `source` track, at `bitrate` bit/s.
    pub fn start(source: Track, bitrate: u32) -> std::io::Result<Self> {
        let (to_thread, input) = sync_channel::<Frame>(QUEUE);
        let (output, from_thread) = sync_channel::<Out>(QUEUE * 2);
        std::thread::Builder::new()
            .name("whip-aac".into())
            .spawn(move || {
                packager::transcode::init();
                let mut transcoder = match AudioTranscoder::new(&source, AudioTarget::Aac { bitrate }) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!(error = %e, "WHIP: cannot start the Opus to AAC transcoder");
                        return;
                    }
                };
                let mut track = transcoder.track().clone();
                track.id = AAC_TRACK;
                track.name = Some(AAC_NAME.into());
                if output.send(Out::Track(track)).is_err() {
                    return;
                }
                while let Ok(frame) = input.recv() {
                    let result = transcoder.push(&frame, &mut |mut f: Frame| {
                        f.track = AAC_TRACK;
                        // The loop drains often; a full queue means it is gone.
                        let _ = output.try_send(Out::Frame(f));
                    });
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "WHIP: Opus to AAC frame skipped");
                    }
                }
            })?;
        Ok(Self {
            to_thread: Some(to_thread),
            from_thread,
            dropped: 0,
        })
    }

    /// One Opus frame of the publisher.
    pub fn push(&mut self, frame: &Frame) {
        if let Some(tx) = &self.to_thread {
            if tx.try_send(frame.clone()).is_err() {
                self.dropped += 1;
            }
        }
    }

    /// Passes what the thread made to `sink`.
    pub fn drain(&mut self, sink: &mut dyn MediaSink) {
        loop {
            match self.from_thread.try_recv() {
                Ok(Out::Track(t)) => sink.track(t),
                Ok(Out::Frame(f)) => sink.frame(f),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.to_thread = None;
                    return;
                }
            }
        }
    }
}

/// Passes one of a WHIP publisher's events to the channel's `sink`, and its Opus
/// to the sidecar (started at the first audio track when `bitrate` is set).
pub fn pass(
    event: WhipEvent,
    sink: &mut dyn MediaSink,
    aac: &mut Option<AacSidecar>,
    bitrate: Option<u32>,
) {
    match event {
        WhipEvent::Track(track) => {
            if let (MediaKind::Audio, None, Some(bitrate)) = (track.kind(), aac.as_ref(), bitrate) {
                match AacSidecar::start(track.clone(), bitrate) {
                    Ok(s) => *aac = Some(s),
                    Err(e) => tracing::error!(error = %e, "WHIP: cannot start the AAC thread"),
                }
            }
            sink.track(track);
        }
        WhipEvent::Frame(frame) => {
            if frame.kind == MediaKind::Audio {
                if let Some(a) = aac.as_mut() {
                    a.push(&frame);
                }
            }
            sink.frame(frame);
        }
    }
}
