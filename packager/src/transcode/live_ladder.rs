//! The live ABR ladder: the source video of a live stream in (packager [`Frame`]s as
//! ingest delivers them), extra H.264 renditions out (packager `Track`s and
//! `Frame`s into a [`LadderSink`]), on the caller's (dedicated) thread.
//!
//! - Decode once ([`SourceDecoder`]: H.264, H.265, AV1, VP9), scale and encode per
//!   rendition with the VOD ladder's [`Rendition`]s (swscale + libx264, the sizes
//!   of [`plan_renditions`]: never an upscale).
//! - **The source's GOP decides the key frames.** Live segments are cut by the
//!   packager at the source's key frames (the source is the segmentation leader,
//!   `crate::live` alignment), so every picture decoded from a source key frame is
//!   a forced IDR in every rendition, and x264 places none of its own (no
//!   scene cuts; its GOP cap, [`LIVE_GOP_CAP_S`], is above any sane source GOP).
//! - **Output timing** ([`Retimer`]): rendition frames keep the source's pts, in
//!   the source track's timescale, and each rendition's decode times are shifted
//!   so that its key frame has exactly the decode time of the source key frame
//!   with the same pts. The packager's followers cut at the first sample whose
//!   decode time reaches the leader's boundary (a boundary is the leader key
//!   frame's decode time), so this puts every rendition's cut on its key frame
//!   whatever the source's and x264's B-frame delays are.
//! - **Real time** (see [`super::live_ladder_pace`]): the real-time factor over a
//!   sliding window; a source frame that waited longer than the lag limit sheds
//!   the lowest rendition, or skips to the next key frame when there is nothing
//!   left to shed or the lag doubled.
//! - A re-announced source track with a new configuration (new SPS, new size)
//!   flushes the decoder and encoders and reopens them; renditions keep their
//!   track ids and names.
//! - Audio is not the ladder's business: the live stream serves the source audio
//!   as its own rendition for every variant.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use ffmpeg_next::format::Pixel;
use ffmpeg_next::Rational;

use super::live_ladder_input::{Decoded, InputError, SourceDecoder};
use super::live_ladder_pace::{RealtimeMeter, Shedder, Verdict};
use super::rendition::Rendition;
use super::spec::{plan_renditions, LadderSpec, PlannedRendition};
use super::{LadderSink, SinkError, TranscodeError};
use crate::fmp4::VIDEO_TIMESCALE;
use crate::live::timeline::rescale;
use crate::media::{Frame, MediaKind, Track, TrackId};

/// x264's GOP cap for live renditions, in seconds (half of it is passed as the
/// spec's key frame interval, which the encoder doubles into its `g`).
pub const LIVE_GOP_CAP_S: f64 = 20.0;

/// Window of the real-time factor.
pub const REALTIME_WINDOW: Duration = Duration::from_secs(5);

/// Why the ladder stopped.
#[derive(Debug, thiserror::Error)]
pub enum LiveLadderError {
    /// The source cannot be decoded.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An encoder or the scaler failed.
    #[error(transparent)]
    Transcode(TranscodeError),
    /// The sink refused output (e.g. the stream ended).
    #[error("sink: {0}")]
    Sink(SinkError),
}

impl From<TranscodeError> for LiveLadderError {
    fn from(e: TranscodeError) -> Self {
        match e {
            TranscodeError::Sink(s) => LiveLadderError::Sink(s),
            other => LiveLadderError::Transcode(other),
        }
    }
}

/// What the ladder has done so far (counters are totals).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveLadderStats {
    /// Media seconds encoded per busy second over [`REALTIME_WINDOW`].
    pub realtime_factor: Option<f64>,
    /// Renditions being encoded.
    pub renditions_active: usize,
    /// Renditions shed.
    pub shed: u64,
    /// Source frames skipped because the ladder was behind.
    pub skipped_frames: u64,
    /// Wall time spent decoding, scaling and encoding.
    pub busy: Duration,
    /// How long the last source frame waited between arrival and the ladder.
    pub lag: Duration,
    /// Media seconds encoded.
    pub media_s: f64,
}

/// Something the caller should log (the packager does no logging).
#[derive(Debug, Clone, PartialEq)]
pub enum LiveLadderEvent {
    /// Encoders were opened for a source of this size: `(name, width, height)`.
    Opened {
        /// Decoded source width and height.
        source: (u32, u32),
        /// The renditions planned for it.
        renditions: Vec<(String, u32, u32)>,
    },
    /// A rendition was shed: a source frame had waited `lag`.
    Shed {
        /// Its name.
        rendition: String,
        /// How long the frame had waited.
        lag: Duration,
        /// Renditions left.
        left: usize,
    },
    /// Skipping the source to its next key frame: a frame had waited `lag`.
    Skipping {
        /// How long the frame had waited.
        lag: Duration,
    },
}

