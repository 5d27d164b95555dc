//! # ffmpeg as an RTMP publisher
//!
//! [`Publisher::start`] runs
//!
//! ```text
//! ffmpeg -hide_banner -loglevel error -nostdin
//!        -re -f lavfi -i testsrc2=size=640x360:rate=30
//!        -re -f lavfi -i sine=frequency=440:sample_rate=48000
//!        -c:v libx264 -preset veryfast -g 60 -bf 3 -pix_fmt yuv420p
//!        -c:a aac -b:a 96k -f flv rtmp://127.0.0.1:PORT/live/KEY
//! ```
//!
//! with variants from [`PublishOptions`] (no audio, no video, a duration, the GOP
//! length). The GOP is fixed (`-keyint_min` = `-g`, no scene-cut key frames) so
//! segment boundaries are predictable. The process is killed on drop.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::process::Supervised;

/// What to publish.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// Send H.264 video.
    pub video: bool,
    /// Send AAC audio.
    pub audio: bool,
    /// Stop after this many seconds (`-t`).
    pub duration_s: Option<f64>,
    /// Key-frame interval in frames (`-g`).
    pub gop: u32,
    /// B-frames (`-bf`).
    pub bframes: u32,
    /// Frame rate.
    pub fps: u32,
    /// `WxH`.
    pub size: String,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            video: true,
            audio: true,
            duration_s: None,
            gop: 60,
            bframes: 3,
            fps: 30,
            size: "640x360".into(),
        }
    }
}

impl PublishOptions {
    /// A GOP of `seconds` at the configured frame rate.
    pub fn with_gop_s(mut self, seconds: f64) -> Self {
        self.gop = (seconds * self.fps as f64).round().max(1.0) as u32;
        self
    }

    /// The ffmpeg arguments for publishing to `url`.
    pub fn args(&self, url: &str) -> Vec<String> {
        let mut a: Vec<String> = ["-hide_banner", "-loglevel", "error", "-nostdin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
        if self.video {
            let src = format!("testsrc2=size={}:rate={}", self.size, self.fps);
            push(&["-re", "-f", "lavfi", "-i", &src]);
        }
        if self.audio {
            push(&[
                "-re",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
            ]);
        }
        if let Some(d) = self.duration_s {
            push(&["-t", &format!("{d}")]);
        }
        if self.video {
            let g = self.gop.to_string();
            let bf = self.bframes.to_string();
            push(&[
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-g",
                &g,
                "-keyint_min",
                &g,
                "-sc_threshold",
                "0",
                "-bf",
                &bf,
                "-pix_fmt",
                "yuv420p",
            ]);
        }
        if self.audio {
            push(&["-c:a", "aac", "-b:a", "96k"]);
        }
        push(&["-f", "flv", url]);
        a
    }
}

/// A running ffmpeg publisher.
pub struct Publisher {
    proc: Supervised,
    url: String,
}

impl Publisher {
    /// Starts ffmpeg publishing to `url`; its stderr goes to `log_dir/{name}.log`.
    pub fn start(url: &str, opts: &PublishOptions, log_dir: &Path, name: &str) -> Result<Self> {
        let proc = Supervised::spawn(
            name,
            Path::new("ffmpeg"),
            &opts.args(url),
            &[],
            &log_dir.join(format!("{name}.stdout.log")),
            &log_dir.join(format!("{name}.stderr.log")),
        )?;
        Ok(Self {
            proc,
            url: url.to_owned(),
        })
    }

    /// The RTMP URL it publishes to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// ffmpeg's stderr so far.
    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }

    /// Kills ffmpeg with `SIGKILL`, like a crash or a pulled cable.
    pub fn kill(&mut self) -> Result<()> {
        self.proc.kill_hard()
    }

    /// Whether ffmpeg is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.proc.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for ffmpeg to exit; `Some(success)` if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<bool>> {
        Ok(self.proc.wait_timeout(timeout)?.map(|s| s.success()))
    }
}
