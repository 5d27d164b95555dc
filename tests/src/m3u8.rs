//! # A minimal M3U8 reader for assertions
//!
//! Small on purpose: it keeps every tag with its raw value, parses attribute lists
//! per RFC 8216 §4.2 (`NAME=VALUE` pairs, quoted strings may contain commas), and
//! builds a [`MediaPlaylist`] view that numbers segments and parts the way
//! draft-pantos-hls-rfc8216bis does:
//!
//! - the first segment has the `EXT-X-MEDIA-SEQUENCE` number (§4.4.3.2), plus the
//!   `SKIPPED-SEGMENTS` of an `EXT-X-SKIP` in a delta update (§4.4.5.2);
//! - `EXT-X-PART` tags before a segment's URI line are that segment's parts; parts
//!   after the last URI line belong to the next, still incomplete segment (§4.4.4.9);
//! - `EXT-X-PROGRAM-DATE-TIME` applies to the next segment (§4.4.4.6); later
//!   segments without one get the previous date plus its duration.
//!
//! It checks the syntax it relies on and returns an error otherwise, so a malformed
//! playlist fails the test that fetched it.

use anyhow::{bail, ensure, Context, Result};
use chrono::{DateTime, Duration as ChronoDuration, FixedOffset};

/// One non-blank line of a playlist.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// `#EXT…[:value]`.
    Tag {
        /// Tag name including `#`, e.g. `#EXT-X-PART`.
        name: String,
        /// Text after the first `:`.
        value: Option<String>,
    },
    /// A URI line.
    Uri(String),
}

/// A parsed playlist: its tags and URI lines in order (comments dropped).
#[derive(Debug, Clone)]
pub struct Playlist {
    /// The lines.
    pub lines: Vec<Line>,
}

/// Parses any playlist. RFC 8216 §4.1: the first line must be `#EXTM3U`.
pub fn parse(text: &str) -> Result<Playlist> {
    let mut lines = text.lines().map(str::trim_end);
    ensure!(
        lines.next() == Some("#EXTM3U"),
        "playlist does not start with #EXTM3U:\n{text}"
    );
    let mut out = Vec::new();
    for l in lines {
        if l.trim().is_empty() {
            continue;
        }
        if let Some(rest) = l.strip_prefix('#') {
            if !rest.starts_with("EXT") {
                continue; // a comment
            }
            match l.split_once(':') {
                Some((n, v)) => out.push(Line::Tag {
                    name: n.to_owned(),
                    value: Some(v.to_owned()),
                }),
                None => out.push(Line::Tag {
                    name: l.to_owned(),
                    value: None,
                }),
            }
        } else {
            out.push(Line::Uri(l.trim().to_owned()));
        }
    }
    Ok(Playlist { lines: out })
}

impl Playlist {
    /// Values of every occurrence of tag `name` (`""` for a tag without value).
    pub fn tag_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_owned();
        self.lines.iter().filter_map(move |l| match l {
            Line::Tag { name: n, value } if *n == name => Some(value.as_deref().unwrap_or("")),
            _ => None,
        })
    }

    /// The value of the first tag `name`.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tag_values(name).next()
    }

    /// Whether tag `name` occurs.
    pub fn has(&self, name: &str) -> bool {
        self.tag(name).is_some()
    }

    /// Attribute lists of every tag `name`.
    pub fn attr_lists(&self, name: &str) -> Result<Vec<Attrs>> {
        self.tag_values(name)
            .map(|v| parse_attrs(v).with_context(|| format!("{name}:{v}")))
            .collect()
    }

    /// `EXT-X-STREAM-INF` attribute lists with the URI line after each.
    pub fn variants(&self) -> Result<Vec<(Attrs, String)>> {
        let mut out = Vec::new();
        let mut it = self.lines.iter().peekable();
        while let Some(l) = it.next() {
            if let Line::Tag { name, value } = l {
                if name == "#EXT-X-STREAM-INF" {
                    let attrs = parse_attrs(value.as_deref().unwrap_or(""))?;
                    // RFC 8216 §4.3.4.2: the next line is the variant's URI.
                    match it.next() {
                        Some(Line::Uri(u)) => out.push((attrs, u.clone())),
                        other => bail!("EXT-X-STREAM-INF not followed by a URI: {other:?}"),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// An attribute list (RFC 8216 §4.2). Quoted values are stored without quotes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs {
    /// `(name, value, was_quoted)`.
    pub pairs: Vec<(String, String, bool)>,
}

impl Attrs {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.as_str())
    }

    /// The value of `name`, or an error naming it.
    pub fn req(&self, name: &str) -> Result<&str> {
        self.get(name)
            .with_context(|| format!("attribute {name} missing in {self}"))
    }

    /// `name` as a decimal floating-point number.
    pub fn f64(&self, name: &str) -> Result<f64> {
        let v = self.req(name)?;
        v.parse()
            .with_context(|| format!("{name}={v} is not a decimal-floating-point"))
    }

    /// `name` as a decimal integer.
    pub fn u64(&self, name: &str) -> Result<u64> {
        let v = self.req(name)?;
        v.parse()
            .with_context(|| format!("{name}={v} is not a decimal-integer"))
    }

    /// Whether `name` was a quoted string.
    pub fn is_quoted(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _, q)| n == name && *q)
    }
}

