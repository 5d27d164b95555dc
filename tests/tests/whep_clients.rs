//! # WHEP with real WebRTC clients (str0m viewers from `bench::whep_client`)
//!
//! One origin, two ffmpeg RTMP publishers: `plain` (H.264 without B-frames, AAC)
//! and `bframes` (H.264 with 3 B-frames, AAC). Then:
//! - five viewers of `plain` connect, get a key frame at once (the GOP the loop
//!   keeps), about 30 frames/s of video and 50 packets/s of Opus (transcoded from
//!   AAC once for all), with no unrecovered loss;
//! - a viewer dropping every 40th datagram sends NACKs and the origin's
//!   retransmissions repair the video (Opus is not retransmitted in WebRTC);
//! - a viewer of `bframes` gets video without B-frames: presentation times
//!   strictly increase frame after frame;
//! - a viewer that vanishes (no more STUN consent checks) is reaped after the
//!   ICE timeout; a viewer that reads too slowly is dropped as slow; a DELETE
//!   ends a session at once — and the other viewers never notice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bench::whep_client::{ReadMode, Track, WhepOptions, WhepViewer};
use tests::checks::wait_until;
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::publisher::{PublishOptions, Publisher};
use tests::srt::{metric, segments};

#[test]
fn whep_viewers_loss_bframes_reaping() {
    bench::whep_client::install_crypto();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run()).unwrap();
}

