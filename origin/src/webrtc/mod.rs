//! WebRTC: WHEP playback and WHIP ingest, every session on one UDP port
//! (`[webrtc] udp_listen`, ICE-lite), built on str0m (sans-IO; see
//! docs/decisions.md, "WebRTC stack").
//!
//! How media flows:
//!
//! ```text
//! publisher ─► ChannelSink ─► RealtimeTap ─► feed thread ─► media loop ─► viewers (UDP)
//!  (RTMP/SRT/WHIP)   (LL-HLS, DASH)   (feed.rs)   (feed_worker.rs:    (media_loop.rs)
//!                                                  Annex B, Opus,
//!                                                  transcoding)
//! WHIP publisher (UDP) ─► media loop ─► publisher.rs ─► ingest::whip ─► ChannelSink
//! ```
//!
//! A guide to the files:
//! - [`routes`]: the HTTP side (POST offer → answer + `Location`, DELETE, 405 PATCH).
//! - [`media_loop`]: the thread owning the socket and every session.
//! - [`demux`]: which session a datagram belongs to.
//! - [`offer`]: building a session and its answer from an offer (codecs).
//! - [`viewer`], [`publisher`], [`session`]: per-session state; [`aac_sidecar`]:
//!   AAC beside a WHIP publisher's Opus.
//! - [`feed`], [`feed_worker`], [`transcoding`]: from a channel's frames to RTP-ready
//!   samples; [`sample`]: the sample and its conversions.
//! - [`candidates`]: the addresses put into answers.
//! - [`metrics`]: the `ferrocast_webrtc_*` metrics.

pub mod aac_sidecar;
pub mod candidates;
pub mod demux;
pub mod feed;
pub mod feed_worker;
pub mod loop_input;
pub mod media_loop;
pub mod metrics;
pub mod offer;
pub mod publisher;
pub mod routes;
pub mod sample;
pub mod session;
pub mod transcoding;
pub mod viewer;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use crate::channels::Channels;
use crate::config::WebrtcConfig;
pub use feed::{Feeds, RealtimeTap};
pub use metrics::WebrtcMetrics;

/// AAC-LC bit rate beside WHIP's Opus (stereo speech and music).
const WHIP_AAC_BITRATE: u32 = 128_000;

/// Items queued for the media loop (media from all channels, offers, deletes).
const LOOP_QUEUE: usize = 8192;

/// A running WebRTC service: the media loop thread and what feeds it.
pub struct WebRtc {
    to_loop: mpsc::Sender<loop_input::LoopInput>,
    /// Taps for publish sessions.
    pub feeds: Feeds,
    /// The metrics.
    pub metrics: WebrtcMetrics,
    thread: std::thread::JoinHandle<()>,
}

impl WebRtc {
    /// Binds `[webrtc] udp_listen` and starts the media loop; it stops when `stop`
    /// turns true. `stream_end_grace` is `[packaging] reconnect_grace_s`.
    pub fn start(
        config: &WebrtcConfig,
        stream_end_grace: Duration,
        registry: &prometheus::Registry,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        // One process-wide crypto provider for DTLS and SRTP (aws-lc-rs).
        let provider = str0m::crypto::from_feature_flags();
        let cert = provider
            .dtls_provider
            .generate_certificate()
            .context("cannot generate the DTLS certificate")?;
        provider.install_process_default();
        let metrics = WebrtcMetrics::register(registry).context("registering WebRTC metrics")?;
        let socket = std::net::UdpSocket::bind(config.udp_listen).with_context(|| {
            format!(
                "cannot listen on [webrtc] udp_listen = {}",
                config.udp_listen
            )
        })?;
        let bound = socket.local_addr()?;
        let local = offer::Local {
            cert,
            candidates: candidates::host_candidates(&config.candidates, bound),
        };
        tracing::info!(udp = %bound, candidates = ?local.candidates, "WebRTC media port");
        let (to_loop, inputs) = mpsc::channel(LOOP_QUEUE);
        let feeds = Feeds::new(
            to_loop.clone(),
            feed_worker::FeedSettings {
                bframes: config.bframes,
                reencode_preset: config.reencode_preset.clone(),
                reencode_bitrate_kbps: config.reencode_bitrate_kbps,
                opus_bitrate: config.opus_bitrate,
            },
            metrics.feed_dropped.with_label_values(&["queue_full"]),
        );
        let settings = media_loop::LoopSettings {
            max_sessions: config.max_sessions,
            slow_viewer_loss: config.slow_viewer_loss,
            slow_viewer_window: Duration::from_secs_f64(config.slow_viewer_window_s),
            whip_keyframe_interval: Duration::from_secs_f64(config.whip_keyframe_interval_s),
            whip_aac_bitrate: config.whip_aac.then_some(WHIP_AAC_BITRATE),
            stream_end_grace,
        };
        let loop_feeds = feeds.clone();
        let loop_metrics = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("webrtc-media".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a single-threaded runtime");
                runtime.block_on(async move {
                    // Built here so the socket registers with this runtime's reactor.
                    match media_loop::MediaLoop::new(
                        socket,
                        local,
                        loop_feeds,
                        loop_metrics,
                        settings,
                    ) {
                        Ok(l) => l.run(inputs, stop).await,
                        Err(e) => tracing::error!(error = %e, "WebRTC media loop failed to start"),
                    }
                });
            })
            .context("cannot start the WebRTC media thread")?;
        Ok(Self {
            to_loop,
            feeds,
            metrics,
            thread,
        })
    }

    /// The `/whep` and `/whip` routes.
    pub fn routes(
        &self,
        publish: Arc<dyn ingest::publish::PublishHandler>,
        channels: Arc<Channels>,
        tokens: edge::token::TokenVerifier,
    ) -> routes::WebrtcRoutes {
        routes::WebrtcRoutes::new(
            self.to_loop.clone(),
            publish,
            channels,
            tokens,
            self.metrics.clone(),
        )
    }

    /// Waits for the media loop to end (after `stop`).
    pub fn join(self) {
        drop(self.to_loop);
        let _ = self.thread.join();
    }
}
