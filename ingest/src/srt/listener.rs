//! The SRT listener: one UDP port, many publishers, MPEG-TS inside.
//!
//! For each caller (srt-tokio hands us the request during the handshake, before
//! it is accepted):
//! 1. the stream id names the key ([`super::stream_id`]);
//! 2. encryption must match the listener: a passphrase configured means callers
//!    must encrypt, none means they must not. This check also guards
//!    srt-protocol 0.4.4, which panics (taking the whole listener down) when an
//!    encrypting caller meets a listener without key settings, or on a key-size
//!    mismatch — so the caller's key size is always the one accepted;
//! 3. [`PublishHandler::check`] authorises the key (the catalog, as for RTMP)
//!    without going live;
//! 4. the handshake completes (a wrong passphrase fails here), and only then
//!    [`PublishHandler::publish`] makes the channel live;
//! 5. each SRT message (usually 7 TS packets) goes through [`TsDemuxer`] and
//!    [`TsFrames`] into the sink; damaged input is counted and logged by
//!    [`InputErrorReport`] and the connection goes on.
//!
//! A refusal is logged without the key and reported to
//! [`PublishHandler::handshake_failed`] (`protocol = "srt"`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use srt_protocol::settings::KeySettings;
use srt_tokio::access::{RejectReason, ServerRejectReason};
use srt_tokio::options::{KeySize, PacketSize, Passphrase};
use srt_tokio::{ConnectionRequest, SrtListener};
use tokio::sync::watch;
use tracing::{info, warn};

use super::input_errors::{DatagramErrorReport, InputErrorReport};
use super::stream_id::publish_key;
use crate::publish::{MediaSink, PublishHandler, PublishRequest};
use crate::ts::{FrameEvent, TsDemuxer, TsFrames};

/// The application every SRT publisher publishes to (as `rtmp://…/live`).
pub const SRT_APP: &str = "live";
/// Payload size announced in the handshake (the live maximum); libsrt senders
/// otherwise may shrink their 1,316-byte messages (docs/decisions.md).
pub const ANNOUNCED_PAYLOAD: u64 = 1456;

/// Listener settings (`[srt]` in the origin's config).
#[derive(Clone)]
pub struct SrtOptions {
    /// Receive latency (TSBPD) offered to callers.
    pub latency: Duration,
    /// When set, every caller must encrypt with it (10–79 characters).
    pub passphrase: Option<String>,
}

impl std::fmt::Debug for SrtOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtOptions")
            .field("latency", &self.latency)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// How long to wait before binding again after the listener died.
pub const REBIND_DELAY: Duration = Duration::from_secs(1);

/// Binds `addr` and serves SRT publishers until `shutdown` becomes `true`.
///
/// If srt-tokio's listener task ends on its own (srt-protocol 0.4.4 can panic on
/// a crafted handshake; see docs/decisions.md), the port is bound again after
/// [`REBIND_DELAY`] and the failure is counted as a handshake failure. Publishers
/// already connected are lost with it, but the port keeps taking new ones.
pub async fn serve_srt(
    addr: SocketAddr,
    options: SrtOptions,
    handler: Arc<dyn PublishHandler>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut first = true;
    loop {
        let bound = SrtListener::builder()
            .latency(options.latency)
            .set(|o| o.sender.max_payload_size = PacketSize(ANNOUNCED_PAYLOAD))
            .bind(addr)
            .await;
        let (mut listener, mut incoming) = match bound {
            Ok(pair) => pair,
            // The first bind reports the error; later ones retry (the old socket may
            // still be closing).
            Err(e) if first => return Err(e),
            Err(e) => {
                warn!(%addr, "srt: binding again failed: {e}");
                tokio::time::sleep(REBIND_DELAY).await;
                continue;
            }
        };
        first = false;
        info!(%addr, latency_ms = options.latency.as_millis() as u64, encrypted = options.passphrase.is_some(), "srt: listening");
        let requests = incoming.incoming();
        let mut statistics = listener.statistics().clone();
        let mut garbage = DatagramErrorReport::default();
        let conn_shutdown = shutdown.clone();
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                Some(stats) = statistics.next() => {
                    garbage.update(stats.rx_parse_errors, &*handler, addr, Instant::now());
                }
                request = requests.next() => match request {
                    Some(request) => {
                        let (options, handler, stop) = (options.clone(), handler.clone(), conn_shutdown.clone());
                        tokio::spawn(connection(request, options, handler, stop));
                    }
                    None => break,
                },
            }
        }
        warn!(%addr, "srt: the listener stopped unexpectedly; binding again");
        handler.handshake_failed("srt");
        tokio::time::sleep(REBIND_DELAY).await;
    }
}

