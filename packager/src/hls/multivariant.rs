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

use std::fmt::Write;

use crate::live::{LiveStream, Rendition};
use crate::media::MediaKind;

/// `GROUP-ID` of the audio renditions.
pub const AUDIO_GROUP: &str = "aud";

/// `master.m3u8` of `stream`.
pub fn multivariant_playlist(stream: &LiveStream) -> String {
    let videos: Vec<&Rendition> = stream
        .renditions()
        .iter()
        .filter(|r| r.kind() == MediaKind::Video)
        .collect();
    let audios: Vec<&Rendition> = stream
        .renditions()
        .iter()
        .filter(|r| r.kind() == MediaKind::Audio)
        .collect();

    let mut out = String::with_capacity(1024);
    out.push_str("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n");

    if videos.is_empty() {
        for a in &audios {
            let _ = writeln!(
                out,
                "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"\n{}/index.m3u8",
                a.bandwidth().max(1),
                a.average_bandwidth().max(1),
                a.track.codec.codec_string(),
                a.name
            );
        }
        return out;
    }

    for (i, a) in audios.iter().enumerate() {
        let name = a.track.name.clone().unwrap_or_else(|| a.name.clone());
        let _ = write!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP}\",NAME=\"{}\"",
            quote_safe(&name)
        );
        if let Some(lang) = &a.track.language {
            let _ = write!(out, ",LANGUAGE=\"{}\"", quote_safe(lang));
        }
        let default = if i == 0 { "YES" } else { "NO" };
        let _ = write!(out, ",DEFAULT={default},AUTOSELECT=YES");
        if let Some(info) = a.track.codec.audio_info() {
            let _ = write!(out, ",CHANNELS=\"{}\"", info.channels);
        }
        let _ = writeln!(out, ",URI=\"{}/index.m3u8\"", a.name);
    }

    let audio_peak = audios.iter().map(|a| a.bandwidth()).max().unwrap_or(0);
    let audio_avg = audios
        .iter()
        .map(|a| a.average_bandwidth())
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
            (v.bandwidth() + audio_peak).max(1),
            (v.average_bandwidth() + audio_avg).max(1),
            codecs.join(",")
        );
        if let Some(info) = v.track.codec.video_info() {
            let _ = write!(out, ",RESOLUTION={}x{}", info.width, info.height);
        }
        if let Some(fps) = v.frame_rate() {
            let _ = write!(out, ",FRAME-RATE={fps:.3}");
        }
        if !audios.is_empty() {
            let _ = write!(out, ",AUDIO=\"{AUDIO_GROUP}\"");
        }
        let _ = writeln!(out, "\n{}/index.m3u8", v.name);
    }
    out
}

/// Quoted-string values may not hold `"`, CR or LF (rfc8216bis §4.2).
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n'))
        .collect()
}
