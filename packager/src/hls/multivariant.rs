//! The multivariant playlist (rfc8216bis §4.4.6).
//!
//! - Each video rendition is a variant (`EXT-X-STREAM-INF`, §4.4.6.2) with
//!   `BANDWIDTH` (measured peak segment bit rate, video plus the highest audio
//!   peak, since the variant plays with one audio rendition), `AVERAGE-BANDWIDTH`
//!   (same, from means), `CODECS` (video and every audio codec of the group),
//!   `RESOLUTION`, `FRAME-RATE` (three decimals) and `AUDIO` naming the group.
//! - Audio renditions are `EXT-X-MEDIA:TYPE=AUDIO` in group [`AUDIO_GROUP`]
//!   (§4.4.6.1); the first is `DEFAULT=YES`.
//! - An audio-only stream lists each audio playlist as a variant of its own.
//! - Segments start with a key frame in every rendition, hence
//!   `EXT-X-INDEPENDENT-SEGMENTS` (§4.4.2.1).
//! - Closed captions found in the video (CEA-608/708 in SEI, see
//!   [`crate::codec::captions`]) are `EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS` in group
//!   [`CAPTIONS_GROUP`] (§4.4.6.1), one per service: `INSTREAM-ID` `CC1`..`CC4`, then
//!   `SERVICE1`..`SERVICE63` (which need `EXT-X-VERSION:7`, §7), `NAME` the same
//!   string, no `LANGUAGE` (CEA-608 carries none, and ingest does not read the
//!   ATSC caption_service_descriptor), the first `DEFAULT=YES`, all
//!   `AUTOSELECT=YES`. Each variant whose video carries captions gets
//!   `CLOSED-CAPTIONS="cc"`; the group lists the union over variants.
//! - `CLOSED-CAPTIONS=NONE` is never written. It promises that no variant has
//!   captions, and players keep the promise: iOS Safari and ExoPlayer
//!   (google/ExoPlayer#2743) then hide in-band CEA-608, and hls.js confirmed not
//!   doing so as a bug (video-dev/hls.js#4913). But captions are only found when
//!   their first caption command arrives (an encoder may send padding for minutes
//!   until a captioner starts), and a player reads the multivariant playlist once:
//!   a `NONE` served before that would hide the captions for the whole session.
//!   Without the attribute, hls.js and Shaka (shaka-project/shaka-player#5916)
//!   still find captions in-band; ExoPlayer needs the declaration either way
//!   (androidx/media#1446), which it gets once the captions were seen.

use std::fmt::Write;

use crate::codec::captions::CaptionServices;
use crate::language;
use crate::live::{LiveStream, Rendition};
use crate::media::{MediaKind, Track};

/// `GROUP-ID` of the audio renditions.
pub const AUDIO_GROUP: &str = "aud";

/// `GROUP-ID` of the closed-caption renditions.
pub(crate) const CAPTIONS_GROUP: &str = "cc";

/// What the multivariant playlist says about one rendition. Live streams describe
/// their [`Rendition`]s ([`RenditionSummary::of`]); VOD assets describe what they
/// recorded over the whole asset (`crate::vod`).
#[derive(Debug, Clone, PartialEq)]
pub struct RenditionSummary {
    /// URL path component (`video0`, `720p`, `audio0`).
    pub name: String,
    /// The track as last announced.
    pub track: Track,
    /// Peak segment bit rate, bits/s (`BANDWIDTH`).
    pub bandwidth: u64,
    /// Mean bit rate, bits/s (`AVERAGE-BANDWIDTH`).
    pub average_bandwidth: u64,
    /// Frames per second, for video.
    pub frame_rate: Option<f64>,
    /// Closed-caption services seen in the video.
    pub captions: CaptionServices,
}

impl RenditionSummary {
    /// A live rendition as it stands now.
    pub fn of(r: &Rendition) -> Self {
        Self {
            name: r.name.clone(),
            track: r.track.clone(),
            bandwidth: r.bandwidth(),
            average_bandwidth: r.average_bandwidth(),
            frame_rate: r.frame_rate(),
            captions: r.captions,
        }
    }

    fn kind(&self) -> MediaKind {
        self.track.kind()
    }
}

/// `master.m3u8` of `stream`.
pub fn multivariant_playlist(stream: &LiveStream) -> String {
    let summaries: Vec<RenditionSummary> = stream
        .renditions()
        .iter()
        .map(RenditionSummary::of)
        .collect();
    multivariant_of(&summaries)
}

