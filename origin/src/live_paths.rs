//! Parsing of the live URL scheme (ARCHITECTURE.md "URLs"):
//! `/live/{channel}/master.m3u8`, `/live/{channel}/manifest.mpd`,
//! `/live/{channel}/{rendition}/index.m3u8`, `init.mp4`, `seg{n}.m4s`, `part{n}.{p}.m4s`.

/// A live object named by a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LivePath<'a> {
    /// The LL-HLS multivariant playlist.
    Multivariant { channel: &'a str },
    /// The DASH MPD.
    Mpd { channel: &'a str },
    /// A media playlist.
    MediaPlaylist {
        channel: &'a str,
        rendition: &'a str,
    },
    /// An init segment: `init.mp4`, or `init-v{n}.mp4` after a codec change.
    Init {
        channel: &'a str,
        rendition: &'a str,
        file: &'a str,
    },
    /// A whole segment.
    Segment {
        channel: &'a str,
        rendition: &'a str,
        msn: u64,
    },
    /// An LL-HLS part.
    Part {
        channel: &'a str,
        rendition: &'a str,
        msn: u64,
        part: u32,
    },
}

/// Parses a request path; `None` when it is not a live object.
pub fn parse(path: &str) -> Option<LivePath<'_>> {
    let rest = path.strip_prefix("/live/")?;
    let mut it = rest.split('/');
    let channel = it.next().filter(|s| !s.is_empty())?;
    let second = it.next()?;
    let third = it.next();
    if it.next().is_some() {
        return None;
    }
    match third {
        None => match second {
            "master.m3u8" => Some(LivePath::Multivariant { channel }),
            "manifest.mpd" => Some(LivePath::Mpd { channel }),
            _ => None,
        },
        Some(file) => {
            let rendition = second;
            if rendition.is_empty() {
                return None;
            }
            if file == "index.m3u8" {
                return Some(LivePath::MediaPlaylist { channel, rendition });
            }
            if file.starts_with("init") && file.ends_with(".mp4") {
                return Some(LivePath::Init {
                    channel,
                    rendition,
                    file,
                });
            }
            let stem = file.strip_suffix(".m4s")?;
            if let Some(n) = stem.strip_prefix("seg") {
                return Some(LivePath::Segment {
                    channel,
                    rendition,
                    msn: parse_number(n)?,
                });
            }
            if let Some(np) = stem.strip_prefix("part") {
                let (n, p) = np.split_once('.')?;
                return Some(LivePath::Part {
                    channel,
                    rendition,
                    msn: parse_number(n)?,
                    part: u32::try_from(parse_number(p)?).ok()?,
                });
            }
            None
        }
    }
}

/// Decimal digits only (no sign, no leading `+`), at most 19 of them.
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The LL-HLS delivery directives of a media playlist request (§6.2.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HlsDirectives {
    /// `_HLS_msn`.
    pub msn: Option<u64>,
    /// `_HLS_part`.
    pub part: Option<u32>,
    /// `_HLS_skip=YES` (or `v2`, treated the same: we skip no date ranges).
    pub skip: bool,
}

/// A directive is malformed (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {0}: not a decimal integer")]
pub struct BadDirective(pub &'static str);

/// Reads `_HLS_msn`, `_HLS_part`, `_HLS_skip` from a query string, ignoring the rest.
pub fn hls_directives(query: Option<&str>) -> Result<HlsDirectives, BadDirective> {
    let mut d = HlsDirectives::default();
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "_HLS_msn" => d.msn = Some(parse_number(v).ok_or(BadDirective("_HLS_msn"))?),
            "_HLS_part" => {
                d.part = Some(
                    parse_number(v)
                        .and_then(|p| u32::try_from(p).ok())
                        .ok_or(BadDirective("_HLS_part"))?,
                )
            }
            "_HLS_skip" => d.skip = v == "YES" || v == "v2",
            _ => {}
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_live_path() {
        assert_eq!(
            parse("/live/a/master.m3u8"),
            Some(LivePath::Multivariant { channel: "a" })
        );
        assert_eq!(
            parse("/live/a/manifest.mpd"),
            Some(LivePath::Mpd { channel: "a" })
        );
        assert_eq!(
            parse("/live/a/video0/index.m3u8"),
            Some(LivePath::MediaPlaylist {
                channel: "a",
                rendition: "video0"
            })
        );
        assert_eq!(
            parse("/live/a/video0/init.mp4"),
            Some(LivePath::Init {
                channel: "a",
                rendition: "video0",
                file: "init.mp4"
            })
        );
        assert_eq!(
            parse("/live/a/audio0/seg42.m4s"),
            Some(LivePath::Segment {
                channel: "a",
                rendition: "audio0",
                msn: 42
            })
        );
        assert_eq!(
            parse("/live/a/video0/part42.3.m4s"),
            Some(LivePath::Part {
                channel: "a",
                rendition: "video0",
                msn: 42,
                part: 3
            })
        );
    }

    #[test]
    fn rejects_malformed_paths() {
        for p in [
            "/live/",
            "/live/a",
            "/live/a/x.m3u8",
            "/live/a/v/seg.m4s",
            "/live/a/v/seg-1.m4s",
            "/live/a/v/part1.m4s",
            "/live/a/v/seg99999999999999999999.m4s",
            "/live/a/v/x/init.mp4",
            "/vod/a/master.m3u8",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }

    #[test]
    fn reads_directives_and_ignores_other_query() {
        let d = hls_directives(Some("foo=1&_HLS_msn=7&_HLS_part=2&_HLS_skip=YES")).unwrap();
        assert_eq!(
            d,
            HlsDirectives {
                msn: Some(7),
                part: Some(2),
                skip: true
            }
        );
        assert_eq!(hls_directives(None).unwrap(), HlsDirectives::default());
        assert!(hls_directives(Some("_HLS_msn=-1")).is_err());
        assert!(hls_directives(Some("_HLS_part=x")).is_err());
    }
}
