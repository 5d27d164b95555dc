//! Following a [`LiveStream`] and recording every segment it completes.
//!
//! [`VodRecorder::collect`] is called after the stream changed (any time before a
//! segment leaves the live retention window, i.e. within
//! [`RETENTION_TARGET_DURATIONS`](crate::live::RETENTION_TARGET_DURATIONS) target
//! durations plus the playlist window). Each call returns the init segments and
//! complete segments not handed out before; segments that were pruned before a call
//! saw them are counted in [`VodRecorder::missed_segments`] and left out of the
//! playlists (a gap is a discontinuity, never a dangling URI).
//! [`VodRecorder::finish`] returns the rest plus the playlists and the MPD.

use bytes::{Bytes, BytesMut};

use super::{
    media_playlist, mpd, segment_file, VodFile, MANIFEST, MASTER_PLAYLIST, MEDIA_PLAYLIST,
};
use crate::codec::captions::CaptionServices;
use crate::hls::{multivariant_of, RenditionSummary};
use crate::live::{LiveStream, Rendition, Segment};
use crate::media::{MediaKind, Track};

/// What the playlists need of one recorded segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedSegment {
    /// Media sequence number (also the file name, `seg{msn}.m4s`).
    pub msn: u64,
    /// Decode time of the first sample, in the rendition's timescale.
    pub start_dts: u64,
    /// Duration in the rendition's timescale.
    pub duration_ticks: u64,
    /// Which init segment decodes it.
    pub init_version: u32,
    /// Not continuous with the previous recorded segment (publisher reconnect,
    /// timestamp jump, or a segment missed in between).
    pub discontinuity: bool,
    /// Size in bytes.
    pub bytes: u64,
}

/// Everything recorded of one rendition.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRendition {
    /// URL path component.
    pub name: String,
    /// The track as last announced.
    pub track: Track,
    /// Ticks per second of the segment times.
    pub timescale: u32,
    /// Frames per second, for video.
    pub frame_rate: Option<f64>,
    /// Closed-caption services seen.
    pub captions: CaptionServices,
    /// Recorded segments, in order.
    pub segments: Vec<RecordedSegment>,
    inits_written: Vec<u32>,
}

impl RecordedRendition {
    /// Video or audio.
    pub fn kind(&self) -> MediaKind {
        self.track.kind()
    }

    /// Total duration in seconds.
    pub fn duration_s(&self) -> f64 {
        let ticks: u64 = self.segments.iter().map(|s| s.duration_ticks).sum();
        ticks as f64 / f64::from(self.timescale.max(1))
    }

    /// Peak segment bit rate (rfc8216bis §4.4.6.2 `BANDWIDTH`), bits/s.
    pub fn peak_bandwidth(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.duration_ticks > 0)
            .map(|s| s.bytes * 8 * u64::from(self.timescale) / s.duration_ticks)
            .max()
            .unwrap_or(0)
    }

    /// Mean bit rate over the whole rendition (`AVERAGE-BANDWIDTH`), bits/s.
    pub fn average_bandwidth(&self) -> u64 {
        let (bytes, ticks) = self
            .segments
            .iter()
            .fold((0, 0), |(b, t), s| (b + s.bytes, t + s.duration_ticks));
        if ticks == 0 {
            return 0;
        }
        bytes * 8 * u64::from(self.timescale) / ticks
    }

    fn summary(&self) -> RenditionSummary {
        RenditionSummary {
            name: self.name.clone(),
            track: self.track.clone(),
            bandwidth: self.peak_bandwidth(),
            average_bandwidth: self.average_bandwidth(),
            frame_rate: self.frame_rate,
            captions: self.captions,
        }
    }
}

/// What a finished recording holds, for the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct VodSummary {
    /// Duration of the leading rendition (first video, else first audio), seconds.
    pub duration_s: f64,
    /// Every rendition with at least one segment, in stream order.
    pub renditions: Vec<RecordedRendition>,
}

impl VodSummary {
    /// The tallest video rendition's picture size.
    pub fn resolution(&self) -> Option<(u32, u32)> {
        self.renditions
            .iter()
            .filter_map(|r| r.track.codec.video_info())
            .map(|v| (v.width, v.height))
            .max_by_key(|(_, h)| *h)
    }

    /// Distinct RFC 6381 codec strings, video first.
    pub fn codecs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for kind in [MediaKind::Video, MediaKind::Audio] {
            for r in self.renditions.iter().filter(|r| r.kind() == kind) {
                let c = r.track.codec.codec_string();
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }
}

/// Follows one [`LiveStream`]; see the module docs.
#[derive(Debug, Default)]
pub struct VodRecorder {
    renditions: Vec<RecordedRendition>,
    missed: u64,
}

impl VodRecorder {
    /// A recorder that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Segments that left the live window before [`Self::collect`] saw them.
    pub fn missed_segments(&self) -> u64 {
        self.missed
    }