/// The multivariant playlist listing `renditions`.
pub fn multivariant_of(renditions: &[RenditionSummary]) -> String {
    let videos: Vec<&RenditionSummary> = renditions
        .iter()
        .filter(|r| r.kind() == MediaKind::Video)
        .collect();
    let audios: Vec<&RenditionSummary> = renditions
        .iter()
        .filter(|r| r.kind() == MediaKind::Audio)
        .collect();
    let captions = videos
        .iter()
        .fold(CaptionServices::NONE, |acc, v| acc.union(v.captions));

    let mut out = String::with_capacity(1024);
    out.push_str("#EXTM3U\n");
    if captions.cea708_services().next().is_some() {
        out.push_str("#EXT-X-VERSION:7\n");
    }
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");

    if videos.is_empty() {
        for a in &audios {
            let _ = writeln!(
                out,
                "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"\n{}/index.m3u8",
                a.bandwidth.max(1),
                a.average_bandwidth.max(1),
                a.track.codec.codec_string(),
                a.name
            );
        }
        return out;
    }

    for (i, (a, name)) in audios.iter().zip(audio_names(&audios)).enumerate() {
        let _ = write!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP}\",NAME=\"{}\"",
            quote_safe(&name)
        );
        if let Some(lang) = &a.track.language {
            let _ = write!(out, ",LANGUAGE=\"{}\"", quote_safe(&language::bcp47(lang)));
        }
        let default = if i == 0 { "YES" } else { "NO" };
        let _ = write!(out, ",DEFAULT={default},AUTOSELECT=YES");
        if let Some(info) = a.track.codec.audio_info() {
            let _ = write!(out, ",CHANNELS=\"{}\"", info.channels);
        }
        let _ = writeln!(out, ",URI=\"{}/index.m3u8\"", a.name);
    }

    for (i, id) in instream_ids(captions).enumerate() {
        let default = if i == 0 { "YES" } else { "NO" };
        let _ = writeln!(
            out,
            "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"{CAPTIONS_GROUP}\",NAME=\"{id}\",\
             INSTREAM-ID=\"{id}\",DEFAULT={default},AUTOSELECT=YES"
        );
    }

    let audio_peak = audios.iter().map(|a| a.bandwidth).max().unwrap_or(0);
    let audio_avg = audios
        .iter()
        .map(|a| a.average_bandwidth)
        .max()
        .unwrap_or(0);
    let mut audio_codecs: Vec<String> = Vec::new();
    for a in &audios {
        let c = a.track.codec.codec_string();
        if !audio_codecs.contains(&c) {
            audio_codecs.push(c);
        }
    }
    for v in &videos {
        let mut codecs = vec![v.track.codec.codec_string()];
        codecs.extend(audio_codecs.iter().cloned());
        let _ = write!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"",
            (v.bandwidth + audio_peak).max(1),
            (v.average_bandwidth + audio_avg).max(1),
            codecs.join(",")
        );
        if let Some(info) = v.track.codec.video_info() {
            let _ = write!(out, ",RESOLUTION={}x{}", info.width, info.height);
        }
        if let Some(fps) = v.frame_rate {
            let _ = write!(out, ",FRAME-RATE={fps:.3}");
        }
        if !audios.is_empty() {
            let _ = write!(out, ",AUDIO=\"{AUDIO_GROUP}\"");
        }
        if !v.captions.is_empty() {
            let _ = write!(out, ",CLOSED-CAPTIONS=\"{CAPTIONS_GROUP}\"");
        }
        let _ = writeln!(out, "\n{}/index.m3u8", v.name);
    }
    out
}

/// `INSTREAM-ID`s of `captions` (rfc8216bis §4.4.6.1): `CC1`..`CC4`, `SERVICE1`..
fn instream_ids(captions: CaptionServices) -> impl Iterator<Item = String> {
    let cc = captions.cea608_channels().map(|c| format!("CC{c}"));
    cc.chain(captions.cea708_services().map(|s| format!("SERVICE{s}")))
}

/// `NAME` of each audio rendition: the source's track name, else the language's
/// English name, else the rendition's URL name; names must differ within a group
/// (rfc8216bis §4.4.6.1.1), so a repeated one gets the URL name appended.
fn audio_names(audios: &[&RenditionSummary]) -> Vec<String> {
    let preferred: Vec<String> = audios
        .iter()
        .map(|a| {
            a.track
                .name
                .clone()
                .or_else(|| {
                    let lang = a.track.language.as_deref()?;
                    language::english_name(lang).map(str::to_owned)
                })
                .unwrap_or_else(|| a.name.clone())
        })
        .collect();
    preferred
        .iter()
        .zip(audios)
        .map(|(name, a)| {
            if preferred.iter().filter(|n| *n == name).count() > 1 && *name != a.name {
                format!("{name} ({})", a.name)
            } else {
                name.clone()
            }
        })
        .collect()
}

/// Quoted-string values may not hold `"`, CR or LF (rfc8216bis §4.2).
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n'))
        .collect()
}
