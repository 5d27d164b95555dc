//! Session resumption shared by every TLS configuration of a process.
//!
//! - Stateless tickets (RFC 5077 for TLS 1.2; RFC 8446 §4.6.1 NewSessionTicket for
//!   TLS 1.3): the session state is sealed with a key only this process knows, so a
//!   resuming client costs no server memory. rustls's ring `Ticketer` rotates that
//!   key every 6 hours and still accepts tickets of the previous key.
//! - A bounded server-side cache for TLS 1.2 session IDs (RFC 5246 §7.4.1.2) —
//!   clients that do not support tickets — and for TLS 1.3 when tickets are off.
//!
//! - With `[http3] early_data`, the QUIC configuration issues no stateless tickets
//!   ([`NoTickets`]): rustls accepts 0-RTT only on a stateful ticket, which the
//!   cache hands out once (RFC 8446 §8.1, single-use tickets as anti-replay).
//!
//! One [`Resumption`] is made per process and handed to the TCP, QUIC and RTMPS
//! configurations, so a ticket issued on one listener resumes on another of the same
//! process (TLS 1.3 QUIC and TCP use the same ticket format).

use std::sync::Arc;

use rustls::server::{
    NoServerSessionStorage, ProducesTickets, ServerSessionMemoryCache, StoresServerSessions,
};
use rustls::ServerConfig;

use super::{TlsError, TlsSection};

/// The ticketer and the session cache; see the module docs.
#[derive(Debug, Clone)]
pub struct Resumption {
    ticketer: Option<Arc<dyn ProducesTickets>>,
    cache: Arc<dyn StoresServerSessions>,
}

impl Resumption {
    /// From `[tls] tickets, session_cache_size`.
    pub fn new(section: &TlsSection) -> Result<Self, TlsError> {
        let ticketer = if section.tickets {
            Some(rustls::crypto::ring::Ticketer::new()?)
        } else {
            None
        };
        let cache: Arc<dyn StoresServerSessions> = if section.session_cache_size == 0 {
            Arc::new(NoServerSessionStorage {})
        } else {
            ServerSessionMemoryCache::new(section.session_cache_size)
        };
        Ok(Self { ticketer, cache })
    }

    /// Installs the shared ticketer and cache into `config`.
    pub fn apply(&self, config: &mut ServerConfig) {
        config.session_storage = self.cache.clone();
        if let Some(ticketer) = &self.ticketer {
            config.ticketer = ticketer.clone();
        }
    }
}

/// A ticketer that issues nothing, so resumption falls back to the session cache
/// (rustls's own `NeverProducesTickets` is private).
#[derive(Debug)]
pub struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}
