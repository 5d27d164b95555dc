//! VOD helpers: test clips made with the ffmpeg CLI, a minimal tus 1.0 upload
//! (creation + PATCH; the real-client upload test uses tus-js-client in Chromium),
//! and waiting for an asset's status.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine;
use serde_json::Value;

use crate::checks::wait_for;
use crate::http::api_call;
use crate::origin::Origin;

/// What a test clip holds.
#[derive(Debug, Clone, Copy)]
pub struct Clip {
    /// Seconds.
    pub seconds: u32,
    /// Picture size, or no video.
    pub video: Option<(u32, u32)>,
    /// A sine tone.
    pub audio: bool,
}

/// Makes `clip` as an MP4 (H.264 + AAC) at `path` with the ffmpeg CLI.
pub fn make_clip(path: &Path, clip: Clip) -> Result<()> {
    let mut args: Vec<String> = vec![
        "-hide_banner".into(),
        "-loglevel".into(),
        "error".into(),
        "-y".into(),
    ];
    if let Some((w, h)) = clip.video {
        args.extend([
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!("testsrc2=size={w}x{h}:rate=30:duration={}", clip.seconds),
        ]);
    }
    if clip.audio {
        args.extend([
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!(
                "sine=frequency=440:sample_rate=48000:duration={}",
                clip.seconds
            ),
        ]);
    }
    if clip.video.is_some() {
        args.extend(
            [
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-g",
                "60",
            ]
            .map(String::from),
        );
    }
    if clip.audio {
        args.extend(["-c:a", "aac", "-b:a", "96k"].map(String::from));
    }
    args.extend([
        "-movflags".into(),
        "+faststart".into(),
        path.display().to_string(),
    ]);
    let out = Command::new("ffmpeg")
        .args(&args)
        .output()
        .context("running ffmpeg")?;
    if !out.status.success() {
        bail!("ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Uploads `file` with tus 1.0 (creation, then PATCHes of `chunk` bytes) and
/// returns the upload URL.
pub fn tus_upload(
    origin: &Origin,
    admin_key: &str,
    file: &Path,
    title: &str,
    chunk: usize,
) -> Result<String> {
    let data = std::fs::read(file)?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let created = ureq::post(&origin.url("/api/v1/uploads"))
        .timeout(Duration::from_secs(10))
        .set("Authorization", &format!("Bearer {admin_key}"))
        .set("Tus-Resumable", "1.0.0")
        .set("Upload-Length", &data.len().to_string())
        .set(
            "Upload-Metadata",
            &format!("filename {},title {}", b64(&name), b64(title)),
        )
        .call()
        .context("tus creation")?;
    if created.status() != 201 {
        bail!("tus creation answered {}", created.status());
    }
    let location = created
        .header("Location")
        .context("no Location")?
        .to_owned();
    let url = crate::http::resolve(&origin.url("/api/v1/uploads"), &location);
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + chunk).min(data.len());
        let r = ureq::patch(&url)
            .timeout(Duration::from_secs(30))
            .set("Authorization", &format!("Bearer {admin_key}"))
            .set("Tus-Resumable", "1.0.0")
            .set("Upload-Offset", &offset.to_string())
            .set("Content-Type", "application/offset+octet-stream")
            .send_bytes(&data[offset..end])
            .with_context(|| format!("PATCH at {offset}"))?;
        let new_offset: usize = r
            .header("Upload-Offset")
            .context("no Upload-Offset")?
            .parse()?;
        if new_offset != end {
            bail!("offset {new_offset} after PATCH to {end}");
        }
        offset = end;
    }
    Ok(url)
}

/// The asset an upload became (the upload's HEAD or the asset list names it).
pub fn asset_of_upload(origin: &Origin, admin_key: &str, title: &str) -> Result<String> {
    wait_for(
        "the uploaded asset to be listed",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let (status, v) = api_call(
                "GET",
                &origin.url("/api/v1/assets?limit=100"),
                Some(admin_key),
                None,
            )?;
            if status != 200 {
                bail!("asset list answered {status}: {v}");
            }
            let list = v
                .get("assets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            Ok(list
                .iter()
                .find(|a| a.get("title").and_then(Value::as_str) == Some(title))
                .and_then(|a| a.get("id").and_then(Value::as_str).map(str::to_owned)))
        },
    )
}

/// Waits until asset `id` has left `uploaded`/`processing`; returns its JSON.
pub fn wait_settled(
    origin: &Origin,
    admin_key: &str,
    id: &str,
    timeout: Duration,
) -> Result<Value> {
    wait_for(
        &format!("asset {id} to be ready or failed"),
        timeout,
        Duration::from_millis(500),
        || {
            let (status, v) = api_call(
                "GET",
                &origin.url(&format!("/api/v1/assets/{id}")),
                Some(admin_key),
                None,
            )?;
            if status != 200 {
                bail!("GET asset answered {status}: {v}");
            }
            Ok(matches!(
                v.get("status").and_then(Value::as_str),
                Some("ready") | Some("failed")
            )
            .then_some(v))
        },
    )
}
