//! The dynamic MPD: attributes, ServiceDescription, Periods, SegmentTimelines.
//!
//! Timing model (ISO/IEC 23009-1 §5.3.9.5.3 availability, DASH-IF IOP LL §9.X):
//! a segment with `S@t` in Period `k` starts at wall clock
//! `availabilityStartTime + Period@start + (t − presentationTimeOffset)/timescale`.
//! `availabilityStartTime` is the first segment's arrival (fixed for the stream's
//! life); `Period@start` is each epoch's arrival offset (see
//! [`crate::live::Epoch::period_start_us`]); `presentationTimeOffset` is the
//! epoch's first decode time, the same instant in every Representation.
//!
//! Closed captions found in the video (CEA-608/708 in SEI, see
//! [`crate::codec::captions`]) are `Accessibility` descriptors of the video
//! AdaptationSet (SCTE 214-1, DASH-IF IOP §6.4.3): `urn:scte:dash:cc:cea-608:2015`
//! with `CC1=und;CC3=und` and `urn:scte:dash:cc:cea-708:2015` with `1=lang:und`.
//! The language is `und` (ISO 639-2 "undetermined": CEA-608 carries none) rather
//! than left out, because players parse `CC1` alone as a language list (Shaka,
//! video.js) or find no channel in it (ExoPlayer matches `CC([1-4])=.*`).

use std::fmt::Write;

use crate::codec::captions::CaptionServices;
use crate::language;
use crate::live::timeline::{rescale, US};
use crate::live::wallclock::{iso8601_ms, xs_duration};
use crate::live::{Epoch, LiveStream, Rendition, Segment};
use crate::media::{MediaKind, Track};

/// `MPD@profiles`: ISO live profile and DASH-IF simple interoperability.
pub const PROFILES: &str =
    "urn:mpeg:dash:profile:isoff-live:2011,http://dashif.org/guidelines/dash-if-simple";
/// `PlaybackRate@min` for live catch-up.
pub const PLAYBACK_RATE_MIN: &str = "0.96";
/// `PlaybackRate@max` for live catch-up.
pub const PLAYBACK_RATE_MAX: &str = "1.04";
/// `Accessibility@schemeIdUri` of CEA-608 captions in the video (SCTE 214-1).
const CEA608_SCHEME: &str = "urn:scte:dash:cc:cea-608:2015";
/// `Accessibility@schemeIdUri` of CEA-708 captions in the video (SCTE 214-1).
const CEA708_SCHEME: &str = "urn:scte:dash:cc:cea-708:2015";

/// What the MPD needs from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdOptions {
    /// `UTCTiming@value`: the server's time endpoint (`/time`).
    pub utc_timing_url: String,
    /// Wall clock now, ms since the Unix epoch (`publishTime`).
    pub now_ms: u64,
}

/// `(target, min, max)` of `ServiceDescription/Latency`, in ms, for `stream`: the
/// target is four part targets (at least one second), the minimum two parts, the
/// maximum the target plus one segment target.
pub fn latency_ms(stream: &LiveStream) -> (u32, u32, u32) {
    let c = stream.config();
    let target = (4 * c.part_target_ms).max(1000);
    (target, 2 * c.part_target_ms, target + c.segment_target_ms)
}

/// `MPD@minimumUpdatePeriod` in ms: one part target, at least 500 ms. Players learn
/// of a new segment from an MPD update, so this bounds how late they see it.
pub fn minimum_update_period_ms(stream: &LiveStream) -> u32 {
    stream.config().part_target_ms.max(500)
}

/// The MPD of `stream` at `o.now_ms`.
pub fn live_mpd(stream: &LiveStream, o: &MpdOptions) -> String {
    let c = stream.config();
    let ast = stream.availability_start_ms().unwrap_or(o.now_ms);
    let (target, min, max) = latency_ms(stream);
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"{PROFILES}\" type=\"dynamic\" \
         availabilityStartTime=\"{}\" publishTime=\"{}\" minimumUpdatePeriod=\"{}\" \
         timeShiftBufferDepth=\"{}\" maxSegmentDuration=\"{}\" minBufferTime=\"{}\">",
        iso8601_ms(ast),
        iso8601_ms(o.now_ms.max(ast)),
        xs_duration(f64::from(minimum_update_period_ms(stream)) / 1000.0),
        xs_duration(f64::from(c.window_ms) / 1000.0),
        xs_duration(f64::from(stream.target_duration_s())),
        xs_duration(f64::from(c.part_target_ms.max(500)) / 1000.0),
    );
    // DASH-IF IOP LL: ServiceDescription with the latency the player should hold.
    let _ = writeln!(
        out,
        "  <ServiceDescription id=\"0\">\n    <Latency target=\"{target}\" min=\"{min}\" max=\"{max}\" referenceId=\"0\"/>\n    \
         <PlaybackRate min=\"{PLAYBACK_RATE_MIN}\" max=\"{PLAYBACK_RATE_MAX}\"/>\n  </ServiceDescription>"
    );
    let epochs = stream.epochs();
    for (k, epoch) in epochs.iter().enumerate() {
        let end_msn = epochs.get(k + 1).map_or(u64::MAX, |e| e.first_msn);
        period(&mut out, stream, epoch, end_msn);
    }
    let _ = writeln!(
        out,
        "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"{}\"/>\n</MPD>",
        xml_escape(&o.utc_timing_url)
    );
    out
}

