//! SRT publishing helpers: ffmpeg (libsrt) pushing MPEG-TS, stream URLs, and
//! polling a channel's progress and the origin's metrics.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use crate::edge::sum_samples;
use crate::http;
use crate::origin::Origin;
use crate::process::Supervised;

/// The video encoder of a test publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Video {
    /// libx264, 1 s GOP, no B-frames.
    H264,
    /// libx265 ultrafast, 1 s GOP.
    Hevc,
}

impl Video {
    /// ffmpeg output options for this encoder.
    pub fn ffmpeg_args(self) -> &'static [&'static str] {
        match self {
            Video::H264 => &[
                "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-bf", "0",
            ],
            Video::Hevc => &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error:keyint=30",
            ],
        }
    }
}

/// ffmpeg pushing a 640x360 test pattern and a sine as MPEG-TS to `url` (libsrt),
/// logging to `name.out`/`name.err` in the origin's directory.
pub fn push(origin: &Origin, url: &str, video: Video, name: &str) -> Result<Supervised> {
    let mut args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(video.ffmpeg_args().iter().map(|s| s.to_string()));
    args.extend(
        ["-c:a", "aac", "-f", "mpegts", url]
            .iter()
            .map(|s| s.to_string()),
    );
    origin.spawn_beside(name, "ffmpeg", &args)
}

/// `srt://` URL of the origin's SRT listener for `stream_id`, in ffmpeg's form
/// (ffmpeg 5.1 does not URL-decode query values: keep them free of `&`, `%`, spaces).
pub fn srt_url(origin: &Origin, stream_id: &str, extra: &str) -> String {
    format!(
        "srt://{}?streamid={stream_id}&pkt_size=1316&latency=200000{extra}",
        origin.srt
    )
}

/// Segments `channel` has produced so far in `video0` (media sequence + listed),
/// 0 while it has none.
pub fn segments(origin: &Origin, channel: &str) -> usize {
    let Ok(r) = http::get(&origin.live_url(channel, "video0/index.m3u8")) else {
        return 0;
    };
    if r.status != 200 {
        return 0;
    }
    let text = r.text();
    text.lines().filter(|l| l.starts_with("#EXTINF")).count()
        + text
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
}

/// Polls `f` every 250 ms until it holds, failing with `what` after `timeout`.
pub fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !f() {
        ensure!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// The sum of the origin's `/metrics` samples of `name` with all of `labels`
/// (0 when absent or unreachable).
pub fn metric(origin: &Origin, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = http::get(&origin.url("/metrics"))
        .map(|r| r.text())
        .unwrap_or_default();
    sum_samples(&text, name, labels)
}

/// The codec names ffprobe reads from `url` (a playlist or a file), one per line.
pub fn probe_codecs(url: &str) -> String {
    std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}