/// A live stream's ladder (see the module docs).
pub struct LiveLadder {
    spec: LadderSpec,
    source: Option<Source>,
    encoders: Option<Encoders>,
    /// Names of shed renditions: they stay dropped across a reopen.
    shed_names: Vec<String>,
    retimer: Retimer,
    meter: RealtimeMeter,
    shedder: Shedder,
    skipping: bool,
    last_pts: Option<i64>,
    stats: LiveLadderStats,
    events: Vec<LiveLadderEvent>,
}

impl std::fmt::Debug for LiveLadder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLadder")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

struct Source {
    decoder: SourceDecoder,
}

/// The renditions' encoders, for one decoded picture geometry.
struct Encoders {
    geometry: (Pixel, u32, u32),
    planned: Vec<PlannedRendition>,
    renditions: Vec<Option<Rendition>>,
}

impl LiveLadder {
    /// A ladder producing `spec`'s renditions that sheds when a frame waited
    /// longer than `max_lag`.
    pub fn new(spec: LadderSpec, max_lag: Duration) -> Self {
        let spec = LadderSpec {
            keyframe_interval_s: LIVE_GOP_CAP_S / 2.0,
            ..spec
        };
        Self {
            spec,
            source: None,
            encoders: None,
            shed_names: Vec::new(),
            retimer: Retimer::default(),
            meter: RealtimeMeter::new(REALTIME_WINDOW),
            shedder: Shedder::new(max_lag),
            skipping: false,
            last_pts: None,
            stats: LiveLadderStats::default(),
            events: Vec::new(),
        }
    }

    /// What happened since the last call, for the caller's log.
    pub fn take_events(&mut self) -> Vec<LiveLadderEvent> {
        std::mem::take(&mut self.events)
    }

    /// The counters and gauges so far.
    pub fn stats(&self) -> LiveLadderStats {
        LiveLadderStats {
            realtime_factor: self.meter.factor(),
            renditions_active: self.encoders.as_ref().map_or(0, Encoders::active),
            ..self.stats.clone()
        }
    }

    /// The source video track was announced. A new configuration flushes what the
    /// old one left in the decoder and encoders into `sink`, then reopens.
    pub fn track(
        &mut self,
        track: &Track,
        sink: &mut dyn LadderSink,
    ) -> Result<(), LiveLadderError> {
        if track.kind() != MediaKind::Video {
            return Ok(());
        }
        if self
            .source
            .as_ref()
            .is_some_and(|s| s.decoder.track() == track)
        {
            return Ok(());
        }
        self.drain(sink)?;
        self.source = Some(Source {
            decoder: SourceDecoder::open(track)?,
        });
        self.retimer.timescale = track.timescale.max(1);
        self.skipping = false;
        Ok(())
    }

    /// One source frame that arrived at `arrived`: decode it and encode every
    /// picture that comes out, output into `sink`. Frames of other tracks, and
    /// before the track was announced, are ignored.
    pub fn push(
        &mut self,
        frame: &Frame,
        arrived: Instant,
        sink: &mut dyn LadderSink,
    ) -> Result<(), LiveLadderError> {
        let Some(source) = self.source.as_ref() else {
            return Ok(());
        };
        if frame.kind != MediaKind::Video || frame.track != source.decoder.track().id {
            return Ok(());
        }
        let now = Instant::now();
        let lag = now.saturating_duration_since(arrived);
        self.stats.lag = lag;
        if self.skipping && !frame.keyframe {
            self.stats.skipped_frames += 1;
            return Ok(());
        }
        self.skipping = false;
        let active = self.encoders.as_ref().map_or(usize::MAX, Encoders::active);
        match self.shedder.judge(lag, now, active) {
            Verdict::Keep => {}
            Verdict::Shed => self.shed_lowest(lag),
            Verdict::Skip => {
                self.events.push(LiveLadderEvent::Skipping { lag });
                self.skipping = true;
                self.stats.skipped_frames += 1;
                return Ok(());
            }
        }
        let media_before = self.stats.media_s;
        let Some(source) = self.source.as_mut() else {
            return Ok(());
        };
        if !source.decoder.send(frame)? {
            return Ok(());
        }
        self.receive(sink)?;
        let busy = now.elapsed();
        self.stats.busy += busy;
        self.meter
            .record(Instant::now(), self.stats.media_s - media_before, busy);
        Ok(())
    }

