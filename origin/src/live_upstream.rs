//! The origin's [`Upstream`]: answers live URLs from the channels' packagers.
//!
//! LL-HLS blocking requests (draft-pantos-hls-rfc8216bis §6.2.5.2) and requests for
//! the preload-hinted part are held here until the packager produces what they ask
//! for, or three target durations pass (503). The in-progress segment is streamed
//! part by part for low-latency DASH.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use edge::upstream::{
    ObjectKind, Upstream, UpstreamBody, UpstreamFuture, UpstreamRequest, UpstreamResponse,
};
use futures_util::StreamExt;
use http::StatusCode;
use packager::hls::{BlockDecision, PartLookup, SegmentLookup};
use packager::live::LiveStream;
use packager::media::MediaKind;
use tokio::time::Instant;

use crate::channels::{Channel, ChannelState, Channels};
use crate::clock::now_ms;
use crate::live_paths::{self, hls_directives, LivePath};
use crate::metrics::{GaugeGuard, OriginMetrics};

/// `Cache-Control` of init segments, segments and parts (ARCHITECTURE.md caching rules).
pub const CACHE_IMMUTABLE: &str = "public, max-age=86400, immutable";
/// `Cache-Control` of a 404 for a part that is not hinted yet.
pub const CACHE_NOT_YET: &str = "max-age=1";
/// `Cache-Control` of the live MPD: one second, the least HTTP can say. The MPD's
/// `minimumUpdatePeriod` is shorter than a segment because dash.js learns of new
/// segments only from a refresh; a longer max-age would hide them (ARCHITECTURE.md
/// says "about one segment target"; this is the reason we go below it).
pub const CACHE_MPD: &str = "public, max-age=1";
/// `Content-Type` of HLS playlists (RFC 8216 §4).
pub const CONTENT_TYPE_M3U8: &str = "application/vnd.apple.mpegurl";
/// `Content-Type` of DASH manifests (ISO/IEC 23009-1 Annex C).
pub const CONTENT_TYPE_MPD: &str = "application/dash+xml";

/// Serves `/live/…` from the channel registry.
pub struct LiveUpstream {
    channels: Arc<Channels>,
    metrics: OriginMetrics,
}

impl LiveUpstream {
    /// An upstream over `channels`.
    pub fn new(channels: Arc<Channels>, metrics: OriginMetrics) -> Self {
        Self { channels, metrics }
    }
}

impl Upstream for LiveUpstream {
    fn fetch(&self, request: UpstreamRequest) -> UpstreamFuture {
        let channels = self.channels.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move { respond(&channels, &metrics, request).await })
    }
}

async fn respond(
    channels: &Channels,
    metrics: &OriginMetrics,
    request: UpstreamRequest,
) -> UpstreamResponse {
    let Some(path) = live_paths::parse(&request.path) else {
        return UpstreamResponse::error(StatusCode::NOT_FOUND, "not found\n");
    };
    let channel_name = match &path {
        LivePath::Multivariant { channel }
        | LivePath::Mpd { channel }
        | LivePath::MediaPlaylist { channel, .. }
        | LivePath::Init { channel, .. }
        | LivePath::Segment { channel, .. }
        | LivePath::Part { channel, .. } => *channel,
    };
    let Some(channel) = channels.get(channel_name) else {
        return UpstreamResponse::error(
            StatusCode::NOT_FOUND,
            format!("no channel {channel_name:?}\n"),
        );
    };
    if channel.token_required() && request.token.is_none() {
        // Same answer as the pipeline's for a missing token: 403, never cached.
        return UpstreamResponse::error(
            StatusCode::FORBIDDEN,
            format!("{}\n", edge::token::TokenError::Missing),
        );
    }
    let owned = channel;
    let channel = &*owned;
    match path {
        LivePath::Multivariant { .. } => with_described_stream(channel, |s| {
            playlist_response(
                ObjectKind::MultivariantPlaylist,
                multivariant_cache(s),
                packager::hls::multivariant_playlist(s),
            )
        }),
        LivePath::Mpd { .. } => with_described_stream(channel, |s| {
            let options = packager::dash::MpdOptions {
                utc_timing_url: utc_timing_url(request.authority.as_deref()),
                now_ms: now_ms(),
            };
            UpstreamResponse {
                status: StatusCode::OK,
                kind: ObjectKind::Mpd,
                content_type: CONTENT_TYPE_MPD,
                cache_control: CACHE_MPD.into(),
                headers: http::HeaderMap::new(),
                body: UpstreamBody::Full(Bytes::from(packager::dash::live_mpd(s, &options))),
            }
        }),
        LivePath::MediaPlaylist { rendition, .. } => {
            media_playlist(channel, metrics, rendition, request.query.as_deref()).await
        }
        LivePath::Init {
            rendition, file, ..
        } => with_stream(channel, |s| {
            match s
                .rendition(rendition)
                .and_then(|r| Some((r.kind(), packager::hls::init(r, file)?)))
            {
                Some((kind, bytes)) => {
                    media_response(ObjectKind::Init, kind, UpstreamBody::Full(bytes))
                }
                None => UpstreamResponse::error(
                    StatusCode::NOT_FOUND,
                    format!("no init segment {file:?} in {rendition:?}\n"),
                ),
            }
        }),
        LivePath::Part {
            rendition,
            msn,
            part,
            ..
        } => part_response(channel, metrics, rendition, msn, part).await,
        LivePath::Segment { rendition, msn, .. } => {
            segment_response(owned.clone(), rendition, msn).await
        }
    }
}

