//! # Fetching live playlists
//!
//! Helpers shared by the test files: fetch and parse a media playlist, and wait
//! until a rendition has produced a given number of complete segments.

use std::time::Duration;

use anyhow::{ensure, Context, Result};

use crate::checks::wait_for;
use crate::http::{self, Response};
use crate::m3u8::{self, MediaPlaylist};

/// `GET url`, expecting 200 and a media playlist.
pub fn fetch_media(url: &str) -> Result<(Response, MediaPlaylist)> {
    let r = http::get(url)?;
    ensure!(r.status == 200, "{}: {}", r.summary(), r.text());
    let m = m3u8::parse_media(&r.text()).with_context(|| format!("parsing {url}"))?;
    Ok((r, m))
}

/// Waits until the media playlist at `url` lists at least `n` complete segments.
pub fn wait_segments(url: &str, n: usize, timeout: Duration) -> Result<MediaPlaylist> {
    wait_for(
        &format!("{n} complete segments in {url}"),
        timeout,
        Duration::from_millis(200),
        || {
            let r = http::get(url)?;
            if r.status != 200 {
                anyhow::bail!("{}", r.summary());
            }
            let m = m3u8::parse_media(&r.text())?;
            Ok((m.segments.len() >= n).then_some(m))
        },
    )
}

/// Waits until the media playlist at `url` has a complete segment with
/// MSN ≥ `msn`.
pub fn wait_msn(url: &str, msn: u64, timeout: Duration) -> Result<MediaPlaylist> {
    wait_for(
        &format!("segment {msn} in {url}"),
        timeout,
        Duration::from_millis(200),
        || {
            let (_, m) = fetch_media(url)?;
            Ok(m.last_msn().is_some_and(|l| l >= msn).then_some(m))
        },
    )
}

/// The newest init segment (the last `EXT-X-MAP`) and the newest complete segment
/// of the media playlist at `url`, concatenated: a file ffprobe can read.
pub fn newest_init_and_segment(url: &str) -> Result<Vec<u8>> {
    let (response, media) = fetch_media(url)?;
    let text = response.text();
    let map = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .and_then(|l| l.split('"').next())
        .context("no EXT-X-MAP")?;
    let last = media.segments.last().context("no complete segment")?;
    let mut bytes = http::get(&http::resolve(url, map))?.body;
    bytes.extend_from_slice(&http::get(&http::resolve(url, &last.uri))?.body);
    Ok(bytes)
}
