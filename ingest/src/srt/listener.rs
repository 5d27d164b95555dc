//! The SRT listener: one UDP port, many publishers, MPEG-TS inside.
//!
//! For each caller ([`super::driver`] sees its request during the handshake,
//! before it is accepted; the rules are in [`super::admission`]):
//! 1. the stream id names the key ([`super::stream_id`]);
//! 2. encryption must match the listener: a passphrase configured means callers
//!    must encrypt, none means they must not. This check also guards
//!    srt-protocol 0.4.4, which panics when an
//!    encrypting caller meets a listener without key settings, or on a key-size
//!    mismatch — so the caller's key size is always the one accepted;
//! 3. [`PublishHandler::check`] authorises the key (the catalog, as for RTMP)
//!    without going live;
//! 4. the handshake completes (a wrong passphrase fails here), and only then
//!    [`PublishHandler::publish`] makes the channel live;
//! 5. each SRT message (usually 7 TS packets) goes through
//!    [`TsDemuxer`](crate::ts::TsDemuxer) and [`TsFrames`](crate::ts::TsFrames)
//!    into the sink ([`super::driver_conn`]); damaged input is counted and
//!    logged by [`InputErrorReport`](super::input_errors::InputErrorReport) and
//!    the connection goes on.
//!
//! A refusal is logged without the key and reported to
//! [`PublishHandler::handshake_failed`] (`protocol = "srt"`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use srt_protocol::options::{ByteCount, ListenerOptions, PacketSize, SocketOptions};
use srt_protocol::settings::ConnInitSettings;
use tokio::sync::watch;
use tracing::{info, warn};

use super::driver::{self, DriverConfig};
use crate::publish::PublishHandler;

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

/// The UDP socket's receive buffer (`SO_RCVBUF`; srt-protocol's default is
/// 64 KiB). The driver reads the socket once per tick while busy
/// ([`super::driver::TICK`]), so datagrams of all publishers queue in
/// the kernel meanwhile; Linux doubles the value and caps it at `rmem_max`.
pub const UDP_RECEIVE_BUFFER: u64 = 1 << 20;

/// How long to wait before binding again after the listener died.
pub const REBIND_DELAY: Duration = Duration::from_secs(1);

/// Binds `addr` and serves SRT publishers until `shutdown` becomes `true`.
///
/// One task ([`super::driver`]) owns the socket, the handshakes and every
/// connection. If the socket fails, live publishers end, the failure is counted
/// as a handshake failure, and the port is bound again after [`REBIND_DELAY`].
pub async fn serve_srt(
    addr: SocketAddr,
    options: SrtOptions,
    handler: Arc<dyn PublishHandler>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut first = true;
    loop {
        let socket_options = socket_options(addr, &options)?;
        let socket = match srt_tokio::bind_socket(&socket_options).await {
            Ok(socket) => socket,
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
        let config = DriverConfig {
            settings: ConnInitSettings::from(socket_options),
            passphrase: options.passphrase.clone(),
            handler: handler.clone(),
        };
        match driver::run(socket, config, &mut shutdown).await {
            Ok(()) => return Ok(()),
            Err(e) => warn!(%addr, "srt: the listener's socket failed ({e}); binding again"),
        }
        handler.handshake_failed("srt");
        tokio::time::sleep(REBIND_DELAY).await;
    }
}

/// srt-protocol's options for the listener: `options.latency` both ways (the
/// TSBPD delay, draft-sharabayko-srt §4.5) and [`ANNOUNCED_PAYLOAD`].
fn socket_options(addr: SocketAddr, options: &SrtOptions) -> std::io::Result<SocketOptions> {
    let mut socket = SocketOptions::default();
    socket.sender.peer_latency = options.latency;
    socket.receiver.latency = options.latency;
    socket.sender.max_payload_size = PacketSize(ANNOUNCED_PAYLOAD);
    socket.connect.udp_recv_buffer_size = ByteCount(UDP_RECEIVE_BUFFER);
    Ok(ListenerOptions::with(addr, socket)?.into_value().socket)
}
