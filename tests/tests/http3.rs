//! # HTTP/3 on the edge (issue 6)
//!
//! A real origin with ffmpeg publishing, and a `ferrocast-edge` with a self-signed
//! certificate serving HTTPS on TCP and HTTP/3 on the same UDP port number.
//!
//! `third_party_clients_fetch_the_same_bytes`:
//! - ngtcp2's client (`gtlsclient`) and aioquic's `http3_client.py` fetch the
//!   multivariant playlist, the init segment and two media segments over HTTP/3;
//!   every body has the SHA-256 of the HTTP/1.1 (curl, TLS) body;
//! - a byte range over HTTP/3 is a 206 with the same bytes (the shared pipeline);
//! - the UDP socket uses GSO and GRO (`ferrocast_http3_udp_segments` > 1);
//! - both also complete an LL-HLS blocking playlist request (`_HLS_msn` of a
//!   segment not yet out) with a playlist that holds it;
//! - `Alt-Svc: h3=":PORT"` is on HTTP/1.1 and HTTP/2 responses; an edge with
//!   `[http3] enabled = false` sends none and answers no QUIC.
//!
//! `hostile_quic_is_refused_and_counted`, while an HTTP/3 poller (one connection,
//! like a player) follows the live playlist:
//! - random UDP datagrams → `ferrocast_http3_datagrams_dropped_total`;
//! - a QUIC Initial with an unknown version → a Version Negotiation packet
//!   listing v1 (RFC 9000 §6), counted as `unknown_version`;
//! - a request head over `max_header_bytes` → 431, counted;
//! - a flood of new connections from one address (127.0.0.2) → refused beyond the
//!   per-address rate, counted; a client on another address still connects;
//! - the poller never fails and the media sequence keeps advancing.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tests::checks::{wait_for, Checks};
use tests::edge::{Edge, EdgeConfig};
use tests::fixture::LiveFixture;
use tests::h3::{self, H3Client, TlsFiles};
use tests::m3u8;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const RENDITION: &str = "video0";
const DROPPED: &str = "ferrocast_http3_datagrams_dropped_total";

fn origin_config() -> OriginConfig {
    OriginConfig {
        segment_target_s: 1.0,
        part_target_s: 0.25,
        window_s: 20.0,
        ..OriginConfig::default()
    }
}

fn tls_edge(fixture: &LiveFixture, tls: &TlsFiles, http3_keys: &[(&str, &str)]) -> Result<Edge> {
    let mut config = EdgeConfig::new(vec![fixture.origin.url("")]);
    config.tls = Some(tls.clone());
    config.http3_keys = http3_keys
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Edge::start(config)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn udp_addr(edge: &Edge) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], edge.http.port()))
}

#[test]
fn third_party_clients_fetch_the_same_bytes() {
    if !tools::require("http3", &["ffmpeg", "curl"]) || !h3::third_party_clients_present("http3") {
        return;
    }
    run_clients().unwrap();
}

/// A live origin with `segments` complete segments, a temp dir and a certificate.
fn live_with_tls(segments: usize) -> Result<(LiveFixture, m3u8::MediaPlaylist, TempDir, TlsFiles)> {
    let mut fixture = LiveFixture::start(origin_config(), &PublishOptions::default())?;
    let dir = tempfile::tempdir()?;
    let tls = TlsFiles::self_signed(dir.path())?;
    let media = fixture.wait_segments(RENDITION, segments)?;
    Ok((fixture, media, dir, tls))
}

