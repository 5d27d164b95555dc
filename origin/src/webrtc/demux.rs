//! Which session a datagram on the shared UDP port belongs to (the "one port for
//! all sessions" of ICE-lite servers, RFC 8445 §2.5).
//!
//! A session's remote address is learned from its first STUN binding request,
//! whose USERNAME is `{our ufrag}:{their ufrag}` (RFC 8445 §7.2.2); afterwards
//! DTLS, SRTP and STUN from that address go straight to it. Anything else from an
//! unknown address is dropped without touching any session: no scan over all
//! sessions, so random datagrams cost the same with ten viewers or ten thousand.

use std::collections::HashMap;
use std::net::SocketAddr;

use str0m::ice::StunMessage;

use super::loop_input::SessionId;

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unrouted {
    /// Not STUN, from an address no session uses.
    UnknownSource,
    /// A STUN message that names no session of ours.
    NotOurs,
}

impl Unrouted {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Unrouted::UnknownSource => "unknown_source",
            Unrouted::NotOurs => "unknown_ufrag",
        }
    }
}

/// The routing tables.
#[derive(Debug, Default)]
pub struct Demux {
    by_addr: HashMap<SocketAddr, SessionId>,
    by_ufrag: HashMap<String, SessionId>,
}

impl Demux {
    /// A new session with our `ufrag`.
    pub fn add(&mut self, ufrag: String, session: SessionId) {
        self.by_ufrag.insert(ufrag, session);
    }

    /// Forgets `session` (its ufrag and every address it used).
    pub fn remove(&mut self, ufrag: &str, session: SessionId) {
        self.by_ufrag.remove(ufrag);
        self.by_addr.retain(|_, s| *s != session);
    }

    /// The session a datagram from `source` goes to.
    pub fn route(&mut self, source: SocketAddr, datagram: &[u8]) -> Result<SessionId, Unrouted> {
        // RFC 7983 §7: first byte 0..=3 is STUN. A binding request may come from a
        // new address of a known session (ICE checks on another candidate pair).
        if matches!(datagram.first(), Some(0..=3)) {
            if let Ok(message) = StunMessage::parse(datagram) {
                if let Some((ours, _theirs)) = message.split_username() {
                    let Some(&session) = self.by_ufrag.get(ours) else {
                        return Err(Unrouted::NotOurs);
                    };
                    self.by_addr.insert(source, session);
                    return Ok(session);
                }
            }
        }
        self.by_addr
            .get(&source)
            .copied()
            .ok_or(Unrouted::UnknownSource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sources_and_junk_are_refused() {
        let mut d = Demux::default();
        d.add("abcd".into(), SessionId(7));
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(
            d.route(a, b"\x16\xfe\xfdjunk"),
            Err(Unrouted::UnknownSource)
        );
        assert_eq!(d.route(a, &[0, 1, 0, 0]), Err(Unrouted::UnknownSource));
        assert_eq!(d.route(a, &[]), Err(Unrouted::UnknownSource));
    }
}
