//! Aligned segment boundaries across renditions, epochs and discontinuities.
//!
//! The *leader* is the first rendition (the first video track, since renditions
//! are ordered video first; the first audio track for an audio-only stream). It
//! cuts segments by itself: at the first key frame at or after the segment target
//! (minus [`CUT_TOLERANCE_MS`] of timestamp jitter). Each cut is a [`Boundary`]:
//! a stream time and a media sequence number, handed to every other rendition.
//!
//! A *follower* queues its frames until the leader has decided every boundary up
//! to them (the leader's newest frame is past them), then cuts before the first
//! sample that starts at or after a boundary (within half a sample), taking the
//! boundary's msn. So audio segment `n` covers the same media time as video
//! segment `n`, which DASH `segmentAlignment` and LL-HLS rendition reports rely
//! on. A follower never opens a segment by itself: audio before the first video
//! key frame is dropped, like video frames before it. A follower's segment is
//! dated from the leader's (its `EXT-X-PROGRAM-DATE-TIME` plus the media time
//! between the two starts), not by its first frame's arrival, so the same media
//! time has the same date in every rendition however late the muxer sent it.
//!
//! A follower announced late (MPEG-TS announces a track with its first PES, which
//! for audio arrives some hundred milliseconds after the first video frame) starts
//! with the boundary of the leader's open segment, so it joins that segment (same
//! msn) rather than the next one: its frames before that boundary are dropped as
//! usual, and the first one at or after it opens the segment. A follower's first
//! segment starts with a key frame (every audio frame is one; a video follower
//! waits for its first key frame). Its `EXT-X-DISCONTINUITY-SEQUENCE` count starts
//! at the leader's discontinuities before the segment it can join, so the same msn
//! has the same discontinuity sequence number in every rendition.
//!
//! A follower fed late (the live ABR ladder's renditions arrive an encoder delay
//! after the source) needs nothing special: the leader's boundaries are decided
//! before its frames come, and it cuts at the first sample reaching each one. Its
//! key frames must therefore carry the decode time of the leader's key frame they
//! align with (`crate::transcode::live_ladder` retimes its output so).
//!
//! Epochs: [`LiveStream::handle_publisher_gone`], a changed track configuration
//! (including a rendition whose samples start carrying parameter sets of their own,
//! see `parameter_sets`), or
//! a timestamp jump of the leader flush every rendition (the held sample gets the
//! previous sample's duration), complete the open segments and start a new epoch:
//! the next boundary carries `discontinuity`, the msn counter continues, and each
//! track's decode time continues from the stream's latest end (see `timeline`).

use super::parameter_sets;
use super::segmenter::{Boundary, Packer, Pending};
use super::timeline::{rescale, Mapped, Rebase, TrackClock, US};
use super::{Epoch, LiveStream, Rendition};
use crate::codec::captions::CaptionDetector;
use crate::fmp4;
use crate::media::{Frame, MediaKind, Track};

/// Key frames this much before the segment target still cut (timestamp jitter).
pub const CUT_TOLERANCE_MS: i64 = 50;
/// A follower whose queue spans more than this many segment targets stops waiting
/// for a stalled leader.
pub const FOLLOWER_MAX_LAG_TARGETS: i64 = 2;

/// Stream-level bookkeeping: the current rebase, msn counter, epochs.
#[derive(Debug, Default)]
pub(crate) struct Alignment {
    rebase: Option<Rebase>,
    next_msn: u64,
    discontinuity_pending: bool,
    epoch_open: bool,
    epochs: Vec<Epoch>,
    availability_start_ms: Option<u64>,
    /// The leader's newest frame (µs): boundaries up to here are decided.
    frontier_us: Option<i64>,
    changes: u64,
}

impl Alignment {
    pub(crate) fn bump(&mut self) {
        self.changes += 1;
    }
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }
    pub(crate) fn availability_start_ms(&self) -> Option<u64> {
        self.availability_start_ms
    }
    pub(crate) fn epochs(&self) -> &[Epoch] {
        &self.epochs
    }
}