/// Where players sync their clock (DASH UTCTiming): this server's `/time`, as a
/// scheme-relative URL so it resolves against the MPD's host even when the player
/// page lives elsewhere (a path-only URL would resolve against the page).
fn utc_timing_url(authority: Option<&str>) -> String {
    match authority {
        Some(a)
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'<' && b != b'&') =>
        {
            format!("//{a}/time")
        }
        _ => "/time".into(),
    }
}

/// Runs `f` on the channel's stream, or answers 404 when nothing was published yet.
fn with_stream(
    channel: &Channel,
    f: impl FnOnce(&LiveStream) -> UpstreamResponse,
) -> UpstreamResponse {
    let state = channel.lock();
    match state.stream.as_ref() {
        Some(s) if !s.renditions().is_empty() => f(s),
        _ => UpstreamResponse::error(
            StatusCode::NOT_FOUND,
            format!("channel {:?} is not live\n", channel.name),
        ),
    }
}

/// Like [`with_stream`], for the multivariant playlist and the MPD, which players
/// read once (hls.js never reloads the multivariant playlist): they wait until
/// the leading rendition has completed its first segment. By then every track of
/// the stream is known (an MPEG-TS muxer may send the first audio up to ~0.7 s
/// after the first video) and BANDWIDTH is measured rather than guessed.
fn with_described_stream(
    channel: &Channel,
    f: impl FnOnce(&LiveStream) -> UpstreamResponse,
) -> UpstreamResponse {
    with_stream(channel, |s| {
        let leader_has_segment = s
            .renditions()
            .first()
            .is_some_and(|r| r.playlist_segments().any(|seg| seg.complete));
        if leader_has_segment {
            f(s)
        } else {
            UpstreamResponse::error(
                StatusCode::NOT_FOUND,
                format!(
                    "channel {:?} is starting: its first segment is not complete yet\n",
                    channel.name
                ),
            )
        }
    })
}

fn not_found_rendition(rendition: &str) -> UpstreamResponse {
    UpstreamResponse::error(
        StatusCode::NOT_FOUND,
        format!("no rendition {rendition:?}\n"),
    )
}

/// Multivariant playlists: about one segment target.
fn multivariant_cache(s: &LiveStream) -> String {
    let secs = (s.config().segment_target_ms as f64 / 1000.0)
        .ceil()
        .max(1.0);
    format!("public, max-age={secs}")
}

/// Media playlists: one part target (at least the one second HTTP can express).
fn media_playlist_cache(s: &LiveStream) -> String {
    let secs = (s.config().part_target_ms as f64 / 1000.0).ceil().max(1.0);
    format!("public, max-age={secs}")
}

/// The target duration assumed before anything was published.
const DEFAULT_TARGET_DURATION_S: u32 = 2;