/// One Period: the segments with msn in `[epoch.first_msn, end_msn)`.
fn period(out: &mut String, stream: &LiveStream, epoch: &Epoch, end_msn: u64) {
    fn segments_in(r: &Rendition, from: u64, to: u64) -> Vec<&Segment> {
        r.playlist_segments()
            .filter(|s| s.msn >= from && s.msn < to)
            .collect()
    }
    let in_period = |r| segments_in(r, epoch.first_msn, end_msn);
    let _ = writeln!(
        out,
        "  <Period id=\"p{}\" start=\"{}\">",
        epoch.first_msn,
        xs_duration(epoch.period_start_us as f64 / f64::from(US))
    );
    let videos: Vec<&Rendition> = stream
        .renditions()
        .iter()
        .filter(|r| r.kind() == MediaKind::Video)
        .collect();
    let mut as_id = 0;
    if videos.iter().any(|r| !in_period(r).is_empty()) {
        let _ = writeln!(
            out,
            "    <AdaptationSet id=\"{as_id}\" contentType=\"video\" mimeType=\"video/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\">"
        );
        let captions = videos
            .iter()
            .fold(CaptionServices::NONE, |acc, v| acc.union(v.captions));
        accessibility(out, captions);
        for r in &videos {
            representation(out, r, &in_period(r), epoch);
        }
        out.push_str("    </AdaptationSet>\n");
    }
    for r in stream
        .renditions()
        .iter()
        .filter(|r| r.kind() == MediaKind::Audio)
    {
        let segs = in_period(r);
        if segs.is_empty() {
            continue;
        }
        as_id += 1;
        audio_adaptation_set_start(out, as_id, &r.track);
        representation(out, r, &segs, epoch);
        out.push_str("    </AdaptationSet>\n");
    }
    out.push_str("  </Period>\n");
}

/// The start tag of an audio AdaptationSet (one per audio rendition, with its
/// language when known).
pub(crate) fn audio_adaptation_set_start(out: &mut String, id: u32, track: &Track) {
    let lang = track
        .language
        .as_deref()
        .map(|l| format!(" lang=\"{}\"", xml_escape(&language::bcp47(l))))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "    <AdaptationSet id=\"{id}\" contentType=\"audio\" mimeType=\"audio/mp4\"{lang} segmentAlignment=\"true\" startWithSAP=\"1\">"
    );
}

/// The caption `Accessibility` descriptors of a video AdaptationSet (they precede
/// its Representations in the schema's element order).
pub(crate) fn accessibility(out: &mut String, captions: CaptionServices) {
    let cc: Vec<String> = captions
        .cea608_channels()
        .map(|c| format!("CC{c}=und"))
        .collect();
    let services: Vec<String> = captions
        .cea708_services()
        .map(|s| format!("{s}=lang:und"))
        .collect();
    for (scheme, list) in [(CEA608_SCHEME, cc), (CEA708_SCHEME, services)] {
        if !list.is_empty() {
            let _ = writeln!(
                out,
                "      <Accessibility schemeIdUri=\"{scheme}\" value=\"{}\"/>",
                list.join(";")
            );
        }
    }
}