    /// End of the stream: drains the decoder and the encoders into `sink`.
    pub fn finish(&mut self, sink: &mut dyn LadderSink) -> Result<(), LiveLadderError> {
        self.drain(sink)
    }

    /// Flushes decoder and encoders (end, or before a reopen).
    fn drain(&mut self, sink: &mut dyn LadderSink) -> Result<(), LiveLadderError> {
        if let Some(source) = self.source.as_mut() {
            source.decoder.send_eof()?;
            self.receive(sink)?;
        }
        self.source = None;
        if let Some(mut encoders) = self.encoders.take() {
            let mut out = self.retimer.sink(sink);
            for r in encoders.renditions.iter_mut().flatten() {
                r.flush(&mut out)?;
            }
        }
        self.last_pts = None;
        Ok(())
    }

    /// Encodes every picture the decoder has ready.
    fn receive(&mut self, sink: &mut dyn LadderSink) -> Result<(), LiveLadderError> {
        loop {
            let Some(source) = self.source.as_mut() else {
                return Ok(());
            };
            let Some(decoded) = source.decoder.receive()? else {
                return Ok(());
            };
            let timescale = source.decoder.track().timescale.max(1);
            self.encode(decoded, timescale, sink)?;
        }
    }

    fn encode(
        &mut self,
        mut d: Decoded,
        timescale: u32,
        sink: &mut dyn LadderSink,
    ) -> Result<(), LiveLadderError> {
        // x264 needs strictly increasing pts.
        if self.last_pts.is_some_and(|last| d.pts <= last) {
            return Ok(());
        }
        let geometry = (d.picture.format(), d.picture.width(), d.picture.height());
        if self
            .encoders
            .as_ref()
            .is_none_or(|e| e.geometry != geometry)
        {
            self.open_encoders(&d, geometry, sink)?;
        }
        if let Some(last) = self.last_pts {
            self.stats.media_s += (d.pts - last) as f64 / f64::from(timescale);
        }
        self.last_pts = Some(d.pts);
        // The first picture after a (re)open must be a key frame.
        let first = self.retimer.fresh;
        self.retimer.fresh = false;
        let key = d.source_key_dts.is_some() || first;
        if let Some(dts) = d.source_key_dts {
            self.retimer.source_key(d.pts, dts);
        } else if first {
            // Not a source key frame (open GOP recovery): keep its own pts.
            self.retimer.source_key(d.pts, d.pts);
        }
        let pts_90k = rescale(d.pts, timescale, VIDEO_TIMESCALE);
        let mut out = self.retimer.sink(sink);
        if let Some(encoders) = self.encoders.as_mut() {
            // Stamped for the renditions that encode it unscaled (scaled copies
            // are stamped by their rendition), then shared by every rendition's
            // encoder and scaler thread, not copied.
            d.picture.set_pts(Some(pts_90k));
            d.picture.set_kind(super::rendition::picture_type(key));
            let picture = std::sync::Arc::new(std::mem::replace(
                &mut d.picture,
                ffmpeg_next::frame::Video::empty(),
            ));
            // Every rendition's scaler runs at once on its own thread; then each
            // encodes its picture.
            for r in encoders.renditions.iter_mut().flatten() {
                r.start_scaling(&picture)?;
            }
            let mut result = Ok(());
            for r in encoders.renditions.iter_mut().flatten() {
                if result.is_ok() {
                    result = r.encode(&picture, pts_90k, key, &mut out);
                } else {
                    r.settle();
                }
            }
            result?;
        }
        Ok(())
    }

    /// Plans and opens the encoders for pictures of `geometry` (flushing the old
    /// ones first).
    fn open_encoders(
        &mut self,
        d: &Decoded,
        geometry: (Pixel, u32, u32),
        sink: &mut dyn LadderSink,
    ) -> Result<(), LiveLadderError> {
        if let Some(mut old) = self.encoders.take() {
            let mut out = self.retimer.sink(sink);
            for r in old.renditions.iter_mut().flatten() {
                r.flush(&mut out)?;
            }
        }
        let frame_rate = self
            .source
            .as_ref()
            .and_then(|s| s.decoder.track().codec.video_info())
            .and_then(|v| v.frame_rate)
            .filter(|f| *f > 0.0)
            .map_or(Rational::new(30, 1), |f| {
                Rational::new((f * 1000.0).round() as i32, 1000)
            });
        let planned = plan_renditions(&self.spec, geometry.1, geometry.2, d.picture.aspect_ratio());
        let mut renditions = Vec::with_capacity(planned.len());
        for (i, p) in planned.iter().enumerate() {
            renditions.push(if self.shed_names.contains(&p.name) {
                None
            } else {
                Some(Rendition::open(
                    i as TrackId,
                    p.clone(),
                    &self.spec,
                    frame_rate,
                )?)
            });
        }
        self.events.push(LiveLadderEvent::Opened {
            source: (geometry.1, geometry.2),
            renditions: planned
                .iter()
                .map(|p| (p.name.clone(), p.width, p.height))
                .collect(),
        });
        self.encoders = Some(Encoders {
            geometry,
            planned,
            renditions,
        });
        self.retimer.fresh = true;
        self.last_pts = None;
        Ok(())
    }

