//! # SRT ingest with real libsrt senders
//!
//! ffmpeg (libsrt) pushes MPEG-TS over SRT to the origin:
//! - H.264/AAC with `streamid=publish/live/KEY`: the LL-HLS stream appears and
//!   ffprobe reads h264 + aac from it; at the same time a second channel publishes
//!   with the access-control form `#!::r=live/KEY,m=publish`, HEVC/AAC, and its
//!   output is checked with ffprobe (Chromium cannot decode HEVC);
//! - random UDP datagrams on the SRT port are dropped and an unknown key is refused
//!   (both logged and counted) while the streams keep advancing;
//! - with `[srt] passphrase`, an encrypted caller (AES-128 and AES-256) publishes,
//!   and a wrong passphrase or an unencrypted caller is refused.

use std::net::UdpSocket;
use std::time::Duration;

use anyhow::{ensure, Result};
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::srt::{metric, probe_codecs as codecs, push, segments, srt_url, wait, Video};

#[test]
fn srt_publishers_plain_access_control_and_bad_input() {
    run_plain().unwrap();
}

fn run_plain() -> Result<()> {
    let (k1, k2) = (unique_key("srt1"), unique_key("srt2"));
    let origin = Origin::start(OriginConfig {
        channels: vec![("srt1".into(), k1.clone()), ("srt2".into(), k2.clone())],
        ..OriginConfig::default()
    })?;
    let _a = push(
        &origin,
        &srt_url(&origin, &format!("publish/live/{k1}"), ""),
        Video::H264,
        "srt-h264",
    )?;
    let _b = push(
        &origin,
        &srt_url(&origin, &format!("#!::r=live/{k2},m=publish"), ""),
        Video::Hevc,
        "srt-hevc",
    )?;
    wait("srt1 segments", Duration::from_secs(40), || {
        segments(&origin, "srt1") >= 2
    })?;
    wait("srt2 segments", Duration::from_secs(40), || {
        segments(&origin, "srt2") >= 2
    })?;
    let c = codecs(&origin.live_url("srt1", "master.m3u8"));
    ensure!(
        c.contains("h264") && c.contains("aac"),
        "srt1 ffprobe: {c:?}"
    );
    let c = codecs(&origin.live_url("srt2", "master.m3u8"));
    ensure!(
        c.contains("hevc") && c.contains("aac"),
        "srt2 ffprobe: {c:?}"
    );

    // Garbage datagrams and an unknown key while both stream.
    let before = segments(&origin, "srt1");
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    let mut x = 0x1234_5678u32;
    for i in 0..3_000u32 {
        let mut d = vec![0u8; (i % 1400 + 1) as usize];
        for b in d.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let _ = udp.send_to(&d, origin.srt);
    }
    let refused = || {
        metric(
            &origin,
            "ferrocast_publish_rejected_total",
            &[("reason", "unknown_key")],
        )
    };
    let refused_before = refused();
    let mut bad = push(
        &origin,
        &srt_url(&origin, "publish/live/no-such-key-12345", ""),
        Video::H264,
        "srt-bad",
    )?;
    wait(
        "the unknown key to be refused",
        Duration::from_secs(20),
        || matches!(bad.try_wait(), Ok(Some(_))),
    )?;
    ensure!(refused() > refused_before, "the refusal is counted");
    wait("srt1 to keep advancing", Duration::from_secs(20), || {
        segments(&origin, "srt1") >= before + 2
    })?;
    let log = origin.log();
    ensure!(
        log.contains("srt: publish rejected"),
        "a log line for the unknown key"
    );
    // About a quarter of random datagrams fail to parse as SRT packets (the rest
    // parse as data or control packets of unknown sessions, which srt-protocol
    // drops without a count); those are counted once its statistics tick.
    wait(
        "the garbage datagrams to be counted",
        Duration::from_secs(10),
        || {
            metric(
                &origin,
                "ferrocast_ingest_input_errors_total",
                &[("protocol", "srt"), ("kind", "unparsable_datagram")],
            ) >= 300.0
        },
    )?;
    ensure!(
        log.contains("datagrams that are not SRT packets"),
        "a log line for the garbage datagrams"
    );
    ensure!(
        !log.contains(&k1) && !log.contains(&k2),
        "keys are never logged"
    );
    Ok(())
}

#[test]
fn srt_with_a_passphrase() {
    run_passphrase().unwrap();
}

