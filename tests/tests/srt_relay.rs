//! # A second libsrt sender, relaying damaged TS that changes codec mid-stream
//!
//! `srt-live-transmit` (libsrt's own tool) relays UDP → SRT to the origin. What it
//! relays is made here: an H.264/AAC TS file from ffmpeg with every 400th packet
//! dropped (continuity-counter gaps), followed by an HEVC/AAC TS file whose PMT
//! (version 1) gives the video PID a new stream type, with its clocks starting
//! over. Meanwhile ffmpeg publishes a healthy stream to a second channel.
//!
//! Checked: the relayed channel goes live with H.264, then serves HEVC (ffprobe of
//! its newest init + segment); continuity errors and the PMT change are logged and
//! counted in `/metrics`; the healthy channel keeps advancing without a gap.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use tests::http;
use tests::live;
use tests::monitor::PlaylistMonitor;
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::srt::{metric, push, segments, srt_url, wait, Video};
use tests::{ffprobe, tools};

/// Seconds of media in each of the two fixture files.
const PART_S: u32 = 8;
/// One TS packet in every this many is dropped from the H.264 part.
const DROP_EVERY: usize = 400;
/// TS packets per UDP datagram (the usual 1,316-byte SRT payload).
const PACKETS_PER_DATAGRAM: usize = 7;

#[test]
fn srt_live_transmit_relays_damaged_ts_that_changes_codec() {
    if !tools::require(
        "srt_live_transmit_relays_damaged_ts_that_changes_codec",
        &["ffmpeg", "ffprobe", "srt-live-transmit"],
    ) {
        return;
    }
    run().unwrap();
}

