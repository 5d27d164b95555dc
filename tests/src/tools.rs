//! # External tools the tests drive
//!
//! A test that needs a tool which is not installed prints why and returns early
//! (see [`require`]); it does not pretend to pass by checking less.

use std::path::PathBuf;

/// The path of `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Returns `true` if every tool is installed; otherwise prints which are missing.
pub fn require(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!(
        "SKIPPED {test}: {} not installed (Debian: apt-get install ffmpeg)",
        missing.join(", ")
    );
    false
}

/// Whether the installed ffmpeg has encoder `name` (e.g. `libx265`).
pub fn ffmpeg_has_encoder(name: &str) -> bool {
    std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(name))
        })
        .unwrap_or(false)
}