fn run_passphrase() -> Result<()> {
    let key = unique_key("srtenc");
    let origin = Origin::start(OriginConfig {
        channels: vec![
            ("enc".into(), key.clone()),
            ("enc2".into(), unique_key("srtenc2")),
        ],
        srt_passphrase: Some("correct-horse-battery".into()),
        ..OriginConfig::default()
    })?;
    let sid = format!("publish/live/{key}");
    let _ok = push(
        &origin,
        &srt_url(
            &origin,
            &sid,
            "&passphrase=correct-horse-battery&pbkeylen=32",
        ),
        Video::H264,
        "srt-aes256",
    )?;
    wait("encrypted segments", Duration::from_secs(40), || {
        segments(&origin, "enc") >= 2
    })?;
    let key2 = origin.config.key_of("enc2").to_owned();
    let sid2 = format!("publish/live/{key2}");
    let mut wrong = push(
        &origin,
        &srt_url(&origin, &sid2, "&passphrase=not-the-passphrase&pbkeylen=16"),
        Video::H264,
        "srt-wrong",
    )?;
    let mut plain = push(
        &origin,
        &srt_url(&origin, &sid2, ""),
        Video::H264,
        "srt-plain",
    )?;
    wait(
        "the wrong passphrase to be refused",
        Duration::from_secs(30),
        || matches!(wrong.try_wait(), Ok(Some(_))),
    )?;
    wait(
        "the unencrypted caller to be refused",
        Duration::from_secs(30),
        || matches!(plain.try_wait(), Ok(Some(_))),
    )?;
    ensure!(
        segments(&origin, "enc2") == 0,
        "nothing published by refused callers"
    );
    // The key was right, so it passed the check; but the channel goes live only
    // after the handshake, which the wrong passphrase failed.
    ensure!(
        metric(&origin, "ferrocast_channel_live", &[("channel", "enc2")]) == 0.0,
        "a refused caller never makes its channel live"
    );
    ensure!(
        metric(
            &origin,
            "ferrocast_ingest_handshake_failures_total",
            &[("protocol", "srt")]
        ) >= 2.0,
        "both refusals are counted"
    );
    ensure!(
        origin.log().contains("srt: refusing"),
        "a log line for the refusals"
    );
    let _aes128 = push(
        &origin,
        &srt_url(
            &origin,
            &sid2,
            "&passphrase=correct-horse-battery&pbkeylen=16",
        ),
        Video::H264,
        "srt-aes128",
    )?;
    wait("AES-128 segments", Duration::from_secs(40), || {
        segments(&origin, "enc2") >= 2
    })?;
    Ok(())
}

#[test]
fn srt_publisher_kicked_by_an_operator() {
    run_kick().unwrap();
}

/// The control API's kick disconnects an SRT publisher (ffmpeg exits) and the
/// channel is no longer live; the SRT port keeps taking publishers.
fn run_kick() -> Result<()> {
    const ADMIN_KEY: &str = "srt-test-admin-key-0123456789";
    let key = unique_key("srtkick");
    let origin = Origin::start(OriginConfig {
        channels: vec![("kickme".into(), key.clone())],
        extra_toml: format!("[api]\nadmin_keys = [\"{ADMIN_KEY}\"]\n"),
        ..OriginConfig::default()
    })?;
    let sid = format!("publish/live/{key}");
    let mut publisher = push(
        &origin,
        &srt_url(&origin, &sid, ""),
        Video::H264,
        "srt-kick",
    )?;
    wait("segments", Duration::from_secs(40), || {
        segments(&origin, "kickme") >= 2
    })?;
    let (status, body) = tests::http::api_call(
        "POST",
        &origin.url("/api/v1/channels/kickme/kick"),
        Some(ADMIN_KEY),
        None,
    )?;
    ensure!(
        status == 200 && body["kicked"] == true,
        "kick: {status} {body}"
    );
    wait(
        "the kicked SRT publisher to be disconnected",
        Duration::from_secs(20),
        || matches!(publisher.try_wait(), Ok(Some(_))),
    )?;
    ensure!(
        origin.log().contains("publisher kicked by an operator"),
        "a log line for the kick"
    );
    // A new publisher with the same key is taken again.
    let _again = push(
        &origin,
        &srt_url(&origin, &sid, ""),
        Video::H264,
        "srt-again",
    )?;
    let before = segments(&origin, "kickme");
    wait(
        "the channel to advance again",
        Duration::from_secs(40),
        || segments(&origin, "kickme") >= before + 2,
    )?;
    Ok(())
}
