//! WHEP/WHIP over HTTP for tests: SDP requests, and SDP offers written out by hand
//! (what a browser would send, minus what the tests do not need).

use std::time::Duration;

use anyhow::Result;

/// The answer to an SDP request.
#[derive(Debug)]
pub struct SdpResponse {
    /// HTTP status.
    pub status: u16,
    /// `Location`, if any.
    pub location: Option<String>,
    /// `Content-Type`.
    pub content_type: String,
    /// The body (an SDP answer, or one line of error text).
    pub body: String,
}

/// `method` on `url` with `body` as `content_type` and an optional Bearer token.
pub fn sdp_request(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    content_type: &str,
    body: &str,
) -> Result<SdpResponse> {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(10));
    if let Some(b) = bearer {
        req = req.set("Authorization", &format!("Bearer {b}"));
    }
    let result = if method == "DELETE" || method == "OPTIONS" {
        req.call()
    } else {
        req.set("Content-Type", content_type).send_string(body)
    };
    let resp = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => anyhow::bail!("{method} {url}: {e}"),
    };
    Ok(SdpResponse {
        status: resp.status(),
        location: resp.header("location").map(str::to_owned),
        content_type: resp.header("content-type").unwrap_or("").to_owned(),
        body: resp.into_string()?,
    })
}

/// A WHEP-style offer (receive only) or, with `send`, a WHIP-style one, with
/// the given video `rtpmap`/`fmtp` lines (e.g. [`H264_CB`]) and Opus audio unless
/// `video_only`. ICE credentials and the DTLS fingerprint are syntactically
/// valid; no client stands behind them.
pub fn offer(video: &str, send: bool, video_only: bool) -> String {
    let direction = if send { "sendonly" } else { "recvonly" };
    let fingerprint = (0..32)
        .map(|i| format!("{:02X}", i * 7 % 256))
        .collect::<Vec<_>>()
        .join(":");
    let mut sdp = format!(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         a=group:BUNDLE 0{}\r\na=msid-semantic: WMS\r\n",
        if video_only { "" } else { " 1" }
    );
    let section = |kind: &str, mid: u8, pts: &str, codecs: &str| {
        format!(
            "m={kind} 9 UDP/TLS/RTP/SAVPF {pts}\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
             a=ice-ufrag:Tf3x\r\na=ice-pwd:Y2ofKzt5d0aoETSV3PDwRgaw\r\na=ice-options:trickle\r\n\
             a=fingerprint:sha-256 {fingerprint}\r\na=setup:actpass\r\na=mid:{mid}\r\n\
             a={direction}\r\na=rtcp-mux\r\n{codecs}"
        )
    };
    let pts: String = video
        .lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|l| l.split(' ').next())
        .collect::<Vec<_>>()
        .join(" ");
    sdp.push_str(&section("video", 0, &pts, video));
    if !video_only {
        sdp.push_str(&section(
            "audio",
            1,
            "111",
            "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
        ));
    }
    sdp
}

/// Constrained Baseline H.264 with RTX, as Chromium offers it.
pub const H264_CB: &str =
    "a=rtpmap:108 H264/90000\r\na=rtcp-fb:108 nack\r\na=rtcp-fb:108 nack pli\r\n\
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n";

/// VP8 only: nothing the origin can send.
pub const VP8_ONLY: &str = "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n";