    /// The record so far.
    pub fn renditions(&self) -> &[RecordedRendition] {
        &self.renditions
    }

    /// New init segments and complete segments of `stream` since the last call.
    pub fn collect(&mut self, stream: &LiveStream) -> Vec<VodFile> {
        let mut files = Vec::new();
        for r in stream.renditions() {
            let i = match self.renditions.iter().position(|x| x.name == r.name) {
                Some(i) => i,
                None => {
                    self.renditions.push(RecordedRendition {
                        name: r.name.clone(),
                        track: r.track.clone(),
                        timescale: r.timescale,
                        frame_rate: None,
                        captions: CaptionServices::NONE,
                        segments: Vec::new(),
                        inits_written: Vec::new(),
                    });
                    self.renditions.len() - 1
                }
            };
            self.missed += record_rendition(&mut self.renditions[i], r, &mut files);
        }
        files
    }

    /// The remaining files and the playlists over everything recorded. Call after
    /// the stream ended (its last segments are complete only then).
    pub fn finish(mut self, stream: &LiveStream) -> (Vec<VodFile>, VodSummary) {
        let mut files = self.collect(stream);
        self.renditions.retain(|r| !r.segments.is_empty());
        let renditions = self.renditions;
        for r in &renditions {
            files.push(VodFile {
                path: format!("{}/{MEDIA_PLAYLIST}", r.name),
                data: Bytes::from(media_playlist::vod_media_playlist(r)),
            });
        }
        let summaries: Vec<RenditionSummary> =
            renditions.iter().map(RecordedRendition::summary).collect();
        files.push(VodFile {
            path: MASTER_PLAYLIST.to_owned(),
            data: Bytes::from(multivariant_of(&summaries)),
        });
        files.push(VodFile {
            path: MANIFEST.to_owned(),
            data: Bytes::from(mpd::static_mpd(&renditions)),
        });
        let leader = renditions
            .iter()
            .find(|r| r.kind() == MediaKind::Video)
            .or_else(|| renditions.first());
        let summary = VodSummary {
            duration_s: leader.map_or(0.0, RecordedRendition::duration_s),
            renditions,
        };
        (files, summary)
    }
}

/// Records the new part of live rendition `r` into `rec`; returns how many
/// segments were missed.
fn record_rendition(rec: &mut RecordedRendition, r: &Rendition, files: &mut Vec<VodFile>) -> u64 {
    rec.track = r.track.clone();
    rec.frame_rate = r.frame_rate().or(rec.frame_rate);
    rec.captions = rec.captions.union(r.captions);
    let last = rec.segments.last().map(|s| s.msn);
    let mut missed = 0;
    for seg in r.segments.iter().filter(|s| s.complete) {
        if last.is_some_and(|l| seg.msn <= l) {
            continue;
        }
        let expected = rec.segments.last().map(|s| s.msn + 1);
        let gap = expected.is_some_and(|e| seg.msn > e);
        if gap {
            missed += seg.msn - expected.unwrap_or(seg.msn);
        }
        if !rec.inits_written.contains(&seg.init_version) {
            let uri = Rendition::init_uri(seg.init_version);
            let Some(init) = r.init_by_uri(&uri) else {
                // The init left with older segments; this segment cannot be decoded.
                missed += 1;
                continue;
            };
            files.push(VodFile {
                path: format!("{}/{uri}", r.name),
                data: init,
            });
            rec.inits_written.push(seg.init_version);
        }
        let data = concat_parts(seg);
        rec.segments.push(RecordedSegment {
            msn: seg.msn,
            start_dts: seg.start_dts,
            duration_ticks: seg.duration_ticks,
            init_version: seg.init_version,
            discontinuity: seg.discontinuity || gap,
            bytes: data.len() as u64,
        });
        files.push(VodFile {
            path: format!("{}/{}", r.name, segment_file(seg.msn)),
            data,
        });
    }
    missed
}

/// A segment's bytes: its parts back to back (each a `moof`+`mdat`).
fn concat_parts(seg: &Segment) -> Bytes {
    if let [only] = seg.parts.as_slice() {
        return only.data.clone();
    }
    let mut out = BytesMut::with_capacity(seg.byte_len());
    for p in &seg.parts {
        out.extend_from_slice(&p.data);
    }
    out.freeze()
}