async fn run() -> Result<()> {
    let (plain_key, bframes_key) = (unique_key("plain"), unique_key("bframes"));
    let origin = Origin::start(OriginConfig {
        channels: vec![
            ("plain".into(), plain_key.clone()),
            ("bframes".into(), bframes_key.clone()),
        ],
        // Short slow-viewer window so the test does not wait long.
        webrtc_toml: "slow_viewer_window_s = 3.0\n".into(),
        ..OriginConfig::default()
    })?;
    let _plain = Publisher::start(
        &origin.rtmp_url(&plain_key),
        &PublishOptions {
            bframes: 0,
            ..PublishOptions::default()
        },
        origin.dir(),
        "rtmp-plain",
    )?;
    let _bframes = Publisher::start(
        &origin.rtmp_url(&bframes_key),
        &PublishOptions {
            bframes: 3,
            ..PublishOptions::default()
        },
        origin.dir(),
        "rtmp-bframes",
    )?;
    for channel in ["plain", "bframes"] {
        wait_until(
            channel,
            Duration::from_secs(40),
            Duration::from_millis(200),
            || Ok(segments(&origin, channel) >= 2),
        )?;
    }
    let plain = origin.url("/whep/plain");

    // Five viewers, a lossy one, a B-frame viewer recording presentation times.
    let mut viewers = Vec::new();
    for _ in 0..5 {
        viewers.push(WhepViewer::connect(&plain, &WhepOptions::default()).await?);
    }
    let lossy = WhepViewer::connect(
        &plain,
        &WhepOptions {
            drop_every: 40,
            ..WhepOptions::default()
        },
    )
    .await?;
    let times = Arc::new(Mutex::new(Vec::<u64>::new()));
    let record = times.clone();
    let bframes = WhepViewer::connect(
        &origin.url("/whep/bframes"),
        &WhepOptions {
            latency_probe: Some(Arc::new(move |f| {
                if f.track == Track::Video {
                    record.lock().unwrap().push(f.rtp_time);
                }
                None
            })),
            ..WhepOptions::default()
        },
    )
    .await?;
    for v in viewers.iter().chain([&lossy]) {
        let connected = v.wait_connected(Duration::from_secs(10)).await?;
        let key = v.wait_key_frame(Duration::from_secs(5)).await?;
        eprintln!("  viewer connected after {connected:?}, first key frame after {key:?}");
        // Started from the kept GOP: no waiting for the publisher's next IDR.
        ensure!(
            key < Duration::from_millis(1500),
            "first key frame after {key:?}"
        );
    }
    bframes.wait_connected(Duration::from_secs(10)).await?;
    // The re-encode starts at the source's next key frame (GOP 2 s).
    bframes.wait_key_frame(Duration::from_secs(8)).await?;
    let start: Vec<_> = viewers.iter().map(|v| v.stats()).collect();
    let lossy_start = lossy.stats();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut fewest = u64::MAX;
    for (v, before) in viewers.iter().zip(&start) {
        let d = v.stats().since(before);
        eprintln!(
            "  6 s: {} video frames, {} Opus packets, {} lost, {} NACKs",
            d.video_frames, d.audio_frames, d.packets_lost, d.nacks_sent
        );
        ensure!(
            d.video_frames >= 150,
            "video frames in 6 s: {}",
            d.video_frames
        );
        fewest = fewest.min(d.video_frames);
        ensure!(
            d.audio_frames >= 250,
            "Opus packets in 6 s: {}",
            d.audio_frames
        );
        ensure!(d.packets_lost == 0, "unrecovered loss: {}", d.packets_lost);
    }
    let l = lossy.stats().since(&lossy_start);
    eprintln!(
        "  lossy viewer, same 6 s: {} video frames, {} NACKs, {} datagrams dropped by the client, {} packets lost",
        l.video_frames, l.nacks_sent, l.datagrams_dropped, l.packets_lost
    );
    ensure!(
        l.nacks_sent >= 3 && l.datagrams_dropped >= 10,
        "too few NACKs: {l:?}"
    );
    // RTX repaired the video: the lossy viewer got as many frames as the others
    // (an unrepaired packet loses its frame). Opus has no NACK in WebRTC (its
    // in-band FEC covers it), so audio packets stay lost.
    ensure!(
        l.video_frames + 3 >= fewest,
        "the lossy viewer got {} video frames, the others at least {fewest}",
        l.video_frames
    );
    {
        let t = times.lock().unwrap();
        ensure!(t.len() >= 120, "B-frame channel: {} frames", t.len());
        let backwards = t.windows(2).filter(|w| w[1] <= w[0]).count();
        ensure!(
            backwards == 0,
            "{backwards} frames out of presentation order"
        );
    }

    // A vanished viewer and a slow one; one more leaves with DELETE.
    let vanished = viewers.pop().context("a viewer")?;
    let slow = viewers.pop().context("a viewer")?;
    let deleted = viewers.pop().context("a viewer")?;
    let sessions = |role| metric(&origin, "ferrocast_webrtc_sessions", &[("role", role)]);
    let before = sessions("viewer");
    vanished.set_mode(ReadMode::Vanished);
    slow.set_mode(ReadMode::Slow { per_s: 40 });
    ensure!(deleted.delete().await? == 200, "DELETE");
    wait_until(
        "DELETE frees the session",
        Duration::from_secs(3),
        Duration::from_millis(100),
        || Ok(sessions("viewer") <= before - 1.0),
    )?;
    let ended = |reason| {
        metric(
            &origin,
            "ferrocast_webrtc_sessions_ended_total",
            &[("role", "viewer"), ("reason", reason)],
        )
    };
    wait_until(
        "the slow viewer is dropped",
        Duration::from_secs(25),
        Duration::from_millis(250),
        || Ok(ended("slow") >= 1.0),
    )?;
    wait_until(
        "the vanished viewer is reaped",
        Duration::from_secs(40),
        Duration::from_millis(250),
        || Ok(ended("ice_timeout") >= 1.0),
    )?;
    ensure!(
        sessions("viewer") <= before - 3.0,
        "sessions left: {}",
        sessions("viewer")
    );
    // The others kept playing throughout.
    let start: Vec<_> = viewers.iter().map(|v| v.stats()).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (v, before) in viewers.iter().zip(&start) {
        let d = v.stats().since(before);
        ensure!(
            d.video_frames >= 40 && d.packets_lost == 0,
            "a bystander: {d:?}"
        );
    }
    for v in viewers {
        let _ = v.close().await;
    }
    let _ = lossy.close().await;
    let _ = bframes.close().await;
    Ok(())
}
