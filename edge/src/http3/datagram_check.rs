//! A UDP socket wrapper that classifies what arrives on the HTTP/3 port before
//! quinn sees it, so datagrams quinn discards silently are counted.
//!
//! Every datagram is still handed to quinn, which does the real work (Version
//! Negotiation for unknown versions, RFC 9000 §6; dropping the rest). The wrapper
//! only reads the first bytes (RFC 9000 §17):
//!
//! - `not_quic`: empty, or the fixed bit (0x40) clear (§17.2, §17.3.1: such
//!   packets are discarded; the endpoint does not advertise RFC 9287's
//!   grease_quic_bit, so no peer may clear it);
//! - `unknown_version`: a long header whose version is not QUIC v1 (§15);
//! - `undersized_initial`: a v1 Initial in a datagram under 1200 bytes (§14.1).
//!
//! GSO/GRO pass through: a received buffer with `stride < len` holds several
//! datagrams, each checked.

use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use prometheus::IntCounterVec;
use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};

/// QUIC version 1 (RFC 9000 §15).
const QUIC_V1: u32 = 1;
/// Smallest datagram that may carry a client Initial (RFC 9000 §14.1).
const MIN_INITIAL_DATAGRAM: usize = 1200;

/// Why a datagram is not QUIC we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Possibly ours: quinn decides.
    Quic,
    /// See the module docs.
    NotQuic,
    /// See the module docs.
    UnknownVersion,
    /// See the module docs.
    UndersizedInitial,
}

impl Verdict {
    fn label(self) -> Option<&'static str> {
        match self {
            Verdict::Quic => None,
            Verdict::NotQuic => Some("not_quic"),
            Verdict::UnknownVersion => Some("unknown_version"),
            Verdict::UndersizedInitial => Some("undersized_initial"),
        }
    }
}

/// Classifies one datagram by its first packet's header (RFC 9000 §17).
pub fn classify(datagram: &[u8]) -> Verdict {
    let Some(&first) = datagram.first() else {
        return Verdict::NotQuic;
    };
    if first & 0x40 == 0 {
        return Verdict::NotQuic;
    }
    if first & 0x80 == 0 {
        // Short header: only quinn knows whether the connection ID is one of ours.
        return Verdict::Quic;
    }
    let Some(version) = datagram.get(1..5) else {
        return Verdict::NotQuic;
    };
    let version = u32::from_be_bytes([version[0], version[1], version[2], version[3]]);
    if version != QUIC_V1 {
        return Verdict::UnknownVersion;
    }
    // Long packet type 0b00 = Initial (§17.2.2).
    let is_initial = (first >> 4) & 0x03 == 0;
    if is_initial && datagram.len() < MIN_INITIAL_DATAGRAM {
        return Verdict::UndersizedInitial;
    }
    Verdict::Quic
}

/// The wrapper; see the module docs.
pub struct CheckedSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    dropped: IntCounterVec,
}

impl fmt::Debug for CheckedSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckedSocket")
            .field("inner", &self.inner)
            .finish()
    }
}

impl CheckedSocket {
    /// Wraps `inner`, counting into `dropped{reason}`.
    pub fn new(inner: Arc<dyn AsyncUdpSocket>, dropped: IntCounterVec) -> Self {
        Self { inner, dropped }
    }

    fn check(&self, buf: &[u8], meta: &RecvMeta) {
        let stride = meta.stride.max(1);
        for datagram in buf[..meta.len.min(buf.len())].chunks(stride) {
            if let Some(label) = classify(datagram).label() {
                self.dropped.with_label_values(&[label]).inc();
                tracing::debug!(peer = %meta.addr, reason = label, len = datagram.len(), "HTTP/3 port: datagram refused");
            }
        }
    }
}

impl AsyncUdpSocket for CheckedSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        self.inner.clone().create_io_poller()
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        self.inner.try_send(transmit)
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let poll = self.inner.poll_recv(cx, bufs, meta);
        if let Poll::Ready(Ok(n)) = &poll {
            for (buf, meta) in bufs.iter().zip(meta.iter()).take(*n) {
                self.check(buf, meta);
            }
        }
        poll
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        self.inner.max_transmit_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.inner.max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner.may_fragment()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_header() {
        assert_eq!(classify(&[]), Verdict::NotQuic);
        assert_eq!(classify(&[0x00, 1, 2, 3]), Verdict::NotQuic);
        // Short header with the fixed bit: quinn's call.
        assert_eq!(classify(&[0x41, 9, 9]), Verdict::Quic);
        let mut initial = vec![0xc0, 0, 0, 0, 1];
        initial.resize(1200, 0);
        assert_eq!(classify(&initial), Verdict::Quic);
        assert_eq!(classify(&initial[..600]), Verdict::UndersizedInitial);
        let mut other = initial.clone();
        other[1..5].copy_from_slice(&0x1a2a_3a4au32.to_be_bytes());
        assert_eq!(classify(&other), Verdict::UnknownVersion);
        // A v1 Handshake packet (type 0b10) may be small.
        assert_eq!(classify(&[0xe0, 0, 0, 0, 1, 0]), Verdict::Quic);
        assert_eq!(classify(&[0xc0, 0, 0]), Verdict::NotQuic);
    }
}