fn run_clients() -> Result<()> {
    let (fixture, media, dir, tls) = live_with_tls(3)?;
    let edge = tls_edge(&fixture, &tls, &[])?;
    let live = |rest: &str| edge.https_url(&format!("/live/{}/{rest}", fixture.channel));
    let map = media.map_uri.clone().context("EXT-X-MAP")?;
    let mut urls = vec![live("master.m3u8"), live(&format!("{RENDITION}/{map}"))];
    for seg in media.segments.iter().rev().take(2) {
        urls.push(live(&format!("{RENDITION}/{}", seg.uri)));
    }
    let mut checks = Checks::new();

    // The HTTP/1.1 bodies are the reference.
    let mut reference = Vec::new();
    for url in &urls {
        let (head, body) = h3::curl_fetch(url, false, &tls.cert)?;
        ensure!(head.starts_with("http/1.1 200"), "{url}: {head}");
        reference.push(sha256(&body));
    }
    let compare = |client: &str, bodies: &[Vec<u8>]| -> Result<()> {
        for ((url, body), want) in urls.iter().zip(bodies).zip(&reference) {
            ensure!(!body.is_empty(), "{client}: {url}: empty body");
            ensure!(
                sha256(body) == *want,
                "{client}: {url}: {} bytes with another checksum than over HTTP/1.1",
                body.len()
            );
        }
        Ok(())
    };
    checks.run("ngtcp2 client: same bytes as HTTP/1.1", || {
        let bodies = h3::gtls_fetch(udp_addr(&edge), &urls, &dir.path().join("gtls"))?;
        compare("gtlsclient", &bodies)
    });
    checks.run("aioquic client: same bytes as HTTP/1.1", || {
        let (bodies, log) = h3::aioquic_fetch(&urls, &tls.cert, &dir.path().join("aioquic"))?;
        ensure!(log.contains("Response received"), "aioquic log: {log}");
        compare("aioquic", &bodies)
    });
    checks.run(
        "a byte range over HTTP/3 → 206 with the same bytes",
        || {
            let segment = urls.last().context("a segment")?;
            let path = segment.trim_start_matches(&edge.https_url(""));
            let mut client = H3Client::new("127.0.0.1:0".parse()?, &tls.cert, udp_addr(&edge))?;
            let full = client.get(path, &[])?;
            ensure!(
                full.status == 200 && full.body.len() > 1000,
                "{}",
                full.status
            );
            let r = client.get(path, &[("range", "bytes=100-1099".into())])?;
            ensure!(r.status == 206, "range status {}", r.status);
            ensure!(r.body == full.body[100..1100], "range bytes differ");
            Ok(())
        },
    );
    checks.run("GSO and GRO in use on this kernel", || {
        for direction in ["send", "receive"] {
            let n = edge.metric("ferrocast_http3_udp_segments", &[("direction", direction)])?;
            ensure!(n > 1.0, "{direction}: {n} segment(s) per call");
        }
        Ok(())
    });
    checks.run("LL-HLS blocking playlist request over HTTP/3", || {
        for (n, client) in ["gtlsclient", "aioquic"].iter().enumerate() {
            let now = m3u8::parse_media(&String::from_utf8_lossy(
                &h3::curl_fetch(&live(&format!("{RENDITION}/index.m3u8")), false, &tls.cert)?.1,
            ))?;
            let next = now.segments.last().context("segments")?.msn + 2;
            let url = live(&format!(
                "{RENDITION}/index.m3u8?_HLS_msn={next}&_HLS_part=0"
            ));
            let out = dir.path().join(format!("blocking-{n}"));
            let started = Instant::now();
            let body = if *client == "gtlsclient" {
                h3::gtls_fetch(udp_addr(&edge), std::slice::from_ref(&url), &out)?.remove(0)
            } else {
                h3::aioquic_fetch(std::slice::from_ref(&url), &tls.cert, &out)?
                    .0
                    .remove(0)
            };
            let playlist = m3u8::parse_media(&String::from_utf8_lossy(&body))?;
            let holds = playlist.segments.iter().any(|s| s.msn >= next)
                || playlist
                    .trailing_parts
                    .first()
                    .is_some_and(|_| playlist.segments.last().is_some_and(|s| s.msn + 1 >= next));
            ensure!(
                holds,
                "{client}: the blocking response for msn {next} does not reach it:\n{}",
                playlist.raw
            );
            ensure!(
                started.elapsed() < Duration::from_secs(10),
                "{client}: blocking request took {:?}",
                started.elapsed()
            );
        }
        Ok(())
    });
    checks.run("Alt-Svc on HTTP/1.1 and HTTP/2 while HTTP/3 runs", || {
        let want = format!("alt-svc: h3=\":{}\"", edge.http.port());
        for http2 in [false, true] {
            let (head, _) = h3::curl_fetch(&live("master.m3u8"), http2, &tls.cert)?;
            let version = if http2 { "http/2 200" } else { "http/1.1 200" };
            ensure!(head.starts_with(version), "expected {version}: {head}");
            ensure!(head.contains(&want), "no {want:?} in:\n{head}");
        }
        Ok(())
    });
    checks.run("[http3] enabled = false: no Alt-Svc, no QUIC", || {
        let off = tls_edge(&fixture, &tls, &[("enabled", "false")])?;
        let url = off.https_url(&format!("/live/{}/master.m3u8", fixture.channel));
        for http2 in [false, true] {
            let (head, _) = h3::curl_fetch(&url, http2, &tls.cert)?;
            ensure!(head.contains(" 200"), "{head}");
            ensure!(!head.contains("alt-svc"), "Alt-Svc while off:\n{head}");
        }
        let fetched = h3::gtls_fetch(
            SocketAddr::from(([127, 0, 0, 1], off.http.port())),
            std::slice::from_ref(&url),
            &dir.path().join("off"),
        );
        ensure!(fetched.is_err(), "HTTP/3 answered while disabled");
        Ok(())
    });
    checks.finish();
    Ok(())
}

