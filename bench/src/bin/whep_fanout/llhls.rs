//! Emulated LL-HLS viewers, the baseline of the WHEP fan-out bench.
//!
//! A viewer reads the multivariant playlist once, then follows every media
//! playlist it names (the video variant and the `EXT-X-MEDIA` audio) the way
//! hls.js does at the live edge: a blocking playlist reload for the next part
//! (`?_HLS_msn=M&_HLS_part=P`, RFC 8216bis §6.2.5.2), then a GET of each part
//! it has not fetched yet, over one keep-alive HTTP/1.1 connection per
//! playlist. It counts requests, parts, bytes and errors.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HOST;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest wait for one response (a blocking reload waits up to ~3 part
/// durations on the server).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters shared by every viewer of a run.
#[derive(Debug, Default)]
pub(crate) struct HlsCounters {
    /// Playlist responses (200).
    pub playlists: AtomicU64,
    /// Part responses (200).
    pub parts: AtomicU64,
    /// Body bytes of all responses.
    pub bytes: AtomicU64,
    /// Failed requests or non-200 answers.
    pub errors: AtomicU64,
    /// Set to stop every viewer.
    pub stop: AtomicBool,
}

/// One `#EXT-X-PART` of a media playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// Media sequence number of the segment it belongs to.
    pub msn: u64,
    /// Index within that segment.
    pub index: u32,
    /// Its URI, as written.
    pub uri: String,
}

/// What a viewer needs of a media playlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MediaPlaylist {
    /// The `EXT-X-MAP` URI.
    pub map: Option<String>,
    /// Every part listed, in order.
    pub parts: Vec<Part>,
    /// The part to ask for next: (msn, part) after the last one listed.
    pub next: (u64, u32),
}

/// Parses the lines a viewer needs; a playlist without parts is an error (not
/// low-latency).
pub(crate) fn parse_media(text: &str) -> Result<MediaPlaylist> {
    let mut p = MediaPlaylist::default();
    let mut msn = 0u64;
    let mut index = 0u32;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            msn = v.parse().context("EXT-X-MEDIA-SEQUENCE")?;
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-MAP:") {
            p.map = quoted(attrs, "URI");
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-PART:") {
            let uri = quoted(attrs, "URI").context("EXT-X-PART without URI")?;
            p.parts.push(Part { msn, index, uri });
            index += 1;
        } else if !line.is_empty() && !line.starts_with('#') {
            msn += 1;
            index = 0;
        }
    }
    if p.parts.is_empty() {
        bail!("no EXT-X-PART: not an LL-HLS playlist");
    }
    p.next = (msn, index);
    Ok(p)
}

/// The media playlist URIs of a multivariant playlist: variant URIs and
/// `EXT-X-MEDIA` URIs.
pub(crate) fn parse_multivariant(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(attrs) = line.strip_prefix("#EXT-X-MEDIA:") {
            out.extend(quoted(attrs, "URI"));
        } else if !line.is_empty() && !line.starts_with('#') {
            out.push(line.to_string());
        }
    }
    out.dedup();
    out
}

/// The value of `KEY="value"` in an attribute list.
fn quoted(attrs: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=\"");
    let mut from = 0;
    while let Some(i) = attrs[from..].find(&pat) {
        let start = from + i;
        // Not the tail of a longer attribute name (e.g. `BYTERANGE-URI`).
        let ok = start == 0 || matches!(attrs.as_bytes()[start - 1], b',' | b' ');
        let v = start + pat.len();
        if ok {
            return attrs[v..].split('"').next().map(str::to_string);
        }
        from = v;
    }
    None
}

/// `base` (a URL path) with its last component replaced by `rel`.
pub(crate) fn resolve(base: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        return rel.to_string();
    }
    let base = base.split('?').next().unwrap_or(base);
    match base.rfind('/') {
        Some(i) => format!("{}{}", &base[..=i], rel),
        None => rel.to_string(),
    }
}

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    authority: String,
    sender: SendRequest<Empty<Bytes>>,
}

impl Conn {
    async fn open(authority: &str) -> Result<Self> {
        let stream = TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            authority: authority.to_string(),
            sender,
        })
    }

    /// GET `path`; returns the body of a 200.
    async fn get(&mut self, path: &str) -> Result<Bytes> {
        let req = Request::get(path)
            .header(HOST, self.authority.as_str())
            .body(Empty::new())?;
        let fut = async {
            self.sender.ready().await?;
            let resp = self.sender.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, fut)
            .await
            .with_context(|| format!("GET {path}: timed out"))??;
        if status != 200 {
            bail!("GET {path}: {status}");
        }
        Ok(body)
    }
}

