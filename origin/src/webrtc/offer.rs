//! From an SDP offer to a str0m [`Rtc`] and its answer (RFC 8829 JSEP answerer,
//! RFC 8839 ICE-lite, RFC 5763/5764 DTLS-SRTP).
//!
//! The codecs configured are exactly what the session will carry, so str0m's
//! matching (RFC 3264 §6; for H.264 the profile must match, the level may differ,
//! RFC 6184 §8.2.2) decides whether the browser can take it:
//! - a WHEP viewer gets H.264 with the channel's `profile-level-id` (RTX for
//!   retransmissions, RFC 4588) or AV1, and Opus;
//! - a WHIP publisher may send H.264 (the usual browser profiles) and Opus.
//!
//! An offer that ends with no common video or audio codec is refused
//! ([`OfferError::NoCodec`]), so the client learns it from the HTTP answer rather
//! than from a silent session.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::{Candidate, Rtc, RtcConfig};

use super::loop_input::{OfferError, StreamInfo, VideoOut};

/// Payload types we assign (dynamic range, RFC 3551 §3).
/// The first H.264 payload type; each H.264 format takes two (itself, then its
/// RTX, RFC 4588).
const PT_H264: u8 = 102;
/// H.264 profiles browsers encode with (RFC 6184 §8.1 profile-level-id):
/// Constrained Baseline, Baseline, Main, High; level 3.1.
const PUBLISHER_H264_PROFILES: [u32; 4] = [0x42e01f, 0x42001f, 0x4d001f, 0x64001f];

/// How often str0m reports per-media statistics (used for slow viewers).
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// A negotiated media line: where to write (or what arrives) and with which
/// payload type.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated {
    /// The media line.
    pub mid: Mid,
    /// Our payload type for it (viewers write with it).
    pub pt: Pt,
}

/// A session set up from an offer.
pub struct Built {
    /// The session.
    pub rtc: Rtc,
    /// The SDP answer.
    pub answer: String,
    /// The video line, when one was negotiated.
    pub video: Option<Negotiated>,
    /// The audio line, when one was negotiated.
    pub audio: Option<Negotiated>,
    /// Our ICE username fragment (STUN requests name it, RFC 8445 §7.2.2).
    pub ufrag: String,
}

/// What every session shares: our certificate and candidate addresses.
#[derive(Clone)]
pub struct Local {
    /// One DTLS certificate for all sessions (its fingerprint is in every answer).
    pub cert: DtlsCert,
    /// Host candidates (RFC 8445 §5.1.1.1).
    pub candidates: Vec<SocketAddr>,
}

/// Answers a WHEP viewer's offer for a channel described by `info`.
pub fn viewer(offer: SdpOffer, info: &StreamInfo, local: &Local) -> Result<Built, OfferError> {
    let mut config = base_config(local);
    let video_codec = match info.video {
        Some(VideoOut::H264 { profile_level_id }) => {
            for (i, plid) in viewer_h264_profiles(profile_level_id)
                .into_iter()
                .enumerate()
            {
                let pt = PT_H264 + 2 * i as u8;
                config.codec_config().add_h264(
                    Pt::new_with_value(pt),
                    Some(Pt::new_with_value(pt + 1)),
                    true,
                    plid,
                );
            }
            Codec::H264
        }
        Some(VideoOut::Av1) => {
            config = config.enable_av1(true);
            Codec::Av1
        }
        None => Codec::H264,
    };
    if info.opus_channels.is_some() {
        config = config.enable_opus(true, false);
    }
    let built = build(config, offer, local, video_codec)?;
    if built.video.is_none() {
        match info.video {
            Some(VideoOut::H264 { profile_level_id }) => {
                return Err(OfferError::NoCodec(format!(
                    "the channel sends H.264 (profile-level-id={profile_level_id:06x}, packetization-mode=1); the offer has no H.264 with packetization-mode=1"
                )))
            }
            Some(VideoOut::Av1) => {
                return Err(OfferError::NoCodec(
                    "the channel sends AV1; the offer has no AV1".into(),
                ))
            }
            None if built.audio.is_none() => {
                return Err(OfferError::NoCodec(
                    "the channel sends Opus audio only; the offer has no Opus".into(),
                ))
            }
            None => {}
        }
    }
    Ok(built)
}

