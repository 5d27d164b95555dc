//! # WHEP and WHIP: the HTTP contract and bad input
//!
//! An ffmpeg RTMP publisher (H.264 without B-frames, AAC) makes a channel live;
//! then, against the real origin:
//! - a WHEP offer gets 201, `application/sdp`, a `Location` under the channel,
//!   and an ICE-lite answer with a host candidate on `[webrtc] udp_listen` and
//!   H.264; `DELETE` of the `Location` answers 200, then 404;
//! - malformed SDP → 400, a VP8-only offer → 406 naming the codec, a channel that
//!   is not live → 404, a non-SDP body → 415, `PATCH` → 405;
//! - WHIP without a key → 401, with a wrong key → 401, with another channel's key
//!   → 403, and a WHIP offer for a channel that RTMP already publishes → 409;
//! - on a `playback = token` channel, WHEP needs the HLS token (403 without or
//!   with a bad one; 201 with it in the path or as a Bearer field);
//! - random UDP datagrams on the media port are dropped and counted;
//! - the LL-HLS stream keeps advancing through all of it.
//!
//! Playback with real WebRTC clients is in `tests/browser/webrtc.test.mjs`
//! (Chromium) and `whep_clients.rs` (str0m clients).

use std::net::UdpSocket;
use std::time::Duration;

use anyhow::{ensure, Result};
use tests::checks::wait_until;
use tests::http::api_call;
use tests::origin::{unique_key, Origin, OriginConfig};
use tests::publisher::{PublishOptions, Publisher};
use tests::srt::{metric, segments};
use tests::webrtc::{offer, sdp_request, H264_CB, VP8_ONLY};

const SDP: &str = "application/sdp";
const ADMIN_KEY: &str = "webrtc-test-admin-key";

/// What, URL, Bearer, Content-Type, body, expected status, expected text.
type Case<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    &'a str,
    String,
    u16,
    &'a str,
);

#[test]
fn whep_and_whip_http_contract_and_bad_input() {
    run().unwrap();
}