/// How long a blocking request may be held: three target durations (§6.2.5.2).
fn block_timeout(channel: &Channel) -> Duration {
    // The playlist's own EXT-X-TARGETDURATION, which grows past the segment target
    // when key frames are sparser than it.
    let target_duration_s = channel
        .lock()
        .stream
        .as_ref()
        .map_or(DEFAULT_TARGET_DURATION_S, LiveStream::target_duration_s);
    Duration::from_secs(3 * u64::from(target_duration_s))
}

fn playlist_response(kind: ObjectKind, cache_control: String, text: String) -> UpstreamResponse {
    UpstreamResponse {
        status: StatusCode::OK,
        kind,
        content_type: CONTENT_TYPE_M3U8,
        cache_control,
        headers: http::HeaderMap::new(),
        body: UpstreamBody::Full(Bytes::from(text)),
    }
}

fn media_response(kind: ObjectKind, media: MediaKind, body: UpstreamBody) -> UpstreamResponse {
    UpstreamResponse {
        status: StatusCode::OK,
        kind,
        content_type: match media {
            MediaKind::Video => "video/mp4",
            MediaKind::Audio => "audio/mp4",
        },
        cache_control: CACHE_IMMUTABLE.into(),
        headers: http::HeaderMap::new(),
        body,
    }
}

/// The outcome of one look at the channel while waiting.
enum Look<T> {
    Done(T),
    Wait,
}