impl LiveStream {
    pub(super) fn track_announced(&mut self, track: Track, now_ms: u64) {
        let kind = track.kind();
        if let Some(i) = self
            .renditions
            .iter()
            .position(|r| r.kind() == kind && r.track.id == track.id)
        {
            let current = &self.renditions[i].track;
            if *current == track || parameter_sets::is_in_band_form_of(current, &track) {
                return; // An identical re-announce (repeated sequence header).
            }
            let Ok(init) = fmp4::init_segment(&track) else {
                return;
            };
            self.flush_epoch(now_ms);
            let r = &mut self.renditions[i];
            r.init_version += 1;
            r.init = init.clone();
            r.inits.push((r.init_version, init));
            let old = self.packers[i].clock.clone();
            let ts = fmp4::media_timescale(&track);
            let mut clock = clock_for(&track, ts);
            clock.set_floor(rescale(old.floor(), old.media_timescale(), ts));
            r.timescale = ts;
            // Captions found so far stay announced; the new configuration (maybe a
            // new codec or NAL length size) is scanned afresh.
            self.packers[i].captions = CaptionDetector::new(&track.codec);
            r.track = track;
            self.packers[i].clock = clock;
            return;
        }
        let Ok(init) = fmp4::init_segment(&track) else {
            return;
        };
        let key = |kind: MediaKind, id: u32| (kind == MediaKind::Audio, id);
        let at = self
            .renditions
            .partition_point(|r| key(r.kind(), r.track.id) < key(kind, track.id));
        // A follower announced while the leader's segment is open may join it.
        let join = if at > 0 { self.open_boundary() } else { None };
        let first_msn = join.map_or(self.align.next_msn, |b| b.msn);
        let dropped_discontinuities = self.renditions.first().map_or(0, |leader| {
            leader.dropped_discontinuities
                + leader
                    .segments
                    .iter()
                    .filter(|s| s.discontinuity && s.msn < first_msn)
                    .count() as u64
        });
        let ts = fmp4::media_timescale(&track);
        let name = match kind {
            MediaKind::Video => self.video_rendition_name(&track),
            MediaKind::Audio => format!("audio{}", track.id),
        };
        let rendition = Rendition {
            name,
            init: init.clone(),
            segments: Default::default(),
            timescale: ts,
            config: self.config.clone(),
            ended: false,
            peak_bandwidth: 0,
            max_segment_ticks: 0,
            dropped_discontinuities,
            next_msn: first_msn,
            inits: vec![(0, init)],
            init_version: 0,
            samples_muxed: 0,
            ticks_muxed: 0,
            captions: Default::default(),
            track,
        };
        let default = default_duration(&rendition.track, ts);
        let mut packer = Packer::new(&rendition, clock_for(&rendition.track, ts), default);
        packer.boundaries.extend(join);
        if at == 0 {
            // A new leader: the old one becomes a follower of its boundaries.
            if let Some(old) = self.packers.first_mut() {
                if let Some(h) = old.held.take() {
                    old.queue.push_back(h);
                }
            }
        }
        self.renditions.insert(at, rendition);
        self.packers.insert(at, packer);
        self.align.bump();
    }

    /// The URL name of a new video rendition: the track's name when it has one that
    /// is URL-safe (1-64 of `A-Za-z0-9-_`), cannot be taken for a generated name
    /// (`video…`/`audio…`) and is not in use (the live ABR ladder names its
    /// renditions `720p`, …); else `video{id}`. Ingest names no video track, so
    /// published renditions keep `video{id}`.
    fn video_rendition_name(&self, track: &Track) -> String {
        let usable = |n: &&String| {
            (1..=64).contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !n.starts_with("video")
                && !n.starts_with("audio")
                && !self.renditions.iter().any(|r| r.name == **n)
        };
        match track.name.as_ref().filter(usable) {
            Some(name) => name.clone(),
            None => format!("video{}", track.id),
        }
    }

    /// The boundary that opened the leader's segment in progress, if one is open.
    fn open_boundary(&self) -> Option<Boundary> {
        let (r, pk) = (self.renditions.first()?, self.packers.first()?);
        let s = r.in_progress()?;
        Some(Boundary {
            us: pk.clock.media_to_us(s.start_dts as i64),
            msn: s.msn,
            discontinuity: s.discontinuity,
            wall_ms: s.program_date_time_ms,
        })
    }