fn run() -> Result<()> {
    let (key, other_key) = (unique_key("rtc"), unique_key("other"));
    let origin = Origin::start(OriginConfig {
        channels: vec![
            ("rtc".into(), key.clone()),
            ("other".into(), other_key.clone()),
        ],
        extra_toml: format!("[api]\nadmin_keys = [{ADMIN_KEY:?}]\n"),
        ..OriginConfig::default()
    })?;
    let _publisher = Publisher::start(
        &origin.rtmp_url(&key),
        &PublishOptions {
            bframes: 0,
            ..PublishOptions::default()
        },
        origin.dir(),
        "rtmp-rtc",
    )?;
    wait_until(
        "rtc segments",
        Duration::from_secs(40),
        Duration::from_millis(200),
        || Ok(segments(&origin, "rtc") >= 2),
    )?;
    let whep = origin.url("/whep/rtc");

    // A WHEP offer is answered.
    let r = sdp_request("POST", &whep, None, SDP, &offer(H264_CB, false, false))?;
    ensure!(r.status == 201, "WHEP POST: {} {}", r.status, r.body);
    ensure!(
        r.content_type.starts_with(SDP),
        "content type {}",
        r.content_type
    );
    let location = r.location.clone().unwrap_or_default();
    ensure!(location.starts_with("/whep/rtc/"), "Location {location:?}");
    ensure!(
        r.body.contains("a=ice-lite"),
        "answer is not ICE-lite:\n{}",
        r.body
    );
    let candidate = format!("127.0.0.1 {} typ host", origin.webrtc.port());
    ensure!(
        r.body.contains(&candidate),
        "no host candidate {candidate:?}:\n{}",
        r.body
    );
    ensure!(
        r.body.contains("H264/90000"),
        "no H.264 in the answer:\n{}",
        r.body
    );
    ensure!(
        r.body.contains("opus/48000/2") || !r.body.contains("m=audio 9"),
        "audio accepted without Opus"
    );
    let d = sdp_request("DELETE", &origin.url(&location), None, SDP, "")?;
    ensure!(d.status == 200, "DELETE: {} {}", d.status, d.body);
    let d = sdp_request("DELETE", &origin.url(&location), None, SDP, "")?;
    ensure!(d.status == 404, "second DELETE: {} {}", d.status, d.body);

    // Refusals, each a clear one-line error.
    let cases: [Case; 9] = [
        (
            "malformed SDP",
            whep.clone(),
            None,
            SDP,
            "v=0\r\nthis is not sdp\r\n".into(),
            400,
            "SDP",
        ),
        (
            "no common codec",
            whep.clone(),
            None,
            SDP,
            offer(VP8_ONLY, false, true),
            406,
            "H.264",
        ),
        (
            "not live",
            origin.url("/whep/other"),
            None,
            SDP,
            offer(H264_CB, false, false),
            404,
            "not live",
        ),
        (
            "not SDP",
            whep.clone(),
            None,
            "text/plain",
            "hello".into(),
            415,
            "application/sdp",
        ),
        (
            "PATCH",
            origin.url(&location),
            None,
            "application/trickle-ice-sdpfrag",
            "a=end-of-candidates".into(),
            405,
            "trickle",
        ),
        (
            "WHIP without key",
            origin.url("/whip/rtc"),
            None,
            SDP,
            offer(H264_CB, true, false),
            401,
            "Bearer",
        ),
        (
            "WHIP wrong key",
            origin.url("/whip/rtc"),
            Some("no-such-key-123"),
            SDP,
            offer(H264_CB, true, false),
            401,
            "unknown stream key",
        ),
        (
            "WHIP other channel's key",
            origin.url("/whip/rtc"),
            Some(other_key.as_str()),
            SDP,
            offer(H264_CB, true, false),
            403,
            "does not publish",
        ),
        (
            "WHIP while RTMP publishes",
            origin.url("/whip/rtc"),
            Some(key.as_str()),
            SDP,
            offer(H264_CB, true, false),
            409,
            "already has a live publisher",
        ),
    ];
    for (what, url, bearer, content_type, body, status, text) in cases {
        let r = sdp_request(
            if what == "PATCH" { "PATCH" } else { "POST" },
            &url,
            bearer,
            content_type,
            &body,
        )?;
        eprintln!("  {what}: {} {}", r.status, r.body.trim());
        ensure!(
            r.status == status,
            "{what}: want {status}, got {} {}",
            r.status,
            r.body
        );
        ensure!(
            r.body.contains(text),
            "{what}: the error does not mention {text:?}: {}",
            r.body
        );
        ensure!(
            r.body.trim().lines().count() == 1,
            "{what}: not one line: {:?}",
            r.body
        );
    }
    let refused = metric(
        &origin,
        "ferrocast_webrtc_offers_total",
        &[("result", "no_codec")],
    );
    ensure!(refused >= 1.0, "no_codec offers counted: {refused}");

    // Token playback applies to WHEP as to HLS.
    let api = |path: &str| origin.url(&format!("/api/v1/{path}"));
    let (status, body) = api_call(
        "PATCH",
        &api("channels/rtc"),
        Some(ADMIN_KEY),
        Some(r#"{"playback":"token"}"#),
    )?;
    ensure!(status == 200, "PATCH to token playback: {status} {body}");
    let (status, minted) = api_call(
        "POST",
        &api("tokens"),
        Some(ADMIN_KEY),
        Some(r#"{"channel":"rtc"}"#),
    )?;
    ensure!(status == 201, "mint: {status}");
    let token = minted["token"].as_str().unwrap_or_default().to_owned();
    let prefix = minted["path_prefix"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let o = offer(H264_CB, false, false);
    let r = sdp_request("POST", &whep, None, SDP, &o)?;
    ensure!(
        r.status == 403,
        "token channel without a token: {} {}",
        r.status,
        r.body
    );
    let r = sdp_request("POST", &whep, Some("not.a-token"), SDP, &o)?;
    ensure!(
        r.status == 403,
        "token channel with a bad token: {} {}",
        r.status,
        r.body
    );
    let r = sdp_request(
        "POST",
        &origin.url(&format!("{prefix}/whep/rtc")),
        None,
        SDP,
        &o,
    )?;
    ensure!(
        r.status == 201,
        "token in the path: {} {}",
        r.status,
        r.body
    );
    let r = sdp_request("POST", &whep, Some(&token), SDP, &o)?;
    ensure!(r.status == 201, "token as Bearer: {} {}", r.status, r.body);
    let (status, _) = api_call(
        "PATCH",
        &api("channels/rtc"),
        Some(ADMIN_KEY),
        Some(r#"{"playback":"public"}"#),
    )?;
    ensure!(status == 200, "PATCH back to public: {status}");

    // Random datagrams on the media port: dropped and counted.
    let before = metric(&origin, "ferrocast_webrtc_datagrams_dropped_total", &[]);
    let junk = UdpSocket::bind("127.0.0.1:0")?;
    for i in 0..200u32 {
        let mut d = vec![0u8; 20 + (i as usize * 37) % 1200];
        for (j, b) in d.iter_mut().enumerate() {
            *b = (i as usize * 31 + j * 17) as u8;
        }
        junk.send_to(&d, origin.webrtc)?;
        if i % 20 == 19 {
            // Paced: a burst could overflow the socket's receive buffer, and the
            // kernel's drops are not the origin's to count.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // A STUN binding request naming no session of ours.
    let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7u8; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    stun.extend_from_slice(b"nope:who");
    junk.send_to(&stun, origin.webrtc)?;
    wait_until(
        "junk counted",
        Duration::from_secs(5),
        Duration::from_millis(100),
        || Ok(metric(&origin, "ferrocast_webrtc_datagrams_dropped_total", &[]) >= before + 201.0),
    )?;

    // The stream went on.
    let n = segments(&origin, "rtc");
    wait_until(
        "rtc keeps advancing",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || Ok(segments(&origin, "rtc") > n),
    )?;
    Ok(())
}
