//! The origin's answer to publishers: look the stream key up in the catalog, then
//! feed the channel's packager with the publisher's tracks and frames.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ingest::publish::{
    CheckFuture, MediaSink, PublishFuture, PublishHandler, PublishRejection, PublishRequest,
};
use packager::media::{Frame, MediaKind, Track};
use prometheus::IntCounter;

use tokio::runtime::Handle;

use crate::catalog::{Catalog, ChannelRecord, Playback};
use crate::channels::{Channel, Channels, PublisherState};
use crate::clock::now_ms;
use crate::key_failures::KeyFailures;
use crate::ladder::{LadderHandle, Ladders, LADDER_FINISH_WAIT};
use crate::metrics::OriginMetrics;
use crate::vod::live_to_vod::LiveToVod;
use crate::webhooks::{Event, Webhooks};
use crate::webrtc::{Feeds, RealtimeTap};

/// The RTMP application publishers must use (`rtmp://host/live/{key}`).
pub const LIVE_APP: &str = "live";

/// Implements [`PublishHandler`]: the catalog says which channel a key opens, the
/// channel registry holds its live state.
pub struct OriginPublishHandler {
    channels: Arc<Channels>,
    catalog: Catalog,
    /// Catalog queries run here (the main runtime), not on the ingest shard that asks:
    /// pooled database connections belong to the runtime that opened them.
    runtime: Handle,
    metrics: OriginMetrics,
    grace: Duration,
    key_failures: Arc<Mutex<KeyFailures>>,
    webhooks: Webhooks,
    /// The live ABR ladder, for channels with `ladder = true`.
    ladders: Option<Ladders>,
    /// Live to VOD, for channels with `record = true`.
    live_to_vod: Option<LiveToVod>,
    /// WebRTC viewers' feeds (see [`crate::webrtc`]).
    webrtc: Option<Feeds>,
}

impl OriginPublishHandler {
    /// A handler over `channels` and `catalog`; dropped publishers keep their channel
    /// live for `grace`. Must be created inside the runtime that serves the catalog.
    pub fn new(
        channels: Arc<Channels>,
        catalog: Catalog,
        webhooks: Webhooks,
        metrics: OriginMetrics,
        grace: Duration,
    ) -> Self {
        Self {
            channels,
            catalog,
            runtime: Handle::current(),
            metrics,
            grace,
            key_failures: Arc::default(),
            webhooks,
            ladders: None,
            live_to_vod: None,
            webrtc: None,
        }
    }

    /// Channels whose catalog record has `ladder = true` get a live ladder thread
    /// per publish session (see [`crate::ladder`]).
    pub fn with_ladders(mut self, ladders: Ladders) -> Self {
        self.ladders = Some(ladders);
        self
    }

    /// Channels whose catalog record has `record = true` become a VOD asset per
    /// stream (see [`crate::vod::live_to_vod`]).
    pub fn with_live_to_vod(mut self, live_to_vod: LiveToVod) -> Self {
        self.live_to_vod = Some(live_to_vod);
        self
    }

    /// Every publish session also feeds WebRTC viewers (see [`crate::webrtc`]).
    pub fn with_webrtc_if(mut self, feeds: Option<Feeds>) -> Self {
        self.webrtc = feeds;
        self
    }
}

/// Checks application, rate limit and key; returns the channel the key opens.
async fn authorize(
    request: &PublishRequest,
    catalog: Catalog,
    runtime: &Handle,
    key_failures: &Mutex<KeyFailures>,
) -> Result<ChannelRecord, PublishRejection> {
    if request.app != LIVE_APP {
        return Err(PublishRejection::UnknownApp(request.app.clone()));
    }
    let addr = request.peer.ip();
    let failures = || key_failures.lock().unwrap_or_else(|p| p.into_inner());
    if !failures().allowed(addr, Instant::now()) {
        return Err(PublishRejection::TooManyFailures);
    }
    let key = request.stream_key.clone();
    let lookup = runtime.spawn(async move { catalog.channel_for_stream_key(&key).await });
    let record = match lookup.await {
        Ok(Ok(Some(record))) => record,
        Ok(Ok(None)) => {
            failures().failed(addr, Instant::now());
            return Err(PublishRejection::UnknownKey);
        }
        Ok(Err(e)) => {
            tracing::error!(peer = %request.peer, error = %e, "stream key check failed");
            return Err(PublishRejection::Unavailable);
        }
        Err(e) => {
            tracing::error!(peer = %request.peer, error = %e, "stream key check task failed");
            return Err(PublishRejection::Unavailable);
        }
    };
    failures().succeeded(addr);
    if let Some(named) = &request.channel {
        if *named != record.name {
            return Err(PublishRejection::WrongChannel(named.clone()));
        }
    }
    Ok(record)
}

/// A publish request let in.
struct Accepted {
    channel: Arc<Channel>,
    session: u64,
    /// A new stream (not a publisher back within the grace period).
    fresh: bool,
    /// The channel's `ladder` flag.
    ladder: bool,
    /// The channel's `record` flag (live to VOD).
    record: bool,
}