/// Encodes `PART_S` seconds of test pattern + sine to an MPEG-TS file.
fn encode(path: &Path, video: Video, tables_version: u8) -> Result<()> {
    let duration = PART_S.to_string();
    let version = tables_version.to_string();
    let mut args = vec![
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &duration,
    ];
    args.extend_from_slice(video.ffmpeg_args());
    args.extend_from_slice(&["-c:a", "aac", "-tables_version", &version, "-f", "mpegts"]);
    let out = Command::new("ffmpeg")
        .args(&args)
        .arg(path)
        .output()
        .context("run ffmpeg")?;
    ensure!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The relayed bytes: part 1 with every `DROP_EVERY`th packet missing, then part 2.
fn damaged_stream(dir: &Path) -> Result<Vec<u8>> {
    let (h264, hevc) = (dir.join("part1-h264.ts"), dir.join("part2-hevc.ts"));
    encode(&h264, Video::H264, 0)?;
    encode(&hevc, Video::Hevc, 1)?;
    let first = std::fs::read(&h264)?;
    let second = std::fs::read(&hevc)?;
    ensure!(
        first.len() % 188 == 0 && second.len() % 188 == 0,
        "ffmpeg wrote whole TS packets"
    );
    let mut out: Vec<u8> = first
        .chunks(188)
        .enumerate()
        .filter(|(i, _)| (i + 1) % DROP_EVERY != 0)
        .flat_map(|(_, p)| p.iter().copied())
        .collect();
    out.extend_from_slice(&second);
    Ok(out)
}

/// Sends `stream` to `to` in 7-packet datagrams, paced over `duration`.
fn send_paced(stream: &[u8], to: std::net::SocketAddr, duration: Duration) -> Result<()> {
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    let datagrams: Vec<&[u8]> = stream.chunks(188 * PACKETS_PER_DATAGRAM).collect();
    let start = Instant::now();
    for (i, d) in datagrams.iter().enumerate() {
        let due = duration.mul_f64(i as f64 / datagrams.len() as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        udp.send_to(d, to)?;
    }
    Ok(())
}

/// The newest init and segment of `rendition` in `channel`, concatenated.
fn newest_init_and_segment(origin: &Origin, channel: &str, rendition: &str) -> Result<Vec<u8>> {
    live::newest_init_and_segment(&origin.live_url(channel, &format!("{rendition}/index.m3u8")))
}

fn free_udp_port() -> Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run() -> Result<()> {
    let (healthy_key, relayed_key) = (unique_key("healthy"), unique_key("relayed"));
    let origin = Origin::start(OriginConfig {
        channels: vec![
            ("healthy".into(), healthy_key.clone()),
            ("relayed".into(), relayed_key.clone()),
        ],
        ..OriginConfig::default()
    })?;
    let stream = damaged_stream(origin.dir())?;

    let _healthy = push(
        &origin,
        &srt_url(&origin, &format!("publish/live/{healthy_key}"), ""),
        Video::H264,
        "healthy",
    )?;
    wait("the healthy channel", Duration::from_secs(40), || {
        segments(&origin, "healthy") >= 2
    })?;
    let monitor = PlaylistMonitor::start(
        &origin.live_url("healthy", "video0/index.m3u8"),
        Duration::from_millis(300),
    );
    let healthy_before = segments(&origin, "healthy");

    // srt-live-transmit: UDP in, SRT (caller, libsrt) out to the origin.
    let udp_port = free_udp_port()?;
    let srt_out = format!(
        "srt://{}?streamid=publish/live/{relayed_key}&latency=200",
        origin.srt
    );
    let _relay = origin.spawn_beside(
        "srt-live-transmit",
        "srt-live-transmit",
        &[
            "-a:no".to_owned(),
            "-ll:warn".to_owned(),
            format!("udp://:{udp_port}"),
            srt_out,
        ],
    )?;
    // srt-live-transmit connects its SRT output once input arrives; give it a
    // moment to bind the UDP port first.
    std::thread::sleep(Duration::from_millis(500));
    let to = format!("127.0.0.1:{udp_port}").parse()?;
    let sender = {
        let stream = stream.clone();
        std::thread::spawn(move || send_paced(&stream, to, Duration::from_secs(2 * PART_S as u64)))
    };

    // Phase 1: H.264 arrives with continuity gaps.
    wait(
        "the relayed channel to go live",
        Duration::from_secs(30),
        || segments(&origin, "relayed") >= 2,
    )?;
    let probe = ffprobe::probe(&[&newest_init_and_segment(&origin, "relayed", "video0")?])?;
    ensure!(
        probe.str_field("codec_name")? == "h264",
        "first the relayed channel serves H.264: {:?}",
        probe.streams
    );
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("sender panicked"))??;

    // Phase 2: after the PMT change, HEVC.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let media = newest_init_and_segment(&origin, "relayed", "video0")?;
        if ffprobe::probe(&[&media])?.str_field("codec_name")? == "hevc" {
            break;
        }
        if Instant::now() > deadline {
            bail!("the relayed channel never served HEVC after the PMT change");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let master = http::get(&origin.live_url("relayed", "master.m3u8"))?.text();
    ensure!(
        master.contains("hvc1."),
        "the multivariant playlist describes the new codec:\n{master}"
    );

    // Counted and logged.
    let errors = |kind| {
        metric(
            &origin,
            "ferrocast_ingest_input_errors_total",
            &[("protocol", "srt"), ("kind", kind)],
        )
    };
    ensure!(
        errors("continuity_error") >= 1.0,
        "continuity errors counted"
    );
    ensure!(errors("pmt_change") >= 1.0, "the PMT change counted");
    let log = origin.log();
    ensure!(
        log.contains("continuity_error in the MPEG-TS from"),
        "a log line for the continuity errors"
    );
    ensure!(
        !log.contains(&relayed_key),
        "the stream key is never logged"
    );

    // The healthy channel never noticed.
    wait(
        "the healthy channel to keep advancing",
        Duration::from_secs(20),
        || segments(&origin, "healthy") >= healthy_before + 6,
    )?;
    let report = monitor.stop();
    ensure!(
        report.missing_msns().is_empty() && report.discontinuities().is_empty(),
        "the healthy channel had a gap: missing {:?}, discontinuities {:?}",
        report.missing_msns(),
        report.discontinuities()
    );
    ensure!(
        report.longest_stall() < Duration::from_secs(8),
        "the healthy channel stalled for {:?}",
        report.longest_stall()
    );
    Ok(())
}