    pub(super) fn frame_arrived(&mut self, mut frame: Frame, now_ms: u64) {
        if self.ended {
            return;
        }
        let Some(i) = self
            .renditions
            .iter()
            .position(|r| r.kind() == frame.kind && r.track.id == frame.track)
        else {
            return;
        };
        self.check_parameter_sets(i, &mut frame, now_ms);
        if let Some(found) = self.packers[i].captions.handle_frame(&frame.data) {
            let r = &mut self.renditions[i];
            r.captions = r.captions.union(found);
        }
        let dts = match self.map(i, frame.dts) {
            Mapped::Time(t) => t,
            Mapped::Jump if i == 0 => {
                self.flush_epoch(now_ms);
                match self.map(i, frame.dts) {
                    Mapped::Time(t) => t,
                    Mapped::Jump => return,
                }
            }
            Mapped::Jump => self.packers[i].clock.reanchor_at_floor(frame.dts),
        };
        let clock = &self.packers[i].clock;
        let cto = clock
            .src_to_media(frame.pts - frame.dts)
            .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        let pending = Pending {
            dts,
            us: clock.media_to_us(dts),
            cto,
            key: frame.keyframe || frame.kind == MediaKind::Audio,
            data: frame.data,
            now_ms,
        };
        if i == 0 {
            self.leader_frame(pending);
            for f in 1..self.packers.len() {
                self.pump(f, false);
            }
        } else {
            self.packers[i].queue.push_back(pending);
            self.pump(i, false);
        }
    }

    /// Maps through the epoch's rebase, creating it from this frame if needed.
    fn map(&mut self, i: usize, src_dts: i64) -> Mapped {
        let rebase = *self.align.rebase.get_or_insert_with(|| {
            let out_us = self
                .packers
                .iter()
                .map(|p| p.clock.media_to_us(p.clock.floor()))
                .max()
                .unwrap_or(0);
            Rebase {
                src_us: self.packers[i].clock.src_to_us(src_dts),
                out_us,
            }
        });
        self.packers[i].clock.map(src_dts, rebase)
    }

    fn leader_frame(&mut self, p: Pending) {
        let (r, pk) = (&mut self.renditions[0], &mut self.packers[0]);
        if let Some(h) = pk.held.take() {
            let d = (p.dts - h.dts).clamp(1, i64::from(u32::MAX)) as u32;
            pk.append(r, h, d);
        }
        let tolerance = i64::from(r.timescale) * CUT_TOLERANCE_MS / 1000;
        let due =
            Packer::elapsed(r, p.dts).is_none_or(|e| e >= pk.segment_target_ticks - tolerance);
        if p.key && due {
            let msn = self.align.next_msn;
            self.align.next_msn += 1;
            let discontinuity = std::mem::take(&mut self.align.discontinuity_pending);
            if !std::mem::replace(&mut self.align.epoch_open, true) {
                let ast = *self.align.availability_start_ms.get_or_insert(p.now_ms);
                let wall_us = (p.now_ms.saturating_sub(ast) * 1000) as i64;
                let period_start_us = match self.align.epochs.last() {
                    // The previous epoch ended where the leader's muxed media ends.
                    Some(prev) => wall_us.max(
                        prev.period_start_us + pk.clock.media_to_us(pk.clock.floor())
                            - prev.start_us,
                    ),
                    None => 0,
                };
                self.align.epochs.push(Epoch {
                    first_msn: msn,
                    start_us: p.us,
                    wall_ms: p.now_ms,
                    period_start_us,
                });
            }
            pk.open_segment(r, msn, p.dts, p.now_ms, discontinuity);
            let b = Boundary {
                us: p.us,
                msn,
                discontinuity,
                wall_ms: p.now_ms,
            };
            for f in &mut self.packers[1..] {
                f.boundaries.push_back(b);
            }
            self.prune_epochs();
        }
        self.align.frontier_us = Some(p.us);
        if Packer::is_open(&self.renditions[0]) {
            self.packers[0].held = Some(p);
        }
    }