/// Decides one publish request: [`authorize`], then whether the channel is free.
async fn decide(
    request: &PublishRequest,
    channels: &Channels,
    catalog: Catalog,
    runtime: &Handle,
    key_failures: &Mutex<KeyFailures>,
) -> Result<Accepted, PublishRejection> {
    let record = authorize(request, catalog, runtime, key_failures).await?;
    let channel = channels.ensure(&record.name);
    channel.set_token_required(record.playback == Playback::Token);
    // A publisher coming back within the grace period continues the same stream.
    let fresh = !matches!(channel.lock().publisher, PublisherState::Grace(_));
    let session = channel
        .begin_publish()
        .ok_or_else(|| PublishRejection::AlreadyPublishing(channel.name.clone()))?;
    Ok(Accepted {
        channel,
        session,
        fresh,
        ladder: record.ladder,
        record: record.record,
    })
}

/// Counts a refused publish attempt and logs it.
fn rejected(metrics: &OriginMetrics, request: &PublishRequest, rejection: &PublishRejection) {
    let reason = match rejection {
        PublishRejection::UnknownKey => "unknown_key",
        PublishRejection::UnknownApp(_) => "unknown_app",
        PublishRejection::AlreadyPublishing(_) => "already_publishing",
        PublishRejection::Unavailable => "unavailable",
        PublishRejection::TooManyFailures => "too_many_failures",
        PublishRejection::WrongChannel(_) => "wrong_channel",
    };
    metrics.publish_rejected.with_label_values(&[reason]).inc();
    tracing::warn!(peer = %request.peer, app = %request.app, "publish rejected: {rejection}");
}

impl PublishHandler for OriginPublishHandler {
    fn check(&self, request: &PublishRequest) -> CheckFuture {
        let request = request.clone();
        let catalog = self.catalog.clone();
        let runtime = self.runtime.clone();
        let metrics = self.metrics.clone();
        let key_failures = self.key_failures.clone();
        Box::pin(async move {
            match authorize(&request, catalog, &runtime, &key_failures).await {
                Ok(_) => Ok(()),
                Err(rejection) => {
                    rejected(&metrics, &request, &rejection);
                    Err(rejection)
                }
            }
        })
    }

    fn handshake_failed(&self, protocol: &'static str) {
        self.metrics
            .handshake_failures
            .with_label_values(&[protocol])
            .inc();
    }

    fn input_errors(&self, protocol: &'static str, kind: &'static str, count: u64) {
        self.metrics
            .input_errors
            .with_label_values(&[protocol, kind])
            .inc_by(count);
    }

    fn publish(&self, request: PublishRequest) -> PublishFuture {
        let channels = self.channels.clone();
        let catalog = self.catalog.clone();
        let runtime = self.runtime.clone();
        let metrics = self.metrics.clone();
        let grace = self.grace;
        let key_failures = self.key_failures.clone();
        let webhooks = self.webhooks.clone();
        let ladders = self.ladders.clone();
        let live_to_vod = self.live_to_vod.clone();
        let webrtc = self.webrtc.clone();
        Box::pin(async move {
            match decide(&request, &channels, catalog, &runtime, &key_failures).await {
                Ok(Accepted {
                    channel,
                    session,
                    fresh,
                    ladder: ladder_on,
                    record,
                }) => {
                    if fresh {
                        webhooks.emit(Event::stream_started(&channel.name, now_ms()));
                        if let Some(recorder) = live_to_vod.filter(|_| record) {
                            recorder.start(channel.clone(), now_ms());
                        }
                    }
                    tracing::info!(channel = %channel.name, peer = %request.peer, session, "publish accepted");
                    metrics.publishers.inc();
                    metrics
                        .channel_live
                        .with_label_values(&[&channel.name])
                        .set(1);
                    let counters = SinkCounters::new(&metrics, &channel.name);
                    let ladder = match ladders.filter(|_| ladder_on) {
                        Some(l) => LadderHandle::start(
                            &l,
                            channel.clone(),
                            session,
                            counters.parts_produced.clone(),
                        )
                        .inspect_err(|e| {
                            tracing::error!(channel = %channel.name, error = %e, "cannot start the live ladder thread");
                        })
                        .ok(),
                        None => None,
                    };
                    let realtime = webrtc.and_then(|feeds| {
                        feeds
                            .tap(&channel.name)
                            .inspect_err(|e| {
                                tracing::error!(channel = %channel.name, error = %e, "cannot start the WebRTC feed thread");
                            })
                            .ok()
                    });
                    Ok(Box::new(ChannelSink {
                        channel,
                        session,
                        metrics,
                        counters,
                        grace,
                        webhooks,
                        ended: false,
                        ladder,
                        realtime,
                    }) as Box<dyn MediaSink>)
                }
                Err(rejection) => {
                    rejected(&metrics, &request, &rejection);
                    Err(rejection)
                }
            }
        })
    }
}

