//! The ladder thread: source frames in from the queue, rendition frames out into
//! the channel's `LiveStream`.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use packager::live::LiveStream;
use packager::media::{Frame, MediaKind, Track, TrackId};
use packager::transcode::live_ladder::{
    LiveLadder, LiveLadderError, LiveLadderEvent, LiveLadderStats,
};
use packager::transcode::{LadderSink, SinkError};
use prometheus::IntCounter;

use super::{Ladders, FIRST_TRACK_ID};
use crate::channels::{Channel, PublisherState};
use crate::clock::now_ms;

/// What ingest hands the thread.
pub enum Input {
    /// The source video track (again, when its configuration changed).
    Track(Track),
    /// A source video frame and when it arrived.
    Frame(Frame, Instant),
}

/// The thread body: runs until the queue closes (the session ended) or the
/// channel's stream stops taking output.
pub fn run(
    rx: Receiver<Input>,
    ladders: Ladders,
    channel: Arc<Channel>,
    session: u64,
    parts_produced: IntCounter,
) {
    let name = channel.name.clone();
    let m = &ladders.metrics;
    let rtf = m.realtime_factor.with_label_values(&[&name]);
    let active = m.renditions_active.with_label_values(&[&name]);
    let shed = m.shed.with_label_values(&[&name]);
    let behind = m.input_dropped.with_label_values(&[&name, "behind"]);
    let encode_seconds = m.encode_seconds.with_label_values(&[&name]);
    let lag = m.lag_seconds.with_label_values(&[&name]);

    let mut ladder = LiveLadder::new(ladders.spec.clone(), ladders.max_lag);
    let mut out = ChannelOutput {
        channel,
        session,
        ids: HashMap::new(),
        names: ladders
            .spec
            .renditions
            .iter()
            .map(|r| r.name.clone())
            .collect(),
        parts_produced,
    };
    let mut last = LiveLadderStats::default();
    tracing::info!(channel = %name, session, "live ladder started");
    while let Ok(input) = rx.recv() {
        let result = match input {
            Input::Track(track) => ladder.track(&track, &mut out),
            Input::Frame(frame, arrived) => ladder.push(&frame, arrived, &mut out),
        };
        for event in ladder.take_events() {
            log_event(&name, &event);
        }
        let stats = ladder.stats();
        if let Some(f) = stats.realtime_factor {
            rtf.set(f);
        }
        active.set(stats.renditions_active as i64);
        shed.inc_by(stats.shed - last.shed);
        behind.inc_by(stats.skipped_frames - last.skipped_frames);
        encode_seconds.inc_by((stats.busy - last.busy).as_secs_f64());
        lag.set(stats.lag.as_secs_f64());
        last = stats;
        match result {
            Ok(()) => {}
            Err(LiveLadderError::Sink(SinkError::Closed)) => break,
            Err(e) => {
                tracing::warn!(channel = %name, session, error = %e, "live ladder stopped");
                break;
            }
        }
    }
    let _ = ladder.finish(&mut out);
    active.set(0);
    tracing::info!(channel = %name, session, "live ladder stopped");
}

/// Logs what the ladder reports.
fn log_event(channel: &str, event: &LiveLadderEvent) {
    match event {
        LiveLadderEvent::Opened { source, renditions } => tracing::info!(
            channel,
            source = %format!("{}x{}", source.0, source.1),
            renditions = %renditions
                .iter()
                .map(|(n, w, h)| format!("{n} {w}x{h}"))
                .collect::<Vec<_>>()
                .join(", "),
            "live ladder encoders opened"
        ),
        LiveLadderEvent::Shed {
            rendition,
            lag,
            left,
        } => tracing::warn!(
            channel,
            rendition = %rendition,
            lag_ms = lag.as_millis() as u64,
            left,
            "live ladder behind: shed its lowest rendition"
        ),
        LiveLadderEvent::Skipping { lag } => tracing::warn!(
            channel,
            lag_ms = lag.as_millis() as u64,
            "live ladder behind: skipping the source to its next key frame"
        ),
    }
}

/// Feeds rendition output into the channel's stream.
struct ChannelOutput {
    channel: Arc<Channel>,
    session: u64,
    /// The transcoder's track id → the stream's.
    ids: HashMap<TrackId, TrackId>,
    /// `[ladder] renditions` names, in order (track id `FIRST_TRACK_ID + index`).
    names: Vec<String>,
    parts_produced: IntCounter,
}

impl ChannelOutput {
    /// Runs `f` on the stream of this output's session under the channel lock, and
    /// wakes blocked requests if anything changed. `Closed` once the session is no
    /// longer live.
    fn with_stream(&self, f: impl FnOnce(&mut LiveStream)) -> Result<(), SinkError> {
        let (produced, changed) = {
            let mut state = self.channel.lock();
            if state.publisher != PublisherState::Live(self.session) {
                return Err(SinkError::Closed);
            }
            let Some(stream) = state.stream.as_mut() else {
                return Err(SinkError::Closed);
            };
            let (parts, version) = (stream.parts_produced(), stream.version());
            f(stream);
            (stream.parts_produced() - parts, stream.version() != version)
        };
        if produced > 0 {
            self.parts_produced.inc_by(produced);
        }
        if changed {
            self.channel.notify();
        }
        Ok(())
    }
}

impl LadderSink for ChannelOutput {
    fn track(&mut self, mut track: Track) -> Result<(), SinkError> {
        if track.kind() != MediaKind::Video {
            return Ok(()); // The source's audio is served as it is.
        }
        let index = track
            .name
            .as_ref()
            .and_then(|n| self.names.iter().position(|x| x == n))
            .unwrap_or(self.names.len() + track.id as usize);
        let id = FIRST_TRACK_ID + index as u32;
        self.ids.insert(track.id, id);
        tracing::info!(
            channel = %self.channel.name,
            rendition = track.name.as_deref().unwrap_or(""),
            id,
            codec = %track.codec.codec_string(),
            "ladder rendition announced"
        );
        track.id = id;
        self.with_stream(|s| s.handle_track(track, now_ms()))
    }

    fn frame(&mut self, mut frame: Frame) -> Result<(), SinkError> {
        if frame.kind != MediaKind::Video {
            return Ok(());
        }
        let Some(&id) = self.ids.get(&frame.track) else {
            return Ok(());
        };
        frame.track = id;
        self.with_stream(|s| s.handle_frame(frame, now_ms()))
    }
}