    /// Moves follower `i`'s queued frames into segments as far as the leader's
    /// decisions allow (all of them when `force`).
    fn pump(&mut self, i: usize, force: bool) {
        let (r, pk) = (&mut self.renditions[i], &mut self.packers[i]);
        let max_lag_us = rescale(
            pk.segment_target_ticks * FOLLOWER_MAX_LAG_TARGETS,
            r.timescale,
            US,
        );
        while let Some(front) = pk.queue.front() {
            let d = match pk.queue.get(1) {
                Some(next) => (next.dts - front.dts).clamp(1, i64::from(u32::MAX)) as u32,
                None if force => pk.last_duration(),
                None => break,
            };
            let half_us = rescale(i64::from(d), r.timescale, US) / 2;
            let span_us = pk.queue.back().map_or(0, |b| b.us - front.us);
            let decided = self
                .align
                .frontier_us
                .is_some_and(|f| front.us + half_us <= f);
            if !(force || decided || span_us > max_lag_us) {
                break;
            }
            let Some(front) = pk.queue.pop_front() else {
                break;
            };
            let mut cut: Option<Boundary> = None;
            while let Some(b) = pk
                .boundaries
                .front()
                .copied()
                .filter(|b| b.us - half_us <= front.us)
            {
                pk.boundaries.pop_front();
                // A skipped boundary's discontinuity still precedes the next segment.
                let discontinuity = b.discontinuity || cut.is_some_and(|c| c.discontinuity);
                cut = Some(Boundary { discontinuity, ..b });
            }
            if let Some(b) = cut {
                if r.segments.is_empty() && !front.key {
                    // A first segment starts with a key frame: wait for one.
                    pk.boundaries.push_front(b);
                } else {
                    // Dated like the leader's segment (plus the media time between
                    // the starts), not by this frame's arrival: a TS muxer sends
                    // audio a few hundred ms after video of the same time.
                    let offset_ms = (front.us - b.us + 500).div_euclid(1000);
                    let wall_ms = b.wall_ms.saturating_add_signed(offset_ms);
                    pk.open_segment(r, b.msn, front.dts, wall_ms, b.discontinuity);
                }
            }
            pk.append(r, front, d);
        }
    }

    /// Flushes every rendition and starts a new epoch (see the module docs).
    pub(super) fn flush_epoch(&mut self, _now_ms: u64) {
        if let (Some(r), Some(pk)) = (self.renditions.first_mut(), self.packers.first_mut()) {
            pk.flush_held(r);
            pk.complete_segment(r);
        }
        for i in 1..self.packers.len() {
            self.pump(i, true);
            let (r, pk) = (&mut self.renditions[i], &mut self.packers[i]);
            pk.complete_segment(r);
            pk.boundaries.clear();
        }
        let produced = self.renditions.iter().any(|r| !r.segments.is_empty());
        self.align.discontinuity_pending |= produced;
        self.align.rebase = None;
        self.align.epoch_open = false;
        self.align.frontier_us = None;
        for (r, pk) in self.renditions.iter_mut().zip(&mut self.packers) {
            pk.clock.new_epoch();
            r.next_msn = self.align.next_msn;
        }
        self.align.bump();
    }

    /// Forgets epochs whose segments all left the leader's window.
    fn prune_epochs(&mut self) {
        let Some(oldest) = self
            .renditions
            .first()
            .and_then(|r| r.segments.front())
            .map(|s| s.msn)
        else {
            return;
        };
        while self.align.epochs.len() > 1 && self.align.epochs[1].first_msn <= oldest {
            self.align.epochs.remove(0);
        }
    }
}

/// The timeline of `track` at media timescale `ts`.
fn clock_for(track: &Track, ts: u32) -> TrackClock {
    let frame_ticks = track
        .codec
        .audio_info()
        .filter(|a| a.samples_per_frame > 0 && a.sample_rate > 0)
        .map(|a| rescale(i64::from(a.samples_per_frame), a.sample_rate, ts));
    TrackClock::new(track.timescale, ts, frame_ticks)
}

/// Duration of a lone last sample: one audio frame, or one video frame at the
/// signalled frame rate (30 fps when unknown).
fn default_duration(track: &Track, ts: u32) -> u32 {
    if let Some(a) = track.codec.audio_info().filter(|a| a.sample_rate > 0) {
        return rescale(i64::from(a.samples_per_frame.max(1)), a.sample_rate, ts).max(1) as u32;
    }
    let fps = track
        .codec
        .video_info()
        .and_then(|v| v.frame_rate)
        .filter(|f| *f > 0.0)
        .unwrap_or(30.0);
    (f64::from(ts) / fps).round().max(1.0) as u32
}