#[test]
fn hostile_quic_is_refused_and_counted() {
    if !tools::require("http3", &["ffmpeg", "curl"]) {
        return;
    }
    run_hostile().unwrap();
}

fn run_hostile() -> Result<()> {
    let (fixture, _, _dir, tls) = live_with_tls(2)?;
    let edge = tls_edge(
        &fixture,
        &tls,
        &[
            ("max_new_connections_per_ip", "10"),
            ("max_header_bytes", "8192"),
        ],
    )?;
    let server = udp_addr(&edge);
    let playlist_path = format!("/live/{}/{RENDITION}/index.m3u8", fixture.channel);

    // The player: one HTTP/3 connection from 127.0.0.1, polling every 250 ms.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let player = {
        let (stop, cert, path) = (stop.clone(), tls.cert.clone(), playlist_path.clone());
        std::thread::spawn(move || -> Result<(usize, u64, u64, Vec<u64>)> {
            let mut client = H3Client::new("127.0.0.1:0".parse()?, &cert, server)?;
            let (mut polls, mut first, mut last) = (0, None, 0);
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client.get(&path, &[])?;
                ensure!(r.status == 200, "player: status {}", r.status);
                let p = m3u8::parse_media(&String::from_utf8_lossy(&r.body))?;
                let msn = p.segments.last().map_or(0, |s| s.msn);
                first.get_or_insert(msn);
                last = msn;
                seen.push(msn);
                polls += 1;
                std::thread::sleep(Duration::from_millis(250));
            }
            Ok((polls, first.unwrap_or(0), last, seen))
        })
    };
    let started = Instant::now();
    let mut checks = Checks::new();

    checks.run("random datagrams are dropped and counted", || {
        let before = edge.metric(DROPPED, &[])?;
        let socket = UdpSocket::bind("127.0.0.3:0")?;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for i in 0..500 {
            let len = 1 + (i * 37) % 1400;
            let datagram: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            socket.send_to(&datagram, server)?;
        }
        let counted = || Ok(Some(edge.metric(DROPPED, &[])? - before).filter(|n| *n >= 100.0));
        wait_for(
            "100 of 500 random datagrams counted",
            Duration::from_secs(5),
            Duration::from_millis(200),
            counted,
        )
        .map(drop)
    });
    checks.run(
        "unknown QUIC version → Version Negotiation, counted",
        || {
            let socket = UdpSocket::bind("127.0.0.3:0")?;
            socket.set_read_timeout(Some(Duration::from_secs(3)))?;
            // Long header, Initial, version 0x1a2a3a4a (RFC 9000 §15 reserves
            // 0x?a?a?a?a to force negotiation), DCID and SCID of 8 bytes, padded.
            let mut initial = vec![0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8];
            initial.extend_from_slice(&[0x11; 8]);
            initial.push(8);
            initial.extend_from_slice(&[0x22; 8]);
            initial.resize(1200, 0);
            socket.send_to(&initial, server)?;
            let mut buf = [0u8; 1500];
            let (n, _) = socket
                .recv_from(&mut buf)
                .context("no Version Negotiation")?;
            let vn = &buf[..n];
            ensure!(
                n >= 7 && vn[0] & 0x80 != 0 && vn[1..5] == [0, 0, 0, 0],
                "not a Version Negotiation packet: {vn:02x?}"
            );
            // Version 0, DCID (= our SCID), SCID (= our DCID), then the versions.
            let dcid_len = vn[5] as usize;
            let scid_len = vn[6 + dcid_len] as usize;
            let versions = &vn[7 + dcid_len + scid_len..];
            ensure!(
                versions.chunks(4).any(|v| v == [0, 0, 0, 1]),
                "QUIC v1 not offered: {versions:02x?}"
            );
            let counted = || {
                let n = edge.metric(DROPPED, &[("reason", "unknown_version")])?;
                Ok(Some(n).filter(|n| *n >= 1.0))
            };
            wait_for(
                "unknown_version counted",
                Duration::from_secs(5),
                Duration::from_millis(200),
                counted,
            )
            .map(drop)
        },
    );
    checks.run("oversized request head → 431, counted", || {
        let mut client = H3Client::new("127.0.0.4:0".parse()?, &tls.cert, server)?;
        let big = "x".repeat(20_000);
        let r = client.get(&playlist_path, &[("x-padding", big)])?;
        ensure!(r.status == 431, "status {} for a 20 KB header", r.status);
        let r = client.get(&playlist_path, &[])?;
        ensure!(r.status == 200, "the same connection then: {}", r.status);
        let counted = edge.metric(
            "ferrocast_http3_requests_refused_total",
            &[("reason", "oversized_headers")],
        )?;
        ensure!(counted >= 1.0, "not counted");
        Ok(())
    });
    checks.run("connection flood from one address is limited", || {
        let flood = H3Client::new("127.0.0.2:0".parse()?, &tls.cert, server)?;
        let ok = flood.connect_many(120);
        ensure!(
            (10..=60).contains(&ok),
            "{ok} of 120 connections from 127.0.0.2 completed (burst 20, 10/s)"
        );
        let refused = edge.metric(
            "ferrocast_http3_connections_refused_total",
            &[("reason", "rate")],
        )?;
        ensure!(refused >= 50.0, "only {refused} refusals counted");
        let mut other = H3Client::new("127.0.0.5:0".parse()?, &tls.cert, server)?;
        let r = other.get(&playlist_path, &[])?;
        ensure!(
            r.status == 200,
            "another address during the flood: {}",
            r.status
        );
        Ok(())
    });

    // Let the player run for a few more segments.
    let elapsed = started.elapsed();
    if elapsed < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_secs(6) - elapsed);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let outcome = player.join().expect("player thread");
    checks.run("the player never noticed", || {
        let (polls, first, last, seen) = outcome?;
        let ran = started.elapsed();
        ensure!(polls >= 10, "only {polls} polls in {ran:?}");
        // The publisher's 2 s GOP makes 2 s segments: ≥ 6 s of polling sees 2 more.
        ensure!(
            last >= first + 2,
            "media sequence {first} → {last} in {ran:?} ({polls} polls: {seen:?}): stalled"
        );
        Ok(())
    });
    checks.finish();
    Ok(())
}