/// The per-frame counters of one channel, looked up once per session rather than
/// by label on every frame.
struct SinkCounters {
    ingest_bytes: IntCounter,
    video_frames: IntCounter,
    audio_frames: IntCounter,
    parts_produced: IntCounter,
}

impl SinkCounters {
    fn new(metrics: &OriginMetrics, channel: &str) -> Self {
        Self {
            ingest_bytes: metrics.ingest_bytes.with_label_values(&[channel]),
            video_frames: metrics.ingest_frames.with_label_values(&[channel, "video"]),
            audio_frames: metrics.ingest_frames.with_label_values(&[channel, "audio"]),
            parts_produced: metrics.parts_produced.with_label_values(&[channel]),
        }
    }
}

/// Feeds one publish session into its channel.
struct ChannelSink {
    channel: Arc<Channel>,
    session: u64,
    metrics: OriginMetrics,
    counters: SinkCounters,
    grace: Duration,
    webhooks: Webhooks,
    ended: bool,
    /// The session's live ladder thread, when the channel has one.
    ladder: Option<LadderHandle>,
    /// The session's WebRTC feed, when WebRTC is on.
    realtime: Option<RealtimeTap>,
}

impl ChannelSink {
    /// Runs `f` on the channel's packager and wakes waiters if anything changed.
    fn with_stream(&self, f: impl FnOnce(&mut packager::live::LiveStream)) {
        let (produced, changed) = {
            let mut state = self.channel.lock();
            let Some(stream) = state.stream.as_mut() else {
                return;
            };
            let (parts, version) = (stream.parts_produced(), stream.version());
            f(stream);
            (stream.parts_produced() - parts, stream.version() != version)
        };
        if produced > 0 {
            self.counters.parts_produced.inc_by(produced);
        }
        if changed {
            self.channel.notify();
        }
    }
}

impl MediaSink for ChannelSink {
    fn channel(&self) -> &str {
        &self.channel.name
    }

    fn track(&mut self, track: Track) {
        tracing::info!(
            channel = %self.channel.name,
            kind = ?track.kind(),
            id = track.id,
            codec = %track.codec.codec_string(),
            "track announced"
        );
        if let Some(ladder) = self.ladder.as_mut() {
            ladder.track(&track);
        }
        if let Some(realtime) = self.realtime.as_mut() {
            realtime.track(&track);
        }
        self.with_stream(|s| s.handle_track(track, now_ms()));
    }

    fn frame(&mut self, frame: Frame) {
        self.counters.ingest_bytes.inc_by(frame.data.len() as u64);
        self.channel.count_ingest(frame.data.len() as u64, now_ms());
        match frame.kind {
            MediaKind::Video => self.counters.video_frames.inc(),
            MediaKind::Audio => self.counters.audio_frames.inc(),
        }
        if let Some(ladder) = self.ladder.as_mut() {
            ladder.frame(&frame);
        }
        if let Some(realtime) = self.realtime.as_mut() {
            realtime.frame(&frame);
        }
        self.with_stream(|s| s.handle_frame(frame, now_ms()));
    }

    fn kicked(&self) -> bool {
        self.channel.is_kicked(self.session)
    }

    fn end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.metrics.publishers.dec();
        // Ends the WebRTC feed thread (viewers wait out the reconnect grace).
        self.realtime = None;
        // Closes the ladder's queue; its thread encodes what is left and ends.
        let ladder = self.ladder.take().map(LadderHandle::finish);
        let channel = self.channel.clone();
        let session = self.session;
        let grace = self.grace;
        let metrics = self.metrics.clone();
        let webhooks = self.webhooks.clone();
        let gone = move |channel: &Channel| {
            channel.publisher_gone(session, now_ms());
            tracing::info!(channel = %channel.name, session, grace_s = grace.as_secs_f64(), "publisher gone; waiting for a reconnect");
        };
        let Ok(runtime) = Handle::try_current() else {
            // No runtime (process shutting down): end the stream now.
            if let Some(done) = ladder {
                done.wait(LADDER_FINISH_WAIT);
            }
            gone(&channel);
            channel.grace_expired(session, now_ms());
            return;
        };
        if ladder.is_none() {
            gone(&channel);
        }
        runtime.spawn(async move {
            if let Some(done) = ladder {
                // The ladder's last frames (queued, and inside x264) reach the
                // stream before the publisher's end flushes it, so its renditions
                // end where the source ends.
                let _ = tokio::task::spawn_blocking(move || done.wait(LADDER_FINISH_WAIT)).await;
                gone(&channel);
            }
            tokio::time::sleep(grace).await;
            if channel.grace_expired(session, now_ms()) {
                webhooks.emit(Event::stream_ended(&channel.name, now_ms()));
                metrics.channel_live.with_label_values(&[&channel.name]).set(0);
                tracing::info!(channel = %channel.name, "stream ended: no publisher within the grace period");
            }
        });
    }
}

impl Drop for ChannelSink {
    fn drop(&mut self) {
        self.end();
    }
}