/// The H.264 formats a viewer may take, best first: the source's own
/// `profile-level-id`, then Main, Constrained Baseline and Baseline.
///
/// Browsers list fewer profiles than they decode: Chromium offers no High profile
/// (`64xxxx`) yet decodes it with FFmpeg, as Safari does with VideoToolbox. When
/// the offer lacks the source's profile, the answer names the best profile it has
/// and the stream goes out unchanged; the SPS in band tells the decoder the truth
/// (docs/decisions.md, "WebRTC: H.264 profiles").
fn viewer_h264_profiles(source: u32) -> Vec<u32> {
    let mut out = vec![source];
    for fallback in [0x4d001f, 0x42e01f, 0x42001f] {
        // str0m matches by profile (RFC 6184 §8.2.2), so one entry per profile.
        if fallback >> 16 != source >> 16 || (fallback >> 8) & 0xff != (source >> 8) & 0xff {
            out.push(fallback);
        }
    }
    out
}

/// Answers a WHIP publisher's offer.
pub fn publisher(offer: SdpOffer, local: &Local) -> Result<Built, OfferError> {
    let mut config = base_config(local);
    add_h264(&mut config, &PUBLISHER_H264_PROFILES);
    config = config.enable_opus(true, false);
    let built = build(config, offer, local, Codec::H264)?;
    if built.video.is_none() {
        return Err(OfferError::NoCodec(
            "WHIP takes H.264 (packetization-mode=1) video and Opus audio; the offer has no H.264"
                .into(),
        ));
    }
    Ok(built)
}

/// H.264 formats (packetization-mode 1, RFC 6184 §6.3) with RTX each, in order of
/// preference.
fn add_h264(config: &mut RtcConfig, profile_level_ids: &[u32]) {
    for (i, plid) in profile_level_ids.iter().enumerate() {
        let pt = PT_H264 + 2 * i as u8;
        config.codec_config().add_h264(
            Pt::new_with_value(pt),
            Some(Pt::new_with_value(pt + 1)),
            true,
            *plid,
        );
    }
}

fn base_config(local: &Local) -> RtcConfig {
    RtcConfig::new()
        .clear_codecs()
        .set_ice_lite(true)
        .set_dtls_cert(local.cert.clone())
        .set_stats_interval(Some(STATS_INTERVAL))
}

/// Accepts `offer` and finds the negotiated media lines.
fn build(
    config: RtcConfig,
    offer: SdpOffer,
    local: &Local,
    video_codec: Codec,
) -> Result<Built, OfferError> {
    let now = Instant::now();
    let mut rtc = config.build(now);
    for addr in &local.candidates {
        let candidate =
            Candidate::host(*addr, "udp").map_err(|e| OfferError::Internal(e.to_string()))?;
        rtc.add_local_candidate(candidate);
    }
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| OfferError::BadSdp(e.to_string()))?;
    let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
    let answer = answer.to_sdp_string();
    let mut video = None;
    let mut audio = None;
    // str0m announces media lines (Event::MediaAdded) only once DTLS is up; the
    // answer names them already (RFC 8843 §9.2 `a=mid`).
    for mid in answer_mids(&answer) {
        let mid = Mid::from(mid);
        let Some(media) = rtc.media(mid) else {
            continue;
        };
        let (kind, direction) = (media.kind(), media.direction());
        if direction == Direction::Inactive {
            continue;
        }
        let codec = match kind {
            MediaKind::Video => video_codec,
            MediaKind::Audio => Codec::Opus,
        };
        let Some(writer) = rtc.writer(mid) else {
            continue;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
        else {
            continue;
        };
        let slot = match kind {
            MediaKind::Video => &mut video,
            MediaKind::Audio => &mut audio,
        };
        slot.get_or_insert(Negotiated { mid, pt });
    }
    Ok(Built {
        rtc,
        answer,
        video,
        audio,
        ufrag,
    })
}

/// The `a=mid` values of the media sections an SDP accepts (port not 0,
/// RFC 3264 §6).
fn answer_mids(sdp: &str) -> Vec<&str> {
    let mut mids = Vec::new();
    let mut accepted = false;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            accepted = m.split(' ').nth(1).is_some_and(|port| port != "0");
        } else if let Some(mid) = line.strip_prefix("a=mid:") {
            if accepted {
                mids.push(mid.trim());
            }
        }
    }
    mids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mids_of_accepted_sections_only() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:v2\r\n";
        assert_eq!(answer_mids(sdp), ["0", "v2"]);
    }
}
