//! # RTMPS ingest
//!
//! An origin with a self-signed certificate (`[tls]`) and `[rtmp] tls_listen`:
//!
//! - ffmpeg publishes `rtmps://` (certificate not verified, as with a self-signed
//!   one and `-tls_verify 0`); the LL-HLS playlist appears over HTTPS and ffprobe
//!   reads H.264 and AAC from it;
//! - garbage on the RTMPS port while the stream plays is closed, logged and counted
//!   (`ferrocast_ingest_handshake_failures_total{protocol="rtmps"}`), and the
//!   stream keeps advancing.
//!
//! With `[tls]` the HTTP port speaks HTTPS too, so this test reads it with `curl -k`.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use tests::checks::wait_until;
use tests::origin::{free_ports, origin_binary, unique_key};
use tests::process::Supervised;
use tests::publisher::{PublishOptions, Publisher};

fn curl(url: &str) -> Result<(u16, String)> {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "5", "-w", "\n%{http_code}", url])
        .output()
        .context("curl")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    Ok((code.trim().parse().unwrap_or(0), body.to_owned()))
}

/// The highest `#EXT-X-MEDIA-SEQUENCE` + segment count of a media playlist.
fn segments(playlist: &str) -> usize {
    playlist
        .lines()
        .filter(|l| l.starts_with("#EXTINF"))
        .count()
        + playlist
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
}

#[test]
fn ffmpeg_publishes_over_rtmps_and_garbage_is_refused() {
    run().unwrap();
}

fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    let cert = dir.path().join("cert.pem");
    let key_pem = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem())?;
    std::fs::write(&key_pem, ck.key_pair.serialize_pem())?;
    let ports = free_ports(6)?;
    let key = unique_key("rtmps");
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{http}\"\n[http3]\nlisten = \"127.0.0.1:{h3}\"\n\
         [rtmp]\nlisten = \"127.0.0.1:{rtmp}\"\ntls_listen = \"127.0.0.1:{rtmps}\"\n\
         [srt]\nlisten = \"127.0.0.1:{srt}\"\n[webrtc]\nudp_listen = \"127.0.0.1:{rtc}\"\n\
         [tls]\ncert = {cert:?}\nkey = {key_pem:?}\n[storage]\ndata_dir = {data:?}\n\
         [packaging]\nsegment_target_s = 1.0\npart_target_s = 0.25\nwindow_s = 12.0\n\
         [[channels]]\nname = \"secure\"\nstream_key = {key:?}\n",
        http = ports[0],
        h3 = ports[1],
        rtmp = ports[2],
        rtmps = ports[3],
        srt = ports[4],
        rtc = ports[5],
        cert = cert.display().to_string(),
        key_pem = key_pem.display().to_string(),
        data = dir.path().join("data").display().to_string(),
    );
    let cfg = dir.path().join("origin.toml");
    std::fs::write(&cfg, config)?;
    let stderr_log = dir.path().join("origin.stderr.log");
    let _origin = Supervised::spawn(
        "ferrocast-origin",
        &origin_binary()?,
        &["--config".into(), cfg.display().to_string()],
        &[
            ("RUST_LOG".into(), "info".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        &dir.path().join("origin.stdout.log"),
        &stderr_log,
    )?;
    let base = format!("https://127.0.0.1:{}", ports[0]);
    wait_until(
        "HTTPS /healthz",
        Duration::from_secs(30),
        Duration::from_millis(250),
        || Ok(curl(&format!("{base}/healthz"))?.0 == 200),
    )?;

    let url = format!("rtmps://127.0.0.1:{}/live/{key}", ports[3]);
    let _publisher = Publisher::start(
        &url,
        &PublishOptions::default().with_gop_s(1.0),
        dir.path(),
        "rtmps-publisher",
    )?;
    let media = format!("{base}/live/secure/video0/index.m3u8");
    let master = format!("{base}/live/secure/master.m3u8");
    wait_until(
        "the playlist over RTMPS",
        Duration::from_secs(30),
        Duration::from_millis(250),
        || {
            let (code, body) = curl(&media)?;
            Ok(code == 200 && segments(&body) >= 2)
        },
    )?;

    // Garbage on the RTMPS port while the stream plays.
    let before = segments(&curl(&media)?.1);
    for _ in 0..3 {
        let mut s = TcpStream::connect(("127.0.0.1", ports[3]))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage-not-tls");
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(&mut s, &mut buf);
    }
    wait_until(
        "the handshake failures in /metrics",
        Duration::from_secs(10),
        Duration::from_millis(250),
        || {
            let (_, m) = curl(&format!("{base}/metrics"))?;
            Ok(m.lines().any(|l| {
                l.starts_with("ferrocast_ingest_handshake_failures_total{protocol=\"rtmps\"}")
                    && l.rsplit(' ')
                        .next()
                        .and_then(|v| v.parse::<f64>().ok())
                        .unwrap_or(0.0)
                        >= 3.0
            }))
        },
    )?;
    let log = std::fs::read_to_string(&stderr_log)?;
    ensure!(
        log.contains("rtmps: TLS handshake with"),
        "a clear log line:\n{log}"
    );
    wait_until(
        "the stream to keep advancing",
        Duration::from_secs(15),
        Duration::from_millis(250),
        || Ok(segments(&curl(&media)?.1) >= before + 2),
    )?;

    // ffprobe reads the published stream back over HTTPS.
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-tls_verify",
            "0",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            &master,
        ])
        .output()
        .context("ffprobe")?;
    let codecs = String::from_utf8_lossy(&out.stdout).to_string();
    ensure!(
        codecs.contains("h264") && codecs.contains("aac"),
        "ffprobe saw: {codecs:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(!log.contains(&key), "the stream key must not be logged");
    Ok(())
}