impl std::fmt::Display for Attrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (n, v, q)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if *q {
                write!(f, "{n}=\"{v}\"")?;
            } else {
                write!(f, "{n}={v}")?;
            }
        }
        Ok(())
    }
}

/// Parses `NAME=VALUE,…` (RFC 8216 §4.2): names are `[A-Z0-9-]`, values are quoted
/// strings (no `"` inside, commas allowed) or unquoted tokens without commas.
pub fn parse_attrs(s: &str) -> Result<Attrs> {
    let mut pairs = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let eq = s[i..]
            .find('=')
            .map(|k| k + i)
            .with_context(|| format!("attribute without '=' in {s:?}"))?;
        let name = &s[i..eq];
        ensure!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-'),
            "bad attribute name {name:?} in {s:?}"
        );
        i = eq + 1;
        let (value, quoted) = if b.get(i) == Some(&b'"') {
            let close = s[i + 1..]
                .find('"')
                .map(|k| k + i + 1)
                .with_context(|| format!("unterminated quoted string in {s:?}"))?;
            let v = &s[i + 1..close];
            i = close + 1;
            (v, true)
        } else {
            let end = s[i..].find(',').map(|k| k + i).unwrap_or(s.len());
            let v = &s[i..end];
            i = end;
            (v, false)
        };
        pairs.push((name.to_owned(), value.to_owned(), quoted));
        if i < b.len() {
            ensure!(b[i] == b',', "expected ',' at byte {i} of {s:?}");
            i += 1;
        }
    }
    Ok(Attrs { pairs })
}

/// An `EXT-X-PART` (§4.4.4.9).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Media sequence number of the parent segment.
    pub msn: u64,
    /// Index of the part within its parent segment, from 0.
    pub index: u64,
    /// `URI`.
    pub uri: String,
    /// `DURATION`.
    pub duration: f64,
    /// `INDEPENDENT=YES`.
    pub independent: bool,
    /// `GAP=YES`.
    pub gap: bool,
}

/// A media segment with its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Media sequence number.
    pub msn: u64,
    /// URI line.
    pub uri: String,
    /// `EXTINF` duration.
    pub duration: f64,
    /// `EXT-X-PROGRAM-DATE-TIME`: explicit, or carried forward from the previous
    /// segment.
    pub pdt: Option<DateTime<FixedOffset>>,
    /// Whether the PDT was given by a tag on this segment.
    pub pdt_explicit: bool,
    /// Preceded by `EXT-X-DISCONTINUITY`.
    pub discontinuity: bool,
    /// The parts listed before the URI.
    pub parts: Vec<Part>,
}

/// The media-playlist view of a [`Playlist`].
#[derive(Debug, Clone)]
pub struct MediaPlaylist {
    /// The text it was parsed from.
    pub raw: String,
    /// The tags and URI lines.
    pub playlist: Playlist,
    /// `EXT-X-TARGETDURATION`.
    pub target_duration: u64,
    /// `EXT-X-MEDIA-SEQUENCE` (0 if absent, §4.4.3.2).
    pub media_sequence: u64,
    /// `EXT-X-PART-INF PART-TARGET`.
    pub part_target: Option<f64>,
    /// `EXT-X-SERVER-CONTROL`.
    pub server_control: Option<Attrs>,
    /// `EXT-X-MAP URI`.
    pub map_uri: Option<String>,
    /// `EXT-X-SKIP SKIPPED-SEGMENTS` (0 if no skip).
    pub skipped: u64,
    /// Complete segments, oldest first.
    pub segments: Vec<Segment>,
    /// Parts of the next, incomplete segment.
    pub trailing_parts: Vec<Part>,
    /// `EXT-X-PRELOAD-HINT` attribute lists.
    pub preload_hints: Vec<Attrs>,
    /// `EXT-X-RENDITION-REPORT` attribute lists.
    pub rendition_reports: Vec<Attrs>,
    /// `EXT-X-ENDLIST` present.
    pub endlist: bool,
}