/// One Representation with its SegmentTemplate and SegmentTimeline.
fn representation(out: &mut String, r: &Rendition, segs: &[&Segment], epoch: &Epoch) {
    let Some(first) = segs.first() else { return };
    let bandwidth = r.bandwidth().max(r.average_bandwidth()).max(1);
    representation_head(out, &r.name, &r.track, bandwidth, r.frame_rate());
    let c = &r.config;
    let ato = f64::from(c.segment_target_ms.saturating_sub(c.part_target_ms)) / 1000.0;
    let _ = writeln!(
        out,
        "        <SegmentTemplate timescale=\"{}\" initialization=\"$RepresentationID$/{}\" \
         media=\"$RepresentationID$/seg$Number$.m4s\" startNumber=\"{}\" presentationTimeOffset=\"{}\" \
         availabilityTimeOffset=\"{ato:.3}\" availabilityTimeComplete=\"false\">",
        r.timescale,
        Rendition::init_uri(first.init_version),
        first.msn,
        rescale(epoch.start_us, US, r.timescale).max(0),
    );
    let target_ticks = u64::from(c.segment_target_ms) * u64::from(r.timescale) / 1000;
    // The segment in progress gets its expected duration.
    segment_timeline(
        out,
        segs.iter().map(|s| {
            let d = if s.complete {
                s.duration_ticks
            } else {
                s.duration_ticks.max(target_ticks)
            };
            (s.start_dts, d)
        }),
    );
    out.push_str("        </SegmentTemplate>\n      </Representation>\n");
}

/// The `Representation` start tag for `track` (codecs, bandwidth, picture size and
/// frame rate, or sampling rate) and, for audio, its `AudioChannelConfiguration`.
pub(crate) fn representation_head(
    out: &mut String,
    id: &str,
    track: &Track,
    bandwidth: u64,
    frame_rate_fps: Option<f64>,
) {
    let _ = write!(
        out,
        "      <Representation id=\"{}\" codecs=\"{}\" bandwidth=\"{bandwidth}\"",
        xml_escape(id),
        track.codec.codec_string()
    );
    if let Some(v) = track.codec.video_info() {
        let _ = write!(out, " width=\"{}\" height=\"{}\"", v.width, v.height);
        if let Some(fps) = frame_rate_fps {
            let _ = write!(out, " frameRate=\"{}\"", frame_rate(fps));
        }
    }
    let audio = track.codec.audio_info();
    if let Some(a) = audio {
        let _ = write!(out, " audioSamplingRate=\"{}\"", a.sample_rate);
    }
    out.push_str(">\n");
    if let Some(a) = audio {
        let _ = writeln!(
            out,
            "        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"{}\"/>",
            a.channels
        );
    }
}

/// A `SegmentTimeline` of `(start, duration)` pairs (ISO/IEC 23009-1 §5.3.9.6):
/// equal consecutive durations become one `S` with `@r`, and `@t` is written only
/// where a segment does not start where the previous one ended.
pub(crate) fn segment_timeline(out: &mut String, segments: impl Iterator<Item = (u64, u64)>) {
    out.push_str("          <SegmentTimeline>\n");
    // (t, d, repeat) runs.
    let mut runs: Vec<(u64, u64, u32)> = Vec::new();
    let mut expected_t = None;
    for (t, d) in segments {
        match runs.last_mut() {
            Some(run) if run.1 == d && expected_t == Some(t) => run.2 += 1,
            _ => runs.push((t, d, 0)),
        }
        expected_t = Some(t + d);
    }
    let mut next_t = None;
    for (t, d, rep) in runs {
        out.push_str("            <S");
        if next_t != Some(t) {
            let _ = write!(out, " t=\"{t}\"");
        }
        let _ = write!(out, " d=\"{d}\"");
        if rep > 0 {
            let _ = write!(out, " r=\"{rep}\"");
        }
        out.push_str("/>\n");
        next_t = Some(t + d * (u64::from(rep) + 1));
    }
    out.push_str("          </SegmentTimeline>\n");
}

/// `frameRate` (ISO/IEC 23009-1 §5.3.7.2, a FrameRateType): `30`, `30000/1001`.
pub(crate) fn frame_rate(fps: f64) -> String {
    let whole = fps.round();
    if (fps - whole).abs() < 0.01 {
        return format!("{}", whole as u64);
    }
    let ntsc = (fps * 1.001).round();
    if (fps * 1.001 - ntsc).abs() < 0.01 {
        return format!("{}/1001", ntsc as u64 * 1000);
    }
    format!("{}/1000", (fps * 1000.0).round() as u64)
}

/// Escapes text for an XML attribute value.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn frame_rates_are_exact_fractions() {
        assert_eq!(frame_rate(30.0), "30");
        assert_eq!(frame_rate(29.97003), "30000/1001");
        assert_eq!(frame_rate(59.94006), "60000/1001");
        assert_eq!(frame_rate(12.5), "12500/1000");
    }

    #[test]
    fn escapes_attribute_text() {
        assert_eq!(xml_escape("/t?a=1&b=\"2\""), "/t?a=1&amp;b=&quot;2&quot;");
    }
}