    /// Stops the lowest active rendition (never the last one).
    fn shed_lowest(&mut self, lag: Duration) {
        let Some(e) = self.encoders.as_mut() else {
            return;
        };
        let Some(i) = e.renditions.iter().rposition(Option::is_some) else {
            return;
        };
        if e.active() <= 1 {
            return;
        }
        e.renditions[i] = None;
        let name = e.planned[i].name.clone();
        self.events.push(LiveLadderEvent::Shed {
            rendition: name.clone(),
            lag,
            left: e.active(),
        });
        self.shed_names.push(name);
        self.stats.shed += 1;
    }
}

impl Encoders {
    fn active(&self) -> usize {
        self.renditions.iter().filter(|r| r.is_some()).count()
    }
}

/// Rewrites rendition output onto the source's timeline (see the module docs).
#[derive(Debug, Default)]
pub struct Retimer {
    /// Ticks per second of the source track (and of the output).
    pub timescale: u32,
    /// Source key frames not yet seen in the output: `(pts, dts)`.
    keys: VecDeque<(i64, i64)>,
    /// Output track id → rendition name (ids are places in a plan, which a
    /// reopen for a new source size may change; names stay).
    pub(crate) names: HashMap<TrackId, String>,
    /// Per rendition name: `(dts shift, last dts)`.
    tracks: HashMap<String, (i64, Option<i64>)>,
    /// The encoders were (re)opened and have not been fed yet.
    fresh: bool,
}

/// Source key frames remembered while their pictures are inside the encoders.
const MAX_KEYS: usize = 64;

impl Retimer {
    /// A source key frame with these timestamps was handed to the encoders.
    pub fn source_key(&mut self, pts: i64, dts: i64) {
        self.keys.push_back((pts, dts));
        while self.keys.len() > MAX_KEYS {
            self.keys.pop_front();
        }
    }

    /// `sink` behind this retimer.
    pub fn sink<'a>(&'a mut self, sink: &'a mut dyn LadderSink) -> RetimedSink<'a> {
        RetimedSink {
            retimer: self,
            sink,
        }
    }

    /// Moves `frame` (90 kHz, as the encoders write it) onto the source timeline.
    pub fn frame(&mut self, mut frame: Frame) -> Frame {
        let ts = self.timescale.max(1);
        frame.pts = rescale(frame.pts, VIDEO_TIMESCALE, ts);
        frame.dts = rescale(frame.dts, VIDEO_TIMESCALE, ts);
        let name = self.names.get(&frame.track).cloned().unwrap_or_default();
        let key_dts = self
            .keys
            .iter()
            .find(|(p, _)| *p == frame.pts)
            .map(|&(_, dts)| dts)
            .filter(|_| frame.keyframe);
        let (shift, last) = self.tracks.entry(name).or_insert((0, None));
        if let Some(dts) = key_dts {
            *shift = dts - frame.dts;
        }
        let mut dts = frame.dts + *shift;
        if let Some(l) = *last {
            dts = dts.max(l + 1);
        }
        *last = Some(dts);
        frame.dts = dts;
        // Key frames every rendition has passed are not needed any more.
        let oldest = self.tracks.values().filter_map(|t| t.1).min();
        while self
            .keys
            .front()
            .zip(oldest)
            .is_some_and(|(k, o)| k.1 < o - i64::from(ts) * 10)
        {
            self.keys.pop_front();
        }
        frame
    }
}

/// A [`LadderSink`] that retimes before passing on.
pub struct RetimedSink<'a> {
    retimer: &'a mut Retimer,
    sink: &'a mut dyn LadderSink,
}

impl LadderSink for RetimedSink<'_> {
    fn track(&mut self, mut track: Track) -> Result<(), SinkError> {
        track.timescale = self.retimer.timescale.max(1);
        let name = track.name.clone().unwrap_or_else(|| track.id.to_string());
        self.retimer.names.insert(track.id, name);
        self.sink.track(track)
    }

    fn frame(&mut self, frame: Frame) -> Result<(), SinkError> {
        let frame = self.retimer.frame(frame);
        self.sink.frame(frame)
    }
}