/// Parses a media playlist.
pub fn parse_media(text: &str) -> Result<MediaPlaylist> {
    let playlist = parse(text)?;
    let target_duration = playlist
        .tag("#EXT-X-TARGETDURATION")
        .context("EXT-X-TARGETDURATION missing (RFC 8216 §4.4.3.1: REQUIRED)")?
        .trim()
        .parse()
        .context("EXT-X-TARGETDURATION is not a decimal-integer")?;
    let media_sequence = match playlist.tag("#EXT-X-MEDIA-SEQUENCE") {
        Some(v) => v.trim().parse().context("bad EXT-X-MEDIA-SEQUENCE")?,
        None => 0,
    };
    let part_target = match playlist.attr_lists("#EXT-X-PART-INF")?.first() {
        Some(a) => Some(a.f64("PART-TARGET")?),
        None => None,
    };
    let server_control = playlist
        .attr_lists("#EXT-X-SERVER-CONTROL")?
        .into_iter()
        .next();
    let map_uri = match playlist.attr_lists("#EXT-X-MAP")?.first() {
        Some(a) => Some(a.req("URI")?.to_owned()),
        None => None,
    };
    let skipped = match playlist.attr_lists("#EXT-X-SKIP")?.first() {
        Some(a) => a.u64("SKIPPED-SEGMENTS")?,
        None => 0,
    };

    let mut segments = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut msn = media_sequence + skipped;
    let mut extinf: Option<f64> = None;
    let mut pdt: Option<DateTime<FixedOffset>> = None;
    let mut pdt_explicit = false;
    let mut discontinuity = false;
    let mut last_pdt_end: Option<DateTime<FixedOffset>> = None;
    for l in &playlist.lines {
        match l {
            Line::Tag { name, value } => {
                let v = value.as_deref().unwrap_or("");
                match name.as_str() {
                    "#EXTINF" => {
                        let d = v.split(',').next().unwrap_or("");
                        extinf = Some(d.trim().parse().with_context(|| format!("EXTINF:{v}"))?);
                    }
                    "#EXT-X-PROGRAM-DATE-TIME" => {
                        pdt = Some(parse_date(v)?);
                        pdt_explicit = true;
                    }
                    "#EXT-X-DISCONTINUITY" => discontinuity = true,
                    "#EXT-X-PART" => {
                        let a = parse_attrs(v)?;
                        parts.push(Part {
                            msn,
                            index: parts.len() as u64,
                            uri: a.req("URI")?.to_owned(),
                            duration: a.f64("DURATION")?,
                            independent: a.get("INDEPENDENT") == Some("YES"),
                            gap: a.get("GAP") == Some("YES"),
                        });
                    }
                    _ => {}
                }
            }
            Line::Uri(uri) => {
                let duration = extinf
                    .take()
                    .with_context(|| format!("segment {uri} without EXTINF"))?;
                let date = if pdt_explicit { pdt } else { last_pdt_end };
                last_pdt_end = date.map(|d| d + chrono_secs(duration));
                segments.push(Segment {
                    msn,
                    uri: uri.clone(),
                    duration,
                    pdt: date,
                    pdt_explicit,
                    discontinuity,
                    parts: std::mem::take(&mut parts),
                });
                msn += 1;
                pdt = None;
                pdt_explicit = false;
                discontinuity = false;
            }
        }
    }
    Ok(MediaPlaylist {
        raw: text.to_owned(),
        target_duration,
        media_sequence,
        part_target,
        server_control,
        map_uri,
        skipped,
        segments,
        trailing_parts: parts,
        preload_hints: playlist.attr_lists("#EXT-X-PRELOAD-HINT")?,
        rendition_reports: playlist.attr_lists("#EXT-X-RENDITION-REPORT")?,
        endlist: playlist.has("#EXT-X-ENDLIST"),
        playlist,
    })
}

/// Seconds as a chrono duration (microsecond precision).
pub fn chrono_secs(s: f64) -> ChronoDuration {
    ChronoDuration::microseconds((s * 1e6).round() as i64)
}

/// Parses an ISO 8601 date-time with time zone (RFC 8216 §4.4.4.6 / RFC 3339).
pub fn parse_date(v: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(v.trim())
        .with_context(|| format!("{v:?} is not an ISO 8601 date-time with zone"))
}

impl MediaPlaylist {
    /// MSN of the last complete segment.
    pub fn last_msn(&self) -> Option<u64> {
        self.segments.last().map(|s| s.msn)
    }

    /// MSN of the segment being produced (after the last complete one).
    pub fn next_msn(&self) -> u64 {
        self.last_msn()
            .map(|m| m + 1)
            .unwrap_or(self.media_sequence + self.skipped)
    }

