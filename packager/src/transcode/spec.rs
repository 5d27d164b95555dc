//! What a ladder is asked to produce ([`LadderSpec`], [`RenditionSpec`]) and what it
//! will actually produce for a given source ([`plan_renditions`]): sizes that keep
//! the display aspect ratio, even dimensions, never an upscale.

use ffmpeg_next::Rational;

/// One video rendition as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionSpec {
    /// Name used for the track and on disk (`720p`).
    pub name: String,
    /// Picture height in pixels; the width follows from the source's aspect ratio.
    pub height: u32,
    /// Target video bitrate in bit/s; also the VBV maxrate ([`VBV_BUFFER_S`]).
    pub video_bitrate: u32,
}

impl RenditionSpec {
    /// A rendition called `name` of `height` pixels at `video_bitrate` bit/s.
    pub fn new(name: &str, height: u32, video_bitrate: u32) -> Self {
        Self {
            name: name.to_owned(),
            height,
            video_bitrate,
        }
    }
}

/// A whole ladder: renditions plus the settings they share.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderSpec {
    /// Tallest first. Renditions taller than the source are skipped (see
    /// [`plan_renditions`]).
    pub renditions: Vec<RenditionSpec>,
    /// Every rendition gets an IDR frame at exactly the same pts, every this many
    /// seconds of media, so segments align across renditions.
    pub keyframe_interval_s: f64,
    /// x264 preset (`ultrafast` … `placebo`), e.g. `veryfast`.
    pub preset: String,
    /// AAC-LC bitrate in bit/s; audio is encoded once and shared by all renditions.
    pub audio_bitrate: u32,
    /// x264 threads per rendition; 0 lets x264 choose (1.5 × cores).
    pub threads: usize,
}

/// Default keyframe (and so segment) interval in seconds.
pub const DEFAULT_KEYFRAME_INTERVAL_S: f64 = 2.0;

/// Default x264 preset: the fastest preset that keeps B-frames and a useful
/// lookahead, so quality per bit stays reasonable on a small machine.
pub const DEFAULT_PRESET: &str = "veryfast";

/// Default AAC-LC bitrate (bit/s), stereo.
pub const DEFAULT_AUDIO_BITRATE: u32 = 128_000;

/// VBV buffer size in seconds of the rendition's bitrate (`bufsize = 2 × bitrate`);
/// the VBV maxrate equals the bitrate. Two seconds is one default segment.
pub const VBV_BUFFER_S: u32 = 2;

impl Default for LadderSpec {
    /// 1080p 5 Mbit/s, 720p 2.8 Mbit/s, 480p 1.4 Mbit/s, 360p 0.8 Mbit/s.
    fn default() -> Self {
        Self {
            renditions: vec![
                RenditionSpec::new("1080p", 1080, 5_000_000),
                RenditionSpec::new("720p", 720, 2_800_000),
                RenditionSpec::new("480p", 480, 1_400_000),
                RenditionSpec::new("360p", 360, 800_000),
            ],
            keyframe_interval_s: DEFAULT_KEYFRAME_INTERVAL_S,
            preset: DEFAULT_PRESET.to_owned(),
            audio_bitrate: DEFAULT_AUDIO_BITRATE,
            threads: 0,
        }
    }
}

/// A rendition as it will be encoded for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRendition {
    /// From [`RenditionSpec::name`].
    pub name: String,
    /// Output width in pixels (even).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// From [`RenditionSpec::video_bitrate`].
    pub video_bitrate: u32,
}

