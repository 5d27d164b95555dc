//! # Watching a live playlist for gaps
//!
//! A [`PlaylistMonitor`] polls one media playlist in a background thread for as
//! long as it lives and records every segment it ever saw, by MSN. Its
//! [`MonitorReport`] answers "did this stream have a gap?": MSNs that went
//! missing, `EXT-X-DISCONTINUITY`, PROGRAM-DATE-TIMEs that do not follow from the
//! previous segment's date plus duration, and the longest time the playlist did
//! not advance.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use crate::live::fetch_media;
use crate::m3u8::chrono_secs;

/// What was seen of one segment.
#[derive(Debug, Clone)]
pub struct SeenSegment {
    /// `EXTINF`.
    pub duration: f64,
    /// PROGRAM-DATE-TIME (explicit or carried forward).
    pub pdt: Option<DateTime<FixedOffset>>,
    /// Preceded by `EXT-X-DISCONTINUITY`.
    pub discontinuity: bool,
    /// URI.
    pub uri: String,
}

/// Everything a monitor saw.
#[derive(Debug, Default, Clone)]
pub struct MonitorReport {
    /// Segments by MSN (first sighting).
    pub segments: BTreeMap<u64, SeenSegment>,
    /// Same MSN seen with a different date, URI or duration.
    pub conflicts: Vec<String>,
    /// Fetches that failed.
    pub errors: Vec<String>,
    /// Successful fetches.
    pub fetches: usize,
    /// When the last complete MSN increased: `(since start, msn)`.
    pub progress: Vec<(Duration, u64)>,
    /// `EXT-X-ENDLIST` seen.
    pub endlist: bool,
    /// How long the monitor ran.
    pub ran_for: Duration,
}

impl MonitorReport {
    /// MSNs between the first and last seen that were never seen.
    pub fn missing_msns(&self) -> Vec<u64> {
        let (Some(first), Some(last)) = (
            self.segments.keys().next(),
            self.segments.keys().next_back(),
        ) else {
            return Vec::new();
        };
        (*first..=*last)
            .filter(|m| !self.segments.contains_key(m))
            .collect()
    }

    /// MSNs preceded by `EXT-X-DISCONTINUITY`.
    pub fn discontinuities(&self) -> Vec<u64> {
        self.segments
            .iter()
            .filter(|(_, s)| s.discontinuity)
            .map(|(m, _)| *m)
            .collect()
    }

    /// Consecutive segments whose PROGRAM-DATE-TIME differs from the previous
    /// one's date plus `EXTINF` by more than `tolerance_s`.
    pub fn pdt_gaps(&self, tolerance_s: f64) -> Vec<String> {
        let mut out = Vec::new();
        let mut prev: Option<(u64, &SeenSegment)> = None;
        for (m, s) in &self.segments {
            if let Some((pm, p)) = prev {
                if pm + 1 == *m {
                    if let (Some(pd), Some(d)) = (p.pdt, s.pdt) {
                        let expected = pd + chrono_secs(p.duration);
                        let off =
                            (d - expected).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
                        if off.abs() > tolerance_s {
                            out.push(format!(
                                "msn {m}: PDT {d} is {off:+.3} s from msn {pm}'s {pd} + {:.3} s",
                                p.duration
                            ));
                        }
                    }
                }
            }
            prev = Some((*m, s));
        }
        out
    }

    /// Segments without any PROGRAM-DATE-TIME.
    pub fn without_pdt(&self) -> Vec<u64> {
        self.segments
            .iter()
            .filter(|(_, s)| s.pdt.is_none())
            .map(|(m, _)| *m)
            .collect()
    }

    /// The longest time between two increases of the last complete MSN (and from
    /// the last increase to the end of monitoring).
    pub fn longest_stall(&self) -> Duration {
        let mut worst = Duration::ZERO;
        let mut prev = Duration::ZERO;
        for (t, _) in &self.progress {
            worst = worst.max(t.saturating_sub(prev));
            prev = *t;
        }
        worst.max(self.ran_for.saturating_sub(prev))
    }

    /// Highest complete MSN seen.
    pub fn last_msn(&self) -> Option<u64> {
        self.segments.keys().next_back().copied()
    }
}

/// Polls a media playlist until dropped or [`stop`](Self::stop)ped.
pub struct PlaylistMonitor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<MonitorReport>>,
}

impl PlaylistMonitor {
    /// Starts polling `url` every `every`.
    pub fn start(url: &str, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let url = url.to_owned();
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            let mut rep = MonitorReport::default();
            while !flag.load(Ordering::Relaxed) {
                match fetch_media(&url) {
                    Ok((_, m)) => {
                        rep.fetches += 1;
                        rep.endlist |= m.endlist;
                        if let Some(l) = m.last_msn() {
                            if rep.progress.last().is_none_or(|(_, p)| l > *p) {
                                rep.progress.push((start.elapsed(), l));
                            }
                        }
                        for s in &m.segments {
                            let seen = SeenSegment {
                                duration: s.duration,
                                pdt: s.pdt,
                                discontinuity: s.discontinuity,
                                uri: s.uri.clone(),
                            };
                            match rep.segments.get(&s.msn) {
                                None => {
                                    rep.segments.insert(s.msn, seen);
                                }
                                Some(old) => {
                                    let pdt_moved = match (old.pdt, seen.pdt) {
                                        (Some(a), Some(b)) => (a - b).num_milliseconds().abs() > 50,
                                        _ => false,
                                    };
                                    if pdt_moved
                                        || old.uri != seen.uri
                                        || (old.duration - seen.duration).abs() > 0.002
                                    {
                                        rep.conflicts.push(format!(
                                            "msn {} was {:?} and later {:?}",
                                            s.msn, old, seen
                                        ));
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => rep.errors.push(format!("{:?}: {e:#}", start.elapsed())),
                }
                std::thread::sleep(every);
            }
            rep.ran_for = start.elapsed();
            rep
        });
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops polling and returns what was seen.
    pub fn stop(mut self) -> MonitorReport {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for PlaylistMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
