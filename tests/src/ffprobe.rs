//! # ffprobe as the independent judge of packaged media
//!
//! [`probe`] writes bytes (an init segment followed by a media segment or part) to a
//! temp file and runs `ffprobe -v error -show_streams -show_packets -of json`, so
//! what the origin muxed is read back by a demuxer that shares no code with it.

use std::io::Write;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One packet as ffprobe reports it.
#[derive(Debug, Clone)]
pub struct Packet {
    /// `stream_index`.
    pub stream_index: u64,
    /// `pts` in stream time base.
    pub pts: Option<i64>,
    /// `dts` in stream time base.
    pub dts: Option<i64>,
    /// `duration` in stream time base.
    pub duration: Option<i64>,
    /// `duration_time` in seconds.
    pub duration_time: Option<f64>,
    /// `flags`, e.g. `"K__"` for a key frame.
    pub flags: String,
    /// `size` in bytes.
    pub size: u64,
}

impl Packet {
    /// Whether ffprobe marks it as a key frame.
    pub fn is_key(&self) -> bool {
        self.flags.starts_with('K')
    }
}

/// ffprobe's view of a file.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The `streams` array.
    pub streams: Vec<Value>,
    /// The packets.
    pub packets: Vec<Packet>,
    /// ffprobe's stderr (warnings and errors at `-v error`).
    pub stderr: String,
}

impl Probe {
    /// The first stream.
    pub fn stream(&self) -> Result<&Value> {
        self.streams.first().context("ffprobe found no stream")
    }

    /// A string field of the first stream.
    pub fn str_field(&self, name: &str) -> Result<String> {
        let s = self.stream()?;
        s.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .with_context(|| format!("stream has no {name}: {s}"))
    }

    /// An integer field of the first stream (ffprobe prints some as strings).
    pub fn int_field(&self, name: &str) -> Result<i64> {
        let s = self.stream()?;
        let v = s
            .get(name)
            .with_context(|| format!("stream has no {name}: {s}"))?;
        v.as_i64()
            .or_else(|| v.as_str().and_then(|x| x.parse().ok()))
            .with_context(|| format!("{name} is not an integer: {v}"))
    }
}

/// Whether `ffprobe` can be run.
pub fn available() -> bool {
    crate::tools::which("ffprobe").is_some()
}

/// Runs ffprobe on the concatenation of `chunks` (e.g. `[init, segment]`).
pub fn probe(chunks: &[&[u8]]) -> Result<Probe> {
    let mut f = tempfile::Builder::new()
        .prefix("ferrocast-probe-")
        .suffix(".mp4")
        .tempfile()?;
    for c in chunks {
        f.write_all(c)?;
    }
    f.flush()?;
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_packets",
            "-of",
            "json",
        ])
        .arg(f.path())
        .output()
        .context("run ffprobe")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("ffprobe failed ({}): {stderr}", out.status);
    }
    let v: Value = serde_json::from_slice(&out.stdout).context("ffprobe JSON")?;
    let streams = v
        .get("streams")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    let packets = v
        .get("packets")
        .and_then(|s| s.as_array())
        .map(|a| a.iter().map(packet).collect())
        .unwrap_or_default();
    Ok(Probe {
        streams,
        packets,
        stderr,
    })
}

fn packet(v: &Value) -> Packet {
    let int = |k: &str| v.get(k).and_then(|x| x.as_i64());
    Packet {
        stream_index: v.get("stream_index").and_then(|x| x.as_u64()).unwrap_or(0),
        pts: int("pts"),
        dts: int("dts"),
        duration: int("duration"),
        duration_time: v
            .get("duration_time")
            .and_then(|x| x.as_str())
            .and_then(|s| s.parse().ok()),
        flags: v
            .get("flags")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_owned(),
        size: v
            .get("size")
            .and_then(|x| x.as_str().and_then(|s| s.parse().ok()).or(x.as_u64()))
            .unwrap_or(0),
    }
}

/// `ffprobe -show_entries ENTRIES -of json URL` on a playlist, MPD or file served
/// over HTTP: the parsed JSON.
pub fn probe_url(url: &str, entries: &str) -> Result<Value> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "json", url])
        .output()
        .context("running ffprobe")?;
    if !out.status.success() {
        bail!("ffprobe {url}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// `format.duration` of a [`probe_url`] answer (asked with `format=duration`).
pub fn format_duration(v: &Value) -> Result<f64> {
    Ok(v["format"]["duration"]
        .as_str()
        .context("no format duration")?
        .parse()?)
}