/// One viewer: follows every media playlist of `master` (a path on
/// `authority`) until `counters.stop`.
pub(crate) async fn viewer(authority: String, master: String, counters: Arc<HlsCounters>) {
    let playlists = match async {
        let mut c = Conn::open(&authority).await?;
        let text = c.get(&master).await?;
        anyhow::Ok(parse_multivariant(&String::from_utf8_lossy(&text)))
    }
    .await
    {
        Ok(p) if !p.is_empty() => p,
        _ => {
            counters.errors.fetch_add(1, Relaxed);
            return;
        }
    };
    let mut tasks = Vec::new();
    for uri in playlists {
        let path = resolve(&master, &uri);
        tasks.push(tokio::spawn(follow(
            authority.clone(),
            path,
            counters.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Follows one media playlist at the live edge.
async fn follow(authority: String, path: String, counters: Arc<HlsCounters>) {
    let mut conn: Option<Conn> = None;
    let mut want: Option<(u64, u32)> = None;
    let mut have_init = false;
    while !counters.stop.load(Relaxed) {
        let r = async {
            if conn.is_none() {
                conn = Some(Conn::open(&authority).await?);
            }
            let c = conn.as_mut().context("no connection")?;
            let url = match want {
                Some((m, p)) => format!("{path}?_HLS_msn={m}&_HLS_part={p}"),
                None => path.clone(),
            };
            let body = c.get(&url).await?;
            counters.playlists.fetch_add(1, Relaxed);
            counters.bytes.fetch_add(body.len() as u64, Relaxed);
            let pl = parse_media(&String::from_utf8_lossy(&body))?;
            if !have_init {
                if let Some(map) = &pl.map {
                    let b = c.get(&resolve(&path, map)).await?;
                    counters.bytes.fetch_add(b.len() as u64, Relaxed);
                }
                have_init = true;
            }
            // First load: start at the newest segment's parts, as a player at
            // the live edge does; afterwards fetch only the parts not seen.
            let from = want.unwrap_or_else(|| {
                let last = pl.parts.last().map_or(0, |p| p.msn);
                (last.saturating_sub(1), 0)
            });
            for part in pl.parts.iter().filter(|p| (p.msn, p.index) >= from) {
                if counters.stop.load(Relaxed) {
                    break;
                }
                let b = c.get(&resolve(&path, &part.uri)).await?;
                counters.parts.fetch_add(1, Relaxed);
                counters.bytes.fetch_add(b.len() as u64, Relaxed);
            }
            want = Some(pl.next);
            anyhow::Ok(())
        }
        .await;
        if r.is_err() {
            counters.errors.fetch_add(1, Relaxed);
            conn = None;
            want = None;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEDIA: &str = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n\
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0\n#EXT-X-PART-INF:PART-TARGET=0.33\n\
#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"init.mp4\"\n\
#EXT-X-PART:DURATION=0.33,URI=\"part7.0.m4s\",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.33,URI=\"part7.1.m4s\"\n\
#EXTINF:2.0,\nseg7.m4s\n#EXT-X-PART:DURATION=0.33,URI=\"part8.0.m4s\",INDEPENDENT=YES\n\
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part8.1.m4s\"\n";

    #[test]
    fn media_playlist_parts_and_next() {
        let p = parse_media(MEDIA).unwrap();
        assert_eq!(p.map.as_deref(), Some("init.mp4"));
        assert_eq!(p.parts.len(), 3);
        assert_eq!(
            p.parts[2],
            Part {
                msn: 8,
                index: 0,
                uri: "part8.0.m4s".into()
            }
        );
        assert_eq!(p.next, (8, 1));
        assert!(parse_media("#EXTM3U\n#EXTINF:2,\nseg1.m4s\n").is_err());
    }

    #[test]
    fn multivariant_and_resolve() {
        let m = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"audio0/index.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO=\"a\"\nvideo0/index.m3u8\n";
        assert_eq!(
            parse_multivariant(m),
            ["audio0/index.m3u8", "video0/index.m3u8"]
        );
        assert_eq!(
            resolve("/live/ch/master.m3u8", "video0/index.m3u8"),
            "/live/ch/video0/index.m3u8"
        );
        assert_eq!(
            resolve("/live/ch/video0/index.m3u8?_HLS_msn=1", "part1.0.m4s"),
            "/live/ch/video0/part1.0.m4s"
        );
        assert_eq!(resolve("/a/b", "/c"), "/c");
        assert_eq!(
            quoted("X-URI=\"no\",URI=\"yes\"", "URI").as_deref(),
            Some("yes")
        );
    }
}