/// Evaluates `look` now and after every change of the channel until it is done or
/// `timeout` passes (`None`).
async fn wait_until<T>(
    channel: &Channel,
    timeout: Duration,
    mut look: impl FnMut(&ChannelState) -> Look<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let mut changes = channel.subscribe();
    loop {
        changes.borrow_and_update();
        if let Look::Done(v) = look(&channel.lock()) {
            return Some(v);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

async fn media_playlist(
    channel: &Channel,
    metrics: &OriginMetrics,
    rendition: &str,
    query: Option<&str>,
) -> UpstreamResponse {
    let directives = match hls_directives(query) {
        Ok(d) => d,
        Err(e) => return UpstreamResponse::error(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    // §6.2.5.2: "_HLS_part without _HLS_msn" is a client error.
    if directives.part.is_some() && directives.msn.is_none() {
        return UpstreamResponse::error(StatusCode::BAD_REQUEST, "_HLS_part requires _HLS_msn\n");
    }
    let render = |s: &LiveStream| -> Option<UpstreamResponse> {
        let text = packager::hls::media_playlist(s, rendition, directives.skip)?;
        Some(playlist_response(
            ObjectKind::MediaPlaylist,
            media_playlist_cache(s),
            text,
        ))
    };
    let Some(msn) = directives.msn else {
        return with_stream(channel, |s| {
            render(s).unwrap_or_else(|| not_found_rendition(rendition))
        });
    };
    let _waiting = GaugeGuard::new(&metrics.blocking_waiting);
    let answer = wait_until(channel, block_timeout(channel), |state| {
        let Some(s) = state.stream.as_ref() else {
            return Look::Done(UpstreamResponse::error(
                StatusCode::NOT_FOUND,
                "channel is not live\n",
            ));
        };
        let Some(r) = s.rendition(rendition) else {
            return Look::Wait;
        };
        match packager::hls::blocking::decide(r, msn, directives.part) {
            BlockDecision::Ready => {
                Look::Done(render(s).unwrap_or_else(|| not_found_rendition(rendition)))
            }
            BlockDecision::Wait if s.ended() => {
                Look::Done(render(s).unwrap_or_else(|| not_found_rendition(rendition)))
            }
            BlockDecision::Wait => Look::Wait,
            BlockDecision::BadRequest(why) => Look::Done(UpstreamResponse::error(
                StatusCode::BAD_REQUEST,
                format!("{why}\n"),
            )),
        }
    })
    .await;
    answer.unwrap_or_else(|| {
        UpstreamResponse::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the requested playlist update did not arrive within three target durations\n",
        )
    })
}

async fn part_response(
    channel: &Channel,
    metrics: &OriginMetrics,
    rendition: &str,
    msn: u64,
    part: u32,
) -> UpstreamResponse {
    let _waiting = GaugeGuard::new(&metrics.blocking_waiting);
    let answer = wait_until(channel, block_timeout(channel), |state| {
        let Some(s) = state.stream.as_ref() else {
            return Look::Done(UpstreamResponse::error(
                StatusCode::NOT_FOUND,
                "channel is not live\n",
            ));
        };
        let Some(r) = s.rendition(rendition) else {
            return Look::Done(not_found_rendition(rendition));
        };
        match packager::hls::part(r, msn, part) {
            PartLookup::Ready(bytes) => Look::Done(media_response(
                ObjectKind::Part,
                r.track.kind(),
                UpstreamBody::Full(bytes),
            )),
            PartLookup::Pending if !s.ended() => Look::Wait,
            PartLookup::Pending | PartLookup::Gone => {
                let mut e = UpstreamResponse::error(StatusCode::NOT_FOUND, "no such part\n");
                // A part ahead of anything produced may exist soon: cache its 404 only
                // briefly. A part behind the window never will: `no-store` like any error.
                let newest = r.segments.back().map_or(0, |seg| seg.msn);
                if !s.ended() && msn >= newest {
                    e.cache_control = CACHE_NOT_YET.into();
                }
                Look::Done(e)
            }
        }
    })
    .await;
    answer.unwrap_or_else(|| {
        UpstreamResponse::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the part did not arrive within three target durations\n",
        )
    })
}

/// Whole segments: complete ones in one body; the one being produced streamed part
/// by part as it grows (LL-DASH chunked transfer); one about to start is waited for.
async fn segment_response(channel: Arc<Channel>, rendition: &str, msn: u64) -> UpstreamResponse {
    let timeout = block_timeout(&channel);
    let first = wait_until(&channel, timeout, |state| {
        let Some(s) = state.stream.as_ref() else {
            return Look::Done(Err(UpstreamResponse::error(
                StatusCode::NOT_FOUND,
                "channel is not live\n",
            )));
        };
        let Some(r) = s.rendition(rendition) else {
            return Look::Done(Err(not_found_rendition(rendition)));
        };
        match packager::hls::segment(r, msn) {
            SegmentLookup::Complete(parts) => Look::Done(Ok((r.track.kind(), parts, true))),
            SegmentLookup::InProgress(parts) => Look::Done(Ok((r.track.kind(), parts, false))),
            SegmentLookup::Future if !s.ended() => Look::Wait,
            SegmentLookup::Future | SegmentLookup::Gone => Look::Done(Err(
                UpstreamResponse::error(StatusCode::NOT_FOUND, "no such segment\n"),
            )),
        }
    })
    .await;
    let (kind, parts, complete) = match first {
        None => {
            return UpstreamResponse::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the segment did not start within three target durations\n",
            )
        }
        Some(Err(response)) => return response,
        Some(Ok(found)) => found,
    };
    if complete {
        return media_response(
            ObjectKind::Segment,
            kind,
            UpstreamBody::Full(concat(&parts)),
        );
    }
    let rendition = rendition.to_owned();
    let sent = parts.len();
    let head = futures_util::stream::iter(parts);
    let tail = futures_util::stream::unfold(
        (channel, rendition, sent, false),
        move |(channel, rendition, sent, done)| async move {
            if done {
                return None;
            }
            let next = wait_until(&channel, timeout, |state| {
                let Some(r) = state.stream.as_ref().and_then(|s| s.rendition(&rendition)) else {
                    return Look::Done(None);
                };
                match packager::hls::segment(r, msn) {
                    SegmentLookup::Complete(parts) => {
                        Look::Done(Some((parts[sent.min(parts.len())..].to_vec(), true)))
                    }
                    SegmentLookup::InProgress(parts) if parts.len() > sent => {
                        Look::Done(Some((parts[sent..].to_vec(), false)))
                    }
                    SegmentLookup::InProgress(_)
                        if !state.stream.as_ref().is_some_and(|s| s.ended()) =>
                    {
                        Look::Wait
                    }
                    _ => Look::Done(None),
                }
            })
            .await
            .flatten();
            let (new_parts, complete) = next?;
            let count = new_parts.len();
            Some((
                futures_util::stream::iter(new_parts),
                (channel, rendition, sent + count, complete),
            ))
        },
    )
    .flatten();
    media_response(
        ObjectKind::Segment,
        kind,
        UpstreamBody::Streaming(head.chain(tail).boxed()),
    )
}

fn concat(parts: &[Bytes]) -> Bytes {
    if parts.len() == 1 {
        return parts[0].clone();
    }
    let mut out = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
    out.freeze()
}