    /// Every part in the playlist, oldest first.
    pub fn all_parts(&self) -> Vec<&Part> {
        self.segments
            .iter()
            .flat_map(|s| s.parts.iter())
            .chain(self.trailing_parts.iter())
            .collect()
    }

    /// `(msn, index)` of the last listed part.
    pub fn last_part(&self) -> Option<(u64, u64)> {
        self.all_parts().last().map(|p| (p.msn, p.index))
    }

    /// The `URI` of the `EXT-X-PRELOAD-HINT TYPE=PART`.
    pub fn preload_part_uri(&self) -> Option<&str> {
        self.preload_hints
            .iter()
            .find(|a| a.get("TYPE") == Some("PART"))
            .and_then(|a| a.get("URI"))
    }

    /// Whether the playlist "contains" segment `msn` (or, with `part`, partial
    /// segment `part` of `msn`) "or later" in the sense of rfc8216bis §6.2.5.2.
    pub fn contains(&self, msn: u64, part: Option<u64>) -> bool {
        match part {
            None => self.last_msn().is_some_and(|m| m >= msn),
            Some(p) => {
                self.last_msn().is_some_and(|m| m >= msn)
                    || self
                        .last_part()
                        .is_some_and(|(m, i)| m > msn || (m == msn && i >= p))
            }
        }
    }

    /// Segment `msn`, if listed.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        self.segments.iter().find(|s| s.msn == msn)
    }

    /// Sum of the listed segments' durations.
    pub fn total_duration(&self) -> f64 {
        self.segments.iter().map(|s| s.duration).sum()
    }
}

/// `part{msn}.{p}.m4s` → `(msn, p)`.
pub fn parse_part_uri(uri: &str) -> Result<(u64, u64)> {
    let file = uri.rsplit('/').next().unwrap_or(uri);
    let stem = file
        .strip_prefix("part")
        .and_then(|s| s.strip_suffix(".m4s"))
        .with_context(|| format!("{uri} is not part{{n}}.{{p}}.m4s"))?;
    let (n, p) = stem.split_once('.').context("part{n}.{p}")?;
    Ok((n.parse()?, p.parse()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LL: &str = "#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.75,CAN-SKIP-UNTIL=6.0
#EXT-X-PART-INF:PART-TARGET=0.25
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-MAP:URI=\"init.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z
#EXTINF:1.0,
seg7.m4s
#EXT-X-DISCONTINUITY
#EXT-X-PART:DURATION=0.25,URI=\"part8.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.25,URI=\"part8.1.m4s\"
#EXTINF:0.5,
seg8.m4s
#EXT-X-PART:DURATION=0.25,URI=\"part9.0.m4s\",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part9.1.m4s\"
#EXT-X-RENDITION-REPORT:URI=\"../audio0/index.m3u8\",LAST-MSN=9,LAST-PART=0
";

    #[test]
    fn numbers_segments_and_parts() {
        let m = parse_media(LL).unwrap();
        assert_eq!(m.target_duration, 1);
        assert_eq!(m.part_target, Some(0.25));
        assert_eq!(m.segments.len(), 2);
        assert_eq!(m.segments[1].msn, 8);
        assert!(m.segments[1].discontinuity);
        assert!(!m.segments[1].pdt_explicit);
        assert_eq!(
            m.segments[1].pdt.unwrap(),
            parse_date("2024-01-01T00:00:01Z").unwrap()
        );
        assert_eq!(m.segments[1].parts.len(), 2);
        assert_eq!(m.trailing_parts[0].msn, 9);
        assert_eq!(m.last_part(), Some((9, 0)));
        assert_eq!(m.preload_part_uri(), Some("part9.1.m4s"));
        assert!(m.contains(9, Some(0)));
        assert!(!m.contains(9, Some(1)));
        assert!(!m.contains(9, None));
        assert_eq!(m.rendition_reports[0].u64("LAST-MSN").unwrap(), 9);
    }

    #[test]
    fn attribute_lists_keep_commas_in_quotes() {
        let a = parse_attrs("BANDWIDTH=1000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=640x360")
            .unwrap();
        assert_eq!(a.get("CODECS"), Some("avc1.64001f,mp4a.40.2"));
        assert!(a.is_quoted("CODECS"));
        assert_eq!(a.get("RESOLUTION"), Some("640x360"));
        assert!(parse_attrs("lower=1").is_err());
        assert!(parse_attrs("A=\"open").is_err());
    }

    #[test]
    fn skip_shifts_numbering() {
        let t = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:3\n\
                 #EXT-X-SKIP:SKIPPED-SEGMENTS=4\n#EXTINF:1,\nseg7.m4s\n";
        let m = parse_media(t).unwrap();
        assert_eq!(m.segments[0].msn, 7);
    }
}