async fn refuse(
    request: ConnectionRequest,
    handler: &dyn PublishHandler,
    why: &str,
    reason: ServerRejectReason,
) {
    let peer = request.remote();
    warn!(%peer, "srt: refusing {peer}: {why}");
    handler.handshake_failed("srt");
    let _ = request.reject(RejectReason::Server(reason)).await;
}

async fn connection(
    request: ConnectionRequest,
    options: SrtOptions,
    handler: Arc<dyn PublishHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = request.remote();
    let key = match publish_key(request.stream_id().map(|s| s.as_str())) {
        Ok(key) => key,
        Err(e) => {
            return refuse(
                request,
                &*handler,
                &e.to_string(),
                ServerRejectReason::BadRequest,
            )
            .await
        }
    };
    let caller_encrypts = request.key_size() != KeySize::Unspecified;
    let key_settings = match (&options.passphrase, caller_encrypts) {
        (None, false) => None,
        (None, true) => {
            return refuse(
                request,
                &*handler,
                "caller encrypts but this listener has no passphrase",
                ServerRejectReason::Unacceptable,
            )
            .await
        }
        (Some(_), false) => {
            return refuse(
                request,
                &*handler,
                "a passphrase is required on this listener",
                ServerRejectReason::Unauthorized,
            )
            .await
        }
        (Some(p), true) => match Passphrase::try_from(p.clone()) {
            Ok(passphrase) => Some(KeySettings {
                key_size: request.key_size(),
                passphrase,
            }),
            Err(_) => {
                return refuse(
                    request,
                    &*handler,
                    "the configured passphrase is unusable",
                    ServerRejectReason::InternalServerError,
                )
                .await
            }
        },
    };
    let publish = PublishRequest {
        app: SRT_APP.to_owned(),
        stream_key: key,
        peer,
    };
    // The key is checked before the handshake completes (so an unknown key gets an
    // SRT rejection the caller can show), but the channel goes live only after it
    // completes: a wrong passphrase must not start a stream (or its webhooks).
    if let Err(rejection) = handler.check(&publish).await {
        warn!(%peer, "srt: publish rejected: {rejection}");
        let _ = request
            .reject(RejectReason::Server(ServerRejectReason::Forbidden))
            .await;
        return;
    }
    let mut socket = match request.accept(key_settings).await {
        Ok(socket) => socket,
        Err(e) => {
            warn!(%peer, "srt: handshake with {peer} failed (wrong passphrase?): {e}");
            handler.handshake_failed("srt");
            return;
        }
    };
    let mut sink = match handler.publish(publish).await {
        Ok(sink) => sink,
        Err(rejection) => {
            // Lost a race (another publisher took the channel since the check):
            // the handshake is done, so closing is the only answer left.
            warn!(%peer, "srt: publish rejected after the handshake: {rejection}");
            let _ = socket.close().await;
            return;
        }
    };
    info!(%peer, channel = sink.channel(), "srt: {peer} publishing to channel {}", sink.channel());
    let mut demuxer = TsDemuxer::new();
    let mut frames = TsFrames::new();
    let mut out = Vec::new();
    let mut bytes_in = 0u64;
    let mut errors = InputErrorReport::default();
    let reason = loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break "server shutting down".to_owned(),
            message = socket.next() => match message {
                Some(Ok((_, data))) => {
                    bytes_in += data.len() as u64;
                    demuxer.handle_input(&data);
                    while let Some(event) = demuxer.poll_event() {
                        frames.handle(event, &mut out);
                    }
                    deliver(&mut *sink, &mut out);
                    errors.update(&demuxer.stats(), &frames.stats(), &*handler, peer, sink.channel(), Instant::now());
                    if sink.kicked() {
                        break "publisher kicked by an operator".to_owned();
                    }
                }
                Some(Err(e)) => break format!("socket error: {e}"),
                None => break "peer closed the connection".to_owned(),
            },
        }
    };
    demuxer.finish();
    while let Some(event) = demuxer.poll_event() {
        frames.handle(event, &mut out);
    }
    deliver(&mut *sink, &mut out);
    let (ts, fr) = (demuxer.stats(), frames.stats());
    errors.update(&ts, &fr, &*handler, peer, sink.channel(), Instant::now());
    info!(
        %peer,
        channel = sink.channel(),
        bytes_in,
        continuity_errors = ts.continuity_errors,
        sync_losses = ts.sync_losses,
        pmt_changes = ts.pmt_changes,
        malformed = fr.malformed,
        "srt: closing {peer}: {reason}"
    );
    sink.end();
}

fn deliver(sink: &mut dyn MediaSink, out: &mut Vec<FrameEvent>) {
    for event in out.drain(..) {
        match event {
            FrameEvent::Track(track) => sink.track(track),
            FrameEvent::Frame(frame) => sink.frame(frame),
        }
    }
}