/// The renditions `spec` yields for a `width`×`height` source whose pixels have the
/// aspect ratio `sample_aspect` (0/x or 1/1 for square pixels).
///
/// - Renditions taller than the source are skipped; if any were skipped and none
///   is exactly the source height, the shortest skipped one is kept at the source
///   height (its name and bitrate unchanged), so a source between two rungs still
///   gets a rendition at its own resolution, and a source below the whole ladder
///   still gets one.
/// - Widths keep the *display* aspect ratio (output pixels are square) and are
///   rounded to the nearest even number; heights are rounded down to even
///   (4:2:0 chroma needs both even).
/// - Duplicate heights after clamping are dropped (the first wins).
pub fn plan_renditions(
    spec: &LadderSpec,
    width: u32,
    height: u32,
    sample_aspect: Rational,
) -> Vec<PlannedRendition> {
    let source_height = height & !1;
    let mut kept: Vec<&RenditionSpec> = Vec::new();
    let mut shortest_skipped: Option<&RenditionSpec> = None;
    for r in &spec.renditions {
        if r.height > source_height {
            if shortest_skipped.is_none_or(|s| r.height < s.height) {
                shortest_skipped = Some(r);
            }
        } else {
            kept.push(r);
        }
    }
    let mut planned: Vec<PlannedRendition> = Vec::new();
    let at_source = kept.iter().any(|r| r.height & !1 == source_height);
    if let (Some(r), false) = (shortest_skipped, at_source) {
        planned.push(sized(r, source_height, width, height, sample_aspect));
    }
    for r in kept {
        let h = r.height & !1;
        if h >= 2 && !planned.iter().any(|p| p.height == h) {
            planned.push(sized(r, h, width, height, sample_aspect));
        }
    }
    planned
}

fn sized(
    r: &RenditionSpec,
    out_height: u32,
    width: u32,
    height: u32,
    sample_aspect: Rational,
) -> PlannedRendition {
    let (num, den) = if sample_aspect.numerator() > 0 && sample_aspect.denominator() > 0 {
        (
            sample_aspect.numerator() as u64,
            sample_aspect.denominator() as u64,
        )
    } else {
        (1, 1)
    };
    // display width × out_height / height, rounded to the nearest even number.
    let scaled = u64::from(width) * num * u64::from(out_height);
    let divisor = den * u64::from(height.max(1));
    let halves = (scaled + divisor) / (2 * divisor);
    PlannedRendition {
        name: r.name.clone(),
        width: (halves * 2).max(2) as u32,
        height: out_height,
        video_bitrate: r.video_bitrate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(spec: &LadderSpec, w: u32, h: u32, sar: (i32, i32)) -> Vec<(String, u32, u32)> {
        plan_renditions(spec, w, h, Rational::new(sar.0, sar.1))
            .into_iter()
            .map(|p| (p.name, p.width, p.height))
            .collect()
    }

    fn owned(v: &[(&str, u32, u32)]) -> Vec<(String, u32, u32)> {
        v.iter().map(|(n, w, h)| (n.to_string(), *w, *h)).collect()
    }

    #[test]
    fn a_1080p_source_gets_the_whole_default_ladder() {
        let spec = LadderSpec::default();
        assert_eq!(
            sizes(&spec, 1920, 1080, (1, 1)),
            owned(&[
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360)
            ])
        );
    }

    #[test]
    fn never_upscales_and_keeps_one_rendition_at_the_source_height() {
        let spec = LadderSpec::default();
        // Between rungs: 720p is replaced by a 600-line rendition.
        assert_eq!(
            sizes(&spec, 1066, 600, (1, 1)),
            owned(&[("720p", 1066, 600), ("480p", 852, 480), ("360p", 640, 360)])
        );
        // Below the ladder: one rendition at the source size.
        assert_eq!(sizes(&spec, 320, 240, (0, 1)), owned(&[("360p", 320, 240)]));
        // Odd source sizes become even.
        assert_eq!(sizes(&spec, 321, 241, (1, 1)), owned(&[("360p", 320, 240)]));
    }

    #[test]
    fn anamorphic_sources_become_square_pixels() {
        let spec = LadderSpec {
            renditions: vec![RenditionSpec::new("576p", 576, 1_500_000)],
            ..LadderSpec::default()
        };
        // PAL 16:9: 720×576 with 64:45 pixels displays as 1024×576.
        assert_eq!(
            sizes(&spec, 720, 576, (64, 45)),
            owned(&[("576p", 1024, 576)])
        );
    }
}
