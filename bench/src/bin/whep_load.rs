//! # whep-load — hold N headless WHEP viewers of one URL for a while
//!
//! ```text
//! whep-load --url http://127.0.0.1:8080/whep/CHANNEL [--viewers 99] [--seconds 60]
//! ```
//! Load for measurements made by something else (the glass-to-glass latency of a
//! browser viewer among 100, `bench/webrtc_latency_under_load.sh`). Prints
//! `CONNECTED n` once the viewers are up, then every viewer's counters at the
//! end: frames, Opus packets, RTP packets lost. Loopback only, bounded in count
//! (≤ 2000) and time (≤ 600 s).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use bench::whep_client::{Viewers, WhepOptions};

fn main() -> Result<()> {
    let mut url = None;
    let (mut viewers, mut seconds) = (99usize, 60u64);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--viewers" => viewers = value()?.parse().context("--viewers")?,
            "--seconds" => seconds = value()?.parse().context("--seconds")?,
            other => bail!("unknown argument {other:?}; usage: whep-load --url URL [--viewers N] [--seconds S]"),
        }
    }
    let url = url.context("--url is required")?;
    if viewers == 0 || viewers > 2000 || seconds == 0 || seconds > 600 {
        bail!("--viewers 1..=2000, --seconds 1..=600");
    }
    bench::whep_client::install_crypto();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let set = Viewers::start(&url, viewers, &WhepOptions::default()).await;
        let connected = set.wait_connected(Duration::from_secs(30)).await;
        println!("CONNECTED {connected}");
        for e in set.failures() {
            eprintln!("whep-load: a viewer failed: {e}");
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let stats = set.close(16).await;
        let frames: Vec<u64> = stats.iter().map(|s| s.video_frames).collect();
        let lost: u64 = stats.iter().map(|s| s.packets_lost).sum();
        println!(
            "DONE viewers {} video frames min {} max {} lost packets {lost}",
            stats.len(),
            frames.iter().min().unwrap_or(&0),
            frames.iter().max().unwrap_or(&0)
        );
        Ok(())
    })
}
